/*
 * cluster.c: the hub's cluster hooks (hub.h) over the Redis bus (bus.h,
 * redis.c); PROTOCOL.md, Cluster over Redis.
 *
 * One path for every message: a broadcast is numbered and published by
 * one EVALSHA (bus_lua_publish) and reaches members here, the publishing
 * process included, through the room's channel, which this process
 * subscribes to while the room has local members. Redis orders a channel,
 * so members get a room's messages in seq order; bus_seen_judge() keeps
 * each at most once, and a gap (a reconnect) is caught up from the room's
 * stream or counted in `dropped` notices.
 *
 * An answer that comes from Redis (`joined`, `history`) keeps the order of
 * the connection's answers: the connection's input is paused (lws rx flow
 * control) until the answer is queued. A request holds its connection
 * through a `struct cclient`, which outlives a connection that closes in
 * between, and names its room by id, looked up again at the reply.
 */
#include "glue.h"
#include "cluster.h"

#include "guest_id.h"
#include "history.h"
#include "hub_api.h"
#include "msg.h"
#include "roster.h"
#include "rm_clock.h"
#include "stats.h"

#include <hiredis/hiredis.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Messages a room keeps of what it delivered, for joins that overlap. */
#define CLUSTER_RECENT 256
/* A node's member counts expire this long after its last refresh... */
#define CLUSTER_PRESENCE_TTL_MS 60000
/* ...which it refreshes this often (a third of it). */
#define CLUSTER_REFRESH_MS (CLUSTER_PRESENCE_TTL_MS / 3)
/*
 * Tests only (docs/CLUSTER.md, Testing): a shorter expiry, read once at
 * start, so a test can see a killed process's members go in seconds.
 */
#define CLUSTER_TEST_TTL_ENV "ROOMCAST_TEST_PRESENCE_TTL_MS"
/* A guest's process answers a direct or disconnect within this. */
#define CLUSTER_GUEST_REPLY_MS 3000
/* A room's numbering outlives its last message while it has members. */
#define CLUSTER_META_TTL_S 86400
/* A room's subscription is confirmed within this, or its joins fail. */
#define CLUSTER_SUBSCRIBE_MS 5000
/* Channels (un)subscribed in one command. */
#define CLUSTER_BATCH 512
/*
 * What a user channel carries for the API's disconnect: not JSON, so no
 * direct message (always a JSON object) can look like it.
 */
#define CLUSTER_DISCONNECT "!disconnect"

enum {
	SCRIPT_PUBLISH,
	SCRIPT_JOIN,
	SCRIPT_FETCH,
	SCRIPT_PRESENCE,
	SCRIPT_DIRECT,
	SCRIPT_MEMBERS,
	N_SCRIPTS
};

static const char *const scripts[N_SCRIPTS] = {
	bus_lua_publish,  bus_lua_join,	  bus_lua_fetch,
	bus_lua_presence, bus_lua_direct, bus_lua_members,
};

/* A connection as requests hold it: ->c is NULL once it has closed. */
struct cclient {
	struct client *c;
	unsigned int refs;		/* requests in flight */
	const struct room *joining;	/* its messages wait for `joined` */
	uint64_t skip_upto;		/* ...and those up to this seq */
	int paused;
};

/* A message that came while its room was being caught up. */
struct held {
	struct held *next;
	uint64_t seq;
	char epoch[BUS_EPOCH_MAX + 1];
	struct msg *m;
};

/* Room for any `id` the codec takes, as written. */
#define CLUSTER_ID_MAX CODEC_ID_TEXT_MAX

/* A request's `id` as codec_encode_* take it (none: a NULL text). */
#define REQ_ID(q) (&(struct codec_span){ (q)->id_len ? (q)->id : NULL, \
					 (q)->id_len })

struct creq {
	struct creq *next;		/* joins waiting for a subscription */
	struct cclient *cc;		/* NULL: no connection (fetch) */
	char ref[CODEC_REF_MAX + 1];	/* the request's type, for errors */
	/*
	 * The request's `id` as written, echoed in its answer (v1.1); one
	 * longer than this buffer (a huge integer) is not echoed.
	 */
	char id[CLUSTER_ID_MAX];
	size_t id_len;
	int64_t at;			/* made (ms) */
	int has_since, has_epoch;
	uint64_t since, limit;
	char epoch[BUS_EPOCH_MAX + 1];
	char room[CODEC_ROOM_MAX + 1];
};

/* A user with connections here (in C.users, room->data). */
struct cuser {
	struct room *entry;
	struct cuser *prev, *next;
};

/*
 * A direct or an API disconnect to a guest of another process, waiting
 * for that process's answer: for a member (q) or for the API (done).
 */
struct gpend {
	struct gpend *next;
	uintptr_t no; /* the request number it is sent with */
	int64_t at;
	struct creq *q;
	cluster_count_cb done;
	void *arg;
};

/* A room's cluster state (room->data). */
struct croom {
	struct room *room;
	struct croom *prev, *next;
	struct bus_seen seen;
	struct history recent;		/* seen.seq - count + 1 .. seen.seq */
	int subscribed, catching;
	int draining;			/* delivering what a catch-up held */
	int count_dirty;		/* members left: tell Redis at the tick */
	int users_dirty;		/* its users changed: list them then */
	unsigned int joining;		/* joins waiting for their answer */
	struct creq *waiting;
	struct held *held, **held_tail;
};

static struct {
	int on, stopping;
	char url[512], prefix[65], node[17];
	uint64_t epochs;
	struct lws_vhost *vh;
	unsigned int history_size;
	struct croom *rooms;
	/* user id -> this process's connection count (room->seq), listed */
	struct rooms *users;
	struct cuser *user_list;
	char **unsub;			/* channels to leave at the next tick */
	size_t n_unsub, cap_unsub;
	int64_t refresh_ms;
	int64_t ttl_ms, refresh_every_ms; /* presence expiry, refresh */
	/*
	 * This process's node number (bus.h): taken once, kept for the
	 * process's life, so its conn_ids never repeat, even across Redis
	 * reconnects. Its guests are reached through P:node:<nodenum>.
	 */
	uint64_t nodenum;
	char node_chan[BUS_NAME_MAX];
	struct gpend *gpend; /* guests' answers awaited */
	uintptr_t gno;	     /* their numbering */
} C;

/*---- small helpers ----*/

static size_t
chan_of(const char *room, char *buf, size_t len)
{
	int n = bus_name(buf, len, C.prefix, "room", room, strlen(room));

	return n < 0 ? 0 : (size_t)n;
}

/*
 * What Redis keeps a room's stream after its last message, and its
 * numbering after its last member left: history-ttl-s (process-wide,
 * default 300). At least 1 s: EXPIRE 0 would delete what was just
 * written, where a single process keeps a room while it is in use.
 */
static unsigned int
history_ttl_s(void)
{
	unsigned int t = glue_process_options()->history_ttl_s;

	return t ? t : 1;
}

static void
fresh_epoch(char *buf, size_t len)
{
	snprintf(buf, len, "%.8s-%" PRIu64, C.node, ++C.epochs);
}

static struct cclient *
cc_of(struct client *c)
{
	struct cclient *cc = hub_client_cluster(c);

	if (!cc) {
		cc = calloc(1, sizeof(*cc));
		if (!cc)
			return NULL;
		cc->c = c;
		hub_client_set_cluster(c, cc);
	}
	return cc;
}

static void
cc_put(struct cclient *cc)
{
	if (cc && !--cc->refs && !cc->c)
		free(cc);
}

/* @cc's messages in its joining room flow as for any member again. */
static void
cc_clear_joining(struct cclient *cc)
{
	if (!cc->joining)
		return;
	((struct croom *)cc->joining->data)->joining--;
	cc->joining = NULL;
}

/* Pauses or resumes @cc's input, keeping its answers in order. */
static void
cc_pause(struct cclient *cc, int on)
{
	if (!cc->c || cc->paused == on)
		return;
	cc->paused = on;
	lws_rx_flow_control(hub_client_owner(cc->c), !on);
}

static struct creq *
req_new(struct client *c, struct room *room, const struct codec_cmd *cmd)
{
	const char *ref = cmd ? cmd->type : NULL;
	struct creq *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	if (c) {
		q->cc = cc_of(c);
		if (!q->cc) {
			free(q);
			return NULL;
		}
		q->cc->refs++;
	}
	if (ref && strlen(ref) <= CODEC_REF_MAX)
		strcpy(q->ref, ref);
	if (cmd && cmd->id.len && cmd->id.len <= sizeof(q->id)) {
		memcpy(q->id, cmd->id.text, cmd->id.len);
		q->id_len = cmd->id.len;
	}
	q->at = rm_clock_ms();
	if (room)
		memcpy(q->room, room->id, room->id_len + 1);
	return q;
}

static void
req_free(struct creq *q)
{
	cc_put(q->cc);
	free(q);
}

static void
unavailable(struct creq *q)
{
	if (q->cc && q->cc->c)
		hub_send_error_ref(glue_hub, q->cc->c, RM_PE_UNAVAILABLE, "the "
			       "cluster's Redis cannot be reached",
			       q->ref[0] ? q->ref : NULL, REQ_ID(q));
}

/* Runs a script; @keys then @args. Returns 0 or -1 (down). */
static int
evalsha(int script, redis_reply_cb cb, void *arg, unsigned int nkeys,
	const char **kv, const size_t *kvlen, unsigned int n)
{
	const char *argv[16];
	size_t lens[16];
	char nk[8];
	unsigned int i;

	snprintf(nk, sizeof(nk), "%u", nkeys);
	argv[0] = "EVALSHA";
	argv[1] = redis_script_sha((unsigned int)script);
	argv[2] = nk;
	for (i = 0; i < 3; i++)
		lens[i] = strlen(argv[i]);
	for (i = 0; i < n; i++) {
		argv[3 + i] = kv[i];
		lens[3 + i] = kvlen ? kvlen[i] : strlen(kv[i]);
	}
	return redis_command(cb, arg, (int)(3 + n), argv, lens);
}

static int
reply_ok(const redisReply *r, size_t min_elements)
{
	return r && r->type == REDIS_REPLY_ARRAY && r->elements >= min_elements;
}

static uint64_t
reply_uint(const redisReply *r)
{
	return r->type == REDIS_REPLY_INTEGER && r->integer > 0
		? (uint64_t)r->integer : 0;
}

/* Queues @m (if not NULL) to @c and drops the caller's reference. */
static void
send_owned(struct client *c, struct msg *m)
{
	if (!m) {
		hub_client_lost(glue_hub, c, 1);
		return;
	}
	hub_send(glue_hub, c, m);
	msg_unref(m);
}

/*---- delivering ----*/

static void fan_out(struct croom *cr, struct msg *m, uint64_t seq);

/* The `epoch` notice (PROTOCOL.md, Rooms) to every member. */
static void
notify_epoch(struct croom *cr, const char *epoch, uint64_t seq)
{
	char buf[CODEC_ROOM_MAX + BUS_EPOCH_MAX + 96];
	int n = snprintf(buf, sizeof(buf), "{\"type\":\"epoch\",\"room_id\":"
			 "\"%s\",\"epoch\":\"%s\",\"seq\":%" PRIu64 "}",
			 cr->room->id, epoch, seq);
	struct msg *m = msg_from_text(buf, (size_t)n);

	if (!m)
		return;
	fan_out(cr, m, 0);
	msg_unref(m);
}

/* Fans @m (seq @seq) out; members whose `joined` is pending wait. */
static void
fan_out(struct croom *cr, struct msg *m, uint64_t seq)
{
	struct member *mb;

	if (!cr->joining) {
		hub_deliver(glue_hub, cr->room, m);
		return;
	}
	for (mb = cr->room->members; mb; mb = mb->rnext) {
		struct cclient *cc = hub_client_cluster(mb->client);

		if (cc && cc->joining == cr->room) {
			if (cc->paused || seq <= cc->skip_upto)
				continue;
			cc_clear_joining(cc);
		}
		hub_send(glue_hub, mb->client, m);
	}
}

/* Every member lost @n messages: `dropped` notices say so. */
static void
all_lost(struct croom *cr, uint64_t n)
{
	struct member *mb;

	for (mb = cr->room->members; mb; mb = mb->rnext)
		hub_client_lost(glue_hub, mb->client, n);
}

static void start_catch_up(struct croom *cr);
static void forget_user(struct cuser *u);
static void hold(struct croom *cr, uint64_t seq, const char *epoch,
		 size_t elen, const char *json, size_t jlen, struct msg *m);

/*
 * Delivers message @seq of @epoch (@json, or @m already made) as
 * bus_seen_judge() says.
 */
static void
take(struct croom *cr, uint64_t seq, const char *epoch, size_t elen,
     const char *json, size_t jlen, struct msg *m)
{
	switch (bus_seen_judge(&cr->seen, seq, epoch, elen)) {
	case BUS_DUPLICATE:
		return;
	case BUS_NEW_EPOCH:
		if (!cr->draining) {	/* replay the new numbering first */
			start_catch_up(cr);
			if (cr->catching) {
				hold(cr, seq, epoch, elen, json, jlen, m);
				return;
			}
		}
		history_clear(&cr->recent);
		bus_seen_take(&cr->seen, seq - 1, epoch, elen);
		notify_epoch(cr, cr->seen.epoch, seq - 1);
		break;
	case BUS_GAP:
		if (!cr->draining) {	/* a gap the stream may fill */
			start_catch_up(cr);
			if (cr->catching) {
				hold(cr, seq, epoch, elen, json, jlen, m);
				return;
			}
		}
		all_lost(cr, seq - cr->seen.seq - 1);
		history_clear(&cr->recent);
		break;
	case BUS_DELIVER:
		if (cr->seen.seq + 1 != seq)
			history_clear(&cr->recent);
		break;
	}
	if (m)
		msg_ref(m);
	else
		m = msg_from_text(json, jlen);
	bus_seen_take(&cr->seen, seq, epoch, elen);
	if (!m) {
		all_lost(cr, 1);
		history_clear(&cr->recent);
		return;
	}
	fan_out(cr, m, seq);
	history_push(&cr->recent, m);
	msg_unref(m);
}

/* Keeps a message that came during a catch-up. */
static void
hold(struct croom *cr, uint64_t seq, const char *epoch, size_t elen,
     const char *json, size_t jlen, struct msg *m)
{
	struct held *h = calloc(1, sizeof(*h));

	if (h)
		h->m = m ? msg_ref(m) : msg_from_text(json, jlen);
	if (!h || !h->m) {
		free(h);
		return;		/* counted as lost when the gap shows */
	}
	h->seq = seq;
	memcpy(h->epoch, epoch, elen);
	*cr->held_tail = h;
	cr->held_tail = &h->next;
}

static void
drain_held(struct croom *cr, int deliver)
{
	struct held *h;

	cr->draining = 1;
	while ((h = cr->held)) {
		cr->held = h->next;
		if (deliver)
			take(cr, h->seq, h->epoch, strlen(h->epoch), NULL, 0,
			     h->m);
		msg_unref(h->m);
		free(h);
	}
	cr->held_tail = &cr->held;
	cr->draining = 0;
}

static void on_user_message(const char *id, size_t id_len, const char *data,
			    size_t len);
static void take_presence(struct croom *cr, const char *origin, size_t olen,
			  const char *json, size_t jlen);
static void on_node_message(const char *data, size_t len);

/*
 * The kind of channel @chan is ("room" or "user") and where its id
 * starts; 0 for none of ours.
 */
static int
chan_kind(const char *chan, size_t len, const char *kind, size_t *id_at)
{
	size_t pl = strlen(C.prefix), kl = strlen(kind);

	if (len <= pl + kl + 2 || memcmp(chan, C.prefix, pl) ||
	    chan[pl] != ':' || memcmp(chan + pl + 1, kind, kl) ||
	    chan[pl + 1 + kl] != ':')
		return 0;
	*id_at = pl + kl + 2;
	return len - *id_at <= CODEC_ROOM_MAX;
}

void
cluster_on_message(const char *chan, size_t chan_len, const char *data,
		   size_t len)
{
	size_t pl;
	char id[CODEC_ROOM_MAX + 1];
	const char *epoch, *json;
	size_t elen, jlen;
	struct room *room;
	struct croom *cr;
	uint64_t seq;

	if (chan_kind(chan, chan_len, "user", &pl)) {
		on_user_message(chan + pl, chan_len - pl, data, len);
		return;
	}
	if (chan_len == strlen(C.node_chan) &&
	    !memcmp(chan, C.node_chan, chan_len)) {
		on_node_message(data, len);
		return;
	}
	if (!chan_kind(chan, chan_len, "room", &pl) ||
	    bus_unframe(data, len, &seq, &epoch, &elen, &json, &jlen))
		return;
	memcpy(id, chan + pl, chan_len - pl);
	id[chan_len - pl] = '\0';
	room = hub_room(glue_hub, id);
	if (!room || !(cr = room->data))
		return;
	if (!seq)
		take_presence(cr, epoch, elen, json, jlen);
	else if (cr->catching)
		hold(cr, seq, epoch, elen, json, jlen, NULL);
	else
		take(cr, seq, epoch, elen, json, jlen, NULL);
}

/*---- catching up after a gap or a reconnect ----*/

/* Delivers the msgs of a fetch or join reply from element @from on. */
static void
take_entries(struct croom *cr, const redisReply *r, size_t from,
	     uint64_t first, const char *epoch)
{
	size_t i;

	for (i = from; i < r->elements; i++)
		if (r->element[i]->type == REDIS_REPLY_STRING)
			take(cr, first + (i - from), epoch, strlen(epoch),
			     r->element[i]->str, r->element[i]->len, NULL);
}

static void
on_fetch(struct redisReply *r, void *arg)
{
	struct creq *q = arg;
	struct room *room = hub_room(glue_hub, q->room);
	struct croom *cr = room ? room->data : NULL;
	uint64_t seq, first;
	const char *epoch;

	if (!cr || !cr->catching)
		goto done;
	cr->catching = 0;
	if (!reply_ok(r, 3) || r->element[1]->type != REDIS_REPLY_STRING) {
		drain_held(cr, 0);	/* down: the reconnect catches up */
		goto done;
	}
	seq = reply_uint(r->element[0]);
	epoch = r->element[1]->str;
	first = reply_uint(r->element[2]);
	if (*epoch && strcmp(epoch, cr->seen.epoch)) {
		/*
		 * Redis lost the room's state: a new numbering, replayed from
		 * its start as far as the stream holds it; what it does not
		 * hold is counted.
		 */
		history_clear(&cr->recent);
		bus_seen_take(&cr->seen, first ? first - 1 : seq, epoch,
			      strlen(epoch));
		notify_epoch(cr, epoch, cr->seen.seq);
		all_lost(cr, cr->seen.seq);
	} else if (*epoch && seq > cr->seen.seq &&
		   (!first || first > cr->seen.seq + 1)) {
		/* what the stream no longer holds */
		all_lost(cr, (first ? first - 1 : seq) - cr->seen.seq);
		history_clear(&cr->recent);
		cr->seen.seq = first ? first - 1 : seq;
	}
	cr->draining = 1;
	if (*epoch && first)
		take_entries(cr, r, 3, first, epoch);
	drain_held(cr, 1);
done:
	req_free(q);
}

static void
start_catch_up(struct croom *cr)
{
	struct creq *q = req_new(NULL, cr->room, NULL);
	char meta[BUS_NAME_MAX], hist[BUS_NAME_MAX], since[24];
	const char *kv[4] = { meta, hist, since, cr->seen.epoch };

	if (!q || !cr->seen.epoch[0])
		goto bail;
	bus_name(meta, sizeof(meta), C.prefix, "meta", q->room,
		 strlen(q->room));
	bus_name(hist, sizeof(hist), C.prefix, "hist", q->room,
		 strlen(q->room));
	snprintf(since, sizeof(since), "%" PRIu64, cr->seen.seq);
	if (evalsha(SCRIPT_FETCH, on_fetch, q, 2, kv, NULL, 4))
		goto bail;
	cr->catching = 1;
	return;
bail:
	free(q);
}

/*---- joins ----*/

/* The joiner's answer is queued: its messages flow again. */
static void
join_done(struct croom *cr, struct cclient *cc, uint64_t seq, int same)
{
	cc_pause(cc, 0);
	if (!cr || cc->joining != cr->room)
		return;
	/* those up to seq are still coming (or another numbering's are) */
	if (!same || seq > cr->seen.seq) {
		cc->skip_upto = seq;
		return;
	}
	cc_clear_joining(cc);
}

/*
 * Whether the held messages in @r (from element 4, the first being seq
 * @first) are all of what the joiner missed since @q->since, and fit.
 */
static int
join_recovers(const struct creq *q, const redisReply *r, uint64_t seq,
	      const char *epoch, uint64_t first)
{
	uint64_t n = seq - q->since, i;
	size_t bytes = MSG_MAX_FRAME_HDR + 320;
	struct hub_client_info info;

	if (!q->has_since || !q->has_epoch || strcmp(q->epoch, epoch) ||
	    q->since > seq)
		return 0;
	if (!n)
		return 1;
	if (first != q->since + 1 || r->elements - 4 != n)
		return 0;
	hub_client_info(q->cc->c, &info);
	for (i = 0; i < n; i++)
		bytes += MSG_MAX_FRAME_HDR + r->element[4 + i]->len;
	return info.queued + 1 + n <= hub_client_conf(q->cc->c)->send_ring_size
	       && info.queued_bytes + bytes <=
		  hub_client_conf(q->cc->c)->send_ring_bytes;
}

/* Sends what the joiner missed of what this process delivered. */
static void
send_recent(struct croom *cr, struct client *c, uint64_t after)
{
	unsigned int i, n = cr->recent.count;
	uint64_t first = cr->seen.seq - n + 1;

	if (after + 1 < first && after < cr->seen.seq) {
		hub_client_lost(glue_hub, c, first - after - 1);
		after = first - 1;
	}
	for (i = 0; i < n; i++)
		if (first + i > after)
			hub_send(glue_hub, c, history_get(&cr->recent, i));
}

static void
on_join(struct redisReply *r, void *arg)
{
	struct creq *q = arg;
	struct cclient *cc = q->cc;
	struct room *room = hub_room(glue_hub, q->room);
	struct croom *cr = room ? room->data : NULL;
	char user[HUB_USER_ID_MAX];
	uint64_t seq, members, first, i;
	const char *epoch;
	int rec, same;

	if (!cc->c)
		goto done;
	if (!reply_ok(r, 4) || r->element[1]->type != REDIS_REPLY_STRING) {
		if (r && r->type == REDIS_REPLY_ERROR)
			lwsl_err("roomcast: redis: join: %s\n", r->str);
		join_done(cr, cc, 0, 1);
		unavailable(q);
		if (room)
			hub_client_leave_room(glue_hub, cc->c, room);
		goto done;
	}
	seq = reply_uint(r->element[0]);
	epoch = r->element[1]->str;
	members = reply_uint(r->element[2]);
	first = reply_uint(r->element[3]);
	same = cr && !strcmp(cr->seen.epoch, epoch);
	if (cr && !cr->seen.epoch[0]) {
		/* the first numbering this process learns of the room */
		bus_seen_take(&cr->seen, seq, epoch, strlen(epoch));
		same = 1;
	} else if (cr && !same && !cr->catching) {
		/*
		 * Redis lost the room's state and this join found the new
		 * numbering first: the members here are caught up to it (an
		 * `epoch` notice, then what the stream holds) as after a gap.
		 */
		start_catch_up(cr);
	}
	rec = q->has_since || q->has_epoch
		? join_recovers(q, r, seq, epoch, first) : -1;
	send_owned(cc->c, codec_encode_joined_ex(q->room,
		   hub_user_id(cc->c, user), members, seq, epoch, rec,
		   REQ_ID(q)));
	for (i = 0; rec == 1 && i < seq - q->since; i++) {
		struct msg *m = msg_from_text(r->element[4 + i]->str,
					      r->element[4 + i]->len);

		send_owned(cc->c, m);
	}
	/* a new member's held messages after its seq (one joining again
	 * got them as they came) */
	if (same && cc->joining == cr->room)
		send_recent(cr, cc->c, seq);
	join_done(cr, cc, seq, same);
done:
	req_free(q);
}

/* Runs the join script for @q (its room is subscribed). */
static void
run_join(struct creq *q)
{
	struct room *room = hub_room(glue_hub, q->room);
	char meta[BUS_NAME_MAX], hist[BUS_NAME_MAX], pres[BUS_NAME_MAX],
	     pexp[BUS_NAME_MAX], count[16], now[24], exp[24], fresh[64],
	     since[24], ttl[16];
	const char *kv[12] = { meta, hist, pres, pexp, C.node, count, now, exp,
			       fresh, since, q->has_epoch ? q->epoch : "",
			       ttl };
	size_t n = strlen(q->room);
	int64_t t = rm_clock_ms();

	bus_name(meta, sizeof(meta), C.prefix, "meta", q->room, n);
	bus_name(hist, sizeof(hist), C.prefix, "hist", q->room, n);
	bus_name(pres, sizeof(pres), C.prefix, "pres", q->room, n);
	bus_name(pexp, sizeof(pexp), C.prefix, "pexp", q->room, n);
	snprintf(count, sizeof(count), "%u", room ? room->n_members : 0);
	snprintf(now, sizeof(now), "%" PRId64, t);
	snprintf(exp, sizeof(exp), "%" PRId64, t + C.ttl_ms);
	fresh_epoch(fresh, sizeof(fresh));
	if (q->has_since)
		snprintf(since, sizeof(since), "%" PRIu64, q->since);
	else
		snprintf(since, sizeof(since), "-1");
	snprintf(ttl, sizeof(ttl), "%d", CLUSTER_META_TTL_S);
	if (evalsha(SCRIPT_JOIN, on_join, q, 4, kv, NULL, 12))
		on_join(NULL, q);
}

static void
cluster_join(void *arg, struct client *c, struct room *room,
	     const struct codec_cmd *cmd, int new_member)
{
	struct croom *cr = room->data;
	struct creq *q = req_new(c, room, cmd);

	if (!q) {
		hub_send_error_ref(glue_hub, c, RM_PE_OVERLOADED, "out of memory; "
				   "nothing was done", cmd->type, &cmd->id);
		return;
	}
	q->has_since = cmd->has_since;
	q->since = cmd->since;
	if (cmd->epoch && strlen(cmd->epoch) <= BUS_EPOCH_MAX) {
		q->has_epoch = 1;
		strcpy(q->epoch, cmd->epoch);
	} else if (cmd->epoch) {
		q->has_epoch = 1;	/* too long to be any epoch */
		strcpy(q->epoch, "-");
	}
	/*
	 * A new member's messages wait for its `joined` (those up to its seq
	 * are not its). A member joining again keeps getting every message.
	 */
	if (new_member)
		cr->users_dirty = 1; /* listed for `members` at the tick */
	if (new_member && q->cc->joining != room) {
		cc_clear_joining(q->cc);	/* an earlier join's tail */
		q->cc->joining = room;
		cr->joining++;
	}
	if (q->cc->joining == room)
		q->cc->skip_upto = UINT64_MAX;
	cc_pause(q->cc, 1);
	if (cr->subscribed) {
		run_join(q);
		return;
	}
	q->next = cr->waiting;
	cr->waiting = q;
}

/*---- broadcasts ----*/

static void
on_publish(struct redisReply *r, void *arg)
{
	struct creq *q = arg;

	/* success needs nothing: the message comes through the channel */
	if (!reply_ok(r, 2)) {
		if (r && r->type == REDIS_REPLY_ERROR)
			lwsl_err("roomcast: redis: publish: %s\n", r->str);
		unavailable(q);
	}
	req_free(q);
}

static void
cluster_publish(void *arg, struct client *c, struct room *room,
		const struct codec_cmd *cmd)
{
	char meta[BUS_NAME_MAX], hist[BUS_NAME_MAX], chan[BUS_NAME_MAX],
	     head[CODEC_ROOM_MAX + HUB_USER_ID_MAX + 80], user[HUB_USER_ID_MAX],
	     hsize[16], ttl[16], fresh[64], mttl[16];
	const char *kv[10] = { meta, hist, chan, "", head, cmd->content,
			       hsize, ttl, fresh, mttl };
	size_t lens[10];
	struct creq *q;
	unsigned int i;

	if (!redis_is_up()) {
		hub_send_error_ref(glue_hub, c, RM_PE_UNAVAILABLE, "the cluster's "
			       "Redis cannot be reached", cmd->type, &cmd->id);
		return;
	}
	q = req_new(c, room, cmd);
	if (!q) {
		hub_send_error_ref(glue_hub, c, RM_PE_OVERLOADED, "out of memory; "
				   "nothing was done", cmd->type, &cmd->id);
		return;
	}
	bus_name(meta, sizeof(meta), C.prefix, "meta", room->id, room->id_len);
	bus_name(hist, sizeof(hist), C.prefix, "hist", room->id, room->id_len);
	chan_of(room->id, chan, sizeof(chan));
	/* codec_encode_broadcast()'s text up to the seq, which Redis gives */
	snprintf(head, sizeof(head), "{\"type\":\"broadcast\",\"room_id\":"
		 "\"%s\",\"sender\":\"%s\",\"seq\":", room->id,
		 hub_user_id(c, user));
	snprintf(hsize, sizeof(hsize), "%u", C.history_size);
	snprintf(ttl, sizeof(ttl), "%u", history_ttl_s());
	fresh_epoch(fresh, sizeof(fresh));
	snprintf(mttl, sizeof(mttl), "%d", CLUSTER_META_TTL_S);
	for (i = 0; i < 10; i++)	/* the content is not NUL-ended */
		lens[i] = i == 5 ? cmd->content_len : strlen(kv[i]);
	if (evalsha(SCRIPT_PUBLISH, on_publish, q, 4, kv, lens, 10))
		on_publish(NULL, q);
}

/*---- history ----*/

static void
on_history(struct redisReply *r, void *arg)
{
	struct creq *q = arg;
	struct client *c = q->cc->c;
	struct msg *picked[256], **msgs = picked;
	size_t bytes = 0, i, n = 0;

	if (!c)
		goto done;
	cc_pause(q->cc, 0);
	if (!r || r->type != REDIS_REPLY_ARRAY) {
		unavailable(q);
		goto done;
	}
	if (r->elements > 256)
		msgs = calloc(r->elements, sizeof(*msgs));
	if (!msgs) {
		hub_client_lost(glue_hub, c, 1);
		goto done;
	}
	/* newest first, as many as fit in send-ring-bytes */
	for (i = 0; i < r->elements; i++) {
		redisReply *e = r->element[i], *d;

		if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
		    e->element[1]->elements < 2)
			continue;
		d = e->element[1]->element[1];
		if (bytes + d->len + 1 > hub_client_conf(c)->send_ring_bytes)
			break;
		msgs[n] = msg_from_text(d->str, d->len);
		if (!msgs[n])
			break;
		bytes += d->len + 1;
		n++;
	}
	for (i = 0; i < n / 2; i++) {
		struct msg *t = msgs[i];

		msgs[i] = msgs[n - 1 - i];
		msgs[n - 1 - i] = t;
	}
	send_owned(c, codec_encode_history(q->room, msgs, (unsigned int)n,
					   REQ_ID(q)));
	for (i = 0; i < n; i++)
		msg_unref(msgs[i]);
	if (msgs != picked)
		free(msgs);
done:
	req_free(q);
}

static void
cluster_history(void *arg, struct client *c, struct room *room,
		const struct codec_cmd *cmd)
{
	uint64_t want = cmd->limit ? cmd->limit : 100;
	char hist[BUS_NAME_MAX], count[24];
	const char *argv[6] = { "XREVRANGE", hist, "+", "-", "COUNT", count };
	struct creq *q;

	if (!redis_is_up()) {
		hub_send_error_ref(glue_hub, c, RM_PE_UNAVAILABLE, "the cluster's "
			       "Redis cannot be reached", cmd->type, &cmd->id);
		return;
	}
	if (want > C.history_size)
		want = C.history_size;
	if (!want) {
		send_owned(c, codec_encode_history(room->id, NULL, 0,
						   &cmd->id));
		return;
	}
	q = req_new(c, room, cmd);
	if (!q) {
		hub_client_lost(glue_hub, c, 1);
		return;
	}
	bus_name(hist, sizeof(hist), C.prefix, "hist", room->id, room->id_len);
	snprintf(count, sizeof(count), "%" PRIu64, want);
	cc_pause(q->cc, 1);
	if (redis_command(on_history, q, 6, argv, NULL))
		on_history(NULL, q);
}

/*---- members across processes ----*/

/* Runs the members script for room @id; the reply goes to @cb(@arg). */
static int
members_script(const char *id, redis_reply_cb cb, void *arg)
{
	char meta[BUS_NAME_MAX], pres[BUS_NAME_MAX], pexp[BUS_NAME_MAX],
		ulist[BUS_NAME_MAX], now[24];
	const char *kv[6] = { meta, pres, pexp, ulist, now, C.node };
	size_t n = strlen(id);

	bus_name(meta, sizeof(meta), C.prefix, "meta", id, n);
	bus_name(pres, sizeof(pres), C.prefix, "pres", id, n);
	bus_name(pexp, sizeof(pexp), C.prefix, "pexp", id, n);
	bus_name(ulist, sizeof(ulist), C.prefix, "ulist", id, n);
	snprintf(now, sizeof(now), "%" PRId64, rm_clock_ms());
	return evalsha(SCRIPT_MEMBERS, cb, arg, 4, kv, NULL, 6);
}

/*
 * The `members` answer of room @id from the members script's reply @r:
 * this process's own users (fresh, from memory) and the other processes'
 * lists. NULL on OOM.
 */
static struct msg *
members_of(const char *id, const redisReply *r, const struct codec_span *rid,
	   size_t max_bytes)
{
	struct room *room = hub_room(glue_hub, id);
	size_t n = 0, i, *lens = calloc(r->elements + 1, sizeof(*lens));
	char **lists = calloc(r->elements + 1, sizeof(*lists)), *own = NULL;
	struct msg *m = NULL;

	if (!lens || !lists)
		goto out;
	if (room && room->n_members && !(own = roster_list(room, &lens[0])))
		goto out;
	if (own)
		lists[n++] = own;
	for (i = 3; i < r->elements; i++)
		if (r->element[i]->type == REDIS_REPLY_STRING) {
			lists[n] = r->element[i]->str;
			lens[n++] = r->element[i]->len;
		}
	m = roster_encode_merged(id, reply_uint(r->element[0]), lists, lens,
				 (unsigned int)n, rid, max_bytes);
out:
	free(own);
	free(lists);
	free(lens);
	return m;
}

static void
on_members(struct redisReply *r, void *arg)
{
	struct creq *q = arg;
	struct client *c = q->cc->c;

	if (!c)
		goto done;
	cc_pause(q->cc, 0);
	if (!reply_ok(r, 3))
		unavailable(q);
	else
		send_owned(c, members_of(q->room, r, REQ_ID(q),
					 hub_client_conf(c)->send_ring_bytes));
done:
	req_free(q);
}

static void
cluster_members(void *arg, struct client *c, struct room *room,
		const struct codec_cmd *cmd)
{
	struct creq *q;

	if (!redis_is_up()) {
		hub_send_error_ref(glue_hub, c, RM_PE_UNAVAILABLE,
				   "the cluster's "
				   "Redis cannot be reached",
				   cmd->type, &cmd->id);
		return;
	}
	q = req_new(c, room, cmd);
	if (!q) {
		hub_client_lost(glue_hub, c, 1);
		return;
	}
	cc_pause(q->cc, 1); /* its answer keeps its place in order */
	if (members_script(room->id, on_members, q))
		on_members(NULL, q);
}

/*---- presence counts ----*/

static void
on_presence(struct redisReply *r, void *arg)
{
}

/*
 * Tells Redis this node has @count member connections in room @id, and,
 * with @users_of (the room), which users (for `members`).
 */
static void
set_count(const char *id, unsigned int count, const struct room *users_of)
{
	char meta[BUS_NAME_MAX], pres[BUS_NAME_MAX], pexp[BUS_NAME_MAX],
		ulist[BUS_NAME_MAX], cnt[16], now[24], exp[24], keep[16],
		*users = NULL;
	const char *kv[10] = { meta, pres, pexp, ulist, C.node,
			       cnt,  now,  exp,	 keep,	"" };
	size_t n = strlen(id), ulen = 0;
	int64_t t = rm_clock_ms();

	if (!redis_is_up())
		return;		/* the refresh after the reconnect says it */
	bus_name(meta, sizeof(meta), C.prefix, "meta", id, n);
	bus_name(pres, sizeof(pres), C.prefix, "pres", id, n);
	bus_name(pexp, sizeof(pexp), C.prefix, "pexp", id, n);
	bus_name(ulist, sizeof(ulist), C.prefix, "ulist", id, n);
	snprintf(cnt, sizeof(cnt), "%u", count);
	snprintf(now, sizeof(now), "%" PRId64, t);
	snprintf(exp, sizeof(exp), "%" PRId64, t + C.ttl_ms);
	snprintf(keep, sizeof(keep), "%u",
		 C.history_size ? history_ttl_s() : 0);
	/* OOM: the list stays as it was until the next refresh */
	if (users_of && count && (users = roster_list(users_of, &ulen)))
		kv[9] = users;
	evalsha(SCRIPT_PRESENCE, on_presence, NULL, 4, kv, NULL, 10);
	free(users);
}

static void
cluster_left(void *arg, struct client *c, struct room *room)
{
	struct cclient *cc = hub_client_cluster(c);

	if (cc && cc->joining == room)
		cc_clear_joining(cc);
	/*
	 * A `leave` is counted at once (the next `joined` anywhere sees
	 * it). A closing connection's is sent at the next tick, once for all
	 * of the room's closes: a mass disconnect is then one script per
	 * room, not one per connection (it made Redis look dead for 2 s at
	 * 50,000 connections). A room left empty is told at once, by
	 * cluster_room_free.
	 */
	if (!hub_client_closing(c))
		set_count(room->id, room->n_members - 1, NULL);
	else if (room->data)
		((struct croom *)room->data)->count_dirty = 1;
	/* its users are listed at the tick, once it is out of the room */
	if (room->data)
		((struct croom *)room->data)->users_dirty = 1;
}

static void
cluster_client_free(void *arg, struct client *c)
{
	struct cclient *cc = hub_client_cluster(c);

	if (!cc)
		return;
	cc_clear_joining(cc);
	hub_client_set_cluster(c, NULL);
	cc->c = NULL;
	cc->paused = 0;
	if (!cc->refs)
		free(cc);
}

static int
cluster_up(void *arg)
{
	return redis_is_up();
}

/*---- subscriptions on demand ----*/

/* Takes @chan off the leave list; returns 1 if it was on it. */
static int
unsub_cancel(const char *chan)
{
	size_t i;

	for (i = 0; i < C.n_unsub; i++)
		if (!strcmp(C.unsub[i], chan)) {
			free(C.unsub[i]);
			C.unsub[i] = C.unsub[--C.n_unsub];
			return 1;
		}
	return 0;
}

/*
 * Our policy for leaving a channel: not at once but at the next tick, in
 * one UNSUBSCRIBE for all, so a room that empties and fills again (a
 * client reconnecting) keeps its subscription.
 */
static void
unsub_later(const char *chan)
{
	char **u;

	if (C.n_unsub == C.cap_unsub) {
		size_t cap = C.cap_unsub ? C.cap_unsub * 2 : 64;

		u = realloc(C.unsub, cap * sizeof(*u));
		if (!u)
			return;	/* stays subscribed; messages are ignored */
		C.unsub = u;
		C.cap_unsub = cap;
	}
	C.unsub[C.n_unsub] = strdup(chan);
	if (C.unsub[C.n_unsub])
		C.n_unsub++;
}

static void
unsub_flush(void)
{
	const char *chans[CLUSTER_BATCH];
	size_t lens[CLUSTER_BATCH], i, n;

	while (C.n_unsub) {
		n = C.n_unsub < CLUSTER_BATCH ? C.n_unsub : CLUSTER_BATCH;
		for (i = 0; i < n; i++) {
			chans[i] = C.unsub[C.n_unsub - n + i];
			lens[i] = strlen(chans[i]);
		}
		redis_subscribe(0, (unsigned int)n, chans, lens);
		for (i = 0; i < n; i++)
			free(C.unsub[C.n_unsub - n + i]);
		C.n_unsub -= n;
	}
}

static void
subscribe_one(struct croom *cr)
{
	char chan[BUS_NAME_MAX];
	const char *p = chan;
	size_t len = chan_of(cr->room->id, chan, sizeof(chan));

	if (unsub_cancel(chan))
		cr->subscribed = 1;	/* never left */
	else
		redis_subscribe(1, 1, &p, &len);
}

void
cluster_on_subscribed(const char *chan, size_t len)
{
	size_t pl;
	char id[CODEC_ROOM_MAX + 1];
	struct room *room;
	struct croom *cr;
	struct creq *q;

	if (!chan_kind(chan, len, "room", &pl))
		return;
	memcpy(id, chan + pl, len - pl);
	id[len - pl] = '\0';
	room = hub_room(glue_hub, id);
	if (!room || !(cr = room->data) || cr->subscribed)
		return;
	cr->subscribed = 1;
	if (cr->seen.epoch[0] && !cr->catching)
		start_catch_up(cr);	/* what went by while away */
	while ((q = cr->waiting)) {
		cr->waiting = q->next;
		run_join(q);
	}
}

static void *
cluster_room_new(void *arg, struct room *room)
{
	struct croom *cr = calloc(1, sizeof(*cr));

	if (!cr)
		return NULL;
	cr->room = room;
	cr->held_tail = &cr->held;
	history_init(&cr->recent, CLUSTER_RECENT);
	cr->next = C.rooms;
	if (C.rooms)
		C.rooms->prev = cr;
	C.rooms = cr;
	room->data = cr;
	if (redis_is_up())
		subscribe_one(cr);
	return cr;
}

/*
 * Fails joins that waited for their rooms' subscriptions: `unavailable`,
 * and the membership the hub gave them goes. @list was detached from its
 * rooms first: a leave may free a room (and its croom).
 */
static void
fail_joins(struct creq *list)
{
	struct creq *q;
	struct room *room;

	while ((q = list)) {
		list = q->next;
		if (q->cc->c) {
			cc_pause(q->cc, 0);
			unavailable(q);
			room = hub_room(glue_hub, q->room);
			if (room)
				hub_client_leave_room(glue_hub, q->cc->c, room);
		}
		req_free(q);
	}
}

/* Appends @cr's waiting joins to *@list and empties it. */
static void
detach_waiting(struct croom *cr, struct creq **list)
{
	struct creq *q = cr->waiting, *last = q;

	if (!q)
		return;
	while (last->next)
		last = last->next;
	last->next = *list;
	*list = q;
	cr->waiting = NULL;
}

static void
cluster_room_free(struct room *room)
{
	struct croom *cr = room->data;
	char chan[BUS_NAME_MAX];
	struct creq *q;

	if (!cr)
		return;
	if (cr->prev)
		cr->prev->next = cr->next;
	else
		C.rooms = cr->next;
	if (cr->next)
		cr->next->prev = cr->prev;
	/* an empty room has no joiner waiting (they are members) */
	while ((q = cr->waiting)) {
		cr->waiting = q->next;
		req_free(q);
	}
	drain_held(cr, 0);
	history_clear(&cr->recent);
	if (!C.stopping && redis_is_up()) {
		set_count(room->id, 0, NULL);
		chan_of(room->id, chan, sizeof(chan));
		unsub_later(chan);
	}
	free(cr);
	room->data = NULL;
}

/*---- users: directs and no_such_user across processes ----*/

static void
forget_user(struct cuser *u)
{
	struct room *e = u->entry;

	if (u->prev)
		u->prev->next = u->next;
	else
		C.user_list = u->next;
	if (u->next)
		u->next->prev = u->prev;
	free(u);
	e->data = NULL;
	rooms_free_if_empty(C.users, e);
}

/* Tells Redis this node's count of @id's connections (kind upres). */
static void
set_user_count(const char *id, unsigned int count)
{
	char meta[BUS_NAME_MAX], pres[BUS_NAME_MAX], pexp[BUS_NAME_MAX],
	     cnt[16], now[24], exp[24];
	const char *kv[8] = { meta, pres, pexp, C.node, cnt, now, exp, "0" };
	size_t n = strlen(id);
	int64_t t = rm_clock_ms();

	if (!redis_is_up())
		return;
	bus_name(meta, sizeof(meta), C.prefix, "umeta", id, n);
	bus_name(pres, sizeof(pres), C.prefix, "upres", id, n);
	bus_name(pexp, sizeof(pexp), C.prefix, "uexp", id, n);
	snprintf(cnt, sizeof(cnt), "%u", count);
	snprintf(now, sizeof(now), "%" PRId64, t);
	snprintf(exp, sizeof(exp), "%" PRId64, t + C.ttl_ms);
	evalsha(SCRIPT_PRESENCE, on_presence, NULL, 3, kv, NULL, 8);
}

static void
sub_user(const char *id, int on)
{
	char chan[BUS_NAME_MAX];
	const char *p = chan;
	size_t len;
	int n = bus_name(chan, sizeof(chan), C.prefix, "user", id, strlen(id));

	if (n < 0 || !redis_is_up())
		return;
	len = (size_t)n;
	if (!on)
		unsub_later(chan);
	else if (!unsub_cancel(chan))
		redis_subscribe(1, 1, &p, &len);
}

static void
cluster_user(void *arg, const char *id, unsigned int count)
{
	struct room *e = rooms_get_or_create(C.users, id, strlen(id));
	struct cuser *u;

	if (!e)
		return;		/* out of memory: not reachable from afar */
	u = e->data;
	if (!u && count) {
		u = calloc(1, sizeof(*u));
		if (!u) {
			rooms_free_if_empty(C.users, e);
			return;
		}
		u->entry = e;
		e->data = u;
		u->next = C.user_list;
		if (C.user_list)
			C.user_list->prev = u;
		C.user_list = u;
		sub_user(id, 1);
	}
	if (!u)
		return;
	e->seq = count;
	set_user_count(id, count);
	if (!count) {
		sub_user(id, 0);
		forget_user(u);
	}
}

/* A message on P:user:U: "<conn_id>:<node>:<json>". */
static void
on_user_message(const char *id, size_t id_len, const char *data, size_t len)
{
	const char *node, *json;
	size_t nlen, jlen;
	uint64_t except;
	struct msg *m;

	if (bus_unframe(data, len, &except, &node, &nlen, &json, &jlen))
		return;
	if (nlen != strlen(C.node) || memcmp(node, C.node, nlen))
		except = 0;	/* the sender is elsewhere */
	if (jlen == strlen(CLUSTER_DISCONNECT) &&
	    !memcmp(json, CLUSTER_DISCONNECT, jlen)) {
		char user[HUB_USER_ID_MAX]; /* the API's disconnect */

		if (id_len < sizeof(user)) {
			memcpy(user, id, id_len);
			user[id_len] = '\0';
			hub_api_disconnect(glue_hub, user);
		}
		return;
	}
	m = msg_from_text(json, jlen);
	if (!m)
		return;
	hub_deliver_direct(glue_hub, id, id_len, m, except);
	msg_unref(m);
}

/*---- guests of other processes: through their node's channel ----*/

/*
 * A guest has no Redis presence (an idle connection costs nothing
 * there), so only its process knows whether it is connected: a direct or
 * a disconnect goes on that process's channel P:node:<n> alone, and the
 * process answers on the sender's with the count it reached. PUBLISH
 * reaching no subscriber means no process has node <n>: no one.
 */

static void
gpend_finish(struct gpend *p, int err, uint64_t n)
{
	struct gpend **pp;

	for (pp = &C.gpend; *pp && *pp != p; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = p->next;
	if (!p->q) {
		p->done(p->arg, err ? -1 : 0, n);
	} else {
		if (err)
			unavailable(p->q);
		else if (!n && p->q->cc->c)
			hub_send_error_ref(glue_hub, p->q->cc->c,
					   RM_PE_NO_SUCH_USER,
					   "no connection "
					   "of this user is connected",
					   p->q->ref[0] ? p->q->ref : NULL,
					   REQ_ID(p->q));
		if (p->q->cc->c)
			cc_pause(p->q->cc, 0);
		req_free(p->q);
	}
	free(p);
}

static struct gpend *
gpend_find(uintptr_t no)
{
	struct gpend *p;

	for (p = C.gpend; p && p->no != no; p = p->next)
		;
	return p;
}

/* Fails every awaited answer (Redis down, or stopping). */
static void
gpend_fail_all(void)
{
	while (C.gpend)
		gpend_finish(C.gpend, 1, 0);
}

/* Answers not come in time: the guest's process may have died meanwhile. */
static void
gpend_expire(int64_t now)
{
	struct gpend *p = C.gpend, *next;

	for (; p; p = next) {
		next = p->next;
		if (now - p->at > CLUSTER_GUEST_REPLY_MS)
			gpend_finish(p, 1, 0);
	}
}

static void
on_guest_published(struct redisReply *r, void *arg)
{
	struct gpend *p = gpend_find((uintptr_t)arg);

	if (!p)
		return; /* answered already */
	if (!r || r->type != REDIS_REPLY_INTEGER)
		gpend_finish(p, 1, 0);
	else if (!r->integer)
		gpend_finish(p, 0, 0); /* no process is that node */
}

/* PUBLISHes @frame (@len bytes) on node @node's channel; @cb as redis's. */
static int
node_publish(uint64_t node, const char *frame, size_t len, redis_reply_cb cb,
	     void *arg)
{
	char chan[BUS_NAME_MAX];
	const char *argv[3] = { "PUBLISH", chan, frame };
	size_t lens[3];
	int n = snprintf(chan, sizeof(chan), "%s:node:%" PRIu64, C.prefix,
			 node);

	if (n < 0 || (size_t)n >= sizeof(chan))
		return -1;
	lens[0] = 7;
	lens[1] = (size_t)n;
	lens[2] = len;
	return redis_command(cb, arg, 3, argv, lens);
}

/*
 * Sends @kind ('d' a direct of @payload, 'x' a disconnect) to guest
 * @conn_id's process; its answer finishes @q (a member's direct, whose
 * input stays paused meanwhile) or calls @done. Returns 0, or -1 (down or
 * out of memory: nothing is called).
 */
static int
to_guest(uint64_t conn_id, char kind, const char *payload, size_t plen,
	 struct creq *q, cluster_count_cb done, void *arg)
{
	struct gpend *p = calloc(1, sizeof(*p));
	char tag[48], *frame = malloc(plen + 96);
	int n;

	if (!p || !frame || !redis_is_up())
		goto bail;
	snprintf(tag, sizeof(tag), "%c%" PRIu64 ".%" PRIu64, kind, C.nodenum,
		 conn_id);
	p->no = ++C.gno;
	n = bus_frame(frame, plen + 96, p->no, tag, payload, plen);
	if (n < 0 || node_publish(bus_node_of(conn_id), frame, (size_t)n,
				  on_guest_published, (void *)p->no))
		goto bail;
	p->at = rm_clock_ms();
	p->q = q;
	p->done = done;
	p->arg = arg;
	p->next = C.gpend;
	C.gpend = p;
	if (q)
		cc_pause(q->cc, 1); /* no_such_user keeps its place */
	free(frame);
	return 0;
bail:
	free(frame);
	free(p);
	return -1;
}

/* A request on this node's channel, for guest @conn_id: done, answered. */
static void
guest_request(uintptr_t no, char kind, uint64_t from, uint64_t conn_id,
	      const char *json, size_t jlen)
{
	char guest[HUB_USER_ID_MAX], frame[64];
	struct msg *m;
	int n = 0;

	if (bus_node_of(conn_id) != C.nodenum)
		return; /* not ours: no answer, the sender times out */
	snprintf(guest, sizeof(guest), "guest-%" PRIu64, conn_id);
	if (kind == 'x') {
		n = (int)hub_api_disconnect(glue_hub, guest);
	} else if ((m = msg_from_text(json, jlen))) {
		/* the sender is elsewhere: no connection here to skip */
		n = hub_deliver_direct(glue_hub, guest, strlen(guest), m, 0);
		msg_unref(m);
	}
	snprintf(guest, sizeof(guest), "%d", n < 0 ? 0 : n);
	n = bus_frame(frame, sizeof(frame), no, "r", guest, strlen(guest));
	if (n > 0)
		node_publish(from, frame, (size_t)n, NULL, NULL);
}

/* A message on P:node:<this node>: a request for a guest, or an answer. */
static void
on_node_message(const char *data, size_t len)
{
	const char *tag, *json, *p;
	size_t tlen, jlen;
	uint64_t no, from = 0, conn_id = 0, n = 0;
	struct gpend *g;
	char kind;

	if (bus_unframe(data, len, &no, &tag, &tlen, &json, &jlen) ||
	    bus_node_tag(tag, tlen, &kind, &from, &conn_id) || no > UINTPTR_MAX)
		return;
	if (kind != 'r') {
		guest_request((uintptr_t)no, kind, from, conn_id, json, jlen);
		return;
	}
	for (p = json; p < json + jlen && *p >= '0' && *p <= '9' && n < 1000000;
	     p++)
		n = n * 10 + (uint64_t)(*p - '0');
	g = gpend_find((uintptr_t)no);
	if (g)
		gpend_finish(g, 0, n);
}

int
cluster_guest_here(const char *user)
{
	uint64_t conn_id;

	if (guest_id_parse(user, strlen(user), &conn_id))
		return !strncmp(user, "guest-", 6);
	return bus_node_of(conn_id) == C.nodenum || !bus_node_of(conn_id);
}

static void
on_direct(struct redisReply *r, void *arg)
{
	struct creq *q = arg;

	if (!r || r->type != REDIS_REPLY_INTEGER)
		unavailable(q);
	else if (!r->integer && q->cc->c)
		hub_send_error_ref(glue_hub, q->cc->c, RM_PE_NO_SUCH_USER, "no "
			       "connection of this user is connected",
			       q->ref[0] ? q->ref : NULL, REQ_ID(q));
	if (q->cc->c)
		cc_pause(q->cc, 0);
	req_free(q);
}

/*
 * A member's direct @m to a guest id: through its node's channel when the
 * guest is another process's, else served here (this process's guest, or
 * a "guest-" text no process writes: no_such_user).
 */
static void
direct_to_guest(struct client *c, const struct codec_cmd *cmd, struct msg *m)
{
	struct creq *q;
	uint64_t gid;

	if (!guest_id_parse(cmd->to, cmd->to_len, &gid) && bus_node_of(gid) &&
	    bus_node_of(gid) != C.nodenum) {
		q = req_new(c, NULL, cmd);
		if (!q) {
			hub_client_lost(glue_hub, c, 1);
		} else if (to_guest(gid, 'd', msg_text(m), m->payload_len, q,
				    NULL, NULL)) {
			unavailable(q);
			req_free(q);
		}
		return;
	}
	if (hub_deliver_direct(glue_hub, cmd->to, cmd->to_len, m,
			       hub_client_id(c)) < 0)
		hub_send_error_ref(glue_hub, c, RM_PE_NO_SUCH_USER,
				   "no connection of this user is connected",
				   cmd->type, &cmd->id);
}

static void
cluster_direct(void *arg, struct client *c, const struct codec_cmd *cmd)
{
	char upres[BUS_NAME_MAX], uexp[BUS_NAME_MAX], chan[BUS_NAME_MAX],
	     now[24], from[HUB_USER_ID_MAX], *frame;
	const char *kv[5] = { upres, uexp, chan, now, NULL };
	size_t lens[5], i;
	struct msg *m = codec_encode_direct(hub_user_id(c, from), cmd->content,
					    cmd->content_len);
	struct creq *q;
	int n;

	if (!m) {
		hub_client_lost(glue_hub, c, 1);
		return;
	}
	if (cmd->to_len > 6 && !memcmp(cmd->to, "guest-", 6)) {
		direct_to_guest(c, cmd, m);
		msg_unref(m);
		return;
	}
	frame = malloc(m->payload_len + 64);
	q = frame ? req_new(c, NULL, cmd) : NULL;
	n = q ? bus_frame(frame, m->payload_len + 64, hub_client_id(c), C.node,
			  msg_text(m), m->payload_len) : -1;
	msg_unref(m);
	if (n < 0) {
		free(frame);
		if (q)
			req_free(q);
		hub_client_lost(glue_hub, c, 1);
		return;
	}
	bus_name(upres, sizeof(upres), C.prefix, "upres", cmd->to, cmd->to_len);
	bus_name(uexp, sizeof(uexp), C.prefix, "uexp", cmd->to, cmd->to_len);
	bus_name(chan, sizeof(chan), C.prefix, "user", cmd->to, cmd->to_len);
	snprintf(now, sizeof(now), "%" PRId64, rm_clock_ms());
	kv[4] = frame;
	for (i = 0; i < 4; i++)
		lens[i] = strlen(kv[i]);
	lens[4] = (size_t)n;
	cc_pause(q->cc, 1);	/* no_such_user keeps its place in order */
	if (evalsha(SCRIPT_DIRECT, on_direct, q, 3, kv, lens, 5))
		on_direct(NULL, q);
	free(frame);
}

/*---- presence events across processes ----*/

static void
cluster_presence(void *arg, struct client *c, struct room *room,
		 const char *event)
{
	char chan[BUS_NAME_MAX], user[HUB_USER_ID_MAX], origin[64], *frame;
	const char *argv[3] = { "PUBLISH", chan, NULL };
	size_t lens[3];
	struct msg *m = codec_encode_presence(event, room->id,
					      hub_user_id(c, user));
	int n;

	if (!m)
		return;
	snprintf(origin, sizeof(origin), "%s.%" PRIu64, C.node,
		 hub_client_id(c));
	frame = malloc(m->payload_len + 96);
	n = frame ? bus_frame(frame, m->payload_len + 96, 0, origin,
			      msg_text(m), m->payload_len) : -1;
	msg_unref(m);
	if (n < 0) {
		free(frame);
		return;
	}
	argv[2] = frame;
	lens[0] = 7;
	lens[1] = chan_of(room->id, chan, sizeof(chan));
	lens[2] = (size_t)n;
	redis_command(NULL, NULL, 3, argv, lens);
	free(frame);
}

/* A presence event from the channel: members that want it, but its own. */
static void
take_presence(struct croom *cr, const char *origin, size_t olen,
	      const char *json, size_t jlen)
{
	struct member *mb;
	struct msg *m = NULL;

	for (mb = cr->room->members; mb; mb = mb->rnext) {
		struct client *o = mb->client;
		char me[64];
		int n = snprintf(me, sizeof(me), "%s.%" PRIu64, C.node,
				 hub_client_id(o));

		if (!hub_client_conf(o)->presence_events ||
		    ((size_t)n == olen && !memcmp(me, origin, olen)))
			continue;
		if (!m && !(m = msg_from_text(json, jlen)))
			return;
		hub_send(glue_hub, o, m);
	}
	msg_unref(m);
}

/*---- Redis up and down ----*/

/* SUBSCRIBEs what a batch holds and empties it. */
struct batch {
	char names[CLUSTER_BATCH][BUS_NAME_MAX];
	const char *chans[CLUSTER_BATCH];
	size_t lens[CLUSTER_BATCH];
	unsigned int n;
};

static void
batch_flush(struct batch *b)
{
	if (b->n)
		redis_subscribe(1, b->n, b->chans, b->lens);
	b->n = 0;
}

static void
batch_add(struct batch *b, const char *kind, const struct room *r)
{
	int n = bus_name(b->names[b->n], BUS_NAME_MAX, C.prefix, kind, r->id,
			 r->id_len);

	if (n < 0)
		return;
	b->chans[b->n] = b->names[b->n];
	b->lens[b->n] = (size_t)n;
	if (++b->n == CLUSTER_BATCH)
		batch_flush(b);
}

/*
 * Subscribes this node's channel, and keeps P:nodeseq at least this
 * node's number: a Redis that lost it (a restart without persistence)
 * must not give the number to another process.
 */
static void
node_up(void)
{
	static const char bump[] =
		"if (tonumber(redis.call('get', KEYS[1])) or 0) < "
		"tonumber(ARGV[1]) then redis.call('set', KEYS[1], ARGV[1]) end";
	char key[BUS_NAME_MAX], num[24];
	const char *argv[5] = { "EVAL", bump, "1", key, num };
	const char *chan = C.node_chan;
	size_t len = strlen(chan);

	snprintf(key, sizeof(key), "%s:nodeseq", C.prefix);
	snprintf(num, sizeof(num), "%" PRIu64, C.nodenum);
	redis_command(NULL, NULL, 5, argv, NULL);
	redis_subscribe(1, 1, &chan, &len);
}

void
cluster_on_up(void)
{
	struct batch *b = malloc(sizeof(*b));
	struct croom *cr;
	struct cuser *u;

	if (!b)
		return;	/* rooms stay unsubscribed: joins wait, time out */
	/* a new connection has no subscriptions: batches of 512 */
	b->n = 0;
	for (cr = C.rooms; cr; cr = cr->next)
		batch_add(b, "room", cr->room);
	for (u = C.user_list; u; u = u->next)
		batch_add(b, "user", u->entry);
	batch_flush(b);
	free(b);
	node_up();
	C.refresh_ms = 0;	/* member counts now */
}

void
cluster_on_down(void)
{
	struct creq *waiting = NULL;
	struct croom *cr;
	size_t i;

	for (cr = C.rooms; cr; cr = cr->next) {
		cr->subscribed = 0;
		cr->catching = 0;
		drain_held(cr, 0);
		detach_waiting(cr, &waiting);
	}
	fail_joins(waiting);	/* after the walk: leaves may free rooms */
	gpend_fail_all();
	for (i = 0; i < C.n_unsub; i++)
		free(C.unsub[i]);
	C.n_unsub = 0;
}

/*
 * A join waits for its room's subscription; one not confirmed within
 * CLUSTER_SUBSCRIBE_MS (a lost reply) fails the joins rather than
 * keeping their connections paused.
 */
static void
fail_stuck_joins(int64_t now)
{
	struct creq *stuck = NULL, *q;
	struct croom *cr;

	for (cr = C.rooms; cr; cr = cr->next) {
		for (q = cr->waiting; q && q->next; q = q->next)
			;	/* the oldest is last: joins are pushed in front */
		if (q && now - q->at > CLUSTER_SUBSCRIBE_MS)
			detach_waiting(cr, &stuck);
	}
	fail_joins(stuck);
}

void
cluster_tick(int64_t now)
{
	struct croom *cr;
	struct cuser *u;

	if (!C.on)
		return;
	redis_tick(now);
	gpend_expire(now);
	if (!redis_is_up())
		return;
	unsub_flush();
	fail_stuck_joins(now);
	if (now < C.refresh_ms) {
		for (cr = C.rooms; cr; cr = cr->next)
			if (cr->count_dirty || cr->users_dirty) {
				set_count(cr->room->id, cr->room->n_members,
					  cr->users_dirty ? cr->room : NULL);
				cr->count_dirty = cr->users_dirty = 0;
			}
		return;
	}
	C.refresh_ms = now + C.refresh_every_ms;
	for (cr = C.rooms; cr; cr = cr->next) {
		cr->count_dirty = cr->users_dirty = 0;
		set_count(cr->room->id, cr->room->n_members, cr->room);
	}
	for (u = C.user_list; u; u = u->next)
		set_user_count(u->entry->id, (unsigned int)u->entry->seq);
}

/*---- the server API's publish ----*/

struct api_pub {
	cluster_publish_cb done;
	void *arg;
};

static void
on_api_publish(struct redisReply *r, void *arg)
{
	struct api_pub *p = arg;

	if (!reply_ok(r, 3) || r->element[1]->type != REDIS_REPLY_STRING)
		p->done(p->arg, -1, 0, NULL, 0);
	else
		p->done(p->arg, 0, reply_uint(r->element[0]),
			r->element[1]->str, reply_uint(r->element[2]) == 1);
	free(p);
}

/* PREFIX:idem:ROOM:HEX, the key's bytes in hex (a key may hold any). */
static void
idem_name(char *buf, size_t len, const char *room, const char *key, size_t klen)
{
	int n = snprintf(buf, len, "%s:idem:%s:", C.prefix, room);
	size_t i;

	for (i = 0; n > 0 && i < klen && (size_t)n + 3 <= len; i++, n += 2)
		snprintf(buf + n, 3, "%02x", (unsigned char)key[i]);
}

int
cluster_api_publish(const char *room, const char *sender, const char *content,
		    size_t len, const char *idem_key, size_t idem_len,
		    cluster_publish_cb done, void *arg)
{
	char meta[BUS_NAME_MAX], hist[BUS_NAME_MAX], chan[BUS_NAME_MAX],
		idem[BUS_NAME_MAX + 160],
		head[CODEC_ROOM_MAX + HUB_USER_ID_MAX + 80], hsize[16], ttl[16],
		fresh[64], mttl[16], pres[BUS_NAME_MAX];
	const char *kv[11] = { meta,	hist,  chan, idem,  pres, head,
			       content, hsize, ttl,  fresh, mttl };
	size_t lens[11], n = strlen(room), i;
	struct api_pub *p;

	if (!C.on || !redis_is_up() || !(p = malloc(sizeof(*p))))
		return -1;
	p->done = done;
	p->arg = arg;
	bus_name(meta, sizeof(meta), C.prefix, "meta", room, n);
	bus_name(hist, sizeof(hist), C.prefix, "hist", room, n);
	chan_of(room, chan, sizeof(chan));
	/* a room with no member anywhere is kept as a process keeps it */
	bus_name(pres, sizeof(pres), C.prefix, "pres", room, n);
	idem[0] = '\0';
	if (idem_key && idem_len)
		idem_name(idem, sizeof(idem), room, idem_key, idem_len);
	snprintf(head, sizeof(head), "{\"type\":\"broadcast\",\"room_id\":"
		 "\"%s\",\"sender\":\"%s\",\"seq\":", room, sender);
	snprintf(hsize, sizeof(hsize), "%u", C.history_size);
	snprintf(ttl, sizeof(ttl), "%u", history_ttl_s());
	fresh_epoch(fresh, sizeof(fresh));
	snprintf(mttl, sizeof(mttl), "%d", CLUSTER_META_TTL_S);
	for (i = 0; i < 11; i++) /* the content is not NUL-ended */
		lens[i] = i == 6 ? len : strlen(kv[i]);
	if (evalsha(SCRIPT_PUBLISH, on_api_publish, p, 5, kv, lens, 11)) {
		free(p);
		return -1;
	}
	return 0;
}

/* The server API's history: what the stream holds, read by the fetch. */
struct api_hist {
	cluster_history_cb done;
	void *arg;
	uint64_t limit;
	char room[CODEC_ROOM_MAX + 1];
};

/* @r's last @p->limit messages (from element 3 on) as the answer text. */
static char *
api_history_text(const struct api_hist *p, const redisReply *r, size_t *len)
{
	size_t n = r->elements - 3, from = 3, i;
	struct msg **msgs = NULL;
	char *text = NULL;

	if (n > p->limit) {
		from += n - p->limit;
		n = p->limit;
	}
	if (n && !(msgs = calloc(n, sizeof(*msgs))))
		return NULL;
	for (i = 0; i < n; i++) {
		const redisReply *e = r->element[from + i];

		if (e->type != REDIS_REPLY_STRING ||
		    !(msgs[i] = msg_from_text(e->str, e->len)))
			goto out;
	}
	text = hub_api_history_text(p->room, r->element[1]->str, msgs,
				    (unsigned int)n, len);
out:
	for (i = 0; i < n && msgs[i]; i++)
		msg_unref(msgs[i]);
	free(msgs);
	return text;
}

static void
on_api_history(struct redisReply *r, void *arg)
{
	struct api_hist *p = arg;
	size_t len = 0;
	char *text;

	if (!reply_ok(r, 3) || r->element[1]->type != REDIS_REPLY_STRING) {
		p->done(p->arg, -1, NULL, 0, 0);
	} else if (!r->element[1]->len) { /* no numbering: not held */
		p->done(p->arg, 0, NULL, 0, 0);
	} else {
		text = api_history_text(p, r, &len);
		p->done(p->arg, 0, text, len, 1);
	}
	free(p);
}

int
cluster_api_history(const char *room, uint64_t limit, cluster_history_cb done,
		    void *arg)
{
	char meta[BUS_NAME_MAX], hist[BUS_NAME_MAX];
	const char *kv[4] = { meta, hist, "0", "" };
	struct api_hist *p;

	if (!C.on || !redis_is_up() || !(p = malloc(sizeof(*p))))
		return -1;
	p->done = done;
	p->arg = arg;
	p->limit = limit ? limit : 100;
	snprintf(p->room, sizeof(p->room), "%s", room);
	bus_name(meta, sizeof(meta), C.prefix, "meta", room, strlen(room));
	bus_name(hist, sizeof(hist), C.prefix, "hist", room, strlen(room));
	/* since 0: all the stream holds (at most history-size) */
	if (evalsha(SCRIPT_FETCH, on_api_history, p, 2, kv, NULL, 4)) {
		free(p);
		return -1;
	}
	return 0;
}

/* The server API's direct: the direct script's count of connections. */
struct api_direct {
	cluster_count_cb done;
	void *arg;
};

static void
on_api_direct(struct redisReply *r, void *arg)
{
	struct api_direct *p = arg;

	if (!r || r->type != REDIS_REPLY_INTEGER)
		p->done(p->arg, -1, 0);
	else
		p->done(p->arg, 0, r->integer > 0 ? (uint64_t)r->integer : 0);
	free(p);
}

/*
 * Runs the direct script for user @to with @payload (@plen bytes) framed
 * for every connection: published only if the user has connections on
 * some process; @done gets their count.
 */
static int
api_to_user(const char *to, const char *payload, size_t plen,
	    cluster_count_cb done, void *arg)
{
	char upres[BUS_NAME_MAX], uexp[BUS_NAME_MAX], chan[BUS_NAME_MAX],
		now[24], *frame = malloc(plen + 64);
	const char *kv[5] = { upres, uexp, chan, now, frame };
	size_t lens[5], i, tlen = strlen(to);
	struct api_direct *p = frame ? malloc(sizeof(*p)) : NULL;
	/* conn_id 0 is no connection: every one of the user's gets it */
	int n = p ? bus_frame(frame, plen + 64, 0, C.node, payload, plen) : -1;

	if (n < 0)
		goto bail;
	p->done = done;
	p->arg = arg;
	bus_name(upres, sizeof(upres), C.prefix, "upres", to, tlen);
	bus_name(uexp, sizeof(uexp), C.prefix, "uexp", to, tlen);
	bus_name(chan, sizeof(chan), C.prefix, "user", to, tlen);
	snprintf(now, sizeof(now), "%" PRId64, rm_clock_ms());
	for (i = 0; i < 4; i++)
		lens[i] = strlen(kv[i]);
	lens[4] = (size_t)n;
	if (evalsha(SCRIPT_DIRECT, on_api_direct, p, 3, kv, lens, 5))
		goto bail;
	free(frame);
	return 0;
bail:
	free(p);
	free(frame);
	return -1;
}

int
cluster_api_direct(const char *to, const char *from, const char *content,
		   size_t len, cluster_count_cb done, void *arg)
{
	struct msg *m;
	uint64_t gid;
	int r;

	if (!C.on || !redis_is_up())
		return -1;
	m = codec_encode_direct(from, content, len);
	if (!m)
		return -1;
	if (!guest_id_parse(to, strlen(to), &gid))
		r = to_guest(gid, 'd', msg_text(m), m->payload_len, NULL, done,
			     arg);
	else
		r = api_to_user(to, msg_text(m), m->payload_len, done, arg);
	msg_unref(m);
	return r;
}

int
cluster_api_disconnect(const char *user, cluster_count_cb done, void *arg)
{
	uint64_t gid;

	if (!C.on || !redis_is_up())
		return -1;
	if (!guest_id_parse(user, strlen(user), &gid))
		return to_guest(gid, 'x', "-", 1, NULL, done, arg);
	return api_to_user(user, CLUSTER_DISCONNECT, strlen(CLUSTER_DISCONNECT),
			   done, arg);
}

/* The server API's rooms/R: the members script, as `members` reads it. */
struct api_room {
	cluster_history_cb done;
	void *arg;
	size_t max_bytes;
	char room[CODEC_ROOM_MAX + 1];
};

static void
on_api_room(struct redisReply *r, void *arg)
{
	struct api_room *p = arg;
	struct msg *m;
	size_t len = 0;
	char *text = NULL;

	if (!reply_ok(r, 3) || r->element[2]->type != REDIS_REPLY_STRING) {
		p->done(p->arg, -1, NULL, 0, 0);
	} else if (!r->element[2]->len) { /* no numbering: not held */
		p->done(p->arg, 0, NULL, 0, 0);
	} else {
		m = members_of(p->room, r, NULL, p->max_bytes);
		if (m)
			text = hub_api_room_text(reply_uint(r->element[1]),
						 r->element[2]->str, m, &len);
		msg_unref(m);
		p->done(p->arg, 0, text, len, 1);
	}
	free(p);
}

int
cluster_api_room(const char *room, size_t max_bytes, cluster_history_cb done,
		 void *arg)
{
	struct api_room *p;

	if (!C.on || !redis_is_up() || !(p = malloc(sizeof(*p))))
		return -1;
	p->done = done;
	p->arg = arg;
	p->max_bytes = max_bytes;
	snprintf(p->room, sizeof(p->room), "%s", room);
	if (members_script(room, on_api_room, p)) {
		free(p);
		return -1;
	}
	return 0;
}

/*---- joining the cluster ----*/

static const struct hub_cluster_ops cluster_ops = {
	.up = cluster_up,
	.room_new = cluster_room_new,
	.room_free = cluster_room_free,
	.join = cluster_join,
	.left = cluster_left,
	.publish = cluster_publish,
	.history = cluster_history,
	.client_free = cluster_client_free,
	.user = cluster_user,
	.presence = cluster_presence,
	.direct = cluster_direct,
	.members = cluster_members,
};

/*
 * The presence expiry: 60 s, or for tests (only) the value of
 * CLUSTER_TEST_TTL_ENV, read once here; refreshed at a third of it.
 */
static void
presence_ttl(void)
{
	const char *v = getenv(CLUSTER_TEST_TTL_ENV);
	char *end;
	long long ms = v ? strtoll(v, &end, 10) : 0;

	C.ttl_ms = CLUSTER_PRESENCE_TTL_MS;
	if (v && !*end && ms >= 300 && ms <= CLUSTER_PRESENCE_TTL_MS) {
		C.ttl_ms = ms;
		lwsl_warn("roomcast: %s=%lld: a test setting\n",
			  CLUSTER_TEST_TTL_ENV, ms);
	}
	C.refresh_every_ms = C.ttl_ms / 3;
}

int
cluster_vhost_init(struct lws_vhost *vh, const struct rconf *conf)
{
	const char *prefix = conf->redis_prefix ? conf->redis_prefix
						: "roomcast";
	struct bus_url u;
	char err[256], seq_key[BUS_NAME_MAX];
	long long seq = 0;
	uint64_t r;
	FILE *f;

	if (C.on) {
		if (strcmp(C.url, conf->redis_url) || strcmp(C.prefix, prefix)) {
			lwsl_err("roomcast: every vhost of a process must name "
				 "the same redis-url and redis-prefix\n");
			return -1;
		}
		return 0;
	}
	snprintf(seq_key, sizeof(seq_key), "%s:nodeseq", prefix);
	if (bus_parse_url(conf->redis_url, &u, err, sizeof(err)) ||
	    redis_check(&u, seq_key, &seq, err, sizeof(err))) {
		lwsl_err("roomcast: redis-url %s: cannot reach Redis: %s\n",
			 conf->redis_url, err);
		return -1;
	}
	f = fopen("/dev/urandom", "rb");
	if (!f || fread(&r, sizeof(r), 1, f) != 1)
		r = (uint64_t)rm_clock_ms() ^ ((uint64_t)getpid() << 32);
	if (f)
		fclose(f);
	snprintf(C.node, sizeof(C.node), "%016" PRIx64, r);
	snprintf(C.url, sizeof(C.url), "%s", conf->redis_url);
	snprintf(C.prefix, sizeof(C.prefix), "%s", prefix);
	C.vh = vh;
	C.history_size = conf->history_size;
	if (!C.nodenum) /* the first for the process's life */
		C.nodenum = bus_node_number(seq);
	hub_set_conn_ids(glue_hub, C.nodenum << BUS_NODE_SHIFT, BUS_NODE_CONNS);
	snprintf(C.node_chan, sizeof(C.node_chan), "%s:node:%" PRIu64, C.prefix,
		 C.nodenum);
	presence_ttl();
	C.on = 1;
	C.stopping = 0;
	hub_set_cluster(glue_hub, &cluster_ops, NULL);
	snprintf(err, sizeof(err), "roomcast-%s-%d", C.node, (int)getpid());
	C.users = rooms_create();
	if (!C.users)
		return -1;
	return redis_start(vh, &u, err, scripts, N_SCRIPTS);
}

void
cluster_stop(void)
{
	size_t i;

	if (!C.on)
		return;
	C.stopping = 1;
	redis_stop();
	gpend_fail_all();
	for (i = 0; i < C.n_unsub; i++)
		free(C.unsub[i]);
	free(C.unsub);
	C.unsub = NULL;
	C.n_unsub = C.cap_unsub = 0;
	while (C.user_list)
		forget_user(C.user_list);
	rooms_destroy(C.users);
	C.users = NULL;
	C.on = 0;
}

int
cluster_status(int *up)
{
	*up = redis_is_up();
	return C.on;
}

const char *
cluster_node(void)
{
	return C.on ? C.node : NULL;
}
