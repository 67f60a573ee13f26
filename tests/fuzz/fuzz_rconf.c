/*
 * fuzz_rconf: option name/value pairs, as lwsws or --option pass them,
 * through rconf_set, rconf_origin_allowed, rconf_parse_uint and rconf_free.
 *
 * Input: the first byte sizes the error buffer (0-255 bytes, allocated
 * exactly, so an overflow is caught); then lines split on '\n'. A line
 * "NAME=VALUE" is rconf_set(NAME, VALUE); a line "?ORIGIN" asks
 * rconf_origin_allowed(ORIGIN); a line "#MIN,MAX,S" checks
 * rconf_parse_uint(S, MIN, MAX).
 *
 * Invariants:
 *  rconf_ret     rconf_set returns RM_OK, RM_E_INVAL, RM_E_NOENT (or
 *                RM_E_NOMEM), and NOENT exactly for names that are no option
 *  rconf_err     an error leaves a NUL-terminated, non-empty reason in err
 *  rconf_uint    a numeric option is accepted exactly when the value is a
 *                plain decimal in its range, and then stored
 *  rconf_choice  drop-policy / presence-events take exactly their two words
 *  rconf_origins allowed-origins splits on ',' and trims ' ' as documented;
 *                rconf_origin_allowed matches exactly the list (any origin
 *                when it is empty, and a missing Origin header always)
 *  parse_uint    rconf_parse_uint agrees with a reference
 *  rconf_ranges  every numeric field stays within its option's range
 */
#include "rconf.h"
#include "rm_err.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct uopt {
	const char *name;
	uint64_t min, max;
	size_t off;
	int is_size;
};

#define U(n, f, lo, hi) { n, lo, hi, offsetof(struct rconf, f), \
	sizeof(((struct rconf *)0)->f) == sizeof(size_t) }

/* From PROTOCOL.md's table and rconf.c's documented ranges. */
static const struct uopt uopts[] = {
	U("max-message-size", max_message_size, 16, 64u << 20),
	U("send-ring-size", send_ring_size, 1, 65536),
	U("send-ring-bytes", send_ring_bytes, 64, 1u << 30),
	U("ping-interval-s", ping_interval_s, 0, 86400),
	U("pong-timeout-s", pong_timeout_s, 1, 3600),
	U("max-connections", max_connections, 0, 10000000),
	U("max-connections-per-ip", max_connections_per_ip, 0, 10000000),
	U("ipv6-prefix-len", ipv6_prefix_len, 32, 128),
	U("max-queued-bytes", max_queued_bytes, 0, (uint64_t)1 << 40),
	U("max-reassembly-bytes", max_reassembly_bytes, 0, (uint64_t)1 << 40),
	U("reassembly-timeout-s", reassembly_timeout_s, 0, 3600),
	U("max-rooms-per-connection", max_rooms_per_connection, 1, 100000),
	U("max-messages-per-second", max_messages_per_second, 0, 1000000),
	U("history-size", history_size, 0, 100000),
	U("history-bytes", history_bytes, 0, (uint64_t)1 << 40),
	U("history-ttl-s", history_ttl_s, 0, 30u * 86400),
	U("auth-timeout-s", auth_timeout_s, 1, 86400),
};
#define N_UOPTS (sizeof(uopts) / sizeof(uopts[0]))

static const char *const other_names[] = {
	"drop-policy",
	"presence-events",
	"allowed-origins",
	"status",
	"default",
	"raw", /* lws's own: accepted, ignored */
	"history-db",
	"auth-secret",
	"auth-secret-file",
	"auth-alg",
	"auth-public-key-file",
	"auth-audience",
	"auth-issuer",
	"api-key",
	"api-key-file", /* checked, kept by the API glue */
	"redis-url",
	"redis-prefix", /* checked: the cluster */
};

static uint64_t
field(const struct rconf *c, const struct uopt *o)
{
	if (o->is_size)
		return *(const size_t *)((const char *)c + o->off);
	return *(const unsigned int *)((const char *)c + o->off);
}

/* Returns 1 and *@out if @s is a plain decimal in [min, max]. */
static int
ref_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned __int128 v = 0;
	const char *p;

	if (!*s)
		return 0;
	for (p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		v = v * 10 + (unsigned)(*p - '0');
		if (v > UINT64_MAX)
			return 0;
	}
	if (v < min || v > max)
		return 0;
	*out = (uint64_t)v;
	return 1;
}

/* PROTOCOL.md: a comma-separated list; ' ' around entries is trimmed. */
static unsigned int
ref_origins(const char *v, char out[][256], unsigned int max, int *too_many)
{
	unsigned int n = 0;
	const char *p = v, *end;
	size_t len;

	*too_many = 0;
	for (;;) {
		end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		while (p < end && *p == ' ')
			p++;
		len = (size_t)(end - p);
		while (len && p[len - 1] == ' ')
			len--;
		if (len) {
			if (n == max) {
				*too_many = 1;
				return n;
			}
			if (len > 255)
				len = 255;	/* compared on a prefix only */
			memcpy(out[n], p, len);
			out[n][len] = '\0';
			n++;
		}
		if (!*end)
			return n;
		p = end + 1;
	}
}

static void
check_ranges(const struct rconf *c)
{
	size_t i;

	for (i = 0; i < N_UOPTS; i++)
		CHECK("rconf_ranges", field(c, &uopts[i]) >= uopts[i].min &&
		      field(c, &uopts[i]) <= uopts[i].max);
	CHECK("rconf_ranges", c->n_origins <= RCONF_MAX_ORIGINS);
	CHECK("rconf_ranges", c->drop_policy == RCONF_DROP ||
	      c->drop_policy == RCONF_CLOSE);
	CHECK("rconf_ranges", c->presence_events == 0 || c->presence_events == 1);
}

static void
one_set(struct rconf *c, const char *name, const char *value, char *err,
	size_t errlen)
{
	static char want[RCONF_MAX_ORIGINS][256];
	size_t i;
	int r, too_many, known = 0;
	uint64_t v, old;

	if (errlen)
		memset(err, 'Z', errlen);
	for (i = 0; i < N_UOPTS; i++) {
		if (strcmp(name, uopts[i].name))
			continue;
		known = 1;
		old = field(c, &uopts[i]);
		r = rconf_set(c, name, value, err, errlen);
		if (ref_uint(value, uopts[i].min, uopts[i].max, &v)) {
			CHECK("rconf_uint", r == RM_OK && field(c, &uopts[i]) == v);
		} else {
			CHECK("rconf_uint", r == RM_E_INVAL);
			CHECK("rconf_uint", field(c, &uopts[i]) == old);
		}
		goto check_err;
	}
	for (i = 0; i < sizeof(other_names) / sizeof(other_names[0]); i++)
		if (!strcmp(name, other_names[i]))
			known = 1;
	r = rconf_set(c, name, value, err, errlen);
	CHECK("rconf_ret", r == RM_OK || r == RM_E_INVAL || r == RM_E_NOENT ||
	      r == RM_E_NOMEM);
	CHECK("rconf_ret", (r == RM_E_NOENT) == !known);
	if (!strcmp(name, "drop-policy")) {
		CHECK("rconf_choice", (r == RM_OK) == (!strcmp(value, "drop") ||
						      !strcmp(value, "close")));
		if (!r)
			CHECK("rconf_choice", c->drop_policy ==
			      (!strcmp(value, "close") ? RCONF_CLOSE : RCONF_DROP));
	} else if (!strcmp(name, "presence-events")) {
		CHECK("rconf_choice", (r == RM_OK) == (!strcmp(value, "on") ||
						      !strcmp(value, "off")));
		if (!r)
			CHECK("rconf_choice", c->presence_events ==
			      !strcmp(value, "on"));
	} else if (!strcmp(name, "allowed-origins")) {
		unsigned int n = ref_origins(value, want, RCONF_MAX_ORIGINS,
					     &too_many);

		CHECK("rconf_origins", (r == RM_OK) == !too_many);
		if (!r) {
			CHECK("rconf_origins", c->n_origins == n);
			for (i = 0; i < n; i++) {
				CHECK("rconf_origins",
				      !strncmp(c->origins[i], want[i], 255));
				CHECK("rconf_origins",
				      rconf_origin_allowed(c, c->origins[i]));
			}
		}
	} else if (known && r) {
		CHECK("rconf_ret", r == RM_E_INVAL);	/* unsupported */
	} else if (known) {
		CHECK("rconf_ret", r == RM_OK);		/* lws's own */
	}
check_err:
	if (r && r != RM_E_NOMEM && errlen) {
		CHECK("rconf_err", memchr(err, '\0', errlen) != NULL);
		CHECK("rconf_err", errlen == 1 || err[0]);
	}
	check_ranges(c);
}

static void
one_origin(const struct rconf *c, const char *origin)
{
	unsigned int i;
	int listed = 0;

	for (i = 0; i < c->n_origins; i++)
		if (!strcmp(c->origins[i], origin))
			listed = 1;
	CHECK("rconf_origins", rconf_origin_allowed(c, origin) ==
	      (!c->n_origins || listed));
	CHECK("rconf_origins", rconf_origin_allowed(c, NULL));
}

static void
one_uint(const char *line)
{
	unsigned long long min, max;
	int off = 0;
	uint64_t got = 7, want;
	int r;

	if (sscanf(line, "%llu,%llu,%n", &min, &max, &off) != 2 || !off)
		return;
	r = rconf_parse_uint(line + off, min, max, &got);
	if (ref_uint(line + off, min, max, &want))
		CHECK("parse_uint", r == RM_OK && got == want);
	else
		CHECK("parse_uint", r == RM_E_INVAL && got == 7);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	size_t errlen = fz_byte(&in), len;
	char *err = malloc(errlen ? errlen : 1);
	char *text = malloc(in.n + 1), *line, *next, *eq;
	struct rconf c;
	unsigned int n = 0;

	if (!err || !text)
		abort();
	memcpy(text, in.p, in.n);
	text[in.n] = '\0';
	rconf_init(&c);
	check_ranges(&c);
	for (line = text; line && n++ < 256; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		len = strlen(line);
		if (len && line[0] == '?') {
			one_origin(&c, line + 1);
		} else if (len && line[0] == '#') {
			one_uint(line + 1);
		} else if ((eq = strchr(line, '='))) {
			*eq = '\0';
			one_set(&c, line, eq + 1, err, errlen);
		}
	}
	rconf_free(&c);
	free(text);
	free(err);
	return 0;
}
