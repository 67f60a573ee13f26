/*
 * idem.c: a chained hash table of (room, key) -> result, its entries also
 * on one list in insertion order, which is expiry order (see idem.h).
 */
#include "idem.h"

#include <stdlib.h>
#include <string.h>

#define IDEM_BUCKETS (1u << 16)

struct idem_entry {
	struct idem_entry *hnext;		/* hash chain */
	struct idem_entry *older, *newer;	/* insertion order */
	int64_t at_ms;
	uint32_t hash;
	struct idem_result res;
	size_t room_len, key_len;
	char text[];				/* room then key */
};

struct idem {
	struct idem_entry *buckets[IDEM_BUCKETS];
	struct idem_entry *oldest, *newest;
	unsigned int count, max;
};

struct idem *
idem_create(unsigned int max_keys)
{
	struct idem *t = calloc(1, sizeof(*t));

	if (t)
		t->max = max_keys ? max_keys : 1;
	return t;
}

/* FNV-1a over the room, a separator no room id holds, and the key. */
static uint32_t
hash_of(const char *room, size_t room_len, const char *key, size_t key_len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < room_len; i++)
		h = (h ^ (unsigned char)room[i]) * 16777619u;
	h = (h ^ 0xffu) * 16777619u;
	for (i = 0; i < key_len; i++)
		h = (h ^ (unsigned char)key[i]) * 16777619u;
	return h;
}

/* Unlinks @e from its chain and the age list and frees it. */
static void
remove_entry(struct idem *t, struct idem_entry *e)
{
	struct idem_entry **pp = &t->buckets[e->hash & (IDEM_BUCKETS - 1)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	if (e->older)
		e->older->newer = e->newer;
	else
		t->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		t->newest = e->older;
	t->count--;
	free(e);
}

void
idem_destroy(struct idem *t)
{
	if (!t)
		return;
	while (t->oldest)
		remove_entry(t, t->oldest);
	free(t);
}

void
idem_sweep(struct idem *t, int64_t now_ms)
{
	while (t->oldest && now_ms - t->oldest->at_ms >= IDEM_TTL_MS)
		remove_entry(t, t->oldest);
}

static struct idem_entry *
lookup(struct idem *t, const char *room, size_t room_len, const char *key,
       size_t key_len, uint32_t hash)
{
	struct idem_entry *e;

	for (e = t->buckets[hash & (IDEM_BUCKETS - 1)]; e; e = e->hnext)
		if (e->hash == hash && e->room_len == room_len &&
		    e->key_len == key_len &&
		    !memcmp(e->text, room, room_len) &&
		    !memcmp(e->text + room_len, key, key_len))
			return e;
	return NULL;
}

int
idem_find(struct idem *t, const char *room, const char *key, size_t key_len,
	  int64_t now_ms, struct idem_result *out)
{
	size_t room_len = strlen(room);
	struct idem_entry *e;

	idem_sweep(t, now_ms);
	e = lookup(t, room, room_len, key, key_len,
		   hash_of(room, room_len, key, key_len));
	if (!e)
		return 0;
	*out = e->res;
	return 1;
}

int
idem_put(struct idem *t, const char *room, const char *key, size_t key_len,
	 const struct idem_result *res, int64_t now_ms)
{
	size_t room_len = strlen(room);
	uint32_t hash = hash_of(room, room_len, key, key_len);
	struct idem_entry *e;

	idem_sweep(t, now_ms);
	e = lookup(t, room, room_len, key, key_len, hash);
	if (e)	/* a live one is replaced (callers look up first) */
		remove_entry(t, e);
	while (t->count >= t->max)
		remove_entry(t, t->oldest);
	e = malloc(sizeof(*e) + room_len + key_len);
	if (!e)
		return -1;
	e->at_ms = now_ms;
	e->hash = hash;
	e->res = *res;
	e->room_len = room_len;
	e->key_len = key_len;
	memcpy(e->text, room, room_len);
	memcpy(e->text + room_len, key, key_len);
	e->hnext = t->buckets[hash & (IDEM_BUCKETS - 1)];
	t->buckets[hash & (IDEM_BUCKETS - 1)] = e;
	e->older = t->newest;
	e->newer = NULL;
	if (t->newest)
		t->newest->newer = e;
	else
		t->oldest = e;
	t->newest = e;
	t->count++;
	return 0;
}

unsigned int
idem_count(const struct idem *t)
{
	return t->count;
}
