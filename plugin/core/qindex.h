/*
 * qindex.h: connections indexed by how many bytes their send rings hold,
 * so that the ones holding the most are found without a scan.
 *
 * Size classes of powers of two: class 0 is an empty ring (in no list),
 * class k >= 1 holds rings of [2^(k-1), 2^k) bytes. A ring's change of size
 * moves it between two doubly linked lists only when its class changes,
 * in O(1); the largest non-empty class is the highest set bit of a mask.
 * Within a class sizes differ by less than 2x; qindex_top() looks at a
 * bounded few entries of the top class and takes the largest of them.
 *
 * The index owns nothing: a node lives inside its owner (struct client).
 * Not thread-safe; service thread only. Knows nothing of lws.
 */
#ifndef QINDEX_H
#define QINDEX_H

#include <stddef.h>
#include <stdint.h>

/* One class per bit of a size_t, plus class 0 (empty). */
#define QINDEX_CLASSES 65
/* Entries of the top class qindex_top() compares; a constant bound. */
#define QINDEX_TOP_SCAN 8

struct qindex_node {
	struct qindex_node *prev, *next;
	size_t bytes;		/* what the owner's ring holds, as last told */
	unsigned int cls;	/* its class; 0: in no list */
};

struct qindex {
	struct qindex_node *head[QINDEX_CLASSES];
	uint64_t mask;		/* bit k-1 set: class k is non-empty */
	uint64_t steps;		/* list and scan steps taken, for tests */
};

/* Prepares an empty index. */
void qindex_init(struct qindex *x);

/* Prepares a node holding 0 bytes (in no list). */
void qindex_node_init(struct qindex_node *n);

/* @n's ring holds @bytes now: moves it to that class if it changed. O(1). */
void qindex_set(struct qindex *x, struct qindex_node *n, size_t bytes);

/* Takes @n out of the index (its owner is going); same as bytes = 0. */
static inline void
qindex_remove(struct qindex *x, struct qindex_node *n)
{
	qindex_set(x, n, 0);
}

/*
 * A node of the largest non-empty class, the largest of the first
 * QINDEX_TOP_SCAN of that class; NULL if every ring is empty. It holds at
 * least half of what the largest ring holds. O(1).
 */
struct qindex_node *qindex_top(struct qindex *x);

#endif
