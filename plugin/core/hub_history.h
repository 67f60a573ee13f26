/*
 * hub_history.h: the hub's rooms with history (PROTOCOL.md, History and
 * recovery; docs/HISTORY.md).
 *
 * With history on, a room outlives its last member: it is kept, with its
 * seq, its epoch and its held broadcasts, for history-ttl-s after the last
 * member left or the last message, then freed by the periodic
 * hub_history_tick() (no timer per room). Memory stays bounded:
 *  - held broadcasts: history-size per room and history-bytes for all
 *    rooms together, the oldest messages of the largest rooms evicted
 *    first (counted in history_evicted);
 *  - kept rooms (no member): at most kept_max, the longest idle freed
 *    first (counted in history_rooms_evicted); joined rooms are bounded by
 *    connections x max-rooms-per-connection as before.
 * The held msgs are the very frames the send rings hold (a reference, no
 * copy). With a store (history-db), each broadcast is also queued for the
 * store's writer, and seqs are handed out under its reservation rule.
 *
 * Not thread-safe; service thread only. Knows nothing of lws.
 */
#ifndef HUB_HISTORY_H
#define HUB_HISTORY_H

#include "hub.h"

#include <stddef.h>
#include <stdint.h>

struct store;
struct member;

/* Kept rooms held at most, by default (see docs/HISTORY.md, Bounds). */
#define HUB_KEPT_MAX 65536

/* The process-wide history options (the hub's, not a vhost's). */
struct hub_history_conf {
	unsigned int size;	/* history-size; 0: history off */
	size_t bytes;		/* history-bytes; 0: no byte bound */
	unsigned int ttl_s;	/* history-ttl-s */
	unsigned int kept_max;	/* kept rooms; 0: HUB_KEPT_MAX */
};

/*
 * Sets the hub's history options (process-wide: hub_set_options() passes
 * the values every vhost agreed on, rconf.h scopes). Rooms made before
 * keep the size they were made with. Without a call, a room's
 * history-size is its creator's vhost's, with the defaults of
 * PROTOCOL.md for the rest. Returns 1.
 */
int hub_configure_history(struct hub *h, const struct hub_history_conf *hc);

/*
 * Makes @s the hub's store and loads every room it holds (kept, as after
 * their last member left). Call once, at start, before any client.
 * Returns 0, or -1 with a one-line reason in @err.
 */
int hub_history_attach_store(struct hub *h, struct store *s, char *err,
			     size_t errlen);

/*
 * Clean shutdown of the store: lowers every room's reserved mark to its
 * last seq, writes what is queued and closes it. No-op without a store.
 */
void hub_history_close_store(struct hub *h);

/* The periodic sweep: frees kept rooms past history-ttl-s, polls the store. */
void hub_history_tick(struct hub *h, int64_t now_ms);

/*
 * Holds @m (just given @room's seq by hub_accept_broadcast()) in @room's
 * history and queues it for the store. The caller still owns its
 * reference and hands @m to hub_deliver() next.
 */
void hub_history_keep(struct hub *h, struct room *room, struct msg *m);

/* @room's held broadcasts, oldest first, or NULL (no history). */
const struct history *hub_room_history(const struct room *room);

/* Writes @room's epoch (at most 64 bytes and the NUL) into @buf. */
void hub_room_epoch(const struct hub *h, const struct room *room, char *buf,
		    size_t len);

/*
 * The room called @id, made (counted in rooms_active, a new epoch) when
 * not held: for publishing without a connection (the server API). Give
 * it back with hub_room_done(). NULL on OOM.
 */
struct room *hub_room_open(struct hub *h, const char *id, size_t len);

/* Frees @room if it has no member and no history (history off). */
void hub_room_done(struct hub *h, struct room *room);

/*---- inside the hub (hub.c) ----*/

int hub_history_init(struct hub *h);
void hub_history_fini(struct hub *h);
/* rooms' free hook: a room's history goes with it. */
void hub_history_room_freed(struct room *room);
/* A room was just made for a join by a client on @conf's vhost. */
void hub_history_room_new(struct hub *h, struct room *room,
			  const struct rconf *conf);
/* @mb is leaving; 1 if it was the last one and the room is kept. */
int hub_history_leave(struct hub *h, struct member *mb);
/* Answers a join with `joined` and replays what it asked for. */
void hub_history_recover(struct hub *h, struct client *c, struct room *room,
			 const struct codec_cmd *cmd);
/* Before @room's next seq is given: the store's reservation rule. */
void hub_history_next_seq(struct hub *h, struct room *room);
/* A member's `history` request. */
void hub_history_on_request(struct hub *h, struct client *c,
			    const struct codec_cmd *cmd);

#endif
