/*
 * roomcast_lws.h: what the lws glue offers a host that links the plugin
 * statically (roomcast-server). lwsws needs none of it: it finds the
 * protocols through the plugin's one export, `roomcast`.
 */
#ifndef ROOMCAST_LWS_H
#define ROOMCAST_LWS_H

#include <libwebsockets.h>

/*
 * The subprotocol clients name is "roomcast.v1". Configs cannot name it:
 * lws 4.1.6's config reader splits JSON paths at '.', so a ws-protocols
 * key "roomcast.v1" is read as an option path and crashes lwsws and
 * lwsws_get_config_vhosts() alike. So the protocol is registered twice
 * with one callback: "roomcast" is the entry configs list (its per-vhost
 * options, and the default for clients naming no subprotocol), and
 * "roomcast.v1" the one lws binds clients that name it to.
 */
#define ROOMCAST_SUBPROTOCOL "roomcast.v1"
#define ROOMCAST_CONFIG_NAME "roomcast"
#define ROOMCAST_STATUS_PROTOCOL_NAME "roomcast-status"

int callback_roomcast(struct lws *wsi, enum lws_callback_reasons reason,
		      void *user, void *in, size_t len);
int callback_roomcast_status(struct lws *wsi,
			     enum lws_callback_reasons reason, void *user,
			     void *in, size_t len);

extern const struct lws_protocols roomcast_protocols[];
extern const int roomcast_protocols_count;

/*
 * Starts a graceful shutdown: /health answers 503 and every connection is
 * closed with 1001. Call on the service thread.
 */
void roomcast_begin_drain(void);

/* WebSocket connections still open. */
uint64_t roomcast_connections_active(void);

/* Status responses (mounts/status.c) whose body has not been written yet. */
unsigned int roomcast_status_in_flight(void);

#endif
