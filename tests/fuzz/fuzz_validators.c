/*
 * fuzz_validators: codec_room_valid, codec_user_valid and codec_utf8_valid
 * against reference implementations written from the specs
 * (PROTOCOL.md: room_id 1-128 bytes of [A-Za-z0-9_.:-], user_id 1-64 bytes
 * of [A-Za-z0-9_.@:-]; RFC 3629 for UTF-8), and guest_id_parse against
 * the server's own spelling of guest ids.
 *
 * The whole input is checked, and so is every suffix starting in its first
 * bytes (lengths around the 64 / 128 limits come up quickly that way).
 *
 * Invariants: room_rule, user_rule, own_user_rule (no guest- prefix), utf8_ref, guest_exact, guest_ref.
 */
#include "codec.h"
#include "fuzz_util.h"
#include "guest_id.h"

#include <inttypes.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The reference: "guest-" then 1-20 digits, no leading zero but "0",
 * and at 20 digits no more than UINT64_MAX's (compared as text).
 */
static int
ref_guest_ok(const char *s, size_t n)
{
	static const char max[] = "18446744073709551615";
	size_t i, d = n - 6;

	if (n <= 6 || memcmp(s, "guest-", 6) || d > 20 ||
	    (s[6] == '0' && d > 1))
		return 0;
	for (i = 6; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return d < 20 || memcmp(s + 6, max, 20) <= 0;
}

/* guest_id_parse accepts exactly what "guest-%" PRIu64 writes. */
static void
check_guest(const char *s, size_t n)
{
	char buf[32];
	uint64_t v = 0;
	int ok = !guest_id_parse(s, n, &v);

	CHECK("guest_ref", ok == ref_guest_ok(s, n));
	if (ok) {
		snprintf(buf, sizeof(buf), "guest-%" PRIu64, v);
		CHECK("guest_exact", strlen(buf) == n && !memcmp(buf, s, n));
	}
}

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
	CHECK("own_user_rule", !!codec_own_user_valid(s, n) ==
	      (ref_user_valid(s, n) && !(n >= 6 && !memcmp(s, "guest-", 6))));
	CHECK("utf8_ref", !!codec_utf8_valid((const unsigned char *)s, n) ==
	      ref_utf8_valid((const uint8_t *)s, n));
	check_guest(s, n);
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
