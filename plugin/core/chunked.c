/*
 * chunked.c: the chunked transfer coding's decoder (see chunked.h).
 */
#include "chunked.h"

static int
hex(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* One byte of framing (any state but DATA). Returns 0 or -1. */
static int
frame_byte(struct chunked *c, char ch)
{
	int v;

	switch (c->state) {
	case CHUNKED_SIZE:
		v = hex(ch);
		if (v >= 0 && c->digits < 15) {
			c->left = c->left << 4 | (uint64_t)v;
			c->digits++;
			return 0;
		}
		if (!c->digits || v >= 0)
			return -1;	/* no digit, or over 15 of them */
		c->state = ch == '\r' ? CHUNKED_SIZE_LF : CHUNKED_EXT;
		return ch == '\r' || ch == ';' || ch == ' ' || ch == '\t' ? 0
									  : -1;
	case CHUNKED_EXT:
		if (ch == '\r')
			c->state = CHUNKED_SIZE_LF;
		return 0;
	case CHUNKED_SIZE_LF:
		if (ch != '\n')
			return -1;
		c->state = c->left ? CHUNKED_DATA : CHUNKED_TRAILER;
		c->line_len = 0;
		return 0;
	case CHUNKED_DATA_CR:
		c->state = CHUNKED_DATA_LF;
		return ch == '\r' ? 0 : -1;
	case CHUNKED_DATA_LF:
		c->state = CHUNKED_SIZE;
		c->digits = 0;
		c->left = 0;
		return ch == '\n' ? 0 : -1;
	case CHUNKED_TRAILER:
		if (ch == '\n') {
			if (!c->line_len)
				c->state = CHUNKED_DONE;
			c->line_len = 0;
		} else if (ch != '\r') {
			c->line_len++;
		}
		return 0;
	default:
		return -1;
	}
}

int
chunked_feed(struct chunked *c, const char *in, size_t len,
	     chunked_sink sink, void *arg, size_t *used)
{
	size_t i = 0;

	while (i < len && c->state != CHUNKED_DONE) {
		if (c->state == CHUNKED_DATA) {
			size_t n = len - i;

			if (n > c->left)
				n = (size_t)c->left;
			if (sink(arg, in + i, n))
				return -1;
			i += n;
			c->left -= n;
			if (!c->left)
				c->state = CHUNKED_DATA_CR;
			continue;
		}
		if (frame_byte(c, in[i++]))
			return -1;
	}
	*used = i;
	return c->state == CHUNKED_DONE;
}
