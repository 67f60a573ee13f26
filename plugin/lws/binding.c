/*
 * binding.c: which protocol an upgrade ends up served by, known before lws
 * decides it, so that only roomcast.v1 ever becomes a WebSocket.
 *
 * lws 4.1.6 binds a WebSocket upgrade to the first name in the client's
 * Sec-WebSocket-Protocol list that the vhost knows, whatever protocol that
 * is (lib/roles/ws/server-ws.c, lws_process_ws_upgrade), and to the vhost's
 * default protocol when the list is empty. The vhost knows more than
 * roomcast.v1: "roomcast" (the config entry), the status mount's
 * "roomcast-status", roomcast-server's "http" and lwsws's "http-only"
 * dummies, and whatever else a config lists. A client naming
 * "roomcast-status, roomcast.v1" was served by the status callback: not
 * counted, no heartbeat, under no limit (issue 11: 1,017 such connections
 * took every fd). So:
 *
 *  - at HTTP_CONFIRM_UPGRADE (on "roomcast", the vhost's default
 *    protocol) the list is read with lws's own tokenizer, flags and
 *    limits, and the upgrade is refused unless lws will bind it to
 *    roomcast.v1, or the list is empty and "roomcast" is the default;
 *  - FILTER_PROTOCOL_CONNECTION on roomcast's two entries accepts only the
 *    connection whose upgrade was just confirmed (lws runs the two in one
 *    call, with no other connection in between), so no path that skips
 *    the upgrade checks (another default protocol, Host-based vhost
 *    switching, HTTP/2) reaches ESTABLISHED;
 *  - every other protocol the plugin defines refuses both ("http" here,
 *    "roomcast-status" in mounts/status.c).
 */
#include "glue.h"

#include "roomcast_lws.h"
#include "roomcast_names.h"

#include <string.h>

/* The upgrade admitted last, until its FILTER_PROTOCOL_CONNECTION. */
static struct lws *confirmed;

/*
 * Returns 1 if lws will serve @wsi's upgrade with roomcast.v1, or, for a
 * client naming no subprotocol, with "roomcast", the protocol this is
 * called on. Mirrors lws_process_ws_upgrade(): any list lws would refuse
 * (too long for its 128-byte buffer, a name over 63 bytes, malformed, or
 * naming nothing it knows) is refused here too.
 */
int
binding_is_roomcast(struct lws *wsi)
{
	const struct lws_protocols *pcol = NULL;
	struct lws_tokenize ts;
	lws_tokenize_elem e;
	char buf[128], name[64];
	int n;

	n = lws_hdr_copy(wsi, buf, sizeof(buf) - 1, WSI_TOKEN_PROTOCOL);
	if (n < 0)
		return 0;
	if (!n)		/* the vhost's default: this protocol */
		return vhost_is_config_entry(wsi);
	lws_tokenize_init(&ts, buf, LWS_TOKENIZE_F_COMMA_SEP_LIST |
				    LWS_TOKENIZE_F_MINUS_NONTERM |
				    LWS_TOKENIZE_F_DOT_NONTERM |
				    LWS_TOKENIZE_F_RFC7230_DELIMS);
	ts.len = (size_t)n;
	do {
		e = lws_tokenize(&ts);
		switch (e) {
		case LWS_TOKZE_TOKEN:
			if (lws_tokenize_cstr(&ts, name, sizeof(name)))
				return 0;
			pcol = lws_vhost_name_to_protocol(lws_get_vhost(wsi),
							  name);
			if (pcol)
				e = LWS_TOKZE_ENDED;	/* lws binds this one */
			break;
		case LWS_TOKZE_DELIMITER:
		case LWS_TOKZE_ENDED:
			break;
		default:
			return 0;			/* lws refuses too */
		}
	} while (e > 0);
	return pcol && !strcmp(pcol->name, ROOMCAST_SUBPROTOCOL);
}

void
binding_confirmed(struct lws *wsi)
{
	confirmed = wsi;
}

int
binding_take(struct lws *wsi)
{
	int ok = confirmed && confirmed == wsi;

	confirmed = NULL;
	return ok;
}

void
binding_forget(struct lws *wsi)
{
	if (confirmed == wsi)
		confirmed = NULL;
}

/*
 * roomcast-server's "http" entry, and lwsws's "http-only" once sealed
 * (below): the protocol lws asks about upgrades on a vhost whose default
 * is not one of ours. lws's dummy, but it lets no upgrade through and
 * accepts no WebSocket binding.
 */
int
binding_callback_http(struct lws *wsi, enum lws_callback_reasons reason,
		      void *user, void *in, size_t len)
{
	struct vhd__roomcast *vhd;

	switch (reason) {
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		/*
		 * lwsws with "roomcast": {} (no options, so no "default"):
		 * the upgrade is asked here, not on "roomcast". A client
		 * naming roomcast.v1 gets every check it would get there;
		 * one naming nothing would be bound to this dummy: refused.
		 */
		vhd = vhost_of(wsi);
		if (vhd && vhd->enabled &&
		    lws_hdr_total_length(wsi, WSI_TOKEN_PROTOCOL) > 0) {
			if (admission_confirm_upgrade(wsi, vhd, in))
				return -1;
			binding_confirmed(wsi);
			return 0;
		}
		return admission_refuse(wsi, 400, "Bad Request");
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return -1;
	/*
	 * A new socket goes to the vhost's default protocol: this one on
	 * lwsws's "roomcast": {} vhost, "roomcast" otherwise (vhost.c); the
	 * last word on every socket goes to protocols[0], this one.
	 */
	case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
		return admission_accepted(wsi);
	case LWS_CALLBACK_WSI_DESTROY:
		admission_unaccepted(wsi);
		break;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

void
roomcast_seal_http_only(struct lws_vhost *vh)
{
#if defined(LWS_PLUGIN_STATIC)
	(void)vh;	/* roomcast-server's own "http" is binding_callback_http */
#else
	/*
	 * lwsws puts lws's "http-only" dummy first on every vhost; it allows
	 * every upgrade and serves a WebSocket bound to it by name, or to a
	 * client naming none where no default protocol is set. lws offers no
	 * way to change a protocol, but the table is the vhost's own heap
	 * copy (lws_create_vhost, "vhost-specific plugin table"), written
	 * here at PROTOCOL_INIT, before any connection: the dummy's entry on
	 * a vhost that carries roomcast gets binding_callback_http().
	 */
	struct lws_protocols *p = (struct lws_protocols *)
		lws_vhost_name_to_protocol(vh, "http-only");

	if (p && p->callback == lws_callback_http_dummy)
		p->callback = binding_callback_http;
#endif
}
