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
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

struct hub *glue_hub;
struct ipcount *glue_ipcount;
struct lws_context *glue_context;
static unsigned int glue_users;		/* vhosts holding the state */
/* the hub's options, gathered from every vhost (rconf.h, scope) */
static struct rconf_process glue_options;

static const struct hub_ops hub_ops = {
	.wake = wakes_wake,
	.close = send_close,
};

/*
 * getrandom(2) needs no file descriptor (none may be left, or /dev may be
 * missing in a chroot) and blocks only until the kernel's pool is seeded.
 */
static uint64_t
random_instance(void)
{
	uint64_t v = 0;

	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		v = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	return v;
}

int
glue_hold(struct lws_context *context, const struct rconf *conf,
	  const char *vhost, char *err, size_t errlen)
{
	struct rconf_process options;

	if (!glue_users)
		rconf_process_init(&glue_options);
	options = glue_options;
	if (rconf_process_take(&options, conf, vhost, err, errlen))
		return -1;
	if (!glue_users) {
		stats_reset(rm_clock_ms());
		glue_hub = hub_create(&hub_ops, random_instance());
		glue_ipcount = ipcount_create();
		if (!glue_hub || !glue_ipcount) {
			hub_destroy(glue_hub);
			ipcount_destroy(glue_ipcount);
			glue_hub = NULL;
			glue_ipcount = NULL;
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		glue_context = context;
		sweep_start();
	}
	glue_options = options;
	hub_set_options(glue_hub, &glue_options);
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
		history_stop();
		hub_destroy(glue_hub);
		ipcount_destroy(glue_ipcount);
		admission_stop();
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

/*
 * A deprecated context takes no new connections and ends when its last one
 * is gone: roomcast's patched lwsws deprecates its context on SIGTERM,
 * SIGINT and SIGHUP (docs/LWSWS.md) and cancels the service, so every
 * protocol gets EVENT_WAIT_CANCELLED; drain then as roomcast-server does on
 * a signal. The heartbeat tick checks too (an unpatched lwsws deprecates on
 * SIGHUP without cancelling the service).
 */
void
glue_drain_if_deprecated(struct lws_context *cx)
{
	if (!rm_stats.draining && cx && lws_context_is_deprecated(cx))
		roomcast_begin_drain();
}

const struct rconf_process *
glue_process_options(void)
{
	return &glue_options;
}

uint64_t
roomcast_connections_active(void)
{
	return rm_stats.connections_active;
}
