/*
 * rooms.c: room table and membership index (see rooms.h).
 */
#include "rooms.h"

#include <stdlib.h>
#include <string.h>

struct rooms {
	struct room **bucket;
	size_t n_buckets;	/* a power of two */
	size_t count;
	uint64_t generation;	/* rooms ever created */
	void (*free_hook)(struct room *room);
};

#define ROOMS_FIRST_BUCKETS 64

/* FNV-1a: short ids, no adversarial structure worth a keyed hash here. */
static uint32_t
hash_id(const char *id, size_t len)
{
	uint32_t h = 2166136261u;

	while (len--)
		h = (h ^ (unsigned char)*id++) * 16777619u;
	return h;
}

struct rooms *
rooms_create(void)
{
	struct rooms *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->bucket = calloc(ROOMS_FIRST_BUCKETS, sizeof(*t->bucket));
	if (!t->bucket) {
		free(t);
		return NULL;
	}
	t->n_buckets = ROOMS_FIRST_BUCKETS;
	return t;
}

void
rooms_set_free_hook(struct rooms *t, void (*fn)(struct room *room))
{
	t->free_hook = fn;
}

static void
free_room(struct rooms *t, struct room *r)
{
	struct member *m, *next;

	if (t->free_hook)
		t->free_hook(r);
	for (m = r->members; m; m = next) {
		next = m->rnext;
		free(m);
	}
	free(r);
}

void
rooms_destroy(struct rooms *t)
{
	struct room *r, *next;
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->n_buckets; i++)
		for (r = t->bucket[i]; r; r = next) {
			next = r->hnext;
			free_room(t, r);
		}
	free(t->bucket);
	free(t);
}

struct room *
rooms_find(struct rooms *t, const char *id, size_t len)
{
	uint32_t h = hash_id(id, len);
	struct room *r;

	for (r = t->bucket[h & (t->n_buckets - 1)]; r; r = r->hnext)
		if (r->hash == h && r->id_len == len && !memcmp(r->id, id, len))
			return r;
	return NULL;
}

/* Doubles the bucket array once rooms outnumber buckets; OOM is harmless. */
static void
grow(struct rooms *t)
{
	size_t n = t->n_buckets * 2, i;
	struct room **b = calloc(n, sizeof(*b)), *r, *next;

	if (!b)
		return;
	for (i = 0; i < t->n_buckets; i++)
		for (r = t->bucket[i]; r; r = next) {
			next = r->hnext;
			r->hnext = b[r->hash & (n - 1)];
			b[r->hash & (n - 1)] = r;
		}
	free(t->bucket);
	t->bucket = b;
	t->n_buckets = n;
}

struct room *
rooms_get_or_create(struct rooms *t, const char *id, size_t len)
{
	struct room *r = rooms_find(t, id, len);
	size_t slot;

	if (r)
		return r;
	r = calloc(1, sizeof(*r) + len + 1);
	if (!r)
		return NULL;
	memcpy(r->id, id, len);
	r->id_len = len;
	r->hash = hash_id(id, len);
	r->generation = ++t->generation;
	if (t->count >= t->n_buckets)
		grow(t);
	slot = r->hash & (t->n_buckets - 1);
	r->hnext = t->bucket[slot];
	t->bucket[slot] = r;
	t->count++;
	return r;
}

size_t
rooms_count(const struct rooms *t)
{
	return t->count;
}

struct member *
rooms_member_of(struct member *client_list, const struct room *room)
{
	struct member *m;

	for (m = client_list; m; m = m->cnext)
		if (m->room == room)
			return m;
	return NULL;
}

struct member *
rooms_add_member(struct room *room, void *client, struct member **client_list)
{
	struct member *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->room = room;
	m->client = client;
	m->rnext = room->members;
	if (room->members)
		room->members->rprev = m;
	room->members = m;
	room->n_members++;
	m->cnext = *client_list;
	*client_list = m;
	return m;
}

int
rooms_free_if_empty(struct rooms *t, struct room *r)
{
	struct room **pp = &t->bucket[r->hash & (t->n_buckets - 1)];

	if (r->n_members)
		return 0;
	while (*pp != r)
		pp = &(*pp)->hnext;
	*pp = r->hnext;
	t->count--;
	free_room(t, r);
	return 1;
}

int
rooms_remove_member(struct rooms *t, struct member *m,
		    struct member **client_list)
{
	struct room *r = m->room;
	struct member **pp = client_list;

	while (*pp != m)
		pp = &(*pp)->cnext;
	*pp = m->cnext;
	if (m->rprev)
		m->rprev->rnext = m->rnext;
	else
		r->members = m->rnext;
	if (m->rnext)
		m->rnext->rprev = m->rprev;
	r->n_members--;
	free(m);
	return rooms_free_if_empty(t, r);
}
