/*
 * protocol_roomcast.c: the libwebsockets glue of roomcast.v1.
 *
 * The only file of the protocol that knows lws. It turns lws callbacks
 * into hub calls (plugin/core/hub.h) and drains each connection's send
 * ring from SERVER_WRITEABLE. Built two ways from this one source: as the
 * plugin libprotocol_roomcast.so, whose one export `roomcast` lwsws looks
 * up, and statically into roomcast-server (LWS_PLUGIN_STATIC).
 *
 * Everything runs on the lws service thread (LWS_MAX_SMP is 1 here).
 */
#if !defined(LWS_PLUGIN_STATIC)
#define LWS_DLL
#define LWS_INTERNAL
#endif
#include <libwebsockets.h>

#include "hub.h"
#include "ipcount.h"
#include "msg.h"
#include "rm_err.h"
#include "stats.h"
#include "roomcast_lws.h"
#include "status.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

_Static_assert(MSG_HEADROOM + MSG_MAX_FRAME_HDR >= LWS_PRE,
	       "a msg must have LWS_PRE bytes in front of its payload");
_Static_assert(MSG_HEADROOM >= LWS_PRE,
	       "a msg must have LWS_PRE bytes in front of its frame");

/*
 * Several queued frames leave in one write of up to this many bytes:
 * on loopback a send() costs about the same for 60 bytes as for 60 KB.
 */
#define RM_BATCH_MAX (64 * 1024)
/* A close that cannot be written (peer not reading) is forced after this. */
#define RM_CLOSE_GRACE_S 2
/* A reassembly buffer larger than this is freed after its message. */
#define RM_RX_KEEP 4096

struct vhd__roomcast;

/*
 * Kept small: lws allocates one per connection, idle ones included (see
 * docs/PERFORMANCE.md, idle). The hub's owner of a client is its wsi.
 */
struct pss__roomcast {
	struct client *client;		/* NULL outside ESTABLISHED..CLOSED */
	unsigned char *rx;		/* fragments of the current message */
	int64_t last_rx_ms;		/* anything heard from the peer */
	int64_t ping_sent_ms;		/* 0: no ping outstanding */
	struct ipcount_entry *ip;	/* counted for max-connections-per-ip */
	uint32_t rx_len, rx_cap;	/* max-message-size is below 4 GB */
	uint16_t close_code;		/* close with this at next writeable */
	uint8_t rx_binary : 1;
	uint8_t ping_due : 1;
	uint8_t wake_held : 1;		/* in held_wakes.wsi */
};

struct vhd__roomcast {
	struct lws_context *context;
	struct lws_vhost *vhost;
	lws_sorted_usec_list_t sul_stats;	/* the once-a-second sample */
	const struct lws_protocols *protocol;
	struct rconf conf;
	int enabled;			/* the vhost lists roomcast.v1 */
	unsigned int connections;	/* upgraded, on this vhost */
};

/* One hub and one write buffer for the whole process (see hub.h). */
static struct hub *hub;
static struct ipcount *ipcount;
static unsigned int hub_users;
static struct lws_context *service_context;	/* the one lws context */
static lws_sorted_usec_list_t sul_heartbeat;
static unsigned int opened_since_trim, opened_at_last_tick; /* see trim_after_burst */
static unsigned char batch[LWS_PRE + RM_BATCH_MAX];

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*---- hub callbacks ----*/

/*
 * Input first, then output. lws reads at most rx_buffer_size bytes from a
 * socket per turn of its loop, so a publisher's burst arrives one or two
 * messages per turn; asking for every member's WRITEABLE at once would
 * send each member those few frames per send(), and a send() costs the
 * same for one frame as for sixty. So while the sender's socket still has
 * bytes waiting (FIONREAD), the members it woke are held here and their
 * WRITEABLE is asked for once its input is drained: each member's batch
 * then carries the whole burst. Held for at most RM_WAKE_HOLD_US, and
 * for at most a quarter of the smallest send ring (in messages and in
 * bytes): a member that keeps up then holds at most that quarter, plus
 * the rest of one read, plus the next read, so holding does not make its
 * ring overflow. A turn of the loop polls every socket, so reading a
 * 64-message burst 128 bytes at a time takes a few ms with 1000
 * connections: 1 ms measured 0.8M deliveries/s in the fan-out benchmark,
 * 4 ms 2.1-3.3M (docs/PERFORMANCE.md). Only a sender that keeps sending
 * is held that long; a lone message leaves at once.
 */
#define RM_WAKE_HOLD_US 4000

static struct {
	struct lws **wsi;		/* whose WRITEABLE is held; NULL: gone */
	unsigned int count, cap;
	lws_sorted_usec_list_t sul;	/* releases them after the hold */
	int receiving;			/* inside a RECEIVE callback */
	unsigned int msgs;		/* pieces received while holding */
	size_t bytes;
	unsigned int max_msgs;		/* a quarter of the smallest ring */
	size_t max_bytes;
} held_wakes = { .max_msgs = ~0u, .max_bytes = ~(size_t)0 };

static void
release_wakes(void)
{
	unsigned int i;

	for (i = 0; i < held_wakes.count; i++) {
		struct lws *wsi = held_wakes.wsi[i];

		if (!wsi)
			continue;
		((struct pss__roomcast *)lws_wsi_user(wsi))->wake_held = 0;
		lws_callback_on_writable(wsi);
	}
	held_wakes.count = 0;
	held_wakes.msgs = 0;
	held_wakes.bytes = 0;
	lws_sul_cancel(&held_wakes.sul);
}

static void
release_wakes_timer(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	release_wakes();
}

/*
 * Bytes from @wsi that lws has not read yet: in the kernel, or already
 * decrypted by OpenSSL (lws reads those in the same turn of its loop).
 */
static int
input_waiting(struct lws *wsi)
{
	struct lws *nwsi = lws_get_network_wsi(wsi);
	int n = 0;

	if (lws_is_ssl(nwsi) && SSL_pending(lws_get_ssl(nwsi)) > 0)
		return 1;
	return ioctl(lws_get_socket_fd(nwsi), FIONREAD, &n) == 0 && n > 0;
}

/* After a RECEIVE piece of @len bytes from @wsi: hold or release. */
static void
after_receive(struct lws *wsi, size_t len)
{
	if (!held_wakes.count)
		return;
	held_wakes.msgs++;
	held_wakes.bytes += len;
	if (held_wakes.msgs >= held_wakes.max_msgs ||
	    held_wakes.bytes >= held_wakes.max_bytes || !input_waiting(wsi)) {
		release_wakes();
		return;
	}
	if (!lws_dll2_is_detached(&held_wakes.sul.list))
		return;
	lws_sul_schedule(service_context, 0, &held_wakes.sul,
			 release_wakes_timer, RM_WAKE_HOLD_US);
}

/* Stops holding @wsi's wake: it is closing. */
static void
forget_wake(struct lws *wsi, struct pss__roomcast *pss)
{
	unsigned int i;

	if (!pss->wake_held)
		return;
	pss->wake_held = 0;
	for (i = 0; i < held_wakes.count; i++)
		if (held_wakes.wsi[i] == wsi)
			held_wakes.wsi[i] = NULL;
}

static void
ops_wake(void *owner)
{
	struct lws *wsi = owner;
	struct pss__roomcast *pss = lws_wsi_user(wsi);

	if (pss->wake_held)
		return;		/* asked for when the hold ends */
	if (!held_wakes.receiving) {
		lws_callback_on_writable(wsi);
		return;
	}
	if (held_wakes.count == held_wakes.cap) {
		unsigned int cap = held_wakes.cap ? held_wakes.cap * 2 : 64;
		struct lws **p = realloc(held_wakes.wsi, cap * sizeof(*p));

		if (!p) {
			lws_callback_on_writable(wsi);	/* just not batched */
			return;
		}
		held_wakes.wsi = p;
		held_wakes.cap = cap;
	}
	held_wakes.wsi[held_wakes.count++] = wsi;
	pss->wake_held = 1;
}

/*
 * Closes are asked for from inside other connections' callbacks (a
 * broadcast meets a full ring), where this wsi cannot be closed: its next
 * WRITEABLE sends the close frame. A peer that never reads never becomes
 * writeable, so a timeout closes the socket without one.
 */
static void
ops_close(void *owner, int code)
{
	struct lws *wsi = owner;
	struct pss__roomcast *pss = lws_wsi_user(wsi);

	if (pss->close_code)
		return;
	pss->close_code = (uint16_t)code;
	if (pss->client)
		pss->client->closing = 1;	/* queue nothing more to it */
	lws_callback_on_writable(wsi);
	lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, RM_CLOSE_GRACE_S);
}

static const struct hub_ops hub_ops = {
	.wake = ops_wake,
	.close = ops_close,
};

static uint64_t
random_instance(void)
{
	uint64_t v = 0;
	FILE *f = fopen("/dev/urandom", "rb");

	if (!f || fread(&v, sizeof(v), 1, f) != 1)
		v = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	if (f)
		fclose(f);
	return v;
}

static void heartbeat_tick(lws_sorted_usec_list_t *sul);

static int
hub_hold(struct lws_context *context)
{
	if (!hub_users) {
		stats_reset(now_ms());
		hub = hub_create(&hub_ops, random_instance());
		ipcount = ipcount_create();
		if (!hub || !ipcount) {
			hub_destroy(hub);
			ipcount_destroy(ipcount);
			hub = NULL;
			ipcount = NULL;
			return -1;
		}
		service_context = context;
		heartbeat_tick(&sul_heartbeat);
	}
	hub_users++;
	return 0;
}

static void
hub_release(void)
{
	if (hub_users && !--hub_users) {
		lws_sul_cancel(&sul_heartbeat);
		lws_sul_cancel(&held_wakes.sul);
		free(held_wakes.wsi);
		held_wakes.wsi = NULL;
		held_wakes.count = held_wakes.cap = 0;
		hub_destroy(hub);
		ipcount_destroy(ipcount);
		hub = NULL;
		ipcount = NULL;
	}
}

void
roomcast_begin_drain(void)
{
	rm_stats.draining = 1;
	if (hub)
		hub_close_all(hub, LWS_CLOSE_STATUS_GOINGAWAY);
}

uint64_t
roomcast_connections_active(void)
{
	return rm_stats.connections_active;
}

/*---- vhost life ----*/

/* Once a second per vhost: the messages-per-second sample. */
static void
sample_stats(lws_sorted_usec_list_t *sul)
{
	struct vhd__roomcast *vhd =
		lws_container_of(sul, struct vhd__roomcast, sul_stats);

	stats_sample(now_ms());
	lws_sul_schedule(vhd->context, 0, &vhd->sul_stats, sample_stats,
			 LWS_US_PER_SEC);
}

/*
 * The vhost's roomcast state, kept by the "roomcast" entry whichever of
 * the two entries (see roomcast_lws.h) @wsi is bound to.
 */
static struct vhd__roomcast *
vhd_of(struct lws *wsi)
{
	struct lws_vhost *vh = lws_get_vhost(wsi);

	return lws_protocol_vh_priv_get(vh,
		lws_vhost_name_to_protocol(vh, ROOMCAST_CONFIG_NAME));
}

static int
is_config_entry(struct lws *wsi)
{
	return !strcmp(lws_get_protocol(wsi)->name, ROOMCAST_CONFIG_NAME);
}

static int
ws_on_protocol_init(struct lws *wsi, const struct lws_protocol_vhost_options *pvo)
{
	struct lws_vhost *vh = lws_get_vhost(wsi);
	const struct lws_protocols *prot = lws_get_protocol(wsi);
	struct vhd__roomcast *vhd;
	unsigned int quarter;
	char err[160];

	if (!is_config_entry(wsi))
		return 0;
	vhd = lws_protocol_vh_priv_zalloc(vh, prot, sizeof(*vhd));
	if (!vhd)
		return -1;
	vhd->context = lws_get_context(wsi);
	vhd->vhost = vh;
	vhd->protocol = prot;
	rconf_init(&vhd->conf);
	/* Only vhosts whose config lists roomcast.v1 serve it. */
	vhd->enabled = pvo != NULL;
	for (; pvo; pvo = pvo->next)
		if (rconf_set(&vhd->conf, pvo->name, pvo->value, err,
			      sizeof(err))) {
			lwsl_err("%s: vhost %s: option %s\n", __func__,
				 lws_get_vhost_name(vh), err);
			rconf_free(&vhd->conf);
			return -1;
		}
	if (hub_hold(vhd->context))
		return -1;
	quarter = vhd->conf.send_ring_size / 4 ? vhd->conf.send_ring_size / 4 : 1;
	if (quarter < held_wakes.max_msgs)
		held_wakes.max_msgs = quarter;
	if (vhd->conf.send_ring_bytes / 4 < held_wakes.max_bytes)
		held_wakes.max_bytes = vhd->conf.send_ring_bytes / 4;
	lws_sul_schedule(vhd->context, 0, &vhd->sul_stats, sample_stats,
			 LWS_US_PER_SEC);
	return 0;
}

static void
ws_on_protocol_destroy(struct vhd__roomcast *vhd)
{
	if (!vhd)
		return;
	lws_sul_cancel(&vhd->sul_stats);
	rconf_free(&vhd->conf);
	hub_release();
}

/*---- handshake ----*/

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

/* Returns 1 if the comma-separated @list names roomcast.v1. */
static int
names_our_protocol(const char *list)
{
	const char *p = list;
	size_t n = strlen(ROOMCAST_SUBPROTOCOL);

	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!strncmp(p, ROOMCAST_SUBPROTOCOL, n) &&
		    (!p[n] || p[n] == ',' || p[n] == ' ' || p[n] == '\t'))
			return 1;
		while (*p && *p != ',')
			p++;
	}
	return 0;
}

/*
 * An upgrade, before lws answers it. This reaches us because "roomcast" is
 * the vhost's default protocol (its "default" option), so it is the
 * protocol bound to a new connection's HTTP request.
 */
static int
ws_on_confirm_upgrade(struct lws *wsi, struct vhd__roomcast *vhd,
		      const char *upgrade)
{
	char buf[256];

	if (strcasecmp(upgrade, "websocket"))
		return 0;
	if (!vhd || !vhd->enabled)
		return refuse(wsi, 403, "Forbidden");
	if (lws_hdr_total_length(wsi, WSI_TOKEN_PROTOCOL) > 0 &&
	    (lws_hdr_copy(wsi, buf, sizeof(buf), WSI_TOKEN_PROTOCOL) < 0 ||
	     !names_our_protocol(buf)))
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
	    ipcount_get(ipcount, lws_get_peer_simple(wsi, buf, sizeof(buf)) ?
			buf : "", vhd->conf.ipv6_prefix_len) >=
	    vhd->conf.max_connections_per_ip) {
		rm_stats.refused_per_ip++;
		return refuse(wsi, 503, "Service Unavailable");
	}
	return 0;
}

/*
 * lws binds a client to the "roomcast" entry when it names no subprotocol,
 * or when the first of its list that we know is "roomcast", which is no
 * subprotocol of ours.
 */
static int
ws_on_filter(struct lws *wsi, struct vhd__roomcast *vhd)
{
	if (!vhd || !vhd->enabled)
		return -1;
	if (is_config_entry(wsi) &&
	    lws_hdr_total_length(wsi, WSI_TOKEN_PROTOCOL) > 0)
		return -1;
	return 0;
}

/*---- connection life ----*/

static int
ws_on_established(struct lws *wsi, struct pss__roomcast *pss,
		  struct vhd__roomcast *vhd)
{
	int64_t now = now_ms();

	memset(pss, 0, sizeof(*pss));
	pss->last_rx_ms = now;
	pss->client = hub_client_new(hub, &vhd->conf, wsi, now);
	if (!pss->client)
		return -1;
	if (vhd->conf.max_connections_per_ip) {
		char addr[64];

		pss->ip = ipcount_take(ipcount, lws_get_peer_simple(wsi, addr,
					sizeof(addr)) ? addr : "",
				       vhd->conf.ipv6_prefix_len);
	}
	vhd->connections++;
	opened_since_trim++;
	return 0;
}

static void
ws_on_closed(struct lws *wsi, struct pss__roomcast *pss,
	     struct vhd__roomcast *vhd)
{
	if (!pss->client)
		return;
	forget_wake(wsi, pss);
	hub_client_free(hub, pss->client);
	pss->client = NULL;
	ipcount_put(ipcount, pss->ip);
	pss->ip = NULL;
	vhd->connections--;
	free(pss->rx);
	pss->rx = NULL;
}

/* The close frame's reason text for each code the server closes with. */
static const char *
close_reason(int code)
{
	switch (code) {
	case LWS_CLOSE_STATUS_GOINGAWAY:
		return "server shutting down";
	case LWS_CLOSE_STATUS_INVALID_PAYLOAD:
		return "invalid UTF-8";
	case LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE:
		return "message too big";
	case HUB_CLOSE_SLOW_CONSUMER:
		return "slow consumer";
	case 4002:
		return "no pong";
	default:
		return "internal error";
	}
}

/*
 * Closes this wsi now, from its own WRITEABLE callback, with @code. Every
 * close goes through WRITEABLE (ops_close): lws calls it only once its
 * own unsent output has left, and a -1 returned while output is pending
 * makes lws 4.1.6 drop the socket without the close frame.
 */
static int
close_with(struct lws *wsi, int code, const char *reason)
{
	lws_close_reason(wsi, (enum lws_close_status)code,
			 (unsigned char *)reason, strlen(reason));
	return -1;
}

/*
 * Our heartbeat policy: a connection silent for ping-interval-s gets a
 * ping; one still silent pong-timeout-s later is closed with 4002. The
 * plugin runs it rather than lws's idle policy because that policy is
 * context-wide (lwsws fixes it at 300/310 s) while these options are
 * per vhost, and because lws's hangup sends no close code.
 *
 * One sweep over every connection each RM_HEARTBEAT_TICK_MS rather than a
 * timer per connection: lws keeps timers in one sorted list, so arming
 * one per connection costs O(connections) each, and at 19,000 connections
 * the accept rate fell by half. A sweep costs a few ns per connection and
 * makes each deadline up to one tick late.
 */
#define RM_HEARTBEAT_TICK_MS 500

/*
 * Each handshake in flight holds a ~4.5 KB lws header table, freed once
 * the connection is upgraded. After a burst of handshakes those freed
 * tables sit between live connections and stay in RSS (1,618 instead of
 * 1,491 bytes per idle connection after 19,000 connections opened 1000 at
 * a time), so once the burst is over (a tick with no new connection) the
 * free pages go back to the kernel.
 */
#define RM_TRIM_AFTER 64	/* connections since the last trim */

static void
trim_after_burst(void)
{
	if (opened_since_trim >= RM_TRIM_AFTER &&
	    opened_since_trim == opened_at_last_tick) {
		malloc_trim(0);
		opened_since_trim = 0;
	}
	opened_at_last_tick = opened_since_trim;
}

static void
heartbeat_check(struct lws *wsi, int64_t now)
{
	struct pss__roomcast *pss = lws_wsi_user(wsi);
	const struct rconf *conf = pss->client->conf;

	if (!conf->ping_interval_s || pss->close_code)
		return;
	if (pss->ping_sent_ms) {
		if (now - pss->ping_sent_ms >= (int64_t)conf->pong_timeout_s * 1000)
			ops_close(wsi, 4002);
		return;
	}
	if (now - pss->last_rx_ms < (int64_t)conf->ping_interval_s * 1000)
		return;
	pss->ping_due = 1;
	pss->ping_sent_ms = now;
	lws_callback_on_writable(wsi);
}

static void
heartbeat_tick(lws_sorted_usec_list_t *sul)
{
	int64_t now = now_ms();
	struct client *c;

	for (c = hub_clients(hub); c; c = c->next)
		heartbeat_check(c->owner, now);
	trim_after_burst();
	lws_sul_schedule(service_context, 0, sul, heartbeat_tick,
			 RM_HEARTBEAT_TICK_MS * LWS_US_PER_MS);
}

static void
heard_from_peer(struct pss__roomcast *pss)
{
	pss->last_rx_ms = now_ms();
	pss->ping_sent_ms = 0;
}

/*---- receiving ----*/

static int
rx_append(struct pss__roomcast *pss, const void *in, size_t len)
{
	if (pss->rx_len + len > pss->rx_cap) {
		size_t cap = pss->rx_cap ? pss->rx_cap : 1024;
		unsigned char *p;

		while (cap < pss->rx_len + len)
			cap *= 2;
		p = realloc(pss->rx, cap);
		if (!p)
			return RM_E_NOMEM;
		pss->rx = p;
		pss->rx_cap = (uint32_t)cap;
	}
	memcpy(pss->rx + pss->rx_len, in, len);
	pss->rx_len += (uint32_t)len;
	return RM_OK;
}

/* A whole message is here: hand it to the hub. */
static int
rx_complete(struct lws *wsi, struct pss__roomcast *pss, const char *text,
	    size_t len)
{
	int code = 0;

	if (pss->rx_binary)
		hub_on_binary(hub, pss->client);
	else
		code = hub_on_text(hub, pss->client, text, len, now_ms());
	pss->rx_len = 0;
	if (pss->rx_cap > RM_RX_KEEP) {
		free(pss->rx);
		pss->rx = NULL;
		pss->rx_cap = 0;
	}
	if (code == HUB_CLOSE_INVALID_UTF8)
		ops_close(wsi, LWS_CLOSE_STATUS_INVALID_PAYLOAD);
	return 0;
}

/*
 * lws hands us a message in pieces (frames, and frames larger than its rx
 * buffer in several calls). A message that is whole in one piece is
 * handled in place; others are reassembled up to max-message-size.
 * Binary messages are only measured, never kept.
 */
static int
ws_on_receive(struct lws *wsi, struct pss__roomcast *pss, const void *in,
	      size_t len)
{
	const struct rconf *conf;
	int final = lws_is_final_fragment(wsi);

	if (!pss->client || pss->close_code)
		return 0;
	conf = pss->client->conf;
	heard_from_peer(pss);
	if (lws_is_first_fragment(wsi) && !pss->rx_len) {
		rm_stats.messages_received++;
		pss->rx_binary = lws_frame_is_binary(wsi);
	}
	rm_stats.bytes_received += len;
	if (pss->rx_len + len > conf->max_message_size) {
		ops_close(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE);
		return 0;
	}
	if (pss->rx_binary) {
		pss->rx_len += (uint32_t)len;
		return final ? rx_complete(wsi, pss, NULL, 0) : 0;
	}
	if (final && !pss->rx_len) {
		/* lws's rx buffer ends in a spare byte; the text needs none */
		return rx_complete(wsi, pss, in, len);
	}
	if (rx_append(pss, in, len)) {
		ops_close(wsi, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION);
		return 0;
	}
	return final ? rx_complete(wsi, pss, (const char *)pss->rx,
				   pss->rx_len) : 0;
}

/*
 * lws answers a client's close by echoing its payload. A close reason
 * that is not UTF-8 must fail the connection with 1007 (RFC 6455 8.1)
 * instead: the payload is rewritten in place, in the buffer lws echoes.
 */
static void
ws_on_peer_close(void *in, size_t len)
{
	static const char why[] = "invalid UTF-8 in close reason";
	unsigned char *p = in;

	if (len <= 2 || codec_utf8_valid(p + 2, len - 2))
		return;
	p[0] = LWS_CLOSE_STATUS_INVALID_PAYLOAD >> 8;
	p[1] = LWS_CLOSE_STATUS_INVALID_PAYLOAD & 0xff;
	memset(p + 2, ' ', len - 2);
	memcpy(p + 2, why, len - 2 < sizeof(why) - 1 ? len - 2 : sizeof(why) - 1);
}

/*---- sending ----*/

/*
 * Copies as many whole queued frames as fit into the batch buffer and
 * sends them in one write: each is still its own WebSocket message (lws
 * writes RAW bytes as they are and finishes a short write itself before
 * the next WRITEABLE). A frame larger than the batch goes out alone,
 * straight from its msg.
 */
static int
write_batch(struct lws *wsi, struct client *c)
{
	size_t used = 0, fl;
	unsigned int n = 0;
	struct msg *m;

	while (n < c->q.count) {
		m = sendq_peek(&c->q, n);
		fl = msg_frame_len(m);
		if (used + fl > RM_BATCH_MAX)
			break;
		memcpy(batch + LWS_PRE + used, msg_frame(m), fl);
		used += fl;
		n++;
	}
	if (!n) {
		m = sendq_peek(&c->q, 0);
		fl = msg_frame_len(m);
		if (lws_write(wsi, (unsigned char *)msg_frame(m), fl,
			      LWS_WRITE_RAW) < (int)fl)
			return -1;
		hub_written(hub, c, 1, fl);
		return 0;
	}
	if (lws_write(wsi, batch + LWS_PRE, used, LWS_WRITE_RAW) < (int)used)
		return -1;
	hub_written(hub, c, n, used);
	return 0;
}

/*
 * WebSocket carried in an HTTP/2 stream needs lws to frame each message:
 * one per WRITEABLE.
 */
static int
write_one_framed(struct lws *wsi, struct client *c)
{
	struct msg *m = sendq_peek(&c->q, 0);

	if (lws_write(wsi, (unsigned char *)msg_text(m), m->payload_len,
		      LWS_WRITE_TEXT) < (int)m->payload_len)
		return -1;
	hub_written(hub, c, 1, msg_frame_len(m));
	return 0;
}

static int
ws_on_writeable(struct lws *wsi, struct pss__roomcast *pss)
{
	struct client *c = pss->client;
	unsigned char ping[LWS_PRE + 4] = { [LWS_PRE] = 'r', 'c', 'h', 'b' };

	if (!c)
		return 0;
	if (pss->close_code)
		return close_with(wsi, pss->close_code,
				  close_reason(pss->close_code));
	if (pss->ping_due) {
		/* control frames go ahead of everything queued */
		pss->ping_due = 0;
		/*
		 * lws 4.1.6 does not call back RECEIVE_PONG for an empty pong,
		 * and a pong echoes its ping's payload: so the ping has one.
		 */
		if (lws_write(wsi, ping + LWS_PRE, 4, LWS_WRITE_PING) < 0)
			return -1;
		if (c->q.count)
			lws_callback_on_writable(wsi);
		return 0;
	}
	if (!c->q.count)
		return 0;
	if ((lws_get_network_wsi(wsi) != wsi ? write_one_framed(wsi, c)
					      : write_batch(wsi, c)))
		return -1;
	if (c->q.count)
		lws_callback_on_writable(wsi);
	return 0;
}

/*---- the callback ----*/

int
callback_roomcast(struct lws *wsi, enum lws_callback_reasons reason,
		  void *user, void *in, size_t len)
{
	struct pss__roomcast *pss = user;

	switch (reason) {
	case LWS_CALLBACK_PROTOCOL_INIT:
		return ws_on_protocol_init(wsi, in);
	case LWS_CALLBACK_PROTOCOL_DESTROY:
		if (is_config_entry(wsi))
			ws_on_protocol_destroy(lws_protocol_vh_priv_get(
				lws_get_vhost(wsi), lws_get_protocol(wsi)));
		break;
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		return ws_on_confirm_upgrade(wsi, vhd_of(wsi), in);
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return ws_on_filter(wsi, vhd_of(wsi));
	case LWS_CALLBACK_ESTABLISHED:
		return ws_on_established(wsi, pss, vhd_of(wsi));
	case LWS_CALLBACK_CLOSED:
		ws_on_closed(wsi, pss, vhd_of(wsi));
		break;
	case LWS_CALLBACK_RECEIVE: {
		int r;

		held_wakes.receiving = 1;
		r = ws_on_receive(wsi, pss, in, len);
		held_wakes.receiving = 0;
		after_receive(wsi, len);
		return r;
	}
	case LWS_CALLBACK_RECEIVE_PONG:
		heard_from_peer(pss);
		break;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		ws_on_peer_close(in, len);
		break;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return ws_on_writeable(wsi, pss);
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
 * messages larger than it arrive in pieces and are reassembled above.
 * It is also the most lws reads from a socket per turn of its loop,
 * which is why wakes are held while input waits (held_wakes). 128 is the
 * least that holds a whole control frame payload (125 bytes): lws
 * answers a ping cut in two with two pongs.
 */
#define RM_RX_BUFFER 128

const struct lws_protocols roomcast_protocols[] = {
	{ "http", lws_callback_http_dummy, 0, 0, 0, NULL, 0 },
	{ ROOMCAST_CONFIG_NAME, callback_roomcast,
	  sizeof(struct pss__roomcast), RM_RX_BUFFER, 0, NULL, RM_BATCH_MAX },
	{ ROOMCAST_SUBPROTOCOL, callback_roomcast,
	  sizeof(struct pss__roomcast), RM_RX_BUFFER, 0, NULL, RM_BATCH_MAX },
	{ ROOMCAST_STATUS_PROTOCOL_NAME, callback_roomcast_status,
	  ROOMCAST_STATUS_PSS_SIZE, 0, 0, NULL, 0 },
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
	.count_protocols = 3,
};
#endif
