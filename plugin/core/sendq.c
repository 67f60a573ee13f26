/*
 * sendq.c: bounded per-connection send ring (see sendq.h).
 */
#include "sendq.h"
#include "msg.h"
#include "rm_err.h"
#include "rm_fail.h"

#include <stdlib.h>

/* First allocation: enough for a reply or two on an idle connection. */
#define SENDQ_FIRST_CAP 4
/*
 * Up to this many slots the storage is kept when the ring empties: a busy
 * connection empties its ring on every write, and reallocating each time
 * would put malloc on the per-member path. Larger rings, left by a burst,
 * are given back.
 */
#define SENDQ_KEEP_CAP 64

void
sendq_init(struct sendq *q, unsigned int max_count, size_t max_bytes)
{
	q->slot = NULL;
	q->cap = q->head = q->count = 0;
	q->bytes = 0;
	q->max_count = max_count;
	q->max_bytes = max_bytes;
}

void
sendq_clear(struct sendq *q)
{
	sendq_pop(q, q->count);
	free(q->slot);
	q->slot = NULL;
	q->cap = q->head = 0;
}

int
sendq_fits(const struct sendq *q, size_t frame_len)
{
	if (!q->count)
		return 1;
	return q->count < q->max_count && q->bytes + frame_len <= q->max_bytes;
}

/* Doubles the storage, unrolling the ring so that head is 0 again. */
static int
grow(struct sendq *q)
{
	unsigned int cap = q->cap ? q->cap * 2 : SENDQ_FIRST_CAP, i;
	struct msg **slot = rm_fail(RM_FAIL_SENDQ) ? NULL
				: malloc(cap * sizeof(*slot));

	if (!slot)
		return RM_E_NOMEM;
	for (i = 0; i < q->count; i++)
		slot[i] = sendq_peek(q, i);
	free(q->slot);
	q->slot = slot;
	q->cap = cap;
	q->head = 0;
	return RM_OK;
}

int
sendq_push(struct sendq *q, struct msg *m)
{
	size_t len = msg_frame_len(m);

	if (!sendq_fits(q, len))
		return RM_E_FULL;
	if (q->count == q->cap && grow(q))
		return RM_E_NOMEM;
	q->slot[(q->head + q->count) & (q->cap - 1)] = msg_ref(m);
	q->count++;
	q->bytes += len;
	return RM_OK;
}

void
sendq_pop(struct sendq *q, unsigned int n)
{
	struct msg *m;

	while (n-- && q->count) {
		m = q->slot[q->head];
		q->bytes -= msg_frame_len(m);
		msg_unref(m);
		q->head = (q->head + 1) & (q->cap - 1);
		q->count--;
	}
	/* An emptied ring gives back storage a burst left behind. */
	if (!q->count) {
		q->head = 0;
		if (q->cap > SENDQ_KEEP_CAP) {
			free(q->slot);
			q->slot = NULL;
			q->cap = 0;
		}
	}
}
