/*
 * hub_internal.h: the hub's own state, shared by the core files that make
 * up the hub (hub.c and the feature files beside it: roster.c, and the
 * phase-2 ones). Nothing outside plugin/core includes it: to the transport
 * a struct client is opaque (hub.h). Not thread-safe; service thread only.
 */
#ifndef HUB_INTERNAL_H
#define HUB_INTERNAL_H

#include "hub.h"
#include "htable.h"
#include "qindex.h"
#include "idem.h"

struct client {
	uint64_t conn_id;
	/*
	 * The user_id a join gave, NULL before: a guest is "guest-<conn_id>"
	 * (hub_user_id), kept nowhere, so idle connections pay 8 bytes.
	 */
	char *user_id;
	struct sendq q;
	struct qindex_node qn;		/* q.bytes in the hub's index */
	uint64_t dropped_pending;	/* dropped since the last notice */
	uint8_t closing; /* a close was asked for: send nothing */
	uint8_t authed;	 /* auth.claims holds the claims */
	unsigned int n_rooms;
	struct member *rooms;		/* this client's memberships */
	struct member *user_entry;	/* its place in the user index */
	const struct rconf *conf;	/* its vhost's settings */
	void *owner;			/* the transport's connection */
	double tokens;			/* rate limit bucket */
	int64_t tokens_ms;
	void *cluster;			/* cluster hook: a pending request */
	/*
	 * Auth (hub_auth.c), on a vhost with a keyring: until the connection
	 * authenticated, auth.by_ms is its 4003 deadline; then (authed)
	 * auth.claims are the verified token's claims. One word for both:
	 * 8 bytes less per idle connection is 16 less from malloc
	 * (docs/PERFORMANCE.md, idle memory).
	 */
	union {
		struct auth_claims *claims;
		int64_t by_ms;
	} auth;
	/* every client is in hub->conns (walked by hub_client_walk) */
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
	/* conn_id -> client: every connection, found by guest ids */
	struct htable_idmap conns;
	uint64_t next_conn_id;		/* the local count */
	uint64_t conn_base, conn_max;	/* hub_set_conn_ids() */
	uint64_t instance;
	/*
	 * max-queued-bytes, process-wide (hub_set_max_queued_bytes): the
	 * rings by size class, and a shed owed once the fan-out that went
	 * over the cap has finished (shed_if_due in hub.c).
	 */
	size_t max_queued_bytes;
	struct qindex qidx;
	int shed_due;
	struct idem *idem;		/* the API's keys (hub_api.c), lazily */
	struct hub_hist *hist;		/* rooms with history (hub_history.c) */
	int64_t now_ms;			/* the last clock reading given */
	const struct hub_cluster_ops *cluster;	/* NULL: one process */
	void *cluster_arg;
};

/* Leaves @mb's room (hub.c), telling the others; frees it if now empty. */
void hub_client_leave(struct hub *h, struct client *c, struct member *mb);

/* Files @c under its user_id for direct messages (hub.c); RM_E_NOMEM. */
int hub_client_index(struct hub *h, struct client *c);

/*
 * Queues an answer @m about @cmd that changed nothing (an error, a pong,
 * a history or members answer) and drops the caller's reference; NULL
 * (out of memory) answers `overloaded` instead.
 */
void hub_send_once(struct hub *h, struct client *c, struct msg *m,
		   const struct codec_cmd *cmd);

/*
 * Queues the answer @m to a request that changed @c's state (`joined`,
 * `left`) and drops the caller's reference; NULL: the change is done but
 * cannot be told, so @c is closed with 1011.
 */
void hub_send_state(struct hub *h, struct client *c, struct msg *m);

/* Counts a message @c does not get, as a full ring does (drop policy). */
void hub_send_dropped(struct client *c);

/* Encodes and queues an error about @cmd to @c. */
void hub_send_error(struct hub *h, struct client *c, enum rm_proto_err e,
		    const char *message, const struct codec_cmd *cmd);

/* The open guest connection "guest-<conn_id>" @id names, or NULL: O(1). */
struct client *hub_find_guest(struct hub *h, const char *id, size_t len);

#endif
