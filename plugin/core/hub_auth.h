/*
 * hub_auth.h: the Auth rules of PROTOCOL.md on the hub's side (a token's
 * claims decide who a connection is, which rooms it may join and read,
 * and where it may broadcast). The JWT itself is checked by auth.h; this
 * keeps its claims per connection, answers `auth` messages (first ones
 * and refreshes), gates every other message, and tells the transport's
 * sweep which connections must close (4003, 4004).
 *
 * Auth is on for a connection when its vhost's rconf has a keyring.
 * Not thread-safe; service thread only. Knows nothing of lws.
 */
#ifndef HUB_AUTH_H
#define HUB_AUTH_H

#include "auth.h"
#include "codec.h"
#include "hub.h"

#include <stdint.h>
#include <time.h>

/* Close codes of PROTOCOL.md for auth. */
#define HUB_CLOSE_AUTH_TIMEOUT 4003
#define HUB_CLOSE_TOKEN_EXPIRED 4004

/*
 * Authenticates a new @c with @claims verified at the handshake
 * (?token=); the hub owns @claims from then on, whatever the result.
 * Returns RM_OK, or RM_E_INVAL if @c already has a user_id.
 */
int hub_auth_attach(struct hub *h, struct client *c,
		    struct auth_claims *claims);

/*
 * The sweep's check of @c at monotonic @now_ms and wall-clock @now:
 * closes it through ops->close with 4003 when it did not authenticate by
 * auth-timeout-s, or 4004 when its token expired. Returns the code, or 0.
 */
int hub_auth_sweep(struct hub *h, struct client *c, int64_t now_ms,
		   time_t now);

/* 1 if @c is authenticated (on a vhost with auth on). */
int hub_auth_authed(const struct client *c);

/*---- hooks of hub.c (hub-internal) ----*/

/* A new client: its deadline to authenticate, when auth is on. */
void hub_auth_client_init(struct client *c, int64_t now_ms);

/* A client is going: its claims go with it. */
void hub_auth_client_free(struct client *c);

/*
 * Handles @cmd when the auth rules decide it: answers `auth` messages,
 * refuses with `unauthorized` what @c may not do, and closes with 4004
 * (no answer) a connection whose token has expired. Returns 1 if @cmd
 * was handled, 0 if the hub goes on with it.
 */
int hub_auth_gate(struct hub *h, struct client *c, struct codec_cmd *cmd);

/* 1 if a direct message may reach @c as a guest (not awaiting auth). */
int hub_auth_reachable_guest(const struct client *c);

#endif
