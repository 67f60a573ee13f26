/*
 * auth.h: JWT verification for roomcast's auth (PROTOCOL.md "Auth").
 *
 * A keyring holds the one configured algorithm (HS256, RS256 or ES256)
 * and its key: an HS256 secret, or a PEM public key. auth_verify() checks
 * a compact JWS token against it and returns the claims a connection
 * keeps (struct auth_claims, one allocation, no copy of the token).
 * auth_keyring_poll() re-reads a key file that changed; a bad new file
 * keeps the old key.
 *
 * Why each check is as it is: docs/AUTH.md. Pure C + json-c + OpenSSL's
 * libcrypto; knows nothing of lws. Not thread-safe: one thread (the lws
 * service thread) uses a keyring.
 */
#ifndef AUTH_H
#define AUTH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* A token longer than this is refused before any decoding (docs/AUTH.md). */
#define AUTH_TOKEN_MAX 8192
/* A key file larger than this is refused (a PEM RSA-4096 key is < 1 KiB). */
#define AUTH_KEY_FILE_MAX 65536
/* Deepest JSON nesting accepted in a token's header or claims. */
#define AUTH_JSON_DEPTH 8
/* How early (seconds) a token may be used before its `nbf`; `exp` has none. */
#define AUTH_NBF_LEEWAY_S 5

enum auth_alg {
	AUTH_ALG_HS256,
	AUTH_ALG_RS256,
	AUTH_ALG_ES256,
};

/* Why a token was refused; every code maps to `unauthorized` / 401. */
enum auth_err {
	AUTH_OK = 0,
	AUTH_E_NOMEM = -1,	/* an allocation failed */
	AUTH_E_TOO_LONG = -2,	/* longer than AUTH_TOKEN_MAX */
	AUTH_E_FORMAT = -3,	/* not three dot-separated parts */
	AUTH_E_BASE64 = -4,	/* a part is not unpadded base64url */
	AUTH_E_HEADER = -5,	/* header not a JSON object, or has `crit` */
	AUTH_E_ALG = -6,	/* header `alg` is not the configured one */
	AUTH_E_SIG_LEN = -7,	/* signature of the wrong length for alg */
	AUTH_E_SIGNATURE = -8,	/* signature does not verify */
	AUTH_E_PAYLOAD = -9,	/* claims not a JSON object */
	AUTH_E_SUB = -10,	/* `sub` missing, not a user_id, or guest- */
	AUTH_E_EXP = -11,	/* `exp` missing or not an integer */
	AUTH_E_EXPIRED = -12,	/* now >= exp */
	AUTH_E_NBF = -13,	/* `nbf` not an integer */
	AUTH_E_NOT_YET = -14,	/* now + AUTH_NBF_LEEWAY_S < nbf */
	AUTH_E_AUD = -15,	/* `aud` missing/wrong while an audience is set */
	AUTH_E_ISS = -16,	/* `iss` missing/wrong while an issuer is set */
	AUTH_E_ROOMS = -17,	/* `rooms` not an array of room patterns */
	AUTH_E_PUBLISH = -18,	/* `publish` not an array of room patterns */
};

/* The auth options as read from the config (NULL = not set). */
struct auth_config {
	const char *alg;		/* auth-alg; NULL means "HS256" */
	const char *secret;		/* auth-secret */
	const char *secret_file;	/* auth-secret-file */
	const char *public_key_file;	/* auth-public-key-file */
	const char *audience;		/* auth-audience */
	const char *issuer;		/* auth-issuer */
};

/*
 * What a connection keeps of a verified token: one allocation. The room
 * patterns sit back to back as NUL-terminated strings; a pattern is an
 * exact room id or a prefix followed by '*'.
 */
struct auth_claims {
	/*
	 * The token's `exp`, seconds since the epoch. An `exp` written past
	 * int64 reads as INT64_MAX: compute timers without overflow.
	 */
	int64_t exp;
	const char *sub;	/* the user_id, NUL-terminated */
	size_t sub_len;
	int n_rooms;		/* -1: no `rooms` claim, any room */
	int n_publish;		/* -1: no `publish` claim, as rooms */
	const char *rooms;	/* n_rooms patterns */
	const char *publish;	/* n_publish patterns */
	char buf[];
};

struct auth_keyring;

/* Returns 1 if @cfg sets any key option, i.e. auth is on. */
int auth_config_enabled(const struct auth_config *cfg);

/*
 * Builds the keyring of @cfg, reading key files; NULL with a one-line
 * reason in @err (naming the option) on a bad pairing, value or file. On
 * success @err is "" or a warning to log (an HS256 secret under 32 bytes).
 */
struct auth_keyring *auth_keyring_create(const struct auth_config *cfg,
					 char *err, size_t errlen);

/* Frees @kr (NULL is a no-op); claims it verified stay valid. */
void auth_keyring_destroy(struct auth_keyring *kr);

/* The configured algorithm's name ("HS256", ...). */
const char *auth_keyring_alg(const struct auth_keyring *kr);

/*
 * Re-reads the key file if its inode, size, mtime or ctime changed
 * (stat()ed at most once a second of @now). Returns 1 when a new key is
 * in use, 0 when nothing changed, -1 with @err set when the file changed
 * but cannot be used (the old key stays; the same bad file is reported
 * only once).
 */
int auth_keyring_poll(struct auth_keyring *kr, time_t now, char *err,
		      size_t errlen);

/*
 * Verifies the @len bytes of @token at time @now. On AUTH_OK, *@out gets
 * the claims (free with auth_claims_free); otherwise *@out is NULL and
 * @err (may be NULL) says why in one line.
 */
enum auth_err auth_verify(struct auth_keyring *kr, const char *token,
			  size_t len, time_t now, struct auth_claims **out,
			  char *err, size_t errlen);

/* A short text for @e ("token expired", ...). */
const char *auth_strerror(enum auth_err e);

/* Returns 1 if @c allows joining (and reading history of) room @room. */
int auth_claims_may_join(const struct auth_claims *c, const char *room,
			 size_t len);

/* Returns 1 if @c allows broadcasting to @room (implies may_join). */
int auth_claims_may_publish(const struct auth_claims *c, const char *room,
			    size_t len);

/* Frees claims from auth_verify(); NULL is a no-op. */
void auth_claims_free(struct auth_claims *c);

#endif
