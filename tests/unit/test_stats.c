/*
 * test_stats.c: process counters and their /stats and /metrics renderings
 * (stats.h), against PROTOCOL.md's Status HTTP mount.
 */
#include "unit.h"

#include "stats.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

/* PROTOCOL.md's /stats keys; all integers but messages_per_second. */
static const char *const protocol_keys[] = {
	"connections_active", "connections_total", "rooms_active",
	"messages_received", "messages_sent", "messages_dropped",
	"messages_per_second", "bytes_sent", "bytes_received", "uptime_s",
};
#define N_PROTOCOL_KEYS (sizeof(protocol_keys) / sizeof(protocol_keys[0]))

/* The extra keys stats.h documents ("more fields may be added"). */
static const char *const extra_keys[] = {
	"messages_received_per_second", "slow_consumer_closes",
	"connections_refused", "rate_limited", "refused_per_ip",
	"slow_consumers_shed", "queued_bytes", "alloc_failures", "history_bytes",
	"history_evicted", "history_rooms_kept", "history_rooms_evicted",
	"history_epoch_resets",
	"reassembly_bytes", "reassembly_aborted",
};
#define N_EXTRA_KEYS (sizeof(extra_keys) / sizeof(extra_keys[0]))

static void
fill_counters(void)
{
	rm_stats.connections_active = 3;
	rm_stats.connections_total = 17;
	rm_stats.rooms_active = 5;
	rm_stats.messages_received = 1001;
	rm_stats.messages_sent = 2002;
	rm_stats.messages_dropped = 7;
	rm_stats.bytes_sent = 123456789012ULL;
	rm_stats.bytes_received = 98765;
	rm_stats.slow_consumer_closes = 2;
	rm_stats.connections_refused = 4;
	rm_stats.rate_limited = 9;
	rm_stats.refused_per_ip = 11;
	rm_stats.slow_consumers_shed = 12;
	rm_stats.queued_bytes = 13;
	rm_stats.reassembly_bytes = 14;
	rm_stats.reassembly_aborted = 15;
}

static void
reset_zeroes_everything(void)
{
	fill_counters();
	rm_stats.draining = 1;
	rm_stats.sent_per_second = 5.0;
	stats_reset(4242);
	CU_ASSERT_EQUAL(rm_stats.connections_active, 0);
	CU_ASSERT_EQUAL(rm_stats.connections_total, 0);
	CU_ASSERT_EQUAL(rm_stats.rooms_active, 0);
	CU_ASSERT_EQUAL(rm_stats.messages_received, 0);
	CU_ASSERT_EQUAL(rm_stats.messages_sent, 0);
	CU_ASSERT_EQUAL(rm_stats.messages_dropped, 0);
	CU_ASSERT_EQUAL(rm_stats.bytes_sent, 0);
	CU_ASSERT_EQUAL(rm_stats.bytes_received, 0);
	CU_ASSERT_EQUAL(rm_stats.slow_consumer_closes, 0);
	CU_ASSERT_EQUAL(rm_stats.connections_refused, 0);
	CU_ASSERT_EQUAL(rm_stats.rate_limited, 0);
	CU_ASSERT_EQUAL(rm_stats.refused_per_ip, 0);
	CU_ASSERT_EQUAL(rm_stats.slow_consumers_shed, 0);
	CU_ASSERT_EQUAL(rm_stats.queued_bytes, 0);
	CU_ASSERT_EQUAL(rm_stats.draining, 0);
	CU_ASSERT_EQUAL(rm_stats.sent_per_second, 0.0);
	CU_ASSERT_EQUAL(rm_stats.received_per_second, 0.0);
	CU_ASSERT_EQUAL(rm_stats.started_ms, 4242);
	CU_ASSERT_EQUAL(rm_stats.sample_ms, 4242);
}

static int64_t
int_of(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return -1;
	return json_object_get_int64(v);
}

static void
json_has_the_protocol_keys_and_types(void)
{
	char buf[2048];
	struct json_object *o, *v;
	int n, nkeys = 0;
	size_t i;

	stats_reset(1000);
	fill_counters();
	n = stats_to_json(&rm_stats, 1000 + 61500, buf, sizeof(buf));
	CU_ASSERT_TRUE_FATAL(n > 0 && (size_t)n < sizeof(buf));
	CU_ASSERT_EQUAL((size_t)n, strlen(buf));
	o = json_tokener_parse(buf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_TRUE_FATAL(json_object_is_type(o, json_type_object));
	for (i = 0; i < N_PROTOCOL_KEYS; i++) {
		int found = json_object_object_get_ex(o, protocol_keys[i], &v);

		CU_ASSERT_TRUE(found);
		if (!found) {
			fprintf(stderr, "\n  missing key %s\n",
				protocol_keys[i]);
			continue;
		}
		if (!strcmp(protocol_keys[i], "messages_per_second")) {
			CU_ASSERT_TRUE(json_object_is_type(v, json_type_double)
				       || json_object_is_type(v, json_type_int));
		} else {
			CU_ASSERT_TRUE(json_object_is_type(v, json_type_int));
		}
	}
	/* "protocol" is the one string: the version docs/PROTOCOL.md names */
	CU_ASSERT_TRUE_FATAL(json_object_object_get_ex(o, "protocol", &v));
	CU_ASSERT_TRUE(json_object_is_type(v, json_type_string));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(v), "roomcast.v1.1");
	/* every other key is a documented extra, and a number */
	json_object_object_foreach(o, key, val) {
		int known = 0;

		nkeys++;
		if (!strcmp(key, "protocol"))
			continue;
		for (i = 0; i < N_PROTOCOL_KEYS; i++)
			known |= !strcmp(key, protocol_keys[i]);
		for (i = 0; i < N_EXTRA_KEYS; i++)
			known |= !strcmp(key, extra_keys[i]);
		CU_ASSERT_TRUE(known);
		if (!known)
			fprintf(stderr, "\n  unexpected key %s\n", key);
		CU_ASSERT_TRUE(json_object_is_type(val, json_type_int) ||
			       json_object_is_type(val, json_type_double));
	}
	CU_ASSERT_EQUAL(nkeys, N_PROTOCOL_KEYS + N_EXTRA_KEYS + 1);
	/* the values are the counters */
	CU_ASSERT_EQUAL(int_of(o, "connections_active"), 3);
	CU_ASSERT_EQUAL(int_of(o, "connections_total"), 17);
	CU_ASSERT_EQUAL(int_of(o, "rooms_active"), 5);
	CU_ASSERT_EQUAL(int_of(o, "messages_received"), 1001);
	CU_ASSERT_EQUAL(int_of(o, "messages_sent"), 2002);
	CU_ASSERT_EQUAL(int_of(o, "messages_dropped"), 7);
	CU_ASSERT_EQUAL(int_of(o, "bytes_sent"), 123456789012LL);
	CU_ASSERT_EQUAL(int_of(o, "bytes_received"), 98765);
	CU_ASSERT_EQUAL(int_of(o, "slow_consumer_closes"), 2);
	CU_ASSERT_EQUAL(int_of(o, "connections_refused"), 4);
	CU_ASSERT_EQUAL(int_of(o, "rate_limited"), 9);
	CU_ASSERT_EQUAL(int_of(o, "refused_per_ip"), 11);
	CU_ASSERT_EQUAL(int_of(o, "slow_consumers_shed"), 12);
	CU_ASSERT_EQUAL(int_of(o, "queued_bytes"), 13);
	CU_ASSERT_EQUAL(int_of(o, "reassembly_bytes"), 14);
	CU_ASSERT_EQUAL(int_of(o, "reassembly_aborted"), 15);
	CU_ASSERT_EQUAL(int_of(o, "uptime_s"), 61);	/* whole seconds */
	json_object_put(o);
}

static void
json_reports_cut_output_like_snprintf(void)
{
	char full[2048], small[32];
	int n, m;

	stats_reset(0);
	fill_counters();
	n = stats_to_json(&rm_stats, 0, full, sizeof(full));
	memset(small, 'x', sizeof(small));
	m = stats_to_json(&rm_stats, 0, small, 16);
	CU_ASSERT_EQUAL(m, n);
	CU_ASSERT_TRUE((size_t)m >= 16);
	CU_ASSERT_EQUAL(small[15], '\0');
	CU_ASSERT_EQUAL(small[16], 'x');
	CU_ASSERT_EQUAL(memcmp(small, full, 15), 0);
}

static void
uptime_never_negative(void)
{
	char buf[2048];
	struct json_object *o;

	stats_reset(5000);
	stats_to_json(&rm_stats, 1000, buf, sizeof(buf));	/* clock behind */
	o = json_tokener_parse(buf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(int_of(o, "uptime_s"), 0);
	json_object_put(o);
}

static double
mps_of(int64_t now_ms)
{
	char buf[2048];
	struct json_object *o, *v;
	double d = -1;

	stats_to_json(&rm_stats, now_ms, buf, sizeof(buf));
	o = json_tokener_parse(buf);
	if (o && json_object_object_get_ex(o, "messages_per_second", &v))
		d = json_object_get_double(v);
	json_object_put(o);
	return d;
}

static void
sample_rates_over_elapsed_time(void)
{
	stats_reset(0);
	rm_stats.messages_sent = 500;
	rm_stats.messages_received = 40;
	stats_sample(999);			/* under a second: no sample */
	CU_ASSERT_EQUAL(rm_stats.sample_ms, 0);
	CU_ASSERT_EQUAL(rm_stats.sent_per_second, 0.0);
	stats_sample(2000);			/* 500 in 2 s */
	CU_ASSERT_EQUAL(rm_stats.sample_ms, 2000);
	CU_ASSERT_DOUBLE_EQUAL(rm_stats.sent_per_second, 250.0, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(rm_stats.received_per_second, 20.0, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(mps_of(2000), 250.0, 1e-9);
	rm_stats.messages_sent += 100;
	stats_sample(2999);			/* kept until a second passed */
	CU_ASSERT_DOUBLE_EQUAL(rm_stats.sent_per_second, 250.0, 1e-9);
	stats_sample(3000);			/* 100 in the last second */
	CU_ASSERT_DOUBLE_EQUAL(rm_stats.sent_per_second, 100.0, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(rm_stats.received_per_second, 0.0, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(mps_of(3000), 100.0, 1e-9);
	rm_stats.messages_sent += 3;
	stats_sample(4500);			/* 3 in 1.5 s */
	CU_ASSERT_DOUBLE_EQUAL(rm_stats.sent_per_second, 2.0, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(mps_of(4500), 2.0, 1e-9);
	stats_sample(5500);			/* quiet second */
	CU_ASSERT_DOUBLE_EQUAL(rm_stats.sent_per_second, 0.0, 1e-9);
}

/* Returns the value on the sample line of metric @name, or -1. */
static double
prom_value(const char *text, const char *name)
{
	const char *p = text;
	size_t n = strlen(name);

	while (p && *p) {
		if (!strncmp(p, name, n) && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

static void
prometheus_has_help_type_and_prefix(void)
{
	static const char *const metrics[] = {
		"roomcast_connections_active", "roomcast_connections_total",
		"roomcast_rooms_active", "roomcast_messages_received_total",
		"roomcast_messages_sent_total", "roomcast_messages_dropped_total",
		"roomcast_messages_per_second", "roomcast_bytes_sent_total",
		"roomcast_bytes_received_total", "roomcast_uptime_seconds",
	};
	char buf[8192], help[128], type[128], *line, *save = NULL;
	int n, samples = 0, ok = 1;
	size_t i;

	stats_reset(0);
	fill_counters();
	rm_stats.sent_per_second = 12.5;
	n = stats_to_prometheus(&rm_stats, 7000, buf, sizeof(buf));
	CU_ASSERT_TRUE_FATAL(n > 0 && (size_t)n < sizeof(buf));
	CU_ASSERT_EQUAL((size_t)n, strlen(buf));
	CU_ASSERT_EQUAL(buf[n - 1], '\n');
	for (i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++) {
		snprintf(help, sizeof(help), "# HELP %s ", metrics[i]);
		snprintf(type, sizeof(type), "# TYPE %s ", metrics[i]);
		CU_ASSERT_PTR_NOT_NULL(strstr(buf, help));
		CU_ASSERT_PTR_NOT_NULL(strstr(buf, type));
		CU_ASSERT_TRUE(prom_value(buf, metrics[i]) >= 0);
	}
	CU_ASSERT_EQUAL(prom_value(buf, "roomcast_connections_active"), 3);
	CU_ASSERT_EQUAL(prom_value(buf, "roomcast_messages_sent_total"), 2002);
	CU_ASSERT_EQUAL(prom_value(buf, "roomcast_bytes_sent_total"),
			123456789012.0);
	CU_ASSERT_EQUAL(prom_value(buf, "roomcast_messages_per_second"), 12.5);
	CU_ASSERT_EQUAL(prom_value(buf, "roomcast_uptime_seconds"), 7);
	/* every line is HELP, TYPE (counter or gauge) or a roomcast_ sample */
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "# HELP roomcast_", 16))
			continue;
		if (!strncmp(line, "# TYPE roomcast_", 16)) {
			const char *t = strrchr(line, ' ') + 1;

			ok &= !strcmp(t, "counter") || !strcmp(t, "gauge");
			continue;
		}
		ok &= !strncmp(line, "roomcast_", 9) && strchr(line, ' ');
		samples++;
	}
	CU_ASSERT_TRUE(ok);
	CU_ASSERT_TRUE(samples >= 10);
}

static void
prometheus_counters_end_in_total(void)
{
	char buf[8192], *p;
	int ok = 1;

	stats_reset(0);
	stats_to_prometheus(&rm_stats, 0, buf, sizeof(buf));
	/* Prometheus naming: a counter's name ends in _total */
	for (p = strstr(buf, "# TYPE "); p; p = strstr(p + 1, "# TYPE ")) {
		char name[128];
		char kind[16];

		if (sscanf(p, "# TYPE %127s %15s", name, kind) != 2) {
			ok = 0;
			break;
		}
		if (!strcmp(kind, "counter")) {
			size_t n = strlen(name);

			ok &= n > 6 && !strcmp(name + n - 6, "_total");
		}
	}
	CU_ASSERT_TRUE(ok);
}

/*
 * The status mount renders into a fixed buffer (mounts/status.h,
 * ROOMCAST_STATUS_BODY_MAX, 8192): both formats fit with every counter at
 * its widest and the history_db object on.
 */
static void
widest_answers_fit_the_status_buffer(void)
{
	static char buf[16384];
	int n;

	stats_reset(0);
	memset(&rm_stats, 0xff, sizeof(rm_stats));
	rm_stats.started_ms = 0;
	rm_stats.sent_per_second = rm_stats.received_per_second = 1e12;
	rm_stats.history_db_on = 1;
	rm_stats.history_db_error = 1;
	rm_stats.history_db_last_error = "database or disk is full";
	n = stats_to_prometheus(&rm_stats, 0, buf, sizeof(buf));
	CU_ASSERT_TRUE(n > 0 && n < 8192);
	n = stats_to_json(&rm_stats, 0, buf, sizeof(buf));
	CU_ASSERT_TRUE(n > 0 && n < 8192);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"history_db\":{\"state\":\"error\""));
	stats_reset(0);
}

CU_TestInfo stats_tests[] = {
	{ "the widest answers fit the status buffer",
	  widest_answers_fit_the_status_buffer },
	{ "stats_reset zeroes the counters and starts the clock",
	  reset_zeroes_everything },
	{ "stats_to_json: PROTOCOL.md's keys, integer types, the values",
	  json_has_the_protocol_keys_and_types },
	{ "stats_to_json returns the full length when cut",
	  json_reports_cut_output_like_snprintf },
	{ "uptime_s is 0 when the clock is behind the start",
	  uptime_never_negative },
	{ "stats_sample computes the rate over the elapsed time",
	  sample_rates_over_elapsed_time },
	{ "stats_to_prometheus: roomcast_ names with HELP and TYPE",
	  prometheus_has_help_type_and_prefix },
	{ "stats_to_prometheus: counters end in _total",
	  prometheus_counters_end_in_total },
	CU_TEST_INFO_NULL,
};
