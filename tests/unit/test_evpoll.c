/*
 * test_evpoll.c: lws's pollfd array answered from epoll (server/evpoll.c)
 * as poll() would answer it, including the array changes lws makes
 * between calls: events that grow and shrink, an entry removed by moving
 * the last one into its place, a descriptor closed and its number reused
 * in the same entry.
 */
#define _GNU_SOURCE
#include "unit.h"

#include "evpoll.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define N_TABLE 8

static struct pollfd *table;

/* A table noted as lws's (the allocator hook's call in hspool.c). */
static void
serve_table(void)
{
	table = calloc(N_TABLE, sizeof(*table));
	CU_ASSERT_PTR_NOT_NULL_FATAL(table);
	evpoll_enable();
	evpoll_note(table, N_TABLE * sizeof(*table), "fds table");
}

static void
drop_table(void)
{
	evpoll_note(table, 0, "lws_free");
	free(table);
	table = NULL;
}

/* close() as roomcast-server's interposed one does it */
static void
close_fd(int fd)
{
	evpoll_forget(fd);
	close(fd);
}

static void
test_ready_entry_only(void)
{
	int a[2], b[2];

	CU_ASSERT_FATAL(!pipe(a) && !pipe(b));
	serve_table();
	table[0] = (struct pollfd){ .fd = a[0], .events = POLLIN };
	table[1] = (struct pollfd){ .fd = -1, .events = POLLIN, .revents = 9 };
	table[2] =
		(struct pollfd){ .fd = b[0], .events = POLLIN, .revents = 1 };
	CU_ASSERT_EQUAL(evpoll_poll(table, 3, 0), 0);
	CU_ASSERT_EQUAL(table[2].revents, 0); /* stale revents cleared */
	CU_ASSERT_EQUAL(table[1].revents, 0);
	CU_ASSERT_EQUAL(write(b[1], "x", 1), 1);
	CU_ASSERT_EQUAL(evpoll_poll(table, 3, 1000), 1);
	CU_ASSERT_TRUE(evpoll_serving());
	CU_ASSERT_EQUAL(table[0].revents, 0);
	CU_ASSERT_EQUAL(table[2].revents, POLLIN);
	/* level-triggered, as poll(): still unread, still reported */
	CU_ASSERT_EQUAL(evpoll_poll(table, 3, 0), 1);
	CU_ASSERT_EQUAL(table[2].revents, POLLIN);
	drop_table();
	CU_ASSERT_FALSE(evpoll_serving());
	close_fd(a[0]), close_fd(a[1]), close_fd(b[0]), close_fd(b[1]);
}

static void
test_events_grow_and_shrink(void)
{
	int s[2], i;

	CU_ASSERT_FATAL(!socketpair(AF_UNIX, SOCK_STREAM, 0, s));
	serve_table();
	table[0] = (struct pollfd){ .fd = s[0], .events = POLLIN };
	CU_ASSERT_EQUAL(evpoll_poll(table, 1, 0), 0);
	table[0].events = POLLIN | POLLOUT; /* lws asks for a write */
	CU_ASSERT_EQUAL(evpoll_poll(table, 1, 1000), 1);
	CU_ASSERT_EQUAL(table[0].revents, POLLOUT);
	/* written: POLLOUT dropped, never reported again */
	table[0].events = POLLIN;
	for (i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(evpoll_poll(table, 1, 0), 0);
		CU_ASSERT_EQUAL(table[0].revents, 0);
	}
	table[0].events = POLLIN | POLLOUT;
	CU_ASSERT_EQUAL(evpoll_poll(table, 1, 0), 1);
	CU_ASSERT_EQUAL(table[0].revents, POLLOUT);
	table[0].events = POLLIN;
	CU_ASSERT_EQUAL(write(s[1], "y", 1), 1);
	CU_ASSERT_EQUAL(evpoll_poll(table, 1, 0), 1);
	CU_ASSERT_EQUAL(table[0].revents, POLLIN);
	/* flow control off: readable but not asked for */
	table[0].events = 0;
	CU_ASSERT_EQUAL(evpoll_poll(table, 1, 0), 0);
	CU_ASSERT_EQUAL(evpoll_poll(table, 1, 0), 0);
	drop_table();
	close_fd(s[0]), close_fd(s[1]);
}

/* lws removes an entry by moving the last one into its place */
static void
test_entry_removed_by_moving_the_last(void)
{
	int a[2], b[2], c[2];

	CU_ASSERT_FATAL(!pipe(a) && !pipe(b) && !pipe(c));
	serve_table();
	table[0] = (struct pollfd){ .fd = a[0], .events = POLLIN };
	table[1] = (struct pollfd){ .fd = b[0], .events = POLLIN };
	table[2] = (struct pollfd){ .fd = c[0], .events = POLLIN };
	CU_ASSERT_EQUAL(evpoll_poll(table, 3, 0), 0);
	table[0] = table[2]; /* a removed, still open */
	CU_ASSERT_EQUAL(write(a[1], "x", 1), 1);
	CU_ASSERT_EQUAL(write(c[1], "x", 1), 1);
	CU_ASSERT_EQUAL(evpoll_poll(table, 2, 1000), 1);
	CU_ASSERT_EQUAL(table[0].fd, c[0]);
	CU_ASSERT_EQUAL(table[0].revents, POLLIN);
	CU_ASSERT_EQUAL(table[1].revents, 0);
	/* and the removed one is not reported later either */
	CU_ASSERT_EQUAL(read(c[0], (char[1]){ 0 }, 1), 1);
	CU_ASSERT_EQUAL(evpoll_poll(table, 2, 50), 0);
	drop_table();
	close_fd(a[0]), close_fd(a[1]), close_fd(b[0]), close_fd(b[1]);
	close_fd(c[0]), close_fd(c[1]);
}

/*
 * Closed and reopened between two calls, in the same entry with the same
 * events: only the close tells (the kernel dropped the old registration).
 */
static void
test_number_reused_in_the_same_entry(void)
{
	int a[2], b[2], old;

	CU_ASSERT_FATAL(!pipe(a));
	serve_table();
	table[0] = (struct pollfd){ .fd = a[0], .events = POLLIN };
	CU_ASSERT_EQUAL(evpoll_poll(table, 1, 0), 0);
	old = a[0];
	close_fd(a[0]);
	close_fd(a[1]);
	CU_ASSERT_FATAL(!pipe(b));
	CU_ASSERT_EQUAL_FATAL(b[0], old); /* the lowest free number */
	CU_ASSERT_EQUAL(write(b[1], "x", 1), 1);
	CU_ASSERT_EQUAL(evpoll_poll(table, 1, 1000), 1);
	CU_ASSERT_EQUAL(table[0].revents, POLLIN);
	drop_table();
	close_fd(b[0]), close_fd(b[1]);
}

/* closed while still in the array (a library closed it first): POLLNVAL */
static void
test_closed_entry_is_invalid(void)
{
	int a[2], b[2], fd;

	CU_ASSERT_FATAL(!pipe(a) && !pipe(b));
	serve_table();
	table[0] = (struct pollfd){ .fd = a[0], .events = POLLIN };
	table[1] = (struct pollfd){ .fd = b[0], .events = POLLIN };
	CU_ASSERT_EQUAL(evpoll_poll(table, 2, 0), 0);
	fd = a[0];
	close_fd(a[0]);
	CU_ASSERT_EQUAL(evpoll_poll(table, 2, 1000), 1);
	CU_ASSERT_EQUAL(table[0].fd, fd);
	CU_ASSERT_EQUAL(table[0].revents, POLLNVAL);
	CU_ASSERT_EQUAL(table[1].revents, 0);
	CU_ASSERT_TRUE(evpoll_serving());
	/* the rest still served */
	CU_ASSERT_EQUAL(write(b[1], "x", 1), 1);
	CU_ASSERT_EQUAL(evpoll_poll(table + 1, 1, 0), 1); /* not the table */
	table[0] = table[1];
	CU_ASSERT_EQUAL(evpoll_poll(table, 1, 1000), 1);
	CU_ASSERT_EQUAL(table[0].revents, POLLIN);
	drop_table();
	close_fd(a[1]), close_fd(b[0]), close_fd(b[1]);
}

static void
test_hangup_whatever_the_events(void)
{
	int s[2];

	CU_ASSERT_FATAL(!socketpair(AF_UNIX, SOCK_STREAM, 0, s));
	serve_table();
	table[0] = (struct pollfd){ .fd = s[0], .events = 0 };
	CU_ASSERT_EQUAL(evpoll_poll(table, 1, 0), 0);
	close_fd(s[1]);
	CU_ASSERT_EQUAL(evpoll_poll(table, 1, 1000), 1);
	CU_ASSERT_TRUE(table[0].revents & POLLHUP);
	CU_ASSERT_FALSE(table[0].revents & POLLIN);
	drop_table();
	close_fd(s[0]);
}

static long
elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 +
	       (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static void
test_waits_for_the_timeout(void)
{
	struct timespec t0;
	int a[2];

	CU_ASSERT_FATAL(!pipe(a));
	serve_table();
	table[0] = (struct pollfd){ .fd = a[0], .events = POLLIN };
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CU_ASSERT_EQUAL(evpoll_poll(table, 1, 120), 0);
	CU_ASSERT_TRUE(elapsed_ms(&t0) >= 110);
	CU_ASSERT_TRUE(evpoll_serving());
	drop_table();
	close_fd(a[0]), close_fd(a[1]);
}

/* epoll refuses a regular file: the kernel's poll() answers instead */
static void
test_what_epoll_refuses_goes_to_poll(void)
{
	char path[] = "/tmp/evpoll-XXXXXX";
	int f = mkstemp(path), a[2];

	CU_ASSERT_FATAL(f >= 0 && !pipe(a));
	unlink(path);
	serve_table();
	table[0] = (struct pollfd){ .fd = a[0], .events = POLLIN };
	table[1] = (struct pollfd){ .fd = f, .events = POLLIN };
	CU_ASSERT_EQUAL(evpoll_poll(table, 2, 1000), 1);
	CU_ASSERT_EQUAL(table[0].revents, 0);
	CU_ASSERT_EQUAL(table[1].revents, POLLIN);
	CU_ASSERT_FALSE(evpoll_serving());
	CU_ASSERT_EQUAL(write(a[1], "x", 1), 1);
	CU_ASSERT_EQUAL(evpoll_poll(table, 2, 1000), 2);
	drop_table();
	close_fd(f), close_fd(a[0]), close_fd(a[1]);
}

/* any array but the one noted goes to the kernel's poll() */
static void
test_other_arrays_untouched(void)
{
	struct pollfd other[1];
	int a[2];

	CU_ASSERT_FATAL(!pipe(a));
	serve_table();
	other[0] = (struct pollfd){ .fd = a[0], .events = POLLIN };
	CU_ASSERT_EQUAL(write(a[1], "x", 1), 1);
	CU_ASSERT_EQUAL(evpoll_poll(other, 1, 0), 1);
	CU_ASSERT_EQUAL(other[0].revents, POLLIN);
	CU_ASSERT_FALSE(evpoll_serving()); /* the set is not even made */
	drop_table();
	close_fd(a[0]), close_fd(a[1]);
}

CU_TestInfo evpoll_tests[] = {
	{ "only ready entries, the rest zeroed", test_ready_entry_only },
	{ "events grow and shrink", test_events_grow_and_shrink },
	{ "entry removed by moving the last",
	  test_entry_removed_by_moving_the_last },
	{ "number reused in the same entry",
	  test_number_reused_in_the_same_entry },
	{ "closed entry is invalid", test_closed_entry_is_invalid },
	{ "hangup whatever the events", test_hangup_whatever_the_events },
	{ "waits for the timeout", test_waits_for_the_timeout },
	{ "what epoll refuses goes to poll()",
	  test_what_epoll_refuses_goes_to_poll },
	{ "other arrays untouched", test_other_arrays_untouched },
	CU_TEST_INFO_NULL,
};
