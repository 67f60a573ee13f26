/*
 * test_qindex.c: the size-class index of rings by queued bytes (qindex.h),
 * and the hub's use of it for max-queued-bytes and out of memory
 * (hub_set_max_queued_bytes, rm_fail.h): the cost of a shed does not grow
 * with the number of clients, the biggest rings go first, `overloaded`
 * and 1011 come where docs/RELIABILITY.md says.
 */
#include "unit.h"

#include "hub.h"
#include "hub_internal.h"
#include "msg.h"
#include "qindex.h"
#include "rm_fail.h"
#include "stats.h"

#include <stdio.h>
#include <stdlib.h>

/*---- the index alone ----*/

static void
qindex_top_is_largest_class(void)
{
	struct qindex x;
	struct qindex_node n[5];
	size_t sizes[5] = { 10, 3000, 70, 1 << 20, 5 };
	int i;

	qindex_init(&x);
	CU_ASSERT_PTR_NULL(qindex_top(&x));
	for (i = 0; i < 5; i++) {
		qindex_node_init(&n[i]);
		qindex_set(&x, &n[i], sizes[i]);
	}
	CU_ASSERT_PTR_EQUAL(qindex_top(&x), &n[3]);
	qindex_set(&x, &n[3], 0);
	CU_ASSERT_PTR_EQUAL(qindex_top(&x), &n[1]);
	qindex_remove(&x, &n[1]);
	CU_ASSERT_PTR_EQUAL(qindex_top(&x), &n[2]);
	/* same class: the larger of the two */
	qindex_set(&x, &n[0], 127);
	CU_ASSERT_PTR_EQUAL(qindex_top(&x), &n[0]);
	for (i = 0; i < 5; i++)
		qindex_remove(&x, &n[i]);
	CU_ASSERT_PTR_NULL(qindex_top(&x));
	CU_ASSERT_EQUAL(x.mask, 0);
}

/* A change within a class costs no list step; across classes, one. */
static void
qindex_moves_only_across_classes(void)
{
	struct qindex x;
	struct qindex_node n;
	uint64_t before;

	qindex_init(&x);
	qindex_node_init(&n);
	qindex_set(&x, &n, 64);
	before = x.steps;
	qindex_set(&x, &n, 100);	/* [64, 128): same class */
	qindex_set(&x, &n, 127);
	CU_ASSERT_EQUAL(x.steps, before);
	qindex_set(&x, &n, 128);
	CU_ASSERT_EQUAL(x.steps, before + 1);
	qindex_set(&x, &n, (size_t)1 << 40);
	CU_ASSERT_PTR_EQUAL(qindex_top(&x), &n);
	qindex_remove(&x, &n);
}

/*---- the hub with many clients ----*/

struct owner {
	int closes, code;
	int order;		/* 1 + how many were closed before it */
};

static int close_seq;

static void
o_wake(void *o)
{
	(void)o;
}

static void
o_close(void *o, int code)
{
	((struct owner *)o)->closes++;
	((struct owner *)o)->code = code;
	((struct owner *)o)->order = ++close_seq;
}

static const struct hub_ops ops = { o_wake, o_close };

/* Pops every msg of @c's ring, as a transport that wrote them would. */
static void
drain(struct hub *h, struct client *c)
{
	unsigned int i, n = hub_client_queued(c);
	size_t bytes = 0;

	for (i = 0; i < n; i++)
		bytes += msg_frame_len(hub_client_peek(c, i));
	hub_written(h, c, n, bytes);
}

static void
say(struct hub *h, struct client *c, const char *text)
{
	hub_on_text(h, c, text, strlen(text), 1000);
}

/* A broadcast of @len bytes of content from @c to room "r". */
static void
broadcast(struct hub *h, struct client *c, size_t len)
{
	static const char head[] = "{\"type\":\"broadcast\",\"room_id\":\"r\","
				   "\"content\":\"";
	char *t = malloc(sizeof(head) + len + 3);

	memcpy(t, head, sizeof(head) - 1);
	memset(t + sizeof(head) - 1, 'x', len);
	memcpy(t + sizeof(head) - 1 + len, "\"}", 3);
	say(h, c, t);
	free(t);
}

/*
 * @n clients in room "r", client 0 the sender. Client 1 never reads and
 * holds 8 large messages, client 2 holds 4; every other one holds one
 * small message. With max-queued-bytes at what all hold, client 1's next
 * answer (a pong) crosses it. Returns the index steps that answer and its
 * shed took; checks only the biggest ring went (shedding it brings the
 * total under 90%), with 4001.
 */
static uint64_t
shed_cost(unsigned int n)
{
	struct rconf conf;
	struct hub *h;
	struct client **cl = calloc(n, sizeof(*cl));
	struct owner *ow = calloc(n, sizeof(*ow));
	uint64_t steps, total;
	unsigned int i, k;

	stats_reset(0);
	close_seq = 0;
	rconf_init(&conf);
	conf.send_ring_bytes = 1 << 24;
	h = hub_create(&ops, 1);
	for (i = 0; i < n; i++) {
		cl[i] = hub_client_new(h, &conf, &ow[i], 0);
		say(h, cl[i], "{\"type\":\"join\",\"room_id\":\"r\"}");
		drain(h, cl[i]);
	}
	for (k = 0; k < 8; k++) {
		broadcast(h, cl[0], 60000);
		for (i = 0; i < n; i++)
			if (i != 1 && (i != 2 || k < 4))
				drain(h, cl[i]);
	}
	broadcast(h, cl[0], 10);
	drain(h, cl[0]);
	total = rm_stats.queued_bytes;
	hub_set_max_queued_bytes(h, (size_t)total);
	steps = h->qidx.steps;
	say(h, cl[1], "{\"type\":\"ping\"}");
	steps = h->qidx.steps - steps;
	CU_ASSERT_TRUE(rm_stats.queued_bytes <= total - total / 10);
	CU_ASSERT_EQUAL(ow[1].closes, 1);
	CU_ASSERT_EQUAL(ow[1].code, HUB_CLOSE_SLOW_CONSUMER);
	CU_ASSERT_EQUAL(rm_stats.slow_consumers_shed, 1);
	for (i = 2; i < n; i++)
		if (ow[i].closes)
			break;
	CU_ASSERT_EQUAL(i, n);	/* no smaller one was shed */
	/* the next biggest goes next, when the cap is crossed again */
	hub_set_max_queued_bytes(h, (size_t)rm_stats.queued_bytes);
	say(h, cl[2], "{\"type\":\"ping\"}");
	CU_ASSERT_EQUAL(ow[2].closes, 1);
	/* before any small one: each holds less than it */
	for (i = 3; i < n; i++)
		if (ow[i].closes && ow[i].order < ow[2].order)
			break;
	CU_ASSERT_EQUAL(i, n);
	hub_destroy(h);
	rconf_free(&conf);
	free(cl);
	free(ow);
	return steps;
}

/*
 * Finding whom to shed takes a bounded number of index steps, the same
 * for 100 and for 20000 clients (the linear scan it replaces took one
 * step per client per shed).
 */
static void
shed_cost_does_not_grow_with_clients(void)
{
	uint64_t small = shed_cost(100), big = shed_cost(20000);

	CU_ASSERT_EQUAL(small, big);
	CU_ASSERT_TRUE(big <= 2 + QINDEX_TOP_SCAN);
}

/* The fan-out that crosses the cap is not cut short: every member gets it. */
static void
shed_waits_for_the_fan_out(void)
{
	struct rconf conf;
	struct hub *h;
	struct client *cl[4];
	struct owner ow[4] = { { 0, 0, 0 } };
	int i;

	stats_reset(0);
	rconf_init(&conf);
	h = hub_create(&ops, 1);
	for (i = 0; i < 4; i++) {
		cl[i] = hub_client_new(h, &conf, &ow[i], 0);
		say(h, cl[i], "{\"type\":\"join\",\"room_id\":\"r\"}");
		drain(h, cl[i]);
	}
	hub_set_max_queued_bytes(h, 100);
	broadcast(h, cl[0], 200);	/* 4 x ~260 bytes: over at the first */
	/* shed after the loop: all four got it queued, then the cap acted */
	CU_ASSERT_EQUAL(rm_stats.slow_consumers_shed, 4);
	CU_ASSERT_EQUAL(rm_stats.queued_bytes, 0);
	CU_ASSERT_EQUAL(rm_stats.messages_dropped, 0);
	hub_destroy(h);
	rconf_free(&conf);
}

/*---- out of memory (rm_fail.h) ----*/

static int msg_skip;		/* msg allocations to let through first */
static int msg_fail;		/* then this many fail; then all pass */
static int fail_room;		/* rooms and memberships fail */
static int fail_sendq;		/* rings cannot grow */

static int
fail_hook(enum rm_fail_site site)
{
	switch (site) {
	case RM_FAIL_MSG:
		if (msg_skip) {
			msg_skip--;
			return 0;
		}
		if (msg_fail) {
			msg_fail--;
			return 1;
		}
		return 0;
	case RM_FAIL_ROOM:
		return fail_room;
	case RM_FAIL_SENDQ:
		return fail_sendq;
	}
	return 0;
}

static struct hub *oh;
static struct client *oc[3];
static struct owner oo[3];
static struct rconf oconf;

static void
oom_setup(void)
{
	int i;

	stats_reset(0);
	rconf_init(&oconf);
	memset(oo, 0, sizeof(oo));
	oh = hub_create(&ops, 1);
	for (i = 0; i < 3; i++)
		oc[i] = hub_client_new(oh, &oconf, &oo[i], 0);
	msg_skip = msg_fail = fail_room = fail_sendq = 0;
	rm_fail_hook = fail_hook;
}

static void
oom_teardown(void)
{
	rm_fail_hook = NULL;
	hub_destroy(oh);
	rconf_free(&oconf);
}

/* Pops the one msg on @c's ring and checks its text. */
static void
only_msg_is(struct client *c, const char *want)
{
	struct msg *m;

	CU_ASSERT_EQUAL_FATAL(hub_client_queued(c), 1);
	m = hub_client_peek(c, 0);
	if (!unit_text_is(msg_text(m), m->payload_len, want))
		fprintf(stderr, "\n got: %.*s\nwant: %s\n",
			(int)m->payload_len, msg_text(m), want);
	CU_ASSERT_TRUE(unit_text_is(msg_text(m), m->payload_len, want));
	drain(oh, c);
}

#define OVERLOADED(ref) "{\"type\":\"error\",\"code\":\"overloaded\"," \
	"\"message\":\"out of memory; nothing was done\",\"ref\":\"" ref "\"}"

/* Joins clients 0 and 1 to room "r" and empties their rings. */
static void
join_two(void)
{
	say(oh, oc[0], "{\"type\":\"join\",\"room_id\":\"r\"}");
	say(oh, oc[1], "{\"type\":\"join\",\"room_id\":\"r\"}");
	drain(oh, oc[0]);
	drain(oh, oc[1]);
}

/* A join that cannot make its room: overloaded, and nothing was done. */
static void
oom_join_is_overloaded(void)
{
	struct hub_client_info i;

	oom_setup();
	fail_room = 1;
	say(oh, oc[0], "{\"type\":\"join\",\"room_id\":\"r\",\"user_id\":\"u\"}");
	only_msg_is(oc[0], OVERLOADED("join"));
	hub_client_info(oc[0], &i);
	CU_ASSERT_EQUAL(i.n_rooms, 0);
	CU_ASSERT_PTR_NULL(i.user_id);
	CU_ASSERT_EQUAL(rm_stats.rooms_active, 0);
	CU_ASSERT_EQUAL(rm_stats.messages_dropped, 0);
	CU_ASSERT_EQUAL(rm_stats.alloc_failures, 1);
	CU_ASSERT_EQUAL(oo[0].closes, 0);
	fail_room = 0;		/* memory back: the same join works */
	say(oh, oc[0], "{\"type\":\"join\",\"room_id\":\"r\",\"user_id\":\"u\"}");
	hub_client_info(oc[0], &i);
	CU_ASSERT_EQUAL(i.n_rooms, 1);
	oom_teardown();
}

/*
 * A broadcast that cannot be encoded: overloaded to the sender, no seq
 * taken, nothing to the others, nothing counted as dropped.
 */
static void
oom_broadcast_is_overloaded(void)
{
	oom_setup();
	join_two();
	msg_fail = 1;		/* the broadcast; the error then passes */
	say(oh, oc[0], "{\"type\":\"broadcast\",\"room_id\":\"r\","
	    "\"content\":1}");
	only_msg_is(oc[0], OVERLOADED("broadcast"));
	CU_ASSERT_EQUAL(hub_client_queued(oc[1]), 0);
	CU_ASSERT_EQUAL(hub_room(oh, "r")->seq, 0);
	CU_ASSERT_EQUAL(rm_stats.messages_dropped, 0);
	CU_ASSERT_EQUAL(rm_stats.alloc_failures, 1);
	CU_ASSERT_EQUAL(oo[0].closes + oo[1].closes, 0);
	oom_teardown();
}

/* A pong that cannot be made, then neither the error: 1011. */
static void
oom_without_the_error_closes_1011(void)
{
	oom_setup();
	msg_fail = 2;		/* the pong, then the overloaded error */
	say(oh, oc[0], "{\"type\":\"ping\"}");
	CU_ASSERT_EQUAL(oo[0].closes, 1);
	CU_ASSERT_EQUAL(oo[0].code, HUB_CLOSE_INTERNAL_ERROR);
	CU_ASSERT_EQUAL(hub_client_queued(oc[0]), 0);
	CU_ASSERT_EQUAL(rm_stats.messages_dropped, 0);
	CU_ASSERT_EQUAL(rm_stats.alloc_failures, 1);
	oom_teardown();
}

/*
 * A member whose ring cannot grow to take a broadcast is owed a message
 * it cannot get: closed with 1011 (it resumes with since); the sender and
 * the other member are served; nothing counted as dropped.
 */
static void
oom_ring_growth_closes_that_member(void)
{
	int k;

	oom_setup();
	say(oh, oc[2], "{\"type\":\"join\",\"room_id\":\"r\"}");
	join_two();
	drain(oh, oc[2]);
	/* client 2 does not read: its ring fills its first 4 slots */
	for (k = 0; k < 4; k++) {
		say(oh, oc[0], "{\"type\":\"broadcast\",\"room_id\":\"r\","
		    "\"content\":1}");
		drain(oh, oc[0]);
		drain(oh, oc[1]);
	}
	fail_sendq = 1;		/* the fifth needs storage for 8 */
	say(oh, oc[0], "{\"type\":\"broadcast\",\"room_id\":\"r\","
	    "\"content\":2}");
	CU_ASSERT_EQUAL(oo[2].closes, 1);
	CU_ASSERT_EQUAL(oo[2].code, HUB_CLOSE_INTERNAL_ERROR);
	CU_ASSERT_EQUAL(hub_client_queued(oc[0]), 1);
	CU_ASSERT_EQUAL(hub_client_queued(oc[1]), 1);
	CU_ASSERT_EQUAL(oo[0].closes + oo[1].closes, 0);
	CU_ASSERT_EQUAL(rm_stats.messages_dropped, 0);
	CU_ASSERT_EQUAL(rm_stats.alloc_failures, 1);
	oom_teardown();
}

/* hub_destroy: no presence is queued to, nor wake sent for, the leaving. */
static int destroy_wakes;

static void
count_wake(void *o)
{
	(void)o;
	destroy_wakes++;
}

static void
destroy_queues_nothing(void)
{
	static const struct hub_ops wops = { count_wake, o_close };
	struct rconf conf;
	struct owner ow[3];
	struct client *c;
	struct hub *h;
	int i;

	stats_reset(0);
	rconf_init(&conf);
	conf.presence_events = 1;
	h = hub_create(&wops, 1);
	for (i = 0; i < 3; i++) {
		c = hub_client_new(h, &conf, &ow[i], 0);
		say(h, c, "{\"type\":\"join\",\"room_id\":\"r\"}");
		drain(h, c);
	}
	destroy_wakes = 0;
	hub_destroy(h);
	CU_ASSERT_EQUAL(destroy_wakes, 0);
	CU_ASSERT_EQUAL(rm_stats.queued_bytes, 0);
	rconf_free(&conf);
}

CU_TestInfo qindex_tests[] = {
	{ "top is the largest class", qindex_top_is_largest_class },
	{ "moves only across classes", qindex_moves_only_across_classes },
	{ "shed cost does not grow with clients (100 vs 20000)",
	  shed_cost_does_not_grow_with_clients },
	{ "shed waits for the end of the fan-out", shed_waits_for_the_fan_out },
	{ "OOM: join answers overloaded, nothing done", oom_join_is_overloaded },
	{ "OOM: broadcast answers overloaded, no seq, not dropped",
	  oom_broadcast_is_overloaded },
	{ "OOM: no memory for the error either: 1011",
	  oom_without_the_error_closes_1011 },
	{ "OOM: a member's ring cannot grow: 1011 for it alone",
	  oom_ring_growth_closes_that_member },
	{ "hub_destroy queues no presence, wakes no one",
	  destroy_queues_nothing },
	CU_TEST_INFO_NULL,
};
