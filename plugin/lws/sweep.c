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

#include <malloc.h>

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

static void
heartbeat_check(struct lws *wsi, int64_t now)
{
	struct pss__roomcast *pss = lws_wsi_user(wsi);
	const struct rconf *conf = hub_client_conf(pss->client);

	if (pss->close_code || receive_check_deadline(wsi, pss, now))
		return;
	if (!conf->ping_interval_s)
		return;
	if (pss->ping_sent_ms) {
		if (now - pss->ping_sent_ms >= (int64_t)conf->pong_timeout_s * 1000)
			send_close(wsi, RM_CLOSE_NO_PONG);
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
	int64_t now = rm_clock_ms();
	time_t wall = time(NULL);
	struct client *c;

	for (c = hub_clients(glue_hub); c; c = hub_client_next(c))
		if (!hub_auth_sweep(glue_hub, c, now, wall))
			heartbeat_check(hub_client_owner(c), now);
	auth_poll_keys(wall);
	/* the API's expired idempotency keys, when no publish sweeps them */
	hub_api_sweep(glue_hub, now);
	trim_after_burst();
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
}
