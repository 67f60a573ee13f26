/*
 * test_htable.c: the keyed intrusive hash table (htable.h), and that
 * ids chosen to collide under the old unkeyed hash do not collide in it.
 */
#include "unit.h"

#include "htable.h"
#include "rooms.h"

#include <stdio.h>
#include <stdlib.h>

struct rec {
	struct htable_node node;
	unsigned int k;
	int drained;
};

static int
rec_eq(const struct htable_node *n, const void *key)
{
	return htable_entry(n, struct rec, node)->k == *(const unsigned int *)key;
}

static struct rec *
find(struct htable *t, unsigned int k)
{
	struct htable_node *n = htable_find(t, htable_hash(t, &k, sizeof(k)),
					    rec_eq, &k);

	return n ? htable_entry(n, struct rec, node) : NULL;
}

static void
insert(struct htable *t, struct rec *r)
{
	htable_insert(t, &r->node, htable_hash(t, &r->k, sizeof(r->k)));
}

static void
insert_find_remove(void)
{
	struct htable t;
	struct rec a = { .k = 1 }, b = { .k = 2 };

	CU_ASSERT_EQUAL_FATAL(htable_init(&t, 5), 0);
	CU_ASSERT_EQUAL(t.n_buckets, 8);	/* rounded up to a power of 2 */
	CU_ASSERT_PTR_NULL(find(&t, 1));
	insert(&t, &a);
	insert(&t, &b);
	CU_ASSERT_EQUAL(htable_count(&t), 2);
	CU_ASSERT_PTR_EQUAL(find(&t, 1), &a);
	CU_ASSERT_PTR_EQUAL(find(&t, 2), &b);
	CU_ASSERT_PTR_NULL(find(&t, 3));
	htable_remove(&t, &a.node);
	CU_ASSERT_PTR_NULL(find(&t, 1));
	CU_ASSERT_PTR_EQUAL(find(&t, 2), &b);
	CU_ASSERT_EQUAL(htable_count(&t), 1);
	htable_remove(&t, &b.node);
	CU_ASSERT_EQUAL(htable_count(&t), 0);
	htable_fini(&t);
}

#define N_RECS 20000

static void
grows_and_shrinks_with_a_bounded_load(void)
{
	struct rec *r = calloc(N_RECS, sizeof(*r));
	struct htable t;
	unsigned int i;
	int ok = 1;

	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL_FATAL(htable_init(&t, 16), 0);
	for (i = 0; i < N_RECS; i++) {
		r[i].k = i;
		insert(&t, &r[i]);
		ok &= htable_count(&t) <= t.n_buckets;	/* load <= 1 */
	}
	CU_ASSERT_TRUE(ok);
	CU_ASSERT_TRUE(htable_longest_chain(&t) <= 16);
	for (ok = 1, i = 0; i < N_RECS; i++)
		ok &= find(&t, i) == &r[i];
	CU_ASSERT_TRUE(ok);
	/* the array follows the records back down, never below the first */
	for (i = 0; i < N_RECS - 10; i++)
		htable_remove(&t, &r[i].node);
	CU_ASSERT_TRUE(t.n_buckets <= 128);
	CU_ASSERT_TRUE(t.n_buckets >= 16);
	for (ok = 1, i = N_RECS - 10; i < N_RECS; i++)
		ok &= find(&t, i) == &r[i];
	CU_ASSERT_TRUE(ok);
	CU_ASSERT_PTR_NULL(find(&t, 0));
	for (i = N_RECS - 10; i < N_RECS; i++)
		htable_remove(&t, &r[i].node);
	CU_ASSERT_EQUAL(t.n_buckets, 16);
	htable_fini(&t);
	free(r);
}

static void
mark_drained(struct htable_node *n, void *ctx)
{
	htable_entry(n, struct rec, node)->drained++;
	(*(int *)ctx)++;
}

static void
drain_visits_each_record_once(void)
{
	struct rec r[100];
	struct htable t;
	int i, calls = 0, ok = 1;

	memset(r, 0, sizeof(r));
	CU_ASSERT_EQUAL_FATAL(htable_init(&t, 4), 0);
	for (i = 0; i < 100; i++) {
		r[i].k = (unsigned int)i;
		insert(&t, &r[i]);
	}
	htable_drain(&t, mark_drained, &calls);
	CU_ASSERT_EQUAL(calls, 100);
	for (i = 0; i < 100; i++)
		ok &= r[i].drained == 1;
	CU_ASSERT_TRUE(ok);
	CU_ASSERT_EQUAL(htable_count(&t), 0);
	CU_ASSERT_PTR_NULL(find(&t, 5));
	htable_fini(&t);
}

static const uint8_t key_a[SIPHASH_KEY_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8,
						9, 10, 11, 12, 13, 14, 15, 16 };
static const uint8_t key_b[SIPHASH_KEY_LEN] = { 16, 15, 14, 13, 12, 11, 10,
						9, 8, 7, 6, 5, 4, 3, 2, 1 };

static void
each_table_keeps_the_seed_it_was_made_with(void)
{
	struct htable a, a2, b;
	uint64_t ha;

	htable_seed_set(key_a);
	CU_ASSERT_EQUAL_FATAL(htable_init(&a, 8), 0);
	CU_ASSERT_EQUAL_FATAL(htable_init(&a2, 8), 0);
	ha = htable_hash(&a, "room", 4);
	htable_seed_set(key_b);
	CU_ASSERT_EQUAL_FATAL(htable_init(&b, 8), 0);
	/* same seed, same hash: a fixed seed makes tests repeatable */
	CU_ASSERT_EQUAL(htable_hash(&a2, "room", 4), ha);
	/* another seed, another hash; the old table is not disturbed */
	CU_ASSERT_NOT_EQUAL(htable_hash(&b, "room", 4), ha);
	CU_ASSERT_EQUAL(htable_hash(&a, "room", 4), ha);
	CU_ASSERT_EQUAL(ha, siphash24("room", 4, key_a));
	htable_fini(&a);
	htable_fini(&a2);
	htable_fini(&b);
}

/*
 * 4096 ids with one FNV-1a-32 hash (0xb58a01a5), the old hash of rooms
 * and users: each is one of two 5-byte blocks, 12 times over. Each pair
 * was found by a birthday search (~2^16 tries) from the state the
 * previous pair leaves; since both halves leave the same state, every
 * one of the 2^12 concatenations ends in the same hash (Joux's
 * multicollision). It took 3 s in Python, which is the attack.
 */
static const char *const pairs[12][2] = {
	{ "42U1h", "t0aH1" }, { "g6mS9", "nD48J" }, { "cY71z", "YIvvl" },
	{ "OK1nQ", "naWqq" }, { "ik1Ws", "lJvTS" }, { "Q6jxb", "f9CZ3" },
	{ "qMLmZ", "QgH6m" }, { "09BMD", "bFiqD" }, { "8sU0R", "A3B9C" },
	{ "gc1YI", "FEOzi" }, { "jCshu", "KyQKU" }, { "XBDE2", "8dHDC" },
};

#define N_COLLIDING 4096
#define ID_LEN 60

static void
colliding_id(unsigned int i, char id[ID_LEN + 1])
{
	int b;

	for (b = 0; b < 12; b++)
		memcpy(id + 5 * b, pairs[b][(i >> b) & 1], 5);
	id[ID_LEN] = '\0';
}

static uint32_t
fnv1a32(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	while (len--)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static void
fnv_colliding_ids_spread_out(void)
{
	struct rooms *t;
	char id[ID_LEN + 1];
	unsigned int i;
	int all_collide = 1, ok = 1;

	/* the ids are what they claim: one FNV-1a hash for all 4096 */
	for (i = 0; i < N_COLLIDING; i++) {
		colliding_id(i, id);
		all_collide &= fnv1a32(id, ID_LEN) == 0xb58a01a5u;
	}
	CU_ASSERT_TRUE_FATAL(all_collide);
	htable_seed_set(key_a);
	t = rooms_create();
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	for (i = 0; i < N_COLLIDING; i++) {
		colliding_id(i, id);
		ok &= rooms_get_or_create(t, id, ID_LEN) != NULL;
	}
	CU_ASSERT_TRUE(ok);
	CU_ASSERT_EQUAL(rooms_count(t), N_COLLIDING);
	/*
	 * Under FNV-1a all 4096 would be one chain, each lookup a walk of
	 * 4096 60-byte compares; keyed, 4096 ids in >= 4096 buckets leave
	 * chains of a handful (the expected longest is about 6).
	 */
	CU_ASSERT_TRUE(rooms_longest_chain(t) <= 12);
	for (ok = 1, i = 0; i < N_COLLIDING; i++) {
		colliding_id(i, id);
		ok &= rooms_find(t, id, ID_LEN) != NULL;
	}
	CU_ASSERT_TRUE(ok);
	rooms_destroy(t);
}

static void
another_seed_puts_ids_in_other_buckets(void)
{
	struct htable a, b;
	char id[ID_LEN + 1];
	unsigned int i, same = 0;
	const uint64_t mask = N_COLLIDING - 1;

	htable_seed_set(key_a);
	CU_ASSERT_EQUAL_FATAL(htable_init(&a, 8), 0);
	htable_seed_set(key_b);
	CU_ASSERT_EQUAL_FATAL(htable_init(&b, 8), 0);
	/*
	 * An attacker who learned which ids share a bucket on one server
	 * learns nothing for another: about 1 in 4096 stays put.
	 */
	for (i = 0; i < N_COLLIDING; i++) {
		colliding_id(i, id);
		same += (htable_hash(&a, id, ID_LEN) & mask) ==
			(htable_hash(&b, id, ID_LEN) & mask);
	}
	CU_ASSERT_TRUE(same < 20);
	htable_fini(&a);
	htable_fini(&b);
}

/*---- the id map ----*/

struct idrec {
	int pad;		/* the id need not come first */
	uint64_t id;
	int live;
};

static uint32_t lcg_state;

/* A fixed pseudo-random sequence: the same run every time. */
static uint32_t
lcg(void)
{
	lcg_state = lcg_state * 1103515245u + 12345u;
	return lcg_state >> 8;
}

/* Every live record is found as itself, every dead id is not. */
static int
idmap_agrees(const struct htable_idmap *m, struct idrec *r, size_t n)
{
	size_t i, live = 0;
	int ok = 1;

	for (i = 0; i < n; i++) {
		ok &= htable_idmap_get(m, r[i].id) == (r[i].live ? &r[i] : NULL);
		live += r[i].live;
	}
	return ok && live == m->count && m->count * 4 <= m->cap * 3;
}

static void
idmap_put_get_del(void)
{
	struct htable_idmap m;
	struct idrec a = { 0, 7, 1 }, b = { 0, 1ull << 63, 1 };

	CU_ASSERT_EQUAL_FATAL(htable_idmap_init(&m,
				offsetof(struct idrec, id)), 0);
	CU_ASSERT_PTR_NULL(htable_idmap_get(&m, 7));
	CU_ASSERT_EQUAL(htable_idmap_put(&m, &a), 0);
	CU_ASSERT_EQUAL(htable_idmap_put(&m, &b), 0);
	CU_ASSERT_PTR_EQUAL(htable_idmap_get(&m, 7), &a);
	CU_ASSERT_PTR_EQUAL(htable_idmap_get(&m, 1ull << 63), &b);
	CU_ASSERT_PTR_NULL(htable_idmap_get(&m, 8));
	CU_ASSERT_PTR_NULL(htable_idmap_get(&m, UINT64_MAX));
	htable_idmap_del(&m, &a);
	CU_ASSERT_PTR_NULL(htable_idmap_get(&m, 7));
	CU_ASSERT_PTR_EQUAL(htable_idmap_get(&m, 1ull << 63), &b);
	CU_ASSERT_EQUAL(m.count, 1);
	htable_idmap_fini(&m);
}

#define SMALL_SET 40

/*
 * Deleting from open addressing must close each gap without cutting a
 * record off from its home: thousands of random puts and deletes in a
 * table that never grows (at most 40 in 64 slots), so that runs wrap
 * round the end, checked against the truth after every step.
 */
static void
idmap_delete_keeps_every_record_reachable(void)
{
	struct idrec r[SMALL_SET];
	struct htable_idmap m;
	int step, ok = 1;
	size_t i;

	memset(r, 0, sizeof(r));
	lcg_state = 11;
	CU_ASSERT_EQUAL_FATAL(htable_idmap_init(&m,
				offsetof(struct idrec, id)), 0);
	for (i = 0; i < SMALL_SET; i++)
		r[i].id = i + 1;
	for (step = 0; step < 20000 && ok; step++) {
		i = lcg() % SMALL_SET;
		if (r[i].live) {
			htable_idmap_del(&m, &r[i]);
			r[i].live = 0;
			r[i].id += SMALL_SET;	/* a new conn_id next time */
		} else {
			ok &= htable_idmap_put(&m, &r[i]) == 0;
			r[i].live = 1;
		}
		ok &= m.cap == 64 && idmap_agrees(&m, r, SMALL_SET);
	}
	CU_ASSERT_TRUE(ok);
	CU_ASSERT_EQUAL(step, 20000);
	htable_idmap_fini(&m);
}

#define BIG_SET 20000

static void
idmap_grows_and_shrinks(void)
{
	struct idrec *r = calloc(BIG_SET, sizeof(*r));
	struct htable_idmap m;
	size_t i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL_FATAL(htable_idmap_init(&m,
				offsetof(struct idrec, id)), 0);
	for (i = 0; i < BIG_SET; i++) {
		r[i].id = i + 1;	/* conn_ids: consecutive */
		r[i].live = 1;
		CU_ASSERT_EQUAL_FATAL(htable_idmap_put(&m, &r[i]), 0);
	}
	CU_ASSERT_TRUE(idmap_agrees(&m, r, BIG_SET));
	CU_ASSERT_EQUAL(m.cap, 32768);		/* 20000 <= 3/4 of it */
	/* most go, in an order unlike the ids' */
	lcg_state = 5;
	for (i = 0; i < BIG_SET * 2; i++) {
		struct idrec *x = &r[lcg() % BIG_SET];

		if (x->live && x->id > 100) {
			htable_idmap_del(&m, x);
			x->live = 0;
		}
	}
	for (i = 100; i < BIG_SET; i++)
		if (r[i].live) {
			htable_idmap_del(&m, &r[i]);
			r[i].live = 0;
		}
	CU_ASSERT_TRUE(idmap_agrees(&m, r, BIG_SET));
	CU_ASSERT_EQUAL(m.count, 100);
	CU_ASSERT_TRUE(m.cap <= 1024);		/* followed the records down */
	htable_idmap_fini(&m);
	free(r);
}

CU_TestInfo htable_tests[] = {
	{ "insert, find and remove records", insert_find_remove },
	{ "the bucket array doubles at load 1 and halves back",
	  grows_and_shrinks_with_a_bounded_load },
	{ "drain hands every record to the callback once",
	  drain_visits_each_record_once },
	{ "a table hashes with the seed it was made with",
	  each_table_keeps_the_seed_it_was_made_with },
	{ "4096 ids colliding under FNV-1a spread over the buckets",
	  fnv_colliding_ids_spread_out },
	{ "another seed puts the same ids in other buckets",
	  another_seed_puts_ids_in_other_buckets },
	{ "id map: put, get and delete records by id", idmap_put_get_del },
	{ "id map: deletes keep every record reachable (20000 random steps)",
	  idmap_delete_keeps_every_record_reachable },
	{ "id map: grows at 3/4 full and shrinks back",
	  idmap_grows_and_shrinks },
	CU_TEST_INFO_NULL,
};
