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
 * Call with 1 when lws runs on an event library (libuv): lws 4.1.6 then
 * close()s sockets without waiting for the peer's EOF and closes a wsi
 * twice on a -1 return, so the glue lingers itself and closes through a
 * timer (sweep.c, send.c). 0 (lws's own poll() loop) by default.
 */
void roomcast_set_event_library(int on);

/* WebSocket connections still open. */
uint64_t roomcast_connections_active(void);

#endif
