/*
 * interpose.c: roomcast-server's own poll() and close(). lws (and every
 * other library in the process) calls them in place of libc's, the
 * executable's definitions coming first in the dynamic linker's search:
 * poll() on lws's pollfd array is answered from epoll (evpoll.c), any
 * other poll() goes to the kernel, and close() drops a descriptor's
 * epoll registration before the descriptor goes.
 *
 * Linked into roomcast-server only: lwsws runs lws's loop as it is.
 */
#define _GNU_SOURCE
#include "evpoll.h"

#include <sys/syscall.h>
#include <unistd.h>

int
poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	return evpoll_poll(fds, nfds, timeout);
}

int
close(int fd)
{
	evpoll_forget(fd);
	return (int)syscall(SYS_close, fd);
}
