/*
 * history.c: the glue's side of history: the hub takes the process-wide
 * history options from the first vhost serving roomcast, opens and loads
 * `history-db` there (a bad file stops the start), polls the store and
 * frees expired kept rooms from the sweep, logs a failing disk once per
 * episode, and closes the store cleanly with the last vhost.
 *
 * The loop never waits for the disk: the store's writer thread does the
 * SQL, and what it finished comes back on the next sweep tick (or every
 * few hundred broadcasts, hub_history.c).
 */
#include "glue.h"

#include "hub_history.h"
#include "msg.h"
#include "stats.h"
#include "store.h"

#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <string.h>

static struct store *store;
static int configured;
static struct store_stats seen;		/* at the last tick, for the log */
static int dropping;			/* the queue was full last tick */

static int start_failed;

int
roomcast_start_failed(void)
{
	return start_failed;
}

/*
 * lws goes on when a protocol's PROTOCOL_INIT fails, so the start is
 * stopped here: roomcast-server asks roomcast_start_failed() once its
 * vhosts exist; inside lwsws, which has no such question, the worker
 * exits (its one-line reason already logged).
 */
static int
fail_start(void)
{
	start_failed = 1;
#if !defined(LWS_PLUGIN_STATIC)
	fflush(stderr);
	_exit(1);
#endif
	return -1;
}

static void
release(void *token)
{
	msg_unref(token);
}

int
history_vhost_init(const struct rconf *conf)
{
	char err[512];

	/*
	 * The history options are process-wide: the hub took the values
	 * every vhost agreed on (glue_hold, rconf.h scopes). history-db is
	 * opened once, by the first vhost that names it.
	 */
	if (configured)
		return 0;
	if (!conf->history_db)
		return 0;
	configured = 1;
	if (!conf->history_size) {
		lwsl_err("history-db %s: history-size is 0, so nothing would "
			 "be kept; set history-size\n", conf->history_db);
		return fail_start();
	}
	/*
	 * A file-size limit (RLIMIT_FSIZE) must cost history, not the
	 * process: ignored, SIGXFSZ turns into a failed write (EFBIG).
	 */
	signal(SIGXFSZ, SIG_IGN);
	store = store_open(conf->history_db, NULL, err, sizeof(err));
	if (!store) {
		lwsl_err("%s\n", err);
		return fail_start();
	}
	if (hub_history_attach_store(glue_hub, store, err, sizeof(err))) {
		lwsl_err("%s\n", err);
		store_close(store, release);
		store = NULL;
		return fail_start();
	}
	memset(&seen, 0, sizeof(seen));
	rm_stats.history_db_on = 1;
	lwsl_user("history-db %s: open\n", conf->history_db);
	return 0;
}

/* Logs a failing disk once per episode, and its end; copies counters. */
static void
watch_store(void)
{
	struct store_stats st;

	store_get_stats(store, &st);
	if (st.error_episodes > seen.error_episodes)
		lwsl_err("history-db: writes fail (%s): broadcasts are "
			 "delivered but not kept on disk\n",
			 store_strerror(st.last_error));
	else if (seen.state == STORE_ERROR && st.state == STORE_OK)
		lwsl_user("history-db: writes succeed again\n");
	/* an episode: ticks in a row in which messages were not queued */
	if (st.queue_drops > seen.queue_drops && !dropping)
		lwsl_warn("history-db: the disk is behind: broadcasts are "
			  "delivered but not kept on disk\n");
	dropping = st.queue_drops > seen.queue_drops;
	rm_stats.history_db_error = st.state == STORE_ERROR;
	rm_stats.history_db_last_error = st.last_error ?
		store_strerror(st.last_error) : "";
	rm_stats.history_db_rows_written = st.rows_written;
	rm_stats.history_db_write_failures = st.write_failures;
	rm_stats.history_db_rows_failed = st.rows_failed;
	rm_stats.history_db_queue_drops = st.queue_drops;
	seen = st;
}

void
history_tick(int64_t now_ms)
{
	if (!glue_hub)
		return;
	hub_history_tick(glue_hub, now_ms);
	if (store)
		watch_store();
}

void
history_stop(void)
{
	if (glue_hub)
		hub_history_close_store(glue_hub);	/* closes the store */
	store = NULL;
	configured = 0;
	rm_stats.history_db_on = 0;
}
