/*
 * api_mount.h: the server API's HTTP side, served by the status mount
 * (status.c hands it every /api/ request): the key, the body's size and
 * reading, draining, and writing the answer api_handle() gives. One API
 * for the process: its key and settings come from the vhost whose
 * roomcast options set `api-key` or `api-key-file`.
 */
#ifndef MOUNTS_API_H
#define MOUNTS_API_H

#include <libwebsockets.h>

struct rconf;
struct api_conn;

/*
 * Copies the request's path, whatever its method, into @buf (@len bytes).
 * Returns 1, or 0 when there is none or it does not fit.
 */
int api_mount_uri(struct lws *wsi, char *buf, size_t len);

/* 1 if @path is the API's ("/api/..."). */
int api_mount_path(const char *path);

/*
 * Takes the API options among a vhost's roomcast options @pvo, for @conf's
 * vhost (whose max-message-size and history-size the API then uses).
 * Returns 0, or -1 after logging a one-line reason (no key in the log).
 */
int api_mount_configure(const struct rconf *conf,
			const struct lws_protocol_vhost_options *pvo,
			const char *vhost_name);

/* @conf's vhost is going: if it set the API up, the API is off. */
void api_mount_forget(const struct rconf *conf);

/* LWS_CALLBACK_HTTP for an API path; *@ac is the pss's slot. */
int api_mount_http(struct lws *wsi, struct api_conn **ac, const char *path);

/* LWS_CALLBACK_HTTP_BODY / HTTP_BODY_COMPLETION / HTTP_WRITEABLE. */
int api_mount_body(struct lws *wsi, struct api_conn *a, const void *in,
		   size_t len);
int api_mount_body_done(struct lws *wsi, struct api_conn *a);
int api_mount_writeable(struct lws *wsi, struct api_conn **ac);

/* LWS_CALLBACK_CLOSED_HTTP: frees what the request held. */
void api_mount_closed(struct api_conn **ac);

/* API answers begun and not yet written (a host's shutdown waits). */
unsigned int api_mount_in_flight(void);

#endif
