/*
 * auth.c: the glue's part of auth (PROTOCOL.md "Auth"): a `?token=` on
 * the upgrade URL, checked before any WebSocket state exists (a bad one
 * is refused with 401 by admission.c), its claims handed to the hub once
 * the connection is established, and the vhosts' key files re-read from
 * the sweep. The rules themselves are the hub's (hub_auth.h).
 */
#include "glue.h"

#include "hub_auth.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Room for "token=" and the longest token auth_verify() takes. */
static char url_buf[AUTH_TOKEN_MAX + 16];

/*
 * The claims verified at CONFIRM_UPGRADE, for the ESTABLISHED of the same
 * wsi that follows: each CONFIRM_UPGRADE replaces them, so they can only
 * go to the connection that presented the token.
 */
static struct lws *pending_wsi;
static struct auth_claims *pending;

/* The vhosts with a keyring, for the key-file poll. */
static struct vhd__roomcast **keyed;
static unsigned int n_keyed, cap_keyed;

static void
pending_clear(void)
{
	auth_claims_free(pending);
	pending = NULL;
	pending_wsi = NULL;
}

/*
 * Verifies @wsi's ?token=, if it has one. Returns 0 with *@out the claims
 * (NULL: no token), or -1 for a bad token.
 */
static int
url_token(struct lws *wsi, struct vhd__roomcast *vhd,
	  struct auth_claims **out)
{
	const char *tok = lws_get_urlarg_by_name(wsi, "token=", url_buf,
						 sizeof(url_buf));
	char err[128];
	enum auth_err e;

	*out = NULL;
	if (!tok) {
		/* a URL arg too long to copy is a token too long */
		return lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS) >=
		       (int)sizeof(url_buf) ? -1 : 0;
	}
	e = auth_verify(vhd->conf.keyring, tok, strlen(tok), time(NULL), out,
			err, sizeof(err));
	if (e == AUTH_OK)
		return 0;
	lwsl_info("%s: ?token= refused: %s\n", __func__, err);
	return -1;
}

int
auth_glue_confirm(struct lws *wsi, struct vhd__roomcast *vhd)
{
	struct auth_claims *claims;

	pending_clear();
	if (!vhd->conf.keyring)
		return 0;
	if (url_token(wsi, vhd, &claims))
		return -1;
	pending = claims;
	pending_wsi = claims ? wsi : NULL;
	return 0;
}

int
auth_glue_established(struct lws *wsi, struct vhd__roomcast *vhd,
		      struct client *c)
{
	struct auth_claims *claims = NULL;

	if (!vhd->conf.keyring)
		return 0;
	if (pending_wsi == wsi) {
		claims = pending;
		pending = NULL;
		pending_wsi = NULL;
	} else if (url_token(wsi, vhd, &claims)) {
		return -1;	/* refused at CONFIRM_UPGRADE already */
	}
	if (claims && hub_auth_attach(glue_hub, c, claims))
		return -1;
	return 0;
}

int
auth_vhost_init(struct vhd__roomcast *vhd)
{
	struct vhd__roomcast **p;
	char err[256];

	if (rconf_auth_load(&vhd->conf, err, sizeof(err))) {
		lwsl_err("roomcast: vhost %s: option %s\n",
			 lws_get_vhost_name(vhd->vhost), err);
		return -1;
	}
	if (err[0])
		lwsl_warn("roomcast: vhost %s: %s\n",
			  lws_get_vhost_name(vhd->vhost), err);
	if (!vhd->conf.keyring)
		return 0;
	if (n_keyed == cap_keyed) {
		p = realloc(keyed, (cap_keyed + 4) * sizeof(*keyed));
		if (!p)
			return -1;
		keyed = p;
		cap_keyed += 4;
	}
	keyed[n_keyed++] = vhd;
	lwsl_user("roomcast: vhost %s: auth on (%s)\n",
		  lws_get_vhost_name(vhd->vhost),
		  auth_keyring_alg(vhd->conf.keyring));
	return 0;
}

void
auth_vhost_destroy(struct vhd__roomcast *vhd)
{
	unsigned int i;

	for (i = 0; i < n_keyed; i++)
		if (keyed[i] == vhd) {
			keyed[i] = keyed[--n_keyed];
			break;
		}
	if (!n_keyed) {
		free(keyed);
		keyed = NULL;
		cap_keyed = 0;
		pending_clear();
	}
}

void
auth_poll_keys(time_t now)
{
	char err[256];
	unsigned int i;
	int r;

	for (i = 0; i < n_keyed; i++) {
		r = auth_keyring_poll(keyed[i]->conf.keyring, now, err,
				      sizeof(err));
		if (r > 0)
			lwsl_user("roomcast: vhost %s: key file re-read\n",
				  lws_get_vhost_name(keyed[i]->vhost));
		else if (r < 0)
			lwsl_err("roomcast: vhost %s: key file not re-read, "
				 "old key kept: %s\n",
				 lws_get_vhost_name(keyed[i]->vhost), err);
	}
}
