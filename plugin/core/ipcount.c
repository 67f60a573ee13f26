/*
 * ipcount.c: connections per client address (see ipcount.h).
 */
#include "ipcount.h"
#include "htable.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define IPCOUNT_FIRST_BUCKETS 64

/*
 * An address as the table keys it: its kind, then 4 bytes of IPv4, or
 * the prefix length and 16 masked bytes of IPv6 (so the same address
 * under two vhosts' prefix lengths is two clients), or the text itself.
 */
enum { KEY_V4, KEY_V6, KEY_TEXT };

struct addr_key {
	int kind;
	size_t len;
	const unsigned char *bytes;
	unsigned char buf[1 + 16];
};

struct ipcount_entry {
	struct htable_node node;
	unsigned int count;
	int kind;
	size_t len;
	unsigned char bytes[];
};

struct ipcount {
	struct htable table;	/* keyed: a client picks its IPv6 address */
};

static const unsigned char v4_mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
};

/* Clears all but the first @bits bits of the 16 bytes at @a. */
static void
mask_v6(unsigned char *a, unsigned int bits)
{
	unsigned int i;

	for (i = 0; i < 16; i++)
		if (i * 8 >= bits)
			a[i] = 0;
		else if (i * 8 + 8 > bits)
			a[i] &= (unsigned char)(0xff00u >> (bits - i * 8));
}

/* Fills @k with @addr's key; @addr must outlive @k (a text key points in). */
static void
make_key(struct addr_key *k, const char *addr, unsigned int v6_prefix)
{
	unsigned char a[16];

	k->bytes = k->buf;
	if (inet_pton(AF_INET, addr, a) == 1) {
		k->kind = KEY_V4;
		k->len = 4;
		memcpy(k->buf, a, 4);
	} else if (inet_pton(AF_INET6, addr, a) != 1) {
		k->kind = KEY_TEXT;
		k->len = strlen(addr);
		k->bytes = (const unsigned char *)addr;
	} else if (!memcmp(a, v4_mapped, sizeof(v4_mapped))) {
		k->kind = KEY_V4;
		k->len = 4;
		memcpy(k->buf, a + 12, 4);
	} else {
		if (v6_prefix > 128)
			v6_prefix = 128;
		mask_v6(a, v6_prefix);
		k->kind = KEY_V6;
		k->len = 17;
		k->buf[0] = (unsigned char)v6_prefix;
		memcpy(k->buf + 1, a, 16);
	}
}

static int
key_eq(const struct htable_node *n, const void *key)
{
	const struct ipcount_entry *e =
		htable_entry(n, struct ipcount_entry, node);
	const struct addr_key *k = key;

	return e->kind == k->kind && e->len == k->len &&
	       !memcmp(e->bytes, k->bytes, k->len);
}

struct ipcount *
ipcount_create(void)
{
	struct ipcount *t = calloc(1, sizeof(*t));

	if (t && htable_init(&t->table, IPCOUNT_FIRST_BUCKETS)) {
		free(t);
		return NULL;
	}
	return t;
}

static void
free_entry(struct htable_node *n, void *ctx)
{
	(void)ctx;
	free(htable_entry(n, struct ipcount_entry, node));
}

void
ipcount_destroy(struct ipcount *t)
{
	if (!t)
		return;
	htable_drain(&t->table, free_entry, NULL);
	htable_fini(&t->table);
	free(t);
}

static struct ipcount_entry *
find(const struct ipcount *t, const struct addr_key *k, uint64_t h)
{
	struct htable_node *n = htable_find(&t->table, h, key_eq, k);

	return n ? htable_entry(n, struct ipcount_entry, node) : NULL;
}

unsigned int
ipcount_get(const struct ipcount *t, const char *addr, unsigned int v6_prefix)
{
	struct addr_key k;
	struct ipcount_entry *e;

	make_key(&k, addr, v6_prefix);
	e = find(t, &k, htable_hash(&t->table, k.bytes, k.len));
	return e ? e->count : 0;
}

struct ipcount_entry *
ipcount_take(struct ipcount *t, const char *addr, unsigned int v6_prefix)
{
	struct addr_key k;
	struct ipcount_entry *e;
	uint64_t h;

	make_key(&k, addr, v6_prefix);
	h = htable_hash(&t->table, k.bytes, k.len);
	e = find(t, &k, h);
	if (!e) {
		e = calloc(1, sizeof(*e) + k.len);
		if (!e)
			return NULL;
		e->kind = k.kind;
		e->len = k.len;
		memcpy(e->bytes, k.bytes, k.len);
		htable_insert(&t->table, &e->node, h);
	}
	e->count++;
	return e;
}

void
ipcount_put(struct ipcount *t, struct ipcount_entry *e)
{
	if (!e || --e->count)
		return;
	htable_remove(&t->table, &e->node);
	free(e);
}
