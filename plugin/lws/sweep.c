/*
 * sweep.c: one timer for every connection, each RM_HEARTBEAT_TICK_MS: the
 * heartbeat, and giving freed handshake memory back to the kernel once a
 * burst of connections is over.
 *
 * Our heartbeat policy: a connection silent for ping-interval-s gets a
 * ping; one still silent pong-timeout-s later is closed with 4002. The
 * plugin runs it rather than lws's idle policy because that policy is
 * context-wide (lwsws fixes it at 300/310 s) while these options are
 * per vhost, and because lws's hangup sends no close code.
 *
 * One sweep over every connection rather than a timer per connection:
 * lws keeps timers in one sorted list, so arming one per connection costs
 * O(connections) each, and at 19,000 connections the accept rate fell by
 * half. A sweep costs a few ns per connection and makes each deadline up
 * to one tick late.
 */
#include "glue.h"
#include "cluster.h"

#include "hub_api.h"
#include "hub_auth.h"
#include "rm_clock.h"

#include <errno.h>
#include <malloc.h>
#include <sys/socket.h>
#include <unistd.h>

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

/*
 * Lingering close, for lws on an event library (roomcast-server's libuv
 * loop). On its own poll() loop lws 4.1.6 closes a connection in two
 * steps: shutdown(SHUT_WR) after the close frame, then close() once the
 * peer's EOF is read. On an event library it close()s at once, and a
 * socket closed with unread input (a client still sending the frame that
 * got it closed with 1009) sends a RST that can destroy the close frame
 * before the client reads it. So each closing WebSocket's socket is
 * dup()ed: lws's close() then only drops its descriptor, and the sweep
 * reads and discards input on the duplicate until EOF, an error, or
 * RM_LINGER_MS, then closes it. At most RM_LINGER_MAX at once (beyond
 * that a socket closes at once, as before).
 */
#define RM_LINGER_MAX 4096
#define RM_LINGER_MS 4000

static struct {
	int fd;
	int64_t until;
} lingering[RM_LINGER_MAX];
static unsigned int n_lingering;
int glue_evlib;

static lws_sorted_usec_list_t sul_heartbeat;
static unsigned int opened_since_trim, opened_at_last_tick;

void
sweep_note_opened(void)
{
	opened_since_trim++;
}

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

void
roomcast_set_event_library(int on)
{
	glue_evlib = on;
}

void
sweep_linger(struct lws *wsi)
{
	int fd = lws_get_socket_fd(lws_get_network_wsi(wsi)), d;

	if (!glue_evlib || fd < 0 || n_lingering == RM_LINGER_MAX)
		return;
	d = dup(fd);	/* shares O_NONBLOCK with lws's descriptor */
	if (d < 0)
		return;
	lingering[n_lingering].fd = d;
	lingering[n_lingering++].until = rm_clock_ms() + RM_LINGER_MS;
}

/* Reads what waits; closes the ones at EOF, failed, or past their time. */
static void
linger_sweep(int64_t now, int all)
{
	static char sink[4096];
	unsigned int i = 0;
	ssize_t r;

	while (i < n_lingering) {
		while ((r = recv(lingering[i].fd, sink, sizeof(sink),
				 MSG_DONTWAIT)) > 0)
			;
		if (all || now >= lingering[i].until || r == 0 ||
		    (errno != EAGAIN && errno != EWOULDBLOCK)) {
			close(lingering[i].fd);
			lingering[i] = lingering[--n_lingering];
			continue;
		}
		i++;
	}
}

static void
heartbeat_check(struct lws *wsi, int64_t now)
{
	struct pss__roomcast *pss = lws_wsi_user(wsi);
	const struct rconf *conf = hub_client_conf(pss->client);
	int64_t silent;

	if (pss->close_code || receive_check_deadline(wsi, pss, now))
		return;
	if (!conf->ping_interval_s)
		return;
	if (pss->ping_after_ms) {
		if (now - (pss->last_rx_ms + pss->ping_after_ms) >=
		    (int64_t)conf->pong_timeout_s * 1000)
			send_close(wsi, RM_CLOSE_NO_PONG);
		return;
	}
	silent = now - pss->last_rx_ms;
	if (silent < (int64_t)conf->ping_interval_s * 1000)
		return;
	pss->ping_due = 1;
	/* >= 1000 (the interval is at least 1 s), so never 0 */
	pss->ping_after_ms =
		silent < UINT32_MAX ? (uint32_t)silent : UINT32_MAX;
	lws_callback_on_writable(wsi);
}

static void
heartbeat_tick(lws_sorted_usec_list_t *sul)
{
	int64_t now = rm_clock_ms();
	time_t wall = time(NULL);
	struct client *c;
	size_t pos;

	for (pos = 0; (c = hub_client_walk(glue_hub, &pos));)
		if (!hub_auth_sweep(glue_hub, c, now, wall))
			heartbeat_check(hub_client_owner(c), now);
	auth_poll_keys(wall);
	/* the API's expired idempotency keys, when no publish sweeps them */
	hub_api_sweep(glue_hub, now);
	trim_after_burst();
	linger_sweep(now, 0);
	glue_drain_if_deprecated(glue_context);
	history_tick(now);
	cluster_tick(now);	/* cluster hook: Redis timeouts, refreshes */
	lws_sul_schedule(glue_context, 0, sul, heartbeat_tick,
			 RM_HEARTBEAT_TICK_MS * LWS_US_PER_MS);
}

void
sweep_start(void)
{
	heartbeat_tick(&sul_heartbeat);
}

void
sweep_stop(void)
{
	lws_sul_cancel(&sul_heartbeat);
	linger_sweep(rm_clock_ms(), 1);
}
