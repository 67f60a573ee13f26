/*
 * codec.h: roomcast.v1's JSON wire format.
 *
 * codec_decode() turns one client text message into a validated struct
 * codec_cmd, or names the protocol error it breaks, checking in the order
 * PROTOCOL.md gives (bad_json, unknown_type, missing_field, bad_room /
 * bad_user); the remaining errors need state and are the hub's. It reads
 * the message once (jscan.h: UTF-8, RFC 8259 and the members' places in
 * one pass) and builds no tree: `content` and `id` are passed on as the
 * client wrote them, byte for byte. The codec_encode_*() functions build
 * server messages as sealed msgs (see msg.h), each encoded once whatever
 * the number of recipients.
 *
 * Not thread-safe; service thread only. Knows nothing of lws.
 */
#ifndef CODEC_H
#define CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct msg;

/* Protocol errors, in PROTOCOL.md's order of precedence where it has one. */
enum rm_proto_err {
	RM_PE_NONE = 0,
	RM_PE_RATE_LIMITED,
	RM_PE_BAD_JSON,
	RM_PE_BAD_FRAME,
	RM_PE_UNKNOWN_TYPE,
	RM_PE_MISSING_FIELD,
	RM_PE_BAD_ROOM,
	RM_PE_BAD_USER,
	RM_PE_USER_MISMATCH,
	RM_PE_UNAUTHORIZED,
	RM_PE_NOT_MEMBER,
	RM_PE_ROOM_LIMIT,
	RM_PE_NO_SUCH_USER,
	RM_PE_UNAVAILABLE,	/* clustered, Redis unreachable (v1.1) */
	RM_PE_OVERLOADED,	/* out of memory; nothing was done (v1.1) */
	/* not UTF-8: no error message, the connection is closed with 1007 */
	RM_PE_INVALID_UTF8,
};

enum codec_op {
	CODEC_OP_JOIN = 1,
	CODEC_OP_LEAVE,
	CODEC_OP_BROADCAST,
	CODEC_OP_PING,
	CODEC_OP_DIRECT,
	CODEC_OP_HISTORY,
	CODEC_OP_MEMBERS,
	CODEC_OP_AUTH,
};

#define CODEC_ROOM_MAX 128
#define CODEC_USER_MAX 64
/* Nesting deeper than this is refused as bad_json (bounds parse work). */
#define CODEC_MAX_DEPTH 64
/* A `type` longer than this is not echoed back as `ref`. */
#define CODEC_REF_MAX 64
/* A request `id` string longer than this (decoded bytes) is ignored. */
#define CODEC_ID_MAX 64
/* The longest request id as written: every byte a \u escape, and quotes. */
#define CODEC_ID_TEXT_MAX (CODEC_ID_MAX * 6 + 2)
/* A join's `epoch` longer than this can match no room's epoch. */
#define CODEC_EPOCH_MAX 64
/* A `members` answer lists at most this many users. */
#define CODEC_MEMBERS_MAX 1000

/* Bytes of a message's text, borrowed from it. */
struct codec_span {
	const char *text;	/* NULL: none */
	size_t len;
};

/*
 * One decoded client message. The ids are decoded copies held in the cmd
 * (NUL-terminated); content and id point into the message's text, which
 * must outlive the cmd's use.
 */
struct codec_cmd {
	enum codec_op op;
	const char *type;		/* for `ref`; NULL if unreadable */
	const char *room_id;		/* join, leave, broadcast, history, members */
	size_t room_len;
	const char *user_id;		/* join; NULL when absent */
	size_t user_len;
	const char *to;			/* direct */
	size_t to_len;
	const char *content;		/* broadcast, direct: the value's text */
	size_t content_len;		/* as the client wrote it */
	/*
	 * The request id as written (a string of at most CODEC_ID_MAX bytes
	 * or an integer), echoed in the answer; text NULL when absent or
	 * of another kind. Set for every message that is a JSON object.
	 */
	struct codec_span id;
	int has_since;			/* join: "since" given */
	uint64_t since;
	/*
	 * join; NULL when absent. An epoch the cmd cannot hold (too long,
	 * U+0000, a lone surrogate) is "", which no room's epoch is.
	 */
	const char *epoch;
	uint64_t limit;			/* history; 0 when absent */
	/*
	 * auth: the `token` string as written, quotes included (a token is
	 * up to 8 KiB: it is not copied into the cmd; codec_unquote_span).
	 */
	struct codec_span token;
	char type_buf[CODEC_REF_MAX + 1];
	char room_buf[CODEC_ROOM_MAX + 1];
	char user_buf[CODEC_USER_MAX + 1];
	char epoch_buf[CODEC_EPOCH_MAX + 1];
};

struct codec;

/* Creates a codec (it holds no state between messages); NULL on OOM. */
struct codec *codec_create(void);
void codec_destroy(struct codec *c);

/*
 * Decodes @len bytes of @text. Returns RM_PE_NONE with @cmd filled, the
 * first protocol error that applies, or RM_PE_INVALID_UTF8 when @text is
 * not UTF-8; @cmd->type and @cmd->id are set whenever readable.
 */
enum rm_proto_err codec_decode(struct codec *c, const char *text, size_t len,
			       struct codec_cmd *cmd);

/*
 * Returns 1 if @len bytes of @text are one JSON value by RFC 8259 (any
 * surrounding whitespace aside) in UTF-8, nested at most CODEC_MAX_DEPTH
 * deep.
 */
int codec_json_valid(const char *text, size_t len);

/* Returns 1 if @len bytes of @s are valid UTF-8 (RFC 3629). */
int codec_utf8_valid(const unsigned char *s, size_t len);

/* Returns 1 if @s (@len bytes) follows the room_id / user_id rule. */
int codec_room_valid(const char *s, size_t len);
int codec_user_valid(const char *s, size_t len);

/*
 * Decodes the JSON string @s (quotes included, as codec_cmd.token) into
 * @buf (@size bytes), NUL-terminated. Returns its length, or -1 when it
 * does not fit or holds U+0000 or a lone surrogate.
 */
ssize_t codec_unquote_span(const struct codec_span *s, char *buf,
			   size_t size);

/*
 * Returns 1 if a client may call itself @s (@len bytes): the user_id rule
 * and not the server's "guest-" prefix, so no one takes a guest's direct
 * messages. The one check for every user_id a client chooses (join,
 * token `sub`, API `sender` / `from`); codec_user_valid() alone is for
 * naming someone else (`to`, which may be a guest).
 */
int codec_own_user_valid(const char *s, size_t len);

/* The wire name of @e ("bad_json", ...). */
const char *codec_err_name(enum rm_proto_err e);

/*---- server messages (each returns a sealed msg, or NULL on OOM) ----*/
/*
 * Ownership: each codec_encode_*() returns a new msg holding one
 * reference, the caller's. Queueing it (hub_send, sendq_push) or keeping
 * it (history_push) takes references of their own, so the caller drops
 * its reference with msg_unref() once it has handed the msg on.
 */

/*
 * The answers to a request take its @id (codec_cmd.id; NULL or an empty
 * span for none) and carry it as "id", byte for byte.
 */
struct msg *codec_encode_joined(const char *room_id, const char *user_id,
				uint64_t members, uint64_t seq,
				const char *epoch,
				const struct codec_span *id);
/*
 * The joined answer; @recovered is -1 when the join asked for no
 * recovery (no "recovered" field), else 0 or 1.
 */
struct msg *codec_encode_joined_ex(const char *room_id, const char *user_id,
				   uint64_t members, uint64_t seq,
				   const char *epoch, int recovered,
				   const struct codec_span *id);
struct msg *codec_encode_left(const char *room_id,
			      const struct codec_span *id);
/* A `left` the server started, with its "reason" (a plain word). */
struct msg *codec_encode_left_reason(const char *room_id, const char *reason);
/* {"type":"authed","user_id":U,"exp":E}, answering an `auth`. */
struct msg *codec_encode_authed(const char *user_id, int64_t exp,
				const struct codec_span *id);
/*
 * Encodes a broadcast once; the result goes to every member. @content is
 * the JSON text of the value (codec_cmd.content), passed on byte for byte
 * so that receivers get exactly what was sent.
 */
struct msg *codec_encode_broadcast(const char *room_id, const char *sender,
				   uint64_t seq, const char *content,
				   size_t content_len);
struct msg *codec_encode_presence(const char *event, const char *room_id,
				  const char *user_id);
struct msg *codec_encode_direct(const char *from, const char *content,
				size_t content_len);
struct msg *codec_encode_pong(const struct codec_span *id);
struct msg *codec_encode_dropped(uint64_t count);
/*
 * {"type":"history","room_id":R,"messages":[...]} from @n sealed broadcast
 * msgs (their JSON texts become the array's elements).
 */
struct msg *codec_encode_history(const char *room_id, struct msg *const *msgs,
				 unsigned int n, const struct codec_span *id);
/* The same, with "truncated":true when @truncated (v1.1). */
struct msg *codec_encode_history_ex(const char *room_id,
				    struct msg *const *msgs, unsigned int n,
				    int truncated,
				    const struct codec_span *id);
/*
 * {"type":"epoch","room_id":R,"epoch":E,"seq":S} (v1.1): the room's
 * numbering started over while the receiver was a member.
 */
struct msg *codec_encode_epoch(const char *room_id, const char *epoch,
			       uint64_t seq);
/*
 * {"type":"members","room_id":R,"members":N,"users":[...]} listing the @n
 * @users (valid user ids), with "truncated":true when @truncated.
 */
struct msg *codec_encode_members(const char *room_id, uint64_t members,
				 const char *const *users, unsigned int n,
				 int truncated, const struct codec_span *id);
/* @ref may be NULL; @message is human-readable text. */
struct msg *codec_encode_error(enum rm_proto_err e, const char *message,
			       const char *ref, const struct codec_span *id);

#endif
