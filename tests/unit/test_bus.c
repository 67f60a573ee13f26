/*
 * test_bus.c: the Redis bus's pure half (bus.h): the framing of a room's
 * channel messages, key names, redis-url, and the verdict on each message
 * a subscription brings.
 */
#include "unit.h"

#include "bus.h"
#include "rconf.h"
#include "rm_err.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

static void
frame_round_trips(void)
{
	const char json[] = "{\"type\":\"broadcast\",\"seq\":42,\"content\":\"a:b\"}";
	char buf[256];
	const char *epoch, *j;
	size_t elen, jlen;
	uint64_t seq;
	int n = bus_frame(buf, sizeof(buf), 42, "0badcafe-7", json,
			  sizeof(json) - 1);

	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_TRUE(unit_text_is(buf, (size_t)n, "42:0badcafe-7:{\"type\":"
		       "\"broadcast\",\"seq\":42,\"content\":\"a:b\"}"));
	CU_ASSERT_EQUAL_FATAL(bus_unframe(buf, (size_t)n, &seq, &epoch, &elen,
					  &j, &jlen), 0);
	CU_ASSERT_EQUAL(seq, 42);
	CU_ASSERT_TRUE(unit_text_is(epoch, elen, "0badcafe-7"));
	/* the JSON may hold colons: only the first two split */
	CU_ASSERT_TRUE(unit_text_is(j, jlen, json));
	/* seq 0: an unnumbered event */
	CU_ASSERT_EQUAL(bus_unframe("0:n.7:{}", 8, &seq, &epoch, &elen, &j,
				    &jlen), 0);
	CU_ASSERT_EQUAL(seq, 0);
	CU_ASSERT_TRUE(unit_text_is(epoch, elen, "n.7"));
}

static void
frame_too_small_buffer_fails(void)
{
	char buf[11];	/* "1:e:{\"x\":1}" and its NUL need 12 */

	CU_ASSERT_EQUAL(bus_frame(buf, sizeof(buf), 1, "e", "{\"x\":1}", 7),
			-1);
}

static void
unframe_rejects_malformed(void)
{
	static const char *const bad[] = {
		"", ":e:{}", "x:e:{}", "1::{}", "1:e", "1:e:",
		"123456789012345678901:e:{}",
		"1:0123456789012345678901234567890123456789x:{}",
	};
	const char *epoch, *j;
	size_t elen, jlen, i;
	uint64_t seq;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(bus_unframe(bad[i], strlen(bad[i]), &seq,
					    &epoch, &elen, &j, &jlen), -1);
}

static void
names_are_prefix_kind_id(void)
{
	char buf[BUS_NAME_MAX];
	int n = bus_name(buf, sizeof(buf), "rc", "room", "lobby:1xx", 7);

	CU_ASSERT_TRUE(unit_text_is(buf, (size_t)n, "rc:room:lobby:1"));
	CU_ASSERT_EQUAL(bus_name(buf, 8, "rc", "room", "lobby", 5), -1);
}

static void
url_forms(void)
{
	struct bus_url u;
	char err[160];

	CU_ASSERT_EQUAL_FATAL(bus_parse_url("redis://127.0.0.1", &u, err,
					    sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(u.host, "127.0.0.1");
	CU_ASSERT_EQUAL(u.port, 6379);
	CU_ASSERT_EQUAL(u.db, 0);
	CU_ASSERT_STRING_EQUAL(u.password, "");
	CU_ASSERT_EQUAL_FATAL(bus_parse_url("redis://:s3:cr@t@db.example:7000/3",
					    &u, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(u.password, "s3:cr@t");
	CU_ASSERT_STRING_EQUAL(u.host, "db.example");
	CU_ASSERT_EQUAL(u.port, 7000);
	CU_ASSERT_EQUAL(u.db, 3);
	CU_ASSERT_EQUAL_FATAL(bus_parse_url("unix:/run/redis.sock", &u, err,
					    sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(u.path, "/run/redis.sock");
}

static void
url_errors_name_the_option(void)
{
	static const char *const bad[] = {
		"http://h", "redis://", "redis://h:0", "redis://h:65536",
		"redis://h:x", "redis://h/x", "redis://pw@h", "unix:",
	};
	struct bus_url u;
	char err[160];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CU_ASSERT_EQUAL(bus_parse_url(bad[i], &u, err, sizeof(err)), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "redis-url"));
		/* no room for a reason: nothing written, nothing read back */
		memset(err, 'x', sizeof(err));
		CU_ASSERT_EQUAL(bus_parse_url(bad[i], &u, err, 0), -1);
		CU_ASSERT_EQUAL(err[0], 'x');
		/* a short one is cut, and ended */
		CU_ASSERT_EQUAL(bus_parse_url(bad[i], &u, err, 4), -1);
		CU_ASSERT_STRING_EQUAL(err, "red");
	}
}

static void
rconf_takes_redis_options(void)
{
	struct rconf c;
	char err[160];

	rconf_init(&c);
	CU_ASSERT_EQUAL(rconf_set(&c, "redis-url", "redis://127.0.0.1:6380",
				  err, sizeof(err)), RM_OK);
	CU_ASSERT_STRING_EQUAL(c.redis_url, "redis://127.0.0.1:6380");
	CU_ASSERT_EQUAL(rconf_set(&c, "redis-prefix", "app.1", err,
				  sizeof(err)), RM_OK);
	CU_ASSERT_STRING_EQUAL(c.redis_prefix, "app.1");
	CU_ASSERT_EQUAL(rconf_set(&c, "redis-prefix", "a:b", err,
				  sizeof(err)), RM_E_INVAL);
	CU_ASSERT_EQUAL(rconf_set(&c, "redis-prefix", "", err, sizeof(err)),
			RM_E_INVAL);
	CU_ASSERT_EQUAL(rconf_set(&c, "redis-url", "nope", err, sizeof(err)),
			RM_E_INVAL);
	/* a refused value keeps the old one */
	CU_ASSERT_STRING_EQUAL(c.redis_url, "redis://127.0.0.1:6380");
	rconf_free(&c);
	CU_ASSERT_PTR_NULL(c.redis_url);
}

static void
seen_verdicts(void)
{
	struct bus_seen s = { 0, "" };

	/* nothing known: take what comes */
	CU_ASSERT_EQUAL(bus_seen_judge(&s, 5, "e1", 2), BUS_DELIVER);
	bus_seen_take(&s, 5, "e1", 2);
	CU_ASSERT_EQUAL(bus_seen_judge(&s, 6, "e1", 2), BUS_DELIVER);
	CU_ASSERT_EQUAL(bus_seen_judge(&s, 5, "e1", 2), BUS_DUPLICATE);
	CU_ASSERT_EQUAL(bus_seen_judge(&s, 2, "e1", 2), BUS_DUPLICATE);
	CU_ASSERT_EQUAL(bus_seen_judge(&s, 8, "e1", 2), BUS_GAP);
	/* another epoch, even with a lower seq: numbering started over */
	CU_ASSERT_EQUAL(bus_seen_judge(&s, 1, "e2", 2), BUS_NEW_EPOCH);
	CU_ASSERT_EQUAL(bus_seen_judge(&s, 6, "e10", 3), BUS_NEW_EPOCH);
	bus_seen_take(&s, 1, "e2", 2);
	CU_ASSERT_STRING_EQUAL(s.epoch, "e2");
	CU_ASSERT_EQUAL(s.seq, 1);
}

static void
node_numbers_stay_in_range(void)
{
	CU_ASSERT_EQUAL(bus_node_number(0), 0);
	CU_ASSERT_EQUAL(bus_node_number(-5), 0);
	CU_ASSERT_EQUAL(bus_node_number(1), 1);
	CU_ASSERT_EQUAL(bus_node_number(7), 7);
	CU_ASSERT_EQUAL(bus_node_number((long long)BUS_NODE_MAX), BUS_NODE_MAX);
	CU_ASSERT_EQUAL(bus_node_number((long long)BUS_NODE_MAX + 1), 1);
	CU_ASSERT_EQUAL(bus_node_number(LLONG_MAX) >= 1, 1);
	CU_ASSERT_EQUAL(bus_node_number(LLONG_MAX) <= BUS_NODE_MAX, 1);
	/* the largest conn_id is exact in a JSON number (a double) */
	CU_ASSERT((BUS_NODE_MAX << BUS_NODE_SHIFT) + BUS_NODE_CONNS <
		  (UINT64_C(1) << 53));
	CU_ASSERT_EQUAL(bus_node_of((UINT64_C(3) << BUS_NODE_SHIFT) + 9), 3);
	CU_ASSERT_EQUAL(bus_node_of(BUS_NODE_CONNS), 0);
}

/* bus_node_tag() on the C string @s. */
static int
tag(const char *s, char *kind, uint64_t *from, uint64_t *conn)
{
	return bus_node_tag(s, strlen(s), kind, from, conn);
}

static void
node_tags_read_strictly(void)
{
	char k = 0;
	uint64_t f = 0, c = 0;

	CU_ASSERT_EQUAL(tag("r", &k, &f, &c), 0);
	CU_ASSERT_EQUAL(k, 'r');
	CU_ASSERT_EQUAL(tag("d12.4294967297", &k, &f, &c), 0);
	CU_ASSERT_EQUAL(k, 'd');
	CU_ASSERT_EQUAL(f, 12);
	CU_ASSERT_EQUAL(c, UINT64_C(4294967297));
	CU_ASSERT_EQUAL(tag("x1.2", &k, &f, &c), 0);
	CU_ASSERT_EQUAL(k, 'x');
	CU_ASSERT_EQUAL(tag("", &k, &f, &c), -1);
	CU_ASSERT_EQUAL(tag("rr", &k, &f, &c), -1);
	CU_ASSERT_EQUAL(tag("d1", &k, &f, &c), -1);
	CU_ASSERT_EQUAL(tag("d1.", &k, &f, &c), -1);
	CU_ASSERT_EQUAL(tag("d.1", &k, &f, &c), -1);
	CU_ASSERT_EQUAL(tag("q1.2", &k, &f, &c), -1);
	CU_ASSERT_EQUAL(tag("d1.2x", &k, &f, &c), -1);
	CU_ASSERT_EQUAL(tag("d1.2.3", &k, &f, &c), -1);
	CU_ASSERT_EQUAL(tag("d-1.2", &k, &f, &c), -1);
	CU_ASSERT_EQUAL(tag("d1.18446744073709551616", &k, &f, &c), -1);
	CU_ASSERT_EQUAL(tag("d1.18446744073709551615", &k, &f, &c), 0);
	CU_ASSERT_EQUAL(c, UINT64_MAX);
}

CU_TestInfo bus_tests[] = {
	{ "a channel message frames and unframes", frame_round_trips },
	{ "framing into too small a buffer fails",
	  frame_too_small_buffer_fails },
	{ "malformed channel messages are refused", unframe_rejects_malformed },
	{ "key names are prefix:kind:id", names_are_prefix_kind_id },
	{ "redis-url forms parse", url_forms },
	{ "bad redis-url values are refused, naming it",
	  url_errors_name_the_option },
	{ "rconf takes redis-url and redis-prefix", rconf_takes_redis_options },
	{ "each message's verdict from what was delivered", seen_verdicts },
	{ "node numbers stay in 1..BUS_NODE_MAX, conn_ids below 2^53",
	  node_numbers_stay_in_range },
	{ "node channel tags are read strictly", node_tags_read_strictly },
	CU_TEST_INFO_NULL,
};
