/*
 * vhost.c: the protocol table lws and lwsws are given, the one callback's
 * dispatch to the files of the glue (glue.h), and each vhost's roomcast
 * state, made at PROTOCOL_INIT from the vhost's options.
 *
 * Built two ways: into the plugin libprotocol_roomcast.so, whose one
 * export `roomcast` lwsws looks up, and statically into roomcast-server
 * (LWS_PLUGIN_STATIC).
 */
#include "glue.h"
#include "cluster.h"

#include "msg.h"
#include "rm_clock.h"
#include "stats.h"
#include "roomcast_lws.h"
#include "status.h"
#include "api_mount.h"

#include <string.h>

int roomcast_init_failed;
static struct lws_vhost *ws_vhost;	/* roomcast_ws_vhost() */

struct lws_vhost *
roomcast_ws_vhost(void)
{
	return ws_vhost;
}

_Static_assert(MSG_HEADROOM + MSG_MAX_FRAME_HDR >= LWS_PRE,
	       "a msg must have LWS_PRE bytes in front of its payload");
_Static_assert(MSG_HEADROOM >= LWS_PRE,
	       "a msg must have LWS_PRE bytes in front of its frame");

/* Once a second per vhost: the messages-per-second sample. */
static void
sample_stats(lws_sorted_usec_list_t *sul)
{
	struct vhd__roomcast *vhd =
		lws_container_of(sul, struct vhd__roomcast, sul_stats);

	stats_sample(rm_clock_ms());
	lws_sul_schedule(vhd->context, 0, &vhd->sul_stats, sample_stats,
			 LWS_US_PER_SEC);
}

/*
 * The vhost's roomcast state, kept by the "roomcast" entry whichever of
 * the two entries (see roomcast_names.h) @wsi is bound to.
 */
struct vhd__roomcast *
vhost_of(struct lws *wsi)
{
	struct lws_vhost *vh = lws_get_vhost(wsi);

	return lws_protocol_vh_priv_get(vh,
		lws_vhost_name_to_protocol(vh, ROOMCAST_CONFIG_NAME));
}

int
vhost_is_config_entry(struct lws *wsi)
{
	return !strcmp(lws_get_protocol(wsi)->name, ROOMCAST_CONFIG_NAME);
}

/* A vhost's roomcast options were bad: see roomcast_config_failed(). */
static int config_failed;

int
roomcast_config_failed(void)
{
	return config_failed;
}

/*
 * Reads the vhost's options into @vhd->conf, then what is built from
 * them: the server API's key (api-key, process-wide, for the status
 * mount) and the vhost's auth keyring. Returns 0, or -1 after logging
 * what was refused.
 */
static int
vhost_configure(struct vhd__roomcast *vhd,
		const struct lws_protocol_vhost_options *pvo)
{
	const char *name = lws_get_vhost_name(vhd->vhost);
	const struct lws_protocol_vhost_options *opts = pvo;
	char err[256];

	for (; pvo; pvo = pvo->next)
		if (rconf_set(&vhd->conf, pvo->name, pvo->value, err,
			      sizeof(err))) {
			lwsl_err("%s: vhost %s: option %s\n", __func__, name,
				 err);
			return -1;
		}
	if (vhd->conf.history_db && vhd->conf.redis_url) {
		lwsl_err("%s: vhost %s: option history-db: not with redis-url "
			 "(clustered, history lives in Redis)\n", __func__,
			 name);
		return -1;
	}
	if (api_mount_configure(&vhd->conf, opts, name))
		return -1;
	return auth_vhost_init(vhd);
}

/*
 * The vhost's options were refused: it refuses every upgrade (403) and
 * roomcast-server stops its start. Not -1 from PROTOCOL_INIT: lws would
 * then initialise no later vhost, leaving their default protocols unset
 * and their upgrades open, and lwsws goes on serving.
 */
static int
vhost_fail_closed(struct vhd__roomcast *vhd)
{
	auth_vhost_destroy(vhd);
	rconf_free(&vhd->conf);
	vhd->enabled = 0;
	config_failed = 1;
	return 0;
}

static int
vhost_on_init(struct lws *wsi, const struct lws_protocol_vhost_options *pvo)
{
	struct lws_vhost *vh = lws_get_vhost(wsi);
	const struct lws_protocols *prot = lws_get_protocol(wsi);
	struct vhd__roomcast *vhd;
	char err[256];

	roomcast_seal_http_only(vh);
	if (!vhost_is_config_entry(wsi))
		return 0;
	vhd = lws_protocol_vh_priv_zalloc(vh, prot, sizeof(*vhd));
	if (!vhd)
		return -1;
	vhd->context = lws_get_context(wsi);
	vhd->vhost = vh;
	vhd->protocol = prot;
	rconf_init(&vhd->conf);
	/*
	 * Only vhosts whose config lists "roomcast" serve it, with no options
	 * too ("roomcast": {}, whose options list is NULL). lwsws enables a
	 * plugin's protocol only on the vhosts that list it, so being here is
	 * being listed; roomcast-server builds the protocol into every vhost,
	 * and server/conf.c gives the listed one "default": "1" if it lacks it.
	 */
#if defined(LWS_PLUGIN_STATIC)
	vhd->enabled = pvo != NULL;
#else
	vhd->enabled = 1;
#endif
	if (vhost_configure(vhd, pvo))
		return vhost_fail_closed(vhd);
	if (glue_hold(vhd->context, &vhd->conf, lws_get_vhost_name(vh), err,
		      sizeof(err))) {
		lwsl_err("%s: vhost %s: %s\n", __func__, lws_get_vhost_name(vh),
			 err);
		return vhost_fail_closed(vhd);
	}
	vhd->held = 1;
	if (vhd->enabled && history_vhost_init(&vhd->conf)) {
		glue_release();
		vhd->held = 0;
		auth_vhost_destroy(vhd);
		rconf_free(&vhd->conf);
		return -1;
	}
	/* cluster hook: join the cluster (PROTOCOL.md, Cluster over Redis) */
	if (vhd->enabled && vhd->conf.redis_url &&
	    cluster_vhost_init(vh, &vhd->conf)) {
		roomcast_init_failed = 1;	/* roomcast-server stops */
		glue_release();
		vhd->held = 0;
		return vhost_fail_closed(vhd);	/* lwsws: upgrades refused */
	}
	wakes_bound(&vhd->conf);
	if (vhd->enabled && !ws_vhost)
		ws_vhost = vh;
	lws_sul_schedule(vhd->context, 0, &vhd->sul_stats, sample_stats,
			 LWS_US_PER_SEC);
	return 0;
}

static void
vhost_on_destroy(struct vhd__roomcast *vhd)
{
	if (!vhd || !vhd->held)
		return;
	lws_sul_cancel(&vhd->sul_stats);
	api_mount_forget(&vhd->conf);
	auth_vhost_destroy(vhd);
	rconf_free(&vhd->conf);
	glue_release();
	vhd->held = 0;
}

int
callback_roomcast(struct lws *wsi, enum lws_callback_reasons reason,
		  void *user, void *in, size_t len)
{
	struct pss__roomcast *pss = user;

	switch (reason) {
	case LWS_CALLBACK_PROTOCOL_INIT:
		return vhost_on_init(wsi, in);
	case LWS_CALLBACK_PROTOCOL_DESTROY:
		if (vhost_is_config_entry(wsi))
			vhost_on_destroy(lws_protocol_vh_priv_get(
				lws_get_vhost(wsi), lws_get_protocol(wsi)));
		break;
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		if (admission_confirm_upgrade(wsi, vhost_of(wsi), in))
			return -1;
		binding_confirmed(wsi);
		return 0;
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		/* no WebSocket of ours skips the upgrade checks (binding.c) */
		if (!binding_take(wsi))
			return -1;
		return admission_filter(wsi, vhost_of(wsi));
	case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
		/* the vhost's default protocol gets each new socket (h1) */
		return admission_accepted(wsi);
	case LWS_CALLBACK_WSI_DESTROY:
		binding_forget(wsi);
		break;
	case LWS_CALLBACK_ESTABLISHED:
		return admission_established(wsi, pss, vhost_of(wsi));
	case LWS_CALLBACK_CLOSED:
		sweep_linger(wsi);
		admission_closed(wsi, pss, vhost_of(wsi));
		break;
	case LWS_CALLBACK_RECEIVE:
		return receive_piece(wsi, pss, in, len);
	case LWS_CALLBACK_RECEIVE_PONG:
		receive_heard(pss);
		break;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		receive_peer_close(in, len);
		break;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return send_writeable(wsi, pss);
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		/* lws's fake broadcast wsi: only its context is ours to use */
		glue_drain_if_deprecated(lws_get_context(wsi));
		break;
	default:
		/* HTTP requests reach the default protocol before mounts */
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
	return 0;
}

/*
 * tx_packet_size: the most lws_issue_raw() hands to one send(); left 0 it
 * falls back to rx_buffer_size, and a batch would leave in 256-byte
 * pieces, one send() each.
 *
 * rx_buffer_size: lws keeps a buffer this big per connection for its
 * whole life, the largest part of an idle connection's memory we control
 * (1024 bytes cost 2.5 KB RSS per idle connection, 256 bytes 1.65 KB);
 * messages larger than it arrive in pieces and are reassembled
 * (receive.c). It is also the most lws reads from a socket per turn of
 * its loop, which is why wakes are held while input waits (wakes.c). 128
 * is the least that holds a whole control frame payload (125 bytes): lws
 * answers a ping cut in two with two pongs. roomcast-server serves a copy
 * that reads up to 4 KB per turn while each buffer stays this size
 * (server/rxread.c); under lwsws it is 128.
 */
#define RM_RX_BUFFER 128

const struct lws_protocols roomcast_protocols[] = {
	{ "http", binding_callback_http, 0, 0, 0, NULL, 0 },
	{ ROOMCAST_CONFIG_NAME, callback_roomcast,
	  sizeof(struct pss__roomcast), RM_RX_BUFFER, 0, NULL, RM_BATCH_MAX },
	{ ROOMCAST_SUBPROTOCOL, callback_roomcast,
	  sizeof(struct pss__roomcast), RM_RX_BUFFER, 0, NULL, RM_BATCH_MAX },
	{ ROOMCAST_STATUS_PROTOCOL_NAME, callback_roomcast_status,
	  ROOMCAST_STATUS_PSS_SIZE, 0, 0, NULL, 0 },
	/* cluster hook: the Redis sockets, adopted as raw descriptors */
	{ CLUSTER_REDIS_PROTOCOL, callback_roomcast_redis, 0, 0, 0, NULL, 0 },
	/* roomcast-server --workers: the shared listener (accept.c) */
	{ ROOMCAST_ACCEPT_PROTOCOL, callback_roomcast_accept, 0, 0, 0, NULL,
	  0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }	/* terminator */
};
const int roomcast_protocols_count =
	sizeof(roomcast_protocols) / sizeof(roomcast_protocols[0]) - 1;

#if !defined(LWS_PLUGIN_STATIC)
/* lwsws brings its own HTTP protocol: export the rest. */
LWS_VISIBLE const lws_plugin_protocol_t roomcast = {
	.hdr = {
		"roomcast",
		"lws_protocol_plugin",
		LWS_PLUGIN_API_MAGIC
	},
	.protocols = &roomcast_protocols[1],
	.count_protocols = 4,
};
#endif
