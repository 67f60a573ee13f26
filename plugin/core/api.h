/*
 * api.h: the server API's requests and answers (PROTOCOL.md, Server API),
 * apart from HTTP plumbing.
 *
 * api_handle() takes what a transport read (method, path, query, body)
 * and gives the HTTP status and the JSON answer: routing (404, 405),
 * decoding the body through the one-scan reader (jscan.h) with
 * PROTOCOL.md's error codes (400), and the hub's calls (hub_api.h). The
 * transport keeps the key check (401), the body size (413) and draining
 * (503) before it, since those are decided before a body is read.
 *
 * Not thread-safe; service thread only. Knows nothing of lws.
 */
#ifndef API_H
#define API_H

#include "codec.h"
#include "idem.h"

#include <stddef.h>
#include <stdint.h>

struct hub;

/* The most rooms one /api/broadcast names. */
#define API_BROADCAST_MAX 1000
/* The path prefix the transport hands to api_handle(). */
#define API_PREFIX "/api/"

enum api_method {
	API_GET,
	API_POST,
	API_OTHER,	/* any other method: 405 on a known path */
};

enum api_route {
	API_R_NONE = 0,
	API_R_PUBLISH,
	API_R_BROADCAST,
	API_R_DIRECT,
	API_R_DISCONNECT,
	API_R_ROOM,
	API_R_HISTORY,
};

/* One decoded request; texts borrowed from the body stay valid with it. */
struct api_req {
	enum api_route route;
	char room[CODEC_ROOM_MAX + 1];	/* publish; rooms/R; history/R */
	char user[CODEC_USER_MAX + 1];	/* direct's to; disconnect's user_id */
	char sender[CODEC_USER_MAX + 1];/* publish/broadcast sender; direct from */
	const char *content;		/* the value's JSON text */
	size_t content_len;
	char idem[IDEM_KEY_MAX + 1];	/* idempotency_key; idem_len 0: none */
	size_t idem_len;
	uint64_t limit;			/* history: 0 = default */
	unsigned int n_rooms;		/* broadcast */
	char (*rooms)[CODEC_ROOM_MAX + 1];	/* broadcast, malloc'd */
};

/* A growing answer buffer. */
struct api_out {
	char *buf;
	size_t len, cap;
};

/* What the API needs of the settings it runs under. */
struct api_conf {
	size_t max_answer_bytes;	/* bounds a rooms answer's users */
};

/*
 * Routes @path (the URL path, "/api/..." without the query) and @method:
 * sets @req->route and the room of rooms/R and history/R. Returns 0, or
 * the HTTP status (404, 405) with its answer in @out.
 */
unsigned int api_route(enum api_method method, const char *path,
		       struct api_req *req, struct api_out *out);

/*
 * Decodes @len bytes of @body (POST) or @query (GET history: "limit=N")
 * into @req for its route. Returns 0, or 400 with its answer in @out.
 */
unsigned int api_decode(struct api_req *req, const char *body, size_t len,
			const char *query, struct api_out *out);

/* Frees what @req holds (rooms of a broadcast). */
void api_req_free(struct api_req *req);

/*
 * The whole request: route, decode, and run on @h. Returns the HTTP status
 * with the JSON answer in @out (which the caller frees with api_out_free()).
 */
unsigned int api_handle(struct hub *h, const struct api_conf *conf,
			enum api_method method, const char *path,
			const char *query, const char *body, size_t len,
			int64_t now_ms, struct api_out *out);

/*
 * Routes and decodes a request (api_route, then api_decode) without
 * running it: for a transport that runs it elsewhere (a cluster). Returns
 * 0 with @req filled (free it with api_req_free() either way; texts point
 * into @body), or the status with its answer in @out.
 */
unsigned int api_parse(enum api_method method, const char *path,
		       const char *query, const char *body, size_t len,
		       struct api_req *req, struct api_out *out);

/* A room's publish result, as the process that numbered it gave it. */
struct api_result {
	uint64_t seq;
	char epoch[IDEM_EPOCH_MAX];
};

/*
 * Writes the answer of a publish (@res[0]) or a broadcast (@res[i] for
 * each of @req's rooms) to @out, as api_handle() would. Returns 200
 * (a short @out, out of memory, is the caller's 500).
 */
unsigned int api_answer_results(struct api_out *out, const struct api_req *req,
				const struct api_result *res);

/*
 * Writes a count's answer {"@name":@n} to @out ("delivered" of a direct,
 * "disconnected" of a disconnect); returns 200.
 */
unsigned int api_answer_count(struct api_out *out, const char *name,
			      uint64_t n);

/*
 * Takes the malloc'd answer @text (@len bytes) into @out: 200; or, with
 * @text NULL, 404 no_such_room when !@found, else 503 overloaded.
 */
unsigned int api_answer_text(struct api_out *out, char *text, size_t len,
			     int found);

/* Writes {"error":@code,"message":@message} to @out; returns @status. */
unsigned int api_error(struct api_out *out, unsigned int status,
		       const char *code, const char *message);

/* Releases @out's buffer. */
void api_out_free(struct api_out *out);

#endif
