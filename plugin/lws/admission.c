/*
 * admission.c: who may connect. The handshake's checks (the vhost serves
 * roomcast, the subprotocol, allowed-origins, max-connections,
 * max-connections-per-ip, draining), each refused with the HTTP status
 * PROTOCOL.md gives, and the accounting of those admitted: per vhost, per
 * IP, and the hub's registration.
 */
#include "glue.h"

#include "htable.h"
#include "ipcount.h"
#include "rm_clock.h"
#include "stats.h"
#include "roomcast_lws.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/*
 * Refuses an upgrade with an HTTP status (PROTOCOL.md, Close codes). The
 * answer is written here rather than by lws_return_http_status(), which
 * at this stage of an upgrade answers "HTTP/1.0", refused by strict
 * clients.
 */
static int
refuse(struct lws *wsi, unsigned int status, const char *why)
{
	unsigned char buf[LWS_PRE + 256];
	int n;

	rm_stats.connections_refused++;
	n = lws_snprintf((char *)buf + LWS_PRE, sizeof(buf) - LWS_PRE,
			 "HTTP/1.1 %u %s\r\ncontent-type: text/plain\r\n"
			 "content-length: %u\r\nconnection: close\r\n\r\n%s\n",
			 status, why, (unsigned int)strlen(why) + 1, why);
	lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_HTTP_FINAL);
	return -1;
}

int
admission_refuse(struct lws *wsi, unsigned int status, const char *why)
{
	return refuse(wsi, status, why);
}

/*
 * Sockets not yet upgraded, per client address. lws hands each accepted
 * socket to the vhost's protocols[0] (binding_callback_http, on both
 * hosts) before any byte of its request, and a socket that never
 * finishes its request holds an fd, and a header table once bytes come,
 * until lws's timeout. max-connections-per-ip counts WebSocket
 * connections at the upgrade; with it set, an address may also hold that
 * many sockets not yet upgraded (handshakes in flight, plain HTTP
 * requests on the vhost). One more is closed at accept, before it has
 * sent a request to answer 503 to, and counted in refused_per_ip. A
 * socket stops counting here at its upgrade's checks (it is then a
 * connection, or refused with 503) or when lws destroys it.
 */
struct accepted {
	uint64_t wsi; /* the key: the wsi's address */
	struct ipcount_entry *ip;
};

static struct {
	struct ipcount *count;
	struct htable_idmap sockets; /* wsi -> struct accepted */
} accepted;

static int
accepted_ready(void)
{
	if (accepted.count)
		return 1;
	accepted.count = ipcount_create();
	if (!accepted.count)
		return 0;
	if (htable_idmap_init(&accepted.sockets,
			      offsetof(struct accepted, wsi))) {
		ipcount_destroy(accepted.count);
		accepted.count = NULL;
		return 0;
	}
	return 1;
}

int
admission_accepted(struct lws *wsi)
{
	struct vhd__roomcast *vhd = vhost_of(wsi);
	struct accepted *a;
	char addr[64];

	if (!vhd || !vhd->enabled || !vhd->conf.max_connections_per_ip ||
	    !accepted_ready())
		return 0;
	if (!lws_get_peer_simple(wsi, addr, sizeof(addr)))
		addr[0] = '\0';
	if (ipcount_get(accepted.count, addr, vhd->conf.ipv6_prefix_len) >=
	    vhd->conf.max_connections_per_ip) {
		rm_stats.connections_refused++;
		rm_stats.refused_per_ip++;
		/*
		 * lws closes a TLS socket that has not finished its TLS
		 * handshake only after a shutdown wait: end it for the peer
		 * now (the descriptor stays lws's to close)
		 */
		shutdown(lws_get_socket_fd(wsi), SHUT_RDWR);
		return -1;
	}
	a = malloc(sizeof(*a));
	if (!a)
		return 0; /* OOM: not counted, as before */
	a->wsi = (uint64_t)(uintptr_t)wsi;
	a->ip = ipcount_take(accepted.count, addr, vhd->conf.ipv6_prefix_len);
	if (!a->ip || htable_idmap_put(&accepted.sockets, a)) {
		ipcount_put(accepted.count, a->ip);
		free(a);
	}
	return 0;
}

void
admission_unaccepted(struct lws *wsi)
{
	struct accepted *a;

	if (!accepted.count ||
	    !(a = htable_idmap_get(&accepted.sockets,
				   (uint64_t)(uintptr_t)wsi)))
		return;
	htable_idmap_del(&accepted.sockets, a);
	ipcount_put(accepted.count, a->ip);
	free(a);
}

void
admission_stop(void)
{
	size_t i;

	if (!accepted.count)
		return;
	for (i = 0; i < accepted.sockets.cap; i++)
		free(accepted.sockets.slot[i]);
	htable_idmap_fini(&accepted.sockets);
	ipcount_destroy(accepted.count);
	accepted.count = NULL;
}

/*
 * An upgrade, before lws answers it. This reaches us because "roomcast" is
 * the vhost's default protocol (its "default" option), so it is the
 * protocol bound to a new connection's HTTP request.
 */
/* The checks of a WebSocket handshake after its Upgrade token. */
static int
handshake_checks(struct lws *wsi, struct vhd__roomcast *vhd)
{
	char buf[256];

	/* from here it is a connection, or refused */
	admission_unaccepted(wsi);
	if (!vhd || !vhd->enabled)
		return refuse(wsi, 403, "Forbidden");
	/* only roomcast.v1 becomes a WebSocket (binding.c) */
	if (!binding_is_roomcast(wsi))
		return refuse(wsi, 400, "Bad Request");
	/* an Origin too long to copy cannot be an allowed one */
	if (vhd->conf.n_origins &&
	    lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) > 0 &&
	    (lws_hdr_copy(wsi, buf, sizeof(buf), WSI_TOKEN_ORIGIN) < 0 ||
	     !rconf_origin_allowed(&vhd->conf, buf)))
		return refuse(wsi, 403, "Forbidden");
	if (rm_stats.draining ||
	    (vhd->conf.max_connections &&
	     vhd->connections >= vhd->conf.max_connections))
		return refuse(wsi, 503, "Service Unavailable");
	if (vhd->conf.max_connections_per_ip &&
	    ipcount_get(glue_ipcount, lws_get_peer_simple(wsi, buf,
			sizeof(buf)) ? buf : "", vhd->conf.ipv6_prefix_len) >=
	    vhd->conf.max_connections_per_ip) {
		rm_stats.refused_per_ip++;
		return refuse(wsi, 503, "Service Unavailable");
	}
	if (auth_glue_confirm(wsi, vhd))
		return refuse(wsi, 401, "Unauthorized");
	return 0;
}

int
admission_confirm_upgrade(struct lws *wsi, struct vhd__roomcast *vhd,
			  const char *upgrade)
{
	/* HTTP/1.1 only: h2c, the one other token lws lets through, is refused */
	if (strcasecmp(upgrade, "websocket"))
		return refuse(wsi, 400, "Bad Request");
	return handshake_checks(wsi, vhd);
}

/*
 * lws binds a client to the "roomcast" entry when it names no subprotocol,
 * or when the first of its list that we know is "roomcast", which is no
 * subprotocol of ours.
 */
int
admission_filter(struct lws *wsi, struct vhd__roomcast *vhd)
{
	if (!vhd || !vhd->enabled)
		return -1;
	/*
	 * WebSocket over an HTTP/2 stream (RFC 8441) never passed
	 * admission_confirm_upgrade's checks: roomcast is HTTP/1.1 only.
	 */
	if (lws_get_network_wsi(wsi) != wsi)
		return -1;
	if (vhost_is_config_entry(wsi) &&
	    lws_hdr_total_length(wsi, WSI_TOKEN_PROTOCOL) > 0)
		return -1;
	/*
	 * The checks ran at the upgrade (binding_take() in vhost.c admits
	 * only the connection they passed), on "roomcast" or, on lwsws's
	 * "roomcast": {} vhost, on the sealed "http-only" (binding.c).
	 */
	return 0;
}

int
admission_established(struct lws *wsi, struct pss__roomcast *pss,
		      struct vhd__roomcast *vhd)
{
	int64_t now = rm_clock_ms();

	memset(pss, 0, sizeof(*pss));
	pss->last_rx_ms = now;
	pss->client = hub_client_new(glue_hub, &vhd->conf, wsi, now);
	if (!pss->client)
		return -1;
	if (auth_glue_established(wsi, vhd, pss->client)) {
		hub_client_free(glue_hub, pss->client);
		pss->client = NULL;
		return -1;
	}
	if (vhd->conf.max_connections_per_ip) {
		char addr[64];

		pss->ip = ipcount_take(glue_ipcount, lws_get_peer_simple(wsi,
					addr, sizeof(addr)) ? addr : "",
				       vhd->conf.ipv6_prefix_len);
	}
	vhd->connections++;
	sweep_note_opened();
	return 0;
}

void
admission_closed(struct lws *wsi, struct pss__roomcast *pss,
		 struct vhd__roomcast *vhd)
{
	if (!pss->client)
		return;
	wakes_forget(wsi, pss);
	hub_client_free(glue_hub, pss->client);
	pss->client = NULL;
	ipcount_put(glue_ipcount, pss->ip);
	pss->ip = NULL;
	vhd->connections--;
	receive_free(pss);
}
