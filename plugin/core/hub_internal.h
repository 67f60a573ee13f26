/*
 * hub_internal.h: the hub's own state, shared by the core files that make
 * up the hub (hub.c and the feature files beside it: roster.c, and the
 * phase-2 ones). Nothing outside plugin/core includes it: to the transport
 * a struct client is opaque (hub.h). Not thread-safe; service thread only.
 */
#ifndef HUB_INTERNAL_H
#define HUB_INTERNAL_H

#include "hub.h"

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
	struct hub_hist *hist;		/* rooms with history (hub_history.c) */
	int64_t now_ms;			/* the last clock reading given */
};

/* Queues @m (NULL: counted as dropped) to @c; drops the caller's ref. */
void hub_send_once(struct hub *h, struct client *c, struct msg *m);

/* Encodes and queues an error about @cmd to @c. */
void hub_send_error(struct hub *h, struct client *c, enum rm_proto_err e,
		    const char *message, const struct codec_cmd *cmd);

#endif
