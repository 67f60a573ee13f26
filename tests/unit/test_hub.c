/*
 * test_hub.c: roomcast.v1's behaviour (hub.h), driven through
 * hub_on_text() with a fake transport and a fixed clock. What a client
 * got is read by popping its ring, as a transport would, through
 * hub_written().
 */
#include "unit.h"

#include "hub.h"
#include "msg.h"
#include "stats.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

#define N_CLIENTS 8
#define INSTANCE 0xdeadbeefULL

/* The transport's connection, as the fake transport keeps it. */
struct fake_owner {
	int wakes;		/* wake() calls */
	int closes;		/* close() calls */
	int close_code;		/* the last close() code */
};

static struct hub *h;
static struct fake_owner owner[N_CLIENTS];
static struct client *cl[N_CLIENTS];
static struct rconf conf;	/* the default vhost */
static struct rconf conf2;	/* a second vhost, set per test */
static int64_t now;

static void
fake_wake(void *o)
{
	((struct fake_owner *)o)->wakes++;
}

static void
fake_close(void *o, int code)
{
	((struct fake_owner *)o)->closes++;
	((struct fake_owner *)o)->close_code = code;
}

static const struct hub_ops fake_ops = { fake_wake, fake_close };

/* A snapshot of @c's state (hub.h: struct client is opaque). */
static struct hub_client_info
info(const struct client *c)
{
	struct hub_client_info i;

	hub_client_info(c, &i);
	return i;
}

/* Gives the hub its process-wide options (rconf.h, scope). */
static void
set_process_options(unsigned int history_size, size_t max_queued_bytes)
{
	struct rconf_process p;

	rconf_process_init(&p);
	p.history_size = history_size;
	p.max_queued_bytes = max_queued_bytes;
	hub_set_options(h, &p);
}

/* A client's user_id (guest ids are made on demand); valid until 4 calls on. */
static const char *
uid(const struct client *c)
{
	static char buf[4][HUB_USER_ID_MAX];
	static unsigned int n;

	return hub_user_id(c, buf[n++ % 4]);
}

void
hub_test_setup(void)
{
	stats_reset(0);
	memset(owner, 0, sizeof(owner));
	memset(cl, 0, sizeof(cl));
	rconf_init(&conf);
	rconf_init(&conf2);
	now = 1000000;
	h = hub_create(&fake_ops, INSTANCE);
}

void
hub_test_teardown(void)
{
	hub_destroy(h);
	h = NULL;
	rconf_free(&conf);
	rconf_free(&conf2);
}

/*---- helpers ----*/

/* Connects client @i on vhost settings @c. */
static struct client *
connect_(int i, const struct rconf *c)
{
	cl[i] = hub_client_new(h, c, &owner[i], now);
	return cl[i];
}

static void
disconnect(int i)
{
	hub_client_free(h, cl[i]);
	cl[i] = NULL;
}

/* Client @i sends text message @text. */
static int
say(int i, const char *text)
{
	return hub_on_text(h, cl[i], text, strlen(text), now);
}

/*
 * Takes the oldest msg of @i's ring into @buf (NUL-terminated), as the
 * transport writing it would. Returns 0 if the ring is empty.
 */
static int
take(int i, char *buf, size_t len)
{
	struct msg *m;
	size_t n;

	if (!hub_client_queued(cl[i]))
		return 0;
	m = hub_client_peek(cl[i], 0);
	n = m->payload_len < len - 1 ? m->payload_len : len - 1;
	memcpy(buf, msg_text(m), n);
	buf[n] = '\0';
	hub_written(h, cl[i], 1, msg_frame_len(m));
	return 1;
}

/* Checks that @i's next message is exactly @want. */
static void
next_is_(int i, const char *want, int line)
{
	char buf[4096];

	if (!take(i, buf, sizeof(buf))) {
		CU_FAIL("ring empty");
		fprintf(stderr, "\n  line %d: client %d got nothing, want %s\n",
			line, i, want);
		return;
	}
	CU_ASSERT_STRING_EQUAL(buf, want);
	if (strcmp(buf, want))
		fprintf(stderr, "\n  line %d: client %d got  %s\n  want %s\n",
			line, i, buf, want);
}

#define next_is(i, want) next_is_(i, want, __LINE__)

/* Checks that @i has nothing queued. */
static void
nothing_for_(int i, int line)
{
	char buf[4096];

	CU_ASSERT_EQUAL(hub_client_queued(cl[i]), 0);
	if (hub_client_queued(cl[i]) && take(i, buf, sizeof(buf)))
		fprintf(stderr, "\n  line %d: client %d got %s\n", line, i,
			buf);
}

#define nothing_for(i) nothing_for_(i, __LINE__)

/* rm_stats.queued_bytes is what the connected clients' rings hold. */
static void
check_queued_bytes_(int line)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i < N_CLIENTS; i++)
		if (cl[i])
			sum += info(cl[i]).queued_bytes;
	CU_ASSERT_EQUAL(rm_stats.queued_bytes, sum);
	if (rm_stats.queued_bytes != sum)
		fprintf(stderr, "\n  line %d: queued_bytes %" PRIu64 ", rings "
			"hold %" PRIu64 "\n", line, rm_stats.queued_bytes, sum);
}

#define check_queued_bytes() check_queued_bytes_(__LINE__)

/* Discards whatever @i has queued. */
static void
drain(int i)
{
	char buf[4096];

	while (take(i, buf, sizeof(buf)))
		;
}

/* Checks that @i's next message is error @code, with @ref or none. */
static void
error_is_(int i, const char *code, const char *ref, int line)
{
	char buf[4096];
	struct json_object *o, *v;
	int ok = 1;

	if (!take(i, buf, sizeof(buf))) {
		CU_FAIL("ring empty");
		fprintf(stderr, "\n  line %d: client %d got nothing, want "
			"error %s\n", line, i, code);
		return;
	}
	o = json_tokener_parse(buf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	ok &= json_object_object_get_ex(o, "type", &v) &&
	      !strcmp(json_object_get_string(v), "error");
	ok &= json_object_object_get_ex(o, "code", &v) &&
	      !strcmp(json_object_get_string(v), code);
	ok &= json_object_object_get_ex(o, "message", &v) &&
	      json_object_is_type(v, json_type_string) &&
	      json_object_get_string_len(v) > 0;
	if (ref)
		ok &= json_object_object_get_ex(o, "ref", &v) &&
		      !strcmp(json_object_get_string(v), ref);
	else
		ok &= !json_object_object_get_ex(o, "ref", NULL);
	ok &= json_object_object_length(o) == (ref ? 4 : 3);
	CU_ASSERT_TRUE(ok);
	if (!ok)
		fprintf(stderr, "\n  line %d: client %d got %s\n  want error "
			"%s ref %s\n", line, i, buf, code, ref ? ref : "-");
	json_object_put(o);
}

#define error_is(i, code, ref) error_is_(i, code, ref, __LINE__)

/*
 * Checks that @i's next message is `joined` with these values, and
 * returns its epoch in @epoch (which the test cannot know beforehand).
 */
static void
joined_is_(int i, const char *room, const char *user, unsigned int members,
	   uint64_t seq, char *epoch, size_t epoch_len, int line)
{
	char buf[4096], want[4096];
	struct json_object *o, *v;

	epoch[0] = '\0';
	if (!take(i, buf, sizeof(buf))) {
		CU_FAIL("ring empty");
		fprintf(stderr, "\n  line %d: client %d got nothing, want "
			"joined\n", line, i);
		return;
	}
	o = json_tokener_parse(buf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	if (json_object_object_get_ex(o, "epoch", &v) &&
	    json_object_is_type(v, json_type_string))
		snprintf(epoch, epoch_len, "%s", json_object_get_string(v));
	json_object_put(o);
	CU_ASSERT_TRUE(epoch[0] != '\0');
	snprintf(want, sizeof(want), "{\"type\":\"joined\",\"room_id\":\"%s\","
		 "\"user_id\":\"%s\",\"members\":%u,\"seq\":%" PRIu64
		 ",\"epoch\":\"%s\"}", room, user, members, seq, epoch);
	CU_ASSERT_STRING_EQUAL(buf, want);
	if (strcmp(buf, want))
		fprintf(stderr, "\n  line %d: client %d got  %s\n  want %s\n",
			line, i, buf, want);
}

#define joined_is(i, room, user, members, seq, epoch)                        \
	joined_is_(i, room, user, members, seq, epoch, sizeof(epoch), __LINE__)

/* Client @i joins @room as @user (NULL: none) and drains its answer. */
static void
join(int i, const char *room, const char *user)
{
	char t[512];

	if (user)
		snprintf(t, sizeof(t), "{\"type\":\"join\",\"room_id\":\"%s\","
			 "\"user_id\":\"%s\"}", room, user);
	else
		snprintf(t, sizeof(t), "{\"type\":\"join\",\"room_id\":\"%s\"}",
			 room);
	CU_ASSERT_EQUAL(say(i, t), 0);
	drain(i);
}

static void
broadcast(int i, const char *room, const char *content)
{
	char t[512];

	snprintf(t, sizeof(t), "{\"type\":\"broadcast\",\"room_id\":\"%s\","
		 "\"content\":%s}", room, content);
	CU_ASSERT_EQUAL(say(i, t), 0);
}

/* The broadcast text members get. */
static const char *
bc(const char *room, const char *sender, unsigned int seq,
   const char *content)
{
	static char buf[4][512];
	static int which;
	char *b = buf[which++ & 3];

	snprintf(b, 512, "{\"type\":\"broadcast\",\"room_id\":\"%s\","
		 "\"sender\":\"%s\",\"seq\":%u,\"content\":%s}", room, sender,
		 seq, content);
	return b;
}

/*---- join / leave ----*/

static void
join_answers_joined(void)
{
	char e1[64], e2[64];

	CU_ASSERT_PTR_NOT_NULL_FATAL(connect_(0, &conf));
	CU_ASSERT_PTR_NOT_NULL_FATAL(connect_(1, &conf));
	CU_ASSERT_EQUAL(rm_stats.connections_active, 2);
	CU_ASSERT_EQUAL(rm_stats.connections_total, 2);
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"join\",\"room_id\":\"lobby\","
			    "\"user_id\":\"alice\"}"), 0);
	CU_ASSERT_EQUAL(owner[0].wakes, 1);
	joined_is(0, "lobby", "alice", 1, 0, e1);
	CU_ASSERT_EQUAL(rm_stats.rooms_active, 1);
	CU_ASSERT_PTR_NOT_NULL(hub_room(h, "lobby"));
	CU_ASSERT_EQUAL(say(1, "{\"type\":\"join\",\"room_id\":\"lobby\","
			    "\"user_id\":\"bob\"}"), 0);
	joined_is(1, "lobby", "bob", 2, 0, e2);
	CU_ASSERT_STRING_EQUAL(e1, e2);		/* the same room */
	nothing_for(0);				/* presence is off */
	CU_ASSERT_EQUAL(rm_stats.rooms_active, 1);
	CU_ASSERT_EQUAL(rm_stats.messages_sent, 2);
	CU_ASSERT_EQUAL(owner[0].closes + owner[1].closes, 0);
}

static void
rejoin_answers_joined_again_without_presence(void)
{
	char e1[64], e2[64];

	conf.presence_events = 1;
	connect_(0, &conf);
	connect_(1, &conf);
	join(0, "r", "alice");
	CU_ASSERT_EQUAL(say(1, "{\"type\":\"join\",\"room_id\":\"r\","
			    "\"user_id\":\"bob\"}"), 0);
	joined_is(1, "r", "bob", 2, 0, e1);
	drain(0);
	CU_ASSERT_EQUAL(say(1, "{\"type\":\"join\",\"room_id\":\"r\","
			    "\"user_id\":\"bob\"}"), 0);
	joined_is(1, "r", "bob", 2, 0, e2);
	CU_ASSERT_STRING_EQUAL(e1, e2);
	nothing_for(0);
	nothing_for(1);
	CU_ASSERT_EQUAL(info(cl[1]).n_rooms, 1);
	CU_ASSERT_EQUAL(hub_room(h, "r")->n_members, 2);
}

static void
presence_events_when_on(void)
{
	conf.presence_events = 1;
	connect_(0, &conf);
	connect_(1, &conf);
	join(0, "r", "alice");
	nothing_for(0);
	join(1, "r", "bob");
	next_is(0, "{\"type\":\"presence\",\"event\":\"join\",\"room_id\":"
		"\"r\",\"user_id\":\"bob\"}");
	nothing_for(0);
	nothing_for(1);			/* not told of itself */
	CU_ASSERT_EQUAL(say(1, "{\"type\":\"leave\",\"room_id\":\"r\"}"), 0);
	next_is(1, "{\"type\":\"left\",\"room_id\":\"r\"}");
	next_is(0, "{\"type\":\"presence\",\"event\":\"leave\",\"room_id\":"
		"\"r\",\"user_id\":\"bob\"}");
	/* a closing connection leaves too */
	join(1, "r", NULL);
	drain(0);
	disconnect(1);
	next_is(0, "{\"type\":\"presence\",\"event\":\"leave\",\"room_id\":"
		"\"r\",\"user_id\":\"bob\"}");
	nothing_for(0);
}

static void
presence_events_not_when_off(void)
{
	connect_(0, &conf);
	connect_(1, &conf);
	join(0, "r", "alice");
	join(1, "r", "bob");
	nothing_for(0);
	CU_ASSERT_EQUAL(say(1, "{\"type\":\"leave\",\"room_id\":\"r\"}"), 0);
	next_is(1, "{\"type\":\"left\",\"room_id\":\"r\"}");
	nothing_for(0);
	join(1, "r", NULL);
	disconnect(1);
	nothing_for(0);
}

static void
presence_follows_each_members_vhost(void)
{
	conf2.presence_events = 1;
	connect_(0, &conf);		/* off */
	connect_(1, &conf2);		/* on */
	connect_(2, &conf);
	join(0, "r", "a");
	join(1, "r", "b");
	join(2, "r", "c");
	nothing_for(0);
	next_is(1, "{\"type\":\"presence\",\"event\":\"join\",\"room_id\":"
		"\"r\",\"user_id\":\"c\"}");
	nothing_for(1);
}

static void
leave_answers_left_or_not_member(void)
{
	connect_(0, &conf);
	connect_(1, &conf);
	join(0, "r", "alice");
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"leave\",\"room_id\":\"r\"}"), 0);
	next_is(0, "{\"type\":\"left\",\"room_id\":\"r\"}");
	nothing_for(0);
	CU_ASSERT_EQUAL(info(cl[0]).n_rooms, 0);
	CU_ASSERT_PTR_NULL(hub_room(h, "r"));
	/* again: not a member of a room that does not exist */
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"leave\",\"room_id\":\"r\"}"), 0);
	error_is(0, "not_member", "leave");
	/* nor of one that does */
	join(1, "r", "bob");
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"leave\",\"room_id\":\"r\"}"), 0);
	error_is(0, "not_member", "leave");
	nothing_for(1);
	CU_ASSERT_EQUAL(hub_room(h, "r")->n_members, 1);
}

/*---- broadcast ----*/

static void
broadcast_reaches_all_members_in_seq_order(void)
{
	int i;

	for (i = 0; i < 4; i++)
		connect_(i, &conf);
	join(0, "r", "alice");
	join(1, "r", "bob");
	join(2, "r", "carol");
	join(3, "other", "dave");
	broadcast(0, "r", "1");
	broadcast(0, "r", "{\"a\": [2, \"}\"]}");
	broadcast(1, "r", "\"x\"");
	for (i = 0; i < 3; i++) {
		next_is(i, bc("r", "alice", 1, "1"));
		next_is(i, bc("r", "alice", 2, "{\"a\": [2, \"}\"]}"));
		next_is(i, bc("r", "bob", 3, "\"x\""));
		nothing_for(i);
	}
	nothing_for(3);
	CU_ASSERT_EQUAL(hub_room(h, "r")->seq, 3);
	CU_ASSERT_EQUAL(hub_room(h, "other")->seq, 0);
	/* one wake per member for the burst: each ring went empty once */
	CU_ASSERT_EQUAL(owner[1].wakes, 2);	/* joined, then the burst */
}

static void
broadcast_by_non_member_reaches_no_one(void)
{
	connect_(0, &conf);
	connect_(1, &conf);
	connect_(2, &conf);
	join(0, "r", "alice");
	join(1, "r", "bob");
	broadcast(2, "r", "1");
	error_is(2, "not_member", "broadcast");
	nothing_for(2);
	nothing_for(0);
	nothing_for(1);
	CU_ASSERT_EQUAL(hub_room(h, "r")->seq, 0);	/* no seq taken */
	/* to a room that does not exist: not created */
	broadcast(2, "nowhere", "1");
	error_is(2, "not_member", "broadcast");
	CU_ASSERT_PTR_NULL(hub_room(h, "nowhere"));
	CU_ASSERT_EQUAL(rm_stats.rooms_active, 1);
	/* the next accepted broadcast is seq 1 */
	broadcast(1, "r", "2");
	next_is(0, bc("r", "bob", 1, "2"));
	next_is(1, bc("r", "bob", 1, "2"));
}

static void
guest_sender_is_guest_conn_id(void)
{
	char guest[32], e[64];

	connect_(0, &conf);
	connect_(1, &conf);
	CU_ASSERT_NOT_EQUAL(info(cl[0]).conn_id, info(cl[1]).conn_id);
	snprintf(guest, sizeof(guest), "guest-%" PRIu64, info(cl[1]).conn_id);
	CU_ASSERT_PTR_NULL(info(cl[1]).user_id);
	CU_ASSERT_STRING_EQUAL(uid(cl[1]), guest);
	join(0, "r", "alice");
	CU_ASSERT_EQUAL(say(1, "{\"type\":\"join\",\"room_id\":\"r\"}"), 0);
	joined_is(1, "r", guest, 2, 0, e);
	broadcast(1, "r", "true");
	next_is(0, bc("r", guest, 1, "true"));
	next_is(1, bc("r", guest, 1, "true"));
}

static void
first_user_id_sticks_user_mismatch_after(void)
{
	char guest[32], e[64];

	connect_(0, &conf);
	snprintf(guest, sizeof(guest), "guest-%" PRIu64, info(cl[0]).conn_id);
	/* a join without user_id leaves the guest id and sets nothing */
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"join\",\"room_id\":\"a\"}"), 0);
	joined_is(0, "a", guest, 1, 0, e);
	/* the first join that carries one sets it */
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"join\",\"room_id\":\"b\","
			    "\"user_id\":\"alice\"}"), 0);
	joined_is(0, "b", "alice", 1, 0, e);
	/* a different one afterwards: user_mismatch, nothing joined */
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"join\",\"room_id\":\"c\","
			    "\"user_id\":\"bob\"}"), 0);
	error_is(0, "user_mismatch", "join");
	nothing_for(0);
	CU_ASSERT_PTR_NULL(hub_room(h, "c"));
	CU_ASSERT_EQUAL(info(cl[0]).n_rooms, 2);
	/* the same one, or none, is fine */
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"join\",\"room_id\":\"c\","
			    "\"user_id\":\"alice\"}"), 0);
	joined_is(0, "c", "alice", 1, 0, e);
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"join\",\"room_id\":\"a\"}"), 0);
	joined_is(0, "a", "alice", 1, 0, e);
	/* a prefix or extension of it is a different id */
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"join\",\"room_id\":\"a\","
			    "\"user_id\":\"alic\"}"), 0);
	error_is(0, "user_mismatch", "join");
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"join\",\"room_id\":\"a\","
			    "\"user_id\":\"alice2\"}"), 0);
	error_is(0, "user_mismatch", "join");
	broadcast(0, "a", "0");
	next_is(0, bc("a", "alice", 1, "0"));
}

static void
user_mismatch_before_room_limit(void)
{
	conf.max_rooms_per_connection = 1;
	connect_(0, &conf);
	join(0, "a", "alice");
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"join\",\"room_id\":\"b\","
			    "\"user_id\":\"bob\"}"), 0);
	error_is(0, "user_mismatch", "join");
}

static void
room_limit_per_connection(void)
{
	char e[64];

	conf.max_rooms_per_connection = 2;
	connect_(0, &conf);
	connect_(1, &conf);
	join(0, "a", "alice");
	join(0, "b", NULL);
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"join\",\"room_id\":\"c\"}"), 0);
	error_is(0, "room_limit", "join");
	nothing_for(0);
	CU_ASSERT_PTR_NULL(hub_room(h, "c"));
	CU_ASSERT_EQUAL(rm_stats.rooms_active, 2);
	/* a re-join is no new room */
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"join\",\"room_id\":\"a\"}"), 0);
	joined_is(0, "a", "alice", 1, 0, e);
	/* an existing room counts the same */
	join(1, "c", "bob");
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"join\",\"room_id\":\"c\"}"), 0);
	error_is(0, "room_limit", "join");
	CU_ASSERT_EQUAL(hub_room(h, "c")->n_members, 1);
	/* leaving makes room */
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"leave\",\"room_id\":\"b\"}"), 0);
	drain(0);
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"join\",\"room_id\":\"c\"}"), 0);
	joined_is(0, "c", "alice", 2, 0, e);
}

/*---- rate limit ----*/

/* Sends @n pings; returns how many got a pong (the rest: rate_limited). */
static int
pings(int i, int n)
{
	char buf[4096];
	int pongs = 0, k;

	for (k = 0; k < n; k++) {
		CU_ASSERT_EQUAL(say(i, "{\"type\":\"ping\"}"), 0);
		CU_ASSERT_TRUE_FATAL(take(i, buf, sizeof(buf)));
		if (!strcmp(buf, "{\"type\":\"pong\"}"))
			pongs++;
		else
			CU_ASSERT_PTR_NOT_NULL(strstr(buf,
						      "\"rate_limited\""));
	}
	return pongs;
}

static void
rate_limit_is_a_token_bucket(void)
{
	conf.max_messages_per_second = 3;
	connect_(0, &conf);
	/* a full bucket: 3 pass, then refused */
	CU_ASSERT_EQUAL(pings(0, 5), 3);
	CU_ASSERT_EQUAL(rm_stats.rate_limited, 2);
	/* refused messages take no token; half a second refills 1.5 */
	now += 500;
	CU_ASSERT_EQUAL(pings(0, 3), 1);
	now += 500;	/* 0.5 left + 1.5 */
	CU_ASSERT_EQUAL(pings(0, 3), 2);
	/* the bucket holds no more than its size, however long the wait */
	now += 60000;
	CU_ASSERT_EQUAL(pings(0, 6), 3);
	CU_ASSERT_EQUAL(rm_stats.rate_limited, 2 + 2 + 1 + 3);
	/* a refill rate of 3/s: one token every 333.3 ms */
	now += 333;
	CU_ASSERT_EQUAL(pings(0, 1), 0);
	now += 1;
	CU_ASSERT_EQUAL(pings(0, 1), 1);
}

static void
rate_limited_error_has_no_ref_and_skips_parsing(void)
{
	conf.max_messages_per_second = 1;
	connect_(0, &conf);
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"ping\"}"), 0);
	next_is(0, "{\"type\":\"pong\"}");
	/* discarded unparsed: no bad_json, no unknown_type, no ref */
	CU_ASSERT_EQUAL(say(0, "not json"), 0);
	error_is(0, "rate_limited", NULL);
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"join\",\"room_id\":\"r\"}"), 0);
	error_is(0, "rate_limited", NULL);
	nothing_for(0);
	CU_ASSERT_PTR_NULL(hub_room(h, "r"));
}

static void
rate_limit_off_by_default(void)
{
	connect_(0, &conf);
	CU_ASSERT_EQUAL(pings(0, 200), 200);
	CU_ASSERT_EQUAL(rm_stats.rate_limited, 0);
}

static void
rate_limit_is_per_connection(void)
{
	conf.max_messages_per_second = 2;
	connect_(0, &conf);
	connect_(1, &conf);
	CU_ASSERT_EQUAL(pings(0, 3), 2);
	CU_ASSERT_EQUAL(pings(1, 3), 2);
}

/*---- room lifetime ----*/

static void
room_freed_on_last_leave_and_on_client_free(void)
{
	connect_(0, &conf);
	connect_(1, &conf);
	join(0, "a", "alice");
	join(1, "a", "bob");
	join(0, "b", NULL);
	CU_ASSERT_EQUAL(rm_stats.rooms_active, 2);
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"leave\",\"room_id\":\"b\"}"), 0);
	CU_ASSERT_PTR_NULL(hub_room(h, "b"));
	CU_ASSERT_EQUAL(rm_stats.rooms_active, 1);
	disconnect(0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(hub_room(h, "a"));
	CU_ASSERT_EQUAL(hub_room(h, "a")->n_members, 1);
	CU_ASSERT_EQUAL(rm_stats.connections_active, 1);
	disconnect(1);
	CU_ASSERT_PTR_NULL(hub_room(h, "a"));
	CU_ASSERT_EQUAL(rm_stats.rooms_active, 0);
	CU_ASSERT_EQUAL(rm_stats.connections_active, 0);
	CU_ASSERT_EQUAL(rm_stats.connections_total, 2);
}

static void
rejoin_after_free_starts_over_with_new_epoch(void)
{
	char e1[64], e2[64], e3[64];

	connect_(0, &conf);
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"join\",\"room_id\":\"r\"}"), 0);
	joined_is(0, "r", uid(cl[0]), 1, 0, e1);
	broadcast(0, "r", "1");
	broadcast(0, "r", "2");
	drain(0);
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"join\",\"room_id\":\"r\"}"), 0);
	joined_is(0, "r", uid(cl[0]), 1, 2, e2);
	CU_ASSERT_STRING_EQUAL(e1, e2);
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"leave\",\"room_id\":\"r\"}"), 0);
	drain(0);
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"join\",\"room_id\":\"r\"}"), 0);
	joined_is(0, "r", uid(cl[0]), 1, 0, e3);
	CU_ASSERT_STRING_NOT_EQUAL(e1, e3);
	broadcast(0, "r", "3");
	next_is(0, bc("r", uid(cl[0]), 1, "3"));
}

static void
epoch_differs_between_server_instances(void)
{
	struct hub *h2 = hub_create(&fake_ops, INSTANCE + 1);
	struct client *c2;
	char e1[64], e2[64];
	struct client *keep;

	CU_ASSERT_PTR_NOT_NULL_FATAL(h2);
	connect_(0, &conf);
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"join\",\"room_id\":\"r\"}"), 0);
	joined_is(0, "r", uid(cl[0]), 1, 0, e1);
	/* the same first room of a restarted server */
	c2 = hub_client_new(h2, &conf, &owner[1], now);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c2);
	keep = cl[1];
	cl[1] = c2;
	CU_ASSERT_EQUAL(hub_on_text(h2, c2, "{\"type\":\"join\","
				    "\"room_id\":\"r\"}", 29, now), 0);
	{
		struct hub *saved = h;

		h = h2;		/* take() acknowledges on h */
		joined_is(1, "r", uid(c2), 1, 0, e2);
		h = saved;
	}
	cl[1] = keep;
	CU_ASSERT_STRING_NOT_EQUAL(e1, e2);
	hub_destroy(h2);
}

/*---- slow consumers ----*/

static void
drop_policy_counts_and_notifies(void)
{
	char buf[4096];
	int i;

	conf2.send_ring_size = 2;		/* the slow member's vhost */
	connect_(0, &conf);
	connect_(1, &conf2);
	join(0, "r", "fast");
	join(1, "r", "slow");
	CU_ASSERT_EQUAL(owner[1].wakes, 1);
	for (i = 1; i <= 5; i++)
		broadcast(0, "r", i == 1 ? "1" : i == 2 ? "2" : "0");
	/* the fast member and the sender are not held up */
	for (i = 1; i <= 5; i++)
		next_is(0, bc("r", "fast", (unsigned int)i,
			      i == 1 ? "1" : i == 2 ? "2" : "0"));
	CU_ASSERT_EQUAL(rm_stats.messages_dropped, 3);
	CU_ASSERT_EQUAL(hub_client_queued(cl[1]), 2);
	CU_ASSERT_EQUAL(info(cl[1]).dropped_pending, 3);
	CU_ASSERT_EQUAL(owner[1].wakes, 2);	/* empty -> non-empty once */
	CU_ASSERT_EQUAL(owner[1].closes, 0);
	/* one written: room again, the notice goes behind what is held */
	CU_ASSERT_TRUE_FATAL(take(1, buf, sizeof(buf)));
	CU_ASSERT_STRING_EQUAL(buf, bc("r", "fast", 1, "1"));
	CU_ASSERT_EQUAL(hub_client_queued(cl[1]), 2);
	CU_ASSERT_EQUAL(info(cl[1]).dropped_pending, 0);
	CU_ASSERT_EQUAL(owner[1].wakes, 2);	/* the ring was not empty */
	next_is(1, bc("r", "fast", 2, "2"));
	next_is(1, "{\"type\":\"dropped\",\"count\":3}");
	nothing_for(1);
	/* the next message shows the gap */
	broadcast(0, "r", "6");
	next_is(1, bc("r", "fast", 6, "6"));
	CU_ASSERT_EQUAL(rm_stats.messages_dropped, 3);
	check_queued_bytes();
}

static void
drop_notice_wakes_an_emptied_ring(void)
{
	int wakes;

	conf2.send_ring_size = 2;
	connect_(0, &conf);
	connect_(1, &conf2);
	join(0, "r", "fast");
	join(1, "r", "slow");
	broadcast(0, "r", "1");
	broadcast(0, "r", "2");
	broadcast(0, "r", "3");
	drain(0);
	CU_ASSERT_EQUAL(hub_client_queued(cl[1]), 2);
	wakes = owner[1].wakes;
	/* the transport writes both at once */
	hub_written(h, cl[1], 2, msg_frame_len(hub_client_peek(cl[1], 0)) +
		    msg_frame_len(hub_client_peek(cl[1], 1)));
	CU_ASSERT_EQUAL(owner[1].wakes, wakes + 1);
	next_is(1, "{\"type\":\"dropped\",\"count\":1}");
	nothing_for(1);
}

static void
drop_count_spans_rooms(void)
{
	conf2.send_ring_size = 2;
	connect_(0, &conf);
	connect_(1, &conf2);
	join(0, "a", "fast");
	join(0, "b", NULL);
	join(1, "a", "slow");
	join(1, "b", NULL);
	broadcast(0, "a", "1");
	broadcast(0, "b", "1");
	broadcast(0, "a", "2");		/* dropped */
	broadcast(0, "b", "2");		/* dropped */
	broadcast(0, "b", "3");		/* dropped */
	CU_ASSERT_EQUAL(rm_stats.messages_dropped, 3);
	next_is(1, bc("a", "fast", 1, "1"));
	next_is(1, bc("b", "fast", 1, "1"));
	next_is(1, "{\"type\":\"dropped\",\"count\":3}");
	nothing_for(1);
}

static void
drop_policy_bounds_ring_bytes_too(void)
{
	conf2.send_ring_bytes = 64;		/* the minimum */
	connect_(0, &conf);
	connect_(1, &conf2);
	join(0, "r", "fast");
	join(1, "r", "slow");
	/* a broadcast frame is over 64 bytes: only an empty ring takes one */
	broadcast(0, "r", "1");
	broadcast(0, "r", "2");
	CU_ASSERT_EQUAL(hub_client_queued(cl[1]), 1);
	CU_ASSERT_EQUAL(rm_stats.messages_dropped, 1);
	next_is(1, bc("r", "fast", 1, "1"));
	next_is(1, "{\"type\":\"dropped\",\"count\":1}");
}

static void
close_policy_closes_once_with_4001(void)
{
	unsigned int held;

	conf2.send_ring_size = 2;
	conf2.drop_policy = RCONF_CLOSE;
	connect_(0, &conf);
	connect_(1, &conf2);
	join(0, "r", "fast");
	join(1, "r", "slow");
	broadcast(0, "r", "1");
	broadcast(0, "r", "2");
	CU_ASSERT_EQUAL(owner[1].closes, 0);
	broadcast(0, "r", "3");
	CU_ASSERT_EQUAL(owner[1].closes, 1);
	CU_ASSERT_EQUAL(owner[1].close_code, 4001);
	CU_ASSERT_EQUAL(rm_stats.slow_consumer_closes, 1);
	CU_ASSERT_EQUAL(rm_stats.messages_dropped, 0);
	/* what was queued may be kept or released, but nothing is added */
	held = hub_client_queued(cl[1]);
	CU_ASSERT_TRUE(held <= 2);
	broadcast(0, "r", "4");
	broadcast(0, "r", "5");
	CU_ASSERT_EQUAL(owner[1].closes, 1);
	CU_ASSERT_EQUAL(hub_client_queued(cl[1]), held);
	check_queued_bytes();
	drain(1);
	nothing_for(1);
	CU_ASSERT_EQUAL(say(1, "{\"type\":\"ping\"}"), 0);
	nothing_for(1);
	broadcast(0, "r", "6");
	nothing_for(1);
	CU_ASSERT_EQUAL(owner[1].closes, 1);
	/* no dropped notice for a closing member */
	CU_ASSERT_EQUAL(rm_stats.messages_dropped, 0);
	/* the others go on */
	drain(0);
	broadcast(0, "r", "7");
	next_is(0, bc("r", "fast", 7, "7"));
	CU_ASSERT_EQUAL(owner[0].closes, 0);
	check_queued_bytes();
}

/*
 * max-queued-bytes: when all rings together hold more, the members
 * holding the most are closed with 4001 until the total is under it.
 */
static void
max_queued_bytes_sheds_the_biggest_ring(void)
{
	int i;

	set_process_options(0, 1000);
	connect_(0, &conf);
	connect_(1, &conf);	/* never reads */
	connect_(2, &conf);
	join(0, "r", "a");
	join(1, "r", "b");
	join(2, "r", "c");
	for (i = 1; i <= 20 && !owner[1].closes; i++) {
		broadcast(0, "r", "0");
		drain(0);
		drain(2);
		check_queued_bytes();
	}
	CU_ASSERT_EQUAL(owner[1].closes, 1);
	CU_ASSERT_EQUAL(owner[1].close_code, 4001);
	CU_ASSERT_EQUAL(rm_stats.slow_consumers_shed, 1);
	CU_ASSERT_TRUE(rm_stats.queued_bytes <= 1000);
	CU_ASSERT_EQUAL(owner[0].closes + owner[2].closes, 0);
	check_queued_bytes();
	/* the others go on; the shed one gets nothing more */
	broadcast(0, "r", "1");
	next_is(0, bc("r", "a", (unsigned int)i, "1"));
	next_is(2, bc("r", "a", (unsigned int)i, "1"));
	CU_ASSERT_EQUAL(owner[1].closes, 1);
	drain(1);
	broadcast(0, "r", "2");
	nothing_for(1);
	check_queued_bytes();
	disconnect(1);
	check_queued_bytes();
}

static void
max_queued_bytes_off_by_default(void)
{
	int i;

	connect_(0, &conf);
	connect_(1, &conf);
	join(0, "r", "a");
	join(1, "r", "b");
	for (i = 0; i < 200; i++) {
		broadcast(0, "r", "0");
		drain(0);
	}
	CU_ASSERT_EQUAL(hub_client_queued(cl[1]), 200);
	CU_ASSERT_EQUAL(owner[1].closes, 0);
	CU_ASSERT_EQUAL(rm_stats.slow_consumers_shed, 0);
	check_queued_bytes();
}

static void
wake_only_on_empty_to_non_empty(void)
{
	connect_(0, &conf);
	CU_ASSERT_EQUAL(owner[0].wakes, 0);
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"ping\",\"id\":1}"), 0);
	CU_ASSERT_EQUAL(owner[0].wakes, 1);
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"ping\",\"id\":2}"), 0);
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"ping\",\"id\":\"x\"}"), 0);
	CU_ASSERT_EQUAL(owner[0].wakes, 1);
	next_is(0, "{\"type\":\"pong\",\"id\":1}");
	next_is(0, "{\"type\":\"pong\",\"id\":2}");
	CU_ASSERT_EQUAL(owner[0].wakes, 1);
	next_is(0, "{\"type\":\"pong\",\"id\":\"x\"}");
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"ping\"}"), 0);
	CU_ASSERT_EQUAL(owner[0].wakes, 2);
	next_is(0, "{\"type\":\"pong\"}");
	CU_ASSERT_EQUAL(rm_stats.messages_sent, 4);
}

/* The frame length of a text message of @n payload bytes. */
static size_t
frame_of(size_t n)
{
	return n + (n < 126 ? 2 : n < 65536 ? 4 : 10);
}

/*
 * PROTOCOL.md: "As soon as the member's ring has room again (without
 * waiting for a next message)" the notice is queued. A ring bounded by
 * bytes can have room for a later, smaller message while the notice is
 * still pending: the notice must not wait behind it.
 */
static void
drop_notice_not_overtaken_by_a_smaller_message(void)
{
	static const char dropped1[] = "{\"type\":\"dropped\",\"count\":1}";
	char big[128];
	size_t big_len, small_len;

	snprintf(big, sizeof(big), "\"%s\"", "0123456789012345678901234567890"
		 "123456789012345678901234567890123456789012345678901234567890"
		 "12345678");
	big_len = frame_of(strlen(bc("r", "fast", 1, big)));
	small_len = frame_of(strlen(bc("r", "fast", 3, "1")));
	/* room for one big, the notice and one small; not for two big */
	conf2.send_ring_bytes = big_len + frame_of(strlen(dropped1)) +
				small_len;
	CU_ASSERT_TRUE_FATAL(2 * big_len > conf2.send_ring_bytes);
	connect_(0, &conf);
	connect_(1, &conf2);
	join(0, "r", "fast");
	join(1, "r", "slow");
	broadcast(0, "r", big);		/* seq 1: queued */
	broadcast(0, "r", big);		/* seq 2: dropped */
	CU_ASSERT_EQUAL(rm_stats.messages_dropped, 1);
	broadcast(0, "r", "1");		/* seq 3: fits */
	next_is(1, bc("r", "fast", 1, big));
	next_is(1, dropped1);
	next_is(1, bc("r", "fast", 3, "1"));
	nothing_for(1);
}

/*---- ping ----*/

/*
 * PROTOCOL.md: pong echoes "id". Like a broadcast's content, the id must
 * come back as the client wrote it: json-c clamps integers beyond 64 bits.
 */
static void
pong_echoes_the_id_exactly(void)
{
	connect_(0, &conf);
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"ping\",\"id\":\"abc\"}"), 0);
	next_is(0, "{\"type\":\"pong\",\"id\":\"abc\"}");
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"ping\",\"id\":[1,{\"k\":null}]}"),
			0);
	/* v1.1: an id that is neither a string nor an integer is ignored */
	next_is(0, "{\"type\":\"pong\"}");
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"ping\",\"id\":1e400}"), 0);
	next_is(0, "{\"type\":\"pong\"}");
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"ping\","
			    "\"id\":123456789012345678901234567890}"), 0);
	next_is(0, "{\"type\":\"pong\","
		"\"id\":123456789012345678901234567890}");
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"ping\","
			    "\"id\":-9223372036854775809}"), 0);
	next_is(0, "{\"type\":\"pong\",\"id\":-9223372036854775809}");
}

static void
written_counts_messages_and_bytes_sent(void)
{
	size_t bytes = 0;
	int i;

	connect_(0, &conf);
	connect_(1, &conf);
	join(0, "r", "a");
	join(1, "r", "b");
	stats_reset(now);	/* count from here */
	broadcast(0, "r", "1");
	broadcast(0, "r", "22");
	for (i = 0; i < 2; i++)
		bytes += msg_frame_len(hub_client_peek(cl[i], 0)) +
			 msg_frame_len(hub_client_peek(cl[i], 1));
	CU_ASSERT_EQUAL(rm_stats.messages_sent, 0);	/* queued, not sent */
	drain(0);
	drain(1);
	CU_ASSERT_EQUAL(rm_stats.messages_sent, 4);	/* one per recipient */
	CU_ASSERT_EQUAL(rm_stats.bytes_sent, bytes);
	CU_ASSERT_EQUAL(bytes, 2 * (2 + strlen(bc("r", "a", 1, "1"))) +
			       2 * (2 + strlen(bc("r", "a", 2, "22"))));
	CU_ASSERT_EQUAL(rm_stats.queued_bytes, 0);
}

/*---- framing errors ----*/

static void
invalid_utf8_asks_for_1007(void)
{
	static const char bad[] = "{\"type\":\"ping\",\"id\":\"\xc0\xaf\"}";
	static const char surrogate[] = "{\"type\":\"ping\",\"id\":\"\xed\xa0\x80\"}";
	static const char good[] = "{\"type\":\"ping\",\"id\":\"\xc3\xa9\"}";

	connect_(0, &conf);
	CU_ASSERT_EQUAL(hub_on_text(h, cl[0], bad, sizeof(bad) - 1, now),
			HUB_CLOSE_INVALID_UTF8);
	CU_ASSERT_EQUAL(HUB_CLOSE_INVALID_UTF8, 1007);
	CU_ASSERT_EQUAL(hub_on_text(h, cl[0], surrogate, sizeof(surrogate) - 1,
				    now), 1007);
	nothing_for(0);
	CU_ASSERT_EQUAL(owner[0].closes, 0);	/* the transport closes */
	CU_ASSERT_EQUAL(hub_on_text(h, cl[0], good, sizeof(good) - 1, now), 0);
	next_is(0, "{\"type\":\"pong\",\"id\":\"\xc3\xa9\"}");
}

static void
binary_gets_bad_frame(void)
{
	connect_(0, &conf);
	hub_on_binary(h, cl[0]);
	error_is(0, "bad_frame", NULL);
	nothing_for(0);
	/* the connection stays usable */
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"ping\"}"), 0);
	next_is(0, "{\"type\":\"pong\"}");
	CU_ASSERT_EQUAL(owner[0].closes, 0);
}

static void
decode_errors_reach_the_sender_with_ref(void)
{
	connect_(0, &conf);
	CU_ASSERT_EQUAL(say(0, "[1]"), 0);
	error_is(0, "bad_json", NULL);
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"fly\"}"), 0);
	error_is(0, "unknown_type", "fly");
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"join\"}"), 0);
	error_is(0, "missing_field", "join");
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"join\",\"room_id\":\"a b\","
			    "\"user_id\":\"a b\"}"), 0);
	error_is(0, "bad_room", "join");
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"join\",\"room_id\":\"r\","
			    "\"user_id\":\"a b\"}"), 0);
	error_is(0, "bad_user", "join");
	nothing_for(0);
	CU_ASSERT_EQUAL(rm_stats.rooms_active, 0);
	/* a bad user_id on the first join does not set the user */
	CU_ASSERT_PTR_NULL(info(cl[0]).user_id);
}

/*---- direct messages ----*/

static void
direct_reaches_every_connection_of_the_user(void)
{
	char guest[32];

	connect_(0, &conf);
	connect_(1, &conf);
	connect_(2, &conf);
	connect_(3, &conf);
	join(0, "r", "alice");
	join(1, "x", "bob");
	join(2, "y", "bob");
	snprintf(guest, sizeof(guest), "guest-%" PRIu64, info(cl[3]).conn_id);
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"direct\",\"to\":\"bob\","
			    "\"content\":{\"m\": 1}}"), 0);
	next_is(1, "{\"type\":\"direct\",\"from\":\"alice\",\"content\":"
		"{\"m\": 1}}");
	next_is(2, "{\"type\":\"direct\",\"from\":\"alice\",\"content\":"
		"{\"m\": 1}}");
	nothing_for(0);
	nothing_for(3);
	/* not to the sending connection, even for its own user */
	CU_ASSERT_EQUAL(say(1, "{\"type\":\"direct\",\"to\":\"bob\","
			    "\"content\":2}"), 0);
	next_is(2, "{\"type\":\"direct\",\"from\":\"bob\",\"content\":2}");
	nothing_for(1);
	/* a guest id is a user id too; a guest sends as one */
	{
		char t[128], want[128];

		snprintf(t, sizeof(t), "{\"type\":\"direct\",\"to\":\"%s\","
			 "\"content\":\"hi\"}", guest);
		CU_ASSERT_EQUAL(say(0, t), 0);
		next_is(3, "{\"type\":\"direct\",\"from\":\"alice\","
			"\"content\":\"hi\"}");
		CU_ASSERT_EQUAL(say(3, "{\"type\":\"direct\",\"to\":\"alice\","
				    "\"content\":null}"), 0);
		snprintf(want, sizeof(want), "{\"type\":\"direct\",\"from\":"
			 "\"%s\",\"content\":null}", guest);
		next_is(0, want);
	}
}

/*
 * issue 11: a client that joins as "guest-<n>" would get guest n's direct
 * messages. The prefix is the server's (PROTOCOL.md v1.1): bad_user, and
 * the real guest still gets its messages.
 */
static void
join_as_a_guest_id_is_bad_user(void)
{
	char t[160], guest[32];

	connect_(0, &conf);
	connect_(1, &conf);
	connect_(2, &conf);
	snprintf(guest, sizeof(guest), "guest-%" PRIu64, info(cl[0]).conn_id);
	snprintf(t, sizeof(t), "{\"type\":\"join\",\"room_id\":\"r\","
		 "\"user_id\":\"%s\"}", guest);
	CU_ASSERT_EQUAL(say(1, t), 0);
	error_is(1, "bad_user", "join");
	CU_ASSERT_PTR_NULL(info(cl[1]).user_id);
	CU_ASSERT_EQUAL(say(1, "{\"type\":\"join\",\"room_id\":\"r\","
			    "\"user_id\":\"guest-\"}"), 0);
	error_is(1, "bad_user", "join");
	CU_ASSERT_EQUAL(say(1, "{\"type\":\"join\",\"room_id\":\"r\","
			    "\"user_id\":\"guest-999999\"}"), 0);
	error_is(1, "bad_user", "join");
	CU_ASSERT_EQUAL(rm_stats.rooms_active, 0);
	snprintf(t, sizeof(t), "{\"type\":\"direct\",\"to\":\"%s\","
		 "\"content\":7}", guest);
	CU_ASSERT_EQUAL(say(2, t), 0);
	nothing_for(1);
	next_is(0, "{\"type\":\"direct\",\"from\":\"guest-3\","
		"\"content\":7}");
}

static void
direct_to_nobody_is_no_such_user(void)
{
	char t[128], want[128], guest0[32];

	connect_(0, &conf);
	connect_(1, &conf);
	snprintf(guest0, sizeof(guest0), "guest-%" PRIu64, info(cl[0]).conn_id);
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"direct\",\"to\":\"nobody\","
			    "\"content\":1}"), 0);
	error_is(0, "no_such_user", "direct");
	/* a user that set its id is no longer reachable as a guest */
	snprintf(t, sizeof(t), "{\"type\":\"direct\",\"to\":\"guest-%" PRIu64
		 "\",\"content\":1}", info(cl[1]).conn_id);
	join(1, "r", "bob");
	CU_ASSERT_EQUAL(say(0, t), 0);
	error_is(0, "no_such_user", "direct");
	/* nor a user whose connections closed */
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"direct\",\"to\":\"bob\","
			    "\"content\":1}"), 0);
	snprintf(want, sizeof(want), "{\"type\":\"direct\",\"from\":\"%s\","
		 "\"content\":1}", guest0);
	next_is(1, want);
	disconnect(1);
	CU_ASSERT_EQUAL(say(0, "{\"type\":\"direct\",\"to\":\"bob\","
			    "\"content\":1}"), 0);
	error_is(0, "no_such_user", "direct");
	/* writing to oneself from one's only connection: no one, no error */
	snprintf(t, sizeof(t), "{\"type\":\"direct\",\"to\":\"%s\","
		 "\"content\":1}", guest0);
	CU_ASSERT_EQUAL(say(0, t), 0);
	nothing_for(0);
}

/*
 * A cluster's range: ids go on from the local count, above the base, and
 * none is made past the range (it would be another process's); a direct
 * to the guest id reaches it.
 */
static void
conn_ids_stay_in_their_range(void)
{
	connect_(0, &conf);
	CU_ASSERT_EQUAL_FATAL(info(cl[0]).conn_id, 1);
	hub_set_conn_ids(h, UINT64_C(5) << 32, 3);
	connect_(1, &conf);
	CU_ASSERT_EQUAL(info(cl[1]).conn_id, (UINT64_C(5) << 32) + 2);
	CU_ASSERT_STRING_EQUAL(uid(cl[1]), "guest-21474836482");
	connect_(2, &conf);
	CU_ASSERT_EQUAL(info(cl[2]).conn_id, (UINT64_C(5) << 32) + 3);
	CU_ASSERT_PTR_NULL(connect_(3, &conf));
	CU_ASSERT_EQUAL(say(2, "{\"type\":\"direct\",\"to\":"
			       "\"guest-21474836482\",\"content\":1}"),
			0);
	next_is(1, "{\"type\":\"direct\",\"from\":\"guest-21474836483\","
		   "\"content\":1}");
}

/*
 * 2^64 + 1 read without an overflow check is 1: the old parse sent this
 * to guest-1. Every spelling but the one the server writes is no one.
 */
static void
direct_to_overflowing_guest_id_is_no_such_user(void)
{
	static const char *const to[] = {
		"guest-18446744073709551616",	/* 2^64 */
		"guest-18446744073709551617",	/* 2^64 + 1 */
		"guest-36893488147419103233",	/* 2^65 + 1 */
		"guest-01", "guest-0001", "guest-0", "guest-", "guest-1.0",
		"Guest-1", "guest-abc",
	};
	char t[128];
	size_t i;

	connect_(0, &conf);
	connect_(1, &conf);
	CU_ASSERT_EQUAL_FATAL(info(cl[0]).conn_id, 1);
	for (i = 0; i < sizeof(to) / sizeof(to[0]); i++) {
		snprintf(t, sizeof(t), "{\"type\":\"direct\",\"to\":\"%s\","
			 "\"content\":1}", to[i]);
		CU_ASSERT_EQUAL(say(1, t), 0);
		error_is(1, "no_such_user", "direct");
		nothing_for(0);
	}
	/* and the real one still arrives */
	CU_ASSERT_EQUAL(say(1, "{\"type\":\"direct\",\"to\":\"guest-1\","
			    "\"content\":1}"), 0);
	next_is(0, "{\"type\":\"direct\",\"from\":\"guest-2\",\"content\":1}");
}

/*---- shutdown ----*/

static void
close_all_closes_every_client_once(void)
{
	int i;

	for (i = 0; i < 5; i++)
		connect_(i, &conf);
	join(0, "r", "a");
	join(1, "r", "b");
	hub_close_all(h, 1001);
	for (i = 0; i < 5; i++) {
		CU_ASSERT_EQUAL(owner[i].closes, 1);
		CU_ASSERT_EQUAL(owner[i].close_code, 1001);
	}
	/* nothing more is queued to a closing connection */
	broadcast(0, "r", "1");
	nothing_for(0);
	nothing_for(1);
	for (i = 0; i < 5; i++)
		disconnect(i);
	CU_ASSERT_EQUAL(rm_stats.connections_active, 0);
	CU_ASSERT_EQUAL(rm_stats.rooms_active, 0);
	CU_ASSERT_EQUAL(rm_stats.queued_bytes, 0);
}

static void
destroy_frees_remaining_clients(void)
{
	connect_(0, &conf);
	connect_(1, &conf);
	join(0, "r", "a");
	join(1, "r", "b");
	broadcast(0, "r", "1");		/* left queued */
	/* teardown's hub_destroy frees both; ASan checks for leaks */
	CU_PASS("left to hub_destroy");
}

/*---- history and recovery ----*/

/* The epoch of @room as a fresh join by @i reports it (and drains). */
static void
epoch_of_room(int i, const char *room, char *epoch, size_t len)
{
	char t[256], buf[4096];
	struct json_object *o, *v;

	snprintf(t, sizeof(t), "{\"type\":\"join\",\"room_id\":\"%s\"}", room);
	say(i, t);
	CU_ASSERT_TRUE_FATAL(take(i, buf, sizeof(buf)));
	o = json_tokener_parse(buf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_TRUE(json_object_object_get_ex(o, "epoch", &v));
	snprintf(epoch, len, "%s", json_object_get_string(v));
	json_object_put(o);
	drain(i);
}

static void
recovery_replays_all_missed_after_joined(void)
{
	char epoch[64], t[256], want[512];

	set_process_options(10, 0);
	connect_(0, &conf);
	connect_(1, &conf);
	epoch_of_room(0, "r", epoch, sizeof(epoch));
	broadcast(0, "r", "1");
	broadcast(0, "r", "2");
	broadcast(0, "r", "3");
	drain(0);
	/* client 1 saw up to seq 1 in an earlier connection */
	snprintf(t, sizeof(t), "{\"type\":\"join\",\"room_id\":\"r\","
		 "\"since\":1,\"epoch\":\"%s\"}", epoch);
	say(1, t);
	snprintf(want, sizeof(want), "{\"type\":\"joined\",\"room_id\":\"r\","
		 "\"user_id\":\"guest-2\",\"members\":2,\"seq\":3,\"epoch\":"
		 "\"%s\",\"recovered\":true}", epoch);
	next_is(1, want);
	next_is(1, bc("r", "guest-1", 2, "2"));
	next_is(1, bc("r", "guest-1", 3, "3"));
	nothing_for(1);
}

static void
recovery_is_all_or_nothing(void)
{
	char epoch[64], t[256], want[512];
	int i;

	set_process_options(2, 0);
	connect_(0, &conf);
	connect_(1, &conf);
	epoch_of_room(0, "r", epoch, sizeof(epoch));
	for (i = 1; i <= 4; i++)
		broadcast(0, "r", "0");
	drain(0);
	/* seq 2..4 missed, only 3..4 held: no partial replay */
	snprintf(t, sizeof(t), "{\"type\":\"join\",\"room_id\":\"r\","
		 "\"since\":1,\"epoch\":\"%s\"}", epoch);
	say(1, t);
	snprintf(want, sizeof(want), "{\"type\":\"joined\",\"room_id\":\"r\","
		 "\"user_id\":\"guest-2\",\"members\":2,\"seq\":4,\"epoch\":"
		 "\"%s\",\"recovered\":false}", epoch);
	next_is(1, want);
	nothing_for(1);
	/* a wrong epoch, a since above seq, or since without epoch: none */
	say(1, "{\"type\":\"join\",\"room_id\":\"r\",\"since\":3,"
	       "\"epoch\":\"other\"}");
	CU_ASSERT_TRUE(take(1, t, sizeof(t)) &&
		       strstr(t, "\"recovered\":false") != NULL);
	nothing_for(1);
	snprintf(t, sizeof(t), "{\"type\":\"join\",\"room_id\":\"r\","
		 "\"since\":9,\"epoch\":\"%s\"}", epoch);
	say(1, t);
	CU_ASSERT_TRUE(take(1, t, sizeof(t)) &&
		       strstr(t, "\"recovered\":false") != NULL);
	nothing_for(1);
	say(1, "{\"type\":\"join\",\"room_id\":\"r\",\"since\":3}");
	CU_ASSERT_TRUE(take(1, t, sizeof(t)) &&
		       strstr(t, "\"recovered\":false") != NULL);
	nothing_for(1);
	/* nothing missed: recovered, nothing replayed */
	snprintf(t, sizeof(t), "{\"type\":\"join\",\"room_id\":\"r\","
		 "\"since\":4,\"epoch\":\"%s\"}", epoch);
	say(1, t);
	CU_ASSERT_TRUE(take(1, t, sizeof(t)) &&
		       strstr(t, "\"recovered\":true") != NULL);
	nothing_for(1);
}

/*
 * The fit of a replay counts the `joined` answer as made, long ids and
 * all, and the `dropped` notice owed before it: a ring one byte short of
 * the whole answers recovered:false, a ring that holds it all replays
 * everything (found by fuzz_hub's replay_whole).
 */
static void
recovery_fit_counts_the_joined_answer_as_made(void)
{
	char room[CODEC_ROOM_MAX + 1], user[CODEC_USER_MAX + 1], epoch[64];
	char t[512], want[768];
	static const char rid[] = "\"request-0123456789012345678901234567890"
				  "123456789012345678\"";
	size_t need;
	int budget;

	memset(room, 'r', CODEC_ROOM_MAX);
	room[CODEC_ROOM_MAX] = '\0';
	memset(user, 'u', CODEC_USER_MAX);
	user[CODEC_USER_MAX] = '\0';
	set_process_options(10, 0);
	connect_(0, &conf);
	epoch_of_room(0, room, epoch, sizeof(epoch));
	broadcast(0, room, "1");
	broadcast(0, room, "2");
	broadcast(0, room, "3");
	drain(0);
	for (budget = 0; budget < 2; budget++) {
		int i = 1 + budget;

		snprintf(want, sizeof(want),
			 "{\"type\":\"joined\",\"id\":%s,"
			 "\"room_id\":\"%s\",\"user_id\":\"%s\",\"members\":2,"
			 "\"seq\":3,\"epoch\":\"%s\",\"recovered\":true}",
			 rid, room, user, epoch);
		/* longer than the old fixed guess of MSG_MAX_FRAME_HDR + 320 */
		CU_ASSERT_TRUE_FATAL(frame_of(strlen(want)) > 330);
		need = frame_of(strlen(want)) +
		       frame_of(strlen(bc(room, "guest-1", 2, "2"))) +
		       frame_of(strlen(bc(room, "guest-1", 3, "3")));
		/* budget 0: one byte short; budget 1: exactly enough */
		conf2.send_ring_bytes = need - (budget ? 0 : 1);
		connect_(i, &conf2);
		snprintf(t, sizeof(t),
			 "{\"type\":\"join\",\"id\":%s,\"room_id\":"
			 "\"%s\",\"user_id\":\"%s\",\"since\":1,\"epoch\":"
			 "\"%s\"}",
			 rid, room, user, epoch);
		say(i, t);
		if (budget) {
			next_is(i, want);
			next_is(i, bc(room, "guest-1", 2, "2"));
			next_is(i, bc(room, "guest-1", 3, "3"));
		} else {
			CU_ASSERT_TRUE(take(i, t, sizeof(t)) &&
				       strstr(t, "\"recovered\":false"));
		}
		nothing_for(i);
		disconnect(i);
	}
}

static void
history_answers_last_n_oldest_first(void)
{
	char want[1024];

	set_process_options(3, 0);
	connect_(0, &conf);
	connect_(1, &conf);
	join(0, "r", NULL);
	broadcast(0, "r", "1");
	broadcast(0, "r", "2");
	broadcast(0, "r", "3");
	broadcast(0, "r", "4");
	drain(0);
	say(0, "{\"type\":\"history\",\"room_id\":\"r\"}");
	snprintf(want, sizeof(want), "{\"type\":\"history\",\"room_id\":\"r\","
		 "\"messages\":[%s,%s,%s]}", bc("r", "guest-1", 2, "2"),
		 bc("r", "guest-1", 3, "3"), bc("r", "guest-1", 4, "4"));
	next_is(0, want);
	say(0, "{\"type\":\"history\",\"room_id\":\"r\",\"limit\":1}");
	snprintf(want, sizeof(want), "{\"type\":\"history\",\"room_id\":\"r\","
		 "\"messages\":[%s]}", bc("r", "guest-1", 4, "4"));
	next_is(0, want);
	say(0, "{\"type\":\"history\",\"room_id\":\"r\",\"limit\":0}");
	error_is(0, "missing_field", "history");
	say(0, "{\"type\":\"history\",\"room_id\":\"r\",\"limit\":\"2\"}");
	error_is(0, "missing_field", "history");
	say(1, "{\"type\":\"history\",\"room_id\":\"r\"}");
	error_is(1, "not_member", "history");
}

static void
history_off_answers_empty(void)
{
	connect_(0, &conf);
	join(0, "r", NULL);
	broadcast(0, "r", "1");
	drain(0);
	say(0, "{\"type\":\"history\",\"room_id\":\"r\"}");
	next_is(0, "{\"type\":\"history\",\"room_id\":\"r\",\"messages\":[]}");
}

/*
 * history-size is process-wide (rconf.h, scope): every room holds the
 * hub's size, whatever the vhost of the member who made it says.
 */
static void
history_size_is_the_hubs_not_a_vhosts(void)
{
	char buf[4096];
	const char *p;
	int n = 0;

	conf2.history_size = 50; /* per-vhost copy: not read */
	set_process_options(2, 0);
	connect_(0, &conf2);
	join(0, "r", NULL);
	broadcast(0, "r", "1");
	broadcast(0, "r", "2");
	broadcast(0, "r", "3");
	drain(0);
	say(0, "{\"type\":\"history\",\"room_id\":\"r\"}");
	CU_ASSERT_TRUE_FATAL(take(0, buf, sizeof(buf)));
	for (p = buf; (p = strstr(p, "\"type\":\"broadcast\"")); p++)
		n++;
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_PTR_NULL(strstr(buf, "\"content\":1"));
}

static void
json_the_codec_would_pass_on_is_refused(void)
{
	static const char *const bad[] = {
		"{\"type\":\"ping\",\"id\":1.}",
		"{\"type\":\"ping\",\"id\":-01}",
		"{\"type\":\"ping\",\"id\":NaN}",
		"{\"type\":\"ping\",\"id\":\"a\tb\"}",
		"{\"type\":\"ping\",\"id\":\"\\x\"}",
	};
	size_t i;

	connect_(0, &conf);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		say(0, bad[i]);
		error_is(0, "bad_json", NULL);
	}
}

/*---- the suite ----*/

CU_TestInfo hub_tests[] = {
	{ "join answers joined: members, seq 0, epoch", join_answers_joined },
	{ "re-join answers joined again, without presence",
	  rejoin_answers_joined_again_without_presence },
	{ "presence join/leave events when presence-events is on",
	  presence_events_when_on },
	{ "no presence events when presence-events is off",
	  presence_events_not_when_off },
	{ "presence follows each member's own vhost settings",
	  presence_follows_each_members_vhost },
	{ "leave answers left; not in the room: not_member",
	  leave_answers_left_or_not_member },
	{ "broadcast reaches every member, sender too, seq 1,2,3 in order",
	  broadcast_reaches_all_members_in_seq_order },
	{ "broadcast by a non-member: not_member, reaches no one",
	  broadcast_by_non_member_reaches_no_one },
	{ "a connection without user_id sends as guest-<conn_id>",
	  guest_sender_is_guest_conn_id },
	{ "the first user_id sticks; a different one is user_mismatch",
	  first_user_id_sticks_user_mismatch_after },
	{ "user_mismatch comes before room_limit",
	  user_mismatch_before_room_limit },
	{ "room_limit at max-rooms-per-connection", room_limit_per_connection },
	{ "rate limit: a token bucket of N refilled at N/s",
	  rate_limit_is_a_token_bucket },
	{ "rate_limited: no ref, the message is not parsed",
	  rate_limited_error_has_no_ref_and_skips_parsing },
	{ "no rate limit by default", rate_limit_off_by_default },
	{ "the rate limit is per connection", rate_limit_is_per_connection },
	{ "a room is freed on its last leave and on hub_client_free",
	  room_freed_on_last_leave_and_on_client_free },
	{ "a re-created room starts at seq 0 with a new epoch",
	  rejoin_after_free_starts_over_with_new_epoch },
	{ "epochs differ between server instances",
	  epoch_differs_between_server_instances },
	{ "drop policy: drops counted, dropped notice once there is room",
	  drop_policy_counts_and_notifies },
	{ "drop policy: the notice wakes an emptied ring",
	  drop_notice_wakes_an_emptied_ring },
	{ "drop policy: one notice counts drops across rooms",
	  drop_count_spans_rooms },
	{ "drop policy: the ring's byte bound drops too",
	  drop_policy_bounds_ring_bytes_too },
	{ "close policy: close(4001) once, nothing queued after",
	  close_policy_closes_once_with_4001 },
	{ "drop policy: the notice is not overtaken by a smaller message",
	  drop_notice_not_overtaken_by_a_smaller_message },
	{ "pong echoes the id exactly, large integers too",
	  pong_echoes_the_id_exactly },
	{ "max-queued-bytes sheds the member holding the most with 4001",
	  max_queued_bytes_sheds_the_biggest_ring },
	{ "max-queued-bytes is off by default",
	  max_queued_bytes_off_by_default },
	{ "hub_written counts messages_sent per recipient and bytes_sent",
	  written_counts_messages_and_bytes_sent },
	{ "wake() only when a ring goes from empty to non-empty",
	  wake_only_on_empty_to_non_empty },
	{ "invalid UTF-8: hub_on_text returns 1007",
	  invalid_utf8_asks_for_1007 },
	{ "a binary message gets bad_frame", binary_gets_bad_frame },
	{ "decode errors reach the sender with ref",
	  decode_errors_reach_the_sender_with_ref },
	{ "direct reaches every connection of the user but the sender",
	  direct_reaches_every_connection_of_the_user },
	{ "direct to no connected user: no_such_user",
	  direct_to_nobody_is_no_such_user },
	{ "join as guest-<n> is bad_user; the guest keeps its messages",
	  join_as_a_guest_id_is_bad_user },
	{ "direct to a guest id that overflows uint64: no_such_user",
	  direct_to_overflowing_guest_id_is_no_such_user },
	{ "conn_ids stay in the range a cluster gives",
	  conn_ids_stay_in_their_range },
	{ "hub_close_all closes every client once",
	  close_all_closes_every_client_once },
	{ "hub_destroy frees the clients still connected",
	  destroy_frees_remaining_clients },
	{ "recovery replays every missed message after joined",
	  recovery_replays_all_missed_after_joined },
	{ "recovery is all or nothing; wrong epoch or since never recovers",
	  recovery_is_all_or_nothing },
	{ "recovery's fit counts the joined answer as made",
	  recovery_fit_counts_the_joined_answer_as_made },
	{ "history answers the last N, oldest first; errors",
	  history_answers_last_n_oldest_first },
	{ "history-size 0: history answers an empty list",
	  history_off_answers_empty },
	{ "history-size is the hub's, not the room creator's vhost's",
	  history_size_is_the_hubs_not_a_vhosts },
	{ "invalid JSON that json-c takes is bad_json",
	  json_the_codec_would_pass_on_is_refused },
	CU_TEST_INFO_NULL,
};
