/*
 * qindex.c: size classes of connections by queued bytes (see qindex.h).
 */
#include "qindex.h"

#include <string.h>

void
qindex_init(struct qindex *x)
{
	memset(x, 0, sizeof(*x));
}

void
qindex_node_init(struct qindex_node *n)
{
	memset(n, 0, sizeof(*n));
}

/* 0 for 0 bytes, else 1 + floor(log2(bytes)). */
static unsigned int
class_of(size_t bytes)
{
	if (!bytes)
		return 0;
	return 64u - (unsigned int)__builtin_clzll((unsigned long long)bytes);
}

static void
unlink_node(struct qindex *x, struct qindex_node *n)
{
	if (n->prev)
		n->prev->next = n->next;
	else
		x->head[n->cls] = n->next;
	if (n->next)
		n->next->prev = n->prev;
	if (!x->head[n->cls])
		x->mask &= ~((uint64_t)1 << (n->cls - 1));
	n->prev = n->next = NULL;
}

void
qindex_set(struct qindex *x, struct qindex_node *n, size_t bytes)
{
	unsigned int cls = class_of(bytes);

	n->bytes = bytes;
	if (cls == n->cls)
		return;
	x->steps++;
	if (n->cls)
		unlink_node(x, n);
	n->cls = cls;
	if (!cls)
		return;
	n->next = x->head[cls];
	if (n->next)
		n->next->prev = n;
	x->head[cls] = n;
	x->mask |= (uint64_t)1 << (cls - 1);
}

struct qindex_node *
qindex_top(struct qindex *x)
{
	struct qindex_node *n, *best;
	unsigned int cls, i;

	if (!x->mask)
		return NULL;
	cls = 64u - (unsigned int)__builtin_clzll(x->mask);
	best = x->head[cls];
	for (n = best->next, i = 1; n && i < QINDEX_TOP_SCAN; n = n->next, i++) {
		x->steps++;
		if (n->bytes > best->bytes)
			best = n;
	}
	return best;
}
