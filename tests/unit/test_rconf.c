/*
 * test_rconf.c: option parsing (rconf.h) against PROTOCOL.md's
 * Configuration table.
 */
#include "unit.h"

#include "rconf.h"
#include "rm_err.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One numeric option: where it lives and what it accepts. */
struct num_opt {
	const char *name;
	size_t offset, size;
	uint64_t min, max;
	const char *valid;	/* a value it takes ... */
	uint64_t valid_v;	/* ... and what it becomes */
};

#define NOPT(n, field, mn, mx, v, vv)                                        \
	{ n, offsetof(struct rconf, field),                                  \
	  sizeof(((struct rconf *)0)->field), mn, mx, v, vv }

static const struct num_opt num_opts[] = {
	NOPT("max-message-size", max_message_size, 16, 64u << 20, "1000", 1000),
	NOPT("send-ring-size", send_ring_size, 1, 65536, "4", 4),
	NOPT("send-ring-bytes", send_ring_bytes, 64, 1u << 30, "4096", 4096),
	NOPT("ping-interval-s", ping_interval_s, 0, 86400, "1", 1),
	NOPT("pong-timeout-s", pong_timeout_s, 1, 3600, "2", 2),
	NOPT("max-connections", max_connections, 0, 10000000, "100", 100),
	NOPT("max-connections-per-ip", max_connections_per_ip, 0, 10000000,
	     "8", 8),
	NOPT("ipv6-prefix-len", ipv6_prefix_len, 32, 128, "48", 48),
	NOPT("max-queued-bytes", max_queued_bytes, 0, (uint64_t)1 << 40,
	     "1000000", 1000000),
	NOPT("max-reassembly-bytes", max_reassembly_bytes, 0,
	     (uint64_t)1 << 40, "4096", 4096),
	NOPT("reassembly-timeout-s", reassembly_timeout_s, 0, 3600, "3", 3),
	NOPT("max-rooms-per-connection", max_rooms_per_connection, 1, 100000,
	     "2", 2),
	NOPT("max-messages-per-second", max_messages_per_second, 0, 1000000,
	     "50", 50),
};

#define N_NUM_OPTS (sizeof(num_opts) / sizeof(num_opts[0]))

static uint64_t
field(const struct rconf *c, const struct num_opt *o)
{
	const char *p = (const char *)c + o->offset;

	if (o->size == sizeof(size_t))
		return *(const size_t *)p;
	return *(const unsigned int *)p;
}

static void
defaults_match_protocol_table(void)
{
	struct rconf c;

	rconf_init(&c);
	CU_ASSERT_EQUAL(c.max_message_size, 65536);
	CU_ASSERT_EQUAL(c.send_ring_size, 256);
	CU_ASSERT_EQUAL(c.send_ring_bytes, 1048576);
	CU_ASSERT_EQUAL(c.drop_policy, RCONF_DROP);
	CU_ASSERT_EQUAL(c.ping_interval_s, 30);
	CU_ASSERT_EQUAL(c.pong_timeout_s, 10);
	CU_ASSERT_EQUAL(c.max_connections, 0);
	/* options this build adds to the table: off by default */
	CU_ASSERT_EQUAL(c.max_connections_per_ip, 0);
	CU_ASSERT_EQUAL(c.ipv6_prefix_len, 64);
	CU_ASSERT_EQUAL(c.max_queued_bytes, 0);
	/* issue 11: partial messages are bounded by default */
	CU_ASSERT_EQUAL(c.max_reassembly_bytes, 64u << 20);
	CU_ASSERT_EQUAL(c.reassembly_timeout_s, 10);
	CU_ASSERT_EQUAL(c.max_rooms_per_connection, 64);
	CU_ASSERT_EQUAL(c.max_messages_per_second, 0);
	CU_ASSERT_EQUAL(c.presence_events, 0);
	CU_ASSERT_EQUAL(c.n_origins, 0);
	CU_ASSERT_EQUAL(rconf_origin_allowed(&c, "https://anything.example"),
			1);
	rconf_free(&c);
}

static void
numeric_options_accept_valid_values(void)
{
	char err[256], buf[32];
	struct rconf c;
	size_t i;

	for (i = 0; i < N_NUM_OPTS; i++) {
		const struct num_opt *o = &num_opts[i];

		rconf_init(&c);
		CU_ASSERT_EQUAL(rconf_set(&c, o->name, o->valid, err,
					  sizeof(err)), RM_OK);
		CU_ASSERT_EQUAL(field(&c, o), o->valid_v);
		/* both ends of the range */
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)o->min);
		CU_ASSERT_EQUAL(rconf_set(&c, o->name, buf, err, sizeof(err)),
				RM_OK);
		CU_ASSERT_EQUAL(field(&c, o), o->min);
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)o->max);
		CU_ASSERT_EQUAL(rconf_set(&c, o->name, buf, err, sizeof(err)),
				RM_OK);
		CU_ASSERT_EQUAL(field(&c, o), o->max);
		rconf_free(&c);
	}
}

/* Sets @value on option @o and checks it is refused, naming the option. */
static void
check_refused(const struct num_opt *o, const char *value)
{
	struct rconf c;
	char err[256];
	uint64_t before;
	int rc;

	rconf_init(&c);
	before = field(&c, o);
	err[0] = '\0';
	rc = rconf_set(&c, o->name, value, err, sizeof(err));
	CU_ASSERT_EQUAL(rc, RM_E_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, o->name));
	CU_ASSERT_EQUAL(field(&c, o), before);	/* left unchanged */
	if (rc != RM_E_INVAL || !strstr(err, o->name))
		fprintf(stderr, "\n  %s='%s' -> %d '%s'\n", o->name, value, rc,
			err);
	rconf_free(&c);
}

static void
numeric_options_refuse_junk(void)
{
	static const char *const junk[] = {
		"abc", "-1", "1x", "", "99999999999999999999", " 1", "1 ",
		"+1", "0x10", "1.5", "1e3",
	};
	size_t i, j;

	for (i = 0; i < N_NUM_OPTS; i++)
		for (j = 0; j < sizeof(junk) / sizeof(junk[0]); j++)
			check_refused(&num_opts[i], junk[j]);
}

static void
numeric_options_refuse_out_of_range(void)
{
	char buf[32];
	size_t i;

	for (i = 0; i < N_NUM_OPTS; i++) {
		const struct num_opt *o = &num_opts[i];

		snprintf(buf, sizeof(buf), "%llu",
			 (unsigned long long)o->max + 1);
		check_refused(o, buf);
		if (o->min) {
			snprintf(buf, sizeof(buf), "%llu",
				 (unsigned long long)o->min - 1);
			check_refused(o, buf);
		}
	}
}

static void
unknown_option_is_noent_and_named(void)
{
	struct rconf c;
	char err[256] = "";

	rconf_init(&c);
	CU_ASSERT_EQUAL(rconf_set(&c, "no-such-option", "1", err, sizeof(err)),
			RM_E_NOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "no-such-option"));
	CU_ASSERT_EQUAL(rconf_set(&c, "", "1", err, sizeof(err)), RM_E_NOENT);
	/* names are exact: no case folding, no prefix match */
	CU_ASSERT_EQUAL(rconf_set(&c, "Send-Ring-Size", "4", err, sizeof(err)),
			RM_E_NOENT);
	CU_ASSERT_EQUAL(rconf_set(&c, "send-ring", "4", err, sizeof(err)),
			RM_E_NOENT);
	CU_ASSERT_EQUAL(c.send_ring_size, 256);
	rconf_free(&c);
}

static void
error_text_fits_a_small_buffer(void)
{
	struct rconf c;
	char err[9];

	memset(err, 'x', sizeof(err));
	rconf_init(&c);
	CU_ASSERT_EQUAL(rconf_set(&c, "send-ring-size", "abc", err, 8),
			RM_E_INVAL);
	CU_ASSERT_EQUAL(err[7], '\0');
	CU_ASSERT_EQUAL(err[8], 'x');
	rconf_free(&c);
}

static void
drop_policy_is_drop_or_close(void)
{
	struct rconf c;
	char err[256] = "";

	rconf_init(&c);
	CU_ASSERT_EQUAL(rconf_set(&c, "drop-policy", "close", err, sizeof(err)),
			RM_OK);
	CU_ASSERT_EQUAL(c.drop_policy, RCONF_CLOSE);
	CU_ASSERT_EQUAL(rconf_set(&c, "drop-policy", "drop", err, sizeof(err)),
			RM_OK);
	CU_ASSERT_EQUAL(c.drop_policy, RCONF_DROP);
	CU_ASSERT_EQUAL(rconf_set(&c, "drop-policy", "Close", err, sizeof(err)),
			RM_E_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "drop-policy"));
	CU_ASSERT_EQUAL(rconf_set(&c, "drop-policy", "", err, sizeof(err)),
			RM_E_INVAL);
	CU_ASSERT_EQUAL(c.drop_policy, RCONF_DROP);
	rconf_free(&c);
}

static void
presence_events_is_on_or_off(void)
{
	struct rconf c;
	char err[256] = "";

	rconf_init(&c);
	CU_ASSERT_EQUAL(rconf_set(&c, "presence-events", "on", err,
				  sizeof(err)), RM_OK);
	CU_ASSERT_EQUAL(c.presence_events, 1);
	CU_ASSERT_EQUAL(rconf_set(&c, "presence-events", "off", err,
				  sizeof(err)), RM_OK);
	CU_ASSERT_EQUAL(c.presence_events, 0);
	CU_ASSERT_EQUAL(rconf_set(&c, "presence-events", "1", err,
				  sizeof(err)), RM_E_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "presence-events"));
	CU_ASSERT_EQUAL(rconf_set(&c, "presence-events", "yes", err,
				  sizeof(err)), RM_E_INVAL);
	CU_ASSERT_EQUAL(c.presence_events, 0);
	rconf_free(&c);
}

static void
allowed_origins_parses_a_trimmed_list(void)
{
	struct rconf c;
	char err[256] = "";

	rconf_init(&c);
	CU_ASSERT_EQUAL(rconf_set(&c, "allowed-origins",
				  "https://a.example, http://b.example:8080 ,,"
				  "  https://c.example",
				  err, sizeof(err)), RM_OK);
	CU_ASSERT_EQUAL_FATAL(c.n_origins, 3);
	CU_ASSERT_STRING_EQUAL(c.origins[0], "https://a.example");
	CU_ASSERT_STRING_EQUAL(c.origins[1], "http://b.example:8080");
	CU_ASSERT_STRING_EQUAL(c.origins[2], "https://c.example");
	/* a second setting replaces the list */
	CU_ASSERT_EQUAL(rconf_set(&c, "allowed-origins", "https://d.example",
				  err, sizeof(err)), RM_OK);
	CU_ASSERT_EQUAL_FATAL(c.n_origins, 1);
	CU_ASSERT_STRING_EQUAL(c.origins[0], "https://d.example");
	rconf_free(&c);
	CU_ASSERT_EQUAL(c.n_origins, 0);
}

static void
origin_allowed_checks_the_list(void)
{
	struct rconf c;
	char err[256] = "";

	rconf_init(&c);
	/* no list: any origin, and no origin */
	CU_ASSERT_EQUAL(rconf_origin_allowed(&c, "http://evil.example"), 1);
	CU_ASSERT_EQUAL(rconf_origin_allowed(&c, NULL), 1);
	CU_ASSERT_EQUAL(rconf_set(&c, "allowed-origins",
				  "https://a.example,https://b.example", err,
				  sizeof(err)), RM_OK);
	CU_ASSERT_EQUAL(rconf_origin_allowed(&c, "https://a.example"), 1);
	CU_ASSERT_EQUAL(rconf_origin_allowed(&c, "https://b.example"), 1);
	CU_ASSERT_EQUAL(rconf_origin_allowed(&c, "https://c.example"), 0);
	CU_ASSERT_EQUAL(rconf_origin_allowed(&c, "https://a.example.evil"), 0);
	CU_ASSERT_EQUAL(rconf_origin_allowed(&c, "https://a.exampl"), 0);
	CU_ASSERT_EQUAL(rconf_origin_allowed(&c, ""), 0);
	/* a request without an Origin header is not a browser: let through */
	CU_ASSERT_EQUAL(rconf_origin_allowed(&c, NULL), 1);
	/* an empty setting means any origin again */
	CU_ASSERT_EQUAL(rconf_set(&c, "allowed-origins", "", err, sizeof(err)),
			RM_OK);
	CU_ASSERT_EQUAL(c.n_origins, 0);
	CU_ASSERT_EQUAL(rconf_origin_allowed(&c, "https://c.example"), 1);
	rconf_free(&c);
}

static void
allowed_origins_refuses_too_many(void)
{
	struct rconf c;
	char err[256] = "", list[2048];
	size_t n = 0;
	int i;

	list[0] = '\0';
	for (i = 0; i <= RCONF_MAX_ORIGINS; i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n,
				      "%shttps://o%d.example", i ? "," : "", i);
	rconf_init(&c);
	CU_ASSERT_EQUAL(rconf_set(&c, "allowed-origins", list, err,
				  sizeof(err)), RM_E_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "allowed-origins"));
	rconf_free(&c);		/* frees what was kept before the refusal */
}

static void
lws_own_options_are_accepted_and_ignored(void)
{
	static const char *const names[] = { "status", "default", "raw" };
	struct rconf c, fresh;
	char err[256] = "";
	size_t i;

	rconf_init(&fresh);
	for (i = 0; i < 3; i++) {
		rconf_init(&c);
		CU_ASSERT_EQUAL(rconf_set(&c, names[i], "1", err, sizeof(err)),
				RM_OK);
		CU_ASSERT_EQUAL(rconf_set(&c, names[i], "anything", err,
					  sizeof(err)), RM_OK);
		CU_ASSERT_EQUAL(memcmp(&c, &fresh, sizeof(c)), 0);
		rconf_free(&c);
	}
}

static void
parse_uint_is_exact(void)
{
	uint64_t v = 7;

	CU_ASSERT_EQUAL(rconf_parse_uint("0", 0, 10, &v), RM_OK);
	CU_ASSERT_EQUAL(v, 0);
	CU_ASSERT_EQUAL(rconf_parse_uint("010", 0, 10, &v), RM_OK);
	CU_ASSERT_EQUAL(v, 10);
	CU_ASSERT_EQUAL(rconf_parse_uint("18446744073709551615", 0, UINT64_MAX,
					 &v), RM_OK);
	CU_ASSERT_EQUAL(v, UINT64_MAX);
	v = 7;
	CU_ASSERT_EQUAL(rconf_parse_uint("18446744073709551616", 0, UINT64_MAX,
					 &v), RM_E_INVAL);
	CU_ASSERT_EQUAL(rconf_parse_uint("11", 0, 10, &v), RM_E_INVAL);
	CU_ASSERT_EQUAL(rconf_parse_uint("4", 5, 10, &v), RM_E_INVAL);
	CU_ASSERT_EQUAL(rconf_parse_uint(NULL, 0, 10, &v), RM_E_INVAL);
	CU_ASSERT_EQUAL(rconf_parse_uint("", 0, 10, &v), RM_E_INVAL);
	CU_ASSERT_EQUAL(rconf_parse_uint("-0", 0, 10, &v), RM_E_INVAL);
	CU_ASSERT_EQUAL(rconf_parse_uint("1\n", 0, 10, &v), RM_E_INVAL);
	CU_ASSERT_EQUAL(v, 7);	/* untouched by every refusal */
}

static void
scope_names_the_process_wide_options(void)
{
	static const char *const vhost[] = {
		"max-message-size",	    "send-ring-size",
		"send-ring-bytes",	    "drop-policy",
		"ping-interval-s",	    "pong-timeout-s",
		"max-connections",	    "max-connections-per-ip",
		"max-rooms-per-connection", "max-messages-per-second",
		"presence-events",	    "allowed-origins",
	};
	size_t i;

	CU_ASSERT_EQUAL(rconf_scope_of("history-size"), RCONF_SCOPE_PROCESS);
	CU_ASSERT_EQUAL(rconf_scope_of("max-queued-bytes"),
			RCONF_SCOPE_PROCESS);
	for (i = 0; i < sizeof(vhost) / sizeof(vhost[0]); i++)
		CU_ASSERT_EQUAL(rconf_scope_of(vhost[i]), RCONF_SCOPE_VHOST);
}

/* The error of the last set() or take(). */
static char err_of[256];

static int
set(struct rconf *c, const char *name, const char *value)
{
	return rconf_set(c, name, value, err_of, sizeof(err_of));
}

/* rconf_process_take() of vhost @vhost's @c. */
static int
take(struct rconf_process *p, const struct rconf *c, const char *vhost)
{
	return rconf_process_take(p, c, vhost, err_of, sizeof(err_of));
}

/* A vhost's options: @history and @queued, each NULL to leave it unset. */
static void
vhost_conf(struct rconf *c, const char *history, const char *queued)
{
	rconf_init(c);
	/* a per-vhost option never counts as given */
	CU_ASSERT_EQUAL(set(c, "send-ring-size", "8"), RM_OK);
	if (history)
		CU_ASSERT_EQUAL(set(c, "history-size", history), RM_OK);
	if (queued)
		CU_ASSERT_EQUAL(set(c, "max-queued-bytes", queued), RM_OK);
}

static void
process_options_take_what_a_vhost_gives(void)
{
	struct rconf_process p;
	struct rconf a, b, none;

	rconf_process_init(&p);
	CU_ASSERT_EQUAL(p.history_size, 0);
	CU_ASSERT_EQUAL(p.max_queued_bytes, 0);
	CU_ASSERT_EQUAL(p.given, 0);
	vhost_conf(&none, NULL, NULL);
	vhost_conf(&a, "10", NULL);
	vhost_conf(&b, "10", "5000");
	/* a vhost that gives nothing conflicts with no one */
	CU_ASSERT_EQUAL(take(&p, &none, "plain"), RM_OK);
	CU_ASSERT_EQUAL(p.given, 0);
	CU_ASSERT_EQUAL(take(&p, &a, "ws"), RM_OK);
	CU_ASSERT_EQUAL(p.history_size, 10);
	/* the same value again, and another option */
	CU_ASSERT_EQUAL(take(&p, &b, "wss"), RM_OK);
	CU_ASSERT_EQUAL(p.history_size, 10);
	CU_ASSERT_EQUAL(p.max_queued_bytes, 5000);
	CU_ASSERT_STRING_EQUAL(p.given_by[0], "ws");
	CU_ASSERT_STRING_EQUAL(p.given_by[1], "wss");
	/* taken after the givers: the default stays theirs */
	CU_ASSERT_EQUAL(take(&p, &none, "late"), RM_OK);
	CU_ASSERT_EQUAL(p.max_queued_bytes, 5000);
	rconf_free(&a);
	rconf_free(&b);
	rconf_free(&none);
}

static void
process_option_conflict_names_both_vhosts(void)
{
	struct rconf_process p, before;
	struct rconf a, b;

	rconf_process_init(&p);
	vhost_conf(&a, "10", NULL);
	vhost_conf(&b, "20", "5000");
	CU_ASSERT_EQUAL(take(&p, &a, "ws-vhost"), RM_OK);
	before = p;
	CU_ASSERT_EQUAL(take(&p, &b, "wss-vhost"), RM_E_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_of, "history-size"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err_of, "'ws-vhost'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err_of, "'wss-vhost'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err_of, "gives 20"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err_of, "gave 10"));
	/* refused as a whole: b's max-queued-bytes was not taken either */
	CU_ASSERT_EQUAL(p.history_size, before.history_size);
	CU_ASSERT_EQUAL(p.given, before.given);
	CU_ASSERT_STRING_EQUAL(p.given_by[0], "ws-vhost");
	CU_ASSERT_EQUAL(p.max_queued_bytes, 0);
	rconf_free(&a);
	rconf_free(&b);
}

/*
 * history-db is process-wide too (one hub, one history): another vhost may
 * name the same file or none, never another one; too long a path is
 * refused where it is set.
 */
static void
history_db_is_one_file_for_every_vhost(void)
{
	struct rconf_process p;
	struct rconf a, same, other, none;
	char *longp;

	rconf_process_init(&p);
	CU_ASSERT_STRING_EQUAL(p.history_db, "");
	CU_ASSERT_EQUAL(rconf_scope_of("history-db"), RCONF_SCOPE_PROCESS);
	vhost_conf(&a, NULL, NULL);
	vhost_conf(&same, NULL, NULL);
	vhost_conf(&other, NULL, NULL);
	vhost_conf(&none, NULL, NULL);
	CU_ASSERT_EQUAL(set(&a, "history-db", "/var/lib/rc/h.db"), RM_OK);
	CU_ASSERT_EQUAL(set(&same, "history-db", "/var/lib/rc/h.db"), RM_OK);
	CU_ASSERT_EQUAL(set(&other, "history-db", "/tmp/o.db"), RM_OK);
	CU_ASSERT_EQUAL(take(&p, &none, "plain"), RM_OK);
	CU_ASSERT_EQUAL(take(&p, &a, "ws"), RM_OK);
	CU_ASSERT_STRING_EQUAL(p.history_db, "/var/lib/rc/h.db");
	CU_ASSERT_STRING_EQUAL(p.history_db_by, "ws");
	CU_ASSERT_EQUAL(take(&p, &same, "wss"), RM_OK);
	CU_ASSERT_EQUAL(take(&p, &none, "late"), RM_OK);
	CU_ASSERT_EQUAL(take(&p, &other, "third"), RM_E_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_of, "history-db"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err_of, "'third' gives /tmp/o.db"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err_of, "'ws' gave /var/lib/rc/h.db"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err_of, "process-wide"));
	CU_ASSERT_STRING_EQUAL(p.history_db, "/var/lib/rc/h.db");
	longp = malloc(RCONF_PATH_MAX + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(longp);
	memset(longp, 'p', RCONF_PATH_MAX);
	longp[RCONF_PATH_MAX] = '\0';
	CU_ASSERT_EQUAL(set(&none, "history-db", longp), RM_E_INVAL);
	longp[RCONF_PATH_MAX - 1] = '\0';
	CU_ASSERT_EQUAL(set(&none, "history-db", longp), RM_OK);
	free(longp);
	rconf_free(&a);
	rconf_free(&same);
	rconf_free(&other);
	rconf_free(&none);
}

static void
history_options_parse(void)
{
	struct rconf c;
	char err[256];

	rconf_init(&c);
	/* history-size: 0 by default, range-checked */
	CU_ASSERT_EQUAL(c.history_size, 0);
	CU_ASSERT_EQUAL(rconf_set(&c, "history-size", "10", err, sizeof(err)),
			RM_OK);
	CU_ASSERT_EQUAL(c.history_size, 10);
	CU_ASSERT_EQUAL(rconf_set(&c, "history-size", "x", err, sizeof(err)),
			RM_E_INVAL);
	/* the process-wide history options: defaults, ranges, a path */
	CU_ASSERT_EQUAL(c.history_bytes, 16u << 20);
	CU_ASSERT_EQUAL(c.history_ttl_s, 300);
	CU_ASSERT_PTR_NULL(c.history_db);
	CU_ASSERT_EQUAL(rconf_set(&c, "history-bytes", "0", err, sizeof(err)),
			RM_OK);
	CU_ASSERT_EQUAL(c.history_bytes, 0);
	CU_ASSERT_EQUAL(rconf_set(&c, "history-ttl-s", "-1", err,
				  sizeof(err)), RM_E_INVAL);
	CU_ASSERT_EQUAL(rconf_set(&c, "history-ttl-s", "5", err, sizeof(err)),
			RM_OK);
	CU_ASSERT_EQUAL(c.history_ttl_s, 5);
	CU_ASSERT_EQUAL(rconf_set(&c, "history-db", "", err, sizeof(err)),
			RM_E_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "history-db"));
	CU_ASSERT_EQUAL(rconf_set(&c, "history-db", "a.db", err, sizeof(err)),
			RM_OK);
	CU_ASSERT_EQUAL(rconf_set(&c, "history-db", "b.db", err, sizeof(err)),
			RM_OK);
	CU_ASSERT_STRING_EQUAL(c.history_db, "b.db");
	rconf_free(&c);
}

CU_TestInfo rconf_tests[] = {
	{ "history-size, history-bytes, history-ttl-s and history-db parse",
	  history_options_parse },
	{ "defaults match PROTOCOL.md's table", defaults_match_protocol_table },
	{ "numeric options accept valid values and both range ends",
	  numeric_options_accept_valid_values },
	{ "numeric options refuse junk with RM_E_INVAL naming the option",
	  numeric_options_refuse_junk },
	{ "numeric options refuse values out of range",
	  numeric_options_refuse_out_of_range },
	{ "an unknown option is RM_E_NOENT, named in the error",
	  unknown_option_is_noent_and_named },
	{ "the error text is cut to the buffer",
	  error_text_fits_a_small_buffer },
	{ "drop-policy takes drop or close", drop_policy_is_drop_or_close },
	{ "presence-events takes on or off", presence_events_is_on_or_off },
	{ "allowed-origins parses a trimmed comma list",
	  allowed_origins_parses_a_trimmed_list },
	{ "rconf_origin_allowed: any when unset, listed only, NULL allowed",
	  origin_allowed_checks_the_list },
	{ "allowed-origins refuses more than RCONF_MAX_ORIGINS",
	  allowed_origins_refuses_too_many },
	{ "status/default/raw are accepted and ignored",
	  lws_own_options_are_accepted_and_ignored },
	{ "rconf_parse_uint is exact: no sign, no trailer, no overflow",
	  parse_uint_is_exact },
	{ "history-size and max-queued-bytes are process-wide, others per vhost",
	  scope_names_the_process_wide_options },
	{ "process-wide options: what vhosts give, defaults otherwise",
	  process_options_take_what_a_vhost_gives },
	{ "process-wide option given two values: refused, naming both vhosts",
	  process_option_conflict_names_both_vhosts },
	{ "history-db: one file for every vhost, or the start stops",
	  history_db_is_one_file_for_every_vhost },
	CU_TEST_INFO_NULL,
};
