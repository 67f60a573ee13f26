/*
 * test_api.c: the server API's requests (api.h) on a hub with a fake
 * transport: routing, body decoding and PROTOCOL.md's error codes, the
 * answers, one encode per publish, idempotency, and the key (apikey.h).
 */
#include "unit.h"

#include "api.h"
#include "apikey.h"
#include "hub.h"
#include "hub_api.h"
#include "hub_history.h"
#include "msg.h"
#include "stats.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int closes, close_code;

static void
wake(void *o)
{
}

static void
on_close(void *o, int code)
{
	closes++;
	close_code = code;
}

static const struct hub_ops ops = { wake, on_close };
static const struct api_conf aconf = { .max_answer_bytes = 65536 };

/* A hub whose rooms hold @size broadcasts (history is the hub's option). */
static struct hub *
api_hub(unsigned int size)
{
	struct hub_history_conf hc = { .size = size, .bytes = 16u << 20,
				       .ttl_s = 300 };
	struct hub *h = hub_create(&ops, 1);

	if (h)
		hub_configure_history(h, &hc);
	return h;
}

/* Runs one request; returns the status and leaves the answer in @out. */
static unsigned int
call(struct hub *h, enum api_method m, const char *path, const char *body,
     struct api_out *out)
{
	return api_handle(h, &aconf, m, path, "", body, body ? strlen(body) : 0,
			  1000, out);
}

/* The string @key of the JSON answer in @out ("" when absent). */
static const char *
field(struct api_out *out, const char *key)
{
	static char buf[256];
	struct json_object *o = json_tokener_parse(out->buf), *v;

	buf[0] = '\0';
	if (o && json_object_object_get_ex(o, key, &v))
		snprintf(buf, sizeof(buf), "%s", json_object_get_string(v));
	json_object_put(o);
	return buf;
}

static void
expect_error(struct hub *h, enum api_method m, const char *path,
	     const char *body, unsigned int status, const char *code)
{
	struct api_out out = { 0 };

	CU_ASSERT_EQUAL(call(h, m, path, body, &out), status);
	CU_ASSERT_STRING_EQUAL(field(&out, "error"), code);
	api_out_free(&out);
}

static void
test_routes_and_methods(void)
{
	struct hub *h = api_hub(4);

	expect_error(h, API_GET, "/api/publish", NULL, 405,
		     "method_not_allowed");
	expect_error(h, API_OTHER, "/api/publish", "{}", 405,
		     "method_not_allowed");
	expect_error(h, API_POST, "/api/rooms/x", "{}", 405,
		     "method_not_allowed");
	expect_error(h, API_GET, "/api/nope", NULL, 404, "not_found");
	expect_error(h, API_GET, "/api/rooms", NULL, 404, "not_found");
	expect_error(h, API_GET, "/api/rooms/", NULL, 404, "not_found");
	expect_error(h, API_POST, "/api/publish/x", "{}", 404, "not_found");
	expect_error(h, API_GET, "/api/rooms/a b", NULL, 400, "bad_room");
	expect_error(h, API_GET, "/api/rooms/x", NULL, 404, "no_such_room");
	expect_error(h, API_GET, "/api/history/x", NULL, 404, "no_such_room");
	hub_destroy(h);
}

static void
test_body_errors_in_order(void)
{
	struct hub *h = api_hub(4);

	expect_error(h, API_POST, "/api/publish", "", 400, "bad_json");
	expect_error(h, API_POST, "/api/publish", "[]", 400, "bad_json");
	expect_error(h, API_POST, "/api/publish", "{\"a\":\xff}", 400,
		     "bad_json");
	/* missing_field comes before bad_room */
	expect_error(h, API_POST, "/api/publish", "{\"room_id\":\"a b\"}", 400,
		     "missing_field");
	expect_error(h, API_POST, "/api/publish",
		     "{\"room_id\":\"a b\",\"content\":1}", 400, "bad_room");
	expect_error(h, API_POST, "/api/publish",
		     "{\"room_id\":\"r\",\"content\":1,\"sender\":\"guest-4\"}",
		     400, "bad_user");
	expect_error(h, API_POST, "/api/publish",
		     "{\"room_id\":\"r\",\"content\":1,\"sender\":[]}", 400,
		     "missing_field");
	expect_error(h, API_POST, "/api/publish",
		     "{\"room_id\":\"r\",\"content\":1,"
		     "\"idempotency_key\":\"\"}", 400, "bad_request");
	expect_error(h, API_POST, "/api/broadcast",
		     "{\"rooms\":[],\"content\":1}", 400, "bad_request");
	expect_error(h, API_POST, "/api/broadcast",
		     "{\"rooms\":[\"a\", 2],\"content\":1}", 400,
		     "missing_field");
	expect_error(h, API_POST, "/api/broadcast",
		     "{\"rooms\":[\"a\",\"b\\u0020c\"],\"content\":1}", 400,
		     "bad_room");
	expect_error(h, API_POST, "/api/direct", "{\"to\":\"x\"}", 400,
		     "missing_field");
	expect_error(h, API_POST, "/api/direct",
		     "{\"to\":\"x\",\"content\":1,\"from\":\"guest-1\"}", 400,
		     "bad_user");
	expect_error(h, API_POST, "/api/disconnect", "{\"user_id\":\"\"}", 400,
		     "bad_user");
	/* nothing was made by the refused requests */
	CU_ASSERT_PTR_NULL(hub_room(h, "r"));
	hub_destroy(h);
}

static void
test_idempotency_key_lengths(void)
{
	struct hub *h = api_hub(4);
	struct api_out out = { 0 };
	char body[256];

	snprintf(body, sizeof(body), "{\"room_id\":\"r\",\"content\":1,"
		 "\"idempotency_key\":\"%064d\"}", 0);
	CU_ASSERT_EQUAL(call(h, API_POST, "/api/publish", body, &out), 200);
	snprintf(body, sizeof(body), "{\"room_id\":\"r\",\"content\":1,"
		 "\"idempotency_key\":\"%065d\"}", 0);
	CU_ASSERT_EQUAL(call(h, API_POST, "/api/publish", body, &out), 400);
	CU_ASSERT_STRING_EQUAL(field(&out, "error"), "bad_request");
	api_out_free(&out);
	hub_destroy(h);
}

static void
test_publish_to_member_once(void)
{
	struct hub *h = api_hub(4);
	struct rconf conf;
	struct client *a, *b;
	struct api_out out = { 0 };
	struct msg *ma, *mb;

	rconf_init(&conf);
	stats_reset(0);
	a = hub_client_new(h, &conf, NULL, 0);
	b = hub_client_new(h, &conf, NULL, 0);
	hub_on_text(h, a, "{\"type\":\"join\",\"room_id\":\"r\"}", 29, 0);
	hub_on_text(h, b, "{\"type\":\"join\",\"room_id\":\"r\"}", 29, 0);
	hub_written(h, a, hub_client_queued(a), 0);
	hub_written(h, b, hub_client_queued(b), 0);
	CU_ASSERT_EQUAL(call(h, API_POST, "/api/publish",
			     "{\"room_id\":\"r\",\"content\":{\"v\":1},"
			     "\"sender\":\"svc\"}", &out), 200);
	CU_ASSERT_STRING_EQUAL(field(&out, "seq"), "1");
	CU_ASSERT_EQUAL(hub_client_queued(a), 1);
	CU_ASSERT_EQUAL(hub_client_queued(b), 1);
	ma = hub_client_peek(a, 0);
	mb = hub_client_peek(b, 0);
	/* one frame encoded, shared: the same msg on both rings */
	CU_ASSERT_PTR_EQUAL(ma, mb);
	CU_ASSERT_TRUE(unit_text_is(msg_text(ma), ma->payload_len,
		"{\"type\":\"broadcast\",\"room_id\":\"r\",\"sender\":\"svc\","
		"\"seq\":1,\"content\":{\"v\":1}}"));
	CU_ASSERT_EQUAL(rm_stats.messages_received, 1);
	api_out_free(&out);
	hub_destroy(h);
	rconf_free(&conf);
}

static void
test_idempotent_publish_delivers_once(void)
{
	struct hub *h = api_hub(4);
	struct rconf conf;
	struct client *a;
	struct hub_pub_result r1, r2;

	rconf_init(&conf);
	a = hub_client_new(h, &conf, NULL, 0);
	hub_on_text(h, a, "{\"type\":\"join\",\"room_id\":\"r\"}", 29, 0);
	hub_written(h, a, hub_client_queued(a), 0);
	CU_ASSERT_EQUAL(hub_publish(h, "r", "api", "1", 1, "k", 1, 0, &r1),
			0);
	CU_ASSERT_EQUAL(hub_publish(h, "r", "api", "2", 1, "k", 1, 5000,
				    &r2), 0);
	CU_ASSERT_TRUE(r2.repeated);
	CU_ASSERT_EQUAL(r1.seq, r2.seq);
	CU_ASSERT_STRING_EQUAL(r1.epoch, r2.epoch);
	CU_ASSERT_EQUAL(hub_client_queued(a), 1);
	/* after the TTL the key is new again */
	CU_ASSERT_EQUAL(hub_publish(h, "r", "api", "3", 1, "k", 1,
				    IDEM_TTL_MS + 1, &r2), 0);
	CU_ASSERT_FALSE(r2.repeated);
	CU_ASSERT_EQUAL(r2.seq, r1.seq + 1);
	CU_ASSERT_EQUAL(hub_api_idem_count(h), 1);
	hub_destroy(h);
	rconf_free(&conf);
}

static void
test_room_not_held_freed_or_kept(void)
{
	struct hub *h = api_hub(4);
	struct hub_pub_result r;
	size_t len;
	int found;
	char *text;

	struct hub *off = api_hub(0);

	CU_ASSERT_EQUAL(hub_publish(off, "gone", "api", "1", 1, NULL, 0, 0,
				    &r), 0);
	CU_ASSERT_EQUAL(r.seq, 1);
	CU_ASSERT_PTR_NULL(hub_room(off, "gone"));
	hub_destroy(off);
	CU_ASSERT_EQUAL(hub_publish(h, "kept", "api", "1", 1, NULL, 0, 0,
				    &r), 0);
	CU_ASSERT_PTR_NOT_NULL(hub_room(h, "kept"));
	text = hub_api_history(h, "kept", 0, &len, &found);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"messages\":[{\"type\":"
				      "\"broadcast\",\"room_id\":\"kept\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"epoch\":\""));
	free(text);
	hub_destroy(h);
}

static void
test_disconnect_and_direct(void)
{
	struct hub *h = api_hub(4);
	struct rconf conf;
	struct client *a, *b;
	struct api_out out = { 0 };
	const char *join = "{\"type\":\"join\",\"room_id\":\"r\","
			   "\"user_id\":\"u\"}";

	rconf_init(&conf);
	a = hub_client_new(h, &conf, NULL, 0);
	b = hub_client_new(h, &conf, NULL, 0);
	hub_on_text(h, a, join, strlen(join), 0);
	hub_on_text(h, b, join, strlen(join), 0);
	CU_ASSERT_EQUAL(call(h, API_POST, "/api/direct",
			     "{\"to\":\"u\",\"content\":true}", &out), 200);
	CU_ASSERT_STRING_EQUAL(field(&out, "delivered"), "2");
	closes = 0;
	CU_ASSERT_EQUAL(call(h, API_POST, "/api/disconnect",
			     "{\"user_id\":\"u\"}", &out), 200);
	CU_ASSERT_STRING_EQUAL(field(&out, "disconnected"), "2");
	CU_ASSERT_EQUAL(closes, 2);
	CU_ASSERT_EQUAL(close_code, HUB_CLOSE_API_DISCONNECT);
	CU_ASSERT_EQUAL(call(h, API_POST, "/api/disconnect",
			     "{\"user_id\":\"u\"}", &out), 200);
	CU_ASSERT_STRING_EQUAL(field(&out, "disconnected"), "0");
	api_out_free(&out);
	hub_destroy(h);
	rconf_free(&conf);
}

static void
test_key(void)
{
	struct apikey k = { 0 };
	char err[200], path[] = "/tmp/rm-apikey-XXXXXX";
	int fd = mkstemp(path);
	FILE *f;

	CU_ASSERT_FALSE(apikey_check(&k, "x", 1));
	CU_ASSERT_EQUAL(apikey_set(&k, "secret", NULL, err, sizeof(err)), 0);
	CU_ASSERT_TRUE(apikey_check(&k, "secret", 6));
	CU_ASSERT_FALSE(apikey_check(&k, "secre", 5));
	CU_ASSERT_FALSE(apikey_check(&k, "secret2", 7));
	CU_ASSERT_NOT_EQUAL(apikey_set(&k, "", NULL, err, sizeof(err)), 0);
	CU_ASSERT_FALSE(apikey_check(&k, "", 0));
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "one\n", 4), 4);
	close(fd);
	CU_ASSERT_EQUAL(apikey_set(&k, NULL, path, err, sizeof(err)), 0);
	CU_ASSERT_TRUE(apikey_check(&k, "one", 3));
	f = fopen(path, "w");
	fputs("two-longer\n", f);
	fclose(f);
	apikey_refresh(&k, 500);	/* a second since the last look: no */
	apikey_refresh(&k, 5000);
	CU_ASSERT_FALSE(apikey_check(&k, "one", 3));
	CU_ASSERT_TRUE(apikey_check(&k, "two-longer", 10));
	unlink(path);
	apikey_refresh(&k, 10000);
	CU_ASSERT_FALSE(apikey_check(&k, "two-longer", 10));
	apikey_clear(&k);
	CU_ASSERT_NOT_EQUAL(apikey_set(&k, NULL, path, err, sizeof(err)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "api-key-file"));
}

/*
 * What a cluster's transport uses: api_parse() decodes without running
 * (nothing is published), and the answers are written as api_handle()'s.
 */
static void
test_parse_and_answers_for_a_cluster(void)
{
	struct api_result res[2] = { { 7, "e-1" }, { 1, "e-2" } };
	struct api_out out = { 0 };
	struct api_req req;
	struct msg *m;
	size_t len;
	char *text;
	const char *body = "{\"rooms\":[\"a\",\"b\"],\"content\":[1]}";

	CU_ASSERT_EQUAL(api_parse(API_POST, "/api/broadcast", "", body,
				  strlen(body), &req, &out),
			0);
	CU_ASSERT_EQUAL(req.route, API_R_BROADCAST);
	CU_ASSERT_EQUAL(req.n_rooms, 2);
	CU_ASSERT_EQUAL(api_answer_results(&out, &req, res), 200);
	CU_ASSERT_TRUE(unit_text_is(
		out.buf, out.len,
		"{\"results\":[{\"room_id\":\"a\",\"seq\":7,\"epoch\":"
		"\"e-1\"},{\"room_id\":\"b\",\"seq\":1,\"epoch\":\"e-2\"}]}"));
	api_req_free(&req);
	body = "{\"room_id\":\"r\",\"content\":1,\"idempotency_key\":\"k\"}";
	CU_ASSERT_EQUAL(api_parse(API_POST, "/api/publish", "", body,
				  strlen(body), &req, &out),
			0);
	CU_ASSERT_EQUAL(req.idem_len, 1);
	CU_ASSERT_EQUAL(api_answer_results(&out, &req, res), 200);
	CU_ASSERT_TRUE(unit_text_is(
		out.buf, out.len,
		"{\"room_id\":\"r\",\"seq\":7,\"epoch\":\"e-1\"}"));
	api_req_free(&req);
	/* a request's own error comes from api_parse() */
	CU_ASSERT_EQUAL(api_parse(API_GET, "/api/history/x", "limit=0", NULL, 0,
				  &req, &out),
			400);
	CU_ASSERT_STRING_EQUAL(field(&out, "error"), "bad_request");
	api_req_free(&req);
	CU_ASSERT_EQUAL(api_answer_count(&out, "disconnected", 3), 200);
	CU_ASSERT_TRUE(unit_text_is(out.buf, out.len, "{\"disconnected\":3}"));
	CU_ASSERT_EQUAL(api_answer_text(&out, NULL, 0, 0), 404);
	CU_ASSERT_STRING_EQUAL(field(&out, "error"), "no_such_room");
	/* the history and rooms texts a cluster builds */
	m = msg_from_text("{\"type\":\"broadcast\",\"seq\":2}", 28);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	text = hub_api_history_text("r", "E", &m, 1, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_STRING_EQUAL(text, "{\"epoch\":\"E\",\"room_id\":\"r\","
				     "\"messages\":[{\"type\":\"broadcast\","
				     "\"seq\":2}]}");
	CU_ASSERT_EQUAL(api_answer_text(&out, text, len, 1), 200);
	msg_unref(m);
	m = codec_encode_members("r", 3, (const char *[]){ "al" }, 1, 0, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	text = hub_api_room_text(9, "E", m, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_STRING_EQUAL(text, "{\"seq\":9,\"epoch\":\"E\","
				     "\"room_id\":\"r\",\"members\":3,"
				     "\"users\":[\"al\"]}");
	free(text);
	msg_unref(m);
	api_out_free(&out);
}

CU_TestInfo api_tests[] = {
	{ "cluster: parse without running, answers as api_handle's",
	  test_parse_and_answers_for_a_cluster },
	{ "routes, methods, 404/405", test_routes_and_methods },
	{ "body errors in PROTOCOL.md's order", test_body_errors_in_order },
	{ "idempotency_key 1-64 bytes", test_idempotency_key_lengths },
	{ "publish: one frame for every member", test_publish_to_member_once },
	{ "idempotent publish delivers once",
	  test_idempotent_publish_delivers_once },
	{ "room not held: freed, or kept with history",
	  test_room_not_held_freed_or_kept },
	{ "direct and disconnect (4005)", test_disconnect_and_direct },
	{ "key: constant-time check, file re-read", test_key },
	CU_TEST_INFO_NULL,
};
