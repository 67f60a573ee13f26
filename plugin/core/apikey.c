/*
 * apikey.c: the API key, kept as its hash (see apikey.h).
 */
#include "apikey.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define APIKEY_FILE_MAX 4096
#define APIKEY_RECHECK_MS 1000

/* Hashes @len bytes of @key, less trailing blanks; 0, or -1 when empty. */
static int
take_key(struct apikey *k, const char *key, size_t len)
{
	while (len && (key[len - 1] == '\n' || key[len - 1] == '\r' ||
		       key[len - 1] == ' ' || key[len - 1] == '\t'))
		len--;
	if (!len)
		return -1;
	SHA256((const unsigned char *)key, len, k->hash);
	return 0;
}

/* Reads the key file; 0, or -1 (then no key is usable). */
static int
read_file(struct apikey *k, char *err, size_t errlen)
{
	char buf[APIKEY_FILE_MAX];
	struct stat st;
	size_t n;
	FILE *f = fopen(k->file, "rb");

	k->usable = 0;
	if (!f || fstat(fileno(f), &st)) {
		snprintf(err, errlen, "api-key-file: cannot read %s", k->file);
		if (f)
			fclose(f);
		return -1;
	}
	k->ino = st.st_ino;
	k->size = st.st_size;
	k->mtime = st.st_mtim;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (n == sizeof(buf) || take_key(k, buf, n)) {
		snprintf(err, errlen, "api-key-file: %s holds no key (empty or "
			 "over %d bytes)", k->file, APIKEY_FILE_MAX - 1);
		OPENSSL_cleanse(buf, sizeof(buf));
		return -1;
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	k->usable = 1;
	return 0;
}

int
apikey_set(struct apikey *k, const char *key, const char *file, char *err,
	   size_t errlen)
{
	apikey_clear(k);
	if (key) {
		if (take_key(k, key, strlen(key))) {
			snprintf(err, errlen, "api-key: empty");
			return -1;
		}
		k->set = k->usable = 1;
		return 0;
	}
	k->file = strdup(file);
	if (!k->file) {
		snprintf(err, errlen, "api-key-file: out of memory");
		return -1;
	}
	if (read_file(k, err, errlen)) {
		apikey_clear(k);
		return -1;
	}
	k->set = 1;
	return 0;
}

void
apikey_clear(struct apikey *k)
{
	free(k->file);
	OPENSSL_cleanse(k, sizeof(*k));
}

void
apikey_refresh(struct apikey *k, int64_t now_ms)
{
	struct stat st;
	char err[160];

	if (!k->file || now_ms - k->checked_ms < APIKEY_RECHECK_MS)
		return;
	k->checked_ms = now_ms;
	if (stat(k->file, &st)) {
		k->usable = 0;	/* gone: the old key stops working */
		k->size = -1;
		return;
	}
	if (k->usable && st.st_ino == k->ino && st.st_size == k->size &&
	    st.st_mtim.tv_sec == k->mtime.tv_sec &&
	    st.st_mtim.tv_nsec == k->mtime.tv_nsec)
		return;
	if (read_file(k, err, sizeof(err)))
		fprintf(stderr, "roomcast: %s; the API answers 401 until it "
			"holds a key\n", err);
}

int
apikey_check(const struct apikey *k, const char *given, size_t len)
{
	unsigned char h[32];

	if (!k->set || !k->usable)
		return 0;
	SHA256((const unsigned char *)given, len, h);
	return !CRYPTO_memcmp(h, k->hash, sizeof(h));
}
