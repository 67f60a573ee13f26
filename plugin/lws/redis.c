/*
 * redis.c: hiredis 0.14's async API inside the lws event loop (see
 * cluster.h). No thread, no second poll loop.
 *
 * Each connection's socket is adopted into lws with LWS_ADOPT_RAW_FILE_DESC
 * under the raw protocol CLUSTER_REDIS_PROTOCOL: lws only reports that it
 * is readable (RAW_RX_FILE: hiredis reads) or writable (RAW_WRITEABLE_FILE:
 * hiredis writes). hiredis's event hooks map onto lws: addWrite asks for
 * one WRITEABLE (lws clears POLLOUT after it, and hiredis asks again while
 * it has output), addRead and delWrite need nothing (lws polls for input
 * all the time; POLLOUT is one-shot), delRead is never called by 0.14.
 *
 * One owner closes the descriptor: lws. hiredis's cleanup hook (run just
 * before redisFree(), which would close it) sets the context's fd to -1,
 * as h2o does, and asks lws to close the adopted wsi; when lws closes the
 * wsi first (a hang-up), the context is freed with its fd already -1.
 *
 * hiredis 0.14 has no timers, so the timeouts are ours, checked on each
 * sweep tick: a connect or handshake not done in REDIS_CONNECT_MS, or a
 * command unanswered for REDIS_COMMAND_MS while no other reply came
 * either (Redis stopped with SIGSTOP still accepts TCP connections: only
 * an answer proves it alive), drops
 * both connections; an idle command connection is PINGed. After a loss
 * the next attempt waits a backoff that doubles from 100 ms to 5 s, with
 * jitter so that a cluster's processes do not come back in step.
 */
#include "glue.h"
#include "cluster.h"

#include "rm_clock.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REDIS_CONNECT_MS 2000
#define REDIS_COMMAND_MS 2000
#define REDIS_PING_MS 1000
#define REDIS_BACKOFF_MIN_MS 100
#define REDIS_BACKOFF_MAX_MS 5000
#define REDIS_MAX_SCRIPTS 8
/*
 * The most bytes hiredis 0.14 may hold of a reply not yet complete. It has
 * no bound of its own: a bulk string is buffered whole until its last
 * byte, so a damaged or foreign server could grow the process without
 * end. Our largest legitimate piece is one stored message (at most
 * max-message-size, itself at most 64 MiB, and its envelope); a
 * multibulk's items are taken as they come. Over this bound the link is
 * dropped as a failed Redis.
 */
#define REDIS_READ_MAX ((size_t)128 << 20)

enum link_role { LINK_CMD, LINK_SUB };

struct link {
	redisAsyncContext *ac;
	struct lws *wsi;
	lws_sorted_usec_list_t sul_rearm;	/* POLLOUT after WRITEABLE */
	int in_writeable;
	enum link_role role;
	int ready;			/* handshake done */
	int want_write;			/* addWrite before the wsi existed */
	int dying;			/* hiredis is freeing it itself */
};

/* Replies come back in the order commands were sent: a FIFO of waiters. */
struct waiter {
	redis_reply_cb cb;
	void *arg;
	int64_t sent_ms;
};

static struct {
	struct lws_vhost *vh;
	struct bus_url url;
	char name[64];
	struct link link[2];
	const char *const *scripts;
	unsigned int n_scripts, loaded;
	char sha[REDIS_MAX_SCRIPTS][41];
	int started, up;
	int resetting;			/* inside reset(): no re-entry */
	int64_t connect_ms;		/* when the current attempt began */
	int64_t retry_ms;		/* 0: no attempt waiting */
	int64_t backoff_ms;
	int64_t last_reply_ms;
	struct waiter *fifo;
	unsigned int head, count, cap;
} R;

static void reset(const char *why);

/*---- the waiter FIFO ----*/

static int
fifo_push(redis_reply_cb cb, void *arg)
{
	if (R.count == R.cap) {
		unsigned int cap = R.cap ? R.cap * 2 : 64, i;
		struct waiter *f = malloc(cap * sizeof(*f));

		if (!f)
			return -1;
		for (i = 0; i < R.count; i++)
			f[i] = R.fifo[(R.head + i) % R.cap];
		free(R.fifo);
		R.fifo = f;
		R.head = 0;
		R.cap = cap;
	}
	R.fifo[(R.head + R.count) % R.cap] =
		(struct waiter){ cb, arg, rm_clock_ms() };
	R.count++;
	return 0;
}

/* Every reply of the command connection, NULL ones included. */
static void
on_cmd_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	struct waiter w;

	if (!R.count)
		return;
	w = R.fifo[R.head];
	R.head = (R.head + 1) % R.cap;
	R.count--;
	R.last_reply_ms = rm_clock_ms();
	if (w.cb)
		w.cb(reply, w.arg);
}

/*---- hiredis's event hooks, onto lws ----*/

static void
rearm(lws_sorted_usec_list_t *sul)
{
	struct link *l = lws_container_of(sul, struct link, sul_rearm);

	if (l->wsi)
		lws_callback_on_writable(l->wsi);
}

/*
 * hiredis has output to write. Inside RAW_WRITEABLE_FILE (a partial
 * write) the request must wait until the callback returned: lws clears
 * POLLOUT after it (ops-raw-file.c), and the rest of a long queue would
 * otherwise sit in hiredis's buffer until the next command.
 */
static void
ev_add_write(void *data)
{
	struct link *l = data;

	if (!l->wsi)
		l->want_write = 1;
	else if (l->in_writeable)
		lws_sul_schedule(glue_context, 0, &l->sul_rearm, rearm, 1);
	else
		lws_callback_on_writable(l->wsi);
}

static void
ev_nothing(void *data)
{
}

/* hiredis frees the context next: lws, not redisFree(), closes the fd. */
static void
ev_cleanup(void *data)
{
	struct link *l = data;

	lws_sul_cancel(&l->sul_rearm);
	if (l->ac)
		l->ac->c.fd = -1;
	l->ac = NULL;
	l->ready = 0;
	if (l->wsi) {
		lws_set_opaque_user_data(l->wsi, NULL);
		lws_set_timeout(l->wsi, PENDING_TIMEOUT_KILLED_BY_PARENT,
				LWS_TO_KILL_ASYNC);
		l->wsi = NULL;
	}
	/* hiredis gave up on its own (EOF, a failed connect): both go */
	if (!R.resetting)
		reset("connection lost");
}

/* The raw protocol's callback: readiness of an adopted Redis socket. */
int
callback_roomcast_redis(struct lws *wsi, enum lws_callback_reasons reason,
			void *user, void *in, size_t len)
{
	struct link *l = lws_get_opaque_user_data(wsi);

	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		if (!l || !l->ac)
			return -1;
		redisAsyncHandleRead(l->ac);
		if (l->ac && l->ac->c.reader &&
		    l->ac->c.reader->len - l->ac->c.reader->pos >
			    REDIS_READ_MAX)
			reset("a reply over 128 MiB");
		break;
	case LWS_CALLBACK_RAW_WRITEABLE_FILE:
		if (!l || !l->ac)
			return -1;
		l->in_writeable = 1;
		redisAsyncHandleWrite(l->ac);
		l->in_writeable = 0;
		break;
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		if (!l)
			break;
		l->wsi = NULL;
		if (l->ac) {		/* lws saw the hang-up first */
			l->ac->c.fd = -1;
			reset("connection closed");
		}
		break;
	default:
		break;
	}
	return 0;
}

/*---- connecting ----*/

static void
schedule_retry(void)
{
	int64_t j;

	if (!R.backoff_ms)
		R.backoff_ms = REDIS_BACKOFF_MIN_MS;
	j = R.backoff_ms / 2 + rand() % (R.backoff_ms + 1);
	R.retry_ms = rm_clock_ms() + j;
	R.backoff_ms *= 2;
	if (R.backoff_ms > REDIS_BACKOFF_MAX_MS)
		R.backoff_ms = REDIS_BACKOFF_MAX_MS;
}

/* Drops both connections (pending replies get NULL) and plans a retry. */
static void
reset(const char *why)
{
	int was_up = R.up;
	unsigned int i;

	if (R.resetting)
		return;
	R.resetting = 1;
	if (was_up)
		lwsl_warn("roomcast: redis: %s; reconnecting\n", why);
	R.up = 0;
	/* ev_cleanup gives each fd to lws to close */
	for (i = 0; i < 2; i++)
		if (R.link[i].ac && !R.link[i].dying)
			redisAsyncFree(R.link[i].ac);
	if (was_up)
		cluster_on_down();
	if (R.started && !R.retry_ms)
		schedule_retry();
	R.resetting = 0;
}

static void check_up(void);

static void
on_script_loaded(struct redisReply *r, void *arg)
{
	uintptr_t i = (uintptr_t)arg;

	if (!r)
		return;
	if (r->type != REDIS_REPLY_STRING || r->len != 40) {
		lwsl_err("roomcast: redis: SCRIPT LOAD failed: %s\n",
			 r->type == REDIS_REPLY_ERROR ? r->str : "?");
		reset("script not loaded");
		return;
	}
	memcpy(R.sha[i], r->str, 40);
	R.sha[i][40] = '\0';
	if (++R.loaded == R.n_scripts) {
		R.link[LINK_CMD].ready = 1;
		check_up();
	}
}

static void
on_handshake_reply(struct redisReply *r, void *arg)
{
	if (r && r->type == REDIS_REPLY_ERROR) {
		lwsl_err("roomcast: redis: %s\n", r->str);
		reset("AUTH or SELECT refused");
	}
}

/* CLIENT SETNAME, so that CLIENT LIST tells the processes apart. */
static void
set_name(enum link_role role)
{
	char name[80];
	const char *argv[3] = { "CLIENT", "SETNAME", name };

	snprintf(name, sizeof(name), "%s:%s", R.name,
		 role == LINK_CMD ? "cmd" : "sub");
	if (role == LINK_CMD)
		redis_command(on_handshake_reply, NULL, 3, argv, NULL);
	else
		redisAsyncCommandArgv(R.link[LINK_SUB].ac, NULL, NULL, 3, argv,
				      NULL);
}

/* AUTH and SELECT on a fresh command connection, then the scripts. */
static void
cmd_handshake(void)
{
	const char *argv[3];
	char db[16];
	uintptr_t i;

	if (R.url.password[0]) {
		argv[0] = "AUTH";
		argv[1] = R.url.password;
		redis_command(on_handshake_reply, NULL, 2, argv, NULL);
	}
	set_name(LINK_CMD);
	if (R.url.db) {
		snprintf(db, sizeof(db), "%u", R.url.db);
		argv[0] = "SELECT";
		argv[1] = db;
		redis_command(on_handshake_reply, NULL, 2, argv, NULL);
	}
	R.loaded = 0;
	for (i = 0; i < R.n_scripts; i++) {
		argv[0] = "SCRIPT";
		argv[1] = "LOAD";
		argv[2] = R.scripts[i];
		redis_command(on_script_loaded, (void *)i, 3, argv, NULL);
	}
}

/* Every message of the subscription connection. */
static void
on_sub_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	redisReply *r = reply, **e;

	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 3)
		return;
	e = r->element;
	if (e[0]->type != REDIS_REPLY_STRING || e[1]->type != REDIS_REPLY_STRING)
		return;
	if (!strcmp(e[0]->str, "message") && e[2]->type == REDIS_REPLY_STRING)
		cluster_on_message(e[1]->str, e[1]->len, e[2]->str, e[2]->len);
	else if (!strcmp(e[0]->str, "subscribe")) {
		if (!R.link[LINK_SUB].ready) {	/* the handshake's channel */
			R.link[LINK_SUB].ready = 1;
			check_up();
		} else
			cluster_on_subscribed(e[1]->str, e[1]->len);
	}
}

static void
sub_handshake(void)
{
	const char *argv[2];
	char chan[64];

	if (R.url.password[0]) {
		argv[0] = "AUTH";
		argv[1] = R.url.password;
		redisAsyncCommandArgv(R.link[LINK_SUB].ac, NULL, NULL, 2, argv,
				      NULL);
	}
	set_name(LINK_SUB);
	/* a confirmed subscription proves the link works */
	snprintf(chan, sizeof(chan), "roomcast-hello:%d", (int)getpid());
	argv[0] = "SUBSCRIBE";
	argv[1] = chan;
	redisAsyncCommandArgv(R.link[LINK_SUB].ac, on_sub_reply, NULL, 2, argv,
			      NULL);
}

static void
check_up(void)
{
	if (R.up || !R.link[LINK_CMD].ready || !R.link[LINK_SUB].ready)
		return;
	R.up = 1;
	R.backoff_ms = 0;
	R.last_reply_ms = rm_clock_ms();
	lwsl_user("roomcast: redis: connected\n");
	cluster_on_up();
}

static void
on_connect(const redisAsyncContext *ac, int status)
{
	struct link *l = ac->ev.data;

	if (status != REDIS_OK) {
		/* hiredis frees it after this returns; ev_cleanup resets */
		l->dying = 1;
		return;
	}
	if (l->role == LINK_CMD)
		cmd_handshake();
	else
		sub_handshake();
}

static int
open_link(struct link *l, enum link_role role)
{
	lws_sock_file_fd_type fd;
	redisAsyncContext *ac;

	memset(l, 0, sizeof(*l));
	l->role = role;
	ac = R.url.path[0] ? redisAsyncConnectUnix(R.url.path)
			   : redisAsyncConnect(R.url.host, R.url.port);
	if (!ac)
		return -1;
	if (ac->err) {
		redisAsyncFree(ac);	/* no hooks yet: closes its own fd */
		return -1;
	}
	l->ac = ac;
	/* the hooks go on before the connect callback, which calls addWrite */
	ac->ev.data = l;
	ac->ev.addRead = ev_nothing;
	ac->ev.delRead = ev_nothing;
	ac->ev.addWrite = ev_add_write;
	ac->ev.delWrite = ev_nothing;
	ac->ev.cleanup = ev_cleanup;
	fd.filefd = ac->c.fd;
	l->wsi = lws_adopt_descriptor_vhost(R.vh, LWS_ADOPT_RAW_FILE_DESC, fd,
					    CLUSTER_REDIS_PROTOCOL, NULL);
	if (!l->wsi) {
		lwsl_err("roomcast: redis: cannot adopt the socket: under "
			 "lwsws, list \"" CLUSTER_REDIS_PROTOCOL "\": {} in the "
			 "vhost's ws-protocols\n");
		ac->ev.cleanup = NULL;	/* not adopted: redisFree closes it */
		l->ac = NULL;
		redisAsyncFree(ac);
		return -1;
	}
	lws_set_opaque_user_data(l->wsi, l);
	redisAsyncSetConnectCallback(ac, on_connect);
	if (l->want_write)
		lws_callback_on_writable(l->wsi);
	return 0;
}

static void
attempt(void)
{
	R.retry_ms = 0;
	R.connect_ms = rm_clock_ms();
	if (open_link(&R.link[LINK_CMD], LINK_CMD) ||
	    open_link(&R.link[LINK_SUB], LINK_SUB))
		reset("cannot connect");
}

/*---- the API of cluster.h ----*/

int
redis_check(const struct bus_url *u, const char *seq_key, long long *seq,
	    char *err, size_t errlen)
{
	struct timeval tv = { 2, 0 };
	redisContext *c = u->path[0] ? redisConnectUnixWithTimeout(u->path, tv)
				     : redisConnectWithTimeout(u->host, u->port,
							       tv);
	redisReply *r = NULL;

	if (!c || c->err) {
		snprintf(err, errlen, "%s", c ? c->errstr : "out of memory");
		goto bail;
	}
	redisSetTimeout(c, tv);
	if (u->password[0]) {
		r = redisCommand(c, "AUTH %s", u->password);
		if (!r || r->type == REDIS_REPLY_ERROR)
			goto bail_reply;
		freeReplyObject(r);
	}
	r = redisCommand(c, "PING");
	if (!r || r->type == REDIS_REPLY_ERROR)
		goto bail_reply;
	freeReplyObject(r);
	if (u->db) {
		r = redisCommand(c, "SELECT %u", u->db);
		if (!r || r->type == REDIS_REPLY_ERROR)
			goto bail_reply;
		freeReplyObject(r);
	}
	r = redisCommand(c, "INCR %s", seq_key);
	if (!r || r->type != REDIS_REPLY_INTEGER)
		goto bail_reply;
	*seq = r->integer;
	freeReplyObject(r);
	redisFree(c);
	return 0;

bail_reply:
	snprintf(err, errlen, "%s",
		 !r	? c->errstr :
		 r->str ? r->str :
			  "unexpected reply");
	freeReplyObject(r);
bail:
	redisFree(c);
	return -1;
}

int
redis_start(struct lws_vhost *vh, const struct bus_url *u, const char *name,
	    const char *const *scripts, unsigned int n_scripts)
{
	if (n_scripts > REDIS_MAX_SCRIPTS)
		return -1;
	R.vh = vh;
	R.url = *u;
	snprintf(R.name, sizeof(R.name), "%s", name);
	R.scripts = scripts;
	R.n_scripts = n_scripts;
	R.started = 1;
	srand((unsigned int)rm_clock_ms() ^ (unsigned int)getpid());
	attempt();
	return 0;
}

void
redis_stop(void)
{
	R.started = 0;
	reset("stopping");
	R.retry_ms = 0;
	free(R.fifo);
	R.fifo = NULL;
	R.head = R.count = R.cap = 0;
}

int
redis_is_up(void)
{
	return R.up;
}

const char *
redis_script_sha(unsigned int i)
{
	return R.sha[i];
}

const char *
redis_state_name(void)
{
	return R.up ? "up" : "down";
}

int
redis_command(redis_reply_cb cb, void *arg, int argc, const char **argv,
	      const size_t *lens)
{
	redisAsyncContext *ac = R.link[LINK_CMD].ac;

	if (!ac || fifo_push(cb, arg))
		return -1;
	if (redisAsyncCommandArgv(ac, on_cmd_reply, NULL, argc, argv, lens)) {
		R.count--;
		return -1;
	}
	return 0;
}

int
redis_subscribe(int on, unsigned int n, const char **chans,
		const size_t *lens)
{
	const char *argv[1 + 512];
	size_t alen[1 + 512];
	unsigned int i;

	if (!R.up || n > 512)
		return -1;
	argv[0] = on ? "SUBSCRIBE" : "UNSUBSCRIBE";
	alen[0] = strlen(argv[0]);
	for (i = 0; i < n; i++) {
		argv[1 + i] = chans[i];
		alen[1 + i] = lens[i];
	}
	return redisAsyncCommandArgv(R.link[LINK_SUB].ac, on ? on_sub_reply
				     : NULL, NULL, (int)n + 1, argv, alen)
		? -1 : 0;
}

void
redis_tick(int64_t now)
{
	const char *ping = "PING";

	if (!R.started)
		return;
	if (R.retry_ms) {
		if (now >= R.retry_ms)
			attempt();
		return;
	}
	if (!R.up) {
		if (now - R.connect_ms > REDIS_CONNECT_MS)
			reset("connect timed out");
		return;
	}
	/*
	 * A long queue that keeps being answered (a burst of joins) is no
	 * fault: only a command waiting that long with no reply at all in
	 * that time is.
	 */
	if (R.count && now - R.fifo[R.head].sent_ms > REDIS_COMMAND_MS &&
	    now - R.last_reply_ms > REDIS_COMMAND_MS) {
		reset("no reply in time");
		return;
	}
	if (!R.count && now - R.last_reply_ms > REDIS_PING_MS)
		redis_command(NULL, NULL, 1, &ping, NULL);
}
