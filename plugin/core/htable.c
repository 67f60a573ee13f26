/*
 * htable.c: the keyed, intrusive hash table (see htable.h).
 */
#include "htable.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static uint8_t seed[SIPHASH_KEY_LEN];
static int seeded;

/* Fills @buf from getrandom(2), else /dev/urandom. Returns 0 on success. */
static int
read_random(uint8_t *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;
	FILE *f;

	while (got < len) {
		n = getrandom(buf + got, len - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got == len)
		return 0;
	f = fopen("/dev/urandom", "rb");
	if (!f)
		return -1;
	got = fread(buf, 1, len, f);
	fclose(f);
	return got == len ? 0 : -1;
}

void
htable_seed_init(void)
{
	struct timespec ts[2];
	uint64_t mix[5];
	static const uint8_t fixed[SIPHASH_KEY_LEN];

	if (seeded)
		return;
	if (read_random(seed, sizeof(seed))) {
		/*
		 * No kernel randomness (a sandbox without getrandom or /dev):
		 * a key guessable only by one who knows the start time to
		 * the nanosecond still beats a public one.
		 */
		clock_gettime(CLOCK_REALTIME, &ts[0]);
		clock_gettime(CLOCK_MONOTONIC, &ts[1]);
		mix[0] = (uint64_t)ts[0].tv_sec ^ (uint64_t)ts[0].tv_nsec << 32;
		mix[1] = (uint64_t)ts[1].tv_sec ^ (uint64_t)ts[1].tv_nsec << 32;
		mix[2] = (uint64_t)getpid();
		mix[3] = (uint64_t)(uintptr_t)&mix;
		mix[4] = siphash24(mix, 4 * sizeof(mix[0]), fixed);
		memcpy(seed, &mix[4], 8);
		mix[4] = siphash24(mix, sizeof(mix), fixed);
		memcpy(seed + 8, &mix[4], 8);
	}
	seeded = 1;
}

void
htable_seed_set(const uint8_t key[SIPHASH_KEY_LEN])
{
	memcpy(seed, key, sizeof(seed));
	seeded = 1;
}

int
htable_init(struct htable *t, size_t min_buckets)
{
	size_t n = 1;

	while (n < min_buckets)
		n *= 2;
	memset(t, 0, sizeof(*t));
	t->bucket = calloc(n, sizeof(*t->bucket));
	if (!t->bucket)
		return -1;
	t->n_buckets = t->min_buckets = n;
	htable_seed_init();
	memcpy(t->key, seed, sizeof(t->key));
	return 0;
}

void
htable_fini(struct htable *t)
{
	free(t->bucket);
	t->bucket = NULL;
	t->n_buckets = t->count = 0;
}

uint64_t
htable_hash(const struct htable *t, const void *key, size_t len)
{
	return siphash24(key, len, t->key);
}

static struct htable_node **
chain(const struct htable *t, uint64_t hash)
{
	return &t->bucket[hash & (t->n_buckets - 1)];
}

struct htable_node *
htable_find(const struct htable *t, uint64_t hash,
	    int (*eq)(const struct htable_node *n, const void *key),
	    const void *key)
{
	struct htable_node *n;

	for (n = *chain(t, hash); n; n = n->next)
		if (n->hash == hash && eq(n, key))
			return n;
	return NULL;
}

/* Moves every record to @n buckets; on OOM keeps the old ones (harmless). */
static void
resize(struct htable *t, size_t n)
{
	struct htable_node **b = calloc(n, sizeof(*b)), *e, *next;
	size_t i;

	if (!b)
		return;
	for (i = 0; i < t->n_buckets; i++)
		for (e = t->bucket[i]; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	free(t->bucket);
	t->bucket = b;
	t->n_buckets = n;
}

void
htable_insert(struct htable *t, struct htable_node *n, uint64_t hash)
{
	struct htable_node **pp;

	if (t->count >= t->n_buckets && t->n_buckets <= SIZE_MAX / 2 /
	    sizeof(*t->bucket))
		resize(t, t->n_buckets * 2);
	n->hash = hash;
	pp = chain(t, hash);
	n->next = *pp;
	*pp = n;
	t->count++;
}

void
htable_remove(struct htable *t, struct htable_node *n)
{
	struct htable_node **pp = chain(t, n->hash);

	while (*pp != n)
		pp = &(*pp)->next;
	*pp = n->next;
	n->next = NULL;
	t->count--;
	if (t->n_buckets > t->min_buckets && t->count < t->n_buckets / 8)
		resize(t, t->n_buckets / 2);
}

void
htable_drain(struct htable *t,
	     void (*fn)(struct htable_node *n, void *ctx), void *ctx)
{
	struct htable_node *n, *next;
	size_t i;

	for (i = 0; i < t->n_buckets; i++) {
		for (n = t->bucket[i]; n; n = next) {
			next = n->next;
			n->next = NULL;
			t->count--;
			fn(n, ctx);
		}
		t->bucket[i] = NULL;
	}
}

size_t
htable_count(const struct htable *t)
{
	return t->count;
}

size_t
htable_longest_chain(const struct htable *t)
{
	const struct htable_node *n;
	size_t i, len, most = 0;

	for (i = 0; i < t->n_buckets; i++) {
		len = 0;
		for (n = t->bucket[i]; n; n = n->next)
			len++;
		if (len > most)
			most = len;
	}
	return most;
}

/*---- the id map ----*/

#define IDMAP_FIRST_CAP 64

static uint64_t
rec_id(const struct htable_idmap *m, const void *rec)
{
	uint64_t id;

	memcpy(&id, (const char *)rec + m->id_offset, sizeof(id));
	return id;
}

static size_t
home(const struct htable_idmap *m, uint64_t id)
{
	return siphash24(&id, sizeof(id), m->key) & (m->cap - 1);
}

int
htable_idmap_init(struct htable_idmap *m, size_t id_offset)
{
	memset(m, 0, sizeof(*m));
	m->slot = calloc(IDMAP_FIRST_CAP, sizeof(*m->slot));
	if (!m->slot)
		return -1;
	m->cap = IDMAP_FIRST_CAP;
	m->id_offset = id_offset;
	htable_seed_init();
	memcpy(m->key, seed, sizeof(m->key));
	return 0;
}

void
htable_idmap_fini(struct htable_idmap *m)
{
	free(m->slot);
	m->slot = NULL;
	m->cap = m->count = 0;
}

/* Puts @rec in the first free slot from its home; there is one. */
static void
place(struct htable_idmap *m, void *rec)
{
	size_t i = home(m, rec_id(m, rec));

	while (m->slot[i])
		i = (i + 1) & (m->cap - 1);
	m->slot[i] = rec;
}

/* Moves every record to @cap slots; on OOM keeps the old ones. */
static int
idmap_resize(struct htable_idmap *m, size_t cap)
{
	void **old = m->slot;
	size_t old_cap = m->cap, i;

	m->slot = calloc(cap, sizeof(*m->slot));
	if (!m->slot) {
		m->slot = old;
		return -1;
	}
	m->cap = cap;
	for (i = 0; i < old_cap; i++)
		if (old[i])
			place(m, old[i]);
	free(old);
	return 0;
}

int
htable_idmap_put(struct htable_idmap *m, void *rec)
{
	/* at most 3/4 full, so that a miss stops at a free slot soon */
	if ((m->count + 1) * 4 > m->cap * 3 &&
	    (m->cap > SIZE_MAX / 2 / sizeof(*m->slot) ||
	     idmap_resize(m, m->cap * 2)) && m->count + 1 >= m->cap)
		return -1;
	place(m, rec);
	m->count++;
	return 0;
}

void *
htable_idmap_get(const struct htable_idmap *m, uint64_t id)
{
	size_t i = home(m, id);

	for (; m->slot[i]; i = (i + 1) & (m->cap - 1))
		if (rec_id(m, m->slot[i]) == id)
			return m->slot[i];
	return NULL;
}

/*
 * Empties slot @i and closes the gap (backward shift: no tombstones), so
 * that every record stays reachable from its home without a free slot
 * between.
 */
static void
idmap_clear_slot(struct htable_idmap *m, size_t i)
{
	size_t mask = m->cap - 1, j = i, k;

	m->slot[i] = NULL;
	for (;;) {
		j = (j + 1) & mask;
		if (!m->slot[j])
			return;
		k = home(m, rec_id(m, m->slot[j]));
		/* the record at j may stay if its home lies in (i, j] */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		m->slot[i] = m->slot[j];
		m->slot[j] = NULL;
		i = j;
	}
}

void
htable_idmap_del(struct htable_idmap *m, void *rec)
{
	size_t i = home(m, rec_id(m, rec));

	while (m->slot[i] != rec)
		i = (i + 1) & (m->cap - 1);
	idmap_clear_slot(m, i);
	m->count--;
	if (m->cap > IDMAP_FIRST_CAP && m->count < m->cap / 8)
		idmap_resize(m, m->cap / 2);
}

void *
htable_idmap_next(const struct htable_idmap *m, size_t *pos)
{
	while (*pos < m->cap) {
		void *rec = m->slot[(*pos)++];

		if (rec)
			return rec;
	}
	return NULL;
}
