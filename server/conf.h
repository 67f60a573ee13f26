/*
 * conf.h: roomcast-server's command-line overrides around lwsws's own
 * config reader.
 *
 * roomcast-server reads the same files as lwsws (DIR/conf and every file
 * in DIR/conf.d/) through the library's lwsws_get_config_vhosts(), so a
 * file means the same thing to both. That reader offers no hook to change
 * a vhost before it is created, so the overrides (--port, --status-port,
 * --option) are applied to a copy: conf_prepare() reads each file (JSON
 * with lwsws's `#` comments), changes what the command line asked for,
 * makes relative `file://` mount origins absolute against DIR, and writes
 * the result into a fresh temporary directory for the reader.
 *
 * Which vhost is which: the WebSocket vhost lists "roomcast" (the options
 * entry of subprotocol roomcast.v1, see roomcast_names.h) under
 * ws-protocols; the status vhost does not, and mounts
 * callback://roomcast-status.
 *
 * Options whose scope is the process (rconf.h: history-size,
 * max-queued-bytes) are checked across vhosts here, before any is created:
 * two vhosts giving one of them different values stop the start with an
 * error naming both.
 *
 * Pure: json-c, libc and rconf (plugin/core) only.
 */
#ifndef CONF_H
#define CONF_H

#include "rconf.h"

#include <stddef.h>

#define CONF_MAX_OPTIONS 64

/* conf_overrides.port: the WebSocket vhost gets no listener (--workers). */
#define CONF_PORT_NO_LISTEN (-2)

struct conf_overrides {
	const char *dir;		/* the config directory */
	int port;			/* -1: as the files say */
	int status_port;		/* -1: as the files say; 0: no status vhost */
	unsigned int n_options;
	const char *opt_name[CONF_MAX_OPTIONS];
	const char *opt_value[CONF_MAX_OPTIONS];
};

/* What conf_prepare() found, for the start-up log. */
struct conf_summary {
	int ws_port;			/* -1 if no WebSocket vhost */
	int status_port;		/* -1 if no status vhost */
	int ws_tls;			/* the WebSocket vhost has a TLS key */
	int redis;			/* a roomcast vhost names redis-url */
	struct rconf_process options;	/* process-wide, and who gave them */
	char status_iface[64];		/* its "interface", "" if none */
	/* the server API's key options, as the roomcast vhost has them */
	char api_key[512];
	char api_key_file[512];
	/*
	 * The most bytes one read from a roomcast connection should hold
	 * (conf_read_size()), from the smallest send ring of any roomcast
	 * vhost: roomcast-server has lws read that much per turn (rxread.c).
	 */
	size_t read_size;
};

/*
 * A read of the returned size carries few enough messages that a member
 * who keeps up never overflows a ring of @ring_size messages and
 * @ring_bytes bytes: the wakes held for a quarter of the ring (wakes.c)
 * plus the rest of one read plus the next stay within it. The smallest
 * message that is broadcast takes 45 bytes on the wire, and its frame to
 * each member is at most four times its size; 128 bytes at least (what
 * lws's rx buffer holds: a control frame), 4096 at most (lws's default).
 */
size_t conf_read_size(unsigned int ring_size, size_t ring_bytes);

/*
 * Writes the overridden copy of o->dir into a new directory whose path is
 * put in @out (@outlen bytes). Returns 0, or -1 with a one-line reason in
 * @err.
 */
int conf_prepare(const struct conf_overrides *o, char *out, size_t outlen,
		 struct conf_summary *sum, char *err, size_t errlen);

/* Removes the directory conf_prepare() made. */
void conf_remove(const char *dir);

/*
 * Removes lwsws's `#` comments (from a # outside a string to the end of its
 * line) from @text in place, so that json-c can read it.
 */
void conf_strip_comments(char *text);

#endif
