/*
 * chunked.h: HTTP/1.1 chunked transfer coding (RFC 9112, 7.1), decoded
 * incrementally, for request bodies: lws 4.1.6 hands a chunked body's
 * bytes over with their framing (and reads up to 100 MB of them).
 *
 * Allocates nothing; a chunk's size line is read digit by digit, so the
 * input may be cut anywhere. Knows nothing of lws.
 */
#ifndef CHUNKED_H
#define CHUNKED_H

#include <stddef.h>
#include <stdint.h>

enum chunked_state {
	CHUNKED_SIZE = 0,	/* hex digits of a chunk's size */
	CHUNKED_EXT,		/* chunk extensions, up to CR LF */
	CHUNKED_SIZE_LF,
	CHUNKED_DATA,
	CHUNKED_DATA_CR,
	CHUNKED_DATA_LF,
	CHUNKED_TRAILER,	/* after the last chunk: lines up to an empty one */
	CHUNKED_DONE,
};

struct chunked {
	enum chunked_state state;
	uint64_t left;		/* bytes of the current chunk still to come */
	unsigned int digits;
	unsigned int line_len;	/* trailer: bytes on the current line */
};

/* Called with each piece of decoded data; returns 0, or -1 to stop. */
typedef int (*chunked_sink)(void *arg, const char *data, size_t len);

/*
 * Decodes @len bytes of @in, handing the data to @sink. Returns 1 once
 * the last chunk and its trailer are read (bytes after it are not
 * consumed: *@used says how many were), 0 when more input is needed, -1
 * for bad framing or when @sink refused.
 */
int chunked_feed(struct chunked *c, const char *in, size_t len,
		 chunked_sink sink, void *arg, size_t *used);

#endif
