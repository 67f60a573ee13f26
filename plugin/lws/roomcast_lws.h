/*
 * roomcast_lws.h: what the lws glue offers a host that links the plugin
 * statically (roomcast-server). lwsws needs none of it: it finds the
 * protocols through the plugin's one export, `roomcast`.
 */
#ifndef ROOMCAST_LWS_H
#define ROOMCAST_LWS_H

#include <libwebsockets.h>

#include "roomcast_names.h"

/* The lws callback of both roomcast entries (see roomcast_names.h). */
int callback_roomcast(struct lws *wsi, enum lws_callback_reasons reason,
		      void *user, void *in, size_t len);

/*
 * "http", "roomcast", "roomcast.v1" and the status mount's protocol, for
 * lws_context_creation_info.protocols; NULL-terminated.
 */
extern const struct lws_protocols roomcast_protocols[];
/* How many entries roomcast_protocols holds before its terminator. */
extern const int roomcast_protocols_count;

/*
 * Starts a graceful shutdown: /health answers 503 and every connection is
 * closed with 1001. Call on the service thread.
 */
void roomcast_begin_drain(void);

/*
 * 1 if a vhost's roomcast set-up failed so that the start must stop (a
 * bad history-db: the reason is logged in one line naming the file).
 */
int roomcast_start_failed(void);

/*
 * 1 if a vhost's roomcast options were refused at PROTOCOL_INIT (logged);
 * that vhost then refuses every upgrade.
 */
int roomcast_config_failed(void);

/*
 * Set when a vhost's roomcast state could not be made (an unreachable
 * Redis): roomcast-server then stops the start; lwsws, which goes on,
 * refuses that vhost's upgrades.
 */
extern int roomcast_init_failed;

/* The raw protocol of roomcast_listen_shared()'s listener. */
#define ROOMCAST_ACCEPT_PROTOCOL "roomcast-accept"
int callback_roomcast_accept(struct lws *wsi,
			     enum lws_callback_reasons reason, void *user,
			     void *in, size_t len);

/*
 * For roomcast-server --workers: listens on @port with SO_REUSEPORT (so
 * every worker can) and hands each connection to @vh, whose own listener
 * was left out (port -1). Returns 0, or -1 with the reason logged.
 */
int roomcast_listen_shared(struct lws_vhost *vh, int port);

/* The first vhost that serves roomcast.v1 (after the first service). */
struct lws_vhost *roomcast_ws_vhost(void);

/*
 * Call with 1 when lws runs on an event library (libuv): lws 4.1.6 then
 * close()s sockets without waiting for the peer's EOF and closes a wsi
 * twice on a -1 return, so the glue lingers itself and closes through a
 * timer (sweep.c, send.c). 0 (lws's own poll() loop) by default.
 */
void roomcast_set_event_library(int on);

/* WebSocket connections still open. */
uint64_t roomcast_connections_active(void);

/*
 * Makes lwsws's "http-only" protocol on @vh refuse every upgrade (see
 * binding.c); nothing under roomcast-server. Called at PROTOCOL_INIT of
 * each roomcast protocol.
 */
void roomcast_seal_http_only(struct lws_vhost *vh);

#endif
