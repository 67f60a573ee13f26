/*
 * status.h: the status HTTP mount (GET /stats, /health, /metrics), an lws
 * protocol reached through a `callback://roomcast-status` mount.
 */
#ifndef STATUS_H
#define STATUS_H

#include <libwebsockets.h>

/* Room for the largest answer (the Prometheus text) after LWS_PRE. */
#define ROOMCAST_STATUS_BODY_MAX 4096

struct pss__roomcast_status {
	size_t len;		/* body bytes waiting to be written */
	unsigned char buf[LWS_PRE + ROOMCAST_STATUS_BODY_MAX];
};

#define ROOMCAST_STATUS_PSS_SIZE sizeof(struct pss__roomcast_status)

#endif
