/*
 * rconf.h: the settings of the roomcast.v1 protocol on one vhost.
 *
 * Every option of PROTOCOL.md's Configuration table arrives as a string
 * (lwsws passes per-vhost options that way, and roomcast-server's --option
 * does the same). rconf_init() fills the defaults; rconf_set() parses and
 * range-checks one option; the struct then owns copies of what it keeps.
 *
 * Not thread-safe; lws service thread only. Knows nothing of lws.
 */
#ifndef RCONF_H
#define RCONF_H

#include <stddef.h>
#include <stdint.h>

enum rconf_drop_policy {
	RCONF_DROP,	/* drop what does not fit, tell the member later */
	RCONF_CLOSE,	/* close the member with 4001 */
};

#define RCONF_MAX_ORIGINS 32

struct rconf {
	size_t max_message_size;
	unsigned int send_ring_size;
	size_t send_ring_bytes;
	enum rconf_drop_policy drop_policy;
	unsigned int ping_interval_s;	/* 0 turns the heartbeat off */
	unsigned int pong_timeout_s;
	unsigned int max_connections;	/* 0 = no limit */
	unsigned int max_connections_per_ip;	/* 0 = no limit */
	size_t max_queued_bytes;	/* all rings together; 0 = no limit */
	unsigned int max_rooms_per_connection;
	unsigned int max_messages_per_second;	/* 0 = off */
	int presence_events;
	unsigned int history_size;	/* broadcasts held per room; 0 = off */
	char *redis_url;		/* NULL: not clustered */
	char *redis_prefix;		/* NULL: "roomcast" */
	unsigned int n_origins;		/* 0 = any origin */
	char *origins[RCONF_MAX_ORIGINS];
};

/* Fills @c with PROTOCOL.md's defaults. */
void rconf_init(struct rconf *c);

/* Frees what @c owns (the origin list); @c may be reused after rconf_init. */
void rconf_free(struct rconf *c);

/*
 * Sets option @name to @value. Returns RM_OK, RM_E_NOENT for a name that is
 * no option, or RM_E_INVAL for a value outside the option's rule; in both
 * error cases a one-line reason is written to @err (@errlen bytes).
 * Options lws itself reads from the same place ("status", "default", "raw")
 * are accepted and ignored.
 */
int rconf_set(struct rconf *c, const char *name, const char *value,
	      char *err, size_t errlen);

/* Returns 1 if a browser @origin (the Origin header's value) may connect. */
int rconf_origin_allowed(const struct rconf *c, const char *origin);

/* Parses a decimal unsigned integer in [min, max] exactly, no sign, no
 * trailing text. Returns RM_OK or RM_E_INVAL. */
int rconf_parse_uint(const char *s, uint64_t min, uint64_t max,
		     uint64_t *out);

#endif
