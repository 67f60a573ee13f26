/*
 * history.h: a room's last broadcasts, for recovery and `history`.
 *
 * A bounded ring of references to the broadcast msgs exactly as members
 * received them (encoded once, shared with the send rings: keeping one
 * costs a reference, not a copy). Consecutive: the newest held has the
 * room's last seq, so the seq of every held msg is known without storing
 * it. Storage is allocated with the first msg.
 *
 * Not thread-safe; service thread only. Knows nothing of lws.
 */
#ifndef HISTORY_H
#define HISTORY_H

#include <stddef.h>

struct msg;

struct history {
	struct msg **slot;
	unsigned int cap;	/* history-size */
	unsigned int head;	/* index of the oldest */
	unsigned int count;
	size_t bytes;		/* frame bytes of the held msgs */
};

/* An empty history holding at most @cap msgs (0: holds none). */
void history_init(struct history *hs, unsigned int cap);

/* Releases every held msg and the storage. */
void history_clear(struct history *hs);

/*
 * Keeps a reference to @m, forgetting the oldest when full. Returns 0, or
 * -1 when out of memory (nothing kept).
 */
int history_push(struct history *hs, struct msg *m);

/* Forgets the oldest held msg (history-bytes eviction); count > 0. */
void history_drop_oldest(struct history *hs);

/*
 * The @i-th oldest held msg, i < count; borrowed: valid until the history
 * forgets it (a push past cap, or history_clear). msg_ref() to keep it.
 */
static inline struct msg *
history_get(const struct history *hs, unsigned int i)
{
	return hs->slot[(hs->head + i) % hs->cap];
}

#endif
