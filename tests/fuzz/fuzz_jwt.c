/*
 * fuzz_jwt: auth_verify() (plugin/core/auth.c) on tokens the fuzzer writes,
 * and on tokens it has the harness sign, so that the claim code behind the
 * signature is reached too.
 *
 * Input: byte 0 picks the mode (byte0 % 3) and the keyrings (bit 4: with
 * audience "rc" and issuer "idp" configured).
 *   0  the rest is a token, verified against the HS256, RS256 and ES256
 *      keyrings;
 *   1  the rest is HEADER '\n' CLAIMS (both as JSON text), signed here with
 *      the HS256 secret (FUZZ_SECRET) and verified;
 *   2  the same, signed here with the ES256 key and verified.
 * "Now" is 1700000000.
 *
 * Invariants: claims_iff_ok (claims exactly when AUTH_OK), err_text (a
 * refusal says why, NUL-terminated), ok_sub (sub follows the user_id rule,
 * no guest- prefix, sub_len right), ok_exp (exp > now), ok_patterns (every
 * kept pattern is a room id or room-id prefix + '*'), pattern_self (an
 * exact pattern allows its own room), publish_implies_join, sig_binding
 * (a signed token that passed fails once one signature byte changes).
 */
#include "auth.h"
#include "fuzz_util.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <unistd.h>

#define FUZZ_NOW 1700000000
#define FUZZ_SECRET "fuzz-secret-0123456789abcdef0123"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* [audience/issuer set][HS256, RS256, ES256] */
static struct auth_keyring *rings[2][3];
static EVP_PKEY *es_key;
static char dir[256];

static void
cleanup(void)
{
	int a, k;
	char p[300];

	for (a = 0; a < 2; a++)
		for (k = 0; k < 3; k++)
			auth_keyring_destroy(rings[a][k]);
	snprintf(p, sizeof(p), "%s/rsa.pem", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/ec.pem", dir);
	unlink(p);
	rmdir(dir);
	EVP_PKEY_free(es_key);
}

static void
pem_out(const char *path, EVP_PKEY *pk)
{
	FILE *f = fopen(path, "w");

	if (!f || PEM_write_PUBKEY(f, pk) != 1 || fclose(f))
		abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	char rp[300], ep[300], err[256];
	int a;

	es_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	snprintf(dir, sizeof(dir), "%s/fuzz_jwt.XXXXXX", tmp ? tmp : "/tmp");
	if (!rsa || !es_key || !mkdtemp(dir))
		abort();
	snprintf(rp, sizeof(rp), "%s/rsa.pem", dir);
	snprintf(ep, sizeof(ep), "%s/ec.pem", dir);
	pem_out(rp, rsa);
	pem_out(ep, es_key);
	EVP_PKEY_free(rsa);
	for (a = 0; a < 2; a++) {
		struct auth_config hs = { .secret = FUZZ_SECRET };
		struct auth_config rs = { .alg = "RS256", .public_key_file = rp };
		struct auth_config es = { .alg = "ES256", .public_key_file = ep };

		if (a) {
			hs.audience = rs.audience = es.audience = "rc";
			hs.issuer = rs.issuer = es.issuer = "idp";
		}
		rings[a][0] = auth_keyring_create(&hs, err, sizeof(err));
		rings[a][1] = auth_keyring_create(&rs, err, sizeof(err));
		rings[a][2] = auth_keyring_create(&es, err, sizeof(err));
		if (!rings[a][0] || !rings[a][1] || !rings[a][2])
			abort();
	}
	atexit(cleanup);
	return 0;
}

/*---- minting ----*/

static size_t
b64url_out(const uint8_t *in, size_t n, char *out)
{
	static const char a[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t i, o = 0;
	uint32_t v;

	for (i = 0; i < n; i += 3) {
		v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 63];
		if (i + 1 < n)
			out[o++] = a[(v >> 6) & 63];
		if (i + 2 < n)
			out[o++] = a[v & 63];
	}
	return o;
}

/* Signs "b64(h).b64(c)" with HS256 (@es 0) or ES256; a malloc'd token. */
static char *
mint(const uint8_t *h, size_t hn, const uint8_t *c, size_t cn, int es,
     size_t *len)
{
	char *t = malloc((hn + cn) * 4 / 3 + 200);
	unsigned char sig[80], der[80];
	const unsigned char *dp = der;
	size_t n = 0, dn = sizeof(der);
	unsigned int hl = 0;
	EVP_MD_CTX *md;
	ECDSA_SIG *s;

	if (!t)
		abort();
	n = b64url_out(h, hn, t);
	t[n++] = '.';
	n += b64url_out(c, cn, t + n);
	if (!es) {
		if (!HMAC(EVP_sha256(), FUZZ_SECRET, (int)strlen(FUZZ_SECRET),
			  (const unsigned char *)t, n, sig, &hl))
			abort();
	} else {
		md = EVP_MD_CTX_new();
		if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL,
					      es_key) != 1 ||
		    EVP_DigestSign(md, der, &dn, (const unsigned char *)t,
				   n) != 1)
			abort();
		EVP_MD_CTX_free(md);
		s = d2i_ECDSA_SIG(NULL, &dp, (long)dn);
		if (!s)
			abort();
		BN_bn2binpad(ECDSA_SIG_get0_r(s), sig, 32);
		BN_bn2binpad(ECDSA_SIG_get0_s(s), sig + 32, 32);
		ECDSA_SIG_free(s);
		hl = 64;
	}
	t[n++] = '.';
	n += b64url_out(sig, hl, t + n);
	t[n] = '\0';
	*len = n;
	return t;
}

/*---- invariants ----*/

static int
ref_pattern_valid(const char *p, size_t n)
{
	if (n && p[n - 1] == '*')
		return n == 1 || ref_room_valid(p, n - 1);
	return ref_room_valid(p, n);
}

/* @n patterns at @p, of `rooms` (@rooms 1) or `publish` of claims @c. */
static void
check_patterns(const struct auth_claims *c, const char *p, int n, int rooms)
{
	size_t l;
	int i;

	for (i = 0; i < n; i++, p += l + 1) {
		l = strlen(p);
		CHECK("ok_patterns", ref_pattern_valid(p, l));
		/* an exact pattern allows its own room */
		if (l && p[l - 1] != '*')
			CHECK("pattern_self", rooms ?
			      auth_claims_may_join(c, p, l) :
			      auth_claims_may_publish(c, p, l) ==
			      auth_claims_may_join(c, p, l));
		/* probes: the pattern's text, and without its last byte */
		CHECK("publish_implies_join",
		      !auth_claims_may_publish(c, p, l ? l - 1 : 0) ||
		      auth_claims_may_join(c, p, l ? l - 1 : 0));
		CHECK("publish_implies_join",
		      !auth_claims_may_publish(c, p, l) ||
		      auth_claims_may_join(c, p, l));
	}
}

static void
check_ok(const struct auth_claims *c)
{
	CHECK("ok_sub", strlen(c->sub) == c->sub_len &&
	      ref_user_valid(c->sub, c->sub_len) &&
	      (c->sub_len < 6 || memcmp(c->sub, "guest-", 6)));
	CHECK("ok_exp", c->exp > FUZZ_NOW);
	check_patterns(c, c->rooms, c->n_rooms, 1);
	check_patterns(c, c->publish, c->n_publish, 0);
	CHECK("publish_implies_join", !auth_claims_may_publish(c, "x", 1) ||
	      auth_claims_may_join(c, "x", 1));
}

/* Verifies the @n bytes at @tok (an exact-size copy); returns the code. */
static enum auth_err
verify(struct auth_keyring *kr, const char *tok, size_t n)
{
	char *copy = malloc(n ? n : 1), err[160];
	struct auth_claims *c = (struct auth_claims *)&c;	/* not NULL */
	enum auth_err rc;

	if (!copy)
		abort();
	memcpy(copy, tok, n);
	memset(err, 'x', sizeof(err));
	rc = auth_verify(kr, copy, n, FUZZ_NOW, &c, err, sizeof(err));
	CHECK("claims_iff_ok", (rc == AUTH_OK) == (c != NULL));
	CHECK("err_text", memchr(err, '\0', sizeof(err)) &&
	      (rc == AUTH_OK) == (err[0] == '\0'));
	if (c)
		check_ok(c);
	auth_claims_free(c);
	free(copy);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl;
	unsigned int mode, a;
	char *t;
	size_t n, dot;
	int k;

	if (size < 1 || size > 2 * AUTH_TOKEN_MAX)
		return 0;
	mode = data[0] % 3;
	a = (data[0] >> 4) & 1;
	data++;
	size--;
	if (mode == 0) {
		for (k = 0; k < 3; k++)
			verify(rings[a][k], (const char *)data, size);
		return 0;
	}
	nl = memchr(data, '\n', size);
	if (!nl)
		return 0;
	t = mint(data, (size_t)(nl - data), nl + 1,
		 size - (size_t)(nl + 1 - data), mode == 2, &n);
	if (verify(rings[a][mode == 1 ? 0 : 2], t, n) == AUTH_OK) {
		/* the first signature character carries 6 whole bits */
		dot = (size_t)(strrchr(t, '.') - t) + 1;
		t[dot] = t[dot] == 'A' ? 'B' : 'A';
		CHECK("sig_binding",
		      verify(rings[a][mode == 1 ? 0 : 2], t, n) != AUTH_OK);
	}
	free(t);
	return 0;
}
