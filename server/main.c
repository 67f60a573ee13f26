/*
 * main.c: roomcast-server, the standalone server.
 *
 * The roomcast plugin compiled in (LWS_PLUGIN_STATIC), vhosts created from
 * the same lwsws-format files lwsws reads (see conf.h), a graceful
 * shutdown on SIGINT/SIGTERM: /health turns 503, every client gets close
 * 1001, and the process exits 0 once they are gone or after 4 s.
 *
 * The event loop is lws's own (lib/plat/unix/unix-service.c), whose one
 * poll() over every socket per turn is answered from an epoll set
 * (evpoll.c, interpose.c): a turn costs the sockets that are ready, not
 * every idle one, at 4 bytes per descriptor. `--event-loop poll` leaves
 * lws's poll() to the kernel: every turn then costs O(connections).
 * `--event-loop uv` runs lws on libuv (Debian's libwebsockets-evlib-uv),
 * epoll too, but lws mallocs a uv_poll_t for each connection (~220 bytes
 * more per idle connection, over 1.5 KB) and it measured a worse
 * fixed-rate p99 (docs/PERFORMANCE.md, round two).
 * lws 4.1.6 on libev costs less memory but closes handshakes at random
 * (tests/e2e/test_rooms.py fails 1-5 of 45 each run), so not libev
 * (docs/PERFORMANCE.md, round two).
 */
#include <libwebsockets.h>

#include "cli.h"
#include "auth.h"
#include "conf.h"
#include "evpoll.h"
#include "hspool.h"
#include "rconf.h"
#include "rm_clock.h"
#include "rm_err.h"
#include "rxread.h"
#include "stats.h"
#include "roomcast_lws.h"
#include "status.h"
#include "workers.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#define CONFIG_STRINGS_SIZE (64 * 1024)
/* Shutdown waits this long for clients to take their close frames. */
#define DRAIN_MS 4000

static volatile sig_atomic_t signalled;
/* --workers N: 1 runs as before; with more, this worker's index. */
static unsigned int n_workers = 1;
static int shared_port = -1;	/* a worker's WebSocket port (accept.c) */
static struct lws_context *context;

/* The loop lws runs on: libuv's, ours (a "foreign" loop to lws). */
static uv_loop_t uv_loop;
static uv_timer_t uv_ticker;
static int use_uv;	     /* --event-loop uv */
static int kernel_poll_only; /* --event-loop poll: no epoll set */
/* roomcast_protocols, reading more per turn where it can (rxread.h) */
static const struct lws_protocols *protocols;

/* Where a run stands: serving, draining, finishing writes, done. */
static struct {
	int64_t drain_until;	/* 0 before the drain begins */
	int64_t finish_until;	/* 0 before the final writes begin */
	int done;
	int failed;		/* the plugin's set-up failed (run_check) */
} run_state;
/*
 * lws copies a policy's two validity times into the context's default
 * only when secs_since_valid_ping is set, and arms no validity timer when
 * secs_since_valid_hangup is 0: so this turns lws's idle timers off for
 * every vhost (the config reader clears each vhost's own policy).
 */
static const lws_retry_bo_t no_idle_policy = {
	.secs_since_valid_ping = 1,
	.secs_since_valid_hangup = 0,
};

static void
on_signal(int sig)
{
	signalled = sig;
	if (context)
		lws_cancel_service(context);
}

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: roomcast-server [--config DIR] [--port N] "
		"[--status-port N]\n"
		"                       [--option NAME=VALUE]... [--help] "
		"[--version]\n"
		"\n"
		"  --config DIR         read DIR/conf and DIR/conf.d/* (lwsws "
		"format)\n"
		"                       default: %s\n"
		"  --port N             port of the WebSocket and page vhost "
		"(default 8080)\n"
		"  --status-port N      port of the status vhost on 127.0.0.1 "
		"(default 8081;\n"
		"                       0 turns it off)\n"
		"  --option NAME=VALUE  set a roomcast.v1 option (see "
		"docs/PROTOCOL.md), repeatable\n"
		"  --workers N          N processes sharing the WebSocket port "
		"(default 1;\n"
		"                       N > 1 needs redis-url); worker i's "
		"status port is\n"
		"                       the status port + i\n"
		"  --event-loop epoll|poll|uv\n"
		"                       lws's loop waiting with epoll (default), "
		"with poll()\n"
		"                       over every socket, or libuv's loop\n"
		"  --help, --version\n"
		"\n"
		"       roomcast-server publish [...] ROOM JSON\n"
		"  posts JSON into ROOM through the server API (see "
		"publish --help)\n",
		RM_DEFAULT_CONFIG_DIR);
}

static int
parse_port(const char *flag, const char *s, uint64_t min, int *out)
{
	uint64_t v;

	if (rconf_parse_uint(s, min, 65535, &v)) {
		fprintf(stderr, "roomcast-server: %s: '%s' is not a port "
			"number (%llu-65535)\n", flag, s,
			(unsigned long long)min);
		return -1;
	}
	*out = (int)v;
	return 0;
}

/* Splits NAME=VALUE and checks it as the plugin will. */
static int
add_option(struct conf_overrides *o, char *arg)
{
	char *eq = strchr(arg, '='), err[160];
	struct rconf scratch;
	int r;

	if (!eq || eq == arg) {
		fprintf(stderr, "roomcast-server: --option '%s': expected "
			"NAME=VALUE\n", arg);
		return -1;
	}
	if (o->n_options == CONF_MAX_OPTIONS) {
		fprintf(stderr, "roomcast-server: too many --option\n");
		return -1;
	}
	*eq = '\0';
	rconf_init(&scratch);
	r = rconf_set(&scratch, arg, eq + 1, err, sizeof(err));
	rconf_free(&scratch);
	if (r) {
		fprintf(stderr, "roomcast-server: --option %s\n", err);
		return -1;
	}
	o->opt_name[o->n_options] = arg;
	o->opt_value[o->n_options++] = eq + 1;
	return 0;
}

/* Returns 0 to run, 1 to exit 0 (help, version), -1 to exit 2. */
static int
parse_args(int argc, char **argv, struct conf_overrides *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "port", required_argument, NULL, 'p' },
		{ "status-port", required_argument, NULL, 's' },
		{ "option", required_argument, NULL, 'o' },
		{ "workers", required_argument, NULL, 'w' },
		{ "event-loop", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->dir = RM_DEFAULT_CONFIG_DIR;
	o->port = o->status_port = -1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "c:p:s:o:w:e:hv", longopts,
				 NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->dir = optarg;
			break;
		case 'p':
			if (parse_port("--port", optarg, 1, &o->port))
				return -1;
			break;
		case 's':
			if (parse_port("--status-port", optarg, 0,
				       &o->status_port))
				return -1;
			break;
		case 'o':
			if (add_option(o, optarg))
				return -1;
			break;
		case 'w': {
			uint64_t v;

			if (rconf_parse_uint(optarg, 1, 256, &v)) {
				fprintf(stderr, "roomcast-server: --workers: "
					"'%s' is not a number from 1 to 256\n",
					optarg);
				return -1;
			}
			n_workers = (unsigned int)v;
			break;
		}
		case 'e':
			if (strcmp(optarg, "epoll") && strcmp(optarg, "uv") &&
			    strcmp(optarg, "poll")) {
				fprintf(stderr,
					"roomcast-server: --event-loop: "
					"'%s' is not epoll, poll or uv\n",
					optarg);
				return -1;
			}
			use_uv = !strcmp(optarg, "uv");
			kernel_poll_only = !strcmp(optarg, "poll");
			break;
		case 'h':
			usage(stdout);
			return 1;
		case 'v':
			printf("roomcast-server %s (protocol %s, libwebsockets %s)\n",
			       RM_VERSION, RM_PROTOCOL_VERSION, lws_get_library_version());
			return 1;
		default:
			fprintf(stderr, "roomcast-server: bad argument '%s' "
				"(see --help)\n", argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "roomcast-server: unexpected argument '%s'\n",
			argv[optind]);
		return -1;
	}
	return 0;
}

/*
 * Builds the context and its vhosts from @dir. Returns 0, -1, or -2 when
 * the context could not be made on libuv (no evlib plugin): the caller
 * may try again on lws's own loop.
 */
static int
start(const char *dir)
{
	static char config_strings[CONFIG_STRINGS_SIZE];
	static void *foreign_loops[1];
	struct lws_context_creation_info info;
	char *cs = config_strings;
	int cs_len = CONFIG_STRINGS_SIZE - 1;

	memset(&info, 0, sizeof(info));
	/*
	 * No LWS_SERVER_OPTION_VALIDATE_UTF8: the plugin checks each whole
	 * message itself and closes with 1007 in order; lws's check closes a
	 * message that spans several reads without a close frame.
	 */
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
		       LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.pt_serv_buf_size = 64 * 1024;
	if (lwsws_get_config_globals(&info, dir, &cs, &cs_len)) {
		fprintf(stderr, "roomcast-server: bad global config in %s\n",
			dir);
		return -1;
	}
	/*
	 * Room for a ?token= of AUTH_TOKEN_MAX bytes and the usual headers:
	 * lws's default of 4096 bytes refuses one over about 4 KB. The
	 * header table exists only while a handshake is in flight (cost:
	 * docs/PERFORMANCE.md, auth).
	 */
	info.max_http_header_data = AUTH_TOKEN_MAX + 2048;
	_Static_assert(AUTH_TOKEN_MAX + 2048 <= HSPOOL_SLOT_MAX,
		       "a header table must fit the pool (hspool.c)");
	if (use_uv) {
		/* our loop, so that we can stop it (lws runs it until then) */
		foreign_loops[0] = &uv_loop;
		info.foreign_loops = foreign_loops;
		info.options |= LWS_SERVER_OPTION_LIBUV;
	}
	info.protocols = protocols;
	/* HTTP/1.1 only: TLS never negotiates h2 (docs/RELIABILITY.md) */
	info.alpn = "http/1.1";
	/*
	 * No lws idle ("validity") timers: the plugin runs the heartbeat.
	 * lws would keep one per connection in a sorted list, re-inserted on
	 * every pong: O(connections) each, which halved the accept rate near
	 * 19,000 connections. lwsws keeps its own (docs/CONFIG.md).
	 */
	info.retry_and_idle_policy = &no_idle_policy;
	if (!use_uv && !kernel_poll_only)
		evpoll_enable();
	context = lws_create_context(&info);
	if (!context) {
		fprintf(stderr, "roomcast-server: cannot create the lws "
			"context%s\n", use_uv ? " on libuv" : "");
		return use_uv ? -2 : -1;
	}
	if (lwsws_get_config_vhosts(context, &info, dir, &cs, &cs_len)) {
		fprintf(stderr, "roomcast-server: cannot create the vhosts "
			"(a port in use, or a bad option: see the log above)\n");
		return -1;
	}
	/*
	 * PROTOCOL_INIT now rather than at the first service: a vhost's bad
	 * roomcast options stop the start (lwsws goes on, each such vhost
	 * refusing every upgrade).
	 */
	if (lws_protocol_init(context) || roomcast_config_failed()) {
		fprintf(stderr, "roomcast-server: bad roomcast options in the "
			"config (see the log above)\n");
		return -1;
	}
	return 0;
}

/*
 * Called after every turn of lws's loop, or every RM_TICK_MS on libuv:
 * on a signal, drains; then a little longer for close frames and HTTP
 * answers still leaving, and until every status response begun has its
 * body written (at most 1 s more); then sets run_state.done.
 */
static int
run_check(void)
{
	int64_t now = rm_clock_ms();

	/* vhosts' protocols start at the first service turn */
	if (roomcast_start_failed() || roomcast_init_failed)
		return -1;	/* the reason: the log's error line */
	if (shared_port > 0) {	/* --workers: listen once it is up */
		if (!roomcast_ws_vhost() || roomcast_listen_shared(
				roomcast_ws_vhost(), shared_port))
			return -1;
		shared_port = -1;
	}
	if (signalled && !run_state.drain_until) {
		lwsl_user("roomcast-server: signal %d, closing %llu "
			  "connections\n", (int)signalled,
			  (unsigned long long)roomcast_connections_active());
		roomcast_begin_drain();
		run_state.drain_until = now + DRAIN_MS;
	}
	if (run_state.drain_until && !run_state.finish_until &&
	    (!roomcast_connections_active() || now >= run_state.drain_until))
		run_state.finish_until = now + 200;
	if (run_state.finish_until && now >= run_state.finish_until &&
	    (!roomcast_status_in_flight() ||
	     now >= run_state.finish_until + 1000))
		run_state.done = 1;
	return 0;
}

/* How often the libuv loop checks for a signal and the drain's end. */
#define RM_TICK_MS 20

static void
uv_tick(uv_timer_t *t)
{
	if (run_check())
		run_state.failed = 1;
	if (run_state.done || run_state.failed)
		uv_stop(t->loop);
}

/*
 * Runs until a signal, then drains. Returns -1 at once when the plugin's
 * set-up failed (vhosts' protocols start in the first service turns).
 */
static int
run(void)
{
	if (use_uv) {
		uv_timer_init(&uv_loop, &uv_ticker);
		uv_timer_start(&uv_ticker, uv_tick, RM_TICK_MS, RM_TICK_MS);
		uv_run(&uv_loop, UV_RUN_DEFAULT);
		/*
		 * uv_stop() ends the loop after the turn it was called in,
		 * whose I/O callbacks may have begun more status answers
		 */
		while (!run_state.failed && roomcast_status_in_flight() &&
		       rm_clock_ms() < run_state.finish_until + 1000)
			uv_run(&uv_loop, UV_RUN_ONCE);
		return run_state.failed ? -1 : 0;
	}
	while (!run_state.done && lws_service(context, 0) >= 0)
		if (run_check())
			return -1;
	return 0;
}

/* Frees the context, then lets libuv close what lws and we opened. */
static void
stop(void)
{
	if (context)
		lws_context_destroy(context);
	context = NULL;
	if (!use_uv)
		return;
	if (uv_ticker.loop)	/* run() started it */
		uv_close((uv_handle_t *)&uv_ticker, NULL);
	uv_run(&uv_loop, UV_RUN_DEFAULT);
	uv_loop_close(&uv_loop);
}

/*
 * --workers N > 1: the parent supervises (returns 1 to exit 0, or -1 to
 * exit 2); each worker returns 0 with @o set to its ports: the WebSocket
 * port shared (accept.c), status port + index.
 */
static int
become_worker(struct conf_overrides *o, char *dir,
	      const struct conf_summary *sum)
{
	int is_worker, idx;

	if (!sum->redis) {
		conf_remove(dir);
		fprintf(stderr, "roomcast-server: --workers %u: workers share "
			"rooms through Redis; set redis-url\n", n_workers);
		return -1;
	}
	conf_remove(dir);
	if (sum->ws_port <= 0) {
		fprintf(stderr, "roomcast-server: --workers: no WebSocket "
			"port\n");
		return -1;
	}
	/*
	 * The workers' shared listener (accept.c) hands sockets to a vhost
	 * made without a listener, and lws 4.1.6 does not set up server TLS
	 * for such a vhost: a wss:// port would answer in plain text. So not
	 * yet: terminate TLS in front (docs/DEPLOY.md), or one lwsws per core.
	 */
	if (sum->ws_tls) {
		fprintf(stderr,
			"roomcast-server: --workers: not with a TLS "
			"WebSocket vhost in this version; terminate TLS in front "
			"of the workers (docs/DEPLOY.md)\n");
		return -1;
	}
	idx = workers_run(n_workers, &is_worker);
	if (!is_worker)
		return idx ? -1 : 1;
	shared_port = sum->ws_port;
	o->port = CONF_PORT_NO_LISTEN;
	o->status_port = sum->status_port > 0 ? sum->status_port + idx : 0;
	return 0;
}

int
main(int argc, char **argv)
{
	struct conf_overrides o;
	struct conf_summary sum;
	char dir[128], err[256];
	int r;

	/* `roomcast-server publish ROOM JSON`: the API from a shell (cli.c) */
	if (argc > 1 && !strcmp(argv[1], "publish"))
		return cli_publish(argc - 1, argv + 1);
	r = parse_args(argc, argv, &o);

	if (r)
		return r > 0 ? 0 : 2;
	r = 0;
	lws_set_log_level(getenv("ROOMCAST_LWS_LOG") ? atoi(getenv("ROOMCAST_LWS_LOG")) : (LLL_ERR | LLL_WARN | LLL_USER), NULL);
	if (conf_prepare(&o, dir, sizeof(dir), &sum, err, sizeof(err))) {
		fprintf(stderr, "roomcast-server: %s\n", err);
		return 2;
	}
	if (n_workers > 1) {
		r = become_worker(&o, dir, &sum);
		if (r)
			return r < 0 ? 2 : 0;
		if (conf_prepare(&o, dir, sizeof(dir), &sum, err,
				 sizeof(err))) {
			fprintf(stderr, "roomcast-server: %s\n", err);
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (hspool_install(!getenv("ROOMCAST_NO_HSPOOL")))
		lwsl_warn("roomcast-server: no header table pool\n");
	protocols = rxread_protocols(sum.read_size);
	if (use_uv)
		uv_loop_init(&uv_loop);
	r = start(dir);
	if (r == -2) {
		/* no libwebsockets-evlib-uv: lws's own loop still works */
		lwsl_warn("roomcast-server: libuv event loop unavailable, "
			  "using lws's poll() loop\n");
		uv_loop_close(&uv_loop);
		use_uv = 0;
		r = start(dir);
	}
	conf_remove(dir);
	if (!r && roomcast_init_failed)	/* the reason is logged */
		r = -1;
	if (r) {
		stop();
		return 1;
	}
	/* lws on libuv closes differently: the glue adapts (sweep.c) */
	roomcast_set_event_library(use_uv);
	lwsl_user("roomcast-server %s: config %s, WebSocket port %d, status "
		  "port %d, %s loop\n",
		  RM_VERSION, o.dir, sum.ws_port, sum.status_port,
		  use_uv	   ? "libuv" :
		  kernel_poll_only ? "poll" :
				     "epoll");
	if (run()) {
		stop();
		return 1;
	}
	stop();
	lwsl_user("roomcast-server: stopped\n");
	return 0;
}
