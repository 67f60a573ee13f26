/*
 * test_history.c: a room's bounded ring of broadcast references
 * (history.h).
 */
#include "unit.h"

#include "history.h"
#include "msg.h"

#include <stdio.h>

/* A sealed msg whose text is @text; one reference, the caller's. */
static struct msg *
text_msg(const char *text)
{
	struct msg *m = msg_from_text(text, strlen(text));

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	return m;
}

/* 1 if the @i-th oldest held msg reads @want. */
static int
held_is(const struct history *hs, unsigned int i, const char *want)
{
	const struct msg *m = history_get(hs, i);

	return unit_text_is(msg_text(m), m->payload_len, want);
}

static void
empty_history_holds_nothing(void)
{
	struct history hs;

	history_init(&hs, 4);
	CU_ASSERT_EQUAL(hs.count, 0);
	CU_ASSERT_EQUAL(hs.cap, 4);
	/* storage comes with the first msg */
	CU_ASSERT_PTR_NULL(hs.slot);
	history_clear(&hs);
	CU_ASSERT_EQUAL(hs.count, 0);
}

static void
push_keeps_order_and_a_reference(void)
{
	struct history hs;
	struct msg *a = text_msg("a"), *b = text_msg("b");

	history_init(&hs, 4);
	history_push(&hs, a);
	history_push(&hs, b);
	CU_ASSERT_EQUAL(hs.count, 2);
	CU_ASSERT_TRUE(held_is(&hs, 0, "a"));
	CU_ASSERT_TRUE(held_is(&hs, 1, "b"));
	/* the same msg, not a copy, with a reference of its own */
	CU_ASSERT_PTR_EQUAL(history_get(&hs, 0), a);
	CU_ASSERT_EQUAL(a->refs, 2);
	msg_unref(a);
	msg_unref(b);
	CU_ASSERT_EQUAL(b->refs, 1); /* still held */
	CU_ASSERT_TRUE(held_is(&hs, 1, "b"));
	history_clear(&hs);
	CU_ASSERT_EQUAL(hs.count, 0);
	CU_ASSERT_PTR_NULL(hs.slot);
}

static void
full_history_forgets_the_oldest(void)
{
	struct history hs;
	struct msg *m[7], *first;
	char t[8];
	unsigned int i;

	history_init(&hs, 3);
	for (i = 0; i < 7; i++) {
		snprintf(t, sizeof(t), "m%u", i);
		m[i] = text_msg(t);
	}
	first = msg_ref(m[0]); /* to see its reference dropped */
	for (i = 0; i < 7; i++) {
		history_push(&hs, m[i]);
		CU_ASSERT_EQUAL(hs.count, i < 3 ? i + 1 : 3);
	}
	/* m4, m5, m6 held, oldest first, across the ring's wrap */
	CU_ASSERT_TRUE(held_is(&hs, 0, "m4"));
	CU_ASSERT_TRUE(held_is(&hs, 1, "m5"));
	CU_ASSERT_TRUE(held_is(&hs, 2, "m6"));
	CU_ASSERT_EQUAL(first->refs, 2); /* ours + m[0]'s: none held */
	for (i = 0; i < 7; i++)
		CU_ASSERT_EQUAL(m[i]->refs, i >= 4 ? 2u : (i ? 1u : 2u));
	for (i = 0; i < 7; i++)
		msg_unref(m[i]);
	msg_unref(first);
	history_clear(&hs);
}

static void
size_zero_holds_none(void)
{
	struct history hs;
	struct msg *m = text_msg("x");

	history_init(&hs, 0);
	history_push(&hs, m);
	CU_ASSERT_EQUAL(hs.count, 0);
	CU_ASSERT_EQUAL(m->refs, 1); /* no reference taken */
	CU_ASSERT_PTR_NULL(hs.slot);
	history_clear(&hs);
	msg_unref(m);
}

static void
clear_then_reuse(void)
{
	struct history hs;
	struct msg *a = text_msg("a"), *b = text_msg("b");

	history_init(&hs, 2);
	history_push(&hs, a);
	history_push(&hs, b);
	history_push(&hs, a); /* wraps: head moves */
	history_clear(&hs);
	CU_ASSERT_EQUAL(a->refs, 1);
	CU_ASSERT_EQUAL(b->refs, 1);
	/* cleared, it works again from empty */
	history_push(&hs, b);
	CU_ASSERT_EQUAL(hs.count, 1);
	CU_ASSERT_TRUE(held_is(&hs, 0, "b"));
	history_clear(&hs);
	msg_unref(a);
	msg_unref(b);
}

CU_TestInfo history_tests[] = {
	{ "an empty history holds nothing and allocates nothing",
	  empty_history_holds_nothing },
	{ "push keeps order and takes a reference, not a copy",
	  push_keeps_order_and_a_reference },
	{ "a full history forgets the oldest, across the wrap",
	  full_history_forgets_the_oldest },
	{ "history-size 0 holds nothing and takes no reference",
	  size_zero_holds_none },
	{ "clear releases every reference; the history is reusable",
	  clear_then_reuse },
	CU_TEST_INFO_NULL,
};
