/*
 * hub.c: roomcast.v1's protocol logic over rooms, rings and the codec
 * (see hub.h).
 */
#include "hub.h"
#include "hub_internal.h"
#include "guest_id.h"
#include "htable.h"
#include "hub_auth.h"
#include "history.h"
#include "hub_history.h"
#include "msg.h"
#include "rm_err.h"
#include "roster.h"
#include "stats.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The cluster's room free hook: rooms' free hook carries no hub. */
static void (*cluster_room_free)(struct room *room);

/*
 * rooms' free hook: a room's state goes with it, the cluster's
 * (clustered: history lives in Redis) or its local history.
 */
static void
room_freed(struct room *room)
{
	if (cluster_room_free) {		/* cluster hook */
		cluster_room_free(room);
		return;
	}
	hub_history_room_freed(room);
}

struct hub *
hub_create(const struct hub_ops *ops, uint64_t instance)
{
	struct hub *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->ops = ops;
	h->instance = instance;
	if (hub_history_init(h))
		goto bail_hub;
	h->codec = codec_create();
	if (!h->codec)
		goto bail_hist;
	h->rooms = rooms_create();
	if (!h->rooms)
		goto bail_codec;
	rooms_set_free_hook(h->rooms, room_freed);
	h->users = rooms_create();
	if (!h->users)
		goto bail_rooms;
	if (htable_idmap_init(&h->conns, offsetof(struct client, conn_id)))
		goto bail_users;
	qindex_init(&h->qidx);
	return h;

bail_users:
	rooms_destroy(h->users);
bail_rooms:
	rooms_destroy(h->rooms);
bail_codec:
	codec_destroy(h->codec);
bail_hist:
	hub_history_fini(h);
bail_hub:
	free(h);
	return NULL;
}

void
hub_set_options(struct hub *h, const struct rconf_process *p)
{
	struct hub_history_conf hc = {
		.size = p->history_size,
		.bytes = p->history_bytes,
		.ttl_s = p->history_ttl_s,
	};

	hub_configure_history(h, &hc);
	hub_set_max_queued_bytes(h, p->max_queued_bytes);
}

void
hub_destroy(struct hub *h)
{
	struct client *c, **all;
	size_t pos = 0, n = 0, i;

	if (!h)
		return;
	/* the first to leave must not queue presence to the rest, or wake them */
	all = malloc((h->conns.count + 1) * sizeof(*all));
	while ((c = hub_client_walk(h, &pos))) {
		c->closing = 1;
		if (all)
			all[n++] = c;
	}
	/* freeing takes each out of the walked table: free from a copy */
	for (i = 0; i < n; i++)
		hub_client_free(h, all[i]);
	free(all);
	pos = 0;
	while ((c = hub_client_walk(h, &pos))) { /* no copy (OOM) */
		hub_client_free(h, c);
		pos = 0;
	}
	htable_idmap_fini(&h->conns);
	idem_destroy(h->idem);
	rooms_destroy(h->users);
	rooms_destroy(h->rooms);
	hub_history_fini(h);
	codec_destroy(h->codec);
	free(h);
}

/*
 * The index is kept only while a cap is set: without one, fan-out pays
 * nothing for it. Setting the cap (at vhost init, before any client in a
 * server) rebuilds it from every client's ring, in O(clients).
 */
void
hub_set_conn_ids(struct hub *h, uint64_t base, uint64_t max)
{
	h->conn_base = base;
	h->conn_max = max;
}

void
hub_set_max_queued_bytes(struct hub *h, size_t cap)
{
	struct client *c;
	size_t pos;

	h->max_queued_bytes = cap;
	qindex_init(&h->qidx);
	for (pos = 0; (c = hub_client_walk(h, &pos));) {
		qindex_node_init(&c->qn);
		if (cap)
			qindex_set(&h->qidx, &c->qn, c->q.bytes);
	}
	h->shed_due = cap && rm_stats.queued_bytes > cap;
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
hub_client_walk(struct hub *h, size_t *pos)
{
	return htable_idmap_next(&h->conns, pos);
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
	struct client *c;

	/* past its range the id would be another process's */
	if (h->conn_max && h->next_conn_id >= h->conn_max)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->conn_id = h->conn_base + ++h->next_conn_id;
	if (htable_idmap_put(&h->conns, c)) {
		free(c);
		return NULL;
	}
	c->conf = conf;
	c->owner = owner;
	sendq_init(&c->q, conf->send_ring_size, conf->send_ring_bytes);
	c->tokens = conf->max_messages_per_second;
	c->tokens_ms = now_ms;
	hub_auth_client_init(c, now_ms);
	rm_stats.connections_active++;
	rm_stats.connections_total++;
	return c;
}

/*---- sending ----*/

/*
 * @c's ring held @before bytes and holds q.bytes now: keeps the
 * process-wide total and the size-class index true, and notes a shed
 * owed when the total went over max-queued-bytes.
 */
static void
ring_changed(struct hub *h, struct client *c, size_t before)
{
	rm_stats.queued_bytes += (uint64_t)c->q.bytes - (uint64_t)before;
	if (!h->max_queued_bytes)
		return;		/* no cap: no index (hub_set_max_queued_bytes) */
	qindex_set(&h->qidx, &c->qn, c->q.bytes);
	if (rm_stats.queued_bytes > h->max_queued_bytes)
		h->shed_due = 1;
}

/* Empties @c's ring, keeping the process-wide byte count true. */
static void
ring_clear(struct hub *h, struct client *c)
{
	size_t before = c->q.bytes;

	sendq_clear(&c->q);
	ring_changed(h, c, before);
}

/* Closes @c with @code: nothing more is queued to it, its ring goes. */
static void
close_client(struct hub *h, struct client *c, int code)
{
	c->closing = 1;
	ring_clear(h, c);
	h->ops->close(c->owner, code);
}

/* Closes @c as a slow consumer. */
static void
shed(struct hub *h, struct client *c)
{
	close_client(h, c, HUB_CLOSE_SLOW_CONSUMER);
}

/*
 * Our policy when all rings together hold more than max-queued-bytes: the
 * members holding the most are the ones not keeping up, so they are shed
 * (closed with 4001), largest size class first (qindex.h), until the total
 * is under 90% of the cap: the margin keeps one more broadcast from
 * shedding again at once. Called after a fan-out, never inside one, so a
 * broadcast costs O(members) and a shed O(1) per client shed, whatever
 * the number of clients. A ring of a client already closing for another
 * reason is just released.
 */
static void
shed_if_due(struct hub *h)
{
	size_t cap = h->max_queued_bytes, low = cap - cap / 10;
	struct qindex_node *n;
	struct client *c;

	if (!h->shed_due)
		return;
	h->shed_due = 0;
	if (!cap || rm_stats.queued_bytes <= cap)
		return;
	while (rm_stats.queued_bytes > low && (n = qindex_top(&h->qidx))) {
		c = (struct client *)((char *)n - offsetof(struct client, qn));
		if (c->closing) {
			ring_clear(h, c);
			continue;
		}
		rm_stats.slow_consumers_shed++;
		shed(h, c);
	}
}

/*
 * @c is owed something the server could not allocate: a message for it,
 * the answer to a request that changed its state, or even the error that
 * says `overloaded`. It cannot be told, so it is closed with 1011 and
 * comes back with `since` (PROTOCOL.md, Close codes).
 */
static void
fail_close(struct hub *h, struct client *c)
{
	if (c->closing)
		return;
	rm_stats.alloc_failures++;
	close_client(h, c, HUB_CLOSE_INTERNAL_ERROR);
}

/*
 * Queues the pending `dropped` notice if it fits. Returns 1 if no notice
 * is pending any more, 0 if it does not fit yet, or RM_E_NOMEM.
 */
static int
queue_notice(struct hub *h, struct client *c)
{
	struct msg *notice;
	int was_empty = !c->q.count;
	size_t before = c->q.bytes;

	if (!c->dropped_pending)
		return 1;
	if (!sendq_fits(&c->q, MSG_MAX_FRAME_HDR + 48))
		return 0;
	notice = codec_encode_dropped(c->dropped_pending);
	if (!notice || sendq_push(&c->q, notice)) {
		msg_unref(notice);
		return RM_E_NOMEM;	/* it fitted: only memory can fail */
	}
	ring_changed(h, c, before);
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
static void
send_one(struct hub *h, struct client *c, struct msg *m)
{
	int was_empty, err;
	size_t before;

	if (c->closing)
		return;
	/* a message never overtakes the notice of what was lost before it */
	err = queue_notice(h, c);
	if (err == RM_E_NOMEM)
		goto bail_oom;
	if (!err) {
		if (c->conf->drop_policy == RCONF_CLOSE)
			goto bail_close;
		drop(c);
		return;
	}
	was_empty = !c->q.count;
	before = c->q.bytes;	/* after the notice, which counted itself */
	err = sendq_push(&c->q, m);
	if (!err) {
		ring_changed(h, c, before);
		if (was_empty)
			h->ops->wake(c->owner);
		return;
	}
	if (err == RM_E_NOMEM)
		goto bail_oom;
	if (c->conf->drop_policy != RCONF_CLOSE) {
		drop(c);
		return;
	}
bail_close:
	rm_stats.slow_consumer_closes++;
	shed(h, c);
	return;
bail_oom:
	fail_close(h, c);
}

void
hub_send(struct hub *h, struct client *c, struct msg *m)
{
	send_one(h, c, m);
	shed_if_due(h);
}

/*
 * The server could not allocate what @c's request needed, and nothing
 * was done: answers `overloaded` (not counted as dropped), or closes @c
 * with 1011 when even that error cannot be made or queued.
 */
static void
overloaded(struct hub *h, struct client *c, const struct codec_cmd *cmd)
{
	struct msg *m;

	if (c->closing)
		return;
	rm_stats.alloc_failures++;
	m = codec_encode_error(RM_PE_OVERLOADED, "out of memory; nothing was "
			       "done", cmd ? cmd->type : NULL,
			       cmd ? &cmd->id : NULL);
	if (!m) {
		close_client(h, c, HUB_CLOSE_INTERNAL_ERROR);
		return;
	}
	send_one(h, c, m);
	msg_unref(m);
}

/*
 * Queues an answer @m about @cmd that changed nothing (an error, a pong,
 * a history or members answer) and drops the caller's reference; NULL
 * (out of memory) answers `overloaded` instead.
 */
static void
send_once(struct hub *h, struct client *c, struct msg *m,
	  const struct codec_cmd *cmd)
{
	if (!m) {
		overloaded(h, c, cmd);
		return;
	}
	send_one(h, c, m);
	msg_unref(m);
}

/*
 * Queues the answer @m to a request that changed @c's state (`joined`,
 * `left`); NULL: the change is done but cannot be told, so 1011.
 */
static void
send_state(struct hub *h, struct client *c, struct msg *m)
{
	if (!m) {
		fail_close(h, c);
		return;
	}
	send_one(h, c, m);
	msg_unref(m);
}

/* Encodes and queues an error about @cmd (NULL: unparsed, no ref or id). */
static void
send_error(struct hub *h, struct client *c, enum rm_proto_err e,
	   const char *message, const struct codec_cmd *cmd)
{
	send_once(h, c, codec_encode_error(e, message, cmd ? cmd->type : NULL,
					   cmd ? &cmd->id : NULL), cmd);
}

void
hub_written(struct hub *h, struct client *c, unsigned int n, size_t bytes)
{
	size_t before = c->q.bytes;

	sendq_pop(&c->q, n);
	ring_changed(h, c, before);
	rm_stats.messages_sent += n;
	rm_stats.bytes_sent += bytes;
	if (!c->closing && queue_notice(h, c) == RM_E_NOMEM)
		fail_close(h, c);
}

void
hub_deliver(struct hub *h, struct room *room, struct msg *m)
{
	struct member *mb;

	for (mb = room->members; mb; mb = mb->rnext)
		send_one(h, mb->client, m);
	shed_if_due(h);
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
		if (!m) {
			fail_close(h, o);	/* owed an event it cannot get */
			continue;
		}
		send_one(h, o, m);
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
	} else if (hub_history_leave(h, mb)) {
		return;		/* the last member: the room is kept */
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
	hub_auth_client_free(c);
	free(c->user_id);
	ring_clear(h, c);
	htable_idmap_del(&h->conns, c);
	rm_stats.connections_active--;
	free(c);
	shed_if_due(h);		/* its leave events may have crossed the cap */
}

void
hub_close_all(struct hub *h, int code)
{
	struct client *c;
	size_t pos = 0;

	while ((c = hub_client_walk(h, &pos))) {
		c->closing = 1;
		h->ops->close(c->owner, code);
	}
}

/*
 * Makes the room a join names, with history when the hub's history-size
 * (process-wide, hub_history.h) says so.
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
	} else {
		hub_history_room_new(h, room, c->conf);
	}
	return room;
}


/* Gives @c the user_id @cmd names, indexed for direct; RM_E_NOMEM: not. */
static int
bind_user(struct hub *h, struct client *c, const struct codec_cmd *cmd)
{
	c->user_id = strndup(cmd->user_id, cmd->user_len);
	if (!c->user_id)
		return RM_E_NOMEM;
	if (index_user(h, c)) {
		free(c->user_id);
		c->user_id = NULL;
		return RM_E_NOMEM;
	}
	return RM_OK;
}

static void
on_join(struct hub *h, struct client *c, struct codec_cmd *cmd)
{
	struct room *room;
	struct member *mb = NULL;
	int new_member = 0;

	if (cmd->user_id && c->user_id &&
	    (strlen(c->user_id) != cmd->user_len ||
	     memcmp(c->user_id, cmd->user_id, cmd->user_len))) {
		send_error(h, c, RM_PE_USER_MISMATCH, "user_id differs from "
			   "the one this connection joined with", cmd);
		return;
	}
	room = rooms_find(h->rooms, cmd->room_id, cmd->room_len);
	if (room)
		mb = rooms_member_of(c->rooms, room);
	if (!mb) {
		if (c->n_rooms >= c->conf->max_rooms_per_connection) {
			send_error(h, c, RM_PE_ROOM_LIMIT, "this connection is "
				   "in max-rooms-per-connection rooms",
				   cmd);
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
	if (cmd->user_id && !c->user_id && bind_user(h, c, cmd)) {
		if (new_member) {	/* undone: nothing was done */
			c->n_rooms--;
			if (rooms_remove_member(h->rooms, mb, &c->rooms))
				rm_stats.rooms_active--;
		}
		goto bail_oom;
	}
	if (h->cluster) {			/* cluster hook */
		h->cluster->join(h->cluster_arg, c, room, cmd, new_member);
		if (new_member)
			send_presence(h, room, c, "join");
		return;
	}
	hub_history_recover(h, c, room, cmd);
	if (new_member)
		send_presence(h, room, c, "join");
	return;

bail_oom:
	overloaded(h, c, cmd);
	return;
bail_unavailable:
	send_error(h, c, RM_PE_UNAVAILABLE, "the cluster's Redis cannot be "
		   "reached", cmd);
}

static void
on_leave(struct hub *h, struct client *c, struct codec_cmd *cmd)
{
	struct room *room = rooms_find(h->rooms, cmd->room_id, cmd->room_len);
	struct member *mb = room ? rooms_member_of(c->rooms, room) : NULL;
	char id[CODEC_ROOM_MAX + 1];

	if (!mb) {
		send_error(h, c, RM_PE_NOT_MEMBER, "not a member of this room",
			   cmd);
		return;
	}
	memcpy(id, room->id, room->id_len + 1);	/* the room may be freed */
	leave(h, c, mb);
	send_state(h, c, codec_encode_left(id, &cmd->id));
}

struct msg *
hub_accept_broadcast(struct hub *h, struct room *room, const char *sender,
		     const char *content, size_t content_len)
{
	struct msg *m;

	hub_history_next_seq(h, room);	/* may start a new epoch */
	m = codec_encode_broadcast(room->id, sender, room->seq + 1, content,
				   content_len);
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
			   cmd);
		return;
	}
	if (h->cluster) {			/* cluster hook */
		h->cluster->publish(h->cluster_arg, c, room, cmd);
		return;
	}
	m = hub_accept_broadcast(h, room, hub_user_id(c, guest), cmd->content,
				 cmd->content_len);
	if (!m) {
		overloaded(h, c, cmd);	/* no seq was taken */
		return;
	}
	hub_history_keep(h, room, m);
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
	uint64_t conn_id;

	if (guest_id_parse(id, len, &conn_id))
		return NULL;
	c = htable_idmap_get(&h->conns, conn_id);
	/* a connection that joined with a user_id is no longer its guest id */
	return c && !c->user_id && hub_auth_reachable_guest(c) ? c : NULL;
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
			   "cannot be reached", cmd);
		return;
	}
	if (h->cluster) {			/* cluster hook */
		h->cluster->direct(h->cluster_arg, c, cmd);
		return;
	}
	if (!u && !guest) {
		send_error(h, c, RM_PE_NO_SUCH_USER, "no connection of this "
			   "user is connected", cmd);
		return;
	}
	m = codec_encode_direct(hub_user_id(c, from), cmd->content,
				cmd->content_len);
	if (!m) {
		overloaded(h, c, cmd);
		return;
	}
	if (guest && guest != c)
		send_one(h, guest, m);
	for (mb = u ? u->members : NULL; mb; mb = mb->rnext)
		if (mb->client != c)
			send_one(h, mb->client, m);
	msg_unref(m);
}

/* A member's `history` request when clustered: history lives in Redis. */
static void
on_cluster_history(struct hub *h, struct client *c, struct codec_cmd *cmd)
{
	struct room *room = rooms_find(h->rooms, cmd->room_id, cmd->room_len);

	if (!room || !rooms_member_of(c->rooms, room)) {
		send_error(h, c, RM_PE_NOT_MEMBER, "not a member of this room",
			   cmd);
		return;
	}
	h->cluster->history(h->cluster_arg, c, room, cmd);	/* cluster hook */
}

/* A member's `members` request: the room's distinct users (roster.h). */
static void
on_members(struct hub *h, struct client *c, struct codec_cmd *cmd)
{
	struct room *room = rooms_find(h->rooms, cmd->room_id, cmd->room_len);

	if (!room || !rooms_member_of(c->rooms, room)) {
		send_error(h, c, RM_PE_NOT_MEMBER, "not a member of this room",
			   cmd);
		return;
	}
	if (h->cluster && !h->cluster->up(h->cluster_arg)) { /* cluster */
		send_error(h, c, RM_PE_UNAVAILABLE,
			   "the cluster's Redis "
			   "cannot be reached",
			   cmd);
		return;
	}
	if (h->cluster) { /* cluster hook */
		h->cluster->members(h->cluster_arg, c, room, cmd);
		return;
	}
	send_once(h, c, roster_encode(room, &cmd->id,
				      c->conf->send_ring_bytes), cmd);
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
		return "user_id must be 1-64 bytes of [A-Za-z0-9_.@:-]; "
		       "one starting with guest- is the server's to give";
	default:
		return codec_err_name(e);
	}
}

static int
on_text(struct hub *h, struct client *c, const char *text, size_t len,
	int64_t now_ms)
{
	struct codec_cmd cmd;
	enum rm_proto_err e;

	h->now_ms = now_ms;
	if (!rate_ok(c, now_ms)) {
		rm_stats.rate_limited++;
		send_error(h, c, RM_PE_RATE_LIMITED, "over "
			   "max-messages-per-second; message discarded", NULL);
		return 0;
	}
	e = codec_decode(h->codec, text, len, &cmd);
	if (e == RM_PE_INVALID_UTF8)
		return HUB_CLOSE_INVALID_UTF8;
	if (e) {
		send_error(h, c, e, error_text(e), &cmd);
		return 0;
	}
	if (hub_auth_gate(h, c, &cmd))
		return 0;
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
		send_once(h, c, codec_encode_pong(&cmd.id), &cmd);
		break;
	case CODEC_OP_DIRECT:
		on_direct(h, c, &cmd);
		break;
	case CODEC_OP_HISTORY:
		if (h->cluster)
			on_cluster_history(h, c, &cmd);
		else
			hub_history_on_request(h, c, &cmd);
		break;
	case CODEC_OP_MEMBERS:
		on_members(h, c, &cmd);
		break;
	case CODEC_OP_AUTH:	/* hub_auth_gate's */
		break;
	}
	return 0;
}

int
hub_on_text(struct hub *h, struct client *c, const char *text, size_t len,
	    int64_t now_ms)
{
	int code = on_text(h, c, text, len, now_ms);

	shed_if_due(h);		/* after the fan-out (shed_if_due) */
	return code;
}

void
hub_on_binary(struct hub *h, struct client *c)
{
	send_error(h, c, RM_PE_BAD_FRAME, "binary messages are not part of "
		   "roomcast.v1; send JSON as text", NULL);
	shed_if_due(h);
}

void
hub_client_leave(struct hub *h, struct client *c, struct member *mb)
{
	leave(h, c, mb);
}

int
hub_client_index(struct hub *h, struct client *c)
{
	return index_user(h, c);
}

/*---- for the hub's feature files (hub_internal.h) ----*/

void
hub_send_once(struct hub *h, struct client *c, struct msg *m,
	      const struct codec_cmd *cmd)
{
	send_once(h, c, m, cmd);
}

void
hub_send_state(struct hub *h, struct client *c, struct msg *m)
{
	send_state(h, c, m);
}

void
hub_send_dropped(struct client *c)
{
	drop(c);
}

struct client *
hub_find_guest(struct hub *h, const char *id, size_t len)
{
	return find_guest(h, id, len);
}

void
hub_send_error(struct hub *h, struct client *c, enum rm_proto_err e,
	       const char *message, const struct codec_cmd *cmd)
{
	send_error(h, c, e, message, cmd);
}

/*---- cluster hooks (hub.h) ----*/

void
hub_set_cluster(struct hub *h, const struct hub_cluster_ops *ops, void *arg)
{
	h->cluster = ops;
	h->cluster_arg = arg;
	cluster_room_free = ops ? ops->room_free : NULL;
}

int
hub_is_clustered(const struct hub *h)
{
	return h->cluster != NULL;
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
hub_send_error_ref(struct hub *h, struct client *c, enum rm_proto_err e,
		   const char *message, const char *ref,
		   const struct codec_span *id)
{
	send_once(h, c, codec_encode_error(e, message, ref, id), NULL);
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
hub_client_leave_room(struct hub *h, struct client *c, struct room *room)
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
