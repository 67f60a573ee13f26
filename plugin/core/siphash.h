/*
 * siphash.h: SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast
 * short-input PRF", 2012), a keyed 64-bit hash.
 *
 * Tables keyed by what clients choose (room ids, user ids, addresses)
 * hash with it under a secret random key, so that no one who does not
 * know the key can pick ids that share a bucket (hash flooding).
 */
#ifndef SIPHASH_H
#define SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_LEN 16

/* SipHash-2-4 of the @len bytes at @in under the 16-byte @key. */
uint64_t siphash24(const void *in, size_t len,
		   const uint8_t key[SIPHASH_KEY_LEN]);

#endif
