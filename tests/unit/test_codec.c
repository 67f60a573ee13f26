/*
 * test_codec.c: decoding client messages and encoding server messages
 * (codec.h), against PROTOCOL.md's messages and its Errors section.
 */
#include "unit.h"

#include "codec.h"
#include "jscan.h"
#include "msg.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/*---- helpers ----*/

/*
 * Decodes @text and checks the error and the `ref` type: @ref NULL means
 * cmd.type must be NULL (unreadable).
 */
static void
expect_(const char *text, size_t len, enum rm_proto_err want,
	const char *ref, int line)
{
	struct codec *c = codec_create();
	struct codec_cmd cmd;
	enum rm_proto_err got;
	int ok;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	got = codec_decode(c, text, len, &cmd);
	ok = got == want;
	CU_ASSERT_EQUAL(got, want);
	if (ref) {
		CU_ASSERT_PTR_NOT_NULL(cmd.type);
		if (cmd.type) {
			CU_ASSERT_STRING_EQUAL(cmd.type, ref);
			ok &= !strcmp(cmd.type, ref);
		} else
			ok = 0;
	} else {
		CU_ASSERT_PTR_NULL(cmd.type);
		ok &= !cmd.type;
	}
	if (!ok)
		fprintf(stderr, "\n  line %d: %.*s -> %s (want %s), type %s\n",
			line, (int)(len > 200 ? 200 : len), text,
			codec_err_name(got), codec_err_name(want),
			cmd.type ? cmd.type : "(null)");
	codec_destroy(c);
}

#define expect(text, want, ref) expect_(text, strlen(text), want, ref, __LINE__)

/* A string of @n copies of @ch (static, overwritten by the next call). */
static const char *
rep(char ch, size_t n)
{
	static char buf[2][512];
	static int which;
	char *b = buf[which ^= 1];

	memset(b, ch, n);
	b[n] = '\0';
	return b;
}

/* Checks that @m holds exactly @want as its payload, framed and sealed. */
static void
expect_msg_(struct msg *m, const char *want, int line)
{
	size_t n = strlen(want);
	struct json_tokener *tok;
	struct json_object *o;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(m->payload_len, n);
	CU_ASSERT_TRUE(unit_text_is(msg_text(m), m->payload_len, want));
	if (!unit_text_is(msg_text(m), m->payload_len, want))
		fprintf(stderr, "\n  line %d: got  %.*s\n  want %s\n", line,
			(int)m->payload_len, msg_text(m), want);
	CU_ASSERT_EQUAL(m->refs, 1);
	CU_ASSERT_EQUAL(msg_frame(m)[0], 0x81);
	CU_ASSERT_EQUAL(msg_frame_len(m), m->hdr_len + n);
	/* and it is JSON a receiver can parse (deeper than json-c's default) */
	tok = json_tokener_new_ex(2 * CODEC_MAX_DEPTH);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tok);
	o = json_tokener_parse_ex(tok, want, (int)n);
	CU_ASSERT_PTR_NOT_NULL(o);
	json_object_put(o);
	json_tokener_free(tok);
	msg_unref(m);
}

#define expect_msg(m, want) expect_msg_(m, want, __LINE__)

/*---- successful decodes ----*/

static void
decode_join(void)
{
	const char *t =
		"{\"type\":\"join\",\"room_id\":\"lobby\",\"user_id\":\"al@x\","
		"\"extra\":[1,{\"y\":null}]}";
	struct codec *c = codec_create();
	struct codec_cmd cmd;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(codec_decode(c, t, strlen(t), &cmd), RM_PE_NONE);
	CU_ASSERT_EQUAL(cmd.op, CODEC_OP_JOIN);
	CU_ASSERT_STRING_EQUAL(cmd.type, "join");
	CU_ASSERT_EQUAL(cmd.room_len, 5);
	CU_ASSERT_TRUE(unit_text_is(cmd.room_id, cmd.room_len, "lobby"));
	CU_ASSERT_EQUAL(cmd.user_len, 4);
	CU_ASSERT_TRUE(unit_text_is(cmd.user_id, cmd.user_len, "al@x"));
	CU_ASSERT_PTR_NULL(cmd.content);

	/* user_id is optional; the codec is reusable */
	t = "{\"type\":\"join\",\"room_id\":\"r\"}";
	CU_ASSERT_EQUAL(codec_decode(c, t, strlen(t), &cmd), RM_PE_NONE);
	CU_ASSERT_EQUAL(cmd.op, CODEC_OP_JOIN);
	CU_ASSERT_PTR_NULL(cmd.user_id);
	CU_ASSERT_TRUE(unit_text_is(cmd.room_id, cmd.room_len, "r"));
	codec_destroy(c);
}

static void
decode_leave_broadcast_ping_direct(void)
{
	struct codec *c = codec_create();
	struct codec_cmd cmd;
	const char *t;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	t = "{\"type\":\"leave\",\"room_id\":\"a.b:c-d_e\"}";
	CU_ASSERT_EQUAL(codec_decode(c, t, strlen(t), &cmd), RM_PE_NONE);
	CU_ASSERT_EQUAL(cmd.op, CODEC_OP_LEAVE);
	CU_ASSERT_TRUE(unit_text_is(cmd.room_id, cmd.room_len, "a.b:c-d_e"));

	t = " {\"room_id\":\"r\", \"content\" : {\"n\": [1, 2.50, \"x\"]} ,"
	    "\"type\":\"broadcast\"}\n";
	CU_ASSERT_EQUAL(codec_decode(c, t, strlen(t), &cmd), RM_PE_NONE);
	CU_ASSERT_EQUAL(cmd.op, CODEC_OP_BROADCAST);
	CU_ASSERT_STRING_EQUAL(cmd.type, "broadcast");
	CU_ASSERT_TRUE(unit_text_is(cmd.room_id, cmd.room_len, "r"));
	CU_ASSERT_TRUE(unit_text_is(cmd.content, cmd.content_len,
				    "{\"n\": [1, 2.50, \"x\"]}"));

	/* content may be any JSON value, null included */
	t = "{\"type\":\"broadcast\",\"room_id\":\"r\",\"content\":null}";
	CU_ASSERT_EQUAL(codec_decode(c, t, strlen(t), &cmd), RM_PE_NONE);
	CU_ASSERT_TRUE(unit_text_is(cmd.content, cmd.content_len, "null"));

	/* passed on byte for byte, even where json-c would change it */
	t = "{\"type\":\"broadcast\",\"room_id\":\"r\",\"content\":1e400}";
	CU_ASSERT_EQUAL(codec_decode(c, t, strlen(t), &cmd), RM_PE_NONE);
	CU_ASSERT_TRUE(unit_text_is(cmd.content, cmd.content_len, "1e400"));

	t = "{\"type\":\"ping\"}";
	CU_ASSERT_EQUAL(codec_decode(c, t, strlen(t), &cmd), RM_PE_NONE);
	CU_ASSERT_EQUAL(cmd.op, CODEC_OP_PING);
	CU_ASSERT_PTR_NULL(cmd.id.text);

	t = "{\"type\":\"ping\",\"id\":\"abc\"}";
	CU_ASSERT_EQUAL(codec_decode(c, t, strlen(t), &cmd), RM_PE_NONE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cmd.id.text);
	CU_ASSERT_TRUE(unit_text_is(cmd.id.text, cmd.id.len, "\"abc\""));

	t = "{\"type\":\"direct\",\"to\":\"guest-7\",\"content\":\"hi\"}";
	CU_ASSERT_EQUAL(codec_decode(c, t, strlen(t), &cmd), RM_PE_NONE);
	CU_ASSERT_EQUAL(cmd.op, CODEC_OP_DIRECT);
	CU_ASSERT_TRUE(unit_text_is(cmd.to, cmd.to_len, "guest-7"));
	CU_ASSERT_TRUE(unit_text_is(cmd.content, cmd.content_len, "\"hi\""));
	codec_destroy(c);
}

static void
duplicate_type_last_wins(void)
{
	expect("{\"type\":\"nope\",\"type\":\"ping\"}", RM_PE_NONE, "ping");
}

/*---- bad_json ----*/

static void
bad_json_for_non_objects(void)
{
	expect("[1]", RM_PE_BAD_JSON, NULL);
	expect("[{\"type\":\"ping\"}]", RM_PE_BAD_JSON, NULL);
	expect("\"x\"", RM_PE_BAD_JSON, NULL);
	expect("1", RM_PE_BAD_JSON, NULL);
	expect("1 ", RM_PE_BAD_JSON, NULL);
	expect("null", RM_PE_BAD_JSON, NULL);
	expect("true", RM_PE_BAD_JSON, NULL);
	expect("", RM_PE_BAD_JSON, NULL);
	expect("   ", RM_PE_BAD_JSON, NULL);
}

static void
bad_json_for_broken_text(void)
{
	expect("{} x", RM_PE_BAD_JSON, NULL);
	expect("{\"type\":\"ping\"} x", RM_PE_BAD_JSON, NULL);
	expect("{\"type\":\"ping\"}{}", RM_PE_BAD_JSON, NULL);
	expect("{\"type\":\"ping\"} 1", RM_PE_BAD_JSON, NULL);
	expect("{\"type\":\"ping\"", RM_PE_BAD_JSON, NULL);
	expect("{\"type\":\"ping\",}", RM_PE_BAD_JSON, NULL);
	expect("{'type':'ping'}", RM_PE_BAD_JSON, NULL);
	expect("{type:\"ping\"}", RM_PE_BAD_JSON, NULL);
	expect("{\"type\":\"ping\",\"id\":01}", RM_PE_BAD_JSON, NULL);
	expect("{\"type\":\"ping\" /* c */}", RM_PE_BAD_JSON, NULL);
	/* whitespace around the object is fine */
	expect(" \t\r\n{\"type\":\"ping\"} \t\r\n", RM_PE_NONE, "ping");
}

static void
bad_json_for_nan_and_infinity(void)
{
	expect("{\"type\":\"ping\",\"id\":NaN}", RM_PE_BAD_JSON, NULL);
	expect("{\"type\":\"ping\",\"id\":Infinity}", RM_PE_BAD_JSON, NULL);
	expect("{\"type\":\"ping\",\"id\":-Infinity}", RM_PE_BAD_JSON, NULL);
	expect("{\"type\":\"broadcast\",\"room_id\":\"r\",\"content\":[nan]}",
	       RM_PE_BAD_JSON, NULL);
	/* the words inside strings, and exponents, are fine */
	expect("{\"type\":\"ping\",\"id\":\"NaN Infinity\"}", RM_PE_NONE,
	       "ping");
	expect("{\"type\":\"ping\",\"id\":[1e5,2E-3,true,false,null]}",
	       RM_PE_NONE, "ping");
	expect("{\"type\":\"ping\",\"id\":\"a\\\"NaN\\\\\"}", RM_PE_NONE,
	       "ping");
}

/*
 * RFC 8259 text that json-c's strict mode still lets through. A broadcast's
 * content is passed on byte for byte, so each of these would reach every
 * member as a message a strict parser (a browser's JSON.parse) refuses.
 */
static void
bad_json_for_what_json_c_lets_through(void)
{
	/* raw control characters inside strings must be escaped */
	expect("{\"type\":\"ping\",\"id\":\"\t\"}", RM_PE_BAD_JSON, NULL);
	expect("{\"type\":\"ping\",\"id\":\"a\nb\"}", RM_PE_BAD_JSON, NULL);
	expect("{\"type\":\"broadcast\",\"room_id\":\"r\","
	       "\"content\":\"\x01\"}", RM_PE_BAD_JSON, NULL);
	expect("{\"type\":\"broadcast\",\"room_id\":\"r\","
	       "\"content\":\"\x1f\"}", RM_PE_BAD_JSON, NULL);
	/* numbers: a fraction needs digits, no leading zeros */
	expect("{\"type\":\"broadcast\",\"room_id\":\"r\",\"content\":1.}",
	       RM_PE_BAD_JSON, NULL);
	expect("{\"type\":\"broadcast\",\"room_id\":\"r\","
	       "\"content\":[1.]}", RM_PE_BAD_JSON, NULL);
	expect("{\"type\":\"broadcast\",\"room_id\":\"r\",\"content\":-01}",
	       RM_PE_BAD_JSON, NULL);
	expect("{\"type\":\"broadcast\",\"room_id\":\"r\",\"content\":00}",
	       RM_PE_BAD_JSON, NULL);
	/* NUL bytes after the object are not whitespace */
	expect_("{\"type\":\"ping\"}\0", 16, RM_PE_BAD_JSON, NULL, __LINE__);
	expect_("{\"type\":\"ping\"}\0\0", 17, RM_PE_BAD_JSON, NULL, __LINE__);
	/* what stays valid */
	expect("{\"type\":\"ping\",\"id\":\"\x7f\\t\\n\\u0001\"}", RM_PE_NONE,
	       "ping");
	expect("{\"type\":\"ping\",\"id\":[0,-0,0.5,-0.5e-3,10]}", RM_PE_NONE,
	       "ping");
}

/* {"type":"ping","id": + @depth-1 nested arrays: total depth @depth */
static char *
nested(int depth)
{
	size_t n = 32 + 2 * (size_t)depth;
	char *s = malloc(n), *p = s;
	int i;

	if (!s)
		return NULL;
	p += sprintf(p, "{\"type\":\"ping\",\"id\":");
	for (i = 1; i < depth; i++)
		*p++ = '[';
	for (i = 1; i < depth; i++)
		*p++ = ']';
	*p++ = '}';
	*p = '\0';
	return s;
}

static void
bad_json_beyond_max_depth(void)
{
	char *s;

	s = nested(10);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	expect(s, RM_PE_NONE, "ping");
	free(s);
	s = nested(CODEC_MAX_DEPTH);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	expect(s, RM_PE_NONE, "ping");
	free(s);
	s = nested(CODEC_MAX_DEPTH + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	expect(s, RM_PE_BAD_JSON, NULL);
	free(s);
	s = nested(10000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	expect(s, RM_PE_BAD_JSON, NULL);
	free(s);
}

/*---- unknown_type ----*/

static void
unknown_type_for_missing_nonstring_unknown(void)
{
	char t[128];

	expect("{}", RM_PE_UNKNOWN_TYPE, NULL);
	expect("{\"room_id\":\"r\"}", RM_PE_UNKNOWN_TYPE, NULL);
	expect("{\"type\":1}", RM_PE_UNKNOWN_TYPE, NULL);
	expect("{\"type\":null}", RM_PE_UNKNOWN_TYPE, NULL);
	expect("{\"type\":[\"join\"]}", RM_PE_UNKNOWN_TYPE, NULL);
	expect("{\"type\":{\"join\":1}}", RM_PE_UNKNOWN_TYPE, NULL);
	expect("{\"type\":\"nope\"}", RM_PE_UNKNOWN_TYPE, "nope");
	expect("{\"type\":\"JOIN\"}", RM_PE_UNKNOWN_TYPE, "JOIN");
	expect("{\"type\":\"\"}", RM_PE_UNKNOWN_TYPE, "");
	expect("{\"type\":\"join \"}", RM_PE_UNKNOWN_TYPE, "join ");
	/* an embedded NUL is neither "join" nor echoed back */
	expect("{\"type\":\"join\\u0000x\",\"room_id\":\"r\"}",
	       RM_PE_UNKNOWN_TYPE, NULL);
	/* ref is echoed up to CODEC_REF_MAX bytes */
	snprintf(t, sizeof(t), "{\"type\":\"%s\"}", rep('t', CODEC_REF_MAX));
	expect(t, RM_PE_UNKNOWN_TYPE, rep('t', CODEC_REF_MAX));
	snprintf(t, sizeof(t), "{\"type\":\"%s\"}",
		 rep('t', CODEC_REF_MAX + 1));
	expect(t, RM_PE_UNKNOWN_TYPE, NULL);
}

static void
unknown_type_before_missing_field(void)
{
	expect("{\"type\":\"nope\",\"room_id\":5}", RM_PE_UNKNOWN_TYPE, "nope");
	expect("{\"room_id\":\"bad room\",\"user_id\":\"bad user\"}",
	       RM_PE_UNKNOWN_TYPE, NULL);
}

/*---- missing_field ----*/

static void
missing_field_for_each_op(void)
{
	/* room_id: missing or not a string */
	expect("{\"type\":\"join\"}", RM_PE_MISSING_FIELD, "join");
	expect("{\"type\":\"join\",\"room_id\":1}", RM_PE_MISSING_FIELD,
	       "join");
	expect("{\"type\":\"join\",\"room_id\":null}", RM_PE_MISSING_FIELD,
	       "join");
	expect("{\"type\":\"join\",\"room_id\":[\"r\"]}", RM_PE_MISSING_FIELD,
	       "join");
	expect("{\"type\":\"leave\"}", RM_PE_MISSING_FIELD, "leave");
	expect("{\"type\":\"leave\",\"room_id\":{}}", RM_PE_MISSING_FIELD,
	       "leave");
	expect("{\"type\":\"broadcast\",\"content\":1}", RM_PE_MISSING_FIELD,
	       "broadcast");
	expect("{\"type\":\"broadcast\",\"room_id\":true,\"content\":1}",
	       RM_PE_MISSING_FIELD, "broadcast");
	/* user_id: optional, but a string when there */
	expect("{\"type\":\"join\",\"room_id\":\"r\",\"user_id\":5}",
	       RM_PE_MISSING_FIELD, "join");
	expect("{\"type\":\"join\",\"room_id\":\"r\",\"user_id\":null}",
	       RM_PE_MISSING_FIELD, "join");
	/* content */
	expect("{\"type\":\"broadcast\",\"room_id\":\"r\"}",
	       RM_PE_MISSING_FIELD, "broadcast");
	expect("{\"type\":\"direct\",\"to\":\"u\"}", RM_PE_MISSING_FIELD,
	       "direct");
	/* to */
	expect("{\"type\":\"direct\",\"content\":1}", RM_PE_MISSING_FIELD,
	       "direct");
	expect("{\"type\":\"direct\",\"to\":7,\"content\":1}",
	       RM_PE_MISSING_FIELD, "direct");
}

static void
missing_field_before_bad_user(void)
{
	expect("{\"type\":\"join\",\"user_id\":\"bad user\"}",
	       RM_PE_MISSING_FIELD, "join");
	expect("{\"type\":\"join\",\"room_id\":5,\"user_id\":\"bad user\"}",
	       RM_PE_MISSING_FIELD, "join");
	expect("{\"type\":\"broadcast\",\"room_id\":\"bad room\"}",
	       RM_PE_MISSING_FIELD, "broadcast");
	expect("{\"type\":\"direct\",\"to\":\"bad user\"}",
	       RM_PE_MISSING_FIELD, "direct");
}

/*---- bad_room / bad_user ----*/

static void
bad_room_rules(void)
{
	char t[512];

	expect("{\"type\":\"join\",\"room_id\":\"\"}", RM_PE_BAD_ROOM, "join");
	snprintf(t, sizeof(t), "{\"type\":\"join\",\"room_id\":\"%s\"}",
		 rep('r', 129));
	expect(t, RM_PE_BAD_ROOM, "join");
	snprintf(t, sizeof(t), "{\"type\":\"join\",\"room_id\":\"%s\"}",
		 rep('r', 128));
	expect(t, RM_PE_NONE, "join");
	expect("{\"type\":\"join\",\"room_id\":\"a b\"}", RM_PE_BAD_ROOM,
	       "join");
	expect("{\"type\":\"join\",\"room_id\":\"a/b\"}", RM_PE_BAD_ROOM,
	       "join");
	expect("{\"type\":\"join\",\"room_id\":\"a@b\"}", RM_PE_BAD_ROOM,
	       "join");
	expect("{\"type\":\"join\",\"room_id\":\"caf\xc3\xa9\"}",
	       RM_PE_BAD_ROOM, "join");
	expect("{\"type\":\"join\",\"room_id\":\"a\\u0000b\"}",
	       RM_PE_BAD_ROOM, "join");
	expect("{\"type\":\"leave\",\"room_id\":\"a b\"}", RM_PE_BAD_ROOM,
	       "leave");
	expect("{\"type\":\"broadcast\",\"room_id\":\"\",\"content\":1}",
	       RM_PE_BAD_ROOM, "broadcast");
	expect("{\"type\":\"join\",\"room_id\":\"AZaz09_.:-\"}", RM_PE_NONE,
	       "join");
}

static void
bad_user_rules(void)
{
	char t[512];

	snprintf(t, sizeof(t), "{\"type\":\"join\",\"room_id\":\"r\","
		 "\"user_id\":\"%s\"}", rep('u', 65));
	expect(t, RM_PE_BAD_USER, "join");
	snprintf(t, sizeof(t), "{\"type\":\"join\",\"room_id\":\"r\","
		 "\"user_id\":\"%s\"}", rep('u', 64));
	expect(t, RM_PE_NONE, "join");
	expect("{\"type\":\"join\",\"room_id\":\"r\",\"user_id\":\"\"}",
	       RM_PE_BAD_USER, "join");
	expect("{\"type\":\"join\",\"room_id\":\"r\",\"user_id\":\"a b\"}",
	       RM_PE_BAD_USER, "join");
	expect("{\"type\":\"join\",\"room_id\":\"r\",\"user_id\":\"a+b\"}",
	       RM_PE_BAD_USER, "join");
	expect("{\"type\":\"join\",\"room_id\":\"r\","
	       "\"user_id\":\"al.ice_9:x-y@example\"}", RM_PE_NONE, "join");
	expect("{\"type\":\"direct\",\"to\":\"a b\",\"content\":1}",
	       RM_PE_BAD_USER, "direct");
	expect("{\"type\":\"direct\",\"to\":\"\",\"content\":1}",
	       RM_PE_BAD_USER, "direct");
}

static void
bad_room_before_bad_user(void)
{
	expect("{\"type\":\"join\",\"room_id\":\"bad room\","
	       "\"user_id\":\"bad user\"}", RM_PE_BAD_ROOM, "join");
	expect("{\"user_id\":\"bad user\",\"room_id\":\"\",\"type\":\"join\"}",
	       RM_PE_BAD_ROOM, "join");
}

static void
room_and_user_validators(void)
{
	CU_ASSERT_EQUAL(codec_room_valid("a", 1), 1);
	CU_ASSERT_EQUAL(codec_room_valid("", 0), 0);
	CU_ASSERT_EQUAL(codec_room_valid(rep('x', 128), 128), 1);
	CU_ASSERT_EQUAL(codec_room_valid(rep('x', 129), 129), 0);
	CU_ASSERT_EQUAL(codec_room_valid("a@b", 3), 0);
	CU_ASSERT_EQUAL(codec_room_valid("a\0b", 3), 0);
	CU_ASSERT_EQUAL(codec_user_valid("a@b", 3), 1);
	CU_ASSERT_EQUAL(codec_user_valid(rep('x', 64), 64), 1);
	CU_ASSERT_EQUAL(codec_user_valid(rep('x', 65), 65), 0);
	CU_ASSERT_EQUAL(codec_user_valid("", 0), 0);
	CU_ASSERT_EQUAL(codec_user_valid("a/b", 3), 0);
	CU_ASSERT_EQUAL(codec_user_valid("\xc3\xa9", 2), 0);
	/* naming someone else may name a guest; calling oneself one may not */
	CU_ASSERT_EQUAL(codec_user_valid("guest-5", 7), 1);
	CU_ASSERT_EQUAL(codec_own_user_valid("guest-5", 7), 0);
	CU_ASSERT_EQUAL(codec_own_user_valid("guest-", 6), 0);
	CU_ASSERT_EQUAL(codec_own_user_valid("guest-abc", 9), 0);
	CU_ASSERT_EQUAL(codec_own_user_valid("guest-01", 8), 0);
	CU_ASSERT_EQUAL(codec_own_user_valid("guest", 5), 1);
	CU_ASSERT_EQUAL(codec_own_user_valid("Guest-5", 7), 1);
	CU_ASSERT_EQUAL(codec_own_user_valid("a-guest-5", 9), 1);
	CU_ASSERT_EQUAL(codec_own_user_valid("a b", 3), 0);
	CU_ASSERT_EQUAL(codec_own_user_valid(rep('x', 64), 64), 1);
}

static void
error_names_are_the_wire_codes(void)
{
	CU_ASSERT_STRING_EQUAL(codec_err_name(RM_PE_RATE_LIMITED),
			       "rate_limited");
	CU_ASSERT_STRING_EQUAL(codec_err_name(RM_PE_BAD_JSON), "bad_json");
	CU_ASSERT_STRING_EQUAL(codec_err_name(RM_PE_BAD_FRAME), "bad_frame");
	CU_ASSERT_STRING_EQUAL(codec_err_name(RM_PE_UNKNOWN_TYPE),
			       "unknown_type");
	CU_ASSERT_STRING_EQUAL(codec_err_name(RM_PE_MISSING_FIELD),
			       "missing_field");
	CU_ASSERT_STRING_EQUAL(codec_err_name(RM_PE_BAD_ROOM), "bad_room");
	CU_ASSERT_STRING_EQUAL(codec_err_name(RM_PE_BAD_USER), "bad_user");
	CU_ASSERT_STRING_EQUAL(codec_err_name(RM_PE_USER_MISMATCH),
			       "user_mismatch");
	CU_ASSERT_STRING_EQUAL(codec_err_name(RM_PE_UNAUTHORIZED),
			       "unauthorized");
	CU_ASSERT_STRING_EQUAL(codec_err_name(RM_PE_NOT_MEMBER), "not_member");
	CU_ASSERT_STRING_EQUAL(codec_err_name(RM_PE_ROOM_LIMIT), "room_limit");
	CU_ASSERT_STRING_EQUAL(codec_err_name(RM_PE_NO_SUCH_USER),
			       "no_such_user");
	CU_ASSERT_STRING_EQUAL(codec_err_name((enum rm_proto_err)99),
			       "internal");
}

/*---- jscan_object: the members' text ----*/

static void
member_(const char *text, const char *key, const char *want, int line)
{
	struct jscan_val v;
	enum jscan_result r = jscan_object(text, strlen(text), &key, 1, &v);

	if (!want) {
		CU_ASSERT_PTR_NULL(v.text);
		if (v.text)
			fprintf(stderr, "\n  line %d: found %.*s\n", line,
				(int)v.len, v.text);
		return;
	}
	CU_ASSERT_EQUAL(r, JSCAN_OBJECT);
	CU_ASSERT_PTR_NOT_NULL(v.text);
	if (!v.text) {
		fprintf(stderr, "\n  line %d: %s not found\n", line, key);
		return;
	}
	CU_ASSERT_TRUE(unit_text_is(v.text, v.len, want));
	if (!unit_text_is(v.text, v.len, want))
		fprintf(stderr, "\n  line %d: got [%.*s] want [%s]\n", line,
			(int)v.len, v.text, want);
}

#define member(text, key, want) member_(text, key, want, __LINE__)

static void
member_text_is_raw_and_exact(void)
{
	member("{\"content\":1}", "content", "1");
	member("{\"content\":-1.5e3}", "content", "-1.5e3");
	member("{\"content\":123 }", "content", "123");
	member("{\n\t\"content\"\t:\r\n true\n}", "content", "true");
	member("{\"a\":1,\"content\": {\"x\" : [1, 2]} ,\"b\":2}", "content",
	       "{\"x\" : [1, 2]}");
	member("{\"content\":[ 1 , [ ] , { } ]}", "content",
	       "[ 1 , [ ] , { } ]");
	member("{\"content\":\"a\\\"}{b\\\\\"}", "content",
	       "\"a\\\"}{b\\\\\"");
	member("{\"content\":{\"k\":\"}]\\\"{\"},\"z\":1}", "content",
	       "{\"k\":\"}]\\\"{\"}");
	member("{\"content\":\"\"}", "content", "\"\"");
	member("{\"content\":null,\"type\":\"x\"}", "type", "\"x\"");
}

static void
member_text_duplicate_keys_last_wins(void)
{
	member("{\"content\":1,\"content\":[2]}", "content", "[2]");
	member("{\"content\":{\"a\":1},\"x\":0,\"content\":\"s\"}", "content",
	       "\"s\"");
	/* a key is compared with its escapes decoded, in either order */
	member("{\"content\":1,\"cont\\u0065nt\":2}", "content", "2");
	member("{\"cont\\u0065nt\":1,\"content\":2}", "content", "2");
	member("{\"\\u0063ontent\":[3]}", "content", "[3]");
	member("{\"conten\\t\":1}", "content", NULL);
	member("{\"content\\u0000\":1}", "content", NULL);
}

static void
member_text_only_top_level_keys(void)
{
	member("{\"a\":{\"content\":1}}", "content", NULL);
	member("{\"a\":[{\"content\":1}]}", "content", NULL);
	member("{\"a\":\"\\\"content\\\":1\"}", "content", NULL);
	member("{\"contents\":1}", "content", NULL);
	member("{\"conten\":1}", "content", NULL);
	member("{}", "content", NULL);
	member("[{\"content\":1}]", "content", NULL);
	member("{\"a\":{\"content\":1},\"content\":2}", "content", "2");
	/* nothing is recorded from text that is not JSON */
	member("{\"content\":1,}", "content", NULL);
}

/*---- UTF-8 ----*/

static int
u8(const char *s)
{
	return codec_utf8_valid((const unsigned char *)s, strlen(s));
}

static void
utf8_accepts_valid_text(void)
{
	CU_ASSERT_EQUAL(codec_utf8_valid((const unsigned char *)"", 0), 1);
	CU_ASSERT_EQUAL(u8("plain ascii {}"), 1);
	CU_ASSERT_EQUAL(u8("\xc2\x80"), 1);		/* U+0080 */
	CU_ASSERT_EQUAL(u8("caf\xc3\xa9"), 1);		/* U+00E9 */
	CU_ASSERT_EQUAL(u8("\xdf\xbf"), 1);		/* U+07FF */
	CU_ASSERT_EQUAL(u8("\xe0\xa0\x80"), 1);		/* U+0800 */
	CU_ASSERT_EQUAL(u8("\xe2\x82\xac"), 1);		/* U+20AC */
	CU_ASSERT_EQUAL(u8("\xed\x9f\xbf"), 1);		/* U+D7FF */
	CU_ASSERT_EQUAL(u8("\xee\x80\x80"), 1);		/* U+E000 */
	CU_ASSERT_EQUAL(u8("\xef\xbf\xbf"), 1);		/* U+FFFF */
	CU_ASSERT_EQUAL(u8("\xf0\x90\x80\x80"), 1);	/* U+10000 */
	CU_ASSERT_EQUAL(u8("\xf0\x9d\x84\x9e"), 1);	/* U+1D11E */
	CU_ASSERT_EQUAL(u8("\xf4\x8f\xbf\xbf"), 1);	/* U+10FFFF */
	CU_ASSERT_EQUAL(codec_utf8_valid((const unsigned char *)"a\0b", 3), 1);
}

static void
utf8_refuses_overlong_forms(void)
{
	CU_ASSERT_EQUAL(u8("\xc0\x80"), 0);
	CU_ASSERT_EQUAL(u8("\xc0\xaf"), 0);
	CU_ASSERT_EQUAL(u8("\xc1\xbf"), 0);
	CU_ASSERT_EQUAL(u8("\xe0\x80\x80"), 0);
	CU_ASSERT_EQUAL(u8("\xe0\x9f\xbf"), 0);
	CU_ASSERT_EQUAL(u8("\xf0\x80\x80\x80"), 0);
	CU_ASSERT_EQUAL(u8("\xf0\x8f\xbf\xbf"), 0);
}

static void
utf8_refuses_surrogates(void)
{
	CU_ASSERT_EQUAL(u8("\xed\xa0\x80"), 0);		/* U+D800 */
	CU_ASSERT_EQUAL(u8("\xed\xaf\xbf"), 0);		/* U+DBFF */
	CU_ASSERT_EQUAL(u8("\xed\xb0\x80"), 0);		/* U+DC00 */
	CU_ASSERT_EQUAL(u8("\xed\xbf\xbf"), 0);		/* U+DFFF */
	CU_ASSERT_EQUAL(u8("\xed\xa0\xbd\xed\xb8\x80"), 0); /* CESU pair */
}

static void
utf8_refuses_beyond_10ffff(void)
{
	CU_ASSERT_EQUAL(u8("\xf4\x90\x80\x80"), 0);	/* U+110000 */
	CU_ASSERT_EQUAL(u8("\xf5\x80\x80\x80"), 0);
	CU_ASSERT_EQUAL(u8("\xf7\xbf\xbf\xbf"), 0);
	CU_ASSERT_EQUAL(u8("\xf8\x88\x80\x80\x80"), 0);	/* 5-byte form */
	CU_ASSERT_EQUAL(u8("\xfc\x84\x80\x80\x80\x80"), 0);
	CU_ASSERT_EQUAL(u8("\xfe"), 0);
	CU_ASSERT_EQUAL(u8("\xff"), 0);
}

static void
utf8_refuses_truncated_and_stray_bytes(void)
{
	CU_ASSERT_EQUAL(u8("\xc3"), 0);
	CU_ASSERT_EQUAL(u8("a\xc3"), 0);
	CU_ASSERT_EQUAL(u8("\xe2\x82"), 0);
	CU_ASSERT_EQUAL(u8("\xf0\x9d\x84"), 0);
	CU_ASSERT_EQUAL(u8("\xc3(x"), 0);
	CU_ASSERT_EQUAL(u8("\xe2(\xa1"), 0);
	CU_ASSERT_EQUAL(u8("\xe2\x82("), 0);
	CU_ASSERT_EQUAL(u8("\x80"), 0);
	CU_ASSERT_EQUAL(u8("a\xbf"), 0);
	/* the length bounds the check: a valid sequence cut by @len */
	CU_ASSERT_EQUAL(codec_utf8_valid((const unsigned char *)"\xe2\x82\xac",
					 2), 0);
}

/*---- encoders ----*/

static void
encode_joined_left_presence_dropped(void)
{
	expect_msg(codec_encode_joined("lobby", "alice", 2, 5, "0000abcd-3",
				       NULL),
		   "{\"type\":\"joined\",\"room_id\":\"lobby\",\"user_id\":"
		   "\"alice\",\"members\":2,\"seq\":5,\"epoch\":\"0000abcd-3\"}");
	expect_msg(codec_encode_joined("r", "guest-1", 1, UINT64_MAX, "e", NULL),
		   "{\"type\":\"joined\",\"room_id\":\"r\",\"user_id\":"
		   "\"guest-1\",\"members\":1,\"seq\":18446744073709551615,"
		   "\"epoch\":\"e\"}");
	expect_msg(codec_encode_left("lobby", NULL),
		   "{\"type\":\"left\",\"room_id\":\"lobby\"}");
	expect_msg(codec_encode_presence("join", "r", "bob"),
		   "{\"type\":\"presence\",\"event\":\"join\",\"room_id\":"
		   "\"r\",\"user_id\":\"bob\"}");
	expect_msg(codec_encode_presence("leave", "r", "bob"),
		   "{\"type\":\"presence\",\"event\":\"leave\",\"room_id\":"
		   "\"r\",\"user_id\":\"bob\"}");
	expect_msg(codec_encode_dropped(3),
		   "{\"type\":\"dropped\",\"count\":3}");
}

static void
encode_broadcast_passes_content_through(void)
{
	static const char content[] = "{\"a\": [1, 1e400, \"}\"]}";
	char want[1024], room[129], user[65];

	expect_msg(codec_encode_broadcast("r", "alice", 7, content,
					  strlen(content)),
		   "{\"type\":\"broadcast\",\"room_id\":\"r\",\"sender\":"
		   "\"alice\",\"seq\":7,\"content\":{\"a\": [1, 1e400, \"}\"]}}");
	expect_msg(codec_encode_broadcast("r", "u", 1, "null", 4),
		   "{\"type\":\"broadcast\",\"room_id\":\"r\",\"sender\":"
		   "\"u\",\"seq\":1,\"content\":null}");
	/* the longest ids and seq still fit */
	strcpy(room, rep('r', 128));
	strcpy(user, rep('u', 64));
	snprintf(want, sizeof(want), "{\"type\":\"broadcast\",\"room_id\":"
		 "\"%s\",\"sender\":\"%s\",\"seq\":18446744073709551615,"
		 "\"content\":\"x\"}", room, user);
	expect_msg(codec_encode_broadcast(room, user, UINT64_MAX, "\"x\"", 3),
		   want);
}

static void
encode_direct_passes_content_through(void)
{
	char want[256], user[65];

	expect_msg(codec_encode_direct("alice", "\"hi\"", 4),
		   "{\"type\":\"direct\",\"from\":\"alice\",\"content\":\"hi\"}");
	expect_msg(codec_encode_direct("guest-12", "{ \"k\" : [ ] }", 13),
		   "{\"type\":\"direct\",\"from\":\"guest-12\",\"content\":"
		   "{ \"k\" : [ ] }}");
	strcpy(user, rep('u', 64));
	snprintf(want, sizeof(want), "{\"type\":\"direct\",\"from\":\"%s\","
		 "\"content\":1}", user);
	expect_msg(codec_encode_direct(user, "1", 1), want);
}

/* Decodes @t and encodes the pong: its payload must be @want. */
static void
pong_is_(const char *t, const char *want, int line)
{
	struct codec *c = codec_create();
	struct codec_cmd cmd;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(codec_decode(c, t, strlen(t), &cmd), RM_PE_NONE);
	expect_msg_(codec_encode_pong(&cmd.id), want, line);
	codec_destroy(c);
}

#define pong_is(t, want) pong_is_(t, want, __LINE__)

static void
encode_pong_echoes_id(void)
{
	struct codec_span id = { "7", 1 };

	expect_msg(codec_encode_pong(NULL), "{\"type\":\"pong\"}");
	expect_msg(codec_encode_pong(&id), "{\"type\":\"pong\",\"id\":7}");
	pong_is("{\"type\":\"ping\"}", "{\"type\":\"pong\"}");
	pong_is("{\"type\":\"ping\",\"id\":\"a/b \\\"q\\\"\"}",
		"{\"type\":\"pong\",\"id\":\"a/b \\\"q\\\"\"}");
	/* an integer as written: no 64-bit clamping, -0 stays -0 */
	pong_is("{\"type\":\"ping\",\"id\":123456789012345678901234567890}",
		"{\"type\":\"pong\",\"id\":123456789012345678901234567890}");
	pong_is("{\"type\":\"ping\",\"id\":-0}",
		"{\"type\":\"pong\",\"id\":-0}");
	pong_is("{\"type\":\"ping\",\"id\":-42}",
		"{\"type\":\"pong\",\"id\":-42}");
}

static void
id_of_another_kind_is_ignored(void)
{
	pong_is("{\"type\":\"ping\",\"id\":1.5}", "{\"type\":\"pong\"}");
	pong_is("{\"type\":\"ping\",\"id\":1e2}", "{\"type\":\"pong\"}");
	pong_is("{\"type\":\"ping\",\"id\":{\"x\":1}}", "{\"type\":\"pong\"}");
	pong_is("{\"type\":\"ping\",\"id\":[1]}", "{\"type\":\"pong\"}");
	pong_is("{\"type\":\"ping\",\"id\":true}", "{\"type\":\"pong\"}");
	pong_is("{\"type\":\"ping\",\"id\":null}", "{\"type\":\"pong\"}");
}

static void
id_string_of_64_bytes_at_most(void)
{
	char t[512], want[512];

	snprintf(t, sizeof(t), "{\"type\":\"ping\",\"id\":\"%s\"}",
		 rep('i', 64));
	snprintf(want, sizeof(want), "{\"type\":\"pong\",\"id\":\"%s\"}",
		 rep('i', 64));
	pong_is(t, want);
	snprintf(t, sizeof(t), "{\"type\":\"ping\",\"id\":\"%s\"}",
		 rep('i', 65));
	pong_is(t, "{\"type\":\"pong\"}");
	/* bytes of the string, not of its escaped text: 32 x U+00E9 = 64 */
	strcpy(t, "{\"type\":\"ping\",\"id\":\"");
	strcpy(want, "{\"type\":\"pong\",\"id\":\"");
	for (int i = 0; i < 32; i++) {
		strcat(t, "\\u00e9");
		strcat(want, "\\u00e9");
	}
	strcat(t, "\"}");
	strcat(want, "\"}");
	pong_is(t, want);
	/* 33 of them are 66 bytes */
	strcpy(t + strlen(t) - 2, "\\u00e9\"}");
	pong_is(t, "{\"type\":\"pong\"}");
	/* a lone surrogate escape counts 3 bytes and is echoed as written */
	pong_is("{\"type\":\"ping\",\"id\":\"\\ud800\"}",
		"{\"type\":\"pong\",\"id\":\"\\ud800\"}");
}

/* The id reaches every answer's encoder, and errors of parsed messages. */
static void
id_in_every_answer(void)
{
	struct codec_span id = { "\"r1\"", 4 };
	struct msg *m = msg_from_text("{\"x\":1}", 7);
	const char *users[] = { "al", "bo" };
	struct codec *c = codec_create();
	struct codec_cmd cmd;
	const char *t;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	expect_msg(codec_encode_joined("r", "u", 1, 0, "e", &id),
		   "{\"type\":\"joined\",\"id\":\"r1\",\"room_id\":\"r\","
		   "\"user_id\":\"u\",\"members\":1,\"seq\":0,\"epoch\":\"e\"}");
	expect_msg(codec_encode_joined_ex("r", "u", 1, 0, "e", 1, &id),
		   "{\"type\":\"joined\",\"id\":\"r1\",\"room_id\":\"r\","
		   "\"user_id\":\"u\",\"members\":1,\"seq\":0,\"epoch\":\"e\","
		   "\"recovered\":true}");
	expect_msg(codec_encode_left("r", &id),
		   "{\"type\":\"left\",\"id\":\"r1\",\"room_id\":\"r\"}");
	expect_msg(codec_encode_history("r", &m, 1, &id),
		   "{\"type\":\"history\",\"id\":\"r1\",\"room_id\":\"r\","
		   "\"messages\":[{\"x\":1}]}");
	expect_msg(codec_encode_history("r", NULL, 0, NULL),
		   "{\"type\":\"history\",\"room_id\":\"r\",\"messages\":[]}");
	expect_msg(codec_encode_members("r", 3, users, 2, 0, &id),
		   "{\"type\":\"members\",\"id\":\"r1\",\"room_id\":\"r\","
		   "\"members\":3,\"users\":[\"al\",\"bo\"]}");
	expect_msg(codec_encode_members("r", 0, users, 0, 1, NULL),
		   "{\"type\":\"members\",\"room_id\":\"r\",\"members\":0,"
		   "\"users\":[],\"truncated\":true}");
	expect_msg(codec_encode_error(RM_PE_NOT_MEMBER, "no", "leave", &id),
		   "{\"type\":\"error\",\"id\":\"r1\",\"code\":\"not_member\","
		   "\"message\":\"no\",\"ref\":\"leave\"}");
	msg_unref(m);

	/* an error after the message was parsed knows its id */
	t = "{\"type\":\"nope\",\"id\":9}";
	CU_ASSERT_EQUAL(codec_decode(c, t, strlen(t), &cmd),
			RM_PE_UNKNOWN_TYPE);
	CU_ASSERT_TRUE(unit_text_is(cmd.id.text, cmd.id.len, "9"));
	t = "{\"type\":\"join\",\"id\":\"x\"}";
	CU_ASSERT_EQUAL(codec_decode(c, t, strlen(t), &cmd),
			RM_PE_MISSING_FIELD);
	CU_ASSERT_TRUE(unit_text_is(cmd.id.text, cmd.id.len, "\"x\""));
	t = "{\"type\":\"join\",\"id\":\"x\",}";
	CU_ASSERT_EQUAL(codec_decode(c, t, strlen(t), &cmd), RM_PE_BAD_JSON);
	CU_ASSERT_PTR_NULL(cmd.id.text);
	/* an integer id: at most 64 bytes as written, like a string */
	{
		char big[128], msg[256];

		memset(big, '9', 64);
		big[64] = '\0';
		snprintf(msg, sizeof(msg), "{\"type\":\"ping\",\"id\":%s}",
			 big);
		CU_ASSERT_EQUAL(codec_decode(c, msg, strlen(msg), &cmd),
				RM_PE_NONE);
		CU_ASSERT_TRUE(unit_text_is(cmd.id.text, cmd.id.len, big));
		big[0] = '-'; /* "-" and 64 digits: 65 bytes */
		memset(big + 1, '9', 64);
		big[65] = '\0';
		snprintf(msg, sizeof(msg), "{\"type\":\"ping\",\"id\":%s}",
			 big);
		CU_ASSERT_EQUAL(codec_decode(c, msg, strlen(msg), &cmd),
				RM_PE_NONE);
		CU_ASSERT_PTR_NULL(cmd.id.text);
	}
	codec_destroy(c);
}

/*---- hostile content: receivers get exactly the bytes sent ----*/

/*
 * Decodes a broadcast of @content, its envelope written with @pre before
 * "content" (say, an escaped key), and checks that the broadcast members
 * receive carries @content byte for byte.
 */
static void
content_exact_(const char *pre, const char *content, const char *post,
	       int line)
{
	struct codec *c = codec_create();
	struct codec_cmd cmd;
	char *t, *want;
	size_t n = strlen(pre) + strlen(content) + strlen(post) + 200;

	t = malloc(n);
	want = malloc(n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_PTR_NOT_NULL_FATAL(want);
	snprintf(t, n, "{%s\"content\":%s%s}", pre, content, post);
	CU_ASSERT_EQUAL(codec_decode(c, t, strlen(t), &cmd), RM_PE_NONE);
	if (cmd.op == CODEC_OP_BROADCAST) {
		snprintf(want, n, "{\"type\":\"broadcast\",\"room_id\":\"r\","
			 "\"sender\":\"u\",\"seq\":1,\"content\":%s}", content);
		expect_msg_(codec_encode_broadcast(cmd.room_id, "u", 1,
						   cmd.content,
						   cmd.content_len), want, line);
	} else {
		fprintf(stderr, "\n  line %d: %s not decoded\n", line, t);
		CU_FAIL("not decoded");
	}
	free(t);
	free(want);
	codec_destroy(c);
}

#define PLAIN "\"type\":\"broadcast\",\"room_id\":\"r\","
/* the same envelope, every key spelled with escapes */
#define ESCAPED "\"t\\u0079pe\":\"broadcast\",\"room\\u005fid\":\"\\u0072\","
#define content_exact(pre, content, post) \
	content_exact_(pre, content, post, __LINE__)

static const char *const hostile[] = {
	"123456789012345678901234567890",
	"-123456789012345678901234567890.5e-7",
	"-0",
	"-0.0",
	"1e400",
	"-1E-400",
	"{\"a\":1,\"a\":2}",
	"{\"a\":{\"b\":1,\"b\":[2,2]},\"a\":null}",
	"\"\\ud800\"",
	"\"x\\udc00y\\ud800\"",
	"{\"\\ud800\":\"\\udfff\"}",
	"\"\\u0000 nul\"",
	"\"caf\xc3\xa9 \\u00e9 \xf0\x9f\x98\x80 \\ud83d\\ude00\"",
	"\"\\/\\b\\f\\n\\r\\t\\\"\\\\\"",
	"[ 1 ,\t2 ,\r\n{ \"k\" : [ ] } ]",
	"{ }",
	"[]",
	"true",
	"null",
};

static void
hostile_content_passes_through(void)
{
	size_t i;

	for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		content_exact(PLAIN, hostile[i], "");
		content_exact(ESCAPED, hostile[i], "");
		/* and after it, a key with escapes that is not content */
		content_exact(PLAIN, hostile[i], ",\"x\\u0041\":1");
	}
}

static void
hostile_content_nested_to_the_limit(void)
{
	char deep[2 * CODEC_MAX_DEPTH + 8];
	int d = CODEC_MAX_DEPTH - 1, i;	/* the object itself is depth 1 */

	for (i = 0; i < d; i++)
		deep[i] = '[';
	for (i = 0; i < d; i++)
		deep[d + i] = ']';
	deep[2 * d] = '\0';
	content_exact(ESCAPED, deep, "");
	/* one deeper is bad_json */
	memmove(deep + 1, deep, strlen(deep) + 1);
	deep[0] = '[';
	strcat(deep, "]");
	{
		char t[400];

		snprintf(t, sizeof(t), "{" PLAIN "\"content\":%s}", deep);
		expect(t, RM_PE_BAD_JSON, NULL);
	}
}

static void
whitespace_around_content_is_not_content(void)
{
	struct codec *c = codec_create();
	struct codec_cmd cmd;
	const char *t = " \t{ \"type\" :\"broadcast\" ,\r\n\"room_id\": \"r\" ,"
			"\"content\"\n:\t [ 1 ,2 ]\r\n , \"z\" : 0 }\n ";

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(codec_decode(c, t, strlen(t), &cmd), RM_PE_NONE);
	CU_ASSERT_TRUE(unit_text_is(cmd.content, cmd.content_len,
				    "[ 1 ,2 ]"));
	codec_destroy(c);
}

static void
duplicate_content_keys_last_wins_escaped_or_not(void)
{
	struct codec *c = codec_create();
	struct codec_cmd cmd;
	const char *t;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	t = "{" PLAIN "\"content\":1,\"cont\\u0065nt\":2}";
	CU_ASSERT_EQUAL(codec_decode(c, t, strlen(t), &cmd), RM_PE_NONE);
	CU_ASSERT_TRUE(unit_text_is(cmd.content, cmd.content_len, "2"));
	t = "{" PLAIN "\"cont\\u0065nt\":1,\"content\":{\"a\":2}}";
	CU_ASSERT_EQUAL(codec_decode(c, t, strlen(t), &cmd), RM_PE_NONE);
	CU_ASSERT_TRUE(unit_text_is(cmd.content, cmd.content_len,
				    "{\"a\":2}"));
	t = "{\"type\":\"ping\",\"id\":1,\"\\u0069d\":\"two\"}";
	CU_ASSERT_EQUAL(codec_decode(c, t, strlen(t), &cmd), RM_PE_NONE);
	CU_ASSERT_TRUE(unit_text_is(cmd.id.text, cmd.id.len, "\"two\""));
	codec_destroy(c);
}

static void
escaped_ids_are_decoded(void)
{
	struct codec *c = codec_create();
	struct codec_cmd cmd;
	const char *t;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	t = "{\"type\":\"j\\u006fin\",\"room_id\":\"r\\u006f\\/om\","
	    "\"user_id\":\"\\u0061l\"}";
	CU_ASSERT_EQUAL(codec_decode(c, t, strlen(t), &cmd), RM_PE_BAD_ROOM);
	t = "{\"type\":\"j\\u006fin\",\"room_id\":\"r\\u006f:om\","
	    "\"user_id\":\"\\u0061l\",\"epoch\":\"\\u0065\"}";
	CU_ASSERT_EQUAL(codec_decode(c, t, strlen(t), &cmd), RM_PE_NONE);
	CU_ASSERT_EQUAL(cmd.op, CODEC_OP_JOIN);
	CU_ASSERT_STRING_EQUAL(cmd.type, "join");
	CU_ASSERT_TRUE(unit_text_is(cmd.room_id, cmd.room_len, "ro:om"));
	CU_ASSERT_TRUE(unit_text_is(cmd.user_id, cmd.user_len, "al"));
	CU_ASSERT_STRING_EQUAL(cmd.epoch, "e");
	codec_destroy(c);
	/* what no id may hold: U+0000, lone surrogates, non-ASCII */
	expect("{\"type\":\"join\",\"room_id\":\"r\\u0000\"}", RM_PE_BAD_ROOM,
	       "join");
	expect("{\"type\":\"join\",\"room_id\":\"\\ud800\"}", RM_PE_BAD_ROOM,
	       "join");
	expect("{\"type\":\"join\",\"room_id\":\"r\",\"user_id\":\"\\u00e9\"}",
	       RM_PE_BAD_USER, "join");
	expect("{\"type\":\"direct\",\"to\":\"\\udbff\\udfff\",\"content\":1}",
	       RM_PE_BAD_USER, "direct");
	/* a type holding U+0000 or a lone surrogate is not echoed */
	expect("{\"type\":\"ping\\u0000\"}", RM_PE_UNKNOWN_TYPE, NULL);
	expect("{\"type\":\"\\udc00\"}", RM_PE_UNKNOWN_TYPE, NULL);
	expect("{\"type\":\"\\u00e9\"}", RM_PE_UNKNOWN_TYPE, "\xc3\xa9");
	/*
	 * a pair is joined by RFC 8259, also for U+1DE00, whose low 16 bits
	 * look like a surrogate (json-c 0.16 gives U+FFFD there)
	 */
	expect("{\"type\":\"b \\ud837\\ude00\"}", RM_PE_UNKNOWN_TYPE,
	       "b \xf0\x9d\xb8\x80");
}

static void
since_and_limit_integers(void)
{
	struct codec *c = codec_create();
	struct codec_cmd cmd;
	const char *t;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	t = "{\"type\":\"join\",\"room_id\":\"r\",\"since\":18446744073709551615}";
	CU_ASSERT_EQUAL(codec_decode(c, t, strlen(t), &cmd), RM_PE_NONE);
	CU_ASSERT_EQUAL(cmd.since, UINT64_MAX);
	CU_ASSERT_EQUAL(cmd.has_since, 1);
	t = "{\"type\":\"join\",\"room_id\":\"r\",\"since\":-0}";
	CU_ASSERT_EQUAL(codec_decode(c, t, strlen(t), &cmd), RM_PE_NONE);
	CU_ASSERT_EQUAL(cmd.since, 0);
	CU_ASSERT_EQUAL(cmd.has_since, 1);
	/* an epoch the cmd cannot hold matches nothing, but is there */
	t = "{\"type\":\"join\",\"room_id\":\"r\",\"epoch\":\"\\ud800\"}";
	CU_ASSERT_EQUAL(codec_decode(c, t, strlen(t), &cmd), RM_PE_NONE);
	CU_ASSERT_PTR_NOT_NULL(cmd.epoch);
	if (cmd.epoch)
		CU_ASSERT_STRING_EQUAL(cmd.epoch, "");
	codec_destroy(c);
	expect("{\"type\":\"join\",\"room_id\":\"r\",\"since\":18446744073709551616}",
	       RM_PE_MISSING_FIELD, "join");
	expect("{\"type\":\"join\",\"room_id\":\"r\",\"since\":-1}",
	       RM_PE_MISSING_FIELD, "join");
	expect("{\"type\":\"join\",\"room_id\":\"r\",\"since\":1.0}",
	       RM_PE_MISSING_FIELD, "join");
	expect("{\"type\":\"history\",\"room_id\":\"r\",\"limit\":1e1}",
	       RM_PE_MISSING_FIELD, "history");
	expect("{\"type\":\"history\",\"room_id\":\"r\",\"limit\":-0}",
	       RM_PE_MISSING_FIELD, "history");
	expect("{\"type\":\"history\",\"room_id\":\"r\",\"limit\":7}",
	       RM_PE_NONE, "history");
}

static void
decode_members(void)
{
	expect("{\"type\":\"members\",\"room_id\":\"r\"}", RM_PE_NONE,
	       "members");
	expect("{\"type\":\"members\"}", RM_PE_MISSING_FIELD, "members");
	expect("{\"type\":\"members\",\"room_id\":1}", RM_PE_MISSING_FIELD,
	       "members");
	expect("{\"type\":\"members\",\"room_id\":\"a b\"}", RM_PE_BAD_ROOM,
	       "members");
}

static void
invalid_utf8_wins_over_syntax(void)
{
	expect("{\"type\":\"ping\",\"id\":\"\xff\"}", RM_PE_INVALID_UTF8, NULL);
	/* the grammar fails first; the bytes after it are still checked */
	expect("{\"type\" x \xc0\x80", RM_PE_INVALID_UTF8, NULL);
	expect("\xed\xa0\x80", RM_PE_INVALID_UTF8, NULL);
	expect("{\"type\":\"ping\"}\xf4\x90\x80\x80", RM_PE_INVALID_UTF8, NULL);
	expect("{\"type\":\"ping\"} \xc3\xa9", RM_PE_BAD_JSON, NULL);
	expect("{\"type\":\"ping\",\"x\":\"\xf0\x9f\x98\x80\"}", RM_PE_NONE,
	       "ping");
}

static void
encode_error_with_and_without_ref(void)
{
	expect_msg(codec_encode_error(RM_PE_BAD_JSON, "not JSON", NULL, NULL),
		   "{\"type\":\"error\",\"code\":\"bad_json\",\"message\":"
		   "\"not JSON\"}");
	expect_msg(codec_encode_error(RM_PE_NOT_MEMBER, "no", "broadcast", NULL),
		   "{\"type\":\"error\",\"code\":\"not_member\",\"message\":"
		   "\"no\",\"ref\":\"broadcast\"}");
	expect_msg(codec_encode_error(RM_PE_BAD_ROOM, "say \"a/b\"\n", "x\"y", NULL),
		   "{\"type\":\"error\",\"code\":\"bad_room\",\"message\":"
		   "\"say \\\"a/b\\\"\\n\",\"ref\":\"x\\\"y\"}");
	expect_msg(codec_encode_error(RM_PE_NO_SUCH_USER, "m", "", NULL),
		   "{\"type\":\"error\",\"code\":\"no_such_user\",\"message\":"
		   "\"m\",\"ref\":\"\"}");
}

CU_TestInfo codec_tests[] = {
	{ "decode join: room_id, user_id (optional), unknown fields ignored",
	  decode_join },
	{ "decode leave, broadcast (raw content), ping (id), direct",
	  decode_leave_broadcast_ping_direct },
	{ "a duplicate type key: the last wins", duplicate_type_last_wins },
	{ "bad_json for non-object JSON", bad_json_for_non_objects },
	{ "bad_json for broken or trailing text", bad_json_for_broken_text },
	{ "bad_json for NaN and Infinity", bad_json_for_nan_and_infinity },
	{ "bad_json for invalid JSON json-c accepts (control chars, 1., 01, NUL)",
	  bad_json_for_what_json_c_lets_through },
	{ "bad_json beyond CODEC_MAX_DEPTH, not at it",
	  bad_json_beyond_max_depth },
	{ "unknown_type for missing, non-string, unknown type; ref rules",
	  unknown_type_for_missing_nonstring_unknown },
	{ "unknown_type comes before missing_field",
	  unknown_type_before_missing_field },
	{ "missing_field for missing or wrong-typed fields of each op",
	  missing_field_for_each_op },
	{ "missing_field comes before bad_room/bad_user",
	  missing_field_before_bad_user },
	{ "bad_room: empty, 129 bytes, bad chars; 128 bytes ok", bad_room_rules },
	{ "bad_user: empty, 65 bytes, bad chars; '@' and 64 bytes ok",
	  bad_user_rules },
	{ "a join with a bad room and a bad user is bad_room",
	  bad_room_before_bad_user },
	{ "codec_room_valid and codec_user_valid", room_and_user_validators },
	{ "codec_err_name gives the wire codes", error_names_are_the_wire_codes },
	{ "jscan_object returns a member's raw text",
	  member_text_is_raw_and_exact },
	{ "jscan_object: duplicate keys, escaped or not: the last wins",
	  member_text_duplicate_keys_last_wins },
	{ "jscan_object sees only top-level keys",
	  member_text_only_top_level_keys },
	{ "UTF-8: valid 1-4 byte sequences pass", utf8_accepts_valid_text },
	{ "UTF-8: overlong forms are refused", utf8_refuses_overlong_forms },
	{ "UTF-8: surrogates are refused", utf8_refuses_surrogates },
	{ "UTF-8: code points above U+10FFFF are refused",
	  utf8_refuses_beyond_10ffff },
	{ "UTF-8: truncated sequences and stray bytes are refused",
	  utf8_refuses_truncated_and_stray_bytes },
	{ "encode joined, left, presence, dropped exactly",
	  encode_joined_left_presence_dropped },
	{ "encode broadcast passes content through byte for byte",
	  encode_broadcast_passes_content_through },
	{ "encode direct passes content through",
	  encode_direct_passes_content_through },
	{ "encode pong echoes the id", encode_pong_echoes_id },
	{ "an id of another kind (float, object, ...) is ignored",
	  id_of_another_kind_is_ignored },
	{ "an id string of up to 64 bytes (decoded) is echoed, longer not",
	  id_string_of_64_bytes_at_most },
	{ "the id reaches every answer and the errors of parsed messages",
	  id_in_every_answer },
	{ "hostile content passes byte for byte, keys escaped or not",
	  hostile_content_passes_through },
	{ "content nested to the depth limit passes; deeper is bad_json",
	  hostile_content_nested_to_the_limit },
	{ "whitespace around content is not part of it",
	  whitespace_around_content_is_not_content },
	{ "duplicate content/id keys, escaped or not: the last wins",
	  duplicate_content_keys_last_wins_escaped_or_not },
	{ "escaped type, room_id, user_id, epoch are decoded",
	  escaped_ids_are_decoded },
	{ "since and limit: 64-bit integers, -0, nothing else",
	  since_and_limit_integers },
	{ "decode members: room_id required and checked", decode_members },
	{ "invalid UTF-8 is RM_PE_INVALID_UTF8, before any syntax error",
	  invalid_utf8_wins_over_syntax },
	{ "encode error with and without ref, escaped",
	  encode_error_with_and_without_ref },
	CU_TEST_INFO_NULL,
};
