/*
 * hub.c: roomcast.v1's protocol logic over rooms, rings and the codec
 * (see hub.h).
 */
#include "hub.h"
#include "history.h"
#include "msg.h"
#include "rm_err.h"
#include "stats.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Opaque outside this file (hub.h): transports use the hub_client_* calls. */
struct client {
	uint64_t conn_id;
	/*
	 * The user_id a join gave, NULL before: a guest is "guest-<conn_id>"
	 * (hub_user_id), kept nowhere, so idle connections pay 8 bytes.
	 */
	char *user_id;
	struct sendq q;
	uint64_t dropped_pending;	/* dropped since the last notice */
	int closing;			/* a close was asked for: send nothing */
	unsigned int n_rooms;
	struct member *rooms;		/* this client's memberships */
	struct member *user_entry;	/* its place in the user index */
	const struct rconf *conf;	/* its vhost's settings */
	void *owner;			/* the transport's connection */
	double tokens;			/* rate limit bucket */
	int64_t tokens_ms;
	void *cluster;			/* cluster hook: a pending request */
	struct client *prev, *next;	/* every client of the hub */
};

struct hub {
	const struct hub_ops *ops;
	struct codec *codec;
	struct rooms *rooms;
	/*
	 * user_id -> that user's connections, for direct messages: the same
	 * table type as rooms, a "room" per user id. Guests are not in it
	 * (an idle connection then costs no entry); a direct message to a
	 * guest id finds its one connection by conn_id instead.
	 */
	struct rooms *users;
	struct client *clients;		/* every connection, for shutdown */
	uint64_t next_conn_id;
	uint64_t instance;
	const struct hub_cluster_ops *cluster;	/* NULL: one process */
	void *cluster_arg;
};

/* The cluster's room free hook: rooms' free hook carries no hub. */
static void (*cluster_room_free)(struct room *room);

/* A room's history goes with the room (rooms' free hook). */
static void
free_history(struct room *room)
{
	if (cluster_room_free) {		/* cluster hook */
		cluster_room_free(room);
		return;
	}
	if (room->data) {
		history_clear(room->data);
		free(room->data);
		room->data = NULL;
	}
}

struct hub *
hub_create(const struct hub_ops *ops, uint64_t instance)
{
	struct hub *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->ops = ops;
	h->instance = instance;
	h->codec = codec_create();
	if (!h->codec)
		goto bail_hub;
	h->rooms = rooms_create();
	if (!h->rooms)
		goto bail_codec;
	rooms_set_free_hook(h->rooms, free_history);
	h->users = rooms_create();
	if (!h->users)
		goto bail_rooms;
	return h;

bail_rooms:
	rooms_destroy(h->rooms);
bail_codec:
	codec_destroy(h->codec);
bail_hub:
	free(h);
	return NULL;
}

void
hub_destroy(struct hub *h)
{
	if (!h)
		return;
	while (h->clients)
		hub_client_free(h, h->clients);
	rooms_destroy(h->users);
	rooms_destroy(h->rooms);
	codec_destroy(h->codec);
	free(h);
}

/* Files @c under its current user_id in the user index. */
static int
index_user(struct hub *h, struct client *c)
{
	struct room *u = rooms_get_or_create(h->users, c->user_id,
					     strlen(c->user_id));

	if (!u)
		return RM_E_NOMEM;
	if (!rooms_add_member(u, c, &c->user_entry)) {
		rooms_free_if_empty(h->users, u);
		return RM_E_NOMEM;
	}
	if (h->cluster)				/* cluster hook */
		h->cluster->user(h->cluster_arg, c->user_id, u->n_members);
	return RM_OK;
}

static void
unindex_user(struct hub *h, struct client *c)
{
	unsigned int left;

	if (!c->user_entry)
		return;
	left = c->user_entry->room->n_members - 1;
	rooms_remove_member(h->users, c->user_entry, &c->user_entry);
	if (h->cluster)				/* cluster hook */
		h->cluster->user(h->cluster_arg, c->user_id, left);
}

/*---- the transport's view of a client (hub.h) ----*/

struct client *
hub_clients(struct hub *h)
{
	return h->clients;
}

struct client *
hub_client_next(const struct client *c)
{
	return c->next;
}

void *
hub_client_owner(const struct client *c)
{
	return c->owner;
}

const struct rconf *
hub_client_conf(const struct client *c)
{
	return c->conf;
}

unsigned int
hub_client_queued(const struct client *c)
{
	return c->q.count;
}

struct msg *
hub_client_peek(const struct client *c, unsigned int i)
{
	return sendq_peek(&c->q, i);
}

void
hub_client_set_closing(struct client *c)
{
	c->closing = 1;
}

int
hub_client_closing(const struct client *c)
{
	return c->closing;
}

void
hub_client_info(const struct client *c, struct hub_client_info *out)
{
	out->conn_id = c->conn_id;
	out->user_id = c->user_id;
	out->queued = c->q.count;
	out->queued_bytes = c->q.bytes;
	out->dropped_pending = c->dropped_pending;
	out->n_rooms = c->n_rooms;
	out->rooms = c->rooms;
	out->closing = c->closing;
}

int
hub_client_fits(const struct client *c, size_t frame_len)
{
	return sendq_fits(&c->q, frame_len);
}

const char *
hub_user_id(const struct client *c, char buf[HUB_USER_ID_MAX])
{
	if (c->user_id)
		return c->user_id;
	snprintf(buf, HUB_USER_ID_MAX, "guest-%" PRIu64, c->conn_id);
	return buf;
}

struct client *
hub_client_new(struct hub *h, const struct rconf *conf, void *owner,
	       int64_t now_ms)
{
	struct client *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->conn_id = ++h->next_conn_id;
	c->conf = conf;
	c->owner = owner;
	sendq_init(&c->q, conf->send_ring_size, conf->send_ring_bytes);
	c->tokens = conf->max_messages_per_second;
	c->tokens_ms = now_ms;
	c->next = h->clients;
	if (h->clients)
		h->clients->prev = c;
	h->clients = c;
	rm_stats.connections_active++;
	rm_stats.connections_total++;
	return c;
}

/*---- sending ----*/

/* Empties @c's ring, keeping the process-wide byte count true. */
static void
ring_clear(struct client *c)
{
	rm_stats.queued_bytes -= c->q.bytes;
	sendq_clear(&c->q);
}

/* Closes @c as a slow consumer: nothing more is queued to it. */
static void
shed(struct hub *h, struct client *c)
{
	c->closing = 1;
	ring_clear(c);
	h->ops->close(c->owner, HUB_CLOSE_SLOW_CONSUMER);
}

/*
 * Our policy when all rings together hold more than max-queued-bytes: the
 * members holding the most are the ones not keeping up, so they are shed
 * (closed with 4001) until the total is under the cap again. A linear
 * scan, but it runs only past the cap.
 */
static void
shed_over_cap(struct hub *h, size_t cap)
{
	struct client *c, *worst;

	while (rm_stats.queued_bytes > cap) {
		worst = NULL;
		for (c = h->clients; c; c = c->next)
			if (!c->closing && c->q.bytes &&
			    (!worst || c->q.bytes > worst->q.bytes))
				worst = c;
		if (!worst)
			return;
		rm_stats.slow_consumers_shed++;
		shed(h, worst);
	}
}

/*
 * Queues the pending `dropped` notice if it fits. Returns 1 if no notice
 * is pending any more.
 */
static int
queue_notice(struct hub *h, struct client *c)
{
	struct msg *notice;
	int was_empty = !c->q.count;

	if (!c->dropped_pending)
		return 1;
	if (!sendq_fits(&c->q, MSG_MAX_FRAME_HDR + 48))
		return 0;
	notice = codec_encode_dropped(c->dropped_pending);
	if (!notice || sendq_push(&c->q, notice)) {
		msg_unref(notice);
		return 0;
	}
	rm_stats.queued_bytes += msg_frame_len(notice);
	msg_unref(notice);
	c->dropped_pending = 0;
	if (was_empty)
		h->ops->wake(c->owner);
	return 1;
}

/* The drop policy's half of a full ring (see hub_send). */
static void
drop(struct client *c)
{
	c->dropped_pending++;
	rm_stats.messages_dropped++;
}

/*
 * Our policy for a full ring: the sender and the other members are never
 * held up by one slow member. Under `drop` the message is lost for that
 * member alone and counted, and the member is told how many it lost once
 * its ring has room again (hub_written). Under `close` the member is shed
 * with 4001; it reconnects and resumes from its last seq.
 */
void
hub_send(struct hub *h, struct client *c, struct msg *m)
{
	int was_empty;

	if (c->closing)
		return;
	/* a message never overtakes the notice of what was lost before it */
	if (!queue_notice(h, c)) {
		if (c->conf->drop_policy == RCONF_CLOSE)
			goto bail_close;
		drop(c);
		return;
	}
	was_empty = !c->q.count;
	if (!sendq_push(&c->q, m)) {
		rm_stats.queued_bytes += msg_frame_len(m);
		if (was_empty)
			h->ops->wake(c->owner);
		if (c->conf->max_queued_bytes &&
		    rm_stats.queued_bytes > c->conf->max_queued_bytes)
			shed_over_cap(h, c->conf->max_queued_bytes);
		return;
	}
	if (c->conf->drop_policy != RCONF_CLOSE) {
		drop(c);
		return;
	}
bail_close:
	rm_stats.slow_consumer_closes++;
	shed(h, c);
}

/* Queues @m to @c (if not NULL) and drops the caller's reference. */
static void
send_once(struct hub *h, struct client *c, struct msg *m)
{
	if (!m) {
		drop(c);
		return;
	}
	hub_send(h, c, m);
	msg_unref(m);
}

/* Encodes and queues an error; @ref may be NULL. */
static void
send_error(struct hub *h, struct client *c, enum rm_proto_err e,
	   const char *message, const char *ref)
{
	send_once(h, c, codec_encode_error(e, message, ref));
}

void
hub_written(struct hub *h, struct client *c, unsigned int n, size_t bytes)
{
	sendq_pop(&c->q, n);
	rm_stats.queued_bytes -= bytes;
	rm_stats.messages_sent += n;
	rm_stats.bytes_sent += bytes;
	if (!c->closing)
		queue_notice(h, c);
}

void
hub_deliver(struct hub *h, struct room *room, struct msg *m)
{
	struct member *mb;

	for (mb = room->members; mb; mb = mb->rnext)
		hub_send(h, mb->client, m);
}

/* Sends a presence event about @c to the other members that want them. */
static void
send_presence(struct hub *h, struct room *room, struct client *c,
	      const char *event)
{
	struct member *mb;
	struct msg *m = NULL;

	if (h->cluster) {			/* cluster hook */
		if (c->conf->presence_events)
			h->cluster->presence(h->cluster_arg, c, room, event);
		return;
	}
	for (mb = room->members; mb; mb = mb->rnext) {
		struct client *o = mb->client;

		if (o == c || !o->conf->presence_events)
			continue;
		if (!m) {
			char guest[HUB_USER_ID_MAX];

			m = codec_encode_presence(event, room->id,
						  hub_user_id(c, guest));
		}
		if (!m)
			return;
		hub_send(h, o, m);
	}
	msg_unref(m);
}

/*---- rooms ----*/

struct room *
hub_room(struct hub *h, const char *id)
{
	return rooms_find(h->rooms, id, strlen(id));
}

/* Leaves @mb's room, telling the others; frees the room if now empty. */
static void
leave(struct hub *h, struct client *c, struct member *mb)
{
	struct room *room = mb->room;

	c->n_rooms--;
	if (h->cluster) {			/* cluster hook */
		/* members elsewhere are told even when none is left here */
		h->cluster->left(h->cluster_arg, c, room);
		send_presence(h, room, c, "leave");
	}
	if (rooms_remove_member(h->rooms, mb, &c->rooms))
		rm_stats.rooms_active--;
	else if (!h->cluster)
		send_presence(h, room, c, "leave");
}

void
hub_client_free(struct hub *h, struct client *c)
{
	c->closing = 1;
	if (h->cluster)				/* cluster hook */
		h->cluster->client_free(h->cluster_arg, c);
	while (c->rooms)
		leave(h, c, c->rooms);
	if (c->user_id)
		unindex_user(h, c);
	free(c->user_id);
	ring_clear(c);
	if (c->prev)
		c->prev->next = c->next;
	else
		h->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	rm_stats.connections_active--;
	free(c);
}

void
hub_close_all(struct hub *h, int code)
{
	struct client *c;

	for (c = h->clients; c; c = c->next) {
		c->closing = 1;
		h->ops->close(c->owner, code);
	}
}

static void
epoch_of(const struct hub *h, const struct room *room, char *buf, size_t len)
{
	snprintf(buf, len, "%08" PRIx64 "-%" PRIu64, h->instance & 0xffffffffu,
		 room->generation);
}

/*
 * Makes the room a join names. Its history holds the creator's vhost's
 * history-size messages: rooms are process-wide, options per vhost.
 */
static struct room *
new_room(struct hub *h, struct client *c, struct codec_cmd *cmd)
{
	struct room *room = rooms_get_or_create(h->rooms, cmd->room_id,
						cmd->room_len);

	if (!room)
		return NULL;
	rm_stats.rooms_active++;
	if (h->cluster) {			/* cluster hook */
		room->data = h->cluster->room_new(h->cluster_arg, room);
		if (!room->data) {
			rooms_free_if_empty(h->rooms, room);
			rm_stats.rooms_active--;
			return NULL;
		}
	} else if (c->conf->history_size) {
		room->data = malloc(sizeof(struct history));
		if (room->data)
			history_init(room->data, c->conf->history_size);
	}
	return room;
}

/*
 * Returns 1 if `joined` and the newest @n held msgs fit in @c's ring
 * together: a replay the ring would cut is no replay (never a partial
 * one), so the answer is then recovered:false.
 */
static int
replay_fits(const struct client *c, const struct history *hs, uint64_t n)
{
	/* room for `joined` (at most ~300 bytes with the longest ids) */
	size_t bytes = c->q.bytes + MSG_MAX_FRAME_HDR + 320;
	uint64_t i;

	if (c->q.count + 1 + n > c->q.max_count)
		return 0;
	for (i = 0; i < n; i++)
		bytes += msg_frame_len(history_get(hs, (unsigned int)
						   (hs->count - 1 - i)));
	return bytes <= c->q.max_bytes;
}

/*
 * Answers a join with `joined`, and replays what the joiner missed when it
 * asked (since + epoch) and all of it is still held: PROTOCOL.md promises
 * a whole replay or none, never part of one.
 */
static void
recover(struct hub *h, struct client *c, struct room *room,
	const struct codec_cmd *cmd, const char *epoch)
{
	const struct history *hs = room->data;
	uint64_t held = hs ? hs->count : 0, first, i;
	char guest[HUB_USER_ID_MAX];
	const char *user = hub_user_id(c, guest);
	int ok;

	if (!cmd->has_since && !cmd->epoch) {
		send_once(h, c, codec_encode_joined(room->id, user,
				room->n_members, room->seq, epoch));
		return;
	}
	/* the held msgs are seq room->seq - held + 1 ... room->seq */
	ok = cmd->has_since && cmd->epoch && !strcmp(cmd->epoch, epoch) &&
	     cmd->since <= room->seq && cmd->since + held >= room->seq &&
	     replay_fits(c, hs, room->seq - cmd->since);
	send_once(h, c, codec_encode_joined_ex(room->id, user,
			room->n_members, room->seq, epoch, ok));
	if (!ok)
		return;
	first = held - (room->seq - cmd->since);
	for (i = first; i < held; i++)
		hub_send(h, c, history_get(hs, (unsigned int)i));
}

static void
on_join(struct hub *h, struct client *c, struct codec_cmd *cmd)
{
	struct room *room;
	struct member *mb = NULL;
	char epoch[32];
	int new_member = 0;

	if (cmd->user_id && c->user_id &&
	    (strlen(c->user_id) != cmd->user_len ||
	     memcmp(c->user_id, cmd->user_id, cmd->user_len))) {
		send_error(h, c, RM_PE_USER_MISMATCH, "user_id differs from "
			   "the one this connection joined with", cmd->type);
		return;
	}
	room = rooms_find(h->rooms, cmd->room_id, cmd->room_len);
	if (room)
		mb = rooms_member_of(c->rooms, room);
	if (!mb) {
		if (c->n_rooms >= c->conf->max_rooms_per_connection) {
			send_error(h, c, RM_PE_ROOM_LIMIT, "this connection is "
				   "in max-rooms-per-connection rooms",
				   cmd->type);
			return;
		}
	}
	if (h->cluster && !h->cluster->up(h->cluster_arg))	/* cluster */
		goto bail_unavailable;
	if (!mb) {
		if (!room) {
			room = new_room(h, c, cmd);
			if (!room)
				goto bail_oom;
		}
		mb = rooms_add_member(room, c, &c->rooms);
		if (!mb) {
			if (rooms_free_if_empty(h->rooms, room))
				rm_stats.rooms_active--;
			goto bail_oom;
		}
		c->n_rooms++;
		new_member = 1;
	}
	if (cmd->user_id && !c->user_id) {
		c->user_id = strndup(cmd->user_id, cmd->user_len);
		/* out of memory: it stays a guest */
		if (c->user_id)
			index_user(h, c); /* OOM: not reachable by direct */
	}
	if (h->cluster) {			/* cluster hook */
		h->cluster->join(h->cluster_arg, c, room, cmd, new_member);
		if (new_member)
			send_presence(h, room, c, "join");
		return;
	}
	epoch_of(h, room, epoch, sizeof(epoch));
	recover(h, c, room, cmd, epoch);
	if (new_member)
		send_presence(h, room, c, "join");
	return;

bail_oom:
	send_error(h, c, RM_PE_ROOM_LIMIT, "out of memory", cmd->type);
	return;
bail_unavailable:
	send_error(h, c, RM_PE_UNAVAILABLE, "the cluster's Redis cannot be "
		   "reached", cmd->type);
}

static void
on_leave(struct hub *h, struct client *c, struct codec_cmd *cmd)
{
	struct room *room = rooms_find(h->rooms, cmd->room_id, cmd->room_len);
	struct member *mb = room ? rooms_member_of(c->rooms, room) : NULL;
	char id[CODEC_ROOM_MAX + 1];

	if (!mb) {
		send_error(h, c, RM_PE_NOT_MEMBER, "not a member of this room",
			   cmd->type);
		return;
	}
	memcpy(id, room->id, room->id_len + 1);	/* the room may be freed */
	leave(h, c, mb);
	send_once(h, c, codec_encode_left(id));
}

struct msg *
hub_accept_broadcast(struct hub *h, struct room *room, const char *sender,
		     const char *content, size_t content_len)
{
	struct msg *m = codec_encode_broadcast(room->id, sender, room->seq + 1,
					       content, content_len);

	if (m)
		room->seq++;	/* a seq is taken only by a message that exists */
	return m;
}

static void
on_broadcast(struct hub *h, struct client *c, struct codec_cmd *cmd)
{
	struct room *room = rooms_find(h->rooms, cmd->room_id, cmd->room_len);
	char guest[HUB_USER_ID_MAX];
	struct msg *m;

	if (!room || !rooms_member_of(c->rooms, room)) {
		send_error(h, c, RM_PE_NOT_MEMBER, "not a member of this room",
			   cmd->type);
		return;
	}
	if (h->cluster) {			/* cluster hook */
		h->cluster->publish(h->cluster_arg, c, room, cmd);
		return;
	}
	m = hub_accept_broadcast(h, room, hub_user_id(c, guest), cmd->content,
				 cmd->content_len);
	if (!m) {
		send_error(h, c, RM_PE_ROOM_LIMIT, "out of memory", cmd->type);
		return;
	}
	if (room->data)
		history_push(room->data, m);
	hub_deliver(h, room, m);
	msg_unref(m);
}

/*
 * A direct message goes to every connection of the user but the sending
 * one. no_such_user means the user has no connection at all: a user
 * writing to its own id from its only connection reaches no one, without
 * an error, as a broadcast to a room of one reaches only its sender.
 */
/* The connection whose guest id is @id ("guest-<conn_id>"), or NULL. */
static struct client *
find_guest(struct hub *h, const char *id, size_t len)
{
	struct client *c;
	uint64_t conn_id = 0;
	size_t i;

	if (len <= 6 || len > 26 || memcmp(id, "guest-", 6) || id[6] == '0')
		return NULL;
	for (i = 6; i < len; i++) {
		if (id[i] < '0' || id[i] > '9')
			return NULL;
		conn_id = conn_id * 10 + (uint64_t)(id[i] - '0');
	}
	/* linear, but only for direct messages to guests */
	for (c = h->clients; c; c = c->next)
		if (c->conn_id == conn_id && !c->user_id)
			return c;
	return NULL;
}

static void
on_direct(struct hub *h, struct client *c, struct codec_cmd *cmd)
{
	struct room *u = rooms_find(h->users, cmd->to, cmd->to_len);
	struct client *guest = u ? NULL : find_guest(h, cmd->to, cmd->to_len);
	char from[HUB_USER_ID_MAX];
	struct member *mb;
	struct msg *m;

	if (h->cluster && !h->cluster->up(h->cluster_arg)) {	/* cluster */
		send_error(h, c, RM_PE_UNAVAILABLE, "the cluster's Redis "
			   "cannot be reached", cmd->type);
		return;
	}
	if (h->cluster) {			/* cluster hook */
		h->cluster->direct(h->cluster_arg, c, cmd);
		return;
	}
	if (!u && !guest) {
		send_error(h, c, RM_PE_NO_SUCH_USER, "no connection of this "
			   "user is connected", cmd->type);
		return;
	}
	m = codec_encode_direct(hub_user_id(c, from), cmd->content,
				cmd->content_len);
	if (!m) {
		drop(c);
		return;
	}
	if (guest && guest != c)
		hub_send(h, guest, m);
	for (mb = u ? u->members : NULL; mb; mb = mb->rnext)
		if (mb->client != c)
			hub_send(h, mb->client, m);
	msg_unref(m);
}

/*
 * The last `limit` (default 100, at most history-size) held broadcasts,
 * oldest first; as many of the newest as fit in send-ring-bytes, so one
 * answer never outgrows the ring it must pass through.
 */
static void
on_history(struct hub *h, struct client *c, struct codec_cmd *cmd)
{
	struct room *room = rooms_find(h->rooms, cmd->room_id, cmd->room_len);
	const struct history *hs;
	struct msg *picked[256], **msgs = picked;
	uint64_t want = cmd->limit ? cmd->limit : 100;
	size_t bytes = 0;
	unsigned int n = 0, i;

	if (!room || !rooms_member_of(c->rooms, room)) {
		send_error(h, c, RM_PE_NOT_MEMBER, "not a member of this room",
			   cmd->type);
		return;
	}
	if (h->cluster) {			/* cluster hook */
		h->cluster->history(h->cluster_arg, c, room, cmd);
		return;
	}
	hs = room->data;
	if (!hs)
		want = 0;
	else if (want > hs->count)
		want = hs->count;
	if (want > sizeof(picked) / sizeof(picked[0])) {
		msgs = malloc(want * sizeof(*msgs));
		if (!msgs) {
			drop(c);
			return;
		}
	}
	/* newest first into the tail of msgs, stopping at the byte cap */
	while (n < want) {
		struct msg *m = history_get(hs, hs->count - 1 - n);

		if (bytes + m->payload_len + 1 > c->conf->send_ring_bytes)
			break;
		bytes += m->payload_len + 1;
		msgs[want - 1 - n++] = m;
	}
	for (i = 0; i < n; i++)
		msgs[i] = msgs[want - n + i];
	send_once(h, c, codec_encode_history(room->id, msgs, n));
	if (msgs != picked)
		free(msgs);
}

/*
 * Token bucket of max-messages-per-second tokens, refilled at that rate.
 * Returns 1 if the message may pass (and takes its token).
 */
static int
rate_ok(struct client *c, int64_t now_ms)
{
	double cap = c->conf->max_messages_per_second;

	if (!cap)
		return 1;
	if (now_ms > c->tokens_ms) {
		c->tokens += (double)(now_ms - c->tokens_ms) * cap / 1000.0;
		if (c->tokens > cap)
			c->tokens = cap;
		c->tokens_ms = now_ms;
	}
	if (c->tokens < 1.0)
		return 0;
	c->tokens -= 1.0;
	return 1;
}

static const char *
error_text(enum rm_proto_err e)
{
	switch (e) {
	case RM_PE_BAD_JSON:
		return "the message is not a JSON object";
	case RM_PE_UNKNOWN_TYPE:
		return "type is missing or not known";
	case RM_PE_MISSING_FIELD:
		return "a required field is missing or of the wrong type";
	case RM_PE_BAD_ROOM:
		return "room_id must be 1-128 bytes of [A-Za-z0-9_.:-]";
	case RM_PE_BAD_USER:
		return "user_id must be 1-64 bytes of [A-Za-z0-9_.@:-]";
	default:
		return codec_err_name(e);
	}
}

int
hub_on_text(struct hub *h, struct client *c, const char *text, size_t len,
	    int64_t now_ms)
{
	struct codec_cmd cmd;
	enum rm_proto_err e;

	if (!rate_ok(c, now_ms)) {
		rm_stats.rate_limited++;
		send_error(h, c, RM_PE_RATE_LIMITED, "over "
			   "max-messages-per-second; message discarded", NULL);
		return 0;
	}
	if (!codec_utf8_valid((const unsigned char *)text, len))
		return HUB_CLOSE_INVALID_UTF8;
	e = codec_decode(h->codec, text, len, &cmd);
	if (e) {
		send_error(h, c, e, error_text(e), cmd.type);
		codec_cmd_release(&cmd);
		return 0;
	}
	switch (cmd.op) {
	case CODEC_OP_JOIN:
		on_join(h, c, &cmd);
		break;
	case CODEC_OP_LEAVE:
		on_leave(h, c, &cmd);
		break;
	case CODEC_OP_BROADCAST:
		on_broadcast(h, c, &cmd);
		break;
	case CODEC_OP_PING:
		send_once(h, c, codec_encode_pong(cmd.id, cmd.id_len));
		break;
	case CODEC_OP_DIRECT:
		on_direct(h, c, &cmd);
		break;
	case CODEC_OP_HISTORY:
		on_history(h, c, &cmd);
		break;
	}
	codec_cmd_release(&cmd);
	return 0;
}

void
hub_on_binary(struct hub *h, struct client *c)
{
	send_error(h, c, RM_PE_BAD_FRAME, "binary messages are not part of "
		   "roomcast.v1; send JSON as text", NULL);
}

/*---- cluster hooks (hub.h) ----*/

void
hub_set_cluster(struct hub *h, const struct hub_cluster_ops *ops, void *arg)
{
	h->cluster = ops;
	h->cluster_arg = arg;
	cluster_room_free = ops ? ops->room_free : NULL;
}

void *
hub_client_cluster(const struct client *c)
{
	return c->cluster;
}

void
hub_client_set_cluster(struct client *c, void *p)
{
	c->cluster = p;
}

void
hub_send_error(struct hub *h, struct client *c, enum rm_proto_err e,
	       const char *message, const char *ref)
{
	send_error(h, c, e, message, ref);
}

void
hub_client_lost(struct hub *h, struct client *c, uint64_t n)
{
	if (!n || c->closing)
		return;
	c->dropped_pending += n;
	rm_stats.messages_dropped += n;
	queue_notice(h, c);
}

void
hub_client_leave(struct hub *h, struct client *c, struct room *room)
{
	struct member *mb = rooms_member_of(c->rooms, room);

	if (mb)
		leave(h, c, mb);
}

int
hub_deliver_direct(struct hub *h, const char *id, size_t len, struct msg *m,
		   uint64_t except)
{
	struct room *u = rooms_find(h->users, id, len);
	struct client *guest = u ? NULL : find_guest(h, id, len);
	struct member *mb;
	int n = 0;

	if (!u && !guest)
		return -1;
	if (guest && guest->conn_id != except) {
		hub_send(h, guest, m);
		n++;
	}
	for (mb = u ? u->members : NULL; mb; mb = mb->rnext) {
		struct client *o = mb->client;

		if (o->conn_id != except) {
			hub_send(h, o, m);
			n++;
		}
	}
	return n;
}

uint64_t
hub_client_id(const struct client *c)
{
	return c->conn_id;
}
