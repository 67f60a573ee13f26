/*
 * status.h: the status HTTP mount (GET /stats, /health, /metrics, and the
 * server API under /api/, api_mount.h), an lws protocol reached through a
 * `callback://roomcast-status` mount. Its names are in status_names.h,
 * which needs no lws.
 */
#ifndef STATUS_H
#define STATUS_H

#include <libwebsockets.h>

#include "status_names.h"

/* Room for the largest answer (the Prometheus text) after LWS_PRE. */
#define ROOMCAST_STATUS_BODY_MAX 8192

struct api_conn;

struct pss__roomcast_status {
	struct api_conn *api;	/* an /api/ request in progress (api.c) */
	size_t len;		/* the rendered body's bytes */
	unsigned int status;	/* the rendered answer's HTTP status */
	const char *type;	/* and its content type */
	unsigned char buf[LWS_PRE + ROOMCAST_STATUS_BODY_MAX];
};

#define ROOMCAST_STATUS_PSS_SIZE sizeof(struct pss__roomcast_status)

/* The lws callback of protocol ROOMCAST_STATUS_PROTOCOL_NAME. */
int callback_roomcast_status(struct lws *wsi,
			     enum lws_callback_reasons reason, void *user,
			     void *in, size_t len);

/*
 * Status responses whose body has not been handed to lws yet: a host's
 * shutdown waits for them. Always 0 now that an answer is written whole
 * in the callback that renders it; kept for the hosts that ask.
 */
unsigned int roomcast_status_in_flight(void);

#endif
