/*
 * fuzz_util.h: what the roomcast fuzz targets share: invariant checks that
 * name what broke, a byte reader over the fuzz input, and reference
 * implementations (RFC 3629 UTF-8, RFC 8259 JSON, PROTOCOL.md's id rules)
 * written from the specs, independently of plugin/core.
 *
 * Header-only (static functions) so that each target is one .c file.
 */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * CHECK(name, cond): aborts with "INVARIANT <name>" when @cond is false,
 * unless @name is listed in the environment variable RC_FUZZ_SKIP
 * (comma-separated), which lets a run look past a bug already reported.
 */
static inline int
fz_skipped(const char *name)
{
	const char *s = getenv("RC_FUZZ_SKIP"), *p;
	size_t n = strlen(name);

	if (!s)
		return 0;
	for (p = s; (p = strstr(p, name)); p += n)
		if ((p == s || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return 1;
	return 0;
}

#define CHECK(name, cond)                                                    \
	do {                                                                 \
		if (!(cond) && !fz_skipped(name)) {                          \
			fprintf(stderr, "\nINVARIANT %s FAILED at %s:%d: %s\n", \
				name, __FILE__, __LINE__, #cond);            \
			abort();                                             \
		}                                                            \
	} while (0)

/*---- input reader ----*/

struct fz_in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t
fz_byte(struct fz_in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

/* Up to @want bytes; returns how many were taken. */
static inline size_t
fz_take(struct fz_in *in, size_t want, const uint8_t **out)
{
	if (want > in->n)
		want = in->n;
	*out = in->p;
	in->p += want;
	in->n -= want;
	return want;
}

/*---- RFC 3629 UTF-8, from its table of well-formed byte sequences ----*/

static inline int
ref_utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint8_t b = s[i];
		uint8_t lo = 0x80, hi = 0xbf;
		size_t need, k;

		if (b <= 0x7f) {
			i++;
			continue;
		} else if (b >= 0xc2 && b <= 0xdf) {
			need = 1;
		} else if (b == 0xe0) {
			need = 2; lo = 0xa0;
		} else if (b >= 0xe1 && b <= 0xec) {
			need = 2;
		} else if (b == 0xed) {
			need = 2; hi = 0x9f;
		} else if (b >= 0xee && b <= 0xef) {
			need = 2;
		} else if (b == 0xf0) {
			need = 3; lo = 0x90;
		} else if (b >= 0xf1 && b <= 0xf3) {
			need = 3;
		} else if (b == 0xf4) {
			need = 3; hi = 0x8f;
		} else {
			return 0;
		}
		if (len - i - 1 < need)
			return 0;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return 0;
		for (k = 2; k <= need; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return 0;
		i += need + 1;
	}
	return 1;
}

/*---- PROTOCOL.md's id rules ----*/

static inline int
ref_id_valid(const char *s, size_t len, size_t max, int allow_at)
{
	size_t i;

	if (len < 1 || len > max)
		return 0;
	for (i = 0; i < len; i++) {
		char ch = s[i];

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' ||
		    ch == ':' || ch == '-' || (allow_at && ch == '@'))
			continue;
		return 0;
	}
	return 1;
}

/* room_id: 1-128 bytes of [A-Za-z0-9_.:-] */
static inline int
ref_room_valid(const char *s, size_t len)
{
	return ref_id_valid(s, len, 128, 0);
}

/* user_id: 1-64 bytes of [A-Za-z0-9_.@:-] */
static inline int
ref_user_valid(const char *s, size_t len)
{
	return ref_id_valid(s, len, 64, 1);
}

/* a user_id a client gives itself: the rule, and no "guest-" prefix */
static inline int
ref_own_user_valid(const char *s, size_t len)
{
	return ref_user_valid(s, len) &&
	       !(len >= 6 && !memcmp(s, "guest-", 6));
}

/*---- RFC 8259 JSON (grammar only; UTF-8 checked apart) ----*/

enum { RJ_NONE, RJ_OBJECT, RJ_ARRAY, RJ_SCALAR };

struct rj {
	const char *t;
	size_t len, i;
	unsigned int depth, max_depth;
	int fail;
};

#define RJ_DEPTH_LIMIT 2000

static inline void
rj_ws(struct rj *r)
{
	while (r->i < r->len && (r->t[r->i] == ' ' || r->t[r->i] == '\t' ||
				 r->t[r->i] == '\n' || r->t[r->i] == '\r'))
		r->i++;
}

static inline int
rj_is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

static inline int
rj_string(struct rj *r)
{
	if (r->i >= r->len || r->t[r->i] != '"')
		return 0;
	for (r->i++; r->i < r->len; r->i++) {
		unsigned char c = (unsigned char)r->t[r->i];

		if (c == '"') {
			r->i++;
			return 1;
		}
		if (c < 0x20)
			return 0;
		if (c == '\\') {
			if (++r->i >= r->len)
				return 0;
			switch (r->t[r->i]) {
			case '"': case '\\': case '/': case 'b': case 'f':
			case 'n': case 'r': case 't':
				break;
			case 'u':
				if (r->len - r->i < 5 || !rj_is_hex(r->t[r->i + 1]) ||
				    !rj_is_hex(r->t[r->i + 2]) ||
				    !rj_is_hex(r->t[r->i + 3]) ||
				    !rj_is_hex(r->t[r->i + 4]))
					return 0;
				r->i += 4;
				break;
			default:
				return 0;
			}
		}
	}
	return 0;
}

static inline int
rj_digits(struct rj *r)
{
	size_t s = r->i;

	while (r->i < r->len && r->t[r->i] >= '0' && r->t[r->i] <= '9')
		r->i++;
	return r->i > s;
}

static inline int
rj_number(struct rj *r)
{
	if (r->i < r->len && r->t[r->i] == '-')
		r->i++;
	if (r->i < r->len && r->t[r->i] == '0')
		r->i++;
	else if (!rj_digits(r))
		return 0;
	if (r->i < r->len && r->t[r->i] == '.') {
		r->i++;
		if (!rj_digits(r))
			return 0;
	}
	if (r->i < r->len && (r->t[r->i] == 'e' || r->t[r->i] == 'E')) {
		r->i++;
		if (r->i < r->len && (r->t[r->i] == '+' || r->t[r->i] == '-'))
			r->i++;
		if (!rj_digits(r))
			return 0;
	}
	return 1;
}

static int rj_value(struct rj *r);

static inline int
rj_word(struct rj *r, const char *w)
{
	size_t n = strlen(w);

	if (r->len - r->i < n || memcmp(r->t + r->i, w, n))
		return 0;
	r->i += n;
	return 1;
}

static inline int
rj_container(struct rj *r, char close, int is_object)
{
	r->i++;
	if (++r->depth > r->max_depth)
		r->max_depth = r->depth;
	if (r->depth > RJ_DEPTH_LIMIT)
		return 0;
	rj_ws(r);
	if (r->i < r->len && r->t[r->i] == close) {
		r->i++;
		r->depth--;
		return 1;
	}
	for (;;) {
		rj_ws(r);
		if (is_object) {
			if (!rj_string(r))
				return 0;
			rj_ws(r);
			if (r->i >= r->len || r->t[r->i] != ':')
				return 0;
			r->i++;
			rj_ws(r);
		}
		if (!rj_value(r))
			return 0;
		rj_ws(r);
		if (r->i >= r->len)
			return 0;
		if (r->t[r->i] == ',') {
			r->i++;
			continue;
		}
		if (r->t[r->i] != close)
			return 0;
		r->i++;
		r->depth--;
		return 1;
	}
}

static inline int
rj_value(struct rj *r)
{
	if (r->i >= r->len)
		return 0;
	switch (r->t[r->i]) {
	case '{':
		return rj_container(r, '}', 1);
	case '[':
		return rj_container(r, ']', 0);
	case '"':
		return rj_string(r);
	case 't':
		return rj_word(r, "true");
	case 'f':
		return rj_word(r, "false");
	case 'n':
		return rj_word(r, "null");
	default:
		return rj_number(r);
	}
}

/*
 * Returns RJ_OBJECT / RJ_ARRAY / RJ_SCALAR if all of @t (whitespace
 * around allowed) is exactly one RFC 8259 JSON value, else RJ_NONE.
 * *@max_depth (may be NULL) gets its deepest container nesting.
 */
static inline int
ref_json_valid(const char *t, size_t len, unsigned int *max_depth)
{
	struct rj r = { t, len, 0, 0, 0, 0 };
	int kind;

	rj_ws(&r);
	if (r.i >= len)
		return RJ_NONE;
	kind = t[r.i] == '{' ? RJ_OBJECT : t[r.i] == '[' ? RJ_ARRAY : RJ_SCALAR;
	if (!rj_value(&r))
		return RJ_NONE;
	rj_ws(&r);
	if (r.i != len)
		return RJ_NONE;
	if (max_depth)
		*max_depth = r.max_depth;
	return kind;
}

#endif
