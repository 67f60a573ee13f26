/*
 * evpoll.h: lws's poll() over every socket, answered from an epoll set
 * (see evpoll.c). Knows nothing of libwebsockets: the allocator hook
 * (hspool.c) names lws's pollfd array, interpose.c routes poll() and
 * close() here.
 */
#ifndef EVPOLL_H
#define EVPOLL_H

#include <poll.h>
#include <stddef.h>

/* Call before lws_create_context(): the next array noted is served. */
void evpoll_enable(void);

/*
 * The allocator hook's view: @table was allocated (@size bytes) or is
 * about to be freed (@size 0) for @reason, lws's tag.
 */
void evpoll_note(const void *table, size_t size, const char *reason);

/*
 * poll(): for the array noted, from the epoll set; for any other, or
 * once the set has failed, the kernel's poll().
 */
int evpoll_poll(struct pollfd *fds, nfds_t nfds, int timeout_ms);

/* Before @fd is closed: its registration goes with it. */
void evpoll_forget(int fd);

/* For tests and logs: 1 while the noted array is served from epoll. */
int evpoll_serving(void);

#endif
