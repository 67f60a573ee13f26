/*
 * fuzz_api: server API requests (plugin/core/api.h) on a hub with members,
 * as the status mount hands them over after the key check.
 *
 * Input: the first byte picks the method and path (one of the API's,
 * or a path built from the rest when its high bit is set); the rest is
 * the body (POST) or the query (GET).
 *
 * Invariants:
 *  api_status   the status is one PROTOCOL.md gives (200, 400, 404, 405,
 *               503) or 500 only when out of memory
 *  api_json     every answer is one JSON object
 *  api_code     a 400 carries one of the API's error codes
 *  api_hub      no request takes a member's room away
 */
#include "api.h"
#include "hub.h"
#include "hub_api.h"
#include "hub_history.h"
#include "fuzz_util.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
wake(void *o)
{
}

static void
on_close(void *o, int code)
{
}

static const struct hub_ops ops = { wake, on_close };

static const struct {
	enum api_method m;
	const char *path;
} routes[] = {
	{ API_POST, "/api/publish" }, { API_POST, "/api/broadcast" },
	{ API_POST, "/api/direct" }, { API_POST, "/api/disconnect" },
	{ API_GET, "/api/rooms/r1" }, { API_GET, "/api/history/r1" },
	{ API_GET, "/api/rooms/nope" }, { API_OTHER, "/api/publish" },
};

static const char *const codes[] = {
	"bad_json", "missing_field", "bad_room", "bad_user", "bad_request",
};

static void
check_answer(unsigned int st, const struct api_out *out)
{
	struct json_object *o, *e;
	size_t i;
	int ok = 0;

	CHECK("api_status", st == 200 || st == 400 || st == 404 ||
	      st == 405 || st == 503 || st == 500);
	if (st == 500)
		return;
	o = json_tokener_parse(out->buf);
	CHECK("api_json", o && json_object_is_type(o, json_type_object));
	if (st == 400) {
		CHECK("api_code", json_object_object_get_ex(o, "error", &e));
		for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
			ok |= !strcmp(json_object_get_string(e), codes[i]);
		CHECK("api_code", ok);
	}
	json_object_put(o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct api_conf conf = { .max_answer_bytes = 4096 };
	static const struct hub_history_conf hc = { .size = 3,
						    .bytes = 1u << 20,
						    .ttl_s = 300 };
	struct hub *h = hub_create(&ops, 7);
	struct rconf rc;
	struct client *c;
	struct api_out out = { 0 };
	char path[160], *text;
	const char *join = "{\"type\":\"join\",\"room_id\":\"r1\","
			   "\"user_id\":\"u1\"}";
	enum api_method m;
	unsigned int st;

	if (h)
		hub_configure_history(h, &hc);
	if (!h || !size)
		goto done;
	rconf_init(&rc);
	c = hub_client_new(h, &rc, NULL, 0);
	if (c)
		hub_on_text(h, c, join, strlen(join), 0);
	if (data[0] & 0x80) {
		size_t n = size - 1 < sizeof(path) - 1 ? size - 1
						       : sizeof(path) - 1;

		memcpy(path, data + 1, n);
		path[n] = '\0';
		m = (enum api_method)(data[0] % 3);
		st = api_handle(h, &conf, m, path, "", "", 0, 0, &out);
	} else {
		const char *p = routes[data[0] % 8].path;

		m = routes[data[0] % 8].m;
		text = malloc(size);
		if (!text)
			goto free_hub;
		memcpy(text, data + 1, size - 1);
		text[size - 1] = '\0';
		st = api_handle(h, &conf, m, p, text, text, size - 1, 0, &out);
		free(text);
	}
	check_answer(st, &out);
	/* the member's room is held; nothing else may linger empty */
	CHECK("api_hub", hub_room(h, "r1") != NULL);
	api_out_free(&out);
free_hub:
	hub_destroy(h);
	rconf_free(&rc);
	return 0;
done:
	hub_destroy(h);
	return 0;
}
