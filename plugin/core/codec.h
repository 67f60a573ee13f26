/*
 * codec.h: roomcast.v1's JSON wire format on json-c.
 *
 * codec_decode() turns one client text message into a validated struct
 * codec_cmd, or names the protocol error it breaks, checking in the order
 * PROTOCOL.md gives (bad_json, unknown_type, missing_field, bad_room /
 * bad_user); the remaining errors need state and are the hub's. The
 * codec_encode_*() functions build server messages as sealed msgs (see
 * msg.h), each encoded once whatever the number of recipients.
 *
 * Not thread-safe; service thread only. Knows nothing of lws.
 */
#ifndef CODEC_H
#define CODEC_H

#include <stddef.h>
#include <stdint.h>

struct json_object;
struct json_tokener;
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
};

enum codec_op {
	CODEC_OP_JOIN = 1,
	CODEC_OP_LEAVE,
	CODEC_OP_BROADCAST,
	CODEC_OP_PING,
	CODEC_OP_DIRECT,
	CODEC_OP_HISTORY,
};

#define CODEC_ROOM_MAX 128
#define CODEC_USER_MAX 64
/* Nesting deeper than this is refused as bad_json (bounds parse work). */
#define CODEC_MAX_DEPTH 64
/* A `type` longer than this is not echoed back as `ref`. */
#define CODEC_REF_MAX 64

/*
 * One decoded client message. Strings and json values are borrowed from
 * @root, which the cmd owns until codec_cmd_release().
 */
struct codec_cmd {
	enum codec_op op;
	struct json_object *root;
	const char *type;		/* for `ref`; NULL if unreadable */
	const char *room_id;		/* join, leave, broadcast */
	size_t room_len;
	const char *user_id;		/* join; NULL when absent */
	size_t user_len;
	const char *to;			/* direct */
	size_t to_len;
	const char *content;		/* broadcast, direct: the value's text */
	size_t content_len;		/* as the client wrote it */
	const char *id;			/* ping: the id's text; NULL if absent */
	size_t id_len;
	int has_since;			/* join: "since" given */
	uint64_t since;
	const char *epoch;		/* join; NULL when absent */
	uint64_t limit;			/* history; 0 when absent */
};

struct codec;

/* Creates a codec (it holds one reusable json tokener); NULL on OOM. */
struct codec *codec_create(void);
void codec_destroy(struct codec *c);

/*
 * Decodes @len bytes of @text (already checked to be UTF-8). Returns
 * RM_PE_NONE with @cmd filled, or the first protocol error that applies;
 * in both cases @cmd->type is set when readable and the caller must call
 * codec_cmd_release(@cmd).
 */
enum rm_proto_err codec_decode(struct codec *c, const char *text, size_t len,
			       struct codec_cmd *cmd);

void codec_cmd_release(struct codec_cmd *cmd);

/*
 * Finds the text of member @key of the JSON object @text (which must be
 * valid JSON: codec_decode checks that first). With duplicate keys the
 * last wins, as in json-c. Returns 1 and sets @val/@val_len if found, 0
 * if not, -1 if a top-level key is written with escapes (then the text
 * found, if any, may not be the member json-c takes).
 */
int codec_member_text(const char *text, size_t len, const char *key,
		      const char **val, size_t *val_len);

/*
 * Returns 1 if @len bytes of @text are one JSON value by RFC 8259 (any
 * surrounding whitespace aside), nested at most CODEC_MAX_DEPTH deep.
 */
int codec_json_valid(const char *text, size_t len);

/* Returns 1 if @len bytes of @s are valid UTF-8 (RFC 3629). */
int codec_utf8_valid(const unsigned char *s, size_t len);

/* Returns 1 if @s (@len bytes) follows the room_id / user_id rule. */
int codec_room_valid(const char *s, size_t len);
int codec_user_valid(const char *s, size_t len);

/* The wire name of @e ("bad_json", ...). */
const char *codec_err_name(enum rm_proto_err e);

/*---- server messages (each returns a sealed msg, or NULL on OOM) ----*/

struct msg *codec_encode_joined(const char *room_id, const char *user_id,
				uint64_t members, uint64_t seq,
				const char *epoch);
struct msg *codec_encode_left(const char *room_id);
/*
 * Encodes a broadcast once; the result goes to every member. @content is
 * the JSON text of the value (codec_cmd.content), passed on byte for byte
 * so that receivers get exactly what was sent: json-c would turn 1e400
 * into Infinity and clamp large integers.
 */
struct msg *codec_encode_broadcast(const char *room_id, const char *sender,
				   uint64_t seq, const char *content,
				   size_t content_len);
struct msg *codec_encode_presence(const char *event, const char *room_id,
				  const char *user_id);
struct msg *codec_encode_direct(const char *from, const char *content,
				size_t content_len);
/* @id is the ping's id as written (codec_cmd.id), or NULL. */
struct msg *codec_encode_pong(const char *id, size_t id_len);
struct msg *codec_encode_dropped(uint64_t count);
/*
 * The joined answer; @recovered is -1 when the join asked for no
 * recovery (no "recovered" field), else 0 or 1.
 */
struct msg *codec_encode_joined_ex(const char *room_id, const char *user_id,
				   uint64_t members, uint64_t seq,
				   const char *epoch, int recovered);
/*
 * {"type":"history","room_id":R,"messages":[...]} from @n sealed broadcast
 * msgs (their JSON texts become the array's elements).
 */
struct msg *codec_encode_history(const char *room_id, struct msg *const *msgs,
				 unsigned int n);
/* @ref may be NULL; @message is human-readable text. */
struct msg *codec_encode_error(enum rm_proto_err e, const char *message,
			       const char *ref);

#endif
