/*
 * test_chunked.c: the chunked transfer coding's decoder (chunked.h), fed
 * whole and a byte at a time.
 */
#include "unit.h"

#include "chunked.h"

struct sink {
	char buf[256];
	size_t len, max;
};

static int
take(void *arg, const char *data, size_t len)
{
	struct sink *s = arg;

	if (s->len + len > s->max)
		return -1;
	memcpy(s->buf + s->len, data, len);
	s->len += len;
	return 0;
}

/* Feeds @in in pieces of @step bytes; returns the last result. */
static int
feed(const char *in, size_t step, struct sink *s, size_t *total_used)
{
	struct chunked c = { 0 };
	size_t len = strlen(in), off = 0, used;
	int r = 0;

	*total_used = 0;
	while (off < len) {
		size_t n = len - off < step ? len - off : step;

		r = chunked_feed(&c, in + off, n, take, s, &used);
		*total_used += used;
		if (r)
			return r;
		off += n;
	}
	return r;
}

static void
test_decodes_whole_and_bytewise(void)
{
	const char *in = "5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n"
			 "0\r\nX-T: y\r\n\r\nNEXT";
	size_t steps[] = { 1000, 1, 2, 7 }, i, used;

	for (i = 0; i < 4; i++) {
		struct sink s = { .max = sizeof(s.buf) };

		CU_ASSERT_EQUAL(feed(in, steps[i], &s, &used), 1);
		CU_ASSERT_TRUE(unit_text_is(s.buf, s.len, "hello 0123456789"));
		/* what follows the body is left */
		CU_ASSERT_EQUAL(used, strlen(in) - 4);
	}
}

static void
test_needs_more(void)
{
	struct sink s = { .max = sizeof(s.buf) };
	size_t used;

	CU_ASSERT_EQUAL(feed("5\r\nhel", 100, &s, &used), 0);
	CU_ASSERT_EQUAL(feed("0\r\n", 100, &s, &used), 0);	/* trailer */
}

static void
test_bad_framing(void)
{
	const char *bad[] = { "x\r\n", "\r\n", "5\r\nhelloXX", "5\nhello",
			      "1234567890abcdef0\r\n", "5\r\nhello\r\r" };
	size_t i, used;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sink s = { .max = sizeof(s.buf) };

		CU_ASSERT_EQUAL(feed(bad[i], 100, &s, &used), -1);
	}
}

static void
test_sink_refuses(void)
{
	struct sink s = { .max = 3 };
	size_t used;

	CU_ASSERT_EQUAL(feed("5\r\nhello\r\n0\r\n\r\n", 100, &s, &used), -1);
}

CU_TestInfo chunked_tests[] = {
	{ "decodes, whole and cut anywhere", test_decodes_whole_and_bytewise },
	{ "incomplete input asks for more", test_needs_more },
	{ "bad framing", test_bad_framing },
	{ "a sink that refuses stops it", test_sink_refuses },
	CU_TEST_INFO_NULL,
};
