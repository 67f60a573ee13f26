/*
 * jscan.h: the one read of a client message.
 *
 * A single pass over the bytes checks them as UTF-8 (RFC 3629) and as one
 * RFC 8259 JSON value, and records where the top-level members the caller
 * asked for lie, so that nothing else walks the message again: values are
 * taken from the text as the client wrote it, never rebuilt, which keeps
 * big integers, -0, 1e400, duplicate keys inside a value and lone
 * surrogate escapes exactly as sent.
 *
 * Allocates nothing; recursion is bounded by JSCAN_MAX_DEPTH. Knows
 * nothing of lws or json-c.
 */
#ifndef JSCAN_H
#define JSCAN_H

#include <stddef.h>
#include <sys/types.h>

/* Nesting deeper than this is refused (bounds stack and work). */
#define JSCAN_MAX_DEPTH 64

enum jscan_result {
	JSCAN_OBJECT = 0,	/* a JSON object: members recorded */
	JSCAN_NOT_OBJECT,	/* valid JSON, but not an object */
	JSCAN_BAD_JSON,		/* UTF-8, but not RFC 8259 JSON */
	JSCAN_BAD_UTF8,		/* not UTF-8 (whatever its syntax) */
};

/* One member's value as written: @text NULL when the key is absent. */
struct jscan_val {
	const char *text;
	size_t len;
};

/*
 * Scans @len bytes of @text. When they are a JSON object, sets @out[i] to
 * the value of its last top-level member whose key, escapes decoded,
 * equals @keys[i] (last wins, as in JavaScript's JSON.parse); keys of up
 * to 31 bytes are matched.
 */
enum jscan_result jscan_object(const char *text, size_t len,
			       const char *const *keys, unsigned int n_keys,
			       struct jscan_val *out);

/* Returns 1 if @len bytes of @text are one RFC 8259 JSON value in UTF-8. */
int jscan_valid(const char *text, size_t len);

/* Returns 1 if @len bytes of @s are valid UTF-8 (RFC 3629). */
int jscan_utf8_valid(const unsigned char *s, size_t len);

/*
 * Decodes the body of a JSON string (@len bytes between its quotes, valid
 * as jscan checked it) into @buf as UTF-8 plus a NUL. Returns its length,
 * or -1 when it needs more than @size - 1 bytes or holds what a C string
 * of Unicode text cannot (U+0000, a lone surrogate escape).
 */
ssize_t jscan_unescape(const char *s, size_t len, char *buf, size_t size);

/*
 * The number of bytes the body of a JSON string (as for jscan_unescape)
 * stands for in UTF-8, a lone surrogate escape counting 3.
 */
size_t jscan_string_len(const char *s, size_t len);

#endif
