/*
 * fuzz_codec: one client text message, as the transport hands it to the
 * hub, through codec_utf8_valid, codec_decode, jscan_object and the
 * encoders, checking the codec's contracts (codec.h, jscan.h, PROTOCOL.md):
 *
 *  utf8_ref        codec_utf8_valid agrees with an RFC 3629 reference
 *  utf8_decode     codec_decode says RM_PE_INVALID_UTF8 exactly when the
 *                  text is not UTF-8 (the one scan checks it)
 *  decode_error    codec_decode returns only codec-level errors
 *  decode_order    the error (or success) is the one PROTOCOL.md's order of
 *                  precedence gives, computed on json-c's own tree
 *  type_ref        cmd.type, when set, is NUL-free, <= CODEC_REF_MAX and
 *                  json-c's "type"
 *  cmd_fields      a decoded command's ids follow their rules
 *  content_exact   a broadcast/direct's content is bytes of the input,
 *                  one whole JSON value, and the encoded message carries
 *                  exactly those bytes
 *  content_equal   ... JSON-equal to json-c's "content" (the last one, keys
 *                  compared with their escapes decoded)
 *  encoded_parses  codec_encode_broadcast/direct gives a JSON object whose
 *                  "content" is JSON-equal to the decoded content
 *  frame           every encoded msg is one well-formed unmasked text frame
 *  rfc_accepted    what codec_decode accepts (not bad_json) is RFC 8259 JSON
 *  rfc_rejected    an RFC 8259 JSON object (nesting < CODEC_MAX_DEPTH) is
 *                  not bad_json
 *  json_valid_ref  codec_json_valid agrees with an RFC 8259 reference
 *                  (below CODEC_MAX_DEPTH; the limit itself is not checked)
 *  rfc_out         every server message / forwarded content is RFC 8259 JSON
 *  member_text     jscan_object finds what json-c finds (last duplicate
 *                  wins, escaped keys decoded), as bytes of the input
 *  req_id          cmd.id is set exactly for an "id" that is a string of
 *                  <= CODEC_ID_MAX bytes or an integer, as written
 *  pong_id         codec_encode_pong echoes it, JSON-equal
 *  error_ref       codec_encode_error carries "ref" == cmd.type and the id
 *
 * json-c truncates a key at an escaped U+0000 ("type\u0000x" is "type" to
 * it); inputs holding "\u0000" skip the comparisons with json-c's tree.
 */
#include "codec.h"
#include "jscan.h"
#include "msg.h"
#include "fuzz_util.h"

#include <json-c/json.h>

static struct codec *codec;
static struct json_tokener *tok;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	codec = codec_create();
	tok = json_tokener_new_ex(256);
	if (!codec || !tok)
		abort();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	return 0;
}

/*
 * Parses all of @len bytes of @s as one JSON value with json-c (strict, as
 * the codec parses). Returns 1 and *@out (NULL for JSON null) on success.
 */
static int
jparse(const char *s, size_t len, struct json_object **out)
{
	struct json_object *o;
	char *buf = malloc(len + 1);
	size_t end;
	int ok = 1;

	/*
	 * A trailing space ends a bare number: json-c would otherwise wait
	 * for more digits (json_tokener_continue).
	 */
	if (!buf)
		abort();
	memcpy(buf, s, len);
	buf[len] = ' ';
	*out = NULL;
	json_tokener_reset(tok);
	o = json_tokener_parse_ex(tok, buf, (int)len + 1);
	if (json_tokener_get_error(tok) != json_tokener_success)
		ok = 0;
	for (end = json_tokener_get_parse_end(tok); ok && end < len; end++)
		if (!strchr(" \t\r\n", buf[end]) || !buf[end])
			ok = 0;
	free(buf);
	if (!ok) {
		json_object_put(o);
		return 0;
	}
	*out = o;
	return 1;
}

/* Checks that @m is one unmasked FIN text frame around msg_text(). */
static void
check_frame(const struct msg *m)
{
	const unsigned char *f = msg_frame(m);
	size_t len = m->payload_len, got, h;

	CHECK("frame", f[0] == 0x81);
	if (len < 126) {
		got = f[1]; h = 2;
	} else if (len < 65536) {
		got = ((size_t)f[2] << 8) | f[3]; h = 4;
		CHECK("frame", f[1] == 126);
	} else {
		unsigned int i;

		CHECK("frame", f[1] == 127);
		for (got = 0, i = 0; i < 8; i++)
			got = (got << 8) | f[2 + i];
		h = 10;
	}
	CHECK("frame", got == len && h == m->hdr_len);
	CHECK("frame", (const char *)f + h == msg_text(m));
}

/* Parses an encoded server message: a JSON object, RFC 8259 valid. */
static struct json_object *
parse_out(const struct msg *m)
{
	struct json_object *o;

	check_frame(m);
	CHECK("encoded_parses", jparse(msg_text(m), m->payload_len, &o));
	CHECK("encoded_parses", o && json_object_is_type(o, json_type_object));
	CHECK("rfc_out",
	      ref_json_valid(msg_text(m), m->payload_len, NULL) == RJ_OBJECT);
	return o;
}

static int
is_op(const char *type, size_t len)
{
	static const char *const names[] = { "join",	"leave",  "broadcast",
					     "ping",	"direct", "history",
					     "members", "auth" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && !memcmp(type, names[i], len))
			return (int)i + 1;
	return 0;
}

/*
 * A non-negative integer field as json-c sees it: 1 ok, -1 not one, 0
 * absent. json-c clamps integers beyond 64 bits, so *@clamped says the
 * codec may refuse a value json-c shows as UINT64_MAX.
 */
static int
ref_uint(struct json_object *root, const char *key, uint64_t *v,
	 int *clamped)
{
	struct json_object *j;

	if (!json_object_object_get_ex(root, key, &j))
		return 0;
	if (!json_object_is_type(j, json_type_int) ||
	    json_object_get_int64(j) < 0)
		return -1;
	*v = json_object_get_uint64(j);
	if (*v == UINT64_MAX)
		*clamped = 1;
	return 1;
}

static int
has_string(struct json_object *root, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(root, key, &v) &&
	       json_object_is_type(v, json_type_string);
}

static int
string_ok(struct json_object *root, const char *key,
	  int (*valid)(const char *, size_t))
{
	struct json_object *v;

	json_object_object_get_ex(root, key, &v);
	return valid(json_object_get_string(v),
		     (size_t)json_object_get_string_len(v));
}

/* PROTOCOL.md's order of precedence, on json-c's tree of a JSON object. */
static enum rm_proto_err
ref_decode(struct json_object *root, int *clamped)
{
	struct json_object *v;
	uint64_t n;
	int op, r;

	*clamped = 0;
	if (!json_object_object_get_ex(root, "type", &v) ||
	    !json_object_is_type(v, json_type_string))
		return RM_PE_UNKNOWN_TYPE;
	op = is_op(json_object_get_string(v),
		   (size_t)json_object_get_string_len(v));
	if (!op)
		return RM_PE_UNKNOWN_TYPE;
	/* auth: a "token" string, and nothing else is required */
	if (op == CODEC_OP_AUTH)
		return has_string(root, "token") ? RM_PE_NONE :
						   RM_PE_MISSING_FIELD;
	if (op != CODEC_OP_PING && op != CODEC_OP_DIRECT &&
	    !has_string(root, "room_id"))
		return RM_PE_MISSING_FIELD;
	if (op == CODEC_OP_JOIN && json_object_object_get_ex(root, "user_id", NULL) &&
	    !has_string(root, "user_id"))
		return RM_PE_MISSING_FIELD;
	if (op == CODEC_OP_DIRECT && !has_string(root, "to"))
		return RM_PE_MISSING_FIELD;
	if ((op == CODEC_OP_BROADCAST || op == CODEC_OP_DIRECT) &&
	    !json_object_object_get_ex(root, "content", NULL))
		return RM_PE_MISSING_FIELD;
	/* join: "since" a non-negative integer, "epoch" a string */
	if (op == CODEC_OP_JOIN && ref_uint(root, "since", &n, clamped) < 0)
		return RM_PE_MISSING_FIELD;
	if (op == CODEC_OP_JOIN && json_object_object_get_ex(root, "epoch", NULL) &&
	    !has_string(root, "epoch"))
		return RM_PE_MISSING_FIELD;
	/* history: "limit" a positive integer when present */
	if (op == CODEC_OP_HISTORY) {
		r = ref_uint(root, "limit", &n, clamped);
		if (r < 0 || (r == 1 && !n))
			return RM_PE_MISSING_FIELD;
	}
	if (op != CODEC_OP_PING && op != CODEC_OP_DIRECT &&
	    !string_ok(root, "room_id", ref_room_valid))
		return RM_PE_BAD_ROOM;
	if (op == CODEC_OP_JOIN && has_string(root, "user_id") &&
	    !string_ok(root, "user_id", ref_own_user_valid))
		return RM_PE_BAD_USER;
	if (op == CODEC_OP_DIRECT && !string_ok(root, "to", ref_user_valid))
		return RM_PE_BAD_USER;
	return RM_PE_NONE;
}

/* The content checks for a decoded broadcast or direct. */
static void
check_content(const char *text, size_t len, const struct codec_cmd *cmd,
	      struct json_object *root, int lax)
{
	struct json_object *dc = NULL, *ct, *out, *oc;
	static const char sender[] =	/* the longest user_id */
		"u234567890123456789012345678901234567890123456789012345678901234";
	struct msg *m;

	CHECK("content_exact", cmd->content && cmd->content_len &&
	      cmd->content >= text &&
	      cmd->content + cmd->content_len <= text + len);
	CHECK("content_exact",
	      ref_json_valid(cmd->content, cmd->content_len, NULL) != RJ_NONE);
	CHECK("content_exact", !strchr(" \t\r\n", cmd->content[0]) &&
	      !strchr(" \t\r\n", cmd->content[cmd->content_len - 1]));
	CHECK("content_equal",
	      json_object_object_get_ex(root, "content", &dc) || lax);
	CHECK("content_equal", jparse(cmd->content, cmd->content_len, &ct));
	CHECK("content_equal", json_object_equal(ct, dc) || lax);
	json_object_put(ct);

	if (cmd->op == CODEC_OP_BROADCAST)
		m = codec_encode_broadcast(cmd->room_id, sender, UINT64_MAX,
					   cmd->content, cmd->content_len);
	else
		m = codec_encode_direct(sender, cmd->content, cmd->content_len);
	CHECK("encoded_parses", m != NULL);
	CHECK("content_exact", m->payload_len > cmd->content_len &&
	      !memcmp(msg_text(m) + m->payload_len - 1 - cmd->content_len,
		      cmd->content, cmd->content_len));
	out = parse_out(m);
	CHECK("encoded_parses", json_object_object_get_ex(out, "content", &oc));
	CHECK("encoded_parses", json_object_equal(oc, dc) || lax);
	json_object_put(out);
	msg_unref(m);
}

/* Returns 1 if @s holds more than @n digits in a row (a sign aside). */
static int
has_digit_run(const char *s, size_t len, size_t n)
{
	size_t i, run = 0;

	for (i = 0; i < len; i++) {
		run = s[i] >= '0' && s[i] <= '9' ? run + 1 : 0;
		if (run + 1 > n) /* "-" + n digits is over n bytes too */
			return 1;
	}
	return 0;
}

/* cmd.id against json-c's "id": which kinds are taken, and as written. */
static void
check_id(const char *text, size_t len, const struct codec_cmd *cmd,
	 struct json_object *root, int lax)
{
	struct json_object *jid = NULL, *pv;
	int want = 0;
	size_t i;

	if (json_object_object_get_ex(root, "id", &jid) && jid) {
		if (json_object_is_type(jid, json_type_string))
			want = json_object_get_string_len(jid) <= CODEC_ID_MAX;
		else
			want = json_object_is_type(jid, json_type_int);
	}
	/*
	 * An integer written in more than CODEC_ID_MAX bytes is no id;
	 * json-c's clamped value does not say how long it was written, so
	 * the text must hold a run of that many digits for it to be refused.
	 */
	if (want && !cmd->id.text && !lax &&
	    json_object_is_type(jid, json_type_int))
		want = !has_digit_run(text, len, CODEC_ID_MAX);
	CHECK("req_id", !cmd->id.text == !want || lax);
	if (!cmd->id.text)
		return;
	CHECK("req_id", cmd->id.text >= text &&
	      cmd->id.text + cmd->id.len <= text + len);
	CHECK("req_id", cmd->id.text[0] == '"' || cmd->id.text[0] == '-' ||
	      (cmd->id.text[0] >= '0' && cmd->id.text[0] <= '9'));
	if (cmd->id.text[0] != '"')
		for (i = 0; i < cmd->id.len; i++)
			CHECK("req_id", !strchr(".eE", cmd->id.text[i]));
	CHECK("req_id", jparse(cmd->id.text, cmd->id.len, &pv));
	CHECK("req_id", json_object_equal(pv, jid) || lax);
	json_object_put(pv);
}

/* The pong echoes the ping's id, JSON-equal (it is passed as written). */
static void
check_pong(const struct codec_cmd *cmd)
{
	struct json_object *o, *v, *pv;
	struct msg *m = codec_encode_pong(&cmd->id);

	CHECK("pong_id", m != NULL);
	o = parse_out(m);
	if (cmd->id.text) {
		CHECK("pong_id", json_object_object_get_ex(o, "id", &v));
		CHECK("pong_id", jparse(cmd->id.text, cmd->id.len, &pv));
		CHECK("pong_id", json_object_equal(v, pv));
		json_object_put(pv);
	} else {
		CHECK("pong_id", !json_object_object_get_ex(o, "id", NULL));
	}
	json_object_put(o);
	msg_unref(m);
}

/* jscan_object's contract, on input that is RFC 8259 JSON. */
static void
check_member_text(const char *text, size_t len, struct json_object *root,
		  int lax)
{
	static const char *const keys[] = { "content", "type", "room_id", "id" };
	struct jscan_val v[4];
	struct json_object *jv, *pv;
	enum jscan_result r;
	size_t i;
	int has;

	r = jscan_object(text, len, keys, 4, v);
	CHECK("member_text", (r == JSCAN_OBJECT) ==
	      json_object_is_type(root, json_type_object));
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		has = json_object_is_type(root, json_type_object) &&
		      json_object_object_get_ex(root, keys[i], &jv);
		CHECK("member_text", !v[i].text == !has || lax);
		if (!v[i].text)
			continue;
		CHECK("member_text", v[i].text >= text &&
		      v[i].text + v[i].len <= text + len);
		CHECK("member_text", jparse(v[i].text, v[i].len, &pv));
		CHECK("member_text", (has && json_object_equal(pv, jv)) || lax);
		json_object_put(pv);
	}
}

static void
check_error(enum rm_proto_err e, const struct codec_cmd *cmd)
{
	struct json_object *o, *v, *pv;
	struct msg *m = codec_encode_error(e, "fuzz", cmd->type, &cmd->id);

	CHECK("error_ref", m != NULL);
	o = parse_out(m);
	if (cmd->type)
		CHECK("error_ref",
		      json_object_object_get_ex(o, "ref", &v) &&
		      !strcmp(json_object_get_string(v), cmd->type));
	else
		CHECK("error_ref", !json_object_object_get_ex(o, "ref", NULL));
	if (cmd->id.text) {
		CHECK("error_ref", json_object_object_get_ex(o, "id", &v));
		CHECK("error_ref", jparse(cmd->id.text, cmd->id.len, &pv));
		CHECK("error_ref", json_object_equal(v, pv));
		json_object_put(pv);
	} else {
		CHECK("error_ref", !json_object_object_get_ex(o, "id", NULL));
	}
	json_object_put(o);
	msg_unref(m);
}

/* The decoded command's fields and answers, by op. */
static void
check_cmd(const char *text, size_t len, const struct codec_cmd *cmd,
	  struct json_object *root, int lax)
{
	switch (cmd->op) {
	case CODEC_OP_JOIN:
		CHECK("cmd_fields", !cmd->user_id ||
		      ref_own_user_valid(cmd->user_id, cmd->user_len));
		/* fall through */
	case CODEC_OP_LEAVE:
	case CODEC_OP_HISTORY:
	case CODEC_OP_MEMBERS:
		CHECK("cmd_fields", ref_room_valid(cmd->room_id, cmd->room_len));
		break;
	case CODEC_OP_BROADCAST:
		CHECK("cmd_fields", ref_room_valid(cmd->room_id, cmd->room_len));
		check_content(text, len, cmd, root, lax);
		break;
	case CODEC_OP_DIRECT:
		CHECK("cmd_fields", ref_user_valid(cmd->to, cmd->to_len));
		check_content(text, len, cmd, root, lax);
		break;
	case CODEC_OP_PING:
		check_pong(cmd);
		break;
	default:
		CHECK("decode_error", 0);
	}
}

/* Returns 1 if @s holds the escape "\u0000". */
static int
has_nul_escape(const char *s, size_t len)
{
	const char *p = s, *end = s + len;

	while ((p = memchr(p, '\\', (size_t)(end - p))) && end - p >= 6) {
		if (!memcmp(p + 1, "u0000", 5))
			return 1;
		p++;
	}
	return 0;
}

/* The value of the four hex digits at @p; -1 if they are not all hex. */
static long
hex4(const char *p)
{
	char d[5];
	char *end;
	long v;

	memcpy(d, p, 4);
	d[4] = '\0';
	v = strtol(d, &end, 16);
	return end == d + 4 ? v : -1;
}

/*
 * Returns 1 if @s holds a surrogate pair escape for U+1D800..U+1DFFF,
 * U+2D800.. and the like: json-c 0.16 turns a code point whose low 16 bits
 * look like a surrogate into U+FFFD ("\ud837\ude00" gives "\ufffd"), so
 * its tree is no reference for that string; the codec joins the pair as
 * RFC 8259 says (unit test_codec.c checks it).
 */
static int
has_mangled_pair(const char *s, size_t len)
{
	const char *p = s, *end = s + len;
	long hi, lo, cp;

	while ((p = memchr(p, '\\', (size_t)(end - p))) && end - p >= 12) {
		if (p[1] == 'u' && p[6] == '\\' && p[7] == 'u') {
			hi = hex4(p + 2);
			lo = hex4(p + 8);
			if (hi >= 0xd800 && hi <= 0xdbff && lo >= 0xdc00 &&
			    lo <= 0xdfff) {
				cp = 0x10000 + ((hi - 0xd800) << 10) +
				     (lo - 0xdc00);
				if ((cp & 0xf800) == 0xd800)
					return 1;
			}
		}
		p += p[1] == '\\' ? 2 : 1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct json_object *root = NULL, *jt;
	struct codec_cmd cmd;
	enum rm_proto_err e, want;
	unsigned int depth = 0;
	int rfc, valid, lax, clamped;

	if (size > 1 << 20)
		return 0;
	valid = codec_utf8_valid(data, size);
	CHECK("utf8_ref", valid == ref_utf8_valid(data, size));
	e = codec_decode(codec, text, size, &cmd);
	CHECK("utf8_decode", (e == RM_PE_INVALID_UTF8) == !valid);
	if (!valid)
		return 0;	/* the hub closes with 1007 */

	/* json-c cuts keys at U+0000 and mangles some pairs: no reference */
	lax = has_nul_escape(text, size) || has_mangled_pair(text, size);
	rfc = ref_json_valid(text, size, &depth);
	if (rfc == RJ_NONE)
		CHECK("json_valid_ref", !codec_json_valid(text, size));
	else if (depth < CODEC_MAX_DEPTH)
		CHECK("json_valid_ref", codec_json_valid(text, size));

	CHECK("decode_error", e == RM_PE_NONE || e == RM_PE_BAD_JSON ||
	      e == RM_PE_UNKNOWN_TYPE || e == RM_PE_MISSING_FIELD ||
	      e == RM_PE_BAD_ROOM || e == RM_PE_BAD_USER);
	if (cmd.type)
		CHECK("type_ref", strlen(cmd.type) <= CODEC_REF_MAX);
	if (e != RM_PE_BAD_JSON) {
		CHECK("rfc_accepted", rfc == RJ_OBJECT);
		CHECK("rfc_accepted", jparse(text, size, &root) && root);
		want = ref_decode(root, &clamped);
		CHECK("decode_order", e == want || lax ||
		      (clamped && e == RM_PE_MISSING_FIELD));
		if (cmd.type && !lax)
			CHECK("type_ref",
			      json_object_object_get_ex(root, "type", &jt) &&
			      !strcmp(json_object_get_string(jt), cmd.type));
		check_id(text, size, &cmd, root, lax);
	} else {
		CHECK("rfc_rejected", rfc != RJ_OBJECT || depth >= CODEC_MAX_DEPTH);
		CHECK("type_ref", !cmd.type);
		CHECK("req_id", !cmd.id.text);
	}
	if (root)
		check_member_text(text, size, root, lax);
	if (e == RM_PE_NONE)
		check_cmd(text, size, &cmd, root, lax);
	else
		check_error(e, &cmd);
	json_object_put(root);
	return 0;
}
