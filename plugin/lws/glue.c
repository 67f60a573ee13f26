/*
 * glue.c: the state every vhost of the process shares: one hub (so a room
 * is the same room on every listener), the per-IP connection counts, and
 * the hub's ops. Created with the first vhost that serves roomcast and
 * freed with the last.
 */
#include "glue.h"
#include "cluster.h"

#include "ipcount.h"
#include "rm_clock.h"
#include "stats.h"
#include "roomcast_lws.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

struct hub *glue_hub;
struct ipcount *glue_ipcount;
struct lws_context *glue_context;
static unsigned int glue_users;		/* vhosts holding the state */

static const struct hub_ops hub_ops = {
	.wake = wakes_wake,
	.close = send_close,
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

int
glue_hold(struct lws_context *context)
{
	if (!glue_users) {
		stats_reset(rm_clock_ms());
		glue_hub = hub_create(&hub_ops, random_instance());
		glue_ipcount = ipcount_create();
		if (!glue_hub || !glue_ipcount) {
			hub_destroy(glue_hub);
			ipcount_destroy(glue_ipcount);
			glue_hub = NULL;
			glue_ipcount = NULL;
			return -1;
		}
		glue_context = context;
		sweep_start();
	}
	glue_users++;
	return 0;
}

void
glue_release(void)
{
	if (glue_users && !--glue_users) {
		sweep_stop();
		wakes_stop();
		cluster_stop();		/* cluster hook */
		hub_destroy(glue_hub);
		ipcount_destroy(glue_ipcount);
		glue_hub = NULL;
		glue_ipcount = NULL;
	}
}

void
roomcast_begin_drain(void)
{
	rm_stats.draining = 1;
	if (glue_hub)
		hub_close_all(glue_hub, LWS_CLOSE_STATUS_GOINGAWAY);
}

uint64_t
roomcast_connections_active(void)
{
	return rm_stats.connections_active;
}
