/*
 * rconf.h: the settings of the roomcast.v1 protocol on one vhost.
 *
 * Every option of PROTOCOL.md's Configuration table arrives as a string
 * (lwsws passes per-vhost options that way, and roomcast-server's --option
 * does the same). rconf_init() fills the defaults; rconf_set() parses and
 * range-checks one option; the struct then owns copies of what it keeps.
 *
 * Options have one of two scopes (docs/CONFIG.md, column "scope"):
 *  - per vhost: each connection is held to its own vhost's value, checked
 *    per connection (ring sizes, limits, heartbeat, origins, presence);
 *  - process-wide: the hub's, one value for every vhost, because what they
 *    bound is shared by all vhosts (a room's history, the bytes queued
 *    for all connections together). Each vhost's config may give them;
 *    struct rconf_process gathers them and refuses two different values.
 *
 * Not thread-safe; lws service thread only. Knows nothing of lws.
 */
#ifndef RCONF_H
#define RCONF_H

#include "auth.h"

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
	unsigned int ipv6_prefix_len;	/* IPv6 bits that name one client */
	size_t max_queued_bytes;	/* all rings together; 0 = no limit */
	size_t max_reassembly_bytes;	/* all partial messages; 0 = no limit */
	unsigned int reassembly_timeout_s;	/* to finish a message; 0 = off */
	unsigned int max_rooms_per_connection;
	unsigned int max_messages_per_second;	/* 0 = off */
	int presence_events;
	unsigned int history_size;	/* broadcasts held per room; 0 = off */
	/* process-wide (the hub takes the first vhost's): hub_history.h */
	size_t history_bytes;		/* held by all rooms; 0 = no bound */
	unsigned int history_ttl_s;	/* a room kept after its last use */
	char *history_db;		/* SQLite file path, NULL: none */
	char *redis_url;		/* NULL: not clustered */
	char *redis_prefix;		/* NULL: "roomcast" */
	unsigned int n_origins;		/* 0 = any origin */
	char *origins[RCONF_MAX_ORIGINS];
	/*
	 * The auth-* options (strings owned), and the keyring
	 * rconf_auth_load() builds from them: NULL = auth off on this vhost.
	 */
	struct auth_config auth;
	unsigned int auth_timeout_s;
	struct auth_keyring *keyring;
	unsigned int given;		/* process-wide options set: 1 << i */
};

enum rconf_scope {
	RCONF_SCOPE_VHOST,	/* per vhost, checked per connection */
	RCONF_SCOPE_PROCESS,	/* the hub's: one value for every vhost */
};

/* How many process-wide options there are (bits of rconf.given). */
#define RCONF_N_PROCESS 5
/* Longest vhost name kept to name it in a conflict. */
#define RCONF_VHOST_NAME_MAX 64
/* Longest file path an option takes (Linux's PATH_MAX, NUL included). */
#define RCONF_PATH_MAX 4096

/*
 * The process-wide options as the hub takes them: the value some vhost
 * gave, or the default when none did.
 */
struct rconf_process {
	unsigned int history_size;	/* broadcasts held per room; 0 = off */
	size_t max_queued_bytes;	/* all rings together; 0 = no limit */
	size_t history_bytes;		/* held history of all rooms together */
	unsigned int history_ttl_s;	/* a room with history is kept so long */
	size_t max_reassembly_bytes;	/* all partial messages together */
	unsigned int given;		/* options some vhost gave: 1 << i */
	char given_by[RCONF_N_PROCESS][RCONF_VHOST_NAME_MAX];
	/*
	 * history-db, "" if no vhost named it: one file holds every vhost's
	 * rooms (the hub's history is one), so two vhosts may not name two.
	 */
	char history_db[RCONF_PATH_MAX];
	char history_db_by[RCONF_VHOST_NAME_MAX];
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

/* The scope of option @name (RCONF_SCOPE_VHOST for unknown names). */
enum rconf_scope rconf_scope_of(const char *name);

/* Fills @p with the defaults, given by no vhost. */
void rconf_process_init(struct rconf_process *p);

/*
 * Takes the process-wide options vhost @vhost's @c gave into @p. Returns
 * RM_OK, or RM_E_INVAL when another vhost gave one of them a different
 * value: @p is then unchanged and @err names the option and both vhosts.
 */
int rconf_process_take(struct rconf_process *p, const struct rconf *c,
		       const char *vhost, char *err, size_t errlen);
/*
 * Builds @c's keyring once every option is set (the auth-* options go
 * together: a bad pairing or key file is refused here). Returns RM_OK
 * (auth on or off; a warning, if any, in @err) or RM_E_INVAL with a
 * one-line reason naming the option in @err.
 */
int rconf_auth_load(struct rconf *c, char *err, size_t errlen);

/* Returns 1 if a browser @origin (the Origin header's value) may connect. */
int rconf_origin_allowed(const struct rconf *c, const char *origin);

/* Parses a decimal unsigned integer in [min, max] exactly, no sign, no
 * trailing text. Returns RM_OK or RM_E_INVAL. */
int rconf_parse_uint(const char *s, uint64_t min, uint64_t max,
		     uint64_t *out);

#endif
