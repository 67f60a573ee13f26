/*
 * apikey.h: the server API's bearer key (`api-key` / `api-key-file`).
 *
 * Only the key's SHA-256 is kept, and a presented key is compared by its
 * SHA-256 with CRYPTO_memcmp: the time taken tells nothing of the key,
 * not even its length. A key file is looked at again (stat) at most once
 * a second when a request comes and re-read when its size, time or inode
 * changed, so a new key works, and the old one stops, within a second or
 * two. The key is never written to a log.
 *
 * Not thread-safe; service thread only. Knows nothing of lws.
 */
#ifndef APIKEY_H
#define APIKEY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct apikey {
	int set;			/* a key (or key file) is configured */
	int usable;			/* the key file's text is a key */
	unsigned char hash[32];		/* SHA-256 of the key */
	char *file;			/* api-key-file, or NULL */
	int64_t checked_ms;		/* last stat of the file */
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

/*
 * Sets the key (@key) or the key file (@file: read now; trailing blanks
 * and newlines are not part of the key). Returns 0, or -1 with a one-line
 * reason in @err (a file that cannot be read, an empty key).
 */
int apikey_set(struct apikey *k, const char *key, const char *file,
	       char *err, size_t errlen);

/* Forgets the key: the API is off again. */
void apikey_clear(struct apikey *k);

/* Re-reads the key file if it changed (looked at once a second at most). */
void apikey_refresh(struct apikey *k, int64_t now_ms);

/* Returns 1 if @len bytes of @given are the key (constant time). */
int apikey_check(const struct apikey *k, const char *given, size_t len);

#endif
