/*
 * fuzz_hub: the hub as a state machine driven by 3 fake connections.
 *
 * The input is a config byte, then a list of operations. Each operation is
 * one byte (kind in the low 4 bits, client in the high ones) and its
 * arguments: structured messages (join/leave/broadcast/ping/direct with ids
 * from a small set, so that rooms are shared), raw length-prefixed text,
 * binary messages, the transport writing some of a ring (hub_written),
 * time passing (rate limit), peers disconnecting, the transport carrying
 * out asked-for closes, and shutdown. Small limits: send-ring-size 4,
 * max-rooms-per-connection 3, optionally a rate limit, policy close,
 * presence events, max-queued-bytes, a small send-ring-bytes, history
 * (history-size 3 or 50) with join's since/epoch recovery and `history`.
 *
 * Input: byte 0 = config bits (1 rate 3/s, 2 policy close, 4 presence on,
 * 8 max-queued-bytes 1500, 0x10 send-ring-bytes 300, 0x20 history-size 3
 * (50 with 0x80), 0x40 client 2 gets policy and presence flipped; 0x40
 * and 0x80 together: client 2's vhost has auth on, HS256, auth-timeout-s
 * 1); then
 * operations [op][arg][more...]: op & 15 is the kind, (op >> 4) % 3 the
 * client (an op on a closed client reconnects it instead):
 *   0 join room arg%5 as user (arg>>3)%6   1 leave room arg%5
 *   2,3 broadcast to room arg%5, content [kind][n]
 *   4 ping (id if arg odd), members (arg & 2), or with arg & 0x80 an
 *     auth message: a harness-signed HS256 token [t] (sub, exp in 0-3 s,
 *     rooms and publish claims picked by t; t == 255: a bad signature)
 *                                          5 direct, target arg, content
 *   6 raw text of arg bytes                7 binary message
 *   8,9 write arg%6 msgs of the ring       10 time += arg*10 ms, then
 *                                          hub_auth_sweep() on each client
 *   11 carry out asked-for closes          12 the peer disconnects
 *   13 shutdown (hub_close_all) if arg<8, else write 6
 *   14 join room arg%5 with since [s]%32, epoch of generation [g]%8
 *   15 history of room arg%5, limit [l] (0: none)
 *
 * Invariants (abort with INVARIANT <name>):
 *  wake            wake() only for a live client with a non-empty ring
 *  ring_stalled    a non-closing client's non-empty ring has a write
 *                  scheduled (wake() was called and not yet consumed)
 *  ring_bounds     ring count <= send-ring-size
 *  rooms_count     n_rooms == the client's memberships <= max rooms
 *  stats_*         connections_active, rooms_active and queued_bytes equal
 *                  what the clients hold (rooms_active: plus the rooms
 *                  kept with history), after every operation, and 0 at
 *                  the end (rooms_active: the kept rooms)
 *  out_json        every written msg is a JSON object with a string "type"
 *  seq_order       a client gets a room's broadcasts in increasing seq
 *                  order, after that room's "joined" (each at most once)
 *  dropped_late    after hub_written, a pending drop count is queued as
 *                  soon as the ring has room for the notice
 *  gap_accounted   seq gaps seen by a client never exceed the messages
 *                  counted dropped for it
 *  close_code      close() only with 4001 (policy close / shed) or 1001,
 *                  or 4003/4004 on the auth vhost (from the sweep)
 *  auth_gate       a connection of the auth vhost is in no room until it
 *                  authenticated
 *  auth_rooms      every room an authenticated connection is in is
 *                  allowed by its claims (refresh narrowing left the rest)
 *  queued_cap      after every operation all rings together hold no more
 *                  than max-queued-bytes (the shed after a fan-out)
 *  members_list    a members answer lists distinct users, no more than
 *                  its connection count, and echoes the request id
 *  history_msgs    a history answer holds the room's broadcasts in
 *                  consecutive seq order
 *  replay_whole    a join answered "recovered":true had none of its replay
 *                  dropped (PROTOCOL.md: never a partial replay)
 * LeakSanitizer checks that everything is freed once all clients are.
 */
#define _GNU_SOURCE	/* memmem */
#include "hub.h"
#include "hub_auth.h"
#include "hub_internal.h"	/* the claims, for auth_rooms */
#include "msg.h"
#include "rconf.h"
#include "rm_err.h"
#include "stats.h"
#include "fuzz_util.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <time.h>

#define AUTH_SECRET "fuzz-hub-secret-fuzz-hub-secret-0123"

#define N_CLIENTS 3
#define N_ROOMS 5
#define MAX_OPS 400
#define NOTICE_LEN (MSG_MAX_FRAME_HDR + 48)
#define HUB_INSTANCE 0x1234abcd5678ULL

/* What one client has seen of one room, from its written stream. */
struct seen {
	char id[CODEC_ROOM_MAX + 1];
	int joined;
	int replay;		/* joined said recovered: replayed msgs follow */
	uint64_t last_seq;	/* replay: the joined's seq; last unknown */
};

struct fake {
	struct client *c;
	int live;
	int writable;		/* wake() asked for a write, not yet done */
	int close_code;		/* close() asked for this; 0 if not */
	uint64_t dropped_seen;	/* sum of "dropped" counts written */
	uint64_t gaps;		/* seq gaps seen */
	struct seen seen[16];
	/*
	 * A drop loses what this client knows of its rooms (a dropped
	 * "joined" or "left"), so the seq bookkeeping starts over at the
	 * stream position where the drop happened: written counts the msgs
	 * written so far, marker[] the positions still ahead.
	 */
	uint64_t written;
	uint64_t marker[32];
	unsigned int n_markers;
	int notrack;		/* too many markers: stop checking seq */
};

static struct fake fk[N_CLIENTS];
static struct hub *hub;
static struct json_tokener *tok;
static struct rconf conf[2];
static int64_t now_ms;
static size_t queued_cap;	/* max-queued-bytes; 0: none */
static time_t wall0;		/* the sweep's wall clock at now_ms 0 */
static int trace;		/* RC_FUZZ_TRACE=1: print the conversation */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* struct client is opaque (hub.h): read through hub_client_info(). */
static size_t auth_message(uint8_t a, uint8_t t, char *buf, size_t size);

static uint64_t
dropped_of(const struct client *c)
{
	struct hub_client_info ci;

	hub_client_info(c, &ci);
	return ci.dropped_pending;
}

static uint64_t
conn_id_of(const struct client *c)
{
	struct hub_client_info ci;

	hub_client_info(c, &ci);
	return ci.conn_id;
}

static void
op_wake(void *owner)
{
	struct fake *f = owner;

	CHECK("wake", f->live && f->c && hub_client_queued(f->c) > 0);
	f->writable = 1;
}

static void
op_close(void *owner, int code)
{
	struct fake *f = owner;

	CHECK("close_code", f->live);
	CHECK("close_code", code == HUB_CLOSE_SLOW_CONSUMER || code == 1001 ||
	      ((code == HUB_CLOSE_AUTH_TIMEOUT ||
		code == HUB_CLOSE_TOKEN_EXPIRED) &&
	       hub_client_conf(f->c)->keyring));
	if (!f->close_code)
		f->close_code = code;
}

static const struct hub_ops ops = { op_wake, op_close };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	tok = json_tokener_new_ex(256);
	if (!tok)
		abort();
	trace = getenv("RC_FUZZ_TRACE") != NULL;
	return 0;
}

static const char *const room_names[N_ROOMS] = {
	"a", "b", "room.x:y-z_1", "Z",
	/* the longest room_id */
	("r1234567890123456789012345678901234567890123456789012345678901234"
	 "567890123456789012345678901234567890123456789012345678901234567"),
};

static const char *const user_names[] = {
	NULL, "alice", "bob", "carol@x.org",
	"u234567890123456789012345678901234567890123456789012345678901234",
	"guest-1",
};
#define N_USERS (sizeof(user_names) / sizeof(user_names[0]))

static void
connect_client(int i)
{
	struct fake *f = &fk[i];

	memset(f, 0, sizeof(*f));
	f->c = hub_client_new(hub, &conf[i == 2], f, now_ms);
	if (!f->c)
		abort();
	f->live = 1;
}

static void
free_client(int i)
{
	struct fake *f = &fk[i];

	hub_client_free(hub, f->c);
	f->c = NULL;
	f->live = 0;
}

static struct seen *
seen_of(struct fake *f, const char *id, int create)
{
	size_t i;
	struct seen *free_slot = NULL;

	for (i = 0; i < sizeof(f->seen) / sizeof(f->seen[0]); i++) {
		if (f->seen[i].joined && !strcmp(f->seen[i].id, id))
			return &f->seen[i];
		if (!f->seen[i].joined && !free_slot)
			free_slot = &f->seen[i];
	}
	if (!create || !free_slot)
		return NULL;
	snprintf(free_slot->id, sizeof(free_slot->id), "%s", id);
	free_slot->joined = 1;
	free_slot->replay = 0;
	free_slot->last_seq = 0;
	return free_slot;
}

static const char *
str_field(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static uint64_t
u64_field(struct json_object *o, const char *key)
{
	struct json_object *v;

	CHECK("out_json", json_object_object_get_ex(o, key, &v) &&
	      json_object_is_type(v, json_type_int));
	return json_object_get_uint64(v);
}

/* One msg the transport wrote to @f: what a client would see. */
static void
observe(struct fake *f, const struct msg *m)
{
	struct json_object *o;
	const char *type, *room;
	struct seen *s;
	uint64_t seq;

	if (trace)
		fprintf(stderr, "c%d  > %.*s\n", (int)(f - fk),
			(int)m->payload_len, msg_text(m));
	CHECK("out_json", msg_frame(m)[0] == 0x81);
	while (f->n_markers && f->marker[0] <= f->written) {
		memset(f->seen, 0, sizeof(f->seen));
		memmove(f->marker, f->marker + 1,
			--f->n_markers * sizeof(f->marker[0]));
	}
	if (f->notrack)
		memset(f->seen, 0, sizeof(f->seen));
	f->written++;
	json_tokener_reset(tok);
	o = json_tokener_parse_ex(tok, msg_text(m), (int)m->payload_len);
	CHECK("out_json", o && json_object_is_type(o, json_type_object) &&
	      json_tokener_get_parse_end(tok) == m->payload_len);
	type = str_field(o, "type");
	CHECK("out_json", type != NULL);
	room = str_field(o, "room_id");
	if (!strcmp(type, "joined")) {
		CHECK("out_json", room != NULL);
		s = seen_of(f, room, 1);
		if (s) {
			struct json_object *rec;

			s->last_seq = u64_field(o, "seq");
			s->replay = json_object_object_get_ex(o, "recovered", &rec) &&
				    json_object_get_boolean(rec);
		}
	} else if (!strcmp(type, "left")) {
		CHECK("out_json", room != NULL);
		s = seen_of(f, room, 0);
		if (s)
			s->joined = 0;
	} else if (!strcmp(type, "broadcast")) {
		CHECK("out_json", room != NULL);
		seq = u64_field(o, "seq");
		s = seen_of(f, room, 0);
		if (s && s->replay && seq <= s->last_seq) {
			/* the first replayed msg: since is not known here */
			s->replay = 0;
			s->last_seq = seq;
		} else if (s) {	/* NULL: more rooms than slots; not tracked */
			s->replay = 0;
			CHECK("seq_order", seq > s->last_seq);
			f->gaps += seq - s->last_seq - 1;
			s->last_seq = seq;
		}
		CHECK("gap_accounted", f->gaps <= f->dropped_seen +
		      (f->c ? dropped_of(f->c) : 0));
	} else if (!strcmp(type, "history")) {
		struct json_object *list, *e;
		uint64_t prev = 0;
		size_t k;

		CHECK("history_msgs", room != NULL &&
		      json_object_object_get_ex(o, "messages", &list) &&
		      json_object_is_type(list, json_type_array));
		for (k = 0; k < json_object_array_length(list); k++) {
			e = json_object_array_get_idx(list, k);
			CHECK("history_msgs", str_field(e, "type") &&
			      !strcmp(str_field(e, "type"), "broadcast"));
			CHECK("history_msgs", str_field(e, "room_id") &&
			      !strcmp(str_field(e, "room_id"), room));
			seq = u64_field(e, "seq");
			CHECK("history_msgs", !k || seq == prev + 1);
			prev = seq;
		}
	} else if (!strcmp(type, "members")) {
		struct json_object *list, *e, *f2;
		size_t k, j, n;

		CHECK("members_list", room != NULL &&
		      json_object_object_get_ex(o, "users", &list) &&
		      json_object_is_type(list, json_type_array));
		n = json_object_array_length(list);
		CHECK("members_list", n <= u64_field(o, "members"));
		/* the asker is a member: listed, unless the ring cut the list */
		CHECK("members_list", n >= 1 ||
		      json_object_object_get_ex(o, "truncated", NULL));
		CHECK("members_list", json_object_object_get_ex(o, "id", NULL));
		for (k = 0; k < n; k++) {
			e = json_object_array_get_idx(list, k);
			CHECK("members_list", json_object_is_type(e, json_type_string));
			for (j = 0; j < k; j++) {
				f2 = json_object_array_get_idx(list, j);
				CHECK("members_list", strcmp(json_object_get_string(e),
						json_object_get_string(f2)));
			}
		}
	} else if (!strcmp(type, "dropped")) {
		f->dropped_seen += u64_field(o, "count");
	}
	json_object_put(o);
}

/* The transport writes the @n oldest msgs of client @i's ring. */
static void
drain(int i, unsigned int n)
{
	struct fake *f = &fk[i];
	struct client *c = f->c;
	struct hub_client_info ci;
	size_t bytes = 0;
	unsigned int k;

	if (!f->writable || hub_client_closing(c))
		return;		/* no writable callback for it */
	if (n > hub_client_queued(c))
		n = hub_client_queued(c);
	for (k = 0; k < n; k++) {
		const struct msg *m = hub_client_peek(c, k);

		observe(f, m);
		bytes += msg_frame_len(m);
	}
	hub_written(hub, c, n, bytes);
	hub_client_info(c, &ci);
	CHECK("dropped_late", !ci.dropped_pending || ci.closing ||
	      !hub_client_fits(c, NOTICE_LEN));
	/* the transport asks for writable again while the ring holds more */
	f->writable = ci.queued > 0;
}

/* Checks the hub's books against what the clients hold. */
static void
check_books(void)
{
	uint64_t live = 0, queued = 0;
	const struct room *rooms[N_CLIENTS * 8];
	size_t n_rooms = 0, k;
	const struct member *mb;
	int i;

	for (i = 0; i < N_CLIENTS; i++) {
		struct fake *f = &fk[i];
		struct client *c = f->c;
		const struct rconf *cc;
		struct hub_client_info ci;
		unsigned int n = 0;

		if (!f->live)
			continue;
		live++;
		hub_client_info(c, &ci);
		cc = hub_client_conf(c);
		queued += ci.queued_bytes;
		CHECK("ring_bounds", ci.queued <= cc->send_ring_size);
		CHECK("ring_stalled", !ci.queued || ci.closing || f->writable);
		for (mb = ci.rooms; mb; mb = mb->cnext) {
			n++;
			CHECK("rooms_count", n <= cc->max_rooms_per_connection);
			for (k = 0; k < n_rooms && rooms[k] != mb->room; k++)
				;
			if (k == n_rooms && n_rooms < sizeof(rooms) / sizeof(rooms[0]))
				rooms[n_rooms++] = mb->room;
		}
		CHECK("rooms_count", n == ci.n_rooms);
		if (!cc->keyring)
			continue;
		CHECK("auth_gate", hub_auth_authed(c) || !ci.n_rooms);
		/* auth_gate above covers a member that never authenticated */
		for (mb = ci.rooms; mb && hub_auth_authed(c); mb = mb->cnext)
			CHECK("auth_rooms", auth_claims_may_join(c->auth.claims,
				mb->room->id, mb->room->id_len));
	}
	CHECK("stats_connections", rm_stats.connections_active == live);
	CHECK("stats_queued_bytes", rm_stats.queued_bytes == queued);
	/* with history on, rooms whose last member left are kept (counted) */
	CHECK("stats_rooms", rm_stats.rooms_active ==
			     n_rooms + rm_stats.history_rooms_kept);
	CHECK("queued_cap", !queued_cap || rm_stats.queued_bytes <= queued_cap);
}

/*
 * Sends @text as client @i's message; a 1007 answer closes it now.
 * PROTOCOL.md: "recovered":true means every missed message is replayed,
 * never a partial replay; so a join answered recovered:true must not
 * have had any of its replay dropped (replay_whole).
 */
static void
send_text(int i, const char *text, size_t len)
{
	struct client *c = fk[i].c;
	struct hub_client_info ci;
	unsigned int k0, k;
	uint64_t dropped0;
	int r;

	hub_client_info(c, &ci);
	k0 = ci.queued;
	dropped0 = ci.dropped_pending;
	if (trace)
		fprintf(stderr, "c%d <  %.*s\n", i, (int)len, text);
	r = hub_on_text(hub, c, text, len, now_ms);
	hub_client_info(c, &ci);
	if (trace && ci.dropped_pending != dropped0)
		fprintf(stderr, "c%d    (%llu dropped so far)\n", i,
			(unsigned long long)ci.dropped_pending);

	CHECK("close_code", r == 0 || r == HUB_CLOSE_INVALID_UTF8);
	if (r) {
		free_client(i);
		return;
	}
	if (ci.closing || ci.queued < k0)
		return;
	/*
	 * Whether this request dropped anything for @c: a `dropped` notice
	 * queued meanwhile took the pending count to 0 before counting on.
	 */
	for (k = k0; k < ci.queued; k++) {
		const struct msg *m = hub_client_peek(c, k);

		if (m->payload_len > 17 &&
		    !memcmp(msg_text(m), "{\"type\":\"dropped\"", 17))
			dropped0 = 0;
	}
	if (ci.dropped_pending <= dropped0)
		return;
	for (k = k0; k < ci.queued; k++) {
		const struct msg *m = hub_client_peek(c, k);

		if (m->payload_len > 16 && !memcmp(msg_text(m), "{\"type\":\"joined\"", 16))
			CHECK("replay_whole", !memmem(msg_text(m), m->payload_len,
					      "\"recovered\":true", 16));
	}
}

/* Appends a JSON content value chosen by the input to @b. */
static size_t
put_content(struct fz_in *in, char *b, size_t cap)
{
	uint8_t kind = fz_byte(in), n = fz_byte(in);
	size_t len = 0, k;

	switch (kind % 4) {
	case 0:
		len = (size_t)snprintf(b, cap, "%u", n);
		break;
	case 1:		/* a long string: exercises send-ring-bytes */
		b[len++] = '"';
		for (k = 0; k < (size_t)n * 4 && len < cap - 2; k++)
			b[len++] = 'x';
		b[len++] = '"';
		break;
	case 2:
		for (k = 0; k < n % 40; k++)
			b[len++] = '[';
		b[len++] = '1';
		for (k = 0; k < n % 40; k++)
			b[len++] = ']';
		break;
	default:
		len = (size_t)snprintf(b, cap, "{\"k\":[null,true,-1.5e3,\"\\u00e9\"]}");
	}
	return len;
}

static void
one_op(struct fz_in *in)
{
	uint8_t op = fz_byte(in), a = fz_byte(in);
	int i = (op >> 4) % N_CLIENTS;
	struct fake *f = &fk[i];
	char buf[1600];
	const uint8_t *raw;
	size_t len;
	const char *user;

	if (!f->live) {
		connect_client(i);
		return;
	}
	switch (op & 15) {
	case 14: {	/* join asking for recovery */
		uint8_t since = fz_byte(in), gen = fz_byte(in);

		len = (size_t)snprintf(buf, sizeof(buf), "{\"type\":\"join\","
			"\"room_id\":\"%s\",\"since\":%u,\"epoch\":\"%08x-%u\"}",
			room_names[a % N_ROOMS], since % 32,
			(unsigned int)(HUB_INSTANCE & 0xffffffffu), gen % 8);
		send_text(i, buf, len);
		break;
	}
	case 0:
		user = user_names[(a >> 3) % N_USERS];
		if (user)
			len = (size_t)snprintf(buf, sizeof(buf), "{\"type\":\"join\","
				"\"room_id\":\"%s\",\"user_id\":\"%s\"}",
				room_names[a % N_ROOMS], user);
		else
			len = (size_t)snprintf(buf, sizeof(buf), "{\"type\":\"join\","
				"\"room_id\":\"%s\"}", room_names[a % N_ROOMS]);
		send_text(i, buf, len);
		break;
	case 1:
		len = (size_t)snprintf(buf, sizeof(buf), "{\"type\":\"leave\","
			"\"room_id\":\"%s\"}", room_names[a % N_ROOMS]);
		send_text(i, buf, len);
		break;
	case 15: {
		uint8_t limit = fz_byte(in);

		len = (size_t)snprintf(buf, sizeof(buf), limit ?
			"{\"type\":\"history\",\"room_id\":\"%s\",\"limit\":%u}" :
			"{\"type\":\"history\",\"room_id\":\"%s\"}",
			room_names[a % N_ROOMS], limit);
		send_text(i, buf, len);
		break;
	}
	case 2:
	case 3:
		len = (size_t)snprintf(buf, sizeof(buf), "{\"type\":\"broadcast\","
			"\"room_id\":\"%s\",\"content\":", room_names[a % N_ROOMS]);
		len += put_content(in, buf + len, sizeof(buf) - len - 2);
		buf[len++] = '}';
		send_text(i, buf, len);
		break;
	case 4:
		if (a & 0x80) {
			len = auth_message(a, fz_byte(in), buf, sizeof(buf));
			send_text(i, buf, len);
			break;
		}
		if (a & 2)	/* v1.1 members, with an id */
			len = (size_t)snprintf(buf, sizeof(buf), "{\"type\":"
				"\"members\",\"room_id\":\"%s\",\"id\":%u}",
				room_names[a % N_ROOMS], a);
		else
			len = (size_t)snprintf(buf, sizeof(buf), a & 1 ?
				"{\"type\":\"ping\",\"id\":%u}" :
				"{\"type\":\"ping\"}", a);
		send_text(i, buf, len);
		break;
	case 5: {
		char to[80];
		int t = a % (N_USERS + 2);

		if (t == 0 || t == 1) {	/* a guest, by its conn id */
			struct fake *g = &fk[(i + 1 + t) % N_CLIENTS];

			snprintf(to, sizeof(to), "guest-%" PRIu64,
				 g->live ? conn_id_of(g->c) : (uint64_t)999);
		} else if (user_names[t - 2]) {
			snprintf(to, sizeof(to), "%s", user_names[t - 2]);
		} else {
			snprintf(to, sizeof(to), "nobody");
		}
		len = (size_t)snprintf(buf, sizeof(buf), "{\"type\":\"direct\","
			"\"to\":\"%s\",\"content\":", to);
		len += put_content(in, buf + len, sizeof(buf) - len - 2);
		buf[len++] = '}';
		send_text(i, buf, len);
		break;
	}
	case 6:	/* raw text: anything, as the transport reassembled it */
		len = fz_take(in, a, &raw);
		send_text(i, (const char *)raw, len);
		break;
	case 7:
		hub_on_binary(hub, f->c);
		break;
	case 8:
	case 9:
		drain(i, a % 6);
		break;
	case 10:
		now_ms += (int64_t)a * 10;
		for (i = 0; i < N_CLIENTS; i++)
			if (fk[i].live)
				hub_auth_sweep(hub, fk[i].c, now_ms,
					       wall0 + (time_t)(now_ms / 1000));
		break;
	case 11:	/* the transport carries out the closes asked for */
		for (i = 0; i < N_CLIENTS; i++)
			if (fk[i].live && fk[i].close_code)
				free_client(i);
		break;
	case 12:	/* the peer went away */
		free_client(i);
		break;
	case 13:
		if (a < 8)
			hub_close_all(hub, 1001);
		else
			drain(i, 6);
		break;
	}
}

static void
b64url(const unsigned char *in, size_t n, char *out)
{
	int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n), k;

	for (; len > 0 && out[len - 1] == '='; len--)
		out[len - 1] = '\0';
	for (k = 0; k < len; k++)
		out[k] = out[k] == '+' ? '-' : out[k] == '/' ? '_' : out[k];
}

/* Claims picked by @t: rooms/publish among the harness's room names. */
static const char *const rooms_claims[] = {
	"", ",\"rooms\":[]", ",\"rooms\":[\"r*\"]", ",\"rooms\":[\"*\"]",
};
static const char *const publish_claims[] = {
	"", ",\"publish\":[]", ",\"publish\":[\"r*\"]",
};

/* An auth message with a harness-signed HS256 token into @buf. */
static size_t
auth_message(uint8_t a, uint8_t t, char *buf, size_t size)
{
	char claims[400], jwt[1200], one[24];
	unsigned char mac[32];
	unsigned int maclen = sizeof(mac), k;
	const char *user = user_names[(a >> 3) % N_USERS];
	size_t n;

	/* rooms claims naming one harness room exactly, too */
	snprintf(one, sizeof(one), ",\"rooms\":[\"%s\"]",
		 t % N_ROOMS == 4 ? "a" : room_names[t % N_ROOMS]);
	snprintf(claims, sizeof(claims), "{\"sub\":\"%s\",\"exp\":%lld%s%s}",
		 user ? user : "anon", (long long)(time(NULL) + (a & 3)),
		 (t >> 4) % 5 == 4 ? one : rooms_claims[(t >> 4) % 5 % 4],
		 publish_claims[(t >> 2) % 3]);
	b64url((const unsigned char *)"{\"alg\":\"HS256\"}", 15, jwt);
	n = strlen(jwt);
	jwt[n++] = '.';
	b64url((const unsigned char *)claims, strlen(claims), jwt + n);
	HMAC(EVP_sha256(), AUTH_SECRET, (int)strlen(AUTH_SECRET),
	     (const unsigned char *)jwt, strlen(jwt), mac, &maclen);
	if (t == 255)
		for (k = 0; k < maclen; k++)
			mac[k] ^= 1;
	n = strlen(jwt);
	jwt[n++] = '.';
	b64url(mac, maclen, jwt + n);
	return (size_t)snprintf(buf, size, "{\"type\":\"auth\",\"id\":%u,"
				"\"token\":\"%s\"}", t, jwt);
}

static void
set(struct rconf *c, const char *name, const char *value)
{
	char err[128];

	if (rconf_set(c, name, value, err, sizeof(err)))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	uint8_t cfg = fz_byte(&in);
	unsigned int n_ops = 0;
	int i, k;

	stats_reset(0);
	now_ms = 0;
	for (k = 0; k < 2; k++) {
		/* client 2 gets the presence and drop settings flipped */
		int flip = k == 1 && (cfg & 0x40);

		if (k == 1 && (cfg & 0x80) && !(cfg & 0x20))
			flip = 1;

		rconf_init(&conf[k]);
		set(&conf[k], "send-ring-size", "4");
		set(&conf[k], "max-rooms-per-connection", "3");
		if (cfg & 1)
			set(&conf[k], "max-messages-per-second", "3");
		set(&conf[k], "drop-policy", !(cfg & 2) != !flip ? "close" : "drop");
		set(&conf[k], "presence-events", !(cfg & 4) != !flip ? "on" : "off");
		if (cfg & 0x10)
			set(&conf[k], "send-ring-bytes", "300");
		if (cfg & 0x20)
			set(&conf[k], "history-size", cfg & 0x80 ? "50" : "3");
		if (k == 1 && (cfg & 0xc0) == 0xc0) {
			char err[256];

			set(&conf[k], "auth-secret", AUTH_SECRET);
			set(&conf[k], "auth-timeout-s", "1");
			if (rconf_auth_load(&conf[k], err, sizeof(err)))
				abort();
		}
	}
	wall0 = time(NULL);
	hub = hub_create(&ops, HUB_INSTANCE);
	if (!hub)
		abort();
	{
		/* both vhosts give the same process-wide values, as they must */
		struct rconf_process po;
		char err[256];

		rconf_process_init(&po);
		for (k = 0; k < 2; k++)
			if (rconf_process_take(&po, &conf[k], k ? "b" : "a",
					       err, sizeof(err)))
				abort();
		hub_set_options(hub, &po);
	}
	/* the cap alone, varied per run (hub_set_max_queued_bytes) */
	queued_cap = cfg & 8 ? 1500 : 0;
	hub_set_max_queued_bytes(hub, queued_cap);
	memset(fk, 0, sizeof(fk));
	for (i = 0; i < N_CLIENTS; i++)
		connect_client(i);
	check_books();

	while (in.n && n_ops++ < MAX_OPS) {
		struct client *before[N_CLIENTS];
		uint64_t pending[N_CLIENTS];

		for (i = 0; i < N_CLIENTS; i++) {
			before[i] = fk[i].live ? fk[i].c : NULL;
			pending[i] = before[i] ? dropped_of(before[i]) : 0;
		}
		one_op(&in);
		for (i = 0; i < N_CLIENTS; i++) {
			struct fake *f = &fk[i];

			if (!f->live || f->c != before[i] ||
			    dropped_of(f->c) <= pending[i])
				continue;
			if (f->n_markers == sizeof(f->marker) / sizeof(f->marker[0]))
				f->notrack = 1;
			else
				f->marker[f->n_markers++] = f->written + hub_client_queued(f->c);
		}
		check_books();
	}

	for (i = 0; i < N_CLIENTS; i++)
		if (fk[i].live)
			free_client(i);
	CHECK("stats_connections", rm_stats.connections_active == 0);
	CHECK("stats_rooms", rm_stats.rooms_active ==
			     rm_stats.history_rooms_kept);
	CHECK("stats_queued_bytes", rm_stats.queued_bytes == 0);
	hub_destroy(hub);
	hub = NULL;
	rconf_free(&conf[0]);
	rconf_free(&conf[1]);
	return 0;
}
