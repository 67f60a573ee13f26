/*
 * sendq.h: one connection's bounded send ring.
 *
 * Holds references to msgs waiting to be written, in order, bounded by a
 * message count and a byte count (PROTOCOL.md send-ring-size and
 * send-ring-bytes). A push that does not fit is refused, never waits: the
 * caller applies the drop policy. Storage grows on demand up to the bound
 * and is given back when the ring empties, so an idle connection costs a
 * few bytes rather than send-ring-size pointers.
 *
 * Not thread-safe; service thread only. Knows nothing of lws.
 */
#ifndef SENDQ_H
#define SENDQ_H

#include <stddef.h>

struct msg;

struct sendq {
	struct msg **slot;	/* ring storage, NULL while empty */
	unsigned int cap;	/* allocated slots, a power of two */
	unsigned int head;	/* index of the oldest msg */
	unsigned int count;
	unsigned int max_count;
	size_t bytes;		/* frame bytes held */
	size_t max_bytes;
};

/* Prepares an empty ring with the given bounds. Allocates nothing. */
void sendq_init(struct sendq *q, unsigned int max_count, size_t max_bytes);

/* Releases every held reference and the storage. */
void sendq_clear(struct sendq *q);

/*
 * Returns 1 if a msg of @frame_len bytes would fit now. An empty ring
 * takes any one msg, so a message larger than max_bytes still reaches a
 * reader that keeps up.
 */
int sendq_fits(const struct sendq *q, size_t frame_len);

/*
 * Queues a new reference to @m. Returns RM_OK, RM_E_FULL (nothing taken)
 * when it does not fit, or RM_E_NOMEM.
 */
int sendq_push(struct sendq *q, struct msg *m);

/* The @i-th oldest msg, i < count; borrowed (the ring keeps its reference). */
static inline struct msg *
sendq_peek(const struct sendq *q, unsigned int i)
{
	return q->slot[(q->head + i) & (q->cap - 1)];
}

/* Drops the @n oldest msgs (n <= count), releasing their references. */
void sendq_pop(struct sendq *q, unsigned int n);

#endif
