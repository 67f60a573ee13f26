/*
 * test_jwt.c: JWT verification (auth.h). Every token is minted here with
 * OpenSSL from header and claims text written in the test, with keys
 * generated in the test (RSA 2048, EC P-256) and PEM files in a temporary
 * directory, so each check of docs/AUTH.md is held by a failing case.
 */
#include "unit.h"

#include "auth.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define T0 1700000000	/* "now" in these tests */
#define SECRET "0123456789abcdef0123456789abcdef"

static EVP_PKEY *rsa_key, *rsa_other, *ec_key, *ec_other;
static char tmpdir[64];

/*---- minting ----*/

static char *
b64url(const unsigned char *in, size_t n)
{
	static const char a[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *out = malloc(n * 4 / 3 + 4), *o = out;
	size_t i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	for (i = 0; i + 2 < n; i += 3) {
		*o++ = a[in[i] >> 2];
		*o++ = a[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		*o++ = a[((in[i + 1] & 15) << 2) | (in[i + 2] >> 6)];
		*o++ = a[in[i + 2] & 63];
	}
	if (n - i == 1) {
		*o++ = a[in[i] >> 2];
		*o++ = a[(in[i] & 3) << 4];
	} else if (n - i == 2) {
		*o++ = a[in[i] >> 2];
		*o++ = a[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		*o++ = a[(in[i + 1] & 15) << 2];
	}
	*o = '\0';
	return out;
}

/* "b64(header).b64(claims)" */
static char *
signing_input(const char *header, const char *claims)
{
	char *h = b64url((const unsigned char *)header, strlen(header));
	char *c = b64url((const unsigned char *)claims, strlen(claims));
	char *s = malloc(strlen(h) + strlen(c) + 2);

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	sprintf(s, "%s.%s", h, c);
	free(h);
	free(c);
	return s;
}

/* Appends "." and the base64url of @sig to @input (freed). */
static char *
join_sig(char *input, const unsigned char *sig, size_t n)
{
	char *s = b64url(sig, n);
	char *t = malloc(strlen(input) + strlen(s) + 2);

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	sprintf(t, "%s.%s", input, s);
	free(input);
	free(s);
	return t;
}

static char *
mint_hs(const char *header, const char *claims, const void *key, size_t klen)
{
	char *in = signing_input(header, claims);
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(HMAC(EVP_sha256(), key, (int)klen,
		(unsigned char *)in, strlen(in), mac, &n));
	return join_sig(in, mac, n);
}

/* The DER signature of SHA-256 over @in by @pk (RSA PKCS#1 v1.5 / ECDSA). */
static unsigned char *
evp_sign(EVP_PKEY *pk, const char *in, size_t *n)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *sig;

	CU_ASSERT_FATAL(md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL,
						 pk) == 1);
	CU_ASSERT_FATAL(EVP_DigestSign(md, NULL, n, (const unsigned char *)in,
				       strlen(in)) == 1);
	sig = malloc(*n);
	CU_ASSERT_FATAL(sig && EVP_DigestSign(md, sig, n,
		(const unsigned char *)in, strlen(in)) == 1);
	EVP_MD_CTX_free(md);
	return sig;
}

static char *
mint_rs(const char *header, const char *claims, EVP_PKEY *pk)
{
	char *in = signing_input(header, claims);
	size_t n;
	unsigned char *sig = evp_sign(pk, in, &n);
	char *t = join_sig(in, sig, n);

	free(sig);
	return t;
}

/* ES256; @der keeps OpenSSL's DER signature instead of JWS's r || s. */
static char *
mint_es(const char *header, const char *claims, EVP_PKEY *pk, int der)
{
	char *in = signing_input(header, claims), *t;
	size_t n;
	unsigned char *sig = evp_sign(pk, in, &n), raw[64];
	const unsigned char *p = sig;
	ECDSA_SIG *es;

	if (der) {
		t = join_sig(in, sig, n);
		free(sig);
		return t;
	}
	es = d2i_ECDSA_SIG(NULL, &p, (long)n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(es);
	BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32);
	BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32);
	ECDSA_SIG_free(es);
	free(sig);
	return join_sig(in, raw, 64);
}

/*---- fixtures ----*/

static void
write_file(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_FATAL(fwrite(data, 1, n, f) == n);
	CU_ASSERT_FATAL(fclose(f) == 0);
}

static void
write_pem(const char *path, EVP_PKEY *pk)
{
	FILE *f = fopen(path, "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_FATAL(PEM_write_PUBKEY(f, pk) == 1);
	CU_ASSERT_FATAL(fclose(f) == 0);
}

/* The text of @pk's PEM, as an attacker would read it from the server. */
static char *
pem_text(EVP_PKEY *pk, size_t *n)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *out;
	long len;

	CU_ASSERT_FATAL(b && PEM_write_bio_PUBKEY(b, pk) == 1);
	len = BIO_get_mem_data(b, &p);
	out = malloc((size_t)len + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	memcpy(out, p, (size_t)len);
	out[len] = '\0';
	*n = (size_t)len;
	BIO_free(b);
	return out;
}

static const char *
tmp_path(const char *name)
{
	static char buf[4][128];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmpdir, name);
	return buf[i];
}

int
jwt_suite_init(void)
{
	strcpy(tmpdir, "/tmp/rc-test-jwt.XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	rsa_other = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ec_other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	return !(rsa_key && rsa_other && ec_key && ec_other);
}

int
jwt_suite_cleanup(void)
{
	static const char *const names[] = { "rsa.pem", "ec.pem", "secret",
		"key.pem", "small.pem", "tmp" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlink(tmp_path(names[i]));
	rmdir(tmpdir);
	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(rsa_other);
	EVP_PKEY_free(ec_key);
	EVP_PKEY_free(ec_other);
	return 0;
}

static struct auth_keyring *
ring_hs(const char *audience, const char *issuer)
{
	struct auth_config cfg = { .secret = SECRET, .audience = audience,
				   .issuer = issuer };
	char err[256] = "x";
	struct auth_keyring *kr = auth_keyring_create(&cfg, err, sizeof(err));

	CU_ASSERT_PTR_NOT_NULL_FATAL(kr);
	CU_ASSERT_STRING_EQUAL(err, "");	/* 32 bytes: no warning */
	return kr;
}

static struct auth_keyring *
ring_pem(const char *alg, EVP_PKEY *pk)
{
	const char *path = tmp_path(!strcmp(alg, "RS256") ? "rsa.pem" : "ec.pem");
	struct auth_config cfg = { .alg = alg, .public_key_file = path };
	char err[256];
	struct auth_keyring *kr;

	write_pem(path, pk);
	kr = auth_keyring_create(&cfg, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(kr);
	return kr;
}

/* Verifies @tok (freed) at T0; returns the code, freeing any claims. */
static enum auth_err
check(struct auth_keyring *kr, char *tok)
{
	struct auth_claims *c = NULL;
	char err[256];
	enum auth_err rc = auth_verify(kr, tok, strlen(tok), T0, &c, err,
				       sizeof(err));

	CU_ASSERT(rc == AUTH_OK ? c != NULL && !err[0] : c == NULL && err[0]);
	auth_claims_free(c);
	free(tok);
	return rc;
}

#define HS "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define RS "{\"alg\":\"RS256\"}"
#define ES "{\"alg\":\"ES256\"}"
#define GOOD "{\"sub\":\"alice\",\"exp\":1700000100}"

/* An HS256 token of @claims under the test secret, checked at T0. */
static enum auth_err
check_hs(struct auth_keyring *kr, const char *claims)
{
	return check(kr, mint_hs(HS, claims, SECRET, strlen(SECRET)));
}

/*---- tests ----*/

static void
good_tokens_of_each_alg(void)
{
	struct auth_keyring *hs = ring_hs(NULL, NULL);
	struct auth_keyring *rs = ring_pem("RS256", rsa_key);
	struct auth_keyring *es = ring_pem("ES256", ec_key);
	char *tok = mint_hs(HS, GOOD, SECRET, strlen(SECRET));
	struct auth_claims *c = NULL;

	CU_ASSERT_EQUAL(auth_verify(hs, tok, strlen(tok), T0, &c, NULL, 0),
			AUTH_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->sub, "alice");
	CU_ASSERT_EQUAL(c->sub_len, 5);
	CU_ASSERT_EQUAL(c->exp, 1700000100);
	CU_ASSERT_EQUAL(c->n_rooms, -1);
	CU_ASSERT_EQUAL(c->n_publish, -1);
	auth_claims_free(c);
	free(tok);
	CU_ASSERT_STRING_EQUAL(auth_keyring_alg(hs), "HS256");
	CU_ASSERT_STRING_EQUAL(auth_keyring_alg(rs), "RS256");
	CU_ASSERT_STRING_EQUAL(auth_keyring_alg(es), "ES256");
	CU_ASSERT_EQUAL(check(rs, mint_rs(RS, GOOD, rsa_key)), AUTH_OK);
	CU_ASSERT_EQUAL(check(es, mint_es(ES, GOOD, ec_key, 0)), AUTH_OK);
	/* typ is ignored, whatever it says */
	CU_ASSERT_EQUAL(check(hs, mint_hs("{\"alg\":\"HS256\",\"typ\":\"xyz\"}",
				       GOOD, SECRET, strlen(SECRET))), AUTH_OK);
	auth_keyring_destroy(hs);
	auth_keyring_destroy(rs);
	auth_keyring_destroy(es);
}

static void
wrong_key_is_refused(void)
{
	struct auth_keyring *hs = ring_hs(NULL, NULL);
	struct auth_keyring *rs = ring_pem("RS256", rsa_key);
	struct auth_keyring *es = ring_pem("ES256", ec_key);

	CU_ASSERT_EQUAL(check(hs, mint_hs(HS, GOOD, "other", 5)),
			AUTH_E_SIGNATURE);
	/* the secret with one byte more or less */
	CU_ASSERT_EQUAL(check(hs, mint_hs(HS, GOOD, SECRET, strlen(SECRET) - 1)),
			AUTH_E_SIGNATURE);
	CU_ASSERT_EQUAL(check(rs, mint_rs(RS, GOOD, rsa_other)),
			AUTH_E_SIGNATURE);
	CU_ASSERT_EQUAL(check(es, mint_es(ES, GOOD, ec_other, 0)),
			AUTH_E_SIGNATURE);
	auth_keyring_destroy(hs);
	auth_keyring_destroy(rs);
	auth_keyring_destroy(es);
}

static void
tampered_claims_are_refused(void)
{
	struct auth_keyring *hs = ring_hs(NULL, NULL);
	char *tok = mint_hs(HS, GOOD, SECRET, strlen(SECRET));
	char *evil = signing_input(HS, "{\"sub\":\"mallory\",\"exp\":1700000100}");
	char *forged = malloc(strlen(evil) + strlen(tok) + 1);

	/* mallory's claims with alice's signature */
	CU_ASSERT_PTR_NOT_NULL_FATAL(forged);
	sprintf(forged, "%s%s", evil, strrchr(tok, '.'));
	CU_ASSERT_EQUAL(check(hs, forged), AUTH_E_SIGNATURE);
	free(evil);
	free(tok);
	auth_keyring_destroy(hs);
}

static void
alg_must_be_the_configured_one(void)
{
	struct auth_keyring *hs = ring_hs(NULL, NULL);
	struct auth_keyring *rs = ring_pem("RS256", rsa_key);
	struct auth_keyring *es = ring_pem("ES256", ec_key);
	char *in;

	/* alg none, with an empty signature and with a valid HMAC */
	in = signing_input("{\"alg\":\"none\"}", GOOD);
	CU_ASSERT_EQUAL(check(hs, join_sig(in, (const unsigned char *)"", 0)),
			AUTH_E_ALG);
	CU_ASSERT_EQUAL(check(hs, mint_hs("{\"alg\":\"none\"}", GOOD, SECRET,
					  strlen(SECRET))), AUTH_E_ALG);
	/* exact match only: case, absent, other types */
	CU_ASSERT_EQUAL(check(hs, mint_hs("{\"alg\":\"hs256\"}", GOOD, SECRET,
					  strlen(SECRET))), AUTH_E_ALG);
	CU_ASSERT_EQUAL(check(hs, mint_hs("{\"alg\":\"HS256 \"}", GOOD, SECRET,
					  strlen(SECRET))), AUTH_E_ALG);
	CU_ASSERT_EQUAL(check(hs, mint_hs("{\"typ\":\"JWT\"}", GOOD, SECRET,
					  strlen(SECRET))), AUTH_E_ALG);
	CU_ASSERT_EQUAL(check(hs, mint_hs("{\"alg\":[\"HS256\"]}", GOOD, SECRET,
					  strlen(SECRET))), AUTH_E_ALG);
	CU_ASSERT_EQUAL(check(hs, mint_hs("{\"alg\":\"HS256\\u0000\"}", GOOD,
					  SECRET, strlen(SECRET))), AUTH_E_ALG);
	/* a good token of another alg */
	CU_ASSERT_EQUAL(check(hs, mint_rs(RS, GOOD, rsa_key)), AUTH_E_ALG);
	CU_ASSERT_EQUAL(check(rs, mint_es(ES, GOOD, ec_key, 0)), AUTH_E_ALG);
	CU_ASSERT_EQUAL(check(es, mint_rs(RS, GOOD, rsa_key)), AUTH_E_ALG);
	CU_ASSERT_EQUAL(check(rs, mint_hs(HS, GOOD, SECRET, strlen(SECRET))),
			AUTH_E_ALG);
	/* a `crit` extension we cannot know is refused (RFC 7515 4.1.11) */
	CU_ASSERT_EQUAL(check(hs, mint_hs("{\"alg\":\"HS256\",\"crit\":[\"x\"],"
					  "\"x\":1}", GOOD, SECRET,
					  strlen(SECRET))), AUTH_E_HEADER);
	auth_keyring_destroy(hs);
	auth_keyring_destroy(rs);
	auth_keyring_destroy(es);
}

static void
hs256_signed_with_the_public_key_is_refused(void)
{
	struct auth_keyring *rs = ring_pem("RS256", rsa_key);
	struct auth_keyring *es = ring_pem("ES256", ec_key);
	size_t n, m;
	char *pem = pem_text(rsa_key, &n), *ecpem = pem_text(ec_key, &m);

	/* the classic algorithm confusion: HMAC keyed with the PEM text */
	CU_ASSERT_EQUAL(check(rs, mint_hs(HS, GOOD, pem, n)), AUTH_E_ALG);
	CU_ASSERT_EQUAL(check(rs, mint_hs(HS, GOOD, pem, n - 1)), AUTH_E_ALG);
	CU_ASSERT_EQUAL(check(es, mint_hs(HS, GOOD, ecpem, m)), AUTH_E_ALG);
	/* and claiming the configured alg does not make the HMAC verify */
	CU_ASSERT_EQUAL(check(rs, mint_hs(RS, GOOD, pem, n)), AUTH_E_SIG_LEN);
	CU_ASSERT_EQUAL(check(es, mint_hs(ES, GOOD, ecpem, m)), AUTH_E_SIG_LEN);
	free(pem);
	free(ecpem);
	auth_keyring_destroy(rs);
	auth_keyring_destroy(es);
}

static void
signature_length_is_exact(void)
{
	struct auth_keyring *hs = ring_hs(NULL, NULL);
	struct auth_keyring *rs = ring_pem("RS256", rsa_key);
	struct auth_keyring *es = ring_pem("ES256", ec_key);
	unsigned char zeros[300] = { 0 };

	/* OpenSSL's DER ECDSA signature is not JWS's r || s */
	CU_ASSERT_EQUAL(check(es, mint_es(ES, GOOD, ec_key, 1)), AUTH_E_SIG_LEN);
	CU_ASSERT_EQUAL(check(es, join_sig(signing_input(ES, GOOD), zeros, 63)),
			AUTH_E_SIG_LEN);
	CU_ASSERT_EQUAL(check(es, join_sig(signing_input(ES, GOOD), zeros, 65)),
			AUTH_E_SIG_LEN);
	/* r = s = 0 has the right length and must fail as a signature */
	CU_ASSERT_EQUAL(check(es, join_sig(signing_input(ES, GOOD), zeros, 64)),
			AUTH_E_SIGNATURE);
	CU_ASSERT_EQUAL(check(hs, join_sig(signing_input(HS, GOOD), zeros, 31)),
			AUTH_E_SIG_LEN);
	CU_ASSERT_EQUAL(check(hs, join_sig(signing_input(HS, GOOD), zeros, 0)),
			AUTH_E_SIG_LEN);
	CU_ASSERT_EQUAL(check(rs, join_sig(signing_input(RS, GOOD), zeros, 255)),
			AUTH_E_SIG_LEN);
	CU_ASSERT_EQUAL(check(rs, join_sig(signing_input(RS, GOOD), zeros, 256)),
			AUTH_E_SIGNATURE);
	auth_keyring_destroy(hs);
	auth_keyring_destroy(rs);
	auth_keyring_destroy(es);
}

/* @tok (freed) with byte @at replaced by @c, checked against @kr. */
static enum auth_err
check_with(struct auth_keyring *kr, char *tok, size_t at, char c)
{
	tok[at] = c;
	return check(kr, tok);
}

static void
base64url_is_strict(void)
{
	struct auth_keyring *hs = ring_hs(NULL, NULL);
	const size_t hlen = 36;	/* strlen(b64url(HS)) */
	char *t;
	size_t n;

	t = mint_hs(HS, GOOD, SECRET, strlen(SECRET));
	CU_ASSERT_EQUAL_FATAL(strchr(t, '.') - t, (long)hlen);
	free(t);
	/* a byte outside the alphabet in each part */
	CU_ASSERT_EQUAL(check_with(hs, mint_hs(HS, GOOD, SECRET, 32), 3, '+'),
			AUTH_E_BASE64);
	CU_ASSERT_EQUAL(check_with(hs, mint_hs(HS, GOOD, SECRET, 32), hlen + 3,
				   '/'), AUTH_E_BASE64);
	t = mint_hs(HS, GOOD, SECRET, 32);
	CU_ASSERT_EQUAL(check_with(hs, t, strlen(t) - 2, '!'), AUTH_E_BASE64);
	CU_ASSERT_EQUAL(check_with(hs, mint_hs(HS, GOOD, SECRET, 32), 0, ' '),
			AUTH_E_BASE64);
	CU_ASSERT_EQUAL(check_with(hs, mint_hs(HS, GOOD, SECRET, 32), 5,
				   '\xc3'), AUTH_E_BASE64);
	/* padding: the 43-char HS256 signature plus '=' is 44 chars */
	t = mint_hs(HS, GOOD, SECRET, 32);
	n = strlen(t);
	t = realloc(t, n + 2);
	strcpy(t + n, "=");
	CU_ASSERT_EQUAL(check(hs, t), AUTH_E_BASE64);
	/* a length of 4k+1 cannot be base64 */
	t = mint_hs(HS, GOOD, SECRET, 32);
	n = strlen(t);
	t = realloc(t, n + 3);
	strcpy(t + n, "AA");	/* 43 + 2 chars */
	CU_ASSERT_EQUAL(check(hs, t), AUTH_E_BASE64);
	/* NUL inside the token */
	t = mint_hs(HS, GOOD, SECRET, 32);
	n = strlen(t);
	t[10] = '\0';
	{
		struct auth_claims *c = NULL;

		CU_ASSERT_EQUAL(auth_verify(hs, t, n, T0, &c, NULL, 0),
				AUTH_E_BASE64);
		CU_ASSERT_PTR_NULL(c);
	}
	free(t);
	auth_keyring_destroy(hs);
}

static void
unused_bits_are_refused(void)
{
	struct auth_keyring *hs = ring_hs(NULL, NULL);
	/* 32 bytes -> 43 chars: the last carries 4 bits of data, 2 unused */
	unsigned char sig[32] = { 0 };
	char *t = join_sig(signing_input(HS, GOOD), sig, 32);

	CU_ASSERT_EQUAL(t[strlen(t) - 1], 'A');
	t[strlen(t) - 1] = 'B';	/* sets an unused bit only */
	CU_ASSERT_EQUAL(check(hs, t), AUTH_E_BASE64);
	auth_keyring_destroy(hs);
}

static void
shape_is_three_parts(void)
{
	struct auth_keyring *hs = ring_hs(NULL, NULL);
	char *t = mint_hs(HS, GOOD, SECRET, 32);
	char *four = malloc(strlen(t) + 3);
	struct auth_claims *c = NULL;

	sprintf(four, "%s.A", t);
	CU_ASSERT_EQUAL(check(hs, four), AUTH_E_FORMAT);
	*strrchr(t, '.') = '\0';
	CU_ASSERT_EQUAL(check(hs, t), AUTH_E_FORMAT);
	CU_ASSERT_EQUAL(auth_verify(hs, "", 0, T0, &c, NULL, 0), AUTH_E_FORMAT);
	CU_ASSERT_EQUAL(auth_verify(hs, "..", 2, T0, &c, NULL, 0),
			AUTH_E_HEADER);
	CU_ASSERT_PTR_NULL(c);
	auth_keyring_destroy(hs);
}

static void
token_size_is_bounded(void)
{
	struct auth_keyring *hs = ring_hs(NULL, NULL);
	char *claims = malloc(AUTH_TOKEN_MAX), *t = NULL;
	size_t pad, best = 0;

	/* grow a filler until the token passes AUTH_TOKEN_MAX */
	for (pad = 6000; pad < AUTH_TOKEN_MAX; pad++) {
		snprintf(claims, AUTH_TOKEN_MAX,
			 "{\"sub\":\"alice\",\"exp\":1700000100,\"x\":\"%0*d\"}",
			 (int)pad, 0);
		free(t);
		t = mint_hs(HS, claims, SECRET, 32);
		if (strlen(t) > AUTH_TOKEN_MAX)
			break;
		best = strlen(t);
		CU_ASSERT_EQUAL(check(hs, strdup(t)), AUTH_OK);
		pad += best < AUTH_TOKEN_MAX - 20 ? 10 : 0;
	}
	CU_ASSERT(best >= AUTH_TOKEN_MAX - 2);
	CU_ASSERT(strlen(t) <= AUTH_TOKEN_MAX + 3);
	CU_ASSERT_EQUAL(check(hs, t), AUTH_E_TOO_LONG);
	free(claims);
	auth_keyring_destroy(hs);
}

static void
json_is_bounded_and_strict(void)
{
	struct auth_keyring *hs = ring_hs(NULL, NULL);

	/* nesting at the bound, one over it */
	CU_ASSERT_EQUAL(check_hs(hs, "{\"sub\":\"alice\",\"exp\":1700000100,"
				 "\"x\":[[[[[[[1]]]]]]]}"), AUTH_OK);
	CU_ASSERT_EQUAL(check_hs(hs, "{\"sub\":\"alice\",\"exp\":1700000100,"
				 "\"x\":[[[[[[[[1]]]]]]]]}"), AUTH_E_PAYLOAD);
	CU_ASSERT_EQUAL(check_hs(hs, "[1]"), AUTH_E_PAYLOAD);
	CU_ASSERT_EQUAL(check_hs(hs, "\"alice\""), AUTH_E_PAYLOAD);
	CU_ASSERT_EQUAL(check_hs(hs, GOOD " x"), AUTH_E_PAYLOAD);
	CU_ASSERT_EQUAL(check_hs(hs, "{\"sub\":\"alice\",\"exp\":1700000100,}"),
			AUTH_E_PAYLOAD);
	CU_ASSERT_EQUAL(check_hs(hs, "{\"sub\":\"alice\",\"exp\":1700000100,"
				 "\"x\":\"\xff\"}"), AUTH_E_PAYLOAD);
	CU_ASSERT_EQUAL(check_hs(hs, ""), AUTH_E_PAYLOAD);
	CU_ASSERT_EQUAL(check(hs, mint_hs("not json", GOOD, SECRET, 32)),
			AUTH_E_HEADER);
	CU_ASSERT_EQUAL(check(hs, mint_hs("[\"HS256\"]", GOOD, SECRET, 32)),
			AUTH_E_HEADER);
	CU_ASSERT_EQUAL(check(hs, mint_hs("{\"alg\":\"HS256\",\"x\":[[[[[[[[1]]]]]]]]}",
					  GOOD, SECRET, 32)), AUTH_E_HEADER);
	/* whitespace around a value is JSON */
	CU_ASSERT_EQUAL(check_hs(hs, " " GOOD "\n"), AUTH_OK);
	auth_keyring_destroy(hs);
}

static void
exp_and_nbf(void)
{
	struct auth_keyring *hs = ring_hs(NULL, NULL);

	CU_ASSERT_EQUAL(check_hs(hs, "{\"sub\":\"a\",\"exp\":1700000001}"),
			AUTH_OK);
	/* expired at exp itself: no leeway */
	CU_ASSERT_EQUAL(check_hs(hs, "{\"sub\":\"a\",\"exp\":1700000000}"),
			AUTH_E_EXPIRED);
	CU_ASSERT_EQUAL(check_hs(hs, "{\"sub\":\"a\",\"exp\":-1}"),
			AUTH_E_EXPIRED);
	CU_ASSERT_EQUAL(check_hs(hs, "{\"sub\":\"a\"}"), AUTH_E_EXP);
	CU_ASSERT_EQUAL(check_hs(hs, "{\"sub\":\"a\",\"exp\":\"1800000000\"}"),
			AUTH_E_EXP);
	CU_ASSERT_EQUAL(check_hs(hs, "{\"sub\":\"a\",\"exp\":1800000000.0}"),
			AUTH_E_EXP);
	CU_ASSERT_EQUAL(check_hs(hs, "{\"sub\":\"a\",\"exp\":1.8e9}"),
			AUTH_E_EXP);
	CU_ASSERT_EQUAL(check_hs(hs, "{\"sub\":\"a\",\"exp\":true}"),
			AUTH_E_EXP);
	CU_ASSERT_EQUAL(check_hs(hs, "{\"sub\":\"a\",\"exp\":null}"),
			AUTH_E_EXP);
	/* an integer too large for int64 is not a way to live for ever */
	CU_ASSERT_NOT_EQUAL(check_hs(hs, "{\"sub\":\"a\",\"exp\":"
				     "-99999999999999999999999}"), AUTH_OK);
	/* past int64: read as INT64_MAX, not wrapped into the past */
	{
		char *t = mint_hs(HS, "{\"sub\":\"a\",\"exp\":99999999999999999999}",
				  SECRET, 32);
		struct auth_claims *c = NULL;

		CU_ASSERT_EQUAL(auth_verify(hs, t, strlen(t), T0, &c, NULL, 0),
				AUTH_OK);
		CU_ASSERT_FATAL(c != NULL);
		CU_ASSERT_EQUAL(c->exp, INT64_MAX);
		auth_claims_free(c);
		free(t);
	}
	/* nbf: up to AUTH_NBF_LEEWAY_S early is fine, later not */
	CU_ASSERT_EQUAL(check_hs(hs, "{\"sub\":\"a\",\"exp\":1700000100,"
				 "\"nbf\":1700000005}"), AUTH_OK);
	CU_ASSERT_EQUAL(check_hs(hs, "{\"sub\":\"a\",\"exp\":1700000100,"
				 "\"nbf\":1700000006}"), AUTH_E_NOT_YET);
	CU_ASSERT_EQUAL(check_hs(hs, "{\"sub\":\"a\",\"exp\":1700000100,"
				 "\"nbf\":1700003600}"), AUTH_E_NOT_YET);
	CU_ASSERT_EQUAL(check_hs(hs, "{\"sub\":\"a\",\"exp\":1700000100,"
				 "\"nbf\":\"0\"}"), AUTH_E_NBF);
	CU_ASSERT_EQUAL(check_hs(hs, "{\"sub\":\"a\",\"exp\":1700000100,"
				 "\"nbf\":0.5}"), AUTH_E_NBF);
	auth_keyring_destroy(hs);
}

static void
sub_follows_the_user_id_rule(void)
{
	struct auth_keyring *hs = ring_hs(NULL, NULL);
	char claims[256];

	CU_ASSERT_EQUAL(check_hs(hs, "{\"exp\":1700000100}"), AUTH_E_SUB);
	CU_ASSERT_EQUAL(check_hs(hs, "{\"sub\":\"\",\"exp\":1700000100}"),
			AUTH_E_SUB);
	CU_ASSERT_EQUAL(check_hs(hs, "{\"sub\":\"a b\",\"exp\":1700000100}"),
			AUTH_E_SUB);
	CU_ASSERT_EQUAL(check_hs(hs, "{\"sub\":\"a\\u0000\",\"exp\":1700000100}"),
			AUTH_E_SUB);
	CU_ASSERT_EQUAL(check_hs(hs, "{\"sub\":42,\"exp\":1700000100}"),
			AUTH_E_SUB);
	CU_ASSERT_EQUAL(check_hs(hs, "{\"sub\":\"guest-1\",\"exp\":1700000100}"),
			AUTH_E_SUB);
	CU_ASSERT_EQUAL(check_hs(hs, "{\"sub\":\"guest-\",\"exp\":1700000100}"),
			AUTH_E_SUB);
	CU_ASSERT_EQUAL(check_hs(hs, "{\"sub\":\"guest\",\"exp\":1700000100}"),
			AUTH_OK);
	CU_ASSERT_EQUAL(check_hs(hs, "{\"sub\":\"a.b@c:d-e_F9\",\"exp\":1700000100}"),
			AUTH_OK);
	snprintf(claims, sizeof(claims), "{\"sub\":\"%064d\",\"exp\":1700000100}", 7);
	CU_ASSERT_EQUAL(check_hs(hs, claims), AUTH_OK);
	snprintf(claims, sizeof(claims), "{\"sub\":\"%065d\",\"exp\":1700000100}", 7);
	CU_ASSERT_EQUAL(check_hs(hs, claims), AUTH_E_SUB);
	auth_keyring_destroy(hs);
}

static void
audience_and_issuer(void)
{
	struct auth_keyring *aud = ring_hs("roomcast", NULL);
	struct auth_keyring *iss = ring_hs(NULL, "https://idp");
	struct auth_keyring *none = ring_hs(NULL, NULL);
#define C(x) "{\"sub\":\"a\",\"exp\":1700000100" x "}"

	CU_ASSERT_EQUAL(check_hs(aud, C(",\"aud\":\"roomcast\"")), AUTH_OK);
	CU_ASSERT_EQUAL(check_hs(aud, C(",\"aud\":[\"x\",\"roomcast\"]")),
			AUTH_OK);
	CU_ASSERT_EQUAL(check_hs(aud, C(",\"aud\":\"roomcasts\"")), AUTH_E_AUD);
	CU_ASSERT_EQUAL(check_hs(aud, C(",\"aud\":[\"x\"]")), AUTH_E_AUD);
	CU_ASSERT_EQUAL(check_hs(aud, C(",\"aud\":[]")), AUTH_E_AUD);
	CU_ASSERT_EQUAL(check_hs(aud, C("")), AUTH_E_AUD);
	CU_ASSERT_EQUAL(check_hs(aud, C(",\"aud\":[1,\"roomcast\"]")), AUTH_E_AUD);
	CU_ASSERT_EQUAL(check_hs(aud, C(",\"aud\":{\"roomcast\":1}")), AUTH_E_AUD);
	/* not configured: aud is not looked at */
	CU_ASSERT_EQUAL(check_hs(none, C(",\"aud\":\"x\"")), AUTH_OK);
	CU_ASSERT_EQUAL(check_hs(iss, C(",\"iss\":\"https://idp\"")), AUTH_OK);
	CU_ASSERT_EQUAL(check_hs(iss, C(",\"iss\":\"https://idp/\"")),
			AUTH_E_ISS);
	CU_ASSERT_EQUAL(check_hs(iss, C(",\"iss\":[\"https://idp\"]")),
			AUTH_E_ISS);
	CU_ASSERT_EQUAL(check_hs(iss, C("")), AUTH_E_ISS);
	CU_ASSERT_EQUAL(check_hs(none, C(",\"iss\":\"x\"")), AUTH_OK);
#undef C
	auth_keyring_destroy(aud);
	auth_keyring_destroy(iss);
	auth_keyring_destroy(none);
}

/* The claims of an HS256 token with extra claim text @x. */
static struct auth_claims *
claims_of(struct auth_keyring *kr, const char *x)
{
	char claims[1024];
	char *t;
	struct auth_claims *c = NULL;

	snprintf(claims, sizeof(claims),
		 "{\"sub\":\"alice\",\"exp\":1700000100%s}", x);
	t = mint_hs(HS, claims, SECRET, 32);
	CU_ASSERT_EQUAL(auth_verify(kr, t, strlen(t), T0, &c, NULL, 0), AUTH_OK);
	free(t);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	return c;
}

#define JOIN(c, r) auth_claims_may_join(c, r, strlen(r))
#define PUB(c, r) auth_claims_may_publish(c, r, strlen(r))

static void
rooms_and_publish_patterns(void)
{
	struct auth_keyring *hs = ring_hs(NULL, NULL);
	struct auth_claims *c;

	c = claims_of(hs, "");		/* absent: any room, publish too */
	CU_ASSERT(JOIN(c, "x") && PUB(c, "x"));
	auth_claims_free(c);
	c = claims_of(hs, ",\"rooms\":[\"lobby\",\"team-*\"]");
	CU_ASSERT_EQUAL(c->n_rooms, 2);
	CU_ASSERT(JOIN(c, "lobby") && PUB(c, "lobby"));
	CU_ASSERT(!JOIN(c, "lobby2") && !JOIN(c, "lobb") && !JOIN(c, "Lobby"));
	CU_ASSERT(JOIN(c, "team-") && JOIN(c, "team-a") && PUB(c, "team-a"));
	CU_ASSERT(!JOIN(c, "team") && !JOIN(c, "xteam-a") && !PUB(c, "other"));
	auth_claims_free(c);
	c = claims_of(hs, ",\"rooms\":[\"*\"],\"publish\":[]");
	CU_ASSERT(JOIN(c, "anything") && !PUB(c, "anything"));	/* read-only */
	CU_ASSERT_EQUAL(c->n_publish, 0);
	auth_claims_free(c);
	c = claims_of(hs, ",\"rooms\":[]");		/* no room at all */
	CU_ASSERT(!JOIN(c, "lobby") && !PUB(c, "lobby"));
	auth_claims_free(c);
	/* publish only among the rooms it may join */
	c = claims_of(hs, ",\"rooms\":[\"a*\"],\"publish\":[\"ab\",\"zz\"]");
	CU_ASSERT(PUB(c, "ab") && JOIN(c, "ac") && !PUB(c, "ac"));
	CU_ASSERT(!JOIN(c, "zz") && !PUB(c, "zz"));
	CU_ASSERT_STRING_EQUAL(c->sub, "alice");
	auth_claims_free(c);
	c = claims_of(hs, ",\"publish\":[\"news:*\"]");
	CU_ASSERT(JOIN(c, "chat") && !PUB(c, "chat") && PUB(c, "news:1"));
	auth_claims_free(c);
	auth_keyring_destroy(hs);
}

static void
bad_patterns_make_the_token_invalid(void)
{
	struct auth_keyring *hs = ring_hs(NULL, NULL);
	char claims[512], room[200];
#define C(x) "{\"sub\":\"a\",\"exp\":1700000100," x "}"

	CU_ASSERT_EQUAL(check_hs(hs, C("\"rooms\":\"lobby\"")), AUTH_E_ROOMS);
	CU_ASSERT_EQUAL(check_hs(hs, C("\"rooms\":null")), AUTH_E_ROOMS);
	CU_ASSERT_EQUAL(check_hs(hs, C("\"rooms\":[\"a b\"]")), AUTH_E_ROOMS);
	CU_ASSERT_EQUAL(check_hs(hs, C("\"rooms\":[\"\"]")), AUTH_E_ROOMS);
	CU_ASSERT_EQUAL(check_hs(hs, C("\"rooms\":[\"a*b\"]")), AUTH_E_ROOMS);
	CU_ASSERT_EQUAL(check_hs(hs, C("\"rooms\":[\"**\"]")), AUTH_E_ROOMS);
	CU_ASSERT_EQUAL(check_hs(hs, C("\"rooms\":[\"ok\",1]")), AUTH_E_ROOMS);
	CU_ASSERT_EQUAL(check_hs(hs, C("\"rooms\":[\"a@b\"]")), AUTH_E_ROOMS);
	CU_ASSERT_EQUAL(check_hs(hs, C("\"publish\":[\"a b\"]")),
			AUTH_E_PUBLISH);
	CU_ASSERT_EQUAL(check_hs(hs, C("\"publish\":{}")), AUTH_E_PUBLISH);
	/* a room id is at most 128 bytes, and so is a prefix */
	snprintf(room, sizeof(room), "%0128d", 5);
	snprintf(claims, sizeof(claims), C("\"rooms\":[\"%s\",\"%s*\"]"), room,
		 room);
	CU_ASSERT_EQUAL(check_hs(hs, claims), AUTH_OK);
	snprintf(claims, sizeof(claims), C("\"rooms\":[\"%s9\"]"), room);
	CU_ASSERT_EQUAL(check_hs(hs, claims), AUTH_E_ROOMS);
	snprintf(claims, sizeof(claims), C("\"rooms\":[\"%s9*\"]"), room);
	CU_ASSERT_EQUAL(check_hs(hs, claims), AUTH_E_ROOMS);
#undef C
	auth_keyring_destroy(hs);
}

static void
config_pairings(void)
{
	char err[256], rsa[128], sec[128];

	/* tmp_path's buffers are reused: keep copies */
	snprintf(rsa, sizeof(rsa), "%s", tmp_path("key.pem"));
	snprintf(sec, sizeof(sec), "%s", tmp_path("secret"));
	write_pem(rsa, rsa_key);
	write_file(sec, "s\n", 2);
#define BAD(...) do {							\
		struct auth_config c_ = { __VA_ARGS__ };		\
		err[0] = '\0';						\
		CU_ASSERT_PTR_NULL(auth_keyring_create(&c_, err, sizeof(err))); \
		CU_ASSERT(err[0] != '\0');				\
	} while (0)
	BAD(.secret = "s", .alg = "RS256");
	BAD(.secret_file = sec, .alg = "ES256");
	BAD(.public_key_file = rsa);			/* HS256 by default */
	BAD(.public_key_file = rsa, .alg = "HS256");
	BAD(.public_key_file = rsa, .secret = "s", .alg = "RS256");
	BAD(.public_key_file = rsa, .secret = "s", .alg = "HS256");
	BAD(.secret = "s", .secret_file = sec);
	BAD(.secret = "s", .alg = "hs256");
	BAD(.secret = "s", .alg = "none");
	BAD(.alg = "RS256");				/* no key */
	BAD(.secret = "");
	BAD(.secret = "\n");
	BAD(.public_key_file = rsa, .alg = "ES256");	/* RSA key, EC alg */
	BAD(.public_key_file = tmp_path("nope.pem"), .alg = "RS256");
	BAD(.public_key_file = sec, .alg = "RS256");	/* not PEM */
	BAD(.secret_file = tmpdir);			/* a directory */
	write_pem(rsa, ec_key);
	BAD(.public_key_file = rsa, .alg = "RS256");	/* EC key, RSA alg */
	{
		EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
						    (size_t)1024);

		CU_ASSERT_PTR_NOT_NULL_FATAL(small);
		write_pem(tmp_path("small.pem"), small);
		EVP_PKEY_free(small);
		BAD(.public_key_file = tmp_path("small.pem"), .alg = "RS256");
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "1024"));
	}
	/* the error names what is wrong */
	BAD(.secret = "s", .alg = "RS256");
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "auth-secret"));
#undef BAD
}

static void
secret_file_loses_one_newline(void)
{
	struct auth_config cfg;
	char err[256], sec[128];
	struct auth_keyring *kr;

	snprintf(sec, sizeof(sec), "%s", tmp_path("secret"));
	write_file(sec, "s\n", 2);
	memset(&cfg, 0, sizeof(cfg));
	CU_ASSERT(!auth_config_enabled(&cfg));
	cfg.secret_file = sec;
	CU_ASSERT(auth_config_enabled(&cfg));
	/* a secret file's trailing newline is not part of the secret */
	kr = auth_keyring_create(&cfg, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(kr);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "1 bytes"));	/* a short secret: warned */
	CU_ASSERT_EQUAL(check(kr, mint_hs(HS, GOOD, "s", 1)), AUTH_OK);
	CU_ASSERT_EQUAL(check(kr, mint_hs(HS, GOOD, "s\n", 2)), AUTH_E_SIGNATURE);
	auth_keyring_destroy(kr);
	write_file(sec, "s\r\n", 3);
	kr = auth_keyring_create(&cfg, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(kr);
	CU_ASSERT_EQUAL(check(kr, mint_hs(HS, GOOD, "s", 1)), AUTH_OK);
	auth_keyring_destroy(kr);
	/* only one newline goes, and inner bytes (even NUL) stay */
	write_file(sec, "s\0t\n\n", 5);
	kr = auth_keyring_create(&cfg, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(kr);
	CU_ASSERT_EQUAL(check(kr, mint_hs(HS, GOOD, "s\0t\n", 4)), AUTH_OK);
	auth_keyring_destroy(kr);
	auth_keyring_destroy(NULL);
}

/* Sets @path's mtime to @t seconds since the epoch. */
static void
set_mtime(const char *path, time_t t)
{
	struct timespec ts[2] = { { t, 0 }, { t, 0 } };

	CU_ASSERT_FATAL(utimensat(AT_FDCWD, path, ts, 0) == 0);
}

/* Replaces @path by a file holding @data, through a rename (new inode). */
static void
replace_file(const char *path, const void *data, size_t n)
{
	const char *tmp = tmp_path("tmp");

	write_file(tmp, data, n);
	CU_ASSERT_FATAL(rename(tmp, path) == 0);
}

static void
secret_file_reload_keeps_old_key_on_bad_file(void)
{
	char sec[128], err[256];
	struct auth_config cfg = { .secret_file = sec };
	struct auth_keyring *kr;
	time_t now = T0;

	snprintf(sec, sizeof(sec), "%s", tmp_path("secret"));
	write_file(sec, "one\n", 4);
	set_mtime(sec, T0 - 100);
	kr = auth_keyring_create(&cfg, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(kr);
	CU_ASSERT_EQUAL(auth_keyring_poll(kr, ++now, err, sizeof(err)), 0);
	/*
	 * Rewritten in place, same size and inode: the mtime tells. (Set
	 * apart by hand: two writes within one kernel clock tick may share
	 * their timestamps.)
	 */
	write_file(sec, "two\n", 4);
	set_mtime(sec, T0 - 50);
	CU_ASSERT_EQUAL(auth_keyring_poll(kr, ++now, err, sizeof(err)), 1);
	CU_ASSERT_EQUAL(check(kr, mint_hs(HS, GOOD, "two", 3)), AUTH_OK);
	CU_ASSERT_EQUAL(check(kr, mint_hs(HS, GOOD, "one", 3)),
			AUTH_E_SIGNATURE);
	CU_ASSERT_EQUAL(auth_keyring_poll(kr, ++now, err, sizeof(err)), 0);
	/* an empty file: reported once, the old key stays */
	replace_file(sec, "\n", 1);
	err[0] = '\0';
	CU_ASSERT_EQUAL(auth_keyring_poll(kr, ++now, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "empty"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "keeping"));
	CU_ASSERT_EQUAL(auth_keyring_poll(kr, ++now, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(check(kr, mint_hs(HS, GOOD, "two", 3)), AUTH_OK);
	/* gone: reported once too */
	CU_ASSERT_FATAL(unlink(sec) == 0);
	CU_ASSERT_EQUAL(auth_keyring_poll(kr, ++now, err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(auth_keyring_poll(kr, ++now, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(check(kr, mint_hs(HS, GOOD, "two", 3)), AUTH_OK);
	/* back, with a new secret; polled twice in one second: once */
	replace_file(sec, "three", 5);
	CU_ASSERT_EQUAL(auth_keyring_poll(kr, ++now, err, sizeof(err)), 1);
	CU_ASSERT_EQUAL(check(kr, mint_hs(HS, GOOD, "three", 5)), AUTH_OK);
	CU_ASSERT_EQUAL(check(kr, mint_hs(HS, GOOD, "two", 3)), AUTH_E_SIGNATURE);
	replace_file(sec, "four", 4);
	CU_ASSERT_EQUAL(auth_keyring_poll(kr, now, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(auth_keyring_poll(kr, ++now, err, sizeof(err)), 1);
	CU_ASSERT_EQUAL(check(kr, mint_hs(HS, GOOD, "four", 4)), AUTH_OK);
	auth_keyring_destroy(kr);
}

static void
pem_reload_keeps_old_key_on_bad_file(void)
{
	char pem[128], err[256];
	struct auth_config cfg = { .alg = "RS256", .public_key_file = pem };
	struct auth_keyring *kr;
	time_t now = T0;
	size_t n;
	char *text;

	snprintf(pem, sizeof(pem), "%s", tmp_path("key.pem"));
	write_pem(pem, rsa_key);
	kr = auth_keyring_create(&cfg, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(kr);
	/* garbage, a cut PEM, a key of the wrong type: all refused */
	replace_file(pem, "garbage", 7);
	CU_ASSERT_EQUAL(auth_keyring_poll(kr, ++now, err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(auth_keyring_poll(kr, ++now, err, sizeof(err)), 0);
	text = pem_text(rsa_other, &n);
	replace_file(pem, text, n / 2);
	CU_ASSERT_EQUAL(auth_keyring_poll(kr, ++now, err, sizeof(err)), -1);
	write_pem(tmp_path("tmp"), ec_key);
	CU_ASSERT_FATAL(rename(tmp_path("tmp"), pem) == 0);
	CU_ASSERT_EQUAL(auth_keyring_poll(kr, ++now, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "RSA"));
	CU_ASSERT_EQUAL(check(kr, mint_rs(RS, GOOD, rsa_key)), AUTH_OK);
	/* the new key: new tokens against it, the old key's refused */
	replace_file(pem, text, n);
	CU_ASSERT_EQUAL(auth_keyring_poll(kr, ++now, err, sizeof(err)), 1);
	CU_ASSERT_EQUAL(check(kr, mint_rs(RS, GOOD, rsa_other)), AUTH_OK);
	CU_ASSERT_EQUAL(check(kr, mint_rs(RS, GOOD, rsa_key)), AUTH_E_SIGNATURE);
	free(text);
	auth_keyring_destroy(kr);
	/* a literal secret has no file to poll */
	kr = ring_hs(NULL, NULL);
	CU_ASSERT_EQUAL(auth_keyring_poll(kr, ++now, err, sizeof(err)), 0);
	auth_keyring_destroy(kr);
}

static void
every_code_has_a_text(void)
{
	int e;

	for (e = AUTH_OK; e >= AUTH_E_PUBLISH; e--)
		CU_ASSERT_STRING_NOT_EQUAL(auth_strerror((enum auth_err)e),
					   "unknown error");
	CU_ASSERT_STRING_EQUAL(auth_strerror((enum auth_err)-99),
			       "unknown error");
}

CU_TestInfo jwt_tests[] = {
	{ "good tokens of each alg", good_tokens_of_each_alg },
	{ "wrong key is refused", wrong_key_is_refused },
	{ "tampered claims are refused", tampered_claims_are_refused },
	{ "alg must be the configured one", alg_must_be_the_configured_one },
	{ "HS256 signed with the public key is refused",
	  hs256_signed_with_the_public_key_is_refused },
	{ "signature length is exact", signature_length_is_exact },
	{ "base64url is strict", base64url_is_strict },
	{ "unused bits are refused", unused_bits_are_refused },
	{ "shape is three parts", shape_is_three_parts },
	{ "token size is bounded", token_size_is_bounded },
	{ "JSON is bounded and strict", json_is_bounded_and_strict },
	{ "exp and nbf", exp_and_nbf },
	{ "sub follows the user_id rule", sub_follows_the_user_id_rule },
	{ "audience and issuer", audience_and_issuer },
	{ "rooms and publish patterns", rooms_and_publish_patterns },
	{ "bad patterns make the token invalid",
	  bad_patterns_make_the_token_invalid },
	{ "config pairings", config_pairings },
	{ "secret file loses one newline", secret_file_loses_one_newline },
	{ "secret file reload keeps old key on bad file",
	  secret_file_reload_keeps_old_key_on_bad_file },
	{ "PEM reload keeps old key on bad file",
	  pem_reload_keeps_old_key_on_bad_file },
	{ "every code has a text", every_code_has_a_text },
	CU_TEST_INFO_NULL,
};
