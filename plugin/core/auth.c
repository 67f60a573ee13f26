/*
 * auth.c: JWT (compact JWS) verification with OpenSSL's EVP and json-c.
 *
 * The order of checks is deliberate (docs/AUTH.md): size bound, shape,
 * strict base64url, header (`alg` must be the configured one), signature,
 * and only then is the payload parsed, so unauthenticated claims never
 * reach the claim code. The key kind follows the configured algorithm, not
 * the token: an HMAC is computed only with an HS256 secret, a PEM key is
 * only ever given to EVP_DigestVerify.
 */
#include "auth.h"
#include "rm_err.h"

#include "codec.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define AUTH_HS256_LEN 32	/* HMAC-SHA256 output */
#define AUTH_HS256_MIN_KEY 32	/* RFC 7518 3.2: a key as long as the hash */
#define AUTH_ES256_LEN 64	/* JWS ES256: r || s, 32 bytes each */
#define AUTH_RSA_MIN_BITS 2048	/* RFC 7518 3.3 */

/* What identifies one version of a key file (or why stat() failed). */
struct key_sig {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim, ctim;
	int err;
};

/* A loaded key: exactly one of secret / pkey is set, as the alg says. */
struct key {
	unsigned char *secret;
	size_t secret_len;
	EVP_PKEY *pkey;
};

struct auth_keyring {
	enum auth_alg alg;
	struct key key;
	char *path;		/* the key file; NULL for a literal auth-secret */
	char *audience, *issuer;
	struct key_sig cur;	/* the file version in use */
	struct key_sig bad;	/* the last version refused, reported once */
	int have_bad;
	time_t last_poll;
	struct json_tokener *tok;
};

static const char *const alg_names[] = {
	[AUTH_ALG_HS256] = "HS256",
	[AUTH_ALG_RS256] = "RS256",
	[AUTH_ALG_ES256] = "ES256",
};

const char *
auth_strerror(enum auth_err e)
{
	switch (e) {
	case AUTH_OK: return "ok";
	case AUTH_E_NOMEM: return "out of memory";
	case AUTH_E_TOO_LONG: return "token too long";
	case AUTH_E_FORMAT: return "not a compact JWS (three parts)";
	case AUTH_E_BASE64: return "bad base64url";
	case AUTH_E_HEADER: return "bad token header";
	case AUTH_E_ALG: return "algorithm not accepted";
	case AUTH_E_SIG_LEN: return "bad signature length";
	case AUTH_E_SIGNATURE: return "bad signature";
	case AUTH_E_PAYLOAD: return "bad token claims";
	case AUTH_E_SUB: return "bad or missing sub";
	case AUTH_E_EXP: return "bad or missing exp";
	case AUTH_E_EXPIRED: return "token expired";
	case AUTH_E_NBF: return "bad nbf";
	case AUTH_E_NOT_YET: return "token not yet valid";
	case AUTH_E_AUD: return "audience mismatch";
	case AUTH_E_ISS: return "issuer mismatch";
	case AUTH_E_ROOMS: return "bad rooms claim";
	case AUTH_E_PUBLISH: return "bad publish claim";
	}
	return "unknown error";
}

/*---- key files ----*/

static void
key_clear(struct key *k)
{
	if (k->secret) {
		OPENSSL_cleanse(k->secret, k->secret_len);
		free(k->secret);
	}
	EVP_PKEY_free(k->pkey);
	memset(k, 0, sizeof(*k));
}

static void
sig_from_stat(struct key_sig *s, const struct stat *st)
{
	memset(s, 0, sizeof(*s));
	s->dev = st->st_dev;
	s->ino = st->st_ino;
	s->size = st->st_size;
	s->mtim = st->st_mtim;
	s->ctim = st->st_ctim;
}

static int
sig_equal(const struct key_sig *a, const struct key_sig *b)
{
	return a->err == b->err && a->dev == b->dev && a->ino == b->ino &&
	       a->size == b->size && a->mtim.tv_sec == b->mtim.tv_sec &&
	       a->mtim.tv_nsec == b->mtim.tv_nsec &&
	       a->ctim.tv_sec == b->ctim.tv_sec &&
	       a->ctim.tv_nsec == b->ctim.tv_nsec;
}

/*
 * Reads all of regular file @path (at most AUTH_KEY_FILE_MAX bytes) into
 * a NUL-terminated buffer; *@sig gets the version read (fstat of the open
 * file, so it is the one the bytes came from).
 */
static char *
file_read(const char *path, size_t *len, struct key_sig *sig, char *err,
	  size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) != 0) {
		rm_seterr(err, errlen, "%s: %s", path, strerror(errno));
		goto bail;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > AUTH_KEY_FILE_MAX) {
		rm_seterr(err, errlen,
			  "%s: not a regular file of at most %d bytes", path,
			  AUTH_KEY_FILE_MAX);
		goto bail;
	}
	buf = malloc(AUTH_KEY_FILE_MAX + 1);
	if (!buf) {
		rm_seterr(err, errlen, "%s: out of memory", path);
		goto bail;
	}
	/* read up to one byte over the bound, so a file that grew is seen */
	while (got <= AUTH_KEY_FILE_MAX &&
	       (n = read(fd, buf + got, AUTH_KEY_FILE_MAX + 1 - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || got + (size_t)n > AUTH_KEY_FILE_MAX) {
			rm_seterr(err, errlen, "%s: %s", path,
				  n < 0 ? strerror(errno) :
					  "grew over the size bound");
			goto bail;
		}
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*len = got;
	sig_from_stat(sig, &st);
	return buf;

bail:
	free(buf);
	if (fd >= 0)
		close(fd);
	return NULL;
}

/*
 * The secret of an HS256 secret file: its bytes, less one trailing "\n"
 * or "\r\n" (what `echo` and editors add). Empty is refused.
 */
static int
secret_take(struct key *k, const char *buf, size_t len, const char *what,
	    char *err, size_t errlen)
{
	if (len && buf[len - 1] == '\n')
		len--;
	if (len && buf[len - 1] == '\r')
		len--;
	if (!len) {
		rm_seterr(err, errlen, "%s: the HS256 secret is empty", what);
		return -1;
	}
	k->secret = malloc(len);
	if (!k->secret) {
		rm_seterr(err, errlen, "%s: out of memory", what);
		return -1;
	}
	memcpy(k->secret, buf, len);
	k->secret_len = len;
	return 0;
}

/* Checks that public key @pk fits @alg: RSA >= 2048 bits, or EC P-256. */
static int
pkey_fits(EVP_PKEY *pk, enum auth_alg alg, const char *path, char *err,
	  size_t errlen)
{
	char group[64];
	size_t glen = 0;

	if (alg == AUTH_ALG_RS256) {
		if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA) {
			rm_seterr(err, errlen,
				  "%s: not an RSA public key (auth-alg RS256)",
				  path);
			return -1;
		}
		if (EVP_PKEY_get_bits(pk) < AUTH_RSA_MIN_BITS) {
			rm_seterr(
				err, errlen,
				"%s: RSA key of %d bits; RS256 needs at least %d",
				path, EVP_PKEY_get_bits(pk), AUTH_RSA_MIN_BITS);
			return -1;
		}
		return 0;
	}
	if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC ||
	    !EVP_PKEY_get_group_name(pk, group, sizeof(group), &glen) ||
	    strcmp(group, "prime256v1")) {
		ERR_clear_error();
		rm_seterr(err, errlen,
			  "%s: not an EC P-256 public key (auth-alg ES256)",
			  path);
		return -1;
	}
	return 0;
}

/* Loads the key in file @path for @alg into @k; *@sig gets its version. */
static int
key_load_file(struct key *k, const char *path, enum auth_alg alg,
	      struct key_sig *sig, char *err, size_t errlen)
{
	size_t len;
	char *buf = file_read(path, &len, sig, err, errlen);
	BIO *bio;
	int rc = -1;

	memset(k, 0, sizeof(*k));
	if (!buf)
		return -1;
	if (alg == AUTH_ALG_HS256) {
		rc = secret_take(k, buf, len, path, err, errlen);
		goto out;
	}
	bio = BIO_new_mem_buf(buf, (int)len);
	if (bio)
		k->pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ERR_clear_error();	/* the queue is per thread, shared with TLS */
	if (!k->pkey) {
		rm_seterr(err, errlen,
			  "%s: no PEM \"PUBLIC KEY\" could be read", path);
		goto out;
	}
	rc = pkey_fits(k->pkey, alg, path, err, errlen);
	if (rc)
		key_clear(k);
out:
	OPENSSL_cleanse(buf, len);
	free(buf);
	return rc;
}

/*---- keyring ----*/

int
auth_config_enabled(const struct auth_config *cfg)
{
	return cfg->secret || cfg->secret_file || cfg->public_key_file;
}

/* The algorithm of @cfg, checked against the kind of key it names. */
static int
config_alg(const struct auth_config *cfg, enum auth_alg *alg, char *err,
	   size_t errlen)
{
	const char *name = cfg->alg ? cfg->alg : "HS256";
	int secrets = !!cfg->secret + !!cfg->secret_file;

	if (!strcmp(name, "HS256"))
		*alg = AUTH_ALG_HS256;
	else if (!strcmp(name, "RS256"))
		*alg = AUTH_ALG_RS256;
	else if (!strcmp(name, "ES256"))
		*alg = AUTH_ALG_ES256;
	else {
		rm_seterr(err, errlen,
			  "auth-alg: \"%s\" is not HS256, RS256 or ES256",
			  name);
		return -1;
	}
	if (secrets > 1) {
		rm_seterr(err, errlen,
			  "auth-secret and auth-secret-file are both set");
		return -1;
	}
	if (secrets && cfg->public_key_file) {
		rm_seterr(
			err, errlen,
			"auth-public-key-file and an HS256 secret are both set");
		return -1;
	}
	if (!secrets && !cfg->public_key_file) {
		rm_seterr(
			err, errlen,
			"auth: no key (auth-secret, auth-secret-file or auth-public-key-file)");
		return -1;
	}
	if (*alg == AUTH_ALG_HS256 && !secrets) {
		rm_seterr(
			err, errlen,
			"auth-public-key-file needs auth-alg RS256 or ES256, not HS256");
		return -1;
	}
	if (*alg != AUTH_ALG_HS256 && secrets) {
		rm_seterr(err, errlen, "%s goes with auth-alg HS256, not %s",
			  cfg->secret ? "auth-secret" : "auth-secret-file",
			  name);
		return -1;
	}
	return 0;
}

static char *
dup_opt(const char *s, int *fail)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*fail = 1;
	return d;
}

struct auth_keyring *
auth_keyring_create(const struct auth_config *cfg, char *err, size_t errlen)
{
	struct auth_keyring *kr;
	const char *file;
	int fail = 0;

	kr = calloc(1, sizeof(*kr));
	if (!kr) {
		rm_seterr(err, errlen, "auth: out of memory");
		return NULL;
	}
	if (config_alg(cfg, &kr->alg, err, errlen))
		goto bail;
	file = cfg->secret_file ? cfg->secret_file : cfg->public_key_file;
	kr->path = dup_opt(file, &fail);
	kr->audience = dup_opt(cfg->audience, &fail);
	kr->issuer = dup_opt(cfg->issuer, &fail);
	/* json-c refuses nesting that reaches its depth: one more */
	kr->tok = json_tokener_new_ex(AUTH_JSON_DEPTH + 1);
	if (fail || !kr->tok) {
		rm_seterr(err, errlen, "auth: out of memory");
		goto bail;
	}
	json_tokener_set_flags(kr->tok, JSON_TOKENER_STRICT);
	if (kr->path) {
		if (key_load_file(&kr->key, kr->path, kr->alg, &kr->cur, err,
				  errlen))
			goto bail;
	} else if (secret_take(&kr->key, cfg->secret, strlen(cfg->secret),
			       "auth-secret", err, errlen)) {
		goto bail;
	}
	rm_seterr(err, errlen, "%s", "");
	if (kr->key.secret && kr->key.secret_len < AUTH_HS256_MIN_KEY)
		rm_seterr(
			err, errlen,
			"%s: the HS256 secret is %zu bytes; RFC 7518 asks for at least %d",
			kr->path ? kr->path : "auth-secret", kr->key.secret_len,
			AUTH_HS256_MIN_KEY);
	return kr;

bail:
	auth_keyring_destroy(kr);
	return NULL;
}

void
auth_keyring_destroy(struct auth_keyring *kr)
{
	if (!kr)
		return;
	key_clear(&kr->key);
	free(kr->path);
	free(kr->audience);
	free(kr->issuer);
	if (kr->tok)
		json_tokener_free(kr->tok);
	free(kr);
}

const char *
auth_keyring_alg(const struct auth_keyring *kr)
{
	return alg_names[kr->alg];
}

int
auth_keyring_poll(struct auth_keyring *kr, time_t now, char *err,
		  size_t errlen)
{
	struct key_sig seen, loaded;
	struct key k;
	struct stat st;

	if (!kr->path || now == kr->last_poll)
		return 0;
	kr->last_poll = now;
	memset(&seen, 0, sizeof(seen));
	if (stat(kr->path, &st) != 0)
		seen.err = errno ? errno : EIO;
	else
		sig_from_stat(&seen, &st);
	if (sig_equal(&seen, &kr->cur) ||
	    (kr->have_bad && sig_equal(&seen, &kr->bad)))
		return 0;
	kr->bad = seen;
	if (seen.err) {
		kr->have_bad = 1;
		rm_seterr(err, errlen, "%s: %s; keeping the key in use",
			  kr->path, strerror(seen.err));
		return -1;
	}
	if (key_load_file(&k, kr->path, kr->alg, &loaded, err, errlen)) {
		kr->have_bad = 1;
		if (err && errlen > 1 && strlen(err) + 1 < errlen)
			strncat(err, "; keeping the key in use",
				errlen - strlen(err) - 1);
		return -1;
	}
	key_clear(&kr->key);
	kr->key = k;
	kr->cur = loaded;
	kr->have_bad = 0;
	return 1;
}

/*---- token parts ----*/

static int
b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/*
 * Decodes @n bytes of unpadded base64url (RFC 7515 2) into @out (room for
 * n * 3 / 4 bytes). Returns the length, or -1 for any byte outside the
 * alphabet ('=', '+', '/' included), a length of 4k+1, or non-zero unused
 * bits in the last character (so each byte string has one encoding).
 */
static long
b64url_decode(const char *in, size_t n, unsigned char *out)
{
	unsigned int acc = 0, bits = 0;
	size_t i, o = 0;
	int v;

	if (n % 4 == 1)
		return -1;
	for (i = 0; i < n; i++) {
		v = b64url_value((unsigned char)in[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return acc ? -1 : (long)o;
}

/* Parses @len bytes as one JSON object; NULL if not (or too deep). */
static struct json_object *
parse_object(struct auth_keyring *kr, const unsigned char *text,
		  size_t len)
{
	struct json_object *o;
	const char *t = (const char *)text;

	if (!len || !codec_utf8_valid(text, len) || !codec_json_valid(t, len))
		return NULL;
	json_tokener_reset(kr->tok);
	o = json_tokener_parse_ex(kr->tok, t, (int)len);
	/* codec_json_valid allowed only whitespace after the value */
	if (!o || json_tokener_get_error(kr->tok) != json_tokener_success ||
	    !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* Returns 1 if JSON string @v is exactly the C string @want. */
static int
json_str_is(struct json_object *v, const char *want)
{
	size_t n = strlen(want);

	return json_object_is_type(v, json_type_string) &&
	       (size_t)json_object_get_string_len(v) == n &&
	       !memcmp(json_object_get_string(v), want, n);
}

/* Returns 1 if @v is a string of 1-16 letters and digits. */
static int
alg_printable(struct json_object *v)
{
	const char *s;
	int i, n;

	if (!v || !json_object_is_type(v, json_type_string))
		return 0;
	s = json_object_get_string(v);
	n = json_object_get_string_len(v);
	if (n < 1 || n > 16)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9')))
			return 0;
	return 1;
}

/* The header: `alg` exactly the configured one; no `crit` we ignore. */
static enum auth_err
header_check(struct auth_keyring *kr, const unsigned char *h, size_t len,
	     char *err, size_t errlen)
{
	struct json_object *o = parse_object(kr, h, len), *v = NULL;
	enum auth_err rc = AUTH_OK;

	if (!o) {
		rm_seterr(err, errlen, "header is not a JSON object");
		return AUTH_E_HEADER;
	}
	if (!json_object_object_get_ex(o, "alg", &v) ||
	    !json_str_is(v, alg_names[kr->alg])) {
		/* the token's text goes to a log: name it only if it is tame */
		rm_seterr(err, errlen, "header alg %s is not %s",
			  alg_printable(v) ? json_object_get_string(v) :
			  v		   ? "(unprintable)" :
					     "(absent)",
			  alg_names[kr->alg]);
		rc = AUTH_E_ALG;
	} else if (json_object_object_get_ex(o, "crit", NULL)) {
		/* RFC 7515 4.1.11: extensions we do not know must be refused */
		rm_seterr(err, errlen, "header has crit");
		rc = AUTH_E_HEADER;
	}
	json_object_put(o);
	return rc;
}

/*---- signatures ----*/

/* EVP_DigestVerify with SHA-256 over @data; @der_sig as the key wants. */
static enum auth_err
evp_verify(EVP_PKEY *pk, int rsa, const unsigned char *sig, size_t sig_len,
	   const unsigned char *data, size_t len)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	enum auth_err rc = AUTH_E_SIGNATURE;

	if (!md)
		return AUTH_E_NOMEM;
	if (EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, pk) == 1 &&
	    (!rsa || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0) &&
	    EVP_DigestVerify(md, sig, sig_len, data, len) == 1)
		rc = AUTH_OK;
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return rc;
}

/* ES256: JWS's raw r || s (64 bytes) re-encoded as the DER OpenSSL takes. */
static enum auth_err
es256_verify(EVP_PKEY *pk, const unsigned char *sig, const unsigned char *data,
	     size_t len)
{
	unsigned char der[80], *p = der;	/* P-256 DER is at most 72 */
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, 32, NULL);
	BIGNUM *s = BN_bin2bn(sig + 32, 32, NULL);
	enum auth_err rc = AUTH_E_NOMEM;
	int n;

	if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s)) {
		BN_free(r);
		BN_free(s);
		goto out;
	}
	n = i2d_ECDSA_SIG(es, NULL);
	if (n <= 0 || n > (int)sizeof(der) || i2d_ECDSA_SIG(es, &p) != n)
		goto out;
	rc = evp_verify(pk, 0, der, (size_t)n, data, len);
out:
	ECDSA_SIG_free(es);
	ERR_clear_error();
	return rc;
}

/* Verifies @sig over the token's first two parts with the keyring's key. */
static enum auth_err
sig_check(struct auth_keyring *kr, const unsigned char *sig, size_t sig_len,
	  const char *data, size_t len)
{
	const unsigned char *d = (const unsigned char *)data;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;

	switch (kr->alg) {
	case AUTH_ALG_HS256:
		if (sig_len != AUTH_HS256_LEN)
			return AUTH_E_SIG_LEN;
		if (!HMAC(EVP_sha256(), kr->key.secret, (int)kr->key.secret_len,
			  d, len, mac, &mac_len) || mac_len != AUTH_HS256_LEN) {
			ERR_clear_error();
			return AUTH_E_SIGNATURE;
		}
		return CRYPTO_memcmp(mac, sig, AUTH_HS256_LEN) ?
		       AUTH_E_SIGNATURE : AUTH_OK;
	case AUTH_ALG_RS256:
		if (sig_len != (size_t)EVP_PKEY_get_size(kr->key.pkey))
			return AUTH_E_SIG_LEN;
		return evp_verify(kr->key.pkey, 1, sig, sig_len, d, len);
	case AUTH_ALG_ES256:
		if (sig_len != AUTH_ES256_LEN)
			return AUTH_E_SIG_LEN;
		return es256_verify(kr->key.pkey, sig, d, len);
	}
	return AUTH_E_ALG;
}

/*---- claims ----*/

/* 1 and *@v if @key is a JSON integer, 0 if absent, -1 if another type. */
static int
claim_int(struct json_object *o, const char *key, int64_t *v)
{
	struct json_object *j;

	if (!json_object_object_get_ex(o, key, &j))
		return 0;
	if (!json_object_is_type(j, json_type_int))
		return -1;
	*v = json_object_get_int64(j);
	return 1;
}

/* Returns 1 if claim `aud` (string, or array of strings) holds @want. */
static int
aud_has(struct json_object *o, const char *want)
{
	struct json_object *a, *e;
	size_t i, n, hit = 0;

	if (!json_object_object_get_ex(o, "aud", &a))
		return 0;
	if (json_object_is_type(a, json_type_string))
		return json_str_is(a, want);
	if (!json_object_is_type(a, json_type_array))
		return 0;
	n = json_object_array_length(a);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(a, i);
		if (!json_object_is_type(e, json_type_string))
			return 0;	/* not an array of strings */
		hit |= json_str_is(e, want);
	}
	return hit != 0;
}

/* Returns 1 if @p is a room id, or a room-id prefix (maybe empty) + '*'. */
static int
pattern_valid(const char *p, size_t len)
{
	if (len && p[len - 1] == '*')
		return len == 1 || codec_room_valid(p, len - 1);
	return codec_room_valid(p, len);
}

/*
 * Checks optional claim @key (an array of room patterns): -1 if absent,
 * -2 if malformed, else the number of patterns; *@bytes += their size
 * with NULs.
 */
static int
patterns_scan(struct json_object *o, const char *key, size_t *bytes)
{
	struct json_object *a, *e;
	size_t i, n;

	if (!json_object_object_get_ex(o, key, &a))
		return -1;
	if (!json_object_is_type(a, json_type_array))
		return -2;
	n = json_object_array_length(a);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(a, i);
		if (!json_object_is_type(e, json_type_string) ||
		    !pattern_valid(json_object_get_string(e),
				   (size_t)json_object_get_string_len(e)))
			return -2;
		*bytes += (size_t)json_object_get_string_len(e) + 1;
	}
	return (int)n;
}

/* Copies claim @key's @n patterns to @dst; returns the end. */
static char *
patterns_copy(struct json_object *o, const char *key, int n, char *dst)
{
	struct json_object *a, *e;
	int i;
	size_t l;

	if (n <= 0)
		return dst;
	json_object_object_get_ex(o, key, &a);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(a, (size_t)i);
		l = (size_t)json_object_get_string_len(e);
		memcpy(dst, json_object_get_string(e), l);
		dst[l] = '\0';
		dst += l + 1;
	}
	return dst;
}

/* Checks `sub`, `exp`, `nbf`, `aud`, `iss` of @o at @now. */
static enum auth_err
claims_check(struct auth_keyring *kr, struct json_object *o, time_t now,
	     int64_t *exp, char *err, size_t errlen)
{
	struct json_object *v;
	const char *s;
	size_t n;
	int64_t nbf;
	int r;

	if (!json_object_object_get_ex(o, "sub", &v) ||
	    !json_object_is_type(v, json_type_string))
		return AUTH_E_SUB;
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (!codec_own_user_valid(s, n))	/* the user_id rule, no guest- */
		return AUTH_E_SUB;
	if (claim_int(o, "exp", exp) != 1)
		return AUTH_E_EXP;
	if ((int64_t)now >= *exp) {
		rm_seterr(err, errlen, "token expired at %lld, now %lld",
			  (long long)*exp, (long long)now);
		return AUTH_E_EXPIRED;
	}
	r = claim_int(o, "nbf", &nbf);
	if (r < 0)
		return AUTH_E_NBF;
	if (r && (int64_t)now + AUTH_NBF_LEEWAY_S < nbf)
		return AUTH_E_NOT_YET;
	if (kr->audience && !aud_has(o, kr->audience))
		return AUTH_E_AUD;
	if (kr->issuer && (!json_object_object_get_ex(o, "iss", &v) ||
			   !json_str_is(v, kr->issuer)))
		return AUTH_E_ISS;
	return AUTH_OK;
}

/* Builds the claims a connection keeps from verified payload @o. */
static enum auth_err
claims_build(struct json_object *o, int64_t exp, struct auth_claims **out)
{
	struct json_object *v;
	struct auth_claims *c;
	size_t bytes = 0, sub_len;
	int nr, np;
	char *p;

	nr = patterns_scan(o, "rooms", &bytes);
	if (nr == -2)
		return AUTH_E_ROOMS;
	np = patterns_scan(o, "publish", &bytes);
	if (np == -2)
		return AUTH_E_PUBLISH;
	json_object_object_get_ex(o, "sub", &v);
	sub_len = (size_t)json_object_get_string_len(v);
	c = malloc(sizeof(*c) + sub_len + 1 + bytes);
	if (!c)
		return AUTH_E_NOMEM;
	c->exp = exp;
	c->n_rooms = nr;
	c->n_publish = np;
	c->sub_len = sub_len;
	memcpy(c->buf, json_object_get_string(v), sub_len + 1);
	c->sub = c->buf;
	c->rooms = c->buf + sub_len + 1;
	p = patterns_copy(o, "rooms", nr, c->buf + sub_len + 1);
	c->publish = p;
	patterns_copy(o, "publish", np, p);
	*out = c;
	return AUTH_OK;
}

/*---- verify ----*/

/* Splits @t into its three parts; AUTH_E_FORMAT unless exactly two dots. */
static enum auth_err
token_split(const char *t, size_t len, size_t *d1, size_t *d2)
{
	const char *a = memchr(t, '.', len), *b;

	if (!a)
		return AUTH_E_FORMAT;
	b = memchr(a + 1, '.', len - (size_t)(a + 1 - t));
	if (!b || memchr(b + 1, '.', len - (size_t)(b + 1 - t)))
		return AUTH_E_FORMAT;
	*d1 = (size_t)(a - t);
	*d2 = (size_t)(b - t);
	return AUTH_OK;
}

enum auth_err
auth_verify(struct auth_keyring *kr, const char *token, size_t len,
	    time_t now, struct auth_claims **out, char *err, size_t errlen)
{
	struct json_object *payload = NULL;
	unsigned char *buf = NULL, *hdr, *pl, *sig;
	long hn, pn, sn;
	size_t d1, d2;
	int64_t exp = 0;
	enum auth_err rc;

	*out = NULL;
	rm_seterr(err, errlen, "%s", "");
	rc = len > AUTH_TOKEN_MAX ? AUTH_E_TOO_LONG :
	     token_split(token, len, &d1, &d2);
	if (rc)
		goto out;
	/* the three decoded parts fit in len bytes (3 of every 4) */
	buf = malloc(len);
	rc = AUTH_E_NOMEM;
	if (!buf)
		goto out;
	hdr = buf;
	hn = b64url_decode(token, d1, hdr);
	pl = hdr + (hn > 0 ? hn : 0);
	pn = b64url_decode(token + d1 + 1, d2 - d1 - 1, pl);
	sig = pl + (pn > 0 ? pn : 0);
	sn = b64url_decode(token + d2 + 1, len - d2 - 1, sig);
	rc = AUTH_E_BASE64;
	if (hn < 0 || pn < 0 || sn < 0)
		goto out;
	rc = header_check(kr, hdr, (size_t)hn, err, errlen);
	if (rc)
		goto out;
	/* the signature covers the text "header.payload" as sent */
	rc = sig_check(kr, sig, (size_t)sn, token, d2);
	if (rc)
		goto out;
	rc = AUTH_E_PAYLOAD;
	payload = parse_object(kr, pl, (size_t)pn);
	if (!payload)
		goto out;
	rc = claims_check(kr, payload, now, &exp, err, errlen);
	if (!rc)
		rc = claims_build(payload, exp, out);
out:
	if (rc && err && errlen && !err[0])
		rm_seterr(err, errlen, "%s", auth_strerror(rc));
	json_object_put(payload);
	free(buf);
	return rc;
}

/*---- permissions ----*/

/* Returns 1 if one of the @n patterns at @p matches room @room. */
static int
patterns_match(const char *p, int n, const char *room, size_t len)
{
	size_t pl;
	int i;

	for (i = 0; i < n; i++, p += pl + 1) {
		pl = strlen(p);
		if (pl && p[pl - 1] == '*') {
			if (len >= pl - 1 && !memcmp(p, room, pl - 1))
				return 1;
		} else if (pl == len && !memcmp(p, room, len)) {
			return 1;
		}
	}
	return 0;
}

int
auth_claims_may_join(const struct auth_claims *c, const char *room,
		     size_t len)
{
	return c->n_rooms < 0 || patterns_match(c->rooms, c->n_rooms, room, len);
}

int
auth_claims_may_publish(const struct auth_claims *c, const char *room,
			size_t len)
{
	if (!auth_claims_may_join(c, room, len))
		return 0;
	return c->n_publish < 0 ||
	       patterns_match(c->publish, c->n_publish, room, len);
}

void
auth_claims_free(struct auth_claims *c)
{
	free(c);
}
