/*
 * rconf.c: option parsing for roomcast.v1 (see rconf.h).
 */
#include "rconf.h"
#include "apikey.h"
#include "bus.h"
#include "rm_err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
rconf_init(struct rconf *c)
{
	memset(c, 0, sizeof(*c));
	c->max_message_size = 65536;
	c->send_ring_size = 256;
	c->send_ring_bytes = 1048576;
	c->drop_policy = RCONF_DROP;
	c->ping_interval_s = 30;
	c->pong_timeout_s = 10;
	c->max_connections = 0;
	/* a /64 is what one subscriber is given: one client, for per-ip */
	c->ipv6_prefix_len = 64;
	c->max_rooms_per_connection = 64;
	c->max_messages_per_second = 0;
	c->presence_events = 0;
	c->auth_timeout_s = 10;
	c->history_bytes = 16u << 20;
	c->history_ttl_s = 300;
	/*
	 * Partial messages of all connections together (docs/RELIABILITY.md,
	 * "Unfinished messages"): 1024 connections each near the default
	 * max-message-size, and a message that starts must end within 10 s.
	 */
	c->max_reassembly_bytes = 64u << 20;
	c->reassembly_timeout_s = 10;
}

void
rconf_free(struct rconf *c)
{
	unsigned int i;

	for (i = 0; i < c->n_origins; i++)
		free(c->origins[i]);
	c->n_origins = 0;
	auth_keyring_destroy(c->keyring);
	c->keyring = NULL;
	free((char *)c->auth.alg);
	free((char *)c->auth.secret);
	free((char *)c->auth.secret_file);
	free((char *)c->auth.public_key_file);
	free((char *)c->auth.audience);
	free((char *)c->auth.issuer);
	memset(&c->auth, 0, sizeof(c->auth));
	free(c->history_db);
	c->history_db = NULL;
	free(c->redis_url);
	free(c->redis_prefix);
	c->redis_url = c->redis_prefix = NULL;
}

/* redis-url and redis-prefix (PROTOCOL.md, Cluster over Redis). */
static int
set_redis(struct rconf *c, const char *name, const char *value, char *err,
	  size_t errlen)
{
	struct bus_url u;
	char **slot = name[6] == 'u' ? &c->redis_url : &c->redis_prefix;
	char *copy;
	size_t n = strlen(value), i;

	if (slot == &c->redis_url && bus_parse_url(value, &u, err, errlen))
		return RM_E_INVAL;
	for (i = 0; slot == &c->redis_prefix && i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789_.-", value[i]))
			break;
	if (slot == &c->redis_prefix && (!n || n > 64 || i < n)) {
		snprintf(err, errlen, "redis-prefix: '%s' is not 1-64 bytes of "
			 "[A-Za-z0-9_.-]", value);
		return RM_E_INVAL;
	}
	copy = strdup(value);
	if (!copy)
		return RM_E_NOMEM;
	free(*slot);
	*slot = copy;
	return RM_OK;
}

int
rconf_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	const char *p;

	if (!s || !*s)
		return RM_E_INVAL;
	for (p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return RM_E_INVAL;
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return RM_E_INVAL;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v < min || v > max)
		return RM_E_INVAL;
	*out = v;
	return RM_OK;
}

/* Replaces the origin list with @value's; on error the old list stays. */
static int
set_origins(struct rconf *c, const char *value, char *err, size_t errlen)
{
	char *list[RCONF_MAX_ORIGINS];
	const char *p = value, *end;
	unsigned int n = 0, i;
	size_t len;

	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		end = p;
		while (*end && *end != ',')
			end++;
		len = (size_t)(end - p);
		while (len && p[len - 1] == ' ')
			len--;
		if (n == RCONF_MAX_ORIGINS) {
			snprintf(err, errlen, "allowed-origins: more than %d "
				 "origins", RCONF_MAX_ORIGINS);
			goto bail_list;
		}
		list[n] = strndup(p, len);
		if (!list[n])
			goto bail_list;
		n++;
		p = end;
	}
	rconf_free(c);
	memcpy(c->origins, list, n * sizeof(list[0]));
	c->n_origins = n;
	return RM_OK;

bail_list:
	for (i = 0; i < n; i++)
		free(list[i]);
	return RM_E_INVAL;
}

/* A file path option: non-empty; replaces the old value. */
static int
set_path(char **out, const char *name, const char *value, char *err,
	 size_t errlen)
{
	char *p;

	if (!*value) {
		snprintf(err, errlen, "%s: an empty path", name);
		return RM_E_INVAL;
	}
	if (strlen(value) >= RCONF_PATH_MAX) {
		snprintf(err, errlen, "%s: a path longer than %d bytes", name,
			 RCONF_PATH_MAX - 1);
		return RM_E_INVAL;
	}
	p = strdup(value);
	if (!p) {
		snprintf(err, errlen, "%s: out of memory", name);
		return RM_E_INVAL;
	}
	free(*out);
	*out = p;
	return RM_OK;
}

/* One numeric option: its name, where it lives, its range. */
struct uint_opt {
	const char *name;
	size_t offset;
	int is_size_t;
	uint64_t min, max;
};

#define UOPT(n, field, min, max)                                             \
	{ n, offsetof(struct rconf, field),                                  \
	  sizeof(((struct rconf *)0)->field) == sizeof(size_t), min, max }

static const struct uint_opt uint_opts[] = {
	UOPT("max-message-size", max_message_size, 16, 64u << 20),
	UOPT("send-ring-size", send_ring_size, 1, 65536),
	UOPT("send-ring-bytes", send_ring_bytes, 64, 1u << 30),
	UOPT("ping-interval-s", ping_interval_s, 0, 86400),
	UOPT("pong-timeout-s", pong_timeout_s, 1, 3600),
	UOPT("max-connections", max_connections, 0, 10000000),
	UOPT("max-connections-per-ip", max_connections_per_ip, 0, 10000000),
	UOPT("ipv6-prefix-len", ipv6_prefix_len, 32, 128),
	UOPT("max-queued-bytes", max_queued_bytes, 0, (uint64_t)1 << 40),
	UOPT("max-reassembly-bytes", max_reassembly_bytes, 0,
	     (uint64_t)1 << 40),
	UOPT("reassembly-timeout-s", reassembly_timeout_s, 0, 3600),
	UOPT("max-rooms-per-connection", max_rooms_per_connection, 1, 100000),
	UOPT("max-messages-per-second", max_messages_per_second, 0, 1000000),
	UOPT("history-size", history_size, 0, 100000),
	UOPT("history-bytes", history_bytes, 0, (uint64_t)1 << 40),
	UOPT("history-ttl-s", history_ttl_s, 0, 30u * 86400),
	UOPT("auth-timeout-s", auth_timeout_s, 1, 86400),
};

/*
 * The process-wide options (rconf.h), bit i of rconf.given: where each
 * lives in struct rconf and in struct rconf_process.
 */
static const struct process_opt {
	const char *name;
	size_t offset, p_offset;
	int is_size_t;
} process_opts[RCONF_N_PROCESS] = {
	{ "history-size", offsetof(struct rconf, history_size),
	  offsetof(struct rconf_process, history_size), 0 },
	{ "max-queued-bytes", offsetof(struct rconf, max_queued_bytes),
	  offsetof(struct rconf_process, max_queued_bytes), 1 },
	{ "history-bytes", offsetof(struct rconf, history_bytes),
	  offsetof(struct rconf_process, history_bytes), 1 },
	{ "history-ttl-s", offsetof(struct rconf, history_ttl_s),
	  offsetof(struct rconf_process, history_ttl_s), 0 },
	{ "max-reassembly-bytes", offsetof(struct rconf, max_reassembly_bytes),
	  offsetof(struct rconf_process, max_reassembly_bytes), 1 },
};

/* Names lws itself reads from a protocol's per-vhost options. */
static const char *const lws_opts[] = { "status", "default", "raw" };

/*
 * The server API's key: process-wide, so taken by the glue from whichever
 * vhost sets it (mounts/api.c), not kept per vhost. Checked here (a key
 * file read once) so that --option refuses a bad one with its reason.
 */
static const char *const api_opts[] = { "api-key", "api-key-file" };

static int
set_uint(const struct uint_opt *o, struct rconf *c, const char *value,
	 char *err, size_t errlen)
{
	unsigned int i;
	uint64_t v;

	if (rconf_parse_uint(value, o->min, o->max, &v)) {
		snprintf(err, errlen, "%s: '%s' is not a whole number from "
			 "%llu to %llu", o->name, value,
			 (unsigned long long)o->min,
			 (unsigned long long)o->max);
		return RM_E_INVAL;
	}
	if (o->is_size_t)
		*(size_t *)((char *)c + o->offset) = (size_t)v;
	else
		*(unsigned int *)((char *)c + o->offset) = (unsigned int)v;
	for (i = 0; i < RCONF_N_PROCESS; i++)
		if (!strcmp(o->name, process_opts[i].name))
			c->given |= 1u << i;
	return RM_OK;
}

static int
set_choice(const char *name, const char *value, const char *a, const char *b,
	   int *out, char *err, size_t errlen)
{
	if (!strcmp(value, a))
		*out = 0;
	else if (!strcmp(value, b))
		*out = 1;
	else {
		snprintf(err, errlen, "%s: '%s' is neither '%s' nor '%s'",
			 name, value, a, b);
		return RM_E_INVAL;
	}
	return RM_OK;
}

/* The auth-* string options: where each is kept (checked together later). */
static const char **
auth_field(struct rconf *c, const char *name)
{
	if (!strcmp(name, "auth-alg"))
		return &c->auth.alg;
	if (!strcmp(name, "auth-secret"))
		return &c->auth.secret;
	if (!strcmp(name, "auth-secret-file"))
		return &c->auth.secret_file;
	if (!strcmp(name, "auth-public-key-file"))
		return &c->auth.public_key_file;
	if (!strcmp(name, "auth-audience"))
		return &c->auth.audience;
	if (!strcmp(name, "auth-issuer"))
		return &c->auth.issuer;
	return NULL;
}

static int
set_auth(struct rconf *c, const char *name, const char *value, char *err,
	 size_t errlen)
{
	const char **field = auth_field(c, name);
	char *copy;

	if (!field) {
		snprintf(err, errlen, "%s: unknown option", name);
		return RM_E_NOENT;
	}
	if (!*value) {
		snprintf(err, errlen, "%s: empty value", name);
		return RM_E_INVAL;
	}
	copy = strdup(value);
	if (!copy) {
		snprintf(err, errlen, "%s: out of memory", name);
		return RM_E_INVAL;
	}
	free((char *)*field);
	*field = copy;
	return RM_OK;
}

int
rconf_auth_load(struct rconf *c, char *err, size_t errlen)
{
	char why[256];

	if (errlen)
		err[0] = '\0';
	auth_keyring_destroy(c->keyring);
	c->keyring = NULL;
	if (!auth_config_enabled(&c->auth)) {
		const char *stray = c->auth.alg ? "auth-alg" :
				    c->auth.audience ? "auth-audience" :
				    c->auth.issuer ? "auth-issuer" : NULL;

		if (!stray)
			return RM_OK;
		snprintf(err, errlen, "%s: set without auth-secret, "
			 "auth-secret-file or auth-public-key-file", stray);
		return RM_E_INVAL;
	}
	why[0] = '\0';
	c->keyring = auth_keyring_create(&c->auth, why, sizeof(why));
	if (!c->keyring && strncmp(why, "auth-", 5))
		/* a key file's error names the file: name the option too */
		snprintf(err, errlen, "%s: %s", c->auth.secret_file ?
			 "auth-secret-file" : c->auth.public_key_file ?
			 "auth-public-key-file" : "auth-secret", why);
	else
		snprintf(err, errlen, "%s", why); /* or a warning */
	return c->keyring ? RM_OK : RM_E_INVAL;
}

int
rconf_set(struct rconf *c, const char *name, const char *value, char *err,
	  size_t errlen)
{
	size_t i;
	int v;

	for (i = 0; i < sizeof(uint_opts) / sizeof(uint_opts[0]); i++)
		if (!strcmp(name, uint_opts[i].name))
			return set_uint(&uint_opts[i], c, value, err, errlen);
	if (!strcmp(name, "drop-policy")) {
		if (set_choice(name, value, "drop", "close", &v, err, errlen))
			return RM_E_INVAL;
		c->drop_policy = v ? RCONF_CLOSE : RCONF_DROP;
		return RM_OK;
	}
	if (!strcmp(name, "presence-events"))
		return set_choice(name, value, "off", "on", &c->presence_events,
				  err, errlen) ? RM_E_INVAL : RM_OK;
	if (!strcmp(name, "allowed-origins"))
		return set_origins(c, value, err, errlen);
	if (!strncmp(name, "auth-", 5))
		return set_auth(c, name, value, err, errlen);
	if (!strcmp(name, "history-db"))
		return set_path(&c->history_db, name, value, err, errlen);
	if (!strcmp(name, "redis-url") || !strcmp(name, "redis-prefix"))
		return set_redis(c, name, value, err, errlen);
	for (i = 0; i < sizeof(lws_opts) / sizeof(lws_opts[0]); i++)
		if (!strcmp(name, lws_opts[i]))
			return RM_OK;
	for (i = 0; i < sizeof(api_opts) / sizeof(api_opts[0]); i++)
		if (!strcmp(name, api_opts[i])) {
			struct apikey k = { 0 };
			int r = apikey_set(&k, i ? NULL : value,
					   i ? value : NULL, err, errlen);

			/* a key file that cannot be read stops the start */
			apikey_clear(&k);
			return r ? RM_E_INVAL : RM_OK;
		}
	snprintf(err, errlen, "%s: unknown option", name);
	return RM_E_NOENT;
}

int
rconf_origin_allowed(const struct rconf *c, const char *origin)
{
	unsigned int i;

	if (!c->n_origins || !origin)
		return 1;
	for (i = 0; i < c->n_origins; i++)
		if (!strcmp(c->origins[i], origin))
			return 1;
	return 0;
}

/*---- scope ----*/

enum rconf_scope
rconf_scope_of(const char *name)
{
	unsigned int i;

	for (i = 0; i < RCONF_N_PROCESS; i++)
		if (!strcmp(name, process_opts[i].name))
			return RCONF_SCOPE_PROCESS;
	if (!strcmp(name, "history-db"))
		return RCONF_SCOPE_PROCESS;
	return RCONF_SCOPE_VHOST;
}

void
rconf_process_init(struct rconf_process *p)
{
	struct rconf d;

	rconf_init(&d);
	memset(p, 0, sizeof(*p));
	p->history_size = d.history_size;
	p->max_queued_bytes = d.max_queued_bytes;
	p->history_bytes = d.history_bytes;
	p->history_ttl_s = d.history_ttl_s;
	p->max_reassembly_bytes = d.max_reassembly_bytes;
}

/* The value of a process-wide option at @offset of @base. */
static uint64_t
process_value(const void *base, size_t offset, int is_size_t)
{
	const char *b = base;

	if (is_size_t)
		return *(const size_t *)(b + offset);
	return *(const unsigned int *)(b + offset);
}

int
rconf_process_take(struct rconf_process *p, const struct rconf *c,
		   const char *vhost, char *err, size_t errlen)
{
	const struct process_opt *o;
	uint64_t mine, theirs;
	unsigned int i;

	/* check all first: a conflict leaves @p as it was */
	for (i = 0; i < RCONF_N_PROCESS; i++) {
		o = &process_opts[i];
		if (!(c->given & p->given & (1u << i)))
			continue;
		mine = process_value(c, o->offset, o->is_size_t);
		theirs = process_value(p, o->p_offset, o->is_size_t);
		if (mine == theirs)
			continue;
		snprintf(err, errlen,
			 "%s: vhost '%s' gives %llu but vhost "
			 "'%s' gave %llu; it is process-wide (one value for "
			 "every vhost)",
			 o->name, vhost, (unsigned long long)mine,
			 p->given_by[i], (unsigned long long)theirs);
		return RM_E_INVAL;
	}
	if (c->history_db && p->history_db[0] &&
	    strcmp(c->history_db, p->history_db)) {
		snprintf(err, errlen,
			 "history-db: vhost '%s' gives %s but vhost '%s' gave "
			 "%s; it is process-wide (one file holds every vhost's "
			 "rooms)",
			 vhost, c->history_db, p->history_db_by, p->history_db);
		return RM_E_INVAL;
	}
	if (c->history_db && !p->history_db[0]) {
		snprintf(p->history_db, sizeof(p->history_db), "%s",
			 c->history_db);
		snprintf(p->history_db_by, sizeof(p->history_db_by), "%s",
			 vhost);
	}
	for (i = 0; i < RCONF_N_PROCESS; i++) {
		o = &process_opts[i];
		if (!(c->given & (1u << i)) || p->given & (1u << i))
			continue;
		if (o->is_size_t)
			*(size_t *)((char *)p + o->p_offset) =
				*(const size_t *)((const char *)c + o->offset);
		else
			*(unsigned int *)((char *)p + o->p_offset) =
				*(const unsigned int *)((const char *)c +
							o->offset);
		p->given |= 1u << i;
		snprintf(p->given_by[i], sizeof(p->given_by[i]), "%s", vhost);
	}
	return RM_OK;
}
