/*
 * htable.h: the one hash table of roomcast, intrusive and keyed.
 *
 * Rooms by id, users by id and connection counts by address live in one
 * of these: the caller embeds a struct htable_node in its record, hashes
 * the key with htable_hash() and compares keys itself (connections by
 * conn_id live in the id map below, which costs a record nothing). Chains are singly linked; the bucket array
 * doubles when records outnumber buckets (load factor <= 1) and halves
 * when they fall below an eighth of it, so memory follows the records
 * there are now.
 *
 * The hash is SipHash-2-4 under a key drawn from getrandom(2) once per
 * process, so that clients, who choose room ids, user ids and (within
 * reason) addresses, cannot choose ones that collide: with an unkeyed
 * hash, a few thousand colliding ids made every lookup walk them all.
 *
 * Not thread-safe; service thread only. Knows nothing of lws.
 */
#ifndef HTABLE_H
#define HTABLE_H

#include "siphash.h"

#include <stddef.h>
#include <stdint.h>

struct htable_node {
	struct htable_node *next;	/* chain */
	uint64_t hash;			/* kept: growing never rehashes keys */
};

struct htable {
	struct htable_node **bucket;
	size_t n_buckets;		/* a power of two */
	size_t min_buckets;		/* never shrinks below */
	size_t count;
	uint8_t key[SIPHASH_KEY_LEN];	/* the process seed when made */
};

/* The record that embeds @node as its @member. */
#define htable_entry(node, type, member) \
	((type *)(void *)((char *)(node) - offsetof(type, member)))

/*
 * Draws the process seed from getrandom(2) (or /dev/urandom; as a last
 * resort the clock and pid) unless one is set already. htable_init()
 * calls it, so only those who want the work done early need to.
 */
void htable_seed_init(void);

/*
 * Sets the process seed to @key, for tests that want the same buckets
 * every run. Tables made before keep their own key.
 */
void htable_seed_set(const uint8_t key[SIPHASH_KEY_LEN]);

/*
 * Makes @t empty with @min_buckets (rounded up to a power of two)
 * buckets, keyed with the process seed. Returns 0, or -1 on OOM.
 */
int htable_init(struct htable *t, size_t min_buckets);

/* Frees @t's buckets; its records are the caller's (see htable_drain). */
void htable_fini(struct htable *t);

/* @t's hash of the @len bytes at @key. */
uint64_t htable_hash(const struct htable *t, const void *key, size_t len);

/*
 * The record in @t whose hash is @hash and for which @eq(node, @key)
 * returns nonzero, or NULL.
 */
struct htable_node *htable_find(const struct htable *t, uint64_t hash,
				int (*eq)(const struct htable_node *n,
					  const void *key),
				const void *key);

/* Adds @n under @hash; it must not be in a table. Cannot fail. */
void htable_insert(struct htable *t, struct htable_node *n, uint64_t hash);

/* Takes @n, which must be in @t, out of @t. */
void htable_remove(struct htable *t, struct htable_node *n);

/* Takes every record out of @t, calling @fn(node, @ctx) on each once out. */
void htable_drain(struct htable *t,
		  void (*fn)(struct htable_node *n, void *ctx), void *ctx);

/* Records in @t now. */
size_t htable_count(const struct htable *t);

/* The length of the longest chain in @t: for tests and checks. */
size_t htable_longest_chain(const struct htable *t);

/*
 * An id map: records found by a 64-bit id stored in them, at @id_offset.
 * Open addressing over an array of record pointers, so an indexed record
 * carries nothing and costs 8 bytes times 1.33-2.67 slots (11 to 21
 * bytes): for the conn_id index, which every connection is in, where a
 * 16-byte node would push struct client into the next malloc size. The slots
 * are probed from a keyed hash of the id, like the tables above.
 */
struct htable_idmap {
	void **slot;			/* NULL = free */
	size_t cap;			/* a power of two */
	size_t count;
	size_t id_offset;		/* where a record keeps its uint64_t id */
	uint8_t key[SIPHASH_KEY_LEN];
};

/* Makes @m empty, for records whose id is at @id_offset. 0, or -1 on OOM. */
int htable_idmap_init(struct htable_idmap *m, size_t id_offset);

/* Frees @m's slots; the records are the caller's. */
void htable_idmap_fini(struct htable_idmap *m);

/*
 * Adds @rec, whose id no record in @m has. Returns 0, or -1 when @m is
 * full and cannot grow (OOM).
 */
int htable_idmap_put(struct htable_idmap *m, void *rec);

/* The record in @m whose id is @id, or NULL. */
void *htable_idmap_get(const struct htable_idmap *m, uint64_t id);

/* Takes @rec, which must be in @m, out of @m. */
void htable_idmap_del(struct htable_idmap *m, void *rec);

/*
 * Walks @m: the next record from slot *@pos on (start with 0), or NULL
 * at the end. Nothing may be added to or taken from @m meanwhile.
 */
void *htable_idmap_next(const struct htable_idmap *m, size_t *pos);

#endif
