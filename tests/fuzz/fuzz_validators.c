/*
 * fuzz_validators: codec_room_valid, codec_user_valid and codec_utf8_valid
 * against reference implementations written from the specs
 * (PROTOCOL.md: room_id 1-128 bytes of [A-Za-z0-9_.:-], user_id 1-64 bytes
 * of [A-Za-z0-9_.@:-]; RFC 3629 for UTF-8).
 *
 * The whole input is checked, and so is every suffix starting in its first
 * bytes (lengths around the 64 / 128 limits come up quickly that way).
 *
 * Invariants: room_rule, user_rule, utf8_ref.
 */
#include "codec.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const uint8_t *p, size_t n)
{
	/* an exact-size copy, so that a read past the end is caught */
	char *s = malloc(n ? n : 1);

	if (!s)
		abort();
	memcpy(s, p, n);
	CHECK("room_rule", !!codec_room_valid(s, n) == ref_room_valid(s, n));
	CHECK("user_rule", !!codec_user_valid(s, n) == ref_user_valid(s, n));
	CHECK("utf8_ref", !!codec_utf8_valid((const unsigned char *)s, n) ==
	      ref_utf8_valid((const uint8_t *)s, n));
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t i;

	for (i = 0; i <= size && i < 4; i++)
		check(data + i, size - i);
	/* every prefix of a short input: the length limits */
	if (size <= 130)
		for (i = 0; i < size; i++)
			check(data, i);
	return 0;
}
