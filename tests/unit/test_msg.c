/*
 * test_msg.c: pre-framed, reference-counted messages (msg.h).
 */
#include "unit.h"

#include "msg.h"

#include <stdint.h>
#include <stdlib.h>

/* Builds a sealed msg of @len bytes of 'a'. */
static struct msg *
msg_of_len(size_t len)
{
	struct msg *m = msg_alloc(len);

	if (!m)
		return NULL;
	memset(msg_payload(m), 'a', len);
	msg_seal(m);
	return m;
}

/* Checks the frame of a @len-byte payload: @hdr (@hdr_len bytes) first. */
static void
check_frame(size_t len, const unsigned char *hdr, unsigned int hdr_len)
{
	struct msg *m = msg_of_len(len);
	const unsigned char *f;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	f = msg_frame(m);
	CU_ASSERT_EQUAL(m->hdr_len, hdr_len);
	CU_ASSERT_EQUAL(m->payload_len, len);
	CU_ASSERT_EQUAL(msg_frame_len(m), hdr_len + len);
	CU_ASSERT_EQUAL(memcmp(f, hdr, hdr_len), 0);
	/* the payload follows the header directly */
	CU_ASSERT_PTR_EQUAL(f + hdr_len, (const unsigned char *)msg_text(m));
	/* lws's LWS_PRE room is in front of the frame */
	CU_ASSERT_TRUE(f - m->buf >= MSG_HEADROOM);
	if (len) {
		CU_ASSERT_EQUAL(msg_text(m)[0], 'a');
		CU_ASSERT_EQUAL(msg_text(m)[len - 1], 'a');
	}
	msg_unref(m);
}

static void
frame_header_len_0(void)
{
	static const unsigned char h[] = { 0x81, 0x00 };

	check_frame(0, h, sizeof(h));
}

static void
frame_header_len_125_is_7_bit(void)
{
	static const unsigned char h[] = { 0x81, 125 };

	check_frame(125, h, sizeof(h));
}

static void
frame_header_len_126_is_16_bit(void)
{
	static const unsigned char h[] = { 0x81, 126, 0x00, 0x7e };

	check_frame(126, h, sizeof(h));
}

static void
frame_header_len_65535_is_16_bit(void)
{
	static const unsigned char h[] = { 0x81, 126, 0xff, 0xff };

	check_frame(65535, h, sizeof(h));
}

static void
frame_header_len_65536_is_64_bit(void)
{
	static const unsigned char h[] = { 0x81, 127, 0, 0, 0, 0, 0, 0x01,
					   0x00, 0x00 };

	check_frame(65536, h, sizeof(h));
}

static void
frame_header_len_70000_is_big_endian(void)
{
	/* 70000 = 0x011170 */
	static const unsigned char h[] = { 0x81, 127, 0, 0, 0, 0, 0, 0x01,
					   0x11, 0x70 };

	check_frame(70000, h, sizeof(h));
}

static void
from_text_copies_and_seals(void)
{
	static const char text[] = "{\"type\":\"pong\"}";
	struct msg *m = msg_from_text(text, sizeof(text) - 1);

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(m->refs, 1);
	CU_ASSERT_EQUAL(m->hdr_len, 2);
	CU_ASSERT_EQUAL(msg_frame(m)[0], 0x81);
	CU_ASSERT_EQUAL(msg_frame(m)[1], sizeof(text) - 1);
	CU_ASSERT_TRUE(unit_text_is(msg_text(m), m->payload_len, text));
	msg_unref(m);
}

static void
refs_count_up_and_down(void)
{
	struct msg *m = msg_of_len(3);

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(m->refs, 1);
	CU_ASSERT_PTR_EQUAL(msg_ref(m), m);
	CU_ASSERT_EQUAL(m->refs, 2);
	msg_ref(m);
	CU_ASSERT_EQUAL(m->refs, 3);
	msg_unref(m);
	CU_ASSERT_EQUAL(m->refs, 2);
	msg_unref(m);
	CU_ASSERT_EQUAL(m->refs, 1);
	msg_unref(m);	/* freed: ASan reports a leak or double free */
	msg_unref(NULL);
}

CU_TestInfo msg_tests[] = {
	{ "frame header for payload length 0", frame_header_len_0 },
	{ "frame header for 125: 7-bit length", frame_header_len_125_is_7_bit },
	{ "frame header for 126: 126 + 16-bit length",
	  frame_header_len_126_is_16_bit },
	{ "frame header for 65535: 126 + 16-bit length",
	  frame_header_len_65535_is_16_bit },
	{ "frame header for 65536: 127 + 64-bit big-endian length",
	  frame_header_len_65536_is_64_bit },
	{ "frame header for 70000: 64-bit big-endian length",
	  frame_header_len_70000_is_big_endian },
	{ "msg_from_text copies the text and seals it",
	  from_text_copies_and_seals },
	{ "msg_ref/msg_unref count references; unref(NULL) is a no-op",
	  refs_count_up_and_down },
	CU_TEST_INFO_NULL,
};
