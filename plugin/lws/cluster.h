/*
 * cluster.h: what the cluster's two glue files share (PROTOCOL.md, Cluster
 * over Redis).
 *
 *   redis.c    two hiredis 0.14 async connections (commands; channel
 *              subscriptions) driven by the lws event loop itself: each
 *              socket is adopted into lws as a raw file descriptor, so lws
 *              only reports readiness and hiredis reads and writes; the
 *              connect and command timeouts, the keep-alive PING and the
 *              reconnect backoff run on the sweep (cluster_tick()).
 *   cluster.c  the hub's cluster hooks (hub.h): joins, broadcasts and
 *              history through the Lua scripts of bus.h, subscriptions
 *              on demand, delivery from the channels, catching up after a
 *              reconnect.
 *
 * Service thread only.
 */
#ifndef CLUSTER_H
#define CLUSTER_H

#include "bus.h"

#include <libwebsockets.h>

#include <stddef.h>
#include <stdint.h>

struct lws_vhost;
struct redisReply;

/* The raw protocol the Redis sockets are adopted under (vhost.c). */
#define CLUSTER_REDIS_PROTOCOL "roomcast-redis"

/* A reply to redis_command(): @r is NULL when the connection failed. */
typedef void (*redis_reply_cb)(struct redisReply *r, void *arg);

/*---- redis.c ----*/

/*
 * Connects to @u synchronously (at most 2 s) and PINGs: the start-up check
 * of PROTOCOL.md; then INCRs @seq_key into *@seq (the node number's
 * source). Returns 0, or -1 with a one-line reason in @err.
 */
int redis_check(const struct bus_url *u, const char *seq_key, long long *seq,
		char *err, size_t errlen);

/*
 * Starts connecting to @u; sockets are adopted into @vh. Each connection
 * is named "@name:cmd" / "@name:sub" (CLIENT SETNAME, for CLIENT LIST).
 */
int redis_start(struct lws_vhost *vh, const struct bus_url *u,
		const char *name, const char *const *scripts,
		unsigned int n_scripts);

/* Closes both connections; pending replies get NULL. */
void redis_stop(void);

/* 1 when both connections are ready (scripts loaded, subscribed). */
int redis_is_up(void);

/* The SHA1 of script @i given to redis_start() (valid while up). */
const char *redis_script_sha(unsigned int i);

/*
 * Sends a command on the command connection; @cb gets the reply, in the
 * order sent. Returns 0, or -1 (down: @cb is not called).
 */
int redis_command(redis_reply_cb cb, void *arg, int argc, const char **argv,
		  const size_t *lens);

/* (UN)SUBSCRIBE @n channels at once. Returns 0 or -1 (down). */
int redis_subscribe(int on, unsigned int n, const char **chans,
		    const size_t *lens);

/* Timeouts, keep-alive and reconnects; from the sweep. */
void redis_tick(int64_t now_ms);

/* "up", "down" (for /stats). */
const char *redis_state_name(void);

/*---- cluster.c: what redis.c reports ----*/

/* Both connections are ready (again). */
void cluster_on_up(void);

/* The connections were lost. */
void cluster_on_down(void);

/* A subscription was confirmed. */
void cluster_on_subscribed(const char *chan, size_t len);

/* A message on a subscribed channel. */
void cluster_on_message(const char *chan, size_t chan_len, const char *data,
			size_t len);

/*---- cluster.c: what the rest of the glue calls ----*/

/*
 * At a vhost's init: clusters the hub when @conf has redis-url (the first
 * such vhost decides the URL and prefix; another vhost naming another URL
 * fails). Returns 0, or -1 with the reason logged (unreachable Redis).
 */
struct rconf;
int cluster_vhost_init(struct lws_vhost *vh, const struct rconf *conf);

/* The last vhost is going: leave the cluster. */
void cluster_stop(void);

/* From the sweep, each tick. */
void cluster_tick(int64_t now_ms);

/*
 * The server API's publish (PROTOCOL.md, Server API) when clustered:
 * numbers, stores and publishes @content (@len bytes of JSON text) to room
 * @room as @sender, with @idem_key (@idem_len bytes, any; 0 for none)
 * checked in the same script. @done gets 0 with the seq and epoch (@repeated: the key was
 * seen; nothing was published again), or -1 (Redis unreachable: the API
 * answers 503). Members everywhere, this process's included, get the
 * message through the room's channel. Returns 0, or -1 (down, or out of
 * memory: @done is not called).
 */
typedef void (*cluster_publish_cb)(void *arg, int err, uint64_t seq,
				   const char *epoch, int repeated);
int cluster_api_publish(const char *room, const char *sender,
			const char *content, size_t len, const char *idem_key,
			size_t idem_len, cluster_publish_cb done, void *arg);

/*
 * The server API's GET /api/history/R when clustered: room @room's last
 * @limit (0: 100) messages the cluster's stream holds. @done gets 0 with
 * the answer text (malloc'd, @len bytes; NULL out of memory), or 0 with
 * @found 0 for a room Redis holds no numbering of, or -1 (Redis
 * unreachable). Returns 0, or -1 (down, or out of memory: @done is not
 * called).
 */
typedef void (*cluster_history_cb)(void *arg, int err, char *text, size_t len,
				   int found);
int cluster_api_history(const char *room, uint64_t limit,
			cluster_history_cb done, void *arg);

/*
 * The server API's GET /api/rooms/R when clustered: members counted and
 * users listed on every process (users within @max_bytes, as the
 * `members` message), the room's seq and epoch. @done as
 * cluster_api_history()'s (@found 0: Redis holds no numbering of R).
 */
int cluster_api_room(const char *room, size_t max_bytes,
		     cluster_history_cb done, void *arg);

/*
 * The server API's direct when clustered: {"type":"direct","from":@from,
 * "content":@content} to every connection of user @to on every process;
 * a guest id of another process goes to that process alone, which
 * answers (cluster_guest_here() is 0 for it). @done gets 0 with how many
 * connections the cluster counts for @to (the message went out only if
 * some), or -1 (Redis unreachable, or the guest's process did not
 * answer). Returns 0, or -1 (down, or out of
 * memory: @done is not called).
 */
typedef void (*cluster_count_cb)(void *arg, int err, uint64_t n);
int cluster_api_direct(const char *to, const char *from, const char *content,
		       size_t len, cluster_count_cb done, void *arg);

/*
 * The server API's disconnect when clustered: every connection of user
 * @user on every process is closed with 4005 (a guest id of another
 * process: by that process). @done gets 0 with how many the cluster
 * counts, or -1 (Redis unreachable, or the guest's process did not
 * answer). Returns
 * 0, or -1 (down, or out of memory: @done is not called).
 */
int cluster_api_disconnect(const char *user, cluster_count_cb done, void *arg);

/*
 * 1 if @user is to be served by this process alone: a guest id of this
 * process, or a "guest-" text no process writes; 0 for any other user.
 */
int cluster_guest_here(const char *user);

/* 1 when clustered; *@up tells whether Redis answers. */
int cluster_status(int *up);

/* This process's node id in the cluster, or NULL when not clustered. */
const char *cluster_node(void);

/* The raw protocol's callback (redis.c), in vhost.c's table. */
int callback_roomcast_redis(struct lws *wsi,
			    enum lws_callback_reasons reason, void *user,
			    void *in, size_t len);

#endif
