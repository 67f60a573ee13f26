/*
 * ipcount.c: connections per client address (see ipcount.h).
 */
#include "ipcount.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define IPCOUNT_BUCKETS 1024	/* fixed: addresses, not connections */

struct ipcount_entry {
	struct ipcount_entry *next;
	unsigned int count;
	uint32_t hash;
	char addr[];
};

struct ipcount {
	struct ipcount_entry *bucket[IPCOUNT_BUCKETS];
};

static uint32_t
hash_addr(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

struct ipcount *
ipcount_create(void)
{
	return calloc(1, sizeof(struct ipcount));
}

void
ipcount_destroy(struct ipcount *t)
{
	struct ipcount_entry *e, *next;
	size_t i;

	if (!t)
		return;
	for (i = 0; i < IPCOUNT_BUCKETS; i++)
		for (e = t->bucket[i]; e; e = next) {
			next = e->next;
			free(e);
		}
	free(t);
}

static struct ipcount_entry *
find(const struct ipcount *t, const char *addr, uint32_t h)
{
	struct ipcount_entry *e;

	for (e = t->bucket[h % IPCOUNT_BUCKETS]; e; e = e->next)
		if (e->hash == h && !strcmp(e->addr, addr))
			return e;
	return NULL;
}

unsigned int
ipcount_get(const struct ipcount *t, const char *addr)
{
	struct ipcount_entry *e = find(t, addr, hash_addr(addr));

	return e ? e->count : 0;
}

struct ipcount_entry *
ipcount_take(struct ipcount *t, const char *addr)
{
	uint32_t h = hash_addr(addr);
	struct ipcount_entry *e = find(t, addr, h);
	size_t len;

	if (!e) {
		len = strlen(addr);
		e = calloc(1, sizeof(*e) + len + 1);
		if (!e)
			return NULL;
		memcpy(e->addr, addr, len + 1);
		e->hash = h;
		e->next = t->bucket[h % IPCOUNT_BUCKETS];
		t->bucket[h % IPCOUNT_BUCKETS] = e;
	}
	e->count++;
	return e;
}

void
ipcount_put(struct ipcount *t, struct ipcount_entry *e)
{
	struct ipcount_entry **pp;

	if (!e || --e->count)
		return;
	pp = &t->bucket[e->hash % IPCOUNT_BUCKETS];
	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	free(e);
}
