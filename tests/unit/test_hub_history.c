/*
 * test_hub_history.c: the hub's rooms with history (hub_history.h): kept
 * after the last member, expired by the tick, the kept-room cap, the
 * history-bytes eviction, the `history` answer's cut and fit check, and
 * the store: a clean restart, and a new epoch (with its notice) when the
 * disk lags the seq reservations.
 */
#include "unit.h"

#include "hub.h"
#include "hub_history.h"
#include "msg.h"
#include "stats.h"
#include "store.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define N 4

static struct hub *h;
static int owner[N];
static struct client *cl[N];
static struct rconf conf;
static int64_t now;

static void
fake_wake(void *o)
{
}

static void
fake_close(void *o, int code)
{
}

static const struct hub_ops ops = { fake_wake, fake_close };

static void
setup(unsigned int size, size_t bytes, unsigned int ttl_s,
      unsigned int kept_max)
{
	struct hub_history_conf hc = { size, bytes, ttl_s, kept_max };

	stats_reset(0);
	rconf_init(&conf);
	now = 1000000;
	h = hub_create(&ops, 0x1234);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_EQUAL(hub_configure_history(h, &hc), 1);
	memset(cl, 0, sizeof(cl));
}

static void
teardown(void)
{
	hub_destroy(h);
	h = NULL;
	rconf_free(&conf);
}

static void
connect_(int i)
{
	cl[i] = hub_client_new(h, &conf, &owner[i], now);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cl[i]);
}

static void
say(int i, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
say(int i, const char *fmt, ...)
{
	char t[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t, sizeof(t), fmt, ap);
	va_end(ap);
	hub_on_text(h, cl[i], t, strlen(t), now);
}

/* @i's next message parsed (NULL if none); the caller puts it. */
static struct json_object *
next(int i)
{
	struct msg *m;
	struct json_object *o;
	char *t;

	if (!hub_client_queued(cl[i]))
		return NULL;
	m = hub_client_peek(cl[i], 0);
	t = strndup(msg_text(m), m->payload_len);
	o = t ? json_tokener_parse(t) : NULL;
	free(t);
	hub_written(h, cl[i], 1, msg_frame_len(m));
	return o;
}

static void
drain(int i)
{
	struct json_object *o;

	while ((o = next(i)))
		json_object_put(o);
}

static const char *
str_of(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) ?
	       json_object_get_string(v) : "";
}

static int64_t
int_of(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) ?
	       json_object_get_int64(v) : -1;
}

/* A boolean field: 1, 0, or -1 when absent or not a boolean. */
static int
bool_of(struct json_object *o, const char *k)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_boolean))
		return -1;
	return json_object_get_boolean(v);
}

/* Joins @i to @room; returns its `joined` (put by the caller). */
static struct json_object *
join(int i, const char *room)
{
	say(i, "{\"type\":\"join\",\"room_id\":\"%s\"}", room);
	return next(i);
}

static void
broadcasts(int i, const char *room, int n, const char *content)
{
	while (n--) {
		say(i, "{\"type\":\"broadcast\",\"room_id\":\"%s\",\"content\":"
		    "\"%s\"}", room, content);
		drain(i);
	}
}

/*---- kept rooms ----*/

static void
kept_room_recovers_its_only_member(void)
{
	struct json_object *j;
	char epoch[80];

	setup(10, 1 << 20, 60, 0);
	connect_(0);
	j = join(0, "r");
	snprintf(epoch, sizeof(epoch), "%s", str_of(j, "epoch"));
	json_object_put(j);
	broadcasts(0, "r", 3, "x");
	hub_client_free(h, cl[0]);	/* the only member goes */
	CU_ASSERT_EQUAL(rm_stats.rooms_active, 1);
	CU_ASSERT_EQUAL(rm_stats.history_rooms_kept, 1);
	connect_(1);
	say(1, "{\"type\":\"join\",\"room_id\":\"r\",\"since\":1,\"epoch\":"
	    "\"%s\"}", epoch);
	j = next(1);
	CU_ASSERT_EQUAL(int_of(j, "seq"), 3);
	CU_ASSERT_STRING_EQUAL(str_of(j, "epoch"), epoch);
	CU_ASSERT_EQUAL(bool_of(j, "recovered"), 1);
	json_object_put(j);
	j = next(1);
	CU_ASSERT_EQUAL(int_of(j, "seq"), 2);
	json_object_put(j);
	j = next(1);
	CU_ASSERT_EQUAL(int_of(j, "seq"), 3);
	json_object_put(j);
	CU_ASSERT_PTR_NULL(next(1));
	CU_ASSERT_EQUAL(rm_stats.history_rooms_kept, 0);	/* joined again */
	teardown();
}

static void
kept_room_expires_after_ttl(void)
{
	struct json_object *j;
	char epoch[80];

	setup(10, 1 << 20, 10, 0);
	connect_(0);
	json_object_put(join(0, "r"));
	broadcasts(0, "r", 2, "x");
	now += 5000;
	say(0, "{\"type\":\"leave\",\"room_id\":\"r\"}");
	drain(0);
	j = join(0, "r");		/* a look at its epoch, then leave */
	snprintf(epoch, sizeof(epoch), "%s", str_of(j, "epoch"));
	json_object_put(j);
	say(0, "{\"type\":\"leave\",\"room_id\":\"r\"}");
	drain(0);
	hub_history_tick(h, now + 9999);
	CU_ASSERT_EQUAL(rm_stats.rooms_active, 1);
	hub_history_tick(h, now + 10000);
	CU_ASSERT_EQUAL(rm_stats.rooms_active, 0);
	CU_ASSERT_EQUAL(rm_stats.history_rooms_kept, 0);
	CU_ASSERT_EQUAL(rm_stats.history_bytes, 0);
	/* made again: seq 0, a new epoch, so no recovery */
	say(0, "{\"type\":\"join\",\"room_id\":\"r\",\"since\":2,\"epoch\":"
	    "\"%s\"}", epoch);
	j = next(0);
	CU_ASSERT_EQUAL(int_of(j, "seq"), 0);
	CU_ASSERT_STRING_NOT_EQUAL(str_of(j, "epoch"), epoch);
	CU_ASSERT_EQUAL(bool_of(j, "recovered"), 0);
	json_object_put(j);
	CU_ASSERT_PTR_NULL(next(0));
	teardown();
}

static void
a_message_to_a_kept_room_restarts_its_ttl(void)
{
	struct room *room;
	struct msg *m;

	setup(10, 1 << 20, 10, 0);
	connect_(0);
	json_object_put(join(0, "r"));
	hub_client_free(h, cl[0]);
	now += 8000;
	/* published with no member (the server API's path) */
	room = hub_room_open(h, "r", 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(room);
	hub_history_tick(h, now);	/* the hub's clock: now */
	m = hub_accept_broadcast(h, room, "api", "1", 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	hub_history_keep(h, room, m);
	hub_deliver(h, room, m);
	msg_unref(m);
	hub_room_done(h, room);
	hub_history_tick(h, now + 9999);
	CU_ASSERT_EQUAL(rm_stats.rooms_active, 1);
	hub_history_tick(h, now + 10000);
	CU_ASSERT_EQUAL(rm_stats.rooms_active, 0);
	teardown();
}

/* A flood of joins to distinct names: kept rooms stay under the cap. */
static void
kept_rooms_are_capped_oldest_first(void)
{
	struct json_object *j;
	char room[32];
	int i;

	setup(4, 1 << 20, 3600, 100);
	connect_(0);
	for (i = 0; i < 1000; i++) {
		snprintf(room, sizeof(room), "flood-%d", i);
		json_object_put(join(0, room));
		broadcasts(0, room, 1, "x");
		say(0, "{\"type\":\"leave\",\"room_id\":\"%s\"}", room);
		drain(0);
		now++;
	}
	CU_ASSERT_EQUAL(rm_stats.rooms_active, 100);
	CU_ASSERT_EQUAL(rm_stats.history_rooms_kept, 100);
	CU_ASSERT_EQUAL(rm_stats.history_rooms_evicted, 900);
	j = join(0, "flood-0");		/* the oldest went: a new room */
	CU_ASSERT_EQUAL(int_of(j, "seq"), 0);
	json_object_put(j);
	j = join(0, "flood-999");	/* the newest is kept */
	CU_ASSERT_EQUAL(int_of(j, "seq"), 1);
	json_object_put(j);
	teardown();
}

static void
history_off_frees_the_room_as_before(void)
{
	setup(0, 1 << 20, 60, 0);
	connect_(0);
	json_object_put(join(0, "r"));
	broadcasts(0, "r", 2, "x");
	hub_client_free(h, cl[0]);
	CU_ASSERT_EQUAL(rm_stats.rooms_active, 0);
	CU_ASSERT_EQUAL(rm_stats.history_rooms_kept, 0);
	teardown();
}

/*---- history-bytes ----*/

static void
history_bytes_evicts_the_largest_rooms_oldest(void)
{
	struct json_object *j, *a;
	char big[201];

	memset(big, 'b', 200);
	big[200] = '\0';
	/* each broadcast frame is ~270 bytes: 8 held make ~2.2 KB */
	setup(100, 3000, 60, 0);
	connect_(0);
	json_object_put(join(0, "small"));
	json_object_put(join(0, "large"));
	broadcasts(0, "small", 2, "s");
	broadcasts(0, "large", 8, big);
	CU_ASSERT_EQUAL(rm_stats.history_evicted, 0);
	broadcasts(0, "large", 4, big);
	CU_ASSERT_TRUE(rm_stats.history_evicted > 0);
	CU_ASSERT_TRUE(rm_stats.history_bytes <= 3000);
	/* the small room kept both; the large one its newest */
	say(0, "{\"type\":\"history\",\"room_id\":\"small\"}");
	j = next(0);
	json_object_object_get_ex(j, "messages", &a);
	CU_ASSERT_EQUAL(json_object_array_length(a), 2);
	json_object_put(j);
	say(0, "{\"type\":\"history\",\"room_id\":\"large\"}");
	j = next(0);
	json_object_object_get_ex(j, "messages", &a);
	CU_ASSERT_EQUAL(json_object_array_length(a),
			12 - rm_stats.history_evicted);
	CU_ASSERT_EQUAL(int_of(json_object_array_get_idx(a,
			json_object_array_length(a) - 1), "seq"), 12);
	json_object_put(j);
	teardown();
}

/*---- the history answer ----*/

static void
history_answer_cut_says_truncated(void)
{
	struct json_object *j, *a, *t;
	char big[201];

	memset(big, 'b', 200);
	big[200] = '\0';
	setup(100, 1 << 20, 60, 0);
	conf.send_ring_bytes = 1200;
	connect_(0);
	json_object_put(join(0, "r"));
	broadcasts(0, "r", 10, big);
	say(0, "{\"type\":\"history\",\"room_id\":\"r\",\"limit\":10}");
	j = next(0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_TRUE(json_object_object_get_ex(j, "truncated", &t) &&
		       json_object_get_boolean(t));
	json_object_object_get_ex(j, "messages", &a);
	CU_ASSERT_TRUE(json_object_array_length(a) >= 3 &&
		       json_object_array_length(a) < 10);
	CU_ASSERT_EQUAL(int_of(json_object_array_get_idx(a,
			json_object_array_length(a) - 1), "seq"), 10);
	CU_ASSERT_TRUE(strlen(json_object_to_json_string_ext(j,
			JSON_C_TO_STRING_PLAIN)) <= 1200);
	json_object_put(j);
	/* a limit that fits: no truncated */
	say(0, "{\"type\":\"history\",\"room_id\":\"r\",\"limit\":2}");
	j = next(0);
	CU_ASSERT_FALSE(json_object_object_get_ex(j, "truncated", &t));
	json_object_put(j);
	teardown();
}

/* A request into a ring that has no room for it is not even built. */
static void
history_into_full_ring_is_dropped_unbuilt(void)
{
	struct hub_client_info ci;
	uint64_t dropped;
	char big[201];
	int i;

	memset(big, 'b', 200);
	big[200] = '\0';
	setup(100, 1 << 20, 60, 0);
	conf.send_ring_bytes = 1200;
	connect_(0);
	json_object_put(join(0, "r"));
	broadcasts(0, "r", 10, big);
	/* four broadcasts wait unread: ~1080 of 1200 bytes */
	for (i = 0; i < 4; i++)
		say(0, "{\"type\":\"broadcast\",\"room_id\":\"r\",\"content\":"
		    "\"%s\"}", big);
	hub_client_info(cl[0], &ci);
	CU_ASSERT_EQUAL(ci.queued, 4);
	dropped = rm_stats.messages_dropped;
	for (i = 0; i < 1000; i++)
		say(0, "{\"type\":\"history\",\"room_id\":\"r\"}");
	hub_client_info(cl[0], &ci);
	CU_ASSERT_EQUAL(ci.queued, 4);
	CU_ASSERT_EQUAL(ci.dropped_pending, 1000);
	CU_ASSERT_EQUAL(rm_stats.messages_dropped - dropped, 1000);
	teardown();
}

/*---- history-db ----*/

static char dir[64], path[96];

static struct store *
open_store(unsigned int batch_ms)
{
	struct store_opts o = { .block = 8, .batch_ms = batch_ms };
	char err[256];
	struct store *s = store_open(path, &o, err, sizeof(err));

	if (!s)
		fprintf(stderr, "\n  %s\n", err);
	return s;
}

static void
cleanup_dir(void)
{
	char p[128];

	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	unlink(path);
	rmdir(dir);
}

static void
clean_restart_keeps_epoch_seq_and_messages(void)
{
	struct json_object *j;
	char epoch[80], err[256];
	struct store *s;

	snprintf(dir, sizeof(dir), "/tmp/rc-hh-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/h.db", dir);
	setup(5, 1 << 20, 60, 0);
	s = open_store(20);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(hub_history_attach_store(h, s, err, sizeof(err)), 0);
	connect_(0);
	j = join(0, "r");
	snprintf(epoch, sizeof(epoch), "%s", str_of(j, "epoch"));
	json_object_put(j);
	broadcasts(0, "r", 7, "x");	/* 7 seqs, 5 held */
	hub_history_close_store(h);
	teardown();

	setup(5, 1 << 20, 60, 0);
	s = open_store(20);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(hub_history_attach_store(h, s, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(rm_stats.rooms_active, 1);
	CU_ASSERT_EQUAL(rm_stats.history_rooms_kept, 1);
	connect_(0);
	say(0, "{\"type\":\"join\",\"room_id\":\"r\",\"since\":3,\"epoch\":"
	    "\"%s\"}", epoch);
	j = next(0);
	CU_ASSERT_EQUAL(int_of(j, "seq"), 7);
	CU_ASSERT_STRING_EQUAL(str_of(j, "epoch"), epoch);
	CU_ASSERT_EQUAL(bool_of(j, "recovered"), 1);
	json_object_put(j);
	j = next(0);
	CU_ASSERT_EQUAL(int_of(j, "seq"), 4);
	json_object_put(j);
	drain(0);
	/* numbering goes on */
	say(0, "{\"type\":\"broadcast\",\"room_id\":\"r\",\"content\":1}");
	j = next(0);
	CU_ASSERT_EQUAL(int_of(j, "seq"), 8);
	json_object_put(j);
	hub_history_close_store(h);
	teardown();
	cleanup_dir();
}

/*
 * The writer batches every 10 s here, so the reservation past the first
 * block (8 seqs) is not durable when seq 9 is due: the room starts over
 * on a new epoch, its member told first, never waiting for the disk.
 */
static void
lagging_disk_starts_a_new_epoch_with_notice(void)
{
	struct json_object *j;
	char epoch[80], err[256];
	struct store *s;
	int i;

	snprintf(dir, sizeof(dir), "/tmp/rc-hh-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/h.db", dir);
	setup(20, 1 << 20, 60, 0);
	s = open_store(10000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(hub_history_attach_store(h, s, err, sizeof(err)), 0);
	connect_(0);
	j = join(0, "r");
	snprintf(epoch, sizeof(epoch), "%s", str_of(j, "epoch"));
	json_object_put(j);
	broadcasts(0, "r", 8, "x");
	CU_ASSERT_EQUAL(rm_stats.history_epoch_resets, 0);
	say(0, "{\"type\":\"broadcast\",\"room_id\":\"r\",\"content\":9}");
	j = next(0);
	CU_ASSERT_STRING_EQUAL(str_of(j, "type"), "epoch");
	CU_ASSERT_STRING_NOT_EQUAL(str_of(j, "epoch"), epoch);
	CU_ASSERT_EQUAL(int_of(j, "seq"), 0);
	json_object_put(j);
	j = next(0);
	CU_ASSERT_STRING_EQUAL(str_of(j, "type"), "broadcast");
	CU_ASSERT_EQUAL(int_of(j, "seq"), 1);
	json_object_put(j);
	CU_ASSERT_EQUAL(rm_stats.history_epoch_resets, 1);
	for (i = 0; i < 3; i++)
		broadcasts(0, "r", 1, "y");
	hub_history_close_store(h);
	teardown();
	cleanup_dir();
}

CU_TestInfo hub_history_tests[] = {
	{ "a kept room recovers its only member after it left",
	  kept_room_recovers_its_only_member },
	{ "a kept room is freed history-ttl-s after its last use",
	  kept_room_expires_after_ttl },
	{ "a message to a kept room restarts its ttl",
	  a_message_to_a_kept_room_restarts_its_ttl },
	{ "kept rooms are capped, oldest freed first, counted",
	  kept_rooms_are_capped_oldest_first },
	{ "history off: the last leave frees the room",
	  history_off_frees_the_room_as_before },
	{ "history-bytes evicts the largest room's oldest first",
	  history_bytes_evicts_the_largest_rooms_oldest },
	{ "a history answer cut to send-ring-bytes says truncated",
	  history_answer_cut_says_truncated },
	{ "history into a full ring is dropped before it is built",
	  history_into_full_ring_is_dropped_unbuilt },
	{ "history-db: a clean restart keeps epoch, seq, messages",
	  clean_restart_keeps_epoch_seq_and_messages },
	{ "history-db: a lagging disk starts a new epoch, notice first",
	  lagging_disk_starts_a_new_epoch_with_notice },
	CU_TEST_INFO_NULL,
};
