/*
 * hub_auth.c: the Auth rules of PROTOCOL.md on the hub's side (see
 * hub_auth.h). Where auth is on, a connection keeps the claims of its
 * token (one allocation, no copy of the token) and its user_id is the
 * token's `sub`; before it authenticates only `auth` and `ping` work.
 */
#include "hub_auth.h"
#include "hub_internal.h"
#include "msg.h"
#include "rm_err.h"

#include <stdlib.h>
#include <string.h>

/* An escaped token is decoded here: one at a time, on the service thread. */
static char token_buf[AUTH_TOKEN_MAX + 1];

static int
auth_on(const struct client *c)
{
	return c->conf->keyring != NULL;
}

int
hub_auth_authed(const struct client *c)
{
	return c->authed;
}

/* @claims (NULL: none) become @c's; the deadline they share a word with is over. */
static void
set_claims(struct client *c, struct auth_claims *claims)
{
	c->auth.claims = claims;
	c->authed = claims != NULL;
}

int
hub_auth_reachable_guest(const struct client *c)
{
	return !auth_on(c);
}

void
hub_auth_client_init(struct client *c, int64_t now_ms)
{
	if (auth_on(c))
		c->auth.by_ms =
			now_ms + (int64_t)c->conf->auth_timeout_s * 1000;
}

void
hub_auth_client_free(struct client *c)
{
	if (!c->authed)
		return;
	c->user_id = NULL;	/* it was claims->sub */
	auth_claims_free(c->auth.claims);
	set_claims(c, NULL);
}

/* Queues an error about @cmd to @c. */
static void
refuse(struct hub *h, struct client *c, enum rm_proto_err e,
       const char *message, const struct codec_cmd *cmd)
{
	struct msg *m = codec_encode_error(e, message, cmd->type, &cmd->id);

	if (m) {
		hub_send(h, c, m);
		msg_unref(m);
	}
}

/* Queues @m (may be NULL on OOM: then nothing) and drops its reference. */
static void
send_msg(struct hub *h, struct client *c, struct msg *m)
{
	if (m) {
		hub_send(h, c, m);
		msg_unref(m);
	}
}

/*
 * The user_id of an authenticated connection is its claims' `sub`, not a
 * copy (an idle authenticated connection pays one allocation, the claims).
 */
int
hub_auth_attach(struct hub *h, struct client *c, struct auth_claims *claims)
{
	if (c->authed || c->user_id) {
		/* never: joins wait for auth, and a refresh is on_auth's */
		auth_claims_free(claims);
		return RM_E_INVAL;
	}
	set_claims(c, claims);
	c->user_id = (char *)claims->sub;
	(void)hub_client_index(h, c);	/* OOM: not reachable by direct */
	return RM_OK;
}

/*
 * A refresh narrowed `rooms`: @c leaves every room the new @claims do not
 * allow, and is told so.
 */
static void
leave_disallowed(struct hub *h, struct client *c,
		 const struct auth_claims *claims)
{
	struct member *mb = c->rooms, *next;
	char id[CODEC_ROOM_MAX + 1];

	for (; mb; mb = next) {
		next = mb->cnext;
		if (auth_claims_may_join(claims, mb->room->id,
					 mb->room->id_len))
			continue;
		memcpy(id, mb->room->id, mb->room->id_len + 1);
		hub_client_leave(h, c, mb);	/* the room may be freed */
		send_msg(h, c, codec_encode_left_reason(id, "unauthorized"));
	}
}

/* The token of an `auth` message, decoded when it holds escapes. */
static const char *
token_of(const struct codec_cmd *cmd, size_t *len)
{
	const char *body = cmd->token.text + 1;
	ssize_t n;

	*len = cmd->token.len - 2;
	if (!memchr(body, '\\', *len))
		return body;
	n = codec_unquote_span(&cmd->token, token_buf, sizeof(token_buf));
	if (n < 0)
		return NULL;
	*len = (size_t)n;
	return token_buf;
}

/*
 * `auth`: a first token, or a refresh for the same `sub`. A token that
 * does not verify changes nothing (PROTOCOL.md).
 */
static void
on_auth(struct hub *h, struct client *c, const struct codec_cmd *cmd)
{
	struct auth_claims *claims = NULL;
	enum auth_err e = AUTH_E_TOO_LONG;
	const char *token;
	size_t len;

	if (!auth_on(c)) {
		refuse(h, c, RM_PE_UNAUTHORIZED, "auth is off on this server",
		       cmd);
		return;
	}
	token = token_of(cmd, &len);
	if (token)
		e = auth_verify(c->conf->keyring, token, len, time(NULL),
				&claims, NULL, 0);
	if (e != AUTH_OK) {
		refuse(h, c, RM_PE_UNAUTHORIZED, auth_strerror(e), cmd);
		return;
	}
	if (c->authed && strcmp(c->auth.claims->sub, claims->sub)) {
		auth_claims_free(claims);
		refuse(h, c, RM_PE_USER_MISMATCH, "the token is for another "
		       "user than this connection's", cmd);
		return;
	}
	if (c->authed) {
		leave_disallowed(h, c, claims);
		auth_claims_free(c->auth.claims);
		set_claims(c, claims);
		c->user_id = (char *)claims->sub;	/* the same text */
	} else {
		hub_auth_attach(h, c, claims);
	}
	send_msg(h, c,
		 codec_encode_authed(c->auth.claims->sub, c->auth.claims->exp,
				     &cmd->id));
}

/*
 * The rooms a message names, against the claims. The user_mismatch of a
 * join comes first (PROTOCOL.md's order): on_join answers it.
 */
static int
room_allowed(const struct client *c, const struct codec_cmd *cmd)
{
	const struct auth_claims *cl = c->auth.claims; /* authed */

	switch (cmd->op) {
	case CODEC_OP_JOIN:
		if (cmd->user_id && (cl->sub_len != cmd->user_len ||
				     memcmp(cl->sub, cmd->user_id,
					    cmd->user_len)))
			return 1;
		return auth_claims_may_join(cl, cmd->room_id, cmd->room_len);
	case CODEC_OP_HISTORY:
	case CODEC_OP_MEMBERS:
		return auth_claims_may_join(cl, cmd->room_id, cmd->room_len);
	case CODEC_OP_BROADCAST:
		return auth_claims_may_publish(cl, cmd->room_id,
					       cmd->room_len);
	default:
		return 1;
	}
}

/* Closes @c with 4004: its token's exp has come. */
static void
expire(struct hub *h, struct client *c)
{
	c->closing = 1;
	h->ops->close(c->owner, HUB_CLOSE_TOKEN_EXPIRED);
}

int
hub_auth_gate(struct hub *h, struct client *c, struct codec_cmd *cmd)
{
	/*
	 * The sweep closes an expired connection up to a tick late; a message
	 * in that window is not served on an expired token (nor refreshes it).
	 */
	if (c->authed && (int64_t)time(NULL) >= c->auth.claims->exp) {
		if (!c->closing)
			expire(h, c);
		return 1;
	}
	if (cmd->op == CODEC_OP_AUTH) {
		on_auth(h, c, cmd);
		return 1;
	}
	if (!auth_on(c) || cmd->op == CODEC_OP_PING)
		return 0;
	if (!c->authed) {
		refuse(h, c, RM_PE_UNAUTHORIZED, "authenticate first: send "
		       "{\"type\":\"auth\",\"token\":...}", cmd);
		return 1;
	}
	if (!room_allowed(c, cmd)) {
		refuse(h, c, RM_PE_UNAUTHORIZED, cmd->op == CODEC_OP_BROADCAST
		       ? "the token does not allow publishing to this room"
		       : "the token does not allow this room", cmd);
		return 1;
	}
	return 0;
}

int
hub_auth_sweep(struct hub *h, struct client *c, int64_t now_ms, time_t now)
{
	int code;

	if (!auth_on(c) || c->closing)
		return 0;
	if (!c->authed)
		code = now_ms >= c->auth.by_ms ? HUB_CLOSE_AUTH_TIMEOUT : 0;
	else
		code = (int64_t)now >= c->auth.claims->exp ?
			       HUB_CLOSE_TOKEN_EXPIRED :
			       0;
	if (code) {
		c->closing = 1;
		h->ops->close(c->owner, code);
	}
	return code;
}
