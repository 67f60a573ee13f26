/*
 * codec.c: client message decoding on jscan and server message encoding
 * (see codec.h).
 */
#include "codec.h"
#include "guest_id.h"
#include "jscan.h"
#include "msg.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The one-scan decoder keeps nothing between messages (json-c's tokener
 * was the state); the handle stays so that the hub's ownership of a codec
 * does not change with how it decodes.
 */
struct codec {
	char unused;
};

struct codec *
codec_create(void)
{
	return calloc(1, sizeof(struct codec));
}

void
codec_destroy(struct codec *c)
{
	free(c);
}

/*---- validators ----*/

int
codec_utf8_valid(const unsigned char *s, size_t len)
{
	return jscan_utf8_valid(s, len);
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

int
codec_own_user_valid(const char *s, size_t len)
{
	return codec_user_valid(s, len) && !guest_id_reserved(s, len);
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
		[RM_PE_OVERLOADED] = "overloaded",
		[RM_PE_INVALID_UTF8] = "invalid_utf8",
	};

	return (unsigned int)e < sizeof(names) / sizeof(names[0]) ? names[e]
								  : "internal";
}

/*---- decoding ----*/

int
codec_json_valid(const char *text, size_t len)
{
	return jscan_valid(text, len);
}

/* The top-level members the protocol reads, in jscan's @out order. */
enum { K_TYPE, K_ROOM, K_USER, K_TO, K_CONTENT, K_ID, K_SINCE, K_EPOCH,
       K_LIMIT, K_TOKEN, K_N };

static const char *const keys[K_N] = {
	[K_TYPE] = "type", [K_ROOM] = "room_id", [K_USER] = "user_id",
	[K_TO] = "to", [K_CONTENT] = "content", [K_ID] = "id",
	[K_SINCE] = "since", [K_EPOCH] = "epoch", [K_LIMIT] = "limit",
	[K_TOKEN] = "token",
};

static int
is_string(const struct jscan_val *v)
{
	return v->text && v->text[0] == '"';
}

/* Returns 1 if @v is a number written without fraction or exponent. */
static int
is_integer(const struct jscan_val *v)
{
	size_t i;

	if (!v->text || (v->text[0] != '-' && (v->text[0] < '0' ||
					       v->text[0] > '9')))
		return 0;
	for (i = 1; i < v->len; i++)
		if (v->text[i] == '.' || v->text[i] == 'e' || v->text[i] == 'E')
			return 0;
	return 1;
}

/*
 * Decodes the string @v into @buf (@size bytes). Returns its length, or
 * -1 when it does not fit or is not a C string of Unicode text.
 */
static ssize_t
unquote(const struct jscan_val *v, char *buf, size_t size)
{
	const char *body = v->text + 1;
	size_t len = v->len - 2;

	if (!memchr(body, '\\', len)) {
		if (len >= size)
			return -1;
		memcpy(buf, body, len);
		buf[len] = '\0';
		return (ssize_t)len;
	}
	return jscan_unescape(body, len, buf, size);
}

/*
 * The request id: a string of at most CODEC_ID_MAX bytes, or an integer
 * written in at most CODEC_ID_MAX bytes (echoed as written, never
 * converted); else none. PROTOCOL.md: an id "over 64 bytes is ignored",
 * whichever its type, so every answer's id has one bound.
 */
static void
decode_id(const struct jscan_val *v, struct codec_cmd *cmd)
{
	if ((is_string(v) &&
	     jscan_string_len(v->text + 1, v->len - 2) <= CODEC_ID_MAX) ||
	    (is_integer(v) && v->len <= CODEC_ID_MAX)) {
		cmd->id.text = v->text;
		cmd->id.len = v->len;
	}
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
	{ "members", CODEC_OP_MEMBERS },
	{ "auth", CODEC_OP_AUTH },
};

/* A type that does not fit type_buf is no known type and not echoed. */
static enum rm_proto_err
decode_type(const struct jscan_val *v, struct codec_cmd *cmd)
{
	size_t i;

	if (!is_string(v) ||
	    unquote(v, cmd->type_buf, sizeof(cmd->type_buf)) < 0)
		return RM_PE_UNKNOWN_TYPE;
	cmd->type = cmd->type_buf;
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!strcmp(cmd->type, ops[i].name)) {
			cmd->op = ops[i].op;
			return RM_PE_NONE;
		}
	return RM_PE_UNKNOWN_TYPE;
}

/*
 * A non-negative integer that fits 64 bits ("-0" is 0). Returns 1 and
 * sets @out if @v is one, 0 if absent, -1 if anything else.
 */
static int
get_uint(const struct jscan_val *v, uint64_t *out)
{
	const char *p = v->text, *end;
	uint64_t n = 0;

	if (!p)
		return 0;
	if (!is_integer(v))
		return -1;
	end = p + v->len;
	if (*p == '-')
		return v->len == 2 && p[1] == '0' ? (*out = 0, 1) : -1;
	for (; p < end; p++) {
		unsigned int d = (unsigned int)(*p - '0');

		if (n > (UINT64_MAX - d) / 10)
			return -1;
		n = n * 10 + d;
	}
	*out = n;
	return 1;
}

/* join's recovery fields and history's limit. */
static enum rm_proto_err
decode_optional(const struct jscan_val *v, struct codec_cmd *cmd)
{
	int r;

	if (cmd->op == CODEC_OP_JOIN) {
		r = get_uint(&v[K_SINCE], &cmd->since);
		if (r < 0)
			return RM_PE_MISSING_FIELD;
		cmd->has_since = r;
		if (v[K_EPOCH].text && !is_string(&v[K_EPOCH]))
			return RM_PE_MISSING_FIELD;
		if (v[K_EPOCH].text) {
			cmd->epoch = cmd->epoch_buf;
			if (unquote(&v[K_EPOCH], cmd->epoch_buf,
				    sizeof(cmd->epoch_buf)) < 0)
				cmd->epoch_buf[0] = '\0';
		}
	}
	if (cmd->op == CODEC_OP_HISTORY) {
		r = get_uint(&v[K_LIMIT], &cmd->limit);
		if (r < 0 || (r == 1 && !cmd->limit))
			return RM_PE_MISSING_FIELD;
	}
	return RM_PE_NONE;
}

/* Field presence and JSON types: everything missing_field covers. */
static enum rm_proto_err
decode_fields(const struct jscan_val *v, struct codec_cmd *cmd)
{
	enum codec_op op = cmd->op;

	if ((op == CODEC_OP_JOIN || op == CODEC_OP_LEAVE ||
	     op == CODEC_OP_BROADCAST || op == CODEC_OP_HISTORY ||
	     op == CODEC_OP_MEMBERS) && !is_string(&v[K_ROOM]))
		return RM_PE_MISSING_FIELD;
	if (op == CODEC_OP_JOIN && v[K_USER].text && !is_string(&v[K_USER]))
		return RM_PE_MISSING_FIELD;
	if (op == CODEC_OP_DIRECT && !is_string(&v[K_TO]))
		return RM_PE_MISSING_FIELD;
	if (op == CODEC_OP_AUTH) {
		if (!is_string(&v[K_TOKEN]))
			return RM_PE_MISSING_FIELD;
		cmd->token.text = v[K_TOKEN].text;
		cmd->token.len = v[K_TOKEN].len;
	}
	if (op == CODEC_OP_BROADCAST || op == CODEC_OP_DIRECT) {
		if (!v[K_CONTENT].text)
			return RM_PE_MISSING_FIELD;
		cmd->content = v[K_CONTENT].text;
		cmd->content_len = v[K_CONTENT].len;
	}
	return decode_optional(v, cmd);
}

/*
 * Decodes the id string @v into @buf and checks it with @valid. Returns
 * 1 and sets *@s and *@len if it follows its rule.
 */
static int
decode_id_string(const struct jscan_val *v, char *buf, size_t size,
		 int (*valid)(const char *, size_t), const char **s,
		 size_t *len)
{
	ssize_t n = unquote(v, buf, size);

	if (n < 0 || !valid(buf, (size_t)n))
		return 0;
	*s = buf;
	*len = (size_t)n;
	return 1;
}

/* The value rules: bad_room, then bad_user. */
static enum rm_proto_err
decode_rules(const struct jscan_val *v, struct codec_cmd *cmd)
{
	enum codec_op op = cmd->op;

	if (op != CODEC_OP_PING && op != CODEC_OP_DIRECT &&
	    op != CODEC_OP_AUTH && !decode_id_string(&v[K_ROOM], cmd->room_buf,
			      sizeof(cmd->room_buf), codec_room_valid,
			      &cmd->room_id, &cmd->room_len))
		return RM_PE_BAD_ROOM;
	if (op == CODEC_OP_JOIN && v[K_USER].text &&
	    !decode_id_string(&v[K_USER], cmd->user_buf,
			      sizeof(cmd->user_buf), codec_own_user_valid,
			      &cmd->user_id, &cmd->user_len))
		return RM_PE_BAD_USER;
	if (op == CODEC_OP_DIRECT &&
	    !decode_id_string(&v[K_TO], cmd->user_buf, sizeof(cmd->user_buf),
			      codec_user_valid, &cmd->to, &cmd->to_len))
		return RM_PE_BAD_USER;
	return RM_PE_NONE;
}

enum rm_proto_err
codec_decode(struct codec *c, const char *text, size_t len,
	     struct codec_cmd *cmd)
{
	struct jscan_val v[K_N];
	enum rm_proto_err e;

	(void)c;
	cmd->op = 0;
	cmd->type = cmd->room_id = cmd->user_id = cmd->to = NULL;
	cmd->content = cmd->epoch = NULL;
	cmd->room_len = cmd->user_len = cmd->to_len = cmd->content_len = 0;
	cmd->id.text = NULL;
	cmd->id.len = 0;
	cmd->token.text = NULL;
	cmd->token.len = 0;
	cmd->has_since = 0;
	cmd->since = cmd->limit = 0;
	switch (jscan_object(text, len, keys, K_N, v)) {
	case JSCAN_OBJECT:
		break;
	case JSCAN_BAD_UTF8:
		return RM_PE_INVALID_UTF8;
	default:
		return RM_PE_BAD_JSON;
	}
	decode_id(&v[K_ID], cmd);
	e = decode_type(&v[K_TYPE], cmd);
	if (!e)
		e = decode_fields(v, cmd);
	if (!e)
		e = decode_rules(v, cmd);
	return e;
}

ssize_t
codec_unquote_span(const struct codec_span *s, char *buf, size_t size)
{
	struct jscan_val v = { .text = s->text, .len = s->len };

	if (!s->text || s->len < 2)
		return -1;
	return unquote(&v, buf, size);
}

/*---- encoding ----*/

/*
 * Builds a msg from a printf format. Room ids and user ids follow
 * charsets that need no JSON escaping, so the envelopes around them are
 * printed directly; an id can be long (an integer of any size), so a text
 * that does not fit the stack buffer is printed again into the heap.
 */
static struct msg *
msg_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static struct msg *
msg_printf(const char *fmt, ...)
{
	char buf[512], *big;
	struct msg *m;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	if ((size_t)n < sizeof(buf))
		return msg_from_text(buf, (size_t)n);
	big = malloc((size_t)n + 1);
	if (!big)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	m = msg_from_text(big, (size_t)n);
	free(big);
	return m;
}

/* printf pieces for an optional `,"id":X` after "type". */
#define ID_FMT "%s%.*s"
#define ID_ARGS(id)                                                          \
	(id) && (id)->text ? ",\"id\":" : "",                                \
	(int)((id) && (id)->text ? (id)->len : 0),                           \
	(id) && (id)->text ? (id)->text : ""

struct msg *
codec_encode_joined(const char *room_id, const char *user_id,
		    uint64_t members, uint64_t seq, const char *epoch,
		    const struct codec_span *id)
{
	return codec_encode_joined_ex(room_id, user_id, members, seq, epoch,
				      -1, id);
}

struct msg *
codec_encode_joined_ex(const char *room_id, const char *user_id,
		       uint64_t members, uint64_t seq, const char *epoch,
		       int recovered, const struct codec_span *id)
{
	return msg_printf("{\"type\":\"joined\"" ID_FMT ",\"room_id\":\"%s\","
			  "\"user_id\":\"%s\",\"members\":%" PRIu64
			  ",\"seq\":%" PRIu64 ",\"epoch\":\"%s\"%s}",
			  ID_ARGS(id), room_id, user_id, members, seq, epoch,
			  recovered < 0 ? "" : recovered ?
			  ",\"recovered\":true" : ",\"recovered\":false");
}

/*
 * Builds "<head>[<n items>]<tail>" in one allocation; each item is
 * @texts[i] (@lens[i] bytes) wrapped in @quote ("" or "\"").
 */
static struct msg *
encode_list(const char *head, size_t head_len, const char *const *texts,
	    const size_t *lens, unsigned int n, const char *quote,
	    const char *tail)
{
	size_t q = strlen(quote), t = strlen(tail), len = head_len + 2 + t;
	unsigned int i;
	struct msg *m;
	char *p;

	for (i = 0; i < n; i++)
		len += lens[i] + 2 * q + (i > 0);
	m = msg_alloc(len);
	if (!m)
		return NULL;
	p = msg_payload(m);
	memcpy(p, head, head_len);
	p += head_len;
	*p++ = '[';
	for (i = 0; i < n; i++) {
		if (i)
			*p++ = ',';
		memcpy(p, quote, q);
		memcpy(p + q, texts[i], lens[i]);
		memcpy(p + q + lens[i], quote, q);
		p += lens[i] + 2 * q;
	}
	*p++ = ']';
	memcpy(p, tail, t);
	msg_seal(m);
	return m;
}

/*
 * The head of a list answer, up to its array, printed into *@out (freed
 * by the caller). Returns its length, or -1 (and *@out NULL) on OOM.
 */
static int
list_head(char **out, const char *type, const struct codec_span *id,
	  const char *room_id, const char *more)
{
#define LIST_HEAD_FMT "{\"type\":\"%s\"" ID_FMT ",\"room_id\":\"%s\"%s"
	int n = snprintf(NULL, 0, LIST_HEAD_FMT, type, ID_ARGS(id), room_id,
			 more);

	*out = n < 0 ? NULL : malloc((size_t)n + 1);
	if (!*out)
		return -1;
	snprintf(*out, (size_t)n + 1, LIST_HEAD_FMT, type, ID_ARGS(id),
		 room_id, more);
	return n;
#undef LIST_HEAD_FMT
}

struct msg *
codec_encode_history(const char *room_id, struct msg *const *msgs,
		     unsigned int n, const struct codec_span *id)
{
	return codec_encode_history_ex(room_id, msgs, n, 0, id);
}

struct msg *
codec_encode_epoch(const char *room_id, const char *epoch, uint64_t seq)
{
	return msg_printf("{\"type\":\"epoch\",\"room_id\":\"%s\","
			  "\"epoch\":\"%s\",\"seq\":%" PRIu64 "}", room_id,
			  epoch, seq);
}

struct msg *
codec_encode_history_ex(const char *room_id, struct msg *const *msgs,
			unsigned int n, int truncated,
			const struct codec_span *id)
{
	const char *one[64], **texts = one;
	size_t one_len[64], *lens = one_len;
	struct msg *m = NULL;
	unsigned int i;
	char *head;
	int hl;

	if (n > 64) {
		texts = malloc(n * sizeof(*texts));
		lens = malloc(n * sizeof(*lens));
		if (!texts || !lens)
			goto bail;
	}
	for (i = 0; i < n; i++) {
		texts[i] = msg_text(msgs[i]);
		lens[i] = msgs[i]->payload_len;
	}
	hl = list_head(&head, "history", id, room_id, ",\"messages\":");
	if (hl >= 0)
		m = encode_list(head, (size_t)hl, texts, lens, n, "",
				truncated ? ",\"truncated\":true}" : "}");
	free(head);
bail:
	if (texts != one)
		free((void *)texts);
	if (lens != one_len)
		free(lens);
	return m;
}

struct msg *
codec_encode_members(const char *room_id, uint64_t members,
		     const char *const *users, unsigned int n, int truncated,
		     const struct codec_span *id)
{
	char more[64], *head;
	size_t *lens = malloc((n ? n : 1) * sizeof(*lens));
	struct msg *m = NULL;
	unsigned int i;
	int hl;

	if (!lens)
		return NULL;
	for (i = 0; i < n; i++)
		lens[i] = strlen(users[i]);
	snprintf(more, sizeof(more), ",\"members\":%" PRIu64 ",\"users\":",
		 members);
	hl = list_head(&head, "members", id, room_id, more);
	if (hl >= 0)
		m = encode_list(head, (size_t)hl, users, lens, n, "\"",
				truncated ? ",\"truncated\":true}" : "}");
	free(head);
	free(lens);
	return m;
}

struct msg *
codec_encode_left(const char *room_id, const struct codec_span *id)
{
	return msg_printf("{\"type\":\"left\"" ID_FMT ",\"room_id\":\"%s\"}",
			  ID_ARGS(id), room_id);
}

struct msg *
codec_encode_left_reason(const char *room_id, const char *reason)
{
	return msg_printf("{\"type\":\"left\",\"room_id\":\"%s\","
			  "\"reason\":\"%s\"}", room_id, reason);
}

struct msg *
codec_encode_authed(const char *user_id, int64_t exp,
		    const struct codec_span *id)
{
	return msg_printf("{\"type\":\"authed\"" ID_FMT ",\"user_id\":\"%s\","
			  "\"exp\":%" PRId64 "}", ID_ARGS(id), user_id, exp);
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
codec_encode_pong(const struct codec_span *id)
{
	return msg_printf("{\"type\":\"pong\"" ID_FMT "}", ID_ARGS(id));
}

/*
 * Writes @s as the body of a JSON string into @out (@size bytes, at
 * least 6 * strlen(@s) + 1): quotes, backslashes and control characters
 * escaped, UTF-8 left as it is.
 */
static void
json_escape(const char *s, char *out, size_t size)
{
	size_t n = 0;

	for (; *s && n + 7 <= size; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\') {
			out[n++] = '\\';
			out[n++] = (char)ch;
		} else if (ch == '\n') {
			out[n++] = '\\';
			out[n++] = 'n';
		} else if (ch < 0x20) {
			n += (size_t)snprintf(out + n, size - n, "\\u%04x", ch);
		} else {
			out[n++] = (char)ch;
		}
	}
	out[n] = '\0';
}

struct msg *
codec_encode_error(enum rm_proto_err e, const char *message, const char *ref,
		   const struct codec_span *id)
{
	char msg_esc[6 * 200 + 1], ref_esc[6 * CODEC_REF_MAX + 1];

	json_escape(message, msg_esc, sizeof(msg_esc));
	if (ref)
		json_escape(ref, ref_esc, sizeof(ref_esc));
	return msg_printf("{\"type\":\"error\"" ID_FMT ",\"code\":\"%s\","
			  "\"message\":\"%s\"%s%s%s}", ID_ARGS(id),
			  codec_err_name(e), msg_esc, ref ? ",\"ref\":\"" : "",
			  ref ? ref_esc : "", ref ? "\"" : "");
}
