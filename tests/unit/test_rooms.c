/*
 * test_rooms.c: the room table and its two-way membership index (rooms.h).
 */
#include "unit.h"

#include "rooms.h"

#include <stdio.h>

/* A client as the tests see one: just its membership list. */
struct fake_client {
	struct member *rooms;
};

static struct room *
get(struct rooms *t, const char *id)
{
	return rooms_get_or_create(t, id, strlen(id));
}

static struct room *
find(struct rooms *t, const char *id)
{
	return rooms_find(t, id, strlen(id));
}

static unsigned int
list_len(const struct member *m)
{
	unsigned int n = 0;

	for (; m; m = m->cnext)
		n++;
	return n;
}

static int
room_has(const struct room *r, const void *client)
{
	const struct member *m;

	for (m = r->members; m; m = m->rnext)
		if (m->client == client)
			return 1;
	return 0;
}

static void
create_then_find(void)
{
	struct rooms *t = rooms_create();
	struct room *a, *b;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(rooms_count(t), 0);
	CU_ASSERT_PTR_NULL(find(t, "lobby"));
	a = get(t, "lobby");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_STRING_EQUAL(a->id, "lobby");
	CU_ASSERT_EQUAL(a->id_len, 5);
	CU_ASSERT_EQUAL(a->seq, 0);
	CU_ASSERT_EQUAL(a->n_members, 0);
	CU_ASSERT_PTR_NULL(a->members);
	CU_ASSERT_EQUAL(rooms_count(t), 1);
	CU_ASSERT_PTR_EQUAL(find(t, "lobby"), a);
	CU_ASSERT_PTR_EQUAL(get(t, "lobby"), a);	/* no second room */
	CU_ASSERT_EQUAL(rooms_count(t), 1);
	/* ids are compared by length and bytes */
	CU_ASSERT_PTR_NULL(find(t, "lobb"));
	CU_ASSERT_PTR_NULL(find(t, "lobby2"));
	CU_ASSERT_PTR_NULL(find(t, "Lobby"));
	CU_ASSERT_PTR_EQUAL(rooms_find(t, "lobby-x", 5), a);
	b = rooms_get_or_create(t, "lobby-x", 7);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_PTR_NOT_EQUAL(a, b);
	CU_ASSERT_STRING_EQUAL(b->id, "lobby-x");
	CU_ASSERT_EQUAL(rooms_count(t), 2);
	CU_ASSERT_NOT_EQUAL(a->generation, b->generation);
	rooms_destroy(t);
}

static void
generation_grows_on_recreate(void)
{
	struct rooms *t = rooms_create();
	struct room *r;
	uint64_t g1, g2;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	r = get(t, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	g1 = r->generation;
	r->seq = 41;
	CU_ASSERT_EQUAL(rooms_free_if_empty(t, r), 1);
	CU_ASSERT_EQUAL(rooms_count(t), 0);
	CU_ASSERT_PTR_NULL(find(t, "r"));
	r = get(t, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	g2 = r->generation;
	CU_ASSERT_TRUE(g2 > g1);
	CU_ASSERT_EQUAL(r->seq, 0);	/* numbering starts over */
	rooms_destroy(t);
}

static void
membership_is_indexed_both_ways(void)
{
	struct rooms *t = rooms_create();
	struct fake_client c1 = { NULL }, c2 = { NULL };
	struct room *a, *b;
	struct member *m1a, *m1b, *m2a;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	a = get(t, "a");
	b = get(t, "b");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	m1a = rooms_add_member(a, &c1, &c1.rooms);
	m1b = rooms_add_member(b, &c1, &c1.rooms);
	m2a = rooms_add_member(a, &c2, &c2.rooms);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m1a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m1b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m2a);
	CU_ASSERT_PTR_EQUAL(m1a->room, a);
	CU_ASSERT_PTR_EQUAL(m1a->client, &c1);
	/* room -> clients */
	CU_ASSERT_EQUAL(a->n_members, 2);
	CU_ASSERT_EQUAL(b->n_members, 1);
	CU_ASSERT_TRUE(room_has(a, &c1));
	CU_ASSERT_TRUE(room_has(a, &c2));
	CU_ASSERT_TRUE(room_has(b, &c1));
	CU_ASSERT_FALSE(room_has(b, &c2));
	/* client -> rooms */
	CU_ASSERT_EQUAL(list_len(c1.rooms), 2);
	CU_ASSERT_EQUAL(list_len(c2.rooms), 1);
	CU_ASSERT_PTR_EQUAL(rooms_member_of(c1.rooms, a), m1a);
	CU_ASSERT_PTR_EQUAL(rooms_member_of(c1.rooms, b), m1b);
	CU_ASSERT_PTR_EQUAL(rooms_member_of(c2.rooms, a), m2a);
	CU_ASSERT_PTR_NULL(rooms_member_of(c2.rooms, b));
	CU_ASSERT_PTR_NULL(rooms_member_of(NULL, a));
	/* removing one membership leaves the others alone */
	CU_ASSERT_EQUAL(rooms_remove_member(t, m1a, &c1.rooms), 0);
	CU_ASSERT_EQUAL(a->n_members, 1);
	CU_ASSERT_FALSE(room_has(a, &c1));
	CU_ASSERT_TRUE(room_has(a, &c2));
	CU_ASSERT_EQUAL(list_len(c1.rooms), 1);
	CU_ASSERT_PTR_NULL(rooms_member_of(c1.rooms, a));
	CU_ASSERT_PTR_EQUAL(rooms_member_of(c1.rooms, b), m1b);
	CU_ASSERT_EQUAL(rooms_count(t), 2);
	rooms_destroy(t);	/* frees the memberships still held */
}

static void
remove_frees_the_emptied_room(void)
{
	struct rooms *t = rooms_create();
	struct fake_client c[3] = { { NULL }, { NULL }, { NULL } };
	struct member *m[3];
	struct room *r;
	int i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	r = get(t, "room");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	for (i = 0; i < 3; i++) {
		m[i] = rooms_add_member(r, &c[i], &c[i].rooms);
		CU_ASSERT_PTR_NOT_NULL_FATAL(m[i]);
	}
	/* middle, head and last of the room's list */
	CU_ASSERT_EQUAL(rooms_remove_member(t, m[1], &c[1].rooms), 0);
	CU_ASSERT_PTR_NULL(c[1].rooms);
	CU_ASSERT_EQUAL(r->n_members, 2);
	CU_ASSERT_EQUAL(rooms_remove_member(t, m[2], &c[2].rooms), 0);
	CU_ASSERT_EQUAL(r->n_members, 1);
	CU_ASSERT_PTR_EQUAL(r->members, m[0]);
	CU_ASSERT_PTR_NULL(m[0]->rprev);
	CU_ASSERT_PTR_NULL(m[0]->rnext);
	CU_ASSERT_EQUAL(rooms_count(t), 1);
	CU_ASSERT_EQUAL(rooms_remove_member(t, m[0], &c[0].rooms), 1);
	CU_ASSERT_EQUAL(rooms_count(t), 0);
	CU_ASSERT_PTR_NULL(find(t, "room"));
	CU_ASSERT_PTR_NULL(c[0].rooms);
	rooms_destroy(t);
}

static void
free_if_empty_keeps_occupied_rooms(void)
{
	struct rooms *t = rooms_create();
	struct fake_client c = { NULL };
	struct room *r, *e;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	r = get(t, "busy");
	e = get(t, "empty");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_PTR_NOT_NULL(rooms_add_member(r, &c, &c.rooms));
	CU_ASSERT_EQUAL(rooms_free_if_empty(t, r), 0);
	CU_ASSERT_PTR_EQUAL(find(t, "busy"), r);
	CU_ASSERT_EQUAL(rooms_free_if_empty(t, e), 1);
	CU_ASSERT_PTR_NULL(find(t, "empty"));
	CU_ASSERT_EQUAL(rooms_count(t), 1);
	CU_ASSERT_EQUAL(rooms_remove_member(t, c.rooms, &c.rooms), 1);
	CU_ASSERT_EQUAL(rooms_count(t), 0);
	rooms_destroy(t);
}

#define MANY 5000

static void
many_rooms_survive_table_growth(void)
{
	struct rooms *t = rooms_create();
	static struct room *r[MANY];
	struct fake_client c = { NULL };
	char id[32];
	int i, ok;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	for (i = 0; i < MANY; i++) {
		snprintf(id, sizeof(id), "room-%d", i);
		r[i] = get(t, id);
		CU_ASSERT_PTR_NOT_NULL_FATAL(r[i]);
		if (i % 3 == 0)
			CU_ASSERT_PTR_NOT_NULL(rooms_add_member(r[i], &c,
								&c.rooms));
	}
	CU_ASSERT_EQUAL(rooms_count(t), MANY);
	for (ok = 1, i = 0; i < MANY; i++) {
		snprintf(id, sizeof(id), "room-%d", i);
		if (find(t, id) != r[i] || strcmp(r[i]->id, id))
			ok = 0;
	}
	CU_ASSERT_TRUE(ok);
	CU_ASSERT_PTR_NULL(find(t, "room-5000"));
	/* free every other one, then look the rest up again */
	for (i = 1; i < MANY; i += 2)
		if (!r[i]->n_members)
			CU_ASSERT_EQUAL(rooms_free_if_empty(t, r[i]), 1);
	for (ok = 1, i = 0; i < MANY; i++) {
		struct room *f;

		snprintf(id, sizeof(id), "room-%d", i);
		f = find(t, id);
		if (i % 2 && i % 3)
			ok &= f == NULL;
		else
			ok &= f == r[i];
	}
	CU_ASSERT_TRUE(ok);
	CU_ASSERT_EQUAL(list_len(c.rooms), (MANY + 2) / 3);
	/* leaving every room frees the occupied ones too */
	while (c.rooms)
		rooms_remove_member(t, c.rooms, &c.rooms);
	for (i = 0; i < MANY; i += 2)
		if (i % 3)
			rooms_free_if_empty(t, r[i]);
	CU_ASSERT_EQUAL(rooms_count(t), 0);
	rooms_destroy(t);
}

static void
destroy_null_is_a_noop(void)
{
	rooms_destroy(NULL);
	CU_PASS("rooms_destroy(NULL) returned");
}

CU_TestInfo rooms_tests[] = {
	{ "get_or_create makes one room per id; find finds it",
	  create_then_find },
	{ "a re-created room has a new generation and seq 0",
	  generation_grows_on_recreate },
	{ "membership is indexed room->clients and client->rooms",
	  membership_is_indexed_both_ways },
	{ "removing the last member frees the room",
	  remove_frees_the_emptied_room },
	{ "rooms_free_if_empty frees only empty rooms",
	  free_if_empty_keeps_occupied_rooms },
	{ "5000 rooms survive table growth and partial frees",
	  many_rooms_survive_table_growth },
	{ "rooms_destroy(NULL) is a no-op", destroy_null_is_a_noop },
	CU_TEST_INFO_NULL,
};
