/*
 * hub.h: roomcast.v1's behaviour, apart from any transport.
 *
 * The hub owns the connections' protocol state (struct client), the rooms,
 * and the rules of PROTOCOL.md: it takes one complete client message at a
 * time and answers by queueing msgs on send rings. It never writes to a
 * socket: it calls ops->wake(owner) when a ring goes from empty to
 * non-empty, and ops->close(owner, code) when a connection must be closed
 * asynchronously (the policy `close`). The transport drains rings through
 * hub_written(). One hub serves every vhost of the process, so a room is
 * the same room whichever listener its members came in on.
 *
 * A broadcast is accepted once (validated, given the room's next seq,
 * encoded) by hub_accept_broadcast() and handed to local members by
 * hub_deliver(); the two are apart so that a future bus between
 * processes can carry accepted msgs.
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
	/* Close @owner with WebSocket close @code, not from inside this call. */
	void (*close)(void *owner, int code);
};

/* WebSocket close codes the hub asks for. */
#define HUB_CLOSE_INVALID_UTF8 1007
#define HUB_CLOSE_SLOW_CONSUMER 4001

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
	struct client *prev, *next;	/* every client of the hub */
};

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
void hub_destroy(struct hub *h);

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

/*
 * Handles one complete client text message of @len bytes. Returns 0, or a
 * WebSocket close code the transport must close with now
 * (HUB_CLOSE_INVALID_UTF8).
 */
int hub_on_text(struct hub *h, struct client *c, const char *text,
		size_t len, int64_t now_ms);

/* Handles one complete binary message: error bad_frame. */
void hub_on_binary(struct hub *h, struct client *c);

/*
 * The transport wrote the @n oldest msgs of @c's ring (@bytes, the sum of
 * their frame lengths): they are released and counted, and a pending `dropped` notice is
 * queued if the ring has room again.
 */
void hub_written(struct hub *h, struct client *c, unsigned int n,
		 size_t bytes);

/* Asks every connection to close with @code (shutdown: 1001). */
void hub_close_all(struct hub *h, int code);

/* The newest client; c->next leads to the older ones. Do not free while walking. */
struct client *hub_clients(struct hub *h);

/*
 * Accepts a broadcast from @sender to @room: gives it the room's next seq
 * and encodes it once. Returns the msg (one reference, the caller's) or
 * NULL on OOM. @content is the value's JSON text.
 */
struct msg *hub_accept_broadcast(struct hub *h, struct room *room,
				 const char *sender, const char *content,
				 size_t content_len);

/* Queues @m to every local member of @room, under each one's policy. */
void hub_deliver(struct hub *h, struct room *room, struct msg *m);

/* Queues @m on @c's ring under its drop policy. */
void hub_send(struct hub *h, struct client *c, struct msg *m);

/* The room called @id, or NULL. */
struct room *hub_room(struct hub *h, const char *id);

#endif
