/*
 * status.c: serves roomcast's counters over HTTP (PROTOCOL.md, Status HTTP
 * mount), after lws's minimal-http-server-dynamic: the answer is rendered
 * in LWS_CALLBACK_HTTP, its headers written there, its body in
 * HTTP_WRITEABLE. The counters are the process-wide rm_stats, so every
 * vhost that mounts this sees the same numbers.
 */
#if !defined(LWS_PLUGIN_STATIC)
#define LWS_DLL
#define LWS_INTERNAL
#endif
#include <libwebsockets.h>

#include "rm_clock.h"
#include "roomcast_lws.h"
#include "stats.h"
#include "status.h"
#include "api_mount.h"
#include "cluster.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* roomcast-server --workers sets ROOMCAST_WORKER in each worker. */
static int
worker_index(void)
{
	const char *w = getenv("ROOMCAST_WORKER");

	return w ? atoi(w) : 0;
}

/*
 * cluster hook: /stats adds "redis" ("up" or "down"), the process's
 * "node" id and "pid" when clustered (PROTOCOL.md, Cluster over Redis),
 * inserted before the closing brace of @n bytes of JSON in @body.
 */
static int
add_cluster_fields(char *body, size_t max, int n)
{
	int up, m;

	if (!cluster_status(&up) || n < 3 || (size_t)n >= max)
		return n;
	n -= 2;		/* "}\n" */
	m = lws_snprintf(body + n, max - (size_t)n, ",\"redis\":\"%s\","
			 "\"node\":\"%s\",\"pid\":%d,\"worker\":%d}\n",
			 up ? "up" : "down", cluster_node(), (int)getpid(),
			 worker_index());
	return n + m;
}

/*
 * /metrics names the process it comes from (a Prometheus server adds the
 * workers up): roomcast_worker_info{worker,pid,node} 1.
 */
static int
add_worker_info(char *body, size_t max, int n)
{
	if (n < 0 || (size_t)n >= max)
		return n;
	return n + lws_snprintf(body + n, max - (size_t)n,
		"# HELP roomcast_worker_info The process serving this "
		"answer.\n# TYPE roomcast_worker_info gauge\n"
		"roomcast_worker_info{worker=\"%d\",pid=\"%d\",node=\"%s\"} 1\n",
		worker_index(), (int)getpid(),
		cluster_node() ? cluster_node() : "");
}

/* Renders the answer for @path; returns its HTTP status and content type. */
static unsigned int
render(const char *path, char *body, size_t max, size_t *len,
       const char **type)
{
	int64_t now = rm_clock_ms();
	int n;

	stats_sample(now);
	*type = "application/json";
	if (!strcmp(path, "/stats")) {
		n = stats_to_json(&rm_stats, now, body, max);
		n = add_cluster_fields(body, max, n);
	} else if (!strcmp(path, "/health")) {
		int up, clustered = cluster_status(&up);

		n = lws_snprintf(body, max, "{\"status\":\"%s\"}\n",
				 rm_stats.draining ? "draining" :
				 clustered && !up ? "unavailable" : "ok");
		*len = (size_t)n;
		return rm_stats.draining || (clustered && !up)
			? HTTP_STATUS_SERVICE_UNAVAILABLE : HTTP_STATUS_OK;
	} else if (!strcmp(path, "/metrics")) {
		*type = "text/plain; version=0.0.4; charset=utf-8";
		n = stats_to_prometheus(&rm_stats, now, body, max);
		n = add_worker_info(body, max, n);
	} else {
		n = lws_snprintf(body, max, "{\"error\":\"not found\"}\n");
		*len = (size_t)n;
		return HTTP_STATUS_NOT_FOUND;
	}
	if (n < 0 || (size_t)n >= max)
		n = 0;
	*len = (size_t)n;
	return n ? HTTP_STATUS_OK : HTTP_STATUS_INTERNAL_SERVER_ERROR;
}

/*
 * Every status answer is written whole inside the callback that rendered
 * it, so none is ever left pending: roomcast-server's shutdown waits only
 * for server API answers still being written (api.c counts them).
 */
unsigned int
roomcast_status_in_flight(void)
{
	return api_mount_in_flight();
}

/*
 * Writes the rendered answer, headers and body, in this one callback:
 * left for a later WRITEABLE, a GET with a body never got one, and lws
 * 4.1.6 spins on pipelined input it holds (issue 12). Then the
 * transaction ends and lws reads a pipelined next request; or, with
 * @close, the connection closes ("connection: close" said so).
 */
static int
status_respond(struct lws *wsi, struct pss__roomcast_status *pss, int close)
{
	unsigned char hdr[LWS_PRE + 512], *start = hdr + LWS_PRE, *p = start,
		      *end = hdr + sizeof(hdr) - 1;

	if (lws_add_http_common_headers(wsi, pss->status, pss->type,
					(lws_filepos_t)pss->len, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
					 (unsigned char *)"no-store", 8, &p,
					 end) ||
	    (close && lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION,
					 (unsigned char *)"close", 5, &p,
					 end)) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	if (pss->len && lws_write(wsi, pss->buf + LWS_PRE, pss->len,
				  LWS_WRITE_HTTP_FINAL) != (int)pss->len)
		return -1;
	if (close)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int
status_on_http(struct lws *wsi, struct pss__roomcast_status *pss)
{
	char path[192];

	/* the server API (api.c): any method, its own answers */
	if (api_mount_uri(wsi, path, sizeof(path)) && api_mount_path(path))
		return api_mount_http(wsi, &pss->api, path);
	if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0) {
		/* only GET: other methods have no URI token here */
		lws_return_http_status(wsi, HTTP_STATUS_METHOD_NOT_ALLOWED,
				       NULL);
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	}
	if (lws_hdr_copy(wsi, path, sizeof(path), WSI_TOKEN_GET_URI) < 0)
		path[0] = '\0';
	pss->status = render(path, (char *)pss->buf + LWS_PRE,
			     ROOMCAST_STATUS_BODY_MAX, &pss->len, &pss->type);
	/*
	 * A GET with a body gets its answer, then the connection closes: lws
	 * 4.1.6 spins reading a body that follows a pipelined request, so
	 * the body is never read.
	 */
	return status_respond(wsi, pss, lws_hdr_total_length(wsi,
			WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 ||
		lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0);
}

/*
 * The status vhost serves HTTP/1.1 only: a WebSocket there would skip every
 * handshake check and limit of the WebSocket vhost, and h2c would open lws's
 * HTTP/2 code (docs/RELIABILITY.md, HTTP/2). This reaches us as the status
 * vhost's default protocol ("default" in conf.d/status). The answer is
 * written raw: at this stage lws_return_http_status() answers "HTTP/1.0".
 */
static int
status_refuse_upgrade(struct lws *wsi)
{
	static const char why[] = "Bad Request: HTTP/1.1 only, no upgrade here\n";
	unsigned char buf[LWS_PRE + 256];
	int n;

	n = lws_snprintf((char *)buf + LWS_PRE, sizeof(buf) - LWS_PRE,
			 "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\n"
			 "content-length: %u\r\nconnection: close\r\n\r\n%s",
			 (unsigned int)sizeof(why) - 1, why);
	lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_HTTP_FINAL);
	return -1;
}

int
callback_roomcast_status(struct lws *wsi, enum lws_callback_reasons reason,
			 void *user, void *in, size_t len)
{
	struct pss__roomcast_status *pss = user;

	switch (reason) {
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:	/* websocket or h2c */
		return status_refuse_upgrade(wsi);
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		/*
		 * A WebSocket bound here by name ("roomcast-status, ...") would
		 * be served by this HTTP callback: counted nowhere, no heartbeat,
		 * under no limit (issue 11). The WebSocket vhost refuses such a
		 * list at its upgrade check; this refuses it on any vhost.
		 */
		return -1;
	case LWS_CALLBACK_PROTOCOL_INIT:
		/* a vhost whose default is not ours: lwsws's dummy refuses too */
		roomcast_seal_http_only(lws_get_vhost(wsi));
		break;
	case LWS_CALLBACK_HTTP:
		return status_on_http(wsi, pss);
	case LWS_CALLBACK_HTTP_BODY:
		return pss ? api_mount_body(wsi, pss->api, in, len) : 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return pss ? api_mount_body_done(wsi, pss->api) : 0;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (pss && pss->api)
			return api_mount_writeable(wsi, &pss->api);
		break;
	case LWS_CALLBACK_CLOSED_HTTP:
		if (pss)
			api_mount_closed(&pss->api);
		break;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}
