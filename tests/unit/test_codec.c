/*
 * test_codec.c: decoding client messages and encoding server messages
 * (codec.h), against PROTOCOL.md's messages and its Errors section.
 */
#include "unit.h"

#include "codec.h"
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
	codec_cmd_release(&cmd);
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
	/* and it is JSON a receiver can parse */
	o = json_tokener_parse(want);
	CU_ASSERT_PTR_NOT_NULL(o);
	json_object_put(o);
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
	codec_cmd_release(&cmd);
	CU_ASSERT_PTR_NULL(cmd.root);

	/* user_id is optional; the codec is reusable */
	t = "{\"type\":\"join\",\"room_id\":\"r\"}";
	CU_ASSERT_EQUAL(codec_decode(c, t, strlen(t), &cmd), RM_PE_NONE);
	CU_ASSERT_EQUAL(cmd.op, CODEC_OP_JOIN);
	CU_ASSERT_PTR_NULL(cmd.user_id);
	CU_ASSERT_TRUE(unit_text_is(cmd.room_id, cmd.room_len, "r"));
	codec_cmd_release(&cmd);
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
	codec_cmd_release(&cmd);

	t = " {\"room_id\":\"r\", \"content\" : {\"n\": [1, 2.50, \"x\"]} ,"
	    "\"type\":\"broadcast\"}\n";
	CU_ASSERT_EQUAL(codec_decode(c, t, strlen(t), &cmd), RM_PE_NONE);
	CU_ASSERT_EQUAL(cmd.op, CODEC_OP_BROADCAST);
	CU_ASSERT_STRING_EQUAL(cmd.type, "broadcast");
	CU_ASSERT_TRUE(unit_text_is(cmd.room_id, cmd.room_len, "r"));
	CU_ASSERT_TRUE(unit_text_is(cmd.content, cmd.content_len,
				    "{\"n\": [1, 2.50, \"x\"]}"));
	codec_cmd_release(&cmd);

	/* content may be any JSON value, null included */
	t = "{\"type\":\"broadcast\",\"room_id\":\"r\",\"content\":null}";
	CU_ASSERT_EQUAL(codec_decode(c, t, strlen(t), &cmd), RM_PE_NONE);
	CU_ASSERT_TRUE(unit_text_is(cmd.content, cmd.content_len, "null"));
	codec_cmd_release(&cmd);

	/* passed on byte for byte, even where json-c would change it */
	t = "{\"type\":\"broadcast\",\"room_id\":\"r\",\"content\":1e400}";
	CU_ASSERT_EQUAL(codec_decode(c, t, strlen(t), &cmd), RM_PE_NONE);
	CU_ASSERT_TRUE(unit_text_is(cmd.content, cmd.content_len, "1e400"));
	codec_cmd_release(&cmd);

	t = "{\"type\":\"ping\"}";
	CU_ASSERT_EQUAL(codec_decode(c, t, strlen(t), &cmd), RM_PE_NONE);
	CU_ASSERT_EQUAL(cmd.op, CODEC_OP_PING);
	CU_ASSERT_PTR_NULL(cmd.id);
	codec_cmd_release(&cmd);

	t = "{\"type\":\"ping\",\"id\":\"abc\"}";
	CU_ASSERT_EQUAL(codec_decode(c, t, strlen(t), &cmd), RM_PE_NONE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cmd.id);
	CU_ASSERT_TRUE(unit_text_is(cmd.id, cmd.id_len, "\"abc\""));
	codec_cmd_release(&cmd);

	t = "{\"type\":\"direct\",\"to\":\"guest-7\",\"content\":\"hi\"}";
	CU_ASSERT_EQUAL(codec_decode(c, t, strlen(t), &cmd), RM_PE_NONE);
	CU_ASSERT_EQUAL(cmd.op, CODEC_OP_DIRECT);
	CU_ASSERT_TRUE(unit_text_is(cmd.to, cmd.to_len, "guest-7"));
	CU_ASSERT_TRUE(unit_text_is(cmd.content, cmd.content_len, "\"hi\""));
	codec_cmd_release(&cmd);
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

/*---- codec_member_text ----*/

static void
member_(const char *text, const char *key, const char *want, int line)
{
	const char *v = NULL;
	size_t n = 0;
	int found = codec_member_text(text, strlen(text), key, &v, &n);

	if (!want) {
		CU_ASSERT_EQUAL(found, 0);
		if (found)
			fprintf(stderr, "\n  line %d: found %.*s\n", line,
				(int)n, v);
		return;
	}
	CU_ASSERT_EQUAL(found, 1);
	if (!found) {
		fprintf(stderr, "\n  line %d: %s not found\n", line, key);
		return;
	}
	CU_ASSERT_TRUE(unit_text_is(v, n, want));
	if (!unit_text_is(v, n, want))
		fprintf(stderr, "\n  line %d: got [%.*s] want [%s]\n", line,
			(int)n, v, want);
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
	expect_msg(codec_encode_joined("lobby", "alice", 2, 5, "0000abcd-3"),
		   "{\"type\":\"joined\",\"room_id\":\"lobby\",\"user_id\":"
		   "\"alice\",\"members\":2,\"seq\":5,\"epoch\":\"0000abcd-3\"}");
	expect_msg(codec_encode_joined("r", "guest-1", 1, UINT64_MAX, "e"),
		   "{\"type\":\"joined\",\"room_id\":\"r\",\"user_id\":"
		   "\"guest-1\",\"members\":1,\"seq\":18446744073709551615,"
		   "\"epoch\":\"e\"}");
	expect_msg(codec_encode_left("lobby"),
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

static void
encode_pong_echoes_id(void)
{
	struct codec *c = codec_create();
	struct codec_cmd cmd;
	const char *t;

	expect_msg(codec_encode_pong(NULL, 0), "{\"type\":\"pong\"}");
	expect_msg(codec_encode_pong("7", 1), "{\"type\":\"pong\",\"id\":7}");
	t = "\"a/b \\\"q\\\"\"";
	expect_msg(codec_encode_pong(t, strlen(t)),
		   "{\"type\":\"pong\",\"id\":\"a/b \\\"q\\\"\"}");

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	t = "{\"type\":\"ping\",\"id\":{\"x\":[1,\"y\",null]}}";
	CU_ASSERT_EQUAL(codec_decode(c, t, strlen(t), &cmd), RM_PE_NONE);
	expect_msg(codec_encode_pong(cmd.id, cmd.id_len),
		   "{\"type\":\"pong\",\"id\":{\"x\":[1,\"y\",null]}}");
	codec_cmd_release(&cmd);
	/* the id as written: no 64-bit clamping of large integers */
	t = "{\"type\":\"ping\",\"id\":123456789012345678901234567890}";
	CU_ASSERT_EQUAL(codec_decode(c, t, strlen(t), &cmd), RM_PE_NONE);
	expect_msg(codec_encode_pong(cmd.id, cmd.id_len),
		   "{\"type\":\"pong\",\"id\":123456789012345678901234567890}");
	codec_cmd_release(&cmd);
	codec_destroy(c);
}

static void
encode_error_with_and_without_ref(void)
{
	expect_msg(codec_encode_error(RM_PE_BAD_JSON, "not JSON", NULL),
		   "{\"type\":\"error\",\"code\":\"bad_json\",\"message\":"
		   "\"not JSON\"}");
	expect_msg(codec_encode_error(RM_PE_NOT_MEMBER, "no", "broadcast"),
		   "{\"type\":\"error\",\"code\":\"not_member\",\"message\":"
		   "\"no\",\"ref\":\"broadcast\"}");
	expect_msg(codec_encode_error(RM_PE_BAD_ROOM, "say \"a/b\"\n", "x\"y"),
		   "{\"type\":\"error\",\"code\":\"bad_room\",\"message\":"
		   "\"say \\\"a/b\\\"\\n\",\"ref\":\"x\\\"y\"}");
	expect_msg(codec_encode_error(RM_PE_NO_SUCH_USER, "m", ""),
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
	{ "codec_member_text returns the value's raw text",
	  member_text_is_raw_and_exact },
	{ "codec_member_text: with duplicate keys the last wins",
	  member_text_duplicate_keys_last_wins },
	{ "codec_member_text sees only top-level keys",
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
	{ "encode error with and without ref, escaped",
	  encode_error_with_and_without_ref },
	CU_TEST_INFO_NULL,
};
