/*
 * test_sendq.c: the bounded per-connection send ring (sendq.h).
 */
#include "unit.h"

#include "msg.h"
#include "rm_err.h"
#include "sendq.h"

#include <stdio.h>

/* A sealed msg whose payload is the decimal @n, padded to @len bytes. */
static struct msg *
numbered(unsigned int n, size_t len)
{
	struct msg *m;
	char num[16];
	int k = snprintf(num, sizeof(num), "%u", n);

	if (len < (size_t)k)
		len = (size_t)k;
	m = msg_alloc(len);
	if (!m)
		return NULL;
	memset(msg_payload(m), ' ', len);
	memcpy(msg_payload(m), num, (size_t)k);
	msg_seal(m);
	return m;
}

static unsigned int
number_of(const struct msg *m)
{
	unsigned int n = 0;
	size_t i;

	for (i = 0; i < m->payload_len && msg_text(m)[i] != ' '; i++)
		n = n * 10 + (unsigned int)(msg_text(m)[i] - '0');
	return n;
}

static void
init_allocates_nothing(void)
{
	struct sendq q;

	sendq_init(&q, 4, 100);
	CU_ASSERT_PTR_NULL(q.slot);
	CU_ASSERT_EQUAL(q.cap, 0);
	CU_ASSERT_EQUAL(q.count, 0);
	CU_ASSERT_EQUAL(q.bytes, 0);
	CU_ASSERT_EQUAL(q.max_count, 4);
	CU_ASSERT_EQUAL(q.max_bytes, 100);
	sendq_clear(&q);
}

static void
shared_msg_freed_after_last_pop(void)
{
	struct sendq q[3];
	struct msg *m = numbered(1, 10);
	int i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	for (i = 0; i < 3; i++) {
		sendq_init(&q[i], 8, 1000);
		CU_ASSERT_EQUAL(sendq_push(&q[i], m), RM_OK);
	}
	CU_ASSERT_EQUAL(m->refs, 4);
	msg_unref(m);			/* the producer's reference */
	CU_ASSERT_EQUAL(m->refs, 3);
	sendq_pop(&q[0], 1);
	CU_ASSERT_EQUAL(m->refs, 2);
	CU_ASSERT_EQUAL(q[0].bytes, 0);
	sendq_pop(&q[1], 1);
	CU_ASSERT_EQUAL(m->refs, 1);
	CU_ASSERT_PTR_EQUAL(sendq_peek(&q[2], 0), m);
	sendq_pop(&q[2], 1);		/* frees m: ASan checks it */
	for (i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(q[i].count, 0);
		sendq_clear(&q[i]);
	}
}

static void
bounded_by_count(void)
{
	struct sendq q;
	struct msg *m[4];
	unsigned int i;

	sendq_init(&q, 3, 1 << 20);
	for (i = 0; i < 4; i++)
		m[i] = numbered(i, 5);
	for (i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(sendq_push(&q, m[i]), RM_OK);
	CU_ASSERT_EQUAL(sendq_fits(&q, 1), 0);
	CU_ASSERT_EQUAL(sendq_push(&q, m[3]), RM_E_FULL);
	CU_ASSERT_EQUAL(m[3]->refs, 1);	/* no reference taken */
	CU_ASSERT_EQUAL(q.count, 3);
	CU_ASSERT_EQUAL(q.bytes, 3 * 7);
	sendq_pop(&q, 1);
	CU_ASSERT_EQUAL(sendq_fits(&q, 1), 1);
	CU_ASSERT_EQUAL(sendq_push(&q, m[3]), RM_OK);
	CU_ASSERT_EQUAL(m[3]->refs, 2);
	sendq_clear(&q);
	for (i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(m[i]->refs, 1);
		msg_unref(m[i]);
	}
}

static void
bounded_by_bytes(void)
{
	struct sendq q;
	struct msg *a = numbered(1, 38), *b = numbered(2, 38),
		   *c = numbered(3, 18);

	/* frames: 40, 40, 20 bytes; the ring holds 100 */
	sendq_init(&q, 100, 100);
	CU_ASSERT_EQUAL(sendq_push(&q, a), RM_OK);
	CU_ASSERT_EQUAL(sendq_push(&q, b), RM_OK);
	CU_ASSERT_EQUAL(q.bytes, 80);
	CU_ASSERT_EQUAL(sendq_fits(&q, 20), 1);
	CU_ASSERT_EQUAL(sendq_fits(&q, 21), 0);
	CU_ASSERT_EQUAL(sendq_push(&q, a), RM_E_FULL);
	CU_ASSERT_EQUAL(a->refs, 2);		/* one: the ring's */
	CU_ASSERT_EQUAL(q.bytes, 80);
	CU_ASSERT_EQUAL(sendq_push(&q, c), RM_OK);	/* exactly full */
	CU_ASSERT_EQUAL(q.bytes, 100);
	CU_ASSERT_EQUAL(sendq_push(&q, c), RM_E_FULL);
	sendq_pop(&q, 1);
	CU_ASSERT_EQUAL(q.bytes, 60);
	CU_ASSERT_EQUAL(a->refs, 1);
	sendq_clear(&q);
	CU_ASSERT_EQUAL(q.count, 0);
	CU_ASSERT_EQUAL(q.bytes, 0);
	CU_ASSERT_EQUAL(b->refs, 1);
	CU_ASSERT_EQUAL(c->refs, 1);
	msg_unref(a);
	msg_unref(b);
	msg_unref(c);
}

static void
empty_ring_takes_an_oversized_msg(void)
{
	struct sendq q;
	struct msg *big = numbered(1, 500), *small = numbered(2, 1);

	sendq_init(&q, 4, 100);
	CU_ASSERT_EQUAL(sendq_fits(&q, 100000), 1);
	CU_ASSERT_EQUAL(sendq_push(&q, big), RM_OK);
	CU_ASSERT_EQUAL(q.bytes, 504);
	/* but only that one: nothing else fits behind it */
	CU_ASSERT_EQUAL(sendq_push(&q, small), RM_E_FULL);
	CU_ASSERT_EQUAL(small->refs, 1);
	sendq_pop(&q, 1);
	CU_ASSERT_EQUAL(big->refs, 1);
	CU_ASSERT_EQUAL(sendq_push(&q, small), RM_OK);
	sendq_clear(&q);
	msg_unref(big);
	msg_unref(small);
}

/*
 * Pushes and pops in a pattern that wraps the ring around and makes it
 * grow (4 -> 8 -> 16 -> ... slots) while wrapped; checks FIFO order.
 */
static void
fifo_across_wrap_and_growth(void)
{
	struct sendq q;
	unsigned int next_in = 0, next_out = 0, round, i, k;
	struct msg *m;

	sendq_init(&q, 1000, 1 << 20);
	for (round = 0; round < 40; round++) {
		/* push round%7+3, pop round%5+1: net growth, wrapping */
		k = round % 7 + 3;
		for (i = 0; i < k; i++) {
			m = numbered(next_in++, 8);
			CU_ASSERT_EQUAL(sendq_push(&q, m), RM_OK);
			msg_unref(m);
		}
		/* peek sees them all, oldest first */
		for (i = 0; i < q.count; i++)
			if (number_of(sendq_peek(&q, i)) != next_out + i)
				break;
		CU_ASSERT_EQUAL(i, q.count);
		k = round % 5 + 1;
		for (i = 0; i < k && q.count; i++) {
			CU_ASSERT_EQUAL(number_of(sendq_peek(&q, 0)),
					next_out);
			sendq_pop(&q, 1);
			next_out++;
		}
	}
	CU_ASSERT_EQUAL(q.count, next_in - next_out);
	CU_ASSERT_EQUAL(q.bytes, (size_t)q.count * 10);
	CU_ASSERT_TRUE(q.cap >= q.count);
	CU_ASSERT_EQUAL(q.cap & (q.cap - 1), 0);	/* a power of two */
	while (q.count) {
		CU_ASSERT_EQUAL(number_of(sendq_peek(&q, 0)), next_out);
		sendq_pop(&q, 1);
		next_out++;
	}
	CU_ASSERT_EQUAL(next_out, next_in);
	CU_ASSERT_EQUAL(q.bytes, 0);
	sendq_clear(&q);
}

static void
pop_releases_several_and_stops_at_empty(void)
{
	struct sendq q;
	struct msg *m = numbered(7, 3);
	unsigned int i;

	sendq_init(&q, 10, 1000);
	for (i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(sendq_push(&q, m), RM_OK);
	CU_ASSERT_EQUAL(m->refs, 6);
	sendq_pop(&q, 3);
	CU_ASSERT_EQUAL(m->refs, 3);
	CU_ASSERT_EQUAL(q.count, 2);
	CU_ASSERT_EQUAL(q.bytes, 10);
	sendq_pop(&q, 5);	/* more than held: stops at empty */
	CU_ASSERT_EQUAL(m->refs, 1);
	CU_ASSERT_EQUAL(q.count, 0);
	CU_ASSERT_EQUAL(q.bytes, 0);
	sendq_clear(&q);
	msg_unref(m);
}

static void
emptied_big_ring_gives_storage_back(void)
{
	struct sendq q;
	struct msg *m = numbered(1, 1);
	unsigned int i;

	sendq_init(&q, 1000, 1 << 20);
	for (i = 0; i < 200; i++)
		CU_ASSERT_EQUAL(sendq_push(&q, m), RM_OK);
	CU_ASSERT_TRUE(q.cap >= 200);
	sendq_pop(&q, 200);
	CU_ASSERT_PTR_NULL(q.slot);
	CU_ASSERT_EQUAL(q.cap, 0);
	/* and works again afterwards */
	CU_ASSERT_EQUAL(sendq_push(&q, m), RM_OK);
	CU_ASSERT_PTR_EQUAL(sendq_peek(&q, 0), m);
	sendq_clear(&q);
	CU_ASSERT_PTR_NULL(q.slot);
	CU_ASSERT_EQUAL(m->refs, 1);
	msg_unref(m);
}

CU_TestInfo sendq_tests[] = {
	{ "sendq_init allocates nothing", init_allocates_nothing },
	{ "a msg in 3 rings is freed only after the last pop",
	  shared_msg_freed_after_last_pop },
	{ "the ring is bounded by count; RM_E_FULL takes no reference",
	  bounded_by_count },
	{ "the ring is bounded by frame bytes", bounded_by_bytes },
	{ "an empty ring takes one msg larger than max_bytes",
	  empty_ring_takes_an_oversized_msg },
	{ "FIFO order across wrap-around and growth",
	  fifo_across_wrap_and_growth },
	{ "pop releases n msgs and stops at empty",
	  pop_releases_several_and_stops_at_empty },
	{ "an emptied big ring gives its storage back",
	  emptied_big_ring_gives_storage_back },
	CU_TEST_INFO_NULL,
};
