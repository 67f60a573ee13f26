/*
 * idem.h: the server API's idempotency keys (PROTOCOL.md, Server API).
 *
 * A publish that repeats an idempotency_key for the same room within
 * IDEM_TTL_MS is answered with the first one's result. The table is
 * bounded: at most a set number of keys, the oldest forgotten first when
 * it is full. Every key lives the same time, so insertion order is
 * expiry order: expired keys are dropped from the old end by every
 * lookup and insert (and idem_sweep()), with no timer per key.
 *
 * Not thread-safe; service thread only. Knows nothing of lws.
 */
#ifndef IDEM_H
#define IDEM_H

#include <stddef.h>
#include <stdint.h>

#define IDEM_TTL_MS (300 * 1000)
/* The most keys held: ~300 bytes each at most, so ~30 MB at the cap. */
#define IDEM_MAX_KEYS 100000
#define IDEM_KEY_MAX 64
/* an epoch as PROTOCOL.md allows it (CODEC_EPOCH_MAX) and its NUL */
#define IDEM_EPOCH_MAX 65

/* What a first publish answered. */
struct idem_result {
	uint64_t seq;
	char epoch[IDEM_EPOCH_MAX];
};

struct idem;

/* An empty table holding at most @max_keys keys; NULL on OOM. */
struct idem *idem_create(unsigned int max_keys);

/* Frees the table and every key. */
void idem_destroy(struct idem *t);

/*
 * Looks up @key (@key_len bytes) for room @room: returns 1 and fills
 * @out when it was recorded less than IDEM_TTL_MS before @now_ms, else 0.
 */
int idem_find(struct idem *t, const char *room, const char *key,
	      size_t key_len, int64_t now_ms, struct idem_result *out);

/*
 * Records @res for (@room, @key) at @now_ms, forgetting the oldest key
 * when the table is full. Returns 0, or -1 on OOM (then not recorded).
 */
int idem_put(struct idem *t, const char *room, const char *key,
	     size_t key_len, const struct idem_result *res, int64_t now_ms);

/* Drops the keys older than IDEM_TTL_MS. */
void idem_sweep(struct idem *t, int64_t now_ms);

/* Keys held now. */
unsigned int idem_count(const struct idem *t);

#endif
