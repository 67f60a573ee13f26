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
#include "stats.h"
#include "status.h"
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
 * Responses whose headers left and whose body has not: roomcast-server's
 * shutdown waits for them, or a client polling /stats while the server
 * stops gets a response cut short.
 */
static unsigned int bodies_pending;

unsigned int
roomcast_status_in_flight(void)
{
	return bodies_pending;
}

static int
status_on_http(struct lws *wsi, struct pss__roomcast_status *pss)
{
	unsigned char hdr[LWS_PRE + 512], *start = hdr + LWS_PRE, *p = start,
		      *end = hdr + sizeof(hdr) - 1;
	char path[64];
	const char *type;
	unsigned int status;

	if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0) {
		/* only GET: other methods have no URI token here */
		lws_return_http_status(wsi, HTTP_STATUS_METHOD_NOT_ALLOWED,
				       NULL);
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	}
	if (lws_hdr_copy(wsi, path, sizeof(path), WSI_TOKEN_GET_URI) < 0)
		path[0] = '\0';
	status = render(path, (char *)pss->buf + LWS_PRE,
			ROOMCAST_STATUS_BODY_MAX, &pss->len, &type);
	if (lws_add_http_common_headers(wsi, status, type,
					(lws_filepos_t)pss->len, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
					 (unsigned char *)"no-store", 8, &p,
					 end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return 1;
	if (pss->len)
		bodies_pending++;
	lws_callback_on_writable(wsi);
	return 0;
}

int
callback_roomcast_status(struct lws *wsi, enum lws_callback_reasons reason,
			 void *user, void *in, size_t len)
{
	struct pss__roomcast_status *pss = user;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		return status_on_http(wsi, pss);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (!pss || !pss->len)
			break;
		bodies_pending--;
		if (lws_write(wsi, pss->buf + LWS_PRE, pss->len,
			      LWS_WRITE_HTTP_FINAL) != (int)pss->len) {
			pss->len = 0;
			return 1;
		}
		pss->len = 0;
		if (lws_http_transaction_completed(wsi))
			return -1;
		return 0;
	case LWS_CALLBACK_CLOSED_HTTP:
		if (pss && pss->len) {	/* closed before its body left */
			bodies_pending--;
			pss->len = 0;
		}
		break;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}
