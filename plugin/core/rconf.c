/*
 * rconf.c: option parsing for roomcast.v1 (see rconf.h).
 */
#include "rconf.h"
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
	c->max_rooms_per_connection = 64;
	c->max_messages_per_second = 0;
	c->presence_events = 0;
}

void
rconf_free(struct rconf *c)
{
	unsigned int i;

	for (i = 0; i < c->n_origins; i++)
		free(c->origins[i]);
	c->n_origins = 0;
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
	UOPT("max-queued-bytes", max_queued_bytes, 0, (uint64_t)1 << 40),
	UOPT("max-rooms-per-connection", max_rooms_per_connection, 1, 100000),
	UOPT("max-messages-per-second", max_messages_per_second, 0, 1000000),
	UOPT("history-size", history_size, 0, 100000),
};

/*
 * Options of PROTOCOL.md that belong to features this build does not have
 * yet. They are refused rather than accepted and ignored: a server that
 * silently runs without the auth it was configured for is worse than one
 * that does not start.
 */
static const char *const unsupported_opts[] = {
	"history-db", "auth-secret", "auth-secret-file",
	"auth-timeout-s",
};

/* Names lws itself reads from a protocol's per-vhost options. */
static const char *const lws_opts[] = { "status", "default", "raw" };

static int
set_uint(const struct uint_opt *o, struct rconf *c, const char *value,
	 char *err, size_t errlen)
{
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
	if (!strcmp(name, "redis-url") || !strcmp(name, "redis-prefix"))
		return set_redis(c, name, value, err, errlen);
	for (i = 0; i < sizeof(lws_opts) / sizeof(lws_opts[0]); i++)
		if (!strcmp(name, lws_opts[i]))
			return RM_OK;
	for (i = 0; i < sizeof(unsupported_opts) / sizeof(unsupported_opts[0]);
	     i++)
		if (!strcmp(name, unsupported_opts[i])) {
			snprintf(err, errlen, "%s: not supported by this "
				 "version of roomcast", name);
			return RM_E_INVAL;
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
