/*
 * status_names.h: how a config mounts the status HTTP mount, for code
 * that reads configs without libwebsockets (server/conf.c) as well as
 * the mount itself.
 */
#ifndef STATUS_NAMES_H
#define STATUS_NAMES_H

/* The lws protocol serving GET /stats, /health and /metrics. */
#define ROOMCAST_STATUS_PROTOCOL_NAME "roomcast-status"
/* A vhost's mount "origin" that reaches it. */
#define ROOMCAST_STATUS_ORIGIN "callback://" ROOMCAST_STATUS_PROTOCOL_NAME

#endif
