/*
 * codec.c: client message decoding and server message encoding on json-c
 * (see codec.h).
 */
#include "codec.h"
#include "msg.h"

#include <json-c/json.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct codec {
	struct json_tokener *tok;
};

/* Serialization flags: compact, and "/" left alone (JSON allows both). */
#define CODEC_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

struct codec *
codec_create(void)
{
	struct codec *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->tok = json_tokener_new_ex(CODEC_MAX_DEPTH);
	if (!c->tok) {
		free(c);
		return NULL;
	}
	json_tokener_set_flags(c->tok, JSON_TOKENER_STRICT);
	return c;
}

void
codec_destroy(struct codec *c)
{
	if (!c)
		return;
	json_tokener_free(c->tok);
	free(c);
}

/*---- validators ----*/

int
codec_utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;
	unsigned int need, cp, min;

	while (i < len) {
		unsigned char b = s[i++];

		if (b < 0x80)
			continue;
		if ((b & 0xe0) == 0xc0) {
			need = 1; cp = b & 0x1f; min = 0x80;
		} else if ((b & 0xf0) == 0xe0) {
			need = 2; cp = b & 0x0f; min = 0x800;
		} else if ((b & 0xf8) == 0xf0) {
			need = 3; cp = b & 0x07; min = 0x10000;
		} else
			return 0;
		if (len - i < need)
			return 0;
		while (need--) {
			b = s[i++];
			if ((b & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (b & 0x3f);
		}
		/* overlong forms, UTF-16 surrogates, beyond U+10FFFF */
		if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return 0;
	}
	return 1;
}

static int
charset_ok(const char *s, size_t len, size_t max, const char *extra)
{
	size_t i;

	if (!len || len > max)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9'))
			continue;
		if (!ch || !strchr(extra, ch))
			return 0;
	}
	return 1;
}

int
codec_room_valid(const char *s, size_t len)
{
	return charset_ok(s, len, CODEC_ROOM_MAX, "_.:-");
}

int
codec_user_valid(const char *s, size_t len)
{
	return charset_ok(s, len, CODEC_USER_MAX, "_.@:-");
}

const char *
codec_err_name(enum rm_proto_err e)
{
	static const char *const names[] = {
		[RM_PE_NONE] = "none",
		[RM_PE_RATE_LIMITED] = "rate_limited",
		[RM_PE_BAD_JSON] = "bad_json",
		[RM_PE_BAD_FRAME] = "bad_frame",
		[RM_PE_UNKNOWN_TYPE] = "unknown_type",
		[RM_PE_MISSING_FIELD] = "missing_field",
		[RM_PE_BAD_ROOM] = "bad_room",
		[RM_PE_BAD_USER] = "bad_user",
		[RM_PE_USER_MISMATCH] = "user_mismatch",
		[RM_PE_UNAUTHORIZED] = "unauthorized",
		[RM_PE_NOT_MEMBER] = "not_member",
		[RM_PE_ROOM_LIMIT] = "room_limit",
		[RM_PE_NO_SUCH_USER] = "no_such_user",
		[RM_PE_UNAVAILABLE] = "unavailable",
	};

	return (unsigned int)e < sizeof(names) / sizeof(names[0]) ? names[e]
								  : "internal";
}

/*---- decoding ----*/

static int
is_ws(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/*
 * RFC 8259 syntax, checked before json-c builds the tree: json-c, even in
 * strict mode, takes NaN, Infinity, "1.", "-01", raw control characters in
 * strings and text after a NUL, and broadcast content is passed on byte
 * for byte, so whatever passes here reaches every member's JSON.parse.
 * Recursive descent, bounded by CODEC_MAX_DEPTH. Each returns the index
 * past what it read, or 0 on a syntax error (no value ends at index 0).
 */
struct jscan {
	const char *t;
	size_t len;
};

static size_t scan_value(const struct jscan *s, size_t i, int depth);

static size_t
scan_ws(const struct jscan *s, size_t i)
{
	while (i < s->len && (s->t[i] == ' ' || s->t[i] == '\t' ||
			      s->t[i] == '\n' || s->t[i] == '\r'))
		i++;
	return i;
}

static int
is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static int
is_hex(char ch)
{
	return is_digit(ch) || (ch >= 'a' && ch <= 'f') ||
	       (ch >= 'A' && ch <= 'F');
}

static size_t
scan_string(const struct jscan *s, size_t i)
{
	for (i++; i < s->len; i++) {
		unsigned char ch = (unsigned char)s->t[i];

		if (ch == '"')
			return i + 1;
		if (ch < 0x20)
			return 0;
		if (ch != '\\')
			continue;
		if (++i >= s->len)
			return 0;
		if (s->t[i] == 'u') {
			if (i + 4 >= s->len || !is_hex(s->t[i + 1]) ||
			    !is_hex(s->t[i + 2]) || !is_hex(s->t[i + 3]) ||
			    !is_hex(s->t[i + 4]))
				return 0;
			i += 4;
		} else if (!strchr("\"\\/bfnrt", s->t[i]) || !s->t[i]) {
			return 0;
		}
	}
	return 0;
}

static size_t
scan_digits(const struct jscan *s, size_t i)
{
	size_t from = i;

	while (i < s->len && is_digit(s->t[i]))
		i++;
	return i > from ? i : 0;
}

static size_t
scan_number(const struct jscan *s, size_t i)
{
	if (s->t[i] == '-')
		i++;
	if (i >= s->len)
		return 0;
	if (s->t[i] == '0')
		i++;
	else if (!(i = scan_digits(s, i)))
		return 0;
	if (i < s->len && s->t[i] == '.' && !(i = scan_digits(s, i + 1)))
		return 0;
	if (i < s->len && (s->t[i] == 'e' || s->t[i] == 'E')) {
		i++;
		if (i < s->len && (s->t[i] == '+' || s->t[i] == '-'))
			i++;
		if (!(i = scan_digits(s, i)))
			return 0;
	}
	return i;
}

static size_t
scan_literal(const struct jscan *s, size_t i, const char *word)
{
	size_t n = strlen(word);

	return s->len - i >= n && !memcmp(s->t + i, word, n) ? i + n : 0;
}

/* An object or array body after its opening bracket. */
static size_t
scan_container(const struct jscan *s, size_t i, int depth, char close)
{
	i = scan_ws(s, i + 1);
	if (i < s->len && s->t[i] == close)
		return i + 1;
	for (;;) {
		if (close == '}') {
			if (i >= s->len || s->t[i] != '"' ||
			    !(i = scan_string(s, i)))
				return 0;
			i = scan_ws(s, i);
			if (i >= s->len || s->t[i] != ':')
				return 0;
			i = scan_ws(s, i + 1);
		}
		if (!(i = scan_value(s, i, depth + 1)))
			return 0;
		i = scan_ws(s, i);
		if (i >= s->len)
			return 0;
		if (s->t[i] == close)
			return i + 1;
		if (s->t[i] != ',')
			return 0;
		i = scan_ws(s, i + 1);
	}
}

static size_t
scan_value(const struct jscan *s, size_t i, int depth)
{
	if (i >= s->len || depth > CODEC_MAX_DEPTH)
		return 0;
	switch (s->t[i]) {
	case '{':
		return scan_container(s, i, depth, '}');
	case '[':
		return scan_container(s, i, depth, ']');
	case '"':
		return scan_string(s, i);
	case 't':
		return scan_literal(s, i, "true");
	case 'f':
		return scan_literal(s, i, "false");
	case 'n':
		return scan_literal(s, i, "null");
	default:
		return scan_number(s, i);
	}
}

int
codec_json_valid(const char *text, size_t len)
{
	struct jscan s = { text, len };
	size_t i = scan_value(&s, scan_ws(&s, 0), 1);

	return i && scan_ws(&s, i) == len;
}

/* Parses exactly one JSON value spanning all of @text (whitespace aside). */
static struct json_object *
parse_whole(struct codec *c, const char *text, size_t len)
{
	struct json_object *root;
	size_t used;

	if (len > INT32_MAX || !codec_json_valid(text, len))
		return NULL;
	json_tokener_reset(c->tok);
	root = json_tokener_parse_ex(c->tok, text, (int)len);
	if (!root || json_tokener_get_error(c->tok) != json_tokener_success)
		goto bail_root;
	for (used = json_tokener_get_parse_end(c->tok); used < len; used++)
		if (!is_ws(text[used]))
			goto bail_root;
	return root;

bail_root:
	json_object_put(root);
	return NULL;
}

/*
 * Looks up a string field. Returns 1 and sets @s/@len if present as a
 * string, 0 if absent, -1 if present with another JSON type.
 */
static int
get_string(struct json_object *o, const char *key, const char **s,
	   size_t *len)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	*s = json_object_get_string(v);
	*len = (size_t)json_object_get_string_len(v);
	return 1;
}

static const struct {
	const char *name;
	enum codec_op op;
} ops[] = {
	{ "join", CODEC_OP_JOIN },
	{ "leave", CODEC_OP_LEAVE },
	{ "broadcast", CODEC_OP_BROADCAST },
	{ "ping", CODEC_OP_PING },
	{ "direct", CODEC_OP_DIRECT },
	{ "history", CODEC_OP_HISTORY },
};

static enum rm_proto_err
decode_type(struct codec_cmd *cmd)
{
	const char *type;
	size_t len, i;

	if (get_string(cmd->root, "type", &type, &len) != 1)
		return RM_PE_UNKNOWN_TYPE;
	if (len <= CODEC_REF_MAX && strlen(type) == len)
		cmd->type = type;
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!strcmp(type, ops[i].name) && strlen(type) == len) {
			cmd->op = ops[i].op;
			return RM_PE_NONE;
		}
	return RM_PE_UNKNOWN_TYPE;
}

/*
 * Looks up a non-negative integer field. Returns 1 and sets @v if present
 * as one, 0 if absent, -1 if present as anything else.
 */
static int
get_uint(struct json_object *o, const char *key, uint64_t *v)
{
	struct json_object *j;

	if (!json_object_object_get_ex(o, key, &j))
		return 0;
	if (!json_object_is_type(j, json_type_int))
		return -1;
	errno = 0;
	*v = json_object_get_uint64(j);
	if (errno || json_object_get_int64(j) < 0)
		return -1;
	return 1;
}

/* join's recovery fields and history's limit. */
static enum rm_proto_err
decode_optional(struct codec_cmd *cmd)
{
	struct json_object *o = cmd->root;
	size_t len;
	int r;

	if (cmd->op == CODEC_OP_JOIN) {
		r = get_uint(o, "since", &cmd->since);
		if (r < 0)
			return RM_PE_MISSING_FIELD;
		cmd->has_since = r;
		if (get_string(o, "epoch", &cmd->epoch, &len) < 0)
			return RM_PE_MISSING_FIELD;
	}
	if (cmd->op == CODEC_OP_HISTORY) {
		r = get_uint(o, "limit", &cmd->limit);
		if (r < 0 || (r == 1 && !cmd->limit))
			return RM_PE_MISSING_FIELD;
	}
	return RM_PE_NONE;
}

/* Field presence and JSON types: everything missing_field covers. */
static enum rm_proto_err
decode_fields(struct codec_cmd *cmd)
{
	struct json_object *o = cmd->root;
	int has_room = 0, has_user = 0, has_to = 0;

	if (cmd->op == CODEC_OP_JOIN || cmd->op == CODEC_OP_LEAVE ||
	    cmd->op == CODEC_OP_BROADCAST || cmd->op == CODEC_OP_HISTORY) {
		has_room = get_string(o, "room_id", &cmd->room_id,
				      &cmd->room_len);
		if (has_room != 1)
			return RM_PE_MISSING_FIELD;
	}
	if (cmd->op == CODEC_OP_JOIN) {
		has_user = get_string(o, "user_id", &cmd->user_id,
				      &cmd->user_len);
		if (has_user < 0)
			return RM_PE_MISSING_FIELD;
	}
	if (cmd->op == CODEC_OP_DIRECT) {
		has_to = get_string(o, "to", &cmd->to, &cmd->to_len);
		if (has_to != 1)
			return RM_PE_MISSING_FIELD;
	}
	if ((cmd->op == CODEC_OP_BROADCAST || cmd->op == CODEC_OP_DIRECT) &&
	    !json_object_object_get_ex(o, "content", NULL))
		return RM_PE_MISSING_FIELD;
	return decode_optional(cmd);
}

/* The value rules: bad_room, then bad_user. */
static enum rm_proto_err
decode_rules(struct codec_cmd *cmd)
{
	if (cmd->room_id && !codec_room_valid(cmd->room_id, cmd->room_len))
		return RM_PE_BAD_ROOM;
	if (cmd->user_id && !codec_user_valid(cmd->user_id, cmd->user_len))
		return RM_PE_BAD_USER;
	if (cmd->to && !codec_user_valid(cmd->to, cmd->to_len))
		return RM_PE_BAD_USER;
	return RM_PE_NONE;
}

/*
 * The text of member @key, as the client wrote it; when a top-level key
 * is written with escapes ("cont\u0065nt") the raw text cannot be trusted
 * to be the member json-c chose, so it is json-c's serialization instead.
 * Leaves *@val NULL when absent.
 */
static void
member_text(struct json_object *root, const char *text, size_t len,
	    const char *key, const char **val, size_t *val_len)
{
	struct json_object *v;

	*val = NULL;
	if (codec_member_text(text, len, key, val, val_len) >= 0)
		return;
	*val = NULL;
	if (!json_object_object_get_ex(root, key, &v))
		return;
	if (!v) {
		*val = "null";
		*val_len = 4;
		return;
	}
	*val = json_object_to_json_string_length(v, CODEC_JSON_FLAGS, val_len);
}

enum rm_proto_err
codec_decode(struct codec *c, const char *text, size_t len,
	     struct codec_cmd *cmd)
{
	enum rm_proto_err e;

	memset(cmd, 0, sizeof(*cmd));
	cmd->root = parse_whole(c, text, len);
	if (!cmd->root || !json_object_is_type(cmd->root, json_type_object))
		return RM_PE_BAD_JSON;
	e = decode_type(cmd);
	if (!e)
		e = decode_fields(cmd);
	if (!e)
		e = decode_rules(cmd);
	if (!e && (cmd->op == CODEC_OP_BROADCAST || cmd->op == CODEC_OP_DIRECT))
		member_text(cmd->root, text, len, "content", &cmd->content,
			    &cmd->content_len);
	/* the id is echoed as written, like content */
	if (!e && cmd->op == CODEC_OP_PING)
		member_text(cmd->root, text, len, "id", &cmd->id, &cmd->id_len);
	return e;
}

/* Skips a JSON string starting at its opening quote; returns past it. */
static size_t
skip_string(const char *t, size_t i, size_t len)
{
	for (i++; i < len; i++) {
		if (t[i] == '\\')
			i++;
		else if (t[i] == '"')
			return i + 1;
	}
	return len;
}

static size_t
skip_ws(const char *t, size_t i, size_t len)
{
	while (i < len && is_ws(t[i]))
		i++;
	return i;
}

/* Skips one JSON value (valid JSON assumed); returns past its end. */
static size_t
skip_value(const char *t, size_t i, size_t len)
{
	int depth = 0;

	while (i < len) {
		char ch = t[i];

		if (ch == '"') {
			i = skip_string(t, i, len);
			if (!depth)
				return i;
			continue;
		}
		if (ch == '{' || ch == '[') {
			depth++;
		} else if (ch == '}' || ch == ']') {
			if (!depth)
				return i;	/* a scalar ended by its parent */
			if (!--depth)
				return i + 1;
		} else if (!depth && (ch == ',' || is_ws(ch))) {
			return i;
		}
		i++;
	}
	return i;
}

int
codec_member_text(const char *t, size_t len, const char *key,
		  const char **val, size_t *val_len)
{
	size_t klen = strlen(key), i = skip_ws(t, 0, len), k, kend, v;
	int found = 0, escaped = 0;

	if (i >= len || t[i] != '{')
		return 0;
	i = skip_ws(t, i + 1, len);
	while (i < len && t[i] == '"') {
		k = i;
		kend = skip_string(t, i, len);
		i = skip_ws(t, kend, len);
		if (i >= len || t[i] != ':')
			break;
		v = skip_ws(t, i + 1, len);
		i = skip_value(t, v, len);
		if (memchr(t + k + 1, '\\', kend - k - 1))
			escaped = 1;
		if (kend - k - 2 == klen && !memcmp(t + k + 1, key, klen)) {
			*val = t + v;
			*val_len = i - v;
			found = 1;
		}
		i = skip_ws(t, i, len);
		if (i < len && t[i] == ',')
			i = skip_ws(t, i + 1, len);
	}
	return escaped ? -1 : found;
}

void
codec_cmd_release(struct codec_cmd *cmd)
{
	json_object_put(cmd->root);
	cmd->root = NULL;
}

/*---- encoding ----*/

/* Seals a msg holding the serialization of @o, then frees @o. */
static struct msg *
msg_from_json(struct json_object *o)
{
	const char *s;
	size_t len;
	struct msg *m = NULL;

	if (!o)
		return NULL;
	s = json_object_to_json_string_length(o, CODEC_JSON_FLAGS, &len);
	if (s)
		m = msg_from_text(s, len);
	json_object_put(o);
	return m;
}

/*
 * Room ids and user ids follow charsets that need no JSON escaping, so
 * the envelopes around them are printed directly.
 */
static struct msg *
msg_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static struct msg *
msg_printf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return NULL;
	return msg_from_text(buf, (size_t)n);
}

struct msg *
codec_encode_joined(const char *room_id, const char *user_id,
		    uint64_t members, uint64_t seq, const char *epoch)
{
	return codec_encode_joined_ex(room_id, user_id, members, seq, epoch,
				      -1);
}

struct msg *
codec_encode_joined_ex(const char *room_id, const char *user_id,
		       uint64_t members, uint64_t seq, const char *epoch,
		       int recovered)
{
	return msg_printf("{\"type\":\"joined\",\"room_id\":\"%s\","
			  "\"user_id\":\"%s\",\"members\":%" PRIu64
			  ",\"seq\":%" PRIu64 ",\"epoch\":\"%s\"%s}",
			  room_id, user_id, members, seq, epoch,
			  recovered < 0 ? "" : recovered ?
			  ",\"recovered\":true" : ",\"recovered\":false");
}

struct msg *
codec_encode_history(const char *room_id, struct msg *const *msgs,
		     unsigned int n)
{
	char head[200];
	size_t len, i;
	struct msg *m;
	char *p;
	int hl;

	hl = snprintf(head, sizeof(head), "{\"type\":\"history\","
		      "\"room_id\":\"%s\",\"messages\":[", room_id);
	if (hl < 0 || (size_t)hl >= sizeof(head))
		return NULL;
	len = (size_t)hl + 2;	/* "]}" */
	for (i = 0; i < n; i++)
		len += msgs[i]->payload_len + (i > 0);
	m = msg_alloc(len);
	if (!m)
		return NULL;
	p = msg_payload(m);
	memcpy(p, head, (size_t)hl);
	p += hl;
	for (i = 0; i < n; i++) {
		if (i)
			*p++ = ',';
		memcpy(p, msg_text(msgs[i]), msgs[i]->payload_len);
		p += msgs[i]->payload_len;
	}
	memcpy(p, "]}", 2);
	msg_seal(m);
	return m;
}

struct msg *
codec_encode_left(const char *room_id)
{
	return msg_printf("{\"type\":\"left\",\"room_id\":\"%s\"}", room_id);
}

struct msg *
codec_encode_presence(const char *event, const char *room_id,
		      const char *user_id)
{
	return msg_printf("{\"type\":\"presence\",\"event\":\"%s\","
			  "\"room_id\":\"%s\",\"user_id\":\"%s\"}",
			  event, room_id, user_id);
}

struct msg *
codec_encode_dropped(uint64_t count)
{
	return msg_printf("{\"type\":\"dropped\",\"count\":%" PRIu64 "}",
			  count);
}

/* Builds "<head><body>}" in one allocation. */
static struct msg *
encode_with_content(const char *head, size_t head_len, const char *body,
		    size_t body_len)
{
	struct msg *m;
	char *p;

	m = msg_alloc(head_len + body_len + 1);
	if (!m)
		return NULL;
	p = msg_payload(m);
	memcpy(p, head, head_len);
	memcpy(p + head_len, body, body_len);
	p[head_len + body_len] = '}';
	msg_seal(m);
	return m;
}

struct msg *
codec_encode_broadcast(const char *room_id, const char *sender, uint64_t seq,
		       const char *content, size_t content_len)
{
	char head[320];
	int n;

	n = snprintf(head, sizeof(head),
		     "{\"type\":\"broadcast\",\"room_id\":\"%s\",\"sender\":"
		     "\"%s\",\"seq\":%" PRIu64 ",\"content\":",
		     room_id, sender, seq);
	if (n < 0 || (size_t)n >= sizeof(head))
		return NULL;
	return encode_with_content(head, (size_t)n, content, content_len);
}

struct msg *
codec_encode_direct(const char *from, const char *content, size_t content_len)
{
	char head[128];
	int n;

	n = snprintf(head, sizeof(head),
		     "{\"type\":\"direct\",\"from\":\"%s\",\"content\":", from);
	if (n < 0 || (size_t)n >= sizeof(head))
		return NULL;
	return encode_with_content(head, (size_t)n, content, content_len);
}

struct msg *
codec_encode_pong(const char *id, size_t id_len)
{
	static const char head[] = "{\"type\":\"pong\",\"id\":";

	if (!id)
		return msg_from_text("{\"type\":\"pong\"}", 15);
	return encode_with_content(head, sizeof(head) - 1, id, id_len);
}

struct msg *
codec_encode_error(enum rm_proto_err e, const char *message, const char *ref)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "type", json_object_new_string("error"));
	json_object_object_add(o, "code",
			       json_object_new_string(codec_err_name(e)));
	json_object_object_add(o, "message", json_object_new_string(message));
	if (ref)
		json_object_object_add(o, "ref", json_object_new_string(ref));
	return msg_from_json(o);
}
