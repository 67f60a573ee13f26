/*
 * rooms.c: room table and membership index (see rooms.h).
 */
#include "rooms.h"
#include "rm_fail.h"

#include <stdlib.h>
#include <string.h>

struct rooms {
	struct htable table;	/* room id -> room, keyed: ids are clients' */
	uint64_t generation;	/* rooms ever created */
	void (*free_hook)(struct room *room);
};

#define ROOMS_FIRST_BUCKETS 64

struct id_key {
	const char *id;
	size_t len;
};

static int
id_eq(const struct htable_node *n, const void *key)
{
	const struct room *r = htable_entry(n, struct room, hnode);
	const struct id_key *k = key;

	return r->id_len == k->len && !memcmp(r->id, k->id, k->len);
}

struct rooms *
rooms_create(void)
{
	struct rooms *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	if (htable_init(&t->table, ROOMS_FIRST_BUCKETS)) {
		free(t);
		return NULL;
	}
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

static void
drain_room(struct htable_node *n, void *t)
{
	free_room(t, htable_entry(n, struct room, hnode));
}

void
rooms_destroy(struct rooms *t)
{
	if (!t)
		return;
	htable_drain(&t->table, drain_room, t);
	htable_fini(&t->table);
	free(t);
}

struct room *
rooms_find(struct rooms *t, const char *id, size_t len)
{
	struct id_key k = { id, len };
	struct htable_node *n = htable_find(&t->table,
					    htable_hash(&t->table, id, len),
					    id_eq, &k);

	return n ? htable_entry(n, struct room, hnode) : NULL;
}

struct room *
rooms_get_or_create(struct rooms *t, const char *id, size_t len)
{
	struct room *r = rooms_find(t, id, len);

	if (r)
		return r;
	r = rm_fail(RM_FAIL_ROOM) ? NULL : calloc(1, sizeof(*r) + len + 1);
	if (!r)
		return NULL;
	memcpy(r->id, id, len);
	r->id_len = len;
	r->generation = ++t->generation;
	htable_insert(&t->table, &r->hnode, htable_hash(&t->table, id, len));
	return r;
}

size_t
rooms_count(const struct rooms *t)
{
	return htable_count(&t->table);
}

size_t
rooms_longest_chain(const struct rooms *t)
{
	return htable_longest_chain(&t->table);
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
	struct member *m = rm_fail(RM_FAIL_ROOM) ? NULL
						 : calloc(1, sizeof(*m));

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
	if (r->n_members)
		return 0;
	htable_remove(&t->table, &r->hnode);
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
