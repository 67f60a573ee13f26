/*
 * jscan.c: one pass that validates UTF-8 and RFC 8259 JSON and finds the
 * top-level members asked for (see jscan.h).
 *
 * json-c, even in strict mode, takes NaN, Infinity, "1.", "-01", raw
 * control characters in strings and text after a NUL; whatever passes here
 * is forwarded byte for byte and must reach every member's JSON.parse, so
 * the grammar is checked here, from the RFC. Recursive descent; each scan
 * function returns the index past what it read, or 0 on an error (no
 * value ends at index 0).
 */
#include "jscan.h"

#include <string.h>

/* Top-level keys longer than this cannot be asked for. */
#define KEY_MAX 31

struct scan {
	const unsigned char *t;
	size_t len;
	int bad_utf8;		/* an error was invalid UTF-8 in a string */
};

static size_t scan_value(struct scan *s, size_t i, int depth);

static int
is_digit(unsigned char ch)
{
	return ch >= '0' && ch <= '9';
}

static int
hex_val(unsigned char ch)
{
	if (is_digit(ch))
		return ch - '0';
	ch |= 0x20;
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

static size_t
scan_ws(const struct scan *s, size_t i)
{
	while (i < s->len && (s->t[i] == ' ' || s->t[i] == '\t' ||
			      s->t[i] == '\n' || s->t[i] == '\r'))
		i++;
	return i;
}

/*
 * The UTF-8 sequence led by byte @b at @i - 1: returns the index past it,
 * or 0 if it is not well-formed (RFC 3629's table: no overlong forms, no
 * surrogates, nothing beyond U+10FFFF).
 */
static size_t
utf8_seq(const unsigned char *t, size_t len, size_t i, unsigned char b)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need, k;

	if (b >= 0xc2 && b <= 0xdf) {
		need = 1;
	} else if (b >= 0xe0 && b <= 0xef) {
		need = 2;
		if (b == 0xe0)
			lo = 0xa0;
		else if (b == 0xed)
			hi = 0x9f;
	} else if (b >= 0xf0 && b <= 0xf4) {
		need = 3;
		if (b == 0xf0)
			lo = 0x90;
		else if (b == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (len - i < need || t[i] < lo || t[i] > hi)
		return 0;
	for (k = 1; k < need; k++)
		if ((t[i + k] & 0xc0) != 0x80)
			return 0;
	return i + need;
}

int
jscan_utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char b = s[i++];

		if (b >= 0x80 && !(i = utf8_seq(s, len, i, b)))
			return 0;
	}
	return 1;
}

/* A string from its opening quote; its bytes are checked as UTF-8. */
static size_t
scan_string(struct scan *s, size_t i)
{
	const unsigned char *t = s->t;

	for (i++; i < s->len;) {
		unsigned char ch = t[i++];

		if (ch == '"')
			return i;
		if (ch >= 0x80) {
			if (!(i = utf8_seq(t, s->len, i, ch))) {
				s->bad_utf8 = 1;
				return 0;
			}
			continue;
		}
		if (ch < 0x20)
			return 0;
		if (ch != '\\')
			continue;
		if (i >= s->len)
			return 0;
		ch = t[i++];
		if (ch == 'u') {
			if (s->len - i < 4 || hex_val(t[i]) < 0 ||
			    hex_val(t[i + 1]) < 0 || hex_val(t[i + 2]) < 0 ||
			    hex_val(t[i + 3]) < 0)
				return 0;
			i += 4;
		} else if (!ch || !strchr("\"\\/bfnrt", ch)) {
			return 0;
		}
	}
	return 0;
}

static size_t
scan_digits(const struct scan *s, size_t i)
{
	size_t from = i;

	while (i < s->len && is_digit(s->t[i]))
		i++;
	return i > from ? i : 0;
}

static size_t
scan_number(const struct scan *s, size_t i)
{
	if (s->t[i] == '-')
		i++;
	if (i >= s->len)
		return 0;
	if (s->t[i] == '0')
		i++;
	else if (!(i = scan_digits(s, i)))
		return 0;
	if (i < s->len && s->t[i] == '.' && !(i = scan_digits(s, i + 1)))
		return 0;
	if (i < s->len && (s->t[i] == 'e' || s->t[i] == 'E')) {
		i++;
		if (i < s->len && (s->t[i] == '+' || s->t[i] == '-'))
			i++;
		if (!(i = scan_digits(s, i)))
			return 0;
	}
	return i;
}

static size_t
scan_literal(const struct scan *s, size_t i, const char *word)
{
	size_t n = strlen(word);

	return s->len - i >= n && !memcmp(s->t + i, word, n) ? i + n : 0;
}

/*
 * Matches the key whose body is @k (@klen bytes, escapes possible) against
 * @keys; returns its index or -1.
 */
static int
match_key(const unsigned char *k, size_t klen, const char *const *keys,
	  unsigned int n_keys)
{
	char buf[KEY_MAX + 1];
	const char *key = (const char *)k;
	ssize_t n = (ssize_t)klen;
	unsigned int i;

	if (memchr(k, '\\', klen)) {
		n = jscan_unescape(key, klen, buf, sizeof(buf));
		if (n < 0)
			return -1;
		key = buf;
	} else if (klen > KEY_MAX) {
		return -1;
	}
	for (i = 0; i < n_keys; i++)
		if (strlen(keys[i]) == (size_t)n && !memcmp(keys[i], key, (size_t)n))
			return (int)i;
	return -1;
}

/*
 * An object or array body after its opening bracket. @keys (may be NULL)
 * are recorded in @out for this container's own members.
 */
static size_t
scan_container(struct scan *s, size_t i, int depth, unsigned char close,
	       const char *const *keys, unsigned int n_keys,
	       struct jscan_val *out)
{
	size_t k, v;
	int which = -1;

	i = scan_ws(s, i + 1);
	if (i < s->len && s->t[i] == close)
		return i + 1;
	for (;;) {
		if (close == '}') {
			if (i >= s->len || s->t[i] != '"' ||
			    !(k = scan_string(s, i)))
				return 0;
			if (keys)
				which = match_key(s->t + i + 1, k - i - 2,
						  keys, n_keys);
			i = scan_ws(s, k);
			if (i >= s->len || s->t[i] != ':')
				return 0;
			i = scan_ws(s, i + 1);
		}
		v = i;
		if (!(i = scan_value(s, i, depth + 1)))
			return 0;
		if (which >= 0) {
			out[which].text = (const char *)s->t + v;
			out[which].len = i - v;
		}
		i = scan_ws(s, i);
		if (i >= s->len)
			return 0;
		if (s->t[i] == close)
			return i + 1;
		if (s->t[i] != ',')
			return 0;
		i = scan_ws(s, i + 1);
	}
}

static size_t
scan_value(struct scan *s, size_t i, int depth)
{
	if (i >= s->len || depth > JSCAN_MAX_DEPTH)
		return 0;
	switch (s->t[i]) {
	case '{':
		return scan_container(s, i, depth, '}', NULL, 0, NULL);
	case '[':
		return scan_container(s, i, depth, ']', NULL, 0, NULL);
	case '"':
		return scan_string(s, i);
	case 't':
		return scan_literal(s, i, "true");
	case 'f':
		return scan_literal(s, i, "false");
	case 'n':
		return scan_literal(s, i, "null");
	default:
		return scan_number(s, i);
	}
}

/*
 * What a failed scan means: bad UTF-8 wins over bad syntax, so the text
 * is checked on from where the grammar gave up (only failed messages pay
 * for this second look; before that point every byte was checked).
 */
static enum jscan_result
failure(const struct scan *s)
{
	if (s->bad_utf8 || !jscan_utf8_valid(s->t, s->len))
		return JSCAN_BAD_UTF8;
	return JSCAN_BAD_JSON;
}

enum jscan_result
jscan_object(const char *text, size_t len, const char *const *keys,
	     unsigned int n_keys, struct jscan_val *out)
{
	struct scan s = { (const unsigned char *)text, len, 0 };
	size_t i = scan_ws(&s, 0);
	int object = i < len && text[i] == '{';

	memset(out, 0, n_keys * sizeof(*out));
	if (object)
		i = scan_container(&s, i, 1, '}', keys, n_keys, out);
	else
		i = scan_value(&s, i, 1);
	if (!i || scan_ws(&s, i) != len) {
		memset(out, 0, n_keys * sizeof(*out));
		return failure(&s);
	}
	return object ? JSCAN_OBJECT : JSCAN_NOT_OBJECT;
}

int
jscan_valid(const char *text, size_t len)
{
	struct scan s = { (const unsigned char *)text, len, 0 };
	size_t i = scan_value(&s, scan_ws(&s, 0), 1);

	return i && scan_ws(&s, i) == len;
}

/*---- string bodies ----*/

/* The code point of the \uXXXX escape at @s (after the backslash). */
static unsigned int
u_escape(const char *s)
{
	return (unsigned int)(hex_val((unsigned char)s[1]) << 12 |
			      hex_val((unsigned char)s[2]) << 8 |
			      hex_val((unsigned char)s[3]) << 4 |
			      hex_val((unsigned char)s[4]));
}

/*
 * Reads the escape at @s[*i] (a backslash): returns its code point, a
 * surrogate pair joined, or a lone surrogate as it is; advances *@i.
 */
static unsigned int
read_escape(const char *s, size_t len, size_t *i)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	unsigned int cp, lo;
	char ch = s[*i + 1];

	if (ch != 'u') {
		*i += 2;
		return (unsigned char)to[strchr(from, ch) - from];
	}
	cp = u_escape(s + *i + 1);
	*i += 6;
	if (cp >= 0xd800 && cp <= 0xdbff && len - *i >= 6 && s[*i] == '\\' &&
	    s[*i + 1] == 'u') {
		lo = u_escape(s + *i + 1);
		if (lo >= 0xdc00 && lo <= 0xdfff) {
			*i += 6;
			return 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		}
	}
	return cp;
}

static size_t
utf8_len(unsigned int cp)
{
	return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

size_t
jscan_string_len(const char *s, size_t len)
{
	size_t i = 0, n = 0;

	while (i < len) {
		if (s[i] != '\\') {
			i++;
			n++;
			continue;
		}
		n += utf8_len(read_escape(s, len, &i));
	}
	return n;
}

/* Writes @cp as UTF-8 at @p; returns its length. */
static size_t
put_utf8(char *p, unsigned int cp)
{
	if (cp < 0x80) {
		p[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		p[0] = (char)(0xc0 | cp >> 6);
		p[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		p[0] = (char)(0xe0 | cp >> 12);
		p[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		p[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	p[0] = (char)(0xf0 | cp >> 18);
	p[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	p[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	p[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

ssize_t
jscan_unescape(const char *s, size_t len, char *buf, size_t size)
{
	size_t i = 0, n = 0, k;
	unsigned int cp;

	while (i < len) {
		if (s[i] != '\\') {
			if (n + 1 >= size)
				return -1;
			buf[n++] = s[i++];
			continue;
		}
		cp = read_escape(s, len, &i);
		k = utf8_len(cp);
		if (!cp || (cp >= 0xd800 && cp <= 0xdfff) || n + k >= size)
			return -1;
		n += put_utf8(buf + n, cp);
	}
	buf[n] = '\0';
	return (ssize_t)n;
}
