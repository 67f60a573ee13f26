/*
 * hub.h: roomcast.v1's behaviour, apart from any transport.
 *
 * The hub owns the connections' protocol state (struct client, opaque
 * outside hub.c), the rooms, and the rules of PROTOCOL.md: it takes one
 * complete client message at a time and answers by queueing msgs on send
 * rings. It never writes to a socket: it calls ops->wake(owner) when a
 * ring goes from empty to non-empty, and ops->close(owner, code) when a
 * connection must be closed asynchronously (the policy `close`). One hub
 * serves every vhost of the process, so a room is the same room whichever
 * listener its members came in on.
 *
 * A transport (plugin/lws/) uses five groups of calls:
 *  - life:    hub_client_new(), hub_client_free(), hub_close_all();
 *  - input:   hub_on_text(), hub_on_binary();
 *  - output:  hub_client_queued() and hub_client_peek() (the next frames
 *             to write), hub_written() (they were written);
 *  - closing: hub_client_set_closing(), hub_client_closing();
 *  - sweeps:  hub_client_walk(), hub_client_owner(),
 *             hub_client_conf().
 *
 * The seam for phase 2: a broadcast is accepted once (given the room's
 * next seq, encoded) by hub_accept_broadcast() and handed to the local
 * members by hub_deliver(). The two are apart on purpose: a message bus
 * between processes carries what one process accepted and calls
 * hub_deliver() in the others, and a server API that publishes into a
 * room calls the pair itself, with no connection of its own.
 *
 * Not thread-safe; service thread only. Knows nothing of lws.
 */
#ifndef HUB_H
#define HUB_H

#include "codec.h"
#include "rconf.h"
#include "rooms.h"
#include "sendq.h"

#include <stddef.h>
#include <stdint.h>

struct msg;

struct hub_ops {
	/* @owner's ring went from empty to non-empty: schedule a write. */
	void (*wake)(void *owner);
	/*
	 * Close @owner with WebSocket close @code, not from inside this call.
	 * The hub has already marked the client closing.
	 */
	void (*close)(void *owner, int code);
};

/* WebSocket close codes the hub asks for. */
#define HUB_CLOSE_INVALID_UTF8 1007
#define HUB_CLOSE_SLOW_CONSUMER 4001
/* Out of memory where a client is owed something (docs/RELIABILITY.md). */
#define HUB_CLOSE_INTERNAL_ERROR 1011

/*
 * A connection's protocol state: opaque outside hub.c. A transport reaches
 * it only through the hub_client_* calls below.
 */
struct client;

struct hub;

/* Room enough for "guest-" and any conn_id, with its NUL. */
#define HUB_USER_ID_MAX (CODEC_USER_MAX + 1 > 27 ? CODEC_USER_MAX + 1 : 27)

/* @c's user_id: the one it joined with, or its guest id written in @buf. */
const char *hub_user_id(const struct client *c, char buf[HUB_USER_ID_MAX]);

/*
 * Creates the hub. @instance distinguishes this run of the server in
 * every room epoch (a random number: a restart renumbers all rooms).
 * Returns NULL on OOM.
 */
struct hub *hub_create(const struct hub_ops *ops, uint64_t instance);

/*
 * Sets the process-wide options (history-size, max-queued-bytes: rconf.h,
 * scope); until then both are 0 (off). history-size applies to rooms
 * created afterwards.
 */
void hub_set_options(struct hub *h, const struct rconf_process *p);

/* Frees every client still registered, every room, and the hub. */
void hub_destroy(struct hub *h);

/*
 * Sets max-queued-bytes, a process-wide bound (0 = none): past it, after
 * the fan-out that crossed it, the rings holding the most are shed (4001)
 * until all together hold under 90% of it.
 */
void hub_set_max_queued_bytes(struct hub *h, size_t cap);

/*
 * Numbers the connections made from now on @base + 1, @base + 2, ...,
 * at most @base + @max (0: no bound); hub_client_new() refuses those past
 * it. A cluster gives each process its own range, so a guest id
 * ("guest-<conn_id>") names one connection in the whole cluster. The
 * count goes on from where it was, so ids stay unique in the process.
 */
void hub_set_conn_ids(struct hub *h, uint64_t base, uint64_t max);

/*---- connection life ----*/

/*
 * Registers a new upgraded connection with @conf (which must outlive it)
 * and the transport's @owner; assigns its conn_id. Counts it in stats.
 * Returns NULL on OOM.
 */
struct client *hub_client_new(struct hub *h, const struct rconf *conf,
			      void *owner, int64_t now_ms);

/*
 * Removes a closed connection: it leaves every room at once (empty rooms
 * are freed), its ring is released, and it is freed.
 */
void hub_client_free(struct hub *h, struct client *c);

/* Asks every connection to close with @code (shutdown: 1001). */
void hub_close_all(struct hub *h, int code);

/*---- input ----*/

/*
 * Handles one complete client text message of @len bytes. Returns 0, or a
 * WebSocket close code the transport must close with now
 * (HUB_CLOSE_INVALID_UTF8).
 */
int hub_on_text(struct hub *h, struct client *c, const char *text,
		size_t len, int64_t now_ms);

/* Handles one complete binary message: error bad_frame. */
void hub_on_binary(struct hub *h, struct client *c);

/*---- output: what the transport writes ----*/

/* How many msgs wait on @c's ring to be written. */
unsigned int hub_client_queued(const struct client *c);

/*
 * The @i-th oldest msg waiting on @c's ring (@i < hub_client_queued()).
 * Borrowed: the ring keeps its reference until hub_written() pops it.
 */
struct msg *hub_client_peek(const struct client *c, unsigned int i);

/*
 * The transport wrote the @n oldest msgs of @c's ring (@bytes, the sum of
 * their frame lengths): they are released and counted, and a pending
 * `dropped` notice is queued if the ring has room again.
 */
void hub_written(struct hub *h, struct client *c, unsigned int n,
		 size_t bytes);

/*---- closing ----*/

/*
 * The transport is closing @c on its own account (heartbeat, oversized or
 * invalid input): nothing more is queued to it. What its ring holds stays
 * until hub_client_free().
 */
void hub_client_set_closing(struct client *c);

/* 1 once a close of @c was asked for, by the hub or the transport. */
int hub_client_closing(const struct client *c);

/*---- iteration, for sweeps over every connection ----*/

/*
 * Walks every client, in no order: the next one from *@pos on (start with
 * 0), or NULL at the end. Do not free or add a client while walking
 * (asking for a close is fine).
 */
struct client *hub_client_walk(struct hub *h, size_t *pos);

/* The transport's connection given to hub_client_new(). */
void *hub_client_owner(const struct client *c);

/* The vhost settings given to hub_client_new(). */
const struct rconf *hub_client_conf(const struct client *c);

/*---- inspection (tests, status) ----*/

struct hub_client_info {
	uint64_t conn_id;
	const char *user_id;		/* NULL: a guest (see hub_user_id) */
	unsigned int queued;		/* msgs on its ring */
	size_t queued_bytes;		/* their frame bytes */
	uint64_t dropped_pending;	/* lost since its last `dropped` notice */
	unsigned int n_rooms;
	const struct member *rooms;	/* its memberships, linked by cnext */
	int closing;
};

/* Fills @out with a snapshot of @c; the pointers live as long as @c. */
void hub_client_info(const struct client *c, struct hub_client_info *out);

/* 1 if a frame of @frame_len bytes would fit on @c's ring now. */
int hub_client_fits(const struct client *c, size_t frame_len);

/*---- the accept/deliver seam (see the top of this file) ----*/

/*
 * Accepts a broadcast from @sender to @room: gives it the room's next seq
 * and encodes it once. Returns a new msg holding one reference, the
 * caller's (msg_unref() it after hub_deliver()), or NULL on OOM. @content
 * is the value's JSON text. The caller keeps it in the room's history
 * (hub_history_keep(), which also queues it for history-db) and hands it
 * to hub_deliver(); a message bus would publish it between the two. With
 * history-db, the room may start a new epoch first (its members get the
 * `epoch` notice: hub_history.h).
 */
struct msg *hub_accept_broadcast(struct hub *h, struct room *room,
				 const char *sender, const char *content,
				 size_t content_len);

/*
 * Queues @m to every local member of @room, under each one's policy. Takes
 * no reference from the caller: each ring takes its own. The entry point
 * for msgs accepted elsewhere (another process, the server API).
 */
void hub_deliver(struct hub *h, struct room *room, struct msg *m);

/* Queues @m on @c's ring under its drop policy; takes its own reference. */
void hub_send(struct hub *h, struct client *c, struct msg *m);

/* The room called @id, or NULL. */
struct room *hub_room(struct hub *h, const char *id);

/*---- cluster hooks (PROTOCOL.md, Cluster over Redis) ----*/

/*
 * A clustered process numbers, stores and fans out a room's messages
 * through Redis (plugin/lws/cluster.c). The hub calls these at the points
 * where one process would do it itself; without them (hub_set_cluster()
 * never called) nothing changes. @arg is hub_set_cluster()'s.
 */
struct hub_cluster_ops {
	/* Redis answers now: 0 makes join/broadcast/history `unavailable`. */
	int (*up)(void *arg);
	/* A room was made locally: its data (room->data), or NULL on OOM. */
	void *(*room_new)(void *arg, struct room *room);
	/* The room is being freed: free room->data. */
	void (*room_free)(struct room *room);
	/*
	 * @c is a member of @room now (@new_member, or again): answer
	 * `joined` (and any recovery) when Redis has. @cmd lives only during
	 * the call.
	 */
	void (*join)(void *arg, struct client *c, struct room *room,
		     const struct codec_cmd *cmd, int new_member);
	/* @c is leaving @room (still counted in it); it may go with it. */
	void (*left)(void *arg, struct client *c, struct room *room);
	/* A member's broadcast, to be numbered and fanned out via Redis. */
	void (*publish)(void *arg, struct client *c, struct room *room,
			const struct codec_cmd *cmd);
	/* A member's `history` request. */
	void (*history)(void *arg, struct client *c, struct room *room,
			const struct codec_cmd *cmd);
	/* @c is about to be freed: forget it in any pending request. */
	void (*client_free)(void *arg, struct client *c);
	/* This process now has @count connections of user @id (0: none). */
	void (*user)(void *arg, const char *id, unsigned int count);
	/* A presence @event about @c in @room, for the room's members. */
	void (*presence)(void *arg, struct client *c, struct room *room,
			 const char *event);
	/* A `direct` message (Redis is up). */
	void (*direct)(void *arg, struct client *c,
		       const struct codec_cmd *cmd);
	/* A member's `members` request (Redis is up): users everywhere. */
	void (*members)(void *arg, struct client *c, struct room *room,
			const struct codec_cmd *cmd);
};

/* Makes @h clustered through @ops (which must outlive @h). */
void hub_set_cluster(struct hub *h, const struct hub_cluster_ops *ops,
		     void *arg);

/* 1 if the hub is one process of a cluster (hub_set_cluster). */
int hub_is_clustered(const struct hub *h);

/* The cluster's slot in @c (a pending request), and setting it. */
void *hub_client_cluster(const struct client *c);
void hub_client_set_cluster(struct client *c, void *p);

/*
 * Queues error @e to @c; @ref (the request's type) and @id (its `id`, as
 * written) may be NULL: for answers that come after the request is gone.
 */
void hub_send_error_ref(struct hub *h, struct client *c, enum rm_proto_err e,
			const char *message, const char *ref,
			const struct codec_span *id);

/* @c lost @n messages it will never get: counted in a `dropped` notice. */
void hub_client_lost(struct hub *h, struct client *c, uint64_t n);

/*
 * Queues @m to every local connection of user @id (a guest id included)
 * but the one with conn_id @except. Returns how many, or -1 if the user
 * has no connection here.
 */
int hub_deliver_direct(struct hub *h, const char *id, size_t len,
		       struct msg *m, uint64_t except);

/* @c's conn_id. */
uint64_t hub_client_id(const struct client *c);

/* Takes @c out of @room (as a leave, without the `left` answer). */
void hub_client_leave_room(struct hub *h, struct client *c, struct room *room);

#endif
