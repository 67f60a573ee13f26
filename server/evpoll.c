/*
 * evpoll.c: lws 4.1.6's poll() loop, waited on with epoll.
 *
 * Each turn of lws's own loop calls poll() over every socket it holds
 * (_lws_plat_service_tsi), so a turn costs one kernel poll per
 * connection, idle ones included: a 64-byte echo took 10.8 ms with 12,000
 * idle connections (docs/PERFORMANCE.md). lws on libuv waits with epoll
 * but mallocs a uv_poll_t per connection, ~220 bytes, over the 1.5 KB an
 * idle connection may cost. So roomcast-server keeps lws's loop and
 * answers that one poll() from an epoll set: each call first brings the
 * set in line with lws's array (a pass in user space over 8 bytes per
 * socket, and a system call only for a socket whose events grew), then
 * waits for the sockets that are ready. Memory: 4 bytes per descriptor.
 *
 * What poll() promises, kept: every entry's revents is written (0 when
 * not ready), POLLERR and POLLHUP come whatever the events asked, a
 * closed descriptor gets POLLNVAL, a negative fd is skipped, the result
 * counts entries with revents, and -1 with errno (EINTR) passes through.
 *
 * Events dropped from an entry (lws clears POLLOUT after each write) stay
 * registered until epoll reports one of them: a member written every few
 * milliseconds would otherwise cost two epoll_ctl() per write.
 *
 * A socket closed and a new one given the same number between two calls
 * can sit in the same entry with the same events, and the array cannot
 * tell; the kernel has dropped the old registration. So close() is
 * routed here first (interpose.c) and takes the registration with it.
 *
 * Anything the set cannot take (a descriptor epoll refuses, a number past
 * the table, an event bit it does not map) serves that call, and every
 * later one, with the kernel's poll(): slower, never wrong.
 */
#define _GNU_SOURCE
#include "evpoll.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/*
 * Per descriptor number, one word: the entry it was last seen in (bits
 * 0-23), the events registered with epoll (bits 24-27, packed), and
 * whether it is registered (bit 28).
 */
#define SLOT_MASK 0xffffffu
#define EV_SHIFT 24
#define REGISTERED (1u << 28)
#define MAX_DESCRIPTORS ((size_t)SLOT_MASK)
/* what the set registers; POLLERR, POLLHUP and POLLNVAL always come */
#define WATCHED (POLLIN | POLLPRI | POLLOUT | POLLRDHUP)
#define ALWAYS (POLLERR | POLLHUP | POLLNVAL)
#define MAX_READY 256

static struct {
	int enabled;	   /* evpoll_enable(): serve the next array */
	int failed;	   /* the set gave up: the kernel's poll() */
	const void *table; /* lws's pollfd array */
	int epfd;
	uint32_t *fd_state; /* see SLOT_MASK */
	size_t fd_cap;
} ev = { .epfd = -1 };

static uint32_t
pack(short events)
{
	uint32_t p = (events & POLLIN ? 1u : 0) | (events & POLLPRI ? 2u : 0) |
		     (events & POLLOUT ? 4u : 0) |
		     (events & POLLRDHUP ? 8u : 0);

	return p << EV_SHIFT;
}

static short
unpack(uint32_t state)
{
	uint32_t p = state >> EV_SHIFT;

	return (short)((p & 1 ? POLLIN : 0) | (p & 2 ? POLLPRI : 0) |
		       (p & 4 ? POLLOUT : 0) | (p & 8 ? POLLRDHUP : 0));
}

void
evpoll_enable(void)
{
	ev.enabled = 1;
}

int
evpoll_serving(void)
{
	return ev.table && !ev.failed && ev.epfd >= 0;
}

static void
release(void)
{
	if (ev.epfd >= 0)
		(void)close(ev.epfd);
	free(ev.fd_state);
	ev.epfd = -1;
	ev.fd_state = NULL;
	ev.fd_cap = 0;
	ev.table = NULL;
	ev.failed = 0;
}

void
evpoll_note(const void *table, size_t size, const char *reason)
{
	if (!size) {
		if (table && table == ev.table)
			release();
		return;
	}
	/* lws 4.1 allocates one array for all its service threads; we run one */
	if (ev.enabled && !ev.table && reason && !strcmp(reason, "fds table"))
		ev.table = table;
}

/* The set and the table, made at the first call: only a served process pays. */
static int
ready_set(void)
{
	struct rlimit rl;

	if (ev.epfd >= 0)
		return 0;
	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY)
		rl.rlim_cur = MAX_DESCRIPTORS;
	ev.fd_cap = rl.rlim_cur < MAX_DESCRIPTORS ? (size_t)rl.rlim_cur :
						    MAX_DESCRIPTORS;
	/* calloc()'s pages are only touched as descriptor numbers grow */
	ev.fd_state = calloc(ev.fd_cap, sizeof(*ev.fd_state));
	ev.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ev.fd_state && ev.epfd >= 0)
		return 0;
	ev.failed = 1;
	return -1;
}

static int
set_interest(int fd, short events, uint32_t state)
{
	struct epoll_event e = { .events = (uint32_t)(events & WATCHED) };
	int op = state & REGISTERED ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;

	e.data.fd = fd;
	if (!epoll_ctl(ev.epfd, op, fd, &e))
		return 0;
	/* registered behind our back, or dropped by the kernel at a close */
	if (errno == EEXIST || errno == ENOENT)
		return epoll_ctl(ev.epfd,
				 errno == EEXIST ? EPOLL_CTL_MOD :
						   EPOLL_CTL_ADD,
				 fd, &e);
	return -1;
}

/*
 * Brings the set in line with @fds and zeroes every revents. Returns the
 * entries already answered (a closed descriptor: POLLNVAL, as poll()
 * says), or -1 when the set cannot take an entry.
 */
static int
sync_set(struct pollfd *fds, nfds_t nfds)
{
	int invalid = 0;
	nfds_t i;

	for (i = 0; i < nfds; i++) {
		struct pollfd *p = &fds[i];
		uint32_t *s;

		p->revents = 0;
		if (p->fd < 0)
			continue;
		if ((size_t)p->fd >= ev.fd_cap ||
		    p->events & ~(WATCHED | ALWAYS))
			return -1;
		s = &ev.fd_state[p->fd];
		/* registered events that cover the wanted ones need no call */
		if (!(*s & REGISTERED) || p->events & WATCHED & ~unpack(*s)) {
			if (set_interest(p->fd, p->events, *s)) {
				if (errno != EBADF)
					return -1;
				p->revents = POLLNVAL;
				*s = 0;
				invalid++;
				continue;
			}
			*s = REGISTERED | pack(p->events);
		}
		*s = (*s & ~SLOT_MASK) | (uint32_t)i;
	}
	return invalid;
}

static int
kernel_poll(struct pollfd *fds, nfds_t nfds, int timeout_ms)
{
	struct timespec ts = { .tv_sec = timeout_ms / 1000,
			       .tv_nsec = (long)(timeout_ms % 1000) * 1000000 };

	return ppoll(fds, nfds, timeout_ms < 0 ? NULL : &ts, NULL);
}

int
evpoll_poll(struct pollfd *fds, nfds_t nfds, int timeout_ms)
{
	struct epoll_event ready[MAX_READY];
	int n, k, count;

	if (!fds || fds != ev.table || ev.failed || ready_set())
		return kernel_poll(fds, nfds, timeout_ms);
	count = sync_set(fds, nfds);
	if (count < 0) {
		ev.failed = 1;
		return kernel_poll(fds, nfds, timeout_ms);
	}
	n = epoll_wait(ev.epfd, ready, MAX_READY, count ? 0 : timeout_ms);
	for (k = 0; k < n; k++) {
		int fd = ready[k].data.fd;
		uint32_t *s = &ev.fd_state[fd];
		nfds_t slot = *s & SLOT_MASK;
		short got;

		if (!(*s & REGISTERED) || slot >= nfds || fds[slot].fd != fd) {
			/* no longer in lws's array (and not closed) */
			(void)epoll_ctl(ev.epfd, EPOLL_CTL_DEL, fd, NULL);
			*s = 0;
			continue;
		}
		if (ready[k].events & WATCHED & ~fds[slot].events) {
			/* an event lws dropped since: drop it now */
			if (set_interest(fd, fds[slot].events, *s)) {
				ev.failed = 1;
				return kernel_poll(fds, nfds, 0);
			}
			*s = REGISTERED | pack(fds[slot].events) |
			     (uint32_t)slot;
		}
		got = (short)(ready[k].events & (fds[slot].events | ALWAYS));
		if (!got)
			continue;
		if (!fds[slot].revents)
			count++;
		fds[slot].revents |= got;
	}
	return n < 0 && !count ? -1 : count;
}

void
evpoll_forget(int fd)
{
	if (fd < 0 || (size_t)fd >= ev.fd_cap || !ev.fd_state ||
	    !(ev.fd_state[fd] & REGISTERED))
		return;
	(void)epoll_ctl(ev.epfd, EPOLL_CTL_DEL, fd, NULL);
	ev.fd_state[fd] = 0;
}
