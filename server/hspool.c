/*
 * hspool.c: lws's handshake header tables, kept out of the heap that
 * holds long-lived connection state.
 *
 * Each handshake in flight holds an lws header table ("ah struct" +
 * "ah data", ~4.5 KB) that is freed at the upgrade. From malloc's heap,
 * a burst of 1000 handshakes at once leaves those freed tables as holes
 * between the connections that stay (1,583-1,643 bytes per idle
 * connection instead of ~1,490: docs/PERFORMANCE.md), and malloc_trim()
 * can give back only whole free pages. Here they come from a region of
 * their own: slots by power-of-two size class carved from 64 KB chunks,
 * reused through free lists, and when no table is in use the touched
 * pages go back to the kernel at once (madvise). Everything else lws
 * allocates still goes to malloc, as do tables once the region is full,
 * save each connection's rx buffer, which the same hook trims to what lws
 * uses of it (rxread.c).
 */
#include "hspool.h"

#include "evpoll.h"
#include "rxread.h"

#include <libwebsockets.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* virtual, RSS only where touched: 20,000 handshakes' tables (fd limit) */
#define HS_REGION (512u << 20)
#define HS_CHUNK (64u << 10)
#define HS_MIN_SHIFT 9		/* 512-byte slots ... */
#define HS_MAX_SHIFT 14		/* ... to HSPOOL_SLOT_MAX */
#define HS_CLASSES (HS_MAX_SHIFT - HS_MIN_SHIFT + 1)
_Static_assert(HSPOOL_SLOT_MAX == 1u << HS_MAX_SHIFT, "largest slot");

struct hs_free {
	struct hs_free *next;
};

static struct {
	unsigned char *base;
	size_t chunks_used;		/* chunks carved so far */
	unsigned char cls[HS_REGION / HS_CHUNK];	/* class of each chunk */
	struct hs_free *free[HS_CLASSES];
	unsigned char *bump[HS_CLASSES], *bump_end[HS_CLASSES];
	size_t live;			/* slots in use */
} hs;

static int
in_pool(const void *p)
{
	return hs.base && (const unsigned char *)p >= hs.base &&
	       (const unsigned char *)p < hs.base + HS_REGION;
}

static size_t
slot_size(int c)
{
	return (size_t)1 << (c + HS_MIN_SHIFT);
}

/* A slot of class @c, or NULL when the region is full. */
static void *
slot_get(int c)
{
	void *p = hs.free[c];

	if (p) {
		hs.free[c] = hs.free[c]->next;
	} else {
		if (hs.bump[c] == hs.bump_end[c]) {
			if (hs.chunks_used == HS_REGION / HS_CHUNK)
				return NULL;
			hs.cls[hs.chunks_used] = (unsigned char)c;
			hs.bump[c] = hs.base + hs.chunks_used++ * HS_CHUNK;
			hs.bump_end[c] = hs.bump[c] + HS_CHUNK;
		}
		p = hs.bump[c];
		hs.bump[c] += slot_size(c);
	}
	hs.live++;
	return p;
}

/* Returns a slot; the last one out gives every touched page back. */
static void
slot_put(void *p)
{
	int c = hs.cls[((unsigned char *)p - hs.base) / HS_CHUNK];
	struct hs_free *f = p;

	f->next = hs.free[c];
	hs.free[c] = f;
	if (--hs.live)
		return;
	madvise(hs.base, hs.chunks_used * HS_CHUNK, MADV_DONTNEED);
	memset(hs.free, 0, sizeof(hs.free));
	memset(hs.bump, 0, sizeof(hs.bump));
	memset(hs.bump_end, 0, sizeof(hs.bump_end));
	hs.chunks_used = 0;
}

static int
class_of(size_t size)
{
	int c;

	for (c = 0; c < HS_CLASSES; c++)
		if (size <= slot_size(c))
			return c;
	return -1;
}

static int
is_header_table(const char *reason)
{
	return reason && (!strcmp(reason, "ah struct") ||
			  !strcmp(reason, "ah data"));
}

/* lws_set_allocator()'s hook: realloc(), free() when @size is 0. */
static void *
hs_realloc(void *ptr, size_t size, const char *reason)
{
	size_t trimmed;
	void *n;
	int c;

	if (ptr && in_pool(ptr)) {
		size_t have = slot_size(hs.cls[((unsigned char *)ptr -
						hs.base) / HS_CHUNK]);

		if (!size) {
			slot_put(ptr);
			return NULL;
		}
		if (size <= have)
			return ptr;
		n = malloc(size);	/* grown: no longer a table of ours */
		if (n) {
			memcpy(n, ptr, have);
			slot_put(ptr);
		}
		return n;
	}
	if (!ptr && size && hs.base && is_header_table(reason) &&
	    (c = class_of(size)) >= 0 && (n = slot_get(c)))
		return n;
	if (!size) {
		evpoll_note(ptr, 0, reason);
		free(ptr);
		return NULL;
	}
	if (!ptr && (trimmed = rxread_trim(size, reason)))
		size = trimmed;
	n = realloc(ptr, size);
	if (!ptr && n)
		evpoll_note(n, size, reason);
	return n;
}

int
hspool_install(int pool_tables)
{
	void *b = MAP_FAILED;

	if (pool_tables)
		b = mmap(NULL, HS_REGION, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (b != MAP_FAILED)
		hs.base = b;
	lws_set_allocator(hs_realloc);
	return pool_tables && !hs.base ? -1 : 0;
}
