/*
 * api.c (mounts): the server API over HTTP (see api_mount.h): checks what
 * is known from the headers (the key, draining, the path, the size), reads
 * the body through lws's HTTP_BODY callbacks into one buffer of at most
 * max-message-size bytes, runs the request (plugin/core/api.h) and writes
 * the answer from HTTP_WRITEABLE, then completes the transaction so the
 * connection serves the next request (keep-alive).
 *
 * Clustered (PROTOCOL.md, Cluster over Redis), a publish is numbered in
 * Redis (cluster_api_publish()): the request waits for the reply in a
 * `struct api_wait`, which outlives a connection that closes meanwhile,
 * and the answer is written at the next HTTP_WRITEABLE.
 *
 * Memory: a request holds its body (<= max-message-size) and its answer;
 * at most API_MAX_BODIES requests hold a body at once (more get 503), and
 * a request waiting for Redis keeps its body until answered, so the API's
 * buffers are bounded whatever the number of connections.
 */
#if !defined(LWS_PLUGIN_STATIC)
#define LWS_DLL
#define LWS_INTERNAL
#endif
#include <libwebsockets.h>

#include "api.h"
#include "api_mount.h"
#include "apikey.h"
#include "chunked.h"
#include "cluster.h"
#include "glue.h"
#include "hub_api.h"
#include "rconf.h"
#include "rm_clock.h"
#include "stats.h"

#include <stdlib.h>
#include <string.h>

/* Requests holding a body buffer at once; more are answered 503. */
#define API_MAX_BODIES 64
/* Answer bytes written per HTTP_WRITEABLE. */
#define API_CHUNK (16 * 1024)
/* The longest path served: /api/history/ and a 128-byte room id. */
#define API_PATH_MAX 192

struct api_wait;

/* The 503s of a clustered request Redis did not answer. */
#define API_REDIS_DOWN "the cluster's Redis cannot be reached"
#define API_REDIS_DOWN_SOME                                                    \
	"the cluster's Redis cannot be reached; some rooms may have been "     \
	"published"

struct api_conn {
	enum api_method method;
	unsigned int reject;	/* answered when the body has been read */
	unsigned int status;
	int close_after;	/* the rest of the body is not read: close */
	int answering;		/* headers written, body to write */
	int holds_body;		/* counted in bodies_held */
	int ready;		/* Redis answered: headers at WRITEABLE */
	struct api_wait *wait;	/* waiting for Redis */
	int is_chunked;		/* Transfer-Encoding: chunked, decoded here */
	struct chunked ch;
	char path[API_PATH_MAX];
	char query[40];
	char *body;
	size_t len, cap, limit;
	struct api_out out;
	size_t sent;
};

/*
 * A request waiting for Redis (clustered). ->a is NULL once its connection
 * has closed (api_mount_closed): the replies are then dropped. Freed at
 * its last reply; redis.c answers every command sent, NULL when the
 * connection fails, within its command timeout.
 */
struct api_wait {
	struct api_conn *a;
	struct lws *wsi;
	struct api_req req;
	unsigned int sent, got; /* commands sent; replies come in order */
	int failed;		/* some reply: Redis unreachable */
	unsigned int status;	/* history: the answer made, in out */
	struct api_out out;
	struct api_result res[]; /* one per room, in the request's order */
};

static struct apikey api_key;
static const struct rconf *api_conf_of;	/* the vhost that set the key */
static unsigned int bodies_held, in_flight, waiting;

int
api_mount_uri(struct lws *wsi, char *buf, size_t len)
{
	static const enum lws_token_indexes methods[] = {
		WSI_TOKEN_GET_URI, WSI_TOKEN_POST_URI, WSI_TOKEN_HEAD_URI,
#if defined(LWS_WITH_HTTP_UNCOMMON_HEADERS) || defined(LWS_HTTP_HEADERS_ALL)
		WSI_TOKEN_PUT_URI, WSI_TOKEN_DELETE_URI, WSI_TOKEN_PATCH_URI,
		WSI_TOKEN_OPTIONS_URI,
#endif
	};
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (lws_hdr_total_length(wsi, methods[i]) > 0)
			return lws_hdr_copy(wsi, buf, (int)len,
					    methods[i]) > 0;
	return 0;
}

int
api_mount_path(const char *path)
{
	return !strncmp(path, API_PREFIX, strlen(API_PREFIX)) ||
	       !strcmp(path, "/api");
}

int
api_mount_configure(const struct rconf *conf,
		    const struct lws_protocol_vhost_options *pvo,
		    const char *vhost_name)
{
	const char *key = NULL, *file = NULL;
	char err[200];

	for (; pvo; pvo = pvo->next) {
		if (!strcmp(pvo->name, "api-key"))
			key = pvo->value;
		else if (!strcmp(pvo->name, "api-key-file"))
			file = pvo->value;
	}
	if (!key && !file)
		return 0;
	if (key && file) {
		lwsl_err("vhost %s: set api-key or api-key-file, not both\n",
			 vhost_name);
		return -1;
	}
	if (api_conf_of) {
		lwsl_err("vhost %s: the API key is set on another vhost "
			 "already (one API per process)\n", vhost_name);
		return -1;
	}
	if (apikey_set(&api_key, key, file, err, sizeof(err))) {
		lwsl_err("vhost %s: %s\n", vhost_name, err);
		return -1;
	}
	api_conf_of = conf;
	return 0;
}

void
api_mount_forget(const struct rconf *conf)
{
	if (api_conf_of && api_conf_of == conf) {
		apikey_clear(&api_key);
		api_conf_of = NULL;
	}
}

unsigned int
api_mount_in_flight(void)
{
	return in_flight + waiting;
}

static void
drop_body(struct api_conn *a)
{
	free(a->body);
	a->body = NULL;
	a->len = a->cap = 0;
	if (a->holds_body) {
		a->holds_body = 0;
		bodies_held--;
	}
}

void
api_mount_closed(struct api_conn **ac)
{
	struct api_conn *a = *ac;

	if (!a)
		return;
	if (a->wait)
		a->wait->a = NULL; /* its replies come to no one */
	if (a->answering)
		in_flight--;
	drop_body(a);
	api_out_free(&a->out);
	free(a);
	*ac = NULL;
}

/* Writes the headers of the answer in a->out; the body follows. */
static int
answer(struct lws *wsi, struct api_conn *a, unsigned int status)
{
	unsigned char hdr[LWS_PRE + 512], *start = hdr + LWS_PRE, *p = start,
		      *end = hdr + sizeof(hdr) - 1;

	drop_body(a);
	if (!a->out.len)	/* out of memory before any text */
		status = api_error(&a->out, 500, "internal", NULL);
	if (!a->out.len)
		return -1;
	a->status = status;
	if (lws_add_http_common_headers(wsi, status, "application/json",
					(lws_filepos_t)a->out.len, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
					 (unsigned char *)"no-store", 8, &p,
					 end) ||
	    (status == 401 && lws_add_http_header_by_token(wsi,
			WSI_TOKEN_HTTP_WWW_AUTHENTICATE,
			(unsigned char *)"Bearer", 6, &p, end)) ||
	    (a->close_after && lws_add_http_header_by_token(wsi,
			WSI_TOKEN_CONNECTION, (unsigned char *)"close", 5, &p,
			end)) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	a->answering = 1;
	in_flight++;
	lws_callback_on_writable(wsi);
	return 0;
}

int
api_mount_writeable(struct lws *wsi, struct api_conn **ac)
{
	static unsigned char chunk[LWS_PRE + API_CHUNK];
	struct api_conn *a = *ac;
	size_t n = a->out.len - a->sent;
	int fin = n <= API_CHUNK, close_after = a->close_after;

	if (a->ready) { /* Redis answered (clustered) */
		a->ready = 0;
		return answer(wsi, a, a->status);
	}
	if (!a->answering)
		return 0;
	if (!fin)
		n = API_CHUNK;
	memcpy(chunk + LWS_PRE, a->out.buf + a->sent, n);
	if (lws_write(wsi, chunk + LWS_PRE, n, fin ? LWS_WRITE_HTTP_FINAL :
		      LWS_WRITE_HTTP) != (int)n)
		return -1;
	a->sent += n;
	if (!fin) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	api_mount_closed(ac);
	if (close_after)
		return -1;	/* the rest of the body was never read */
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static void
wait_free(struct api_wait *w)
{
	api_req_free(&w->req);
	api_out_free(&w->out);
	free(w);
	waiting--;
}

/* @w's last reply came: its answer is written at the next WRITEABLE. */
static void
wait_done(struct api_wait *w)
{
	struct api_conn *a = w->a;

	if (a) {
		a->wait = NULL;
		if (w->failed)
			a->status =
				api_error(&a->out, 503, "unavailable",
					  w->sent > 1 ? API_REDIS_DOWN_SOME :
							API_REDIS_DOWN);
		else if (w->status) { /* an answer made whole: taken */
			api_out_free(&a->out);
			a->out = w->out;
			a->status = w->status;
			memset(&w->out, 0, sizeof(w->out));
		} else {
			a->status =
				api_answer_results(&a->out, &w->req, w->res);
		}
		a->ready = 1;
		lws_callback_on_writable(w->wsi);
	}
	wait_free(w);
}

static void
on_published(void *arg, int err, uint64_t seq, const char *epoch, int repeated)
{
	struct api_wait *w = arg;
	struct api_result *r = &w->res[w->got++];

	if (err) {
		w->failed = 1;
	} else {
		r->seq = seq;
		lws_strncpy(r->epoch, epoch, sizeof(r->epoch));
		if (!repeated) /* counted as a member's broadcast is */
			rm_stats.messages_received++;
	}
	if (w->got == w->sent)
		wait_done(w);
}

/* Makes a request's record; it takes @req. NULL: out of memory. */
static struct api_wait *
wait_new(struct lws *wsi, struct api_conn *a, struct api_req *req,
	 unsigned int results)
{
	struct api_wait *w =
		calloc(1, sizeof(*w) + results * sizeof(w->res[0]));

	if (!w) {
		api_req_free(req);
		return NULL;
	}
	waiting++;
	w->req = *req; /* the broadcast's rooms are now w's */
	w->a = a;
	w->wsi = wsi;
	return w;
}

/* No record could be made: 503 now. */
static int
wait_oom(struct lws *wsi, struct api_conn *a)
{
	return answer(wsi, a,
		      api_error(&a->out, 503, "overloaded", "out of memory"));
}

/*
 * @w's commands are sent (w->sent of them): the answer waits for their
 * replies. None could be sent (Redis down): 503 now.
 */
static int
wait_sent(struct lws *wsi, struct api_conn *a, struct api_wait *w)
{
	if (!w->sent) {
		wait_free(w);
		return answer(wsi, a,
			      api_error(&a->out, 503, "unavailable",
					API_REDIS_DOWN));
	}
	a->wait = w;
	return 0;
}

static void
on_history(void *arg, int err, char *text, size_t len, int found)
{
	struct api_wait *w = arg;

	w->got++;
	if (err)
		w->failed = 1;
	else
		w->status = api_answer_text(&w->out, text, len, found);
	wait_done(w);
}

/* The most bytes an answer's users take (as the `members` message's). */
static size_t
max_answer_bytes(void)
{
	return api_conf_of ? api_conf_of->send_ring_bytes : 1 << 20;
}

/*
 * GET /api/history/R through Redis: the room's stream; GET /api/rooms/R:
 * the members script (users on every process).
 */
static int
wait_read(struct lws *wsi, struct api_conn *a, struct api_req *req)
{
	struct api_wait *w = wait_new(wsi, a, req, 0);

	if (!w)
		return wait_oom(wsi, a);
	if (w->req.route == API_R_ROOM)
		w->sent = !cluster_api_room(w->req.room, max_answer_bytes(),
					    on_history, w);
	else
		w->sent = !cluster_api_history(w->req.room, w->req.limit,
					       on_history, w);
	return wait_sent(wsi, a, w);
}

static void
on_user_count(void *arg, int err, uint64_t n)
{
	struct api_wait *w = arg;

	w->got++;
	if (err) {
		w->failed = 1;
	} else if (w->req.route == API_R_DISCONNECT) {
		w->status = api_answer_count(&w->out, "disconnected", n);
	} else {
		if (n) /* counted as hub_api_direct() counts it */
			rm_stats.messages_received++;
		w->status = api_answer_count(&w->out, "delivered", n);
	}
	wait_done(w);
}

/* A guest id of this process (docs/CLUSTER.md): served here. */
static int
run_guest(struct lws *wsi, struct api_conn *a, struct api_req *req)
{
	unsigned int st;
	int n;

	if (req->route == API_R_DISCONNECT) {
		st = api_answer_count(&a->out, "disconnected",
				      hub_api_disconnect(glue_hub, req->user));
	} else {
		n = hub_api_direct(glue_hub, req->sender, req->user,
				   req->content, req->content_len);
		st = n < 0 ? api_error(&a->out, 503, "overloaded",
				       "out of memory") :
			     api_answer_count(&a->out, "delivered",
					      (uint64_t)n);
	}
	api_req_free(req);
	return answer(wsi, a, st);
}

/*
 * POST /api/direct and /api/disconnect through Redis: to the user's
 * connections on every process, through the user's channel.
 */
static int
run_user(struct lws *wsi, struct api_conn *a, struct api_req *req)
{
	struct api_wait *w;

	if (!strncmp(req->user, "guest-", 6) && cluster_guest_here(req->user))
		return run_guest(wsi, a, req);
	w = wait_new(wsi, a, req, 0);
	if (!w)
		return wait_oom(wsi, a);
	if (w->req.route == API_R_DISCONNECT)
		w->sent =
			!cluster_api_disconnect(w->req.user, on_user_count, w);
	else
		w->sent =
			!cluster_api_direct(w->req.user, w->req.sender,
					    w->req.content, w->req.content_len,
					    on_user_count, w);
	return wait_sent(wsi, a, w);
}

/*
 * A publish or broadcast through Redis: one script per room, answered at
 * the last reply. Takes @req. Redis down: 503 at once.
 */
static int
wait_publish(struct lws *wsi, struct api_conn *a, struct api_req *req)
{
	int one = req->route == API_R_PUBLISH;
	unsigned int n = one ? 1 : req->n_rooms, i;
	struct api_wait *w = wait_new(wsi, a, req, n);

	if (!w)
		return wait_oom(wsi, a);
	for (i = 0; i < n; i++, w->sent++)
		if (cluster_api_publish(one ? req->room : req->rooms[i],
					req->sender, req->content,
					req->content_len,
					one ? req->idem : NULL,
					one ? req->idem_len : 0, on_published,
					w))
			break;
	if (w->sent < n)
		w->failed = 1; /* some rooms were not sent: 503 */
	return wait_sent(wsi, a, w);
}

/*
 * Clustered, every request runs through Redis (docs/CLUSTER.md, The
 * server API): a publish or broadcast is numbered there (members on every
 * process get it), history reads the room's stream, rooms/R the users
 * each process lists, a direct or disconnect goes to the user's
 * connections everywhere.
 */
static int
run_clustered(struct lws *wsi, struct api_conn *a)
{
	struct api_req req;
	unsigned int st = api_parse(a->method, a->path, a->query, a->body,
				    a->len, &req, &a->out);

	if (!st && (req.route == API_R_PUBLISH || req.route == API_R_BROADCAST))
		return wait_publish(wsi, a, &req);
	if (!st && (req.route == API_R_HISTORY || req.route == API_R_ROOM))
		return wait_read(wsi, a, &req);
	if (!st && (req.route == API_R_DIRECT || req.route == API_R_DISCONNECT))
		return run_user(wsi, a, &req);
	api_req_free(&req);
	return answer(wsi, a,
		      st ? st :
			   api_error(&a->out, 404, "not_found",
				     "no such API path"));
}

/* Runs the request whose body (if any) is read, and answers it. */
static int
run(struct lws *wsi, struct api_conn *a)
{
	struct api_conf conf = {
		.max_answer_bytes = max_answer_bytes(),
	};
	unsigned int st;
	int up;

	/* the key may have gone (a vhost destroyed) while the body came */
	if (!glue_hub || !api_key.set)
		return answer(wsi, a, api_error(&a->out, 404, "not_found",
						NULL));
	if (cluster_status(&up))
		return run_clustered(wsi, a);
	wakes_begin();	/* members written in batches while publishes stream */
	st = api_handle(glue_hub, &conf, a->method, a->path, a->query,
			a->body, a->len, rm_clock_ms(), &a->out);
	wakes_end_api(a->len);
	return answer(wsi, a, st);
}

/* What the headers decide: 0, or the status already written in a->out. */
static unsigned int
precheck(struct lws *wsi, struct api_conn *a)
{
	char auth[1024];
	struct api_req req;
	unsigned int st;
	int n;

	if (!api_key.set || !glue_hub)
		return api_error(&a->out, 404, "not_found", NULL);
	if (rm_stats.draining)
		return api_error(&a->out, 503, "unavailable", NULL);
	apikey_refresh(&api_key, rm_clock_ms());
	n = lws_hdr_copy(wsi, auth, sizeof(auth),
			 WSI_TOKEN_HTTP_AUTHORIZATION);
	if (n < 7 || strncasecmp(auth, "Bearer ", 7) ||
	    !apikey_check(&api_key, auth + 7, (size_t)n - 7)) {
		lws_explicit_bzero(auth, sizeof(auth));
		return api_error(&a->out, 401, "unauthorized", "missing or "
				 "wrong Authorization: Bearer key");
	}
	lws_explicit_bzero(auth, sizeof(auth));
	st = api_route(a->method, a->path, &req, &a->out);
	api_req_free(&req);
	return st;
}

/* The method, and the path whichever method's token holds it. */
static void
method_of(struct lws *wsi, struct api_conn *a)
{
	char arg[sizeof(a->query)];
	const char *v;

	if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0)
		a->method = API_GET;
	else if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0)
		a->method = API_POST;
	else
		a->method = API_OTHER;
	/* lws hands back the value within @arg, "limit=N" whole */
	v = lws_get_urlarg_by_name(wsi, "limit=", arg, (int)sizeof(arg));
	if (v)
		lws_snprintf(a->query, sizeof(a->query), "limit=%s", v);
}

/* Content-Length, -1 when absent; -2 when not a number. */
static int64_t
content_length(struct lws *wsi)
{
	char buf[24];
	uint64_t v;

	if (lws_hdr_copy(wsi, buf, sizeof(buf),
			 WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0)
		return -1;
	if (rconf_parse_uint(buf, 0, INT64_MAX, &v))
		return -2;
	return (int64_t)v;
}

/*
 * What the body's length says before a byte of it is read: 0, or a status
 * (with *@why) after which the connection is closed, the body never read.
 * Marks a chunked body, decoded as it comes (chunked.h).
 */
static unsigned int
length_check(struct api_conn *a, int64_t clen, int chunked, const char **why)
{
	if (chunked && clen < 0) {
		/*
		 * lws 4.1.6 passes a chunked body on with its framing and
		 * never ends it: decoded here, and the connection closed
		 * after the answer, since lws would take the next request
		 * for more body.
		 */
		a->is_chunked = 1;
		a->close_after = 1;
		return 0;
	}
	*why = "Content-Length is not a number";
	if (clen == -2)
		return 400;
	*why = "the body is over max-message-size";
	if (clen > (int64_t)a->limit)
		return 413;
	/* lws would read up to 100 MB as body, until the peer closes */
	*why = "a POST needs a Content-Length or chunked transfer coding";
	if (a->method == API_POST && clen == -1)
		return 400;
	return 0;
}

/* Sets up the buffer for a body to come (or refuses it, answered later). */
static int
expect_body(struct api_conn *a, int64_t clen)
{
	if (bodies_held >= API_MAX_BODIES) {
		a->reject = api_error(&a->out, 503, "overloaded", "too many "
				      "API requests at once");
		return 0;
	}
	a->cap = clen > 0 ? (size_t)clen : 1024;
	a->body = malloc(a->cap);
	if (!a->body) {
		a->reject = api_error(&a->out, 503, "overloaded",
				      "out of memory");
		return 0;
	}
	a->holds_body = 1;
	bodies_held++;
	return 0;
}

int
api_mount_http(struct lws *wsi, struct api_conn **ac, const char *path)
{
	struct api_conn *a = calloc(1, sizeof(*a));
	int64_t clen = content_length(wsi);
	int chunked = lws_hdr_total_length(wsi,
				WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0;
	unsigned int st, lst;
	const char *why = NULL;

	if (!a)
		return -1;
	/* a request whose answer never finished (pipelining): let it go */
	api_mount_closed(ac);
	*ac = a;
	lws_strncpy(a->path, path, sizeof(a->path));
	method_of(wsi, a);
	a->limit = api_conf_of ? api_conf_of->max_message_size : 0;
	st = precheck(wsi, a);
	lst = length_check(a, clen, chunked, &why);
	if (lst) {
		/* answered now (the first error in order), then closed */
		a->close_after = 1;
		return answer(wsi, a, st ? st : api_error(&a->out, lst,
			      lst == 413 ? "too_large" : "bad_request", why));
	}
	if (clen <= 0 && !a->is_chunked)	/* no body follows */
		return st ? answer(wsi, a, st) : run(wsi, a);
	if (st) {
		a->reject = st;	/* answered once the body is read */
		return 0;
	}
	return expect_body(a, clen);
}

/*
 * Appends @len bytes (within the limit) to the body, growing it. Out of
 * memory: the request is refused (503), the rest of its body dropped.
 */
static int
api_mount_append(struct api_conn *a, const void *in, size_t len)
{
	if (a->len + len > a->cap) {
		size_t cap = a->cap * 2 > a->len + len ? a->cap * 2
						       : a->len + len;
		char *b = realloc(a->body, cap < a->limit ? cap : a->limit);

		if (!b) {
			drop_body(a);
			a->reject = api_error(&a->out, 503, "overloaded",
					      "out of memory");
			return 0;
		}
		a->body = b;
		a->cap = cap < a->limit ? cap : a->limit;
	}
	memcpy(a->body + a->len, in, len);
	a->len += len;
	return 0;
}

/* The chunked decoder's sink: into the body, or nowhere when refused. */
static int
take_decoded(void *arg, const char *data, size_t len)
{
	struct api_conn *a = arg;

	if (a->reject)
		return 0;	/* read and forgotten */
	if (a->len + len > a->limit) {
		/*
		 * Over: nothing more is kept, the rest is read to its last
		 * chunk (lws reads at most 100 MB) so that the 413 reaches a
		 * client still sending, then the connection is closed.
		 */
		drop_body(a);
		a->reject = api_error(&a->out, 413, "too_large",
				      "the body is over max-message-size");
		return 0;
	}
	return api_mount_append(a, data, len);
}

/* A piece of a chunked body: decoded; answered at its end. */
static int
body_chunked(struct lws *wsi, struct api_conn *a, const char *in,
	     size_t len)
{
	size_t used;
	int r = chunked_feed(&a->ch, in, len, take_decoded, a, &used);

	if (r < 0)
		return answer(wsi, a, a->reject ? a->reject :
			      api_error(&a->out, 400, "bad_request",
					"bad chunked framing"));
	if (r == 0)
		return 0;
	return a->reject ? answer(wsi, a, a->reject) : run(wsi, a);
}

int
api_mount_body(struct lws *wsi, struct api_conn *a, const void *in,
	       size_t len)
{
	if (!a || a->answering || a->wait || a->ready)
		return 0;	/* read and forgotten */
	if (a->is_chunked)
		return body_chunked(wsi, a, in, len);
	if (a->reject)
		return 0;	/* read and forgotten */
	if (a->len + len > a->limit) {
		/* chunked and over: stop here, answer, close */
		a->close_after = 1;
		return answer(wsi, a, api_error(&a->out, 413, "too_large",
			      "the body is over max-message-size"));
	}
	api_mount_append(a, in, len);
	return 0;
}

int
api_mount_body_done(struct lws *wsi, struct api_conn *a)
{
	if (!a || a->answering || a->wait || a->ready)
		return 0;
	if (a->reject)
		return answer(wsi, a, a->reject);
	return run(wsi, a);
}
