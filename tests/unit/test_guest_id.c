/*
 * test_guest_id.c: reading "guest-<conn_id>" (guest_id.h).
 */
#include "unit.h"

#include "guest_id.h"

#include <inttypes.h>
#include <stdio.h>

/* Parses the C string @s; returns guest_id_parse's result. */
static int
parse(const char *s, uint64_t *out)
{
	return guest_id_parse(s, strlen(s), out);
}

static void
reads_what_the_server_writes(void)
{
	static const uint64_t ids[] = {
		0, 1, 9, 10, 42, 1000000, UINT64_MAX / 10, UINT64_MAX - 1,
		UINT64_MAX,
	};
	char buf[32];
	uint64_t v;
	size_t i;

	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		snprintf(buf, sizeof(buf), "guest-%" PRIu64, ids[i]);
		v = 12345;
		CU_ASSERT_EQUAL(parse(buf, &v), 0);
		CU_ASSERT_EQUAL(v, ids[i]);
	}
	CU_ASSERT_EQUAL(parse("guest-18446744073709551615", &v), 0);
	CU_ASSERT_EQUAL(v, UINT64_MAX);
	/* the length counts, not the NUL: "guest-12" read as 3 bytes less */
	CU_ASSERT_EQUAL(guest_id_parse("guest-123", 7, &v), 0);
	CU_ASSERT_EQUAL(v, 1);
}

static void
refuses_overflow_instead_of_wrapping(void)
{
	static const char *const bad[] = {
		"guest-18446744073709551616",	/* 2^64: would be 0 */
		"guest-18446744073709551617",	/* 2^64 + 1: would be 1 */
		"guest-18446744073709551625",
		"guest-36893488147419103233",	/* 2^65 + 1 */
		"guest-99999999999999999999",
		"guest-184467440737095516150",
		"guest-100000000000000000000000000000000000000001",
	};
	uint64_t v = 7;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(parse(bad[i], &v), -1);
		CU_ASSERT_EQUAL(v, 7);		/* untouched */
	}
}

static void
refuses_every_other_spelling(void)
{
	static const char *const bad[] = {
		"guest-", "guest", "", "guest-01", "guest-00", "guest-007",
		"guest-abc", "guest-1a", "guest-a1", "guest--1", "guest-+1",
		"guest- 1", "guest-1 ", "guest-1.0", "Guest-1", "GUEST-1",
		"guest_1", "xguest-1", "guest-0x10", "guest-１",
	};
	uint64_t v = 7;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(parse(bad[i], &v), -1);
		if (v != 7)
			fprintf(stderr, "\n  '%s' read as %" PRIu64 "\n",
				bad[i], v);
	}
	CU_ASSERT_EQUAL(v, 7);
	/* a NUL inside the given length is no digit */
	CU_ASSERT_EQUAL(guest_id_parse("guest-1\0" "2", 9, &v), -1);
}

CU_TestInfo guest_id_tests[] = {
	{ "reads every id the server writes, up to UINT64_MAX",
	  reads_what_the_server_writes },
	{ "an id past UINT64_MAX is refused, not wrapped",
	  refuses_overflow_instead_of_wrapping },
	{ "leading zeros, signs, junk and a bare prefix are refused",
	  refuses_every_other_spelling },
	CU_TEST_INFO_NULL,
};
