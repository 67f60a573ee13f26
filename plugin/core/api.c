/*
 * api.c: the server API's routing, body decoding and answers (see api.h).
 */
#include "api.h"
#include "hub_api.h"
#include "jscan.h"
#include "rm_err.h"
#include "rconf.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*---- answers ----*/

static void
out_printf(struct api_out *out, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (out->len + (size_t)n + 1 > out->cap) {
		size_t cap = (out->len + (size_t)n + 1) * 2;
		char *b = realloc(out->buf, cap);

		if (!b)
			return;	/* the caller sees a short answer: 500 */
		out->buf = b;
		out->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(out->buf + out->len, out->cap - out->len, fmt, ap);
	va_end(ap);
	out->len += (size_t)n;
}

void
api_out_free(struct api_out *out)
{
	free(out->buf);
	out->buf = NULL;
	out->len = out->cap = 0;
}

unsigned int
api_error(struct api_out *out, unsigned int status, const char *code,
	  const char *message)
{
	out->len = 0;
	if (message)
		out_printf(out, "{\"error\":\"%s\",\"message\":\"%s\"}", code,
			   message);
	else
		out_printf(out, "{\"error\":\"%s\"}", code);
	return status;
}

/* Takes over a malloc'd answer text. */
static unsigned int
out_take(struct api_out *out, char *text, size_t len)
{
	free(out->buf);
	out->buf = text;
	out->len = len;
	out->cap = len + 1;
	return 200;
}

/*---- routing ----*/

static const struct {
	const char *name;	/* after /api/ */
	enum api_route route;
	enum api_method method;
	int takes_room;		/* name/R */
} routes[] = {
	{ "publish", API_R_PUBLISH, API_POST, 0 },
	{ "broadcast", API_R_BROADCAST, API_POST, 0 },
	{ "direct", API_R_DIRECT, API_POST, 0 },
	{ "disconnect", API_R_DISCONNECT, API_POST, 0 },
	{ "rooms", API_R_ROOM, API_GET, 1 },
	{ "history", API_R_HISTORY, API_GET, 1 },
};

unsigned int
api_route(enum api_method method, const char *path, struct api_req *req,
	  struct api_out *out)
{
	const char *p, *slash;
	size_t i, n;

	memset(req, 0, sizeof(*req));
	if (strncmp(path, API_PREFIX, strlen(API_PREFIX)))
		return api_error(out, 404, "not_found", "no such API path");
	p = path + strlen(API_PREFIX);
	slash = strchr(p, '/');
	n = slash ? (size_t)(slash - p) : strlen(p);
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strlen(routes[i].name) != n || memcmp(routes[i].name, p, n))
			continue;
		if (routes[i].takes_room != !!slash ||
		    (slash && !slash[1]))
			break;
		if (method != routes[i].method)
			return api_error(out, 405, "method_not_allowed",
					 routes[i].method == API_GET ?
					 "use GET" : "use POST");
		req->route = routes[i].route;
		if (!slash)
			return 0;
		if (!codec_room_valid(slash + 1, strlen(slash + 1)))
			return api_error(out, 400, "bad_room", "room_id must "
					 "be 1-128 bytes of [A-Za-z0-9_.:-]");
		strcpy(req->room, slash + 1);
		return 0;
	}
	return api_error(out, 404, "not_found", "no such API path");
}

/*---- bodies ----*/

enum { K_ROOM, K_CONTENT, K_SENDER, K_IDEM, K_ROOMS, K_TO, K_FROM, K_USER,
       K_N };

static const char *const keys[K_N] = {
	[K_ROOM] = "room_id", [K_CONTENT] = "content", [K_SENDER] = "sender",
	[K_IDEM] = "idempotency_key", [K_ROOMS] = "rooms", [K_TO] = "to",
	[K_FROM] = "from", [K_USER] = "user_id",
};

static int
is_string(const struct jscan_val *v)
{
	return v->text && v->text[0] == '"';
}

/* Decodes string @v into @buf; -1 if it does not fit or is not text. */
static ssize_t
unquote(const struct jscan_val *v, char *buf, size_t size)
{
	return jscan_unescape(v->text + 1, v->len - 2, buf, size);
}

#define MSG_ROOM "room_id must be 1-128 bytes of [A-Za-z0-9_.:-]"
#define MSG_USER "a user id must be 1-64 bytes of [A-Za-z0-9_.@:-]"
#define MSG_GUEST "a user id starting with guest- belongs to the server"

/*
 * A user id field: @v absent keeps @dflt; @own (sender, from) may not
 * take a guest's name. Returns 0 or 400 with the answer.
 */
static unsigned int
decode_user(const struct jscan_val *v, const char *dflt, int own, char *buf,
	    struct api_out *out)
{
	ssize_t n;

	if (!v->text) {
		strcpy(buf, dflt);
		return 0;
	}
	n = unquote(v, buf, CODEC_USER_MAX + 1);
	if (n < 0 || !codec_user_valid(buf, (size_t)n))
		return api_error(out, 400, "bad_user", MSG_USER);
	if (own && !strncmp(buf, "guest-", 6))
		return api_error(out, 400, "bad_user", MSG_GUEST);
	return 0;
}

/*
 * Walks the string elements of array @v: returns how many there are, or
 * -1 when one is not a string. With @rooms, decodes them there (room ids;
 * -2 for one that breaks the rule).
 */
static long
each_room(const struct jscan_val *v, char (*rooms)[CODEC_ROOM_MAX + 1])
{
	const char *t = v->text, *end = v->text + v->len;
	long n = 0;

	for (t++; t < end; t++) {
		const char *s;
		ssize_t len;

		if (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r' ||
		    *t == ',' || *t == ']')
			continue;
		if (*t != '"')
			return -1;
		for (s = ++t; *t != '"'; t++)
			if (*t == '\\')
				t++;
		if (rooms && n < API_BROADCAST_MAX) {
			len = jscan_unescape(s, (size_t)(t - s), rooms[n],
					     CODEC_ROOM_MAX + 1);
			if (len < 0 || !codec_room_valid(rooms[n], (size_t)len))
				return -2;
		}
		n++;
	}
	return n;
}

/* /api/broadcast's rooms. Returns 0 or 400 with the answer. */
static unsigned int
decode_rooms(struct api_req *req, const struct jscan_val *v,
	     struct api_out *out)
{
	long n = each_room(v, NULL);

	if (n < 1 || n > API_BROADCAST_MAX)
		return api_error(out, 400, "bad_request", "rooms must hold "
				 "1-1000 room ids");
	req->rooms = malloc((size_t)n * sizeof(*req->rooms));
	if (!req->rooms)
		return api_error(out, 503, "overloaded", "out of memory");
	if (each_room(v, req->rooms) < 0)
		return api_error(out, 400, "bad_room", MSG_ROOM);
	req->n_rooms = (unsigned int)n;
	return 0;
}

/* Which members a route requires (missing_field when absent). */
static int
missing(const struct api_req *req, const struct jscan_val *v)
{
	int content = !v[K_CONTENT].text;

	/* optional strings of the wrong type are missing_field too */
	if ((v[K_SENDER].text && !is_string(&v[K_SENDER])) ||
	    (v[K_IDEM].text && !is_string(&v[K_IDEM])) ||
	    (v[K_FROM].text && !is_string(&v[K_FROM])))
		return 1;
	switch (req->route) {
	case API_R_PUBLISH:
		return content || !is_string(&v[K_ROOM]);
	case API_R_BROADCAST:
		return content || !v[K_ROOMS].text || v[K_ROOMS].text[0] != '[' ||
		       each_room(&v[K_ROOMS], NULL) == -1;
	case API_R_DIRECT:
		return content || !is_string(&v[K_TO]);
	case API_R_DISCONNECT:
		return !is_string(&v[K_USER]);
	default:
		return 0;
	}
}

/* The rules of the fields present, in PROTOCOL.md's order. */
static unsigned int
decode_fields(struct api_req *req, const struct jscan_val *v,
	      struct api_out *out)
{
	unsigned int st = 0;
	ssize_t n;

	req->content = v[K_CONTENT].text;
	req->content_len = v[K_CONTENT].len;
	switch (req->route) {
	case API_R_PUBLISH:
		n = unquote(&v[K_ROOM], req->room, sizeof(req->room));
		if (n < 0 || !codec_room_valid(req->room, (size_t)n))
			return api_error(out, 400, "bad_room", MSG_ROOM);
		st = decode_user(&v[K_SENDER], "api", 1, req->sender, out);
		if (st || !v[K_IDEM].text)
			return st;
		n = unquote(&v[K_IDEM], req->idem, sizeof(req->idem));
		if (n < 1)
			return api_error(out, 400, "bad_request",
					 "idempotency_key must be 1-64 bytes");
		req->idem_len = (size_t)n;
		return 0;
	case API_R_BROADCAST:
		st = decode_user(&v[K_SENDER], "api", 1, req->sender, out);
		return st ? st : decode_rooms(req, &v[K_ROOMS], out);
	case API_R_DIRECT:
		st = decode_user(&v[K_TO], "", 0, req->user, out);
		return st ? st : decode_user(&v[K_FROM], "api", 1, req->sender,
					     out);
	case API_R_DISCONNECT:
		return decode_user(&v[K_USER], "", 0, req->user, out);
	default:
		return 0;
	}
}

/* history's "limit=N" (a positive integer), among other query args. */
static unsigned int
decode_query(struct api_req *req, const char *query, struct api_out *out)
{
	const char *p = query;

	while (p && *p) {
		size_t n = strcspn(p, "&");

		if (!strncmp(p, "limit=", 6)) {
			char num[24];

			if (n - 6 >= sizeof(num))
				goto bail;
			memcpy(num, p + 6, n - 6);
			num[n - 6] = '\0';
			if (rconf_parse_uint(num, 1, UINT32_MAX, &req->limit))
				goto bail;
		}
		p += n;
		if (*p)
			p++;
	}
	return 0;
bail:
	return api_error(out, 400, "bad_request", "limit must be a positive "
			 "integer");
}

unsigned int
api_decode(struct api_req *req, const char *body, size_t len,
	   const char *query, struct api_out *out)
{
	struct jscan_val v[K_N];

	if (req->route == API_R_ROOM)
		return 0;
	if (req->route == API_R_HISTORY)
		return decode_query(req, query, out);
	if (jscan_object(body, len, keys, K_N, v) != JSCAN_OBJECT)
		return api_error(out, 400, "bad_json", "the body is not a "
				 "JSON object");
	if (missing(req, v))
		return api_error(out, 400, "missing_field", "a required field "
				 "is missing or of the wrong type");
	return decode_fields(req, v, out);
}

void
api_req_free(struct api_req *req)
{
	free(req->rooms);
	req->rooms = NULL;
}

/*---- running ----*/

static unsigned int
overloaded(struct api_out *out)
{
	return api_error(out, 503, "overloaded", "out of memory");
}

/* One room's result, {"room_id","seq","epoch"}, after @sep. */
static void
put_result(struct api_out *out, const char *sep, const char *room, uint64_t seq,
	   const char *epoch)
{
	out_printf(out,
		   "%s{\"room_id\":\"%s\",\"seq\":%" PRIu64
		   ",\"epoch\":\"%s\"}",
		   sep, room, seq, epoch);
}

static unsigned int
run_publish(struct hub *h, const struct api_conf *conf, struct api_req *req,
	    int64_t now_ms, struct api_out *out)
{
	struct hub_pub_result r;

	if (hub_publish(h, req->room, req->sender, req->content,
			req->content_len,
			req->idem_len ? req->idem : NULL, req->idem_len, now_ms,
			&r))
		return overloaded(out);
	put_result(out, "", req->room, r.seq, r.epoch);
	return 200;
}

/* Each room's frame is encoded once, by its own hub_publish(). */
static unsigned int
run_broadcast(struct hub *h, const struct api_conf *conf,
	      struct api_req *req, int64_t now_ms, struct api_out *out)
{
	struct hub_pub_result r;
	unsigned int i;

	out_printf(out, "{\"results\":[");
	for (i = 0; i < req->n_rooms; i++) {
		if (hub_publish(h, req->rooms[i], req->sender, req->content,
				req->content_len, NULL, 0,
				now_ms, &r))
			return overloaded(out);
		put_result(out, i ? "," : "", req->rooms[i], r.seq, r.epoch);
	}
	out_printf(out, "]}");
	return 200;
}

unsigned int
api_answer_results(struct api_out *out, const struct api_req *req,
		   const struct api_result *res)
{
	unsigned int i;

	out->len = 0;
	if (req->route == API_R_PUBLISH) {
		put_result(out, "", req->room, res[0].seq, res[0].epoch);
		return 200;
	}
	out_printf(out, "{\"results\":[");
	for (i = 0; i < req->n_rooms; i++)
		put_result(out, i ? "," : "", req->rooms[i], res[i].seq,
			   res[i].epoch);
	out_printf(out, "]}");
	return 200;
}

unsigned int
api_answer_count(struct api_out *out, const char *name, uint64_t n)
{
	out->len = 0;
	out_printf(out, "{\"%s\":%" PRIu64 "}", name, n);
	return 200;
}

unsigned int
api_answer_text(struct api_out *out, char *text, size_t len, int found)
{
	if (text)
		return out_take(out, text, len);
	if (!found)
		return api_error(out, 404, "no_such_room", NULL);
	return overloaded(out);
}

static unsigned int
run(struct hub *h, const struct api_conf *conf, struct api_req *req,
    int64_t now_ms, struct api_out *out)
{
	size_t len = 0;
	int found, n;
	char *text;

	switch (req->route) {
	case API_R_PUBLISH:
		return run_publish(h, conf, req, now_ms, out);
	case API_R_BROADCAST:
		return run_broadcast(h, conf, req, now_ms, out);
	case API_R_DIRECT:
		n = hub_api_direct(h, req->sender, req->user, req->content,
				   req->content_len);
		if (n < 0)
			return overloaded(out);
		return api_answer_count(out, "delivered", (uint64_t)n);
	case API_R_DISCONNECT:
		return api_answer_count(out, "disconnected",
					hub_api_disconnect(h, req->user));
	case API_R_ROOM:
		text = hub_api_room(h, req->room, conf->max_answer_bytes, &len,
				    &found);
		return api_answer_text(out, text, len, found);
	case API_R_HISTORY:
		text = hub_api_history(h, req->room, req->limit, &len, &found);
		return api_answer_text(out, text, len, found);
	default:
		return api_error(out, 404, "not_found", "no such API path");
	}
}

unsigned int
api_parse(enum api_method method, const char *path, const char *query,
	  const char *body, size_t len, struct api_req *req,
	  struct api_out *out)
{
	unsigned int st;

	out->len = 0;
	st = api_route(method, path, req, out);
	if (!st)
		st = api_decode(req, body ? body : "", len, query, out);
	return st;
}

unsigned int
api_handle(struct hub *h, const struct api_conf *conf,
	   enum api_method method, const char *path, const char *query,
	   const char *body, size_t len, int64_t now_ms, struct api_out *out)
{
	struct api_req req;
	unsigned int st = api_parse(method, path, query, body, len, &req, out);

	/*
	 * Clustered, the transport runs requests through Redis itself
	 * (api_parse, then the cluster); this hub's rooms alone would be a
	 * wrong answer, so a 503 rather than that.
	 */
	if (!st && hub_is_clustered(h))
		st = api_error(out, 503, "unavailable",
			       "the server API runs "
			       "through the cluster's transport");
	if (!st)
		st = run(h, conf, &req, now_ms, out);
	api_req_free(&req);
	if (!out->buf || !out->len)	/* out of memory writing it */
		st = 500;
	return st;
}
