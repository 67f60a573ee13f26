/*
 * bus.c: the pure half of the Redis bus (see bus.h).
 */
#include "bus.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * One EVALSHA per accepted message, whatever the number of members: the
 * seq, the epoch, the stream entry, the PUBLISH and the idempotency record
 * happen in one step, so Redis's order of the channel is the seq order.
 * A seq of 1 means the room's state was made again (or lost): a stream
 * left from an earlier incarnation is stale and goes. A room with no
 * member anywhere (an API publish) is kept as a process keeps it:
 * history-ttl-s with history, else not at all (the next publish makes it
 * again, with a new epoch).
 */
const char bus_lua_publish[] =
	"local meta, hist, chan, idem = KEYS[1], KEYS[2], KEYS[3], KEYS[4]\n"
	"local hsize, ttl = tonumber(ARGV[3]), tonumber(ARGV[4])\n"
	"if idem ~= '' then\n"
	"  local prev = redis.call('get', idem)\n"
	"  if prev then\n"
	"    local i = string.find(prev, ':', 1, true)\n"
	"    return {tonumber(string.sub(prev, 1, i - 1)),\n"
	"            string.sub(prev, i + 1), 1}\n"
	"  end\n"
	"end\n"
	"local seq = redis.call('hincrby', meta, 's', 1)\n"
	"local epoch = redis.call('hget', meta, 'e')\n"
	"if not epoch then\n"
	"  epoch = ARGV[5]\n"
	"  redis.call('hset', meta, 'e', epoch)\n"
	"end\n"
	"if seq == 1 then redis.call('del', hist) end\n"
	"local payload = ARGV[1] .. seq .. ',\"content\":' .. ARGV[2] .. '}'\n"
	"if hsize > 0 then\n"
	"  redis.call('xadd', hist, 'MAXLEN', hsize, seq .. '-0', 'd', payload)\n"
	"  redis.call('expire', hist, ttl)\n"
	"end\n"
	"local pres = KEYS[5]\n"
	"if pres and redis.call('exists', pres) == 0 then\n"
	"  if hsize > 0 then redis.call('expire', meta, ttl)\n"
	"  else redis.call('del', meta) end\n"
	"else\n"
	"  redis.call('expire', meta, tonumber(ARGV[6]))\n"
	"end\n"
	"redis.call('publish', chan, seq .. ':' .. epoch .. ':' .. payload)\n"
	"if idem ~= '' then\n"
	"  redis.call('set', idem, seq .. ':' .. epoch, 'EX', 300)\n"
	"end\n"
	"return {seq, epoch, 0}\n";

/* Drops the nodes whose count expired (a crashed process's members). */
#define LUA_DROP_DEAD \
	"for _, n in ipairs(redis.call('zrangebyscore', pexp, '-inf', now)) do\n" \
	"  redis.call('hdel', pres, n)\n" \
	"  redis.call('zrem', pexp, n)\n" \
	"end\n"

/* Sets this node's count (0 removes it). */
#define LUA_SET_COUNT \
	"if count > 0 then\n" \
	"  redis.call('hset', pres, node, count)\n" \
	"  redis.call('zadd', pexp, exp, node)\n" \
	"else\n" \
	"  redis.call('hdel', pres, node)\n" \
	"  redis.call('zrem', pexp, node)\n" \
	"end\n"

/* Appends to `out` the held messages after `since`, and the first's seq. */
#define LUA_HELD_AFTER(first_at) \
	"  local ents = redis.call('xrange', hist, (since + 1) .. '-0', '+')\n" \
	"  if #ents > 0 then\n" \
	"    out[" first_at "] = tonumber(string.match(ents[1][1], '^(%d+)'))\n" \
	"    for _, e in ipairs(ents) do out[#out + 1] = e[2][2] end\n" \
	"  end\n"

const char bus_lua_join[] =
	"local meta, hist, pres, pexp = KEYS[1], KEYS[2], KEYS[3], KEYS[4]\n"
	"local node, count = ARGV[1], tonumber(ARGV[2])\n"
	"local now, exp = tonumber(ARGV[3]), tonumber(ARGV[4])\n"
	"local epoch = redis.call('hget', meta, 'e')\n"
	"if not epoch then\n"
	"  epoch = ARGV[5]\n"
	"  redis.call('hset', meta, 'e', epoch)\n"
	"end\n"
	"redis.call('expire', meta, tonumber(ARGV[8]))\n"
	"local seq = tonumber(redis.call('hget', meta, 's') or '0')\n"
	LUA_SET_COUNT
	LUA_DROP_DEAD
	"redis.call('expire', pres, 120)\n"
	"redis.call('expire', pexp, 120)\n"
	"local total = 0\n"
	"for _, v in ipairs(redis.call('hvals', pres)) do\n"
	"  total = total + tonumber(v)\n"
	"end\n"
	"local out = {seq, epoch, total, 0}\n"
	"local since = tonumber(ARGV[6])\n"
	"if since >= 0 and ARGV[7] == epoch and since < seq then\n"
	LUA_HELD_AFTER("4")
	"end\n"
	"return out\n";

const char bus_lua_fetch[] =
	"local meta, hist = KEYS[1], KEYS[2]\n"
	"local epoch = redis.call('hget', meta, 'e') or ''\n"
	"local seq = tonumber(redis.call('hget', meta, 's') or '0')\n"
	"local out = {seq, epoch, 0}\n"
	"local since = tonumber(ARGV[1])\n"
	"if epoch ~= ARGV[2] then since = 0 end\n"
	"if since < seq then\n"
	LUA_HELD_AFTER("3")
	"end\n"
	"return out\n";

const char bus_lua_presence[] =
	"local meta, pres, pexp, ulist = KEYS[1], KEYS[2], KEYS[3], KEYS[4]\n"
	"local node, count = ARGV[1], tonumber(ARGV[2])\n"
	"local now, exp = tonumber(ARGV[3]), tonumber(ARGV[4])\n"
	"local keep, users = tonumber(ARGV[5]), ARGV[6]\n" LUA_SET_COUNT
	"if ulist then\n"
	"  if count == 0 then redis.call('hdel', ulist, node)\n"
	"  elseif users and users ~= '' then\n"
	"    redis.call('hset', ulist, node, users)\n"
	"  end\n"
	"end\n" LUA_DROP_DEAD "if redis.call('hlen', pres) == 0 then\n"
	"  redis.call('del', pres, pexp)\n"
	"  if ulist then redis.call('del', ulist) end\n"
	"  if keep == 0 then redis.call('del', meta)\n"
	"  else redis.call('expire', meta, keep) end\n"
	"else\n"
	"  redis.call('expire', pres, 120)\n"
	"  redis.call('expire', pexp, 120)\n"
	"  if ulist then redis.call('expire', ulist, 120) end\n"
	"end\n"
	"return 1\n";

/*
 * A room's users across the cluster: the live nodes' counts summed and
 * each other live node's list (a dead node's list is not read, whatever
 * is left of it).
 */
const char bus_lua_members[] =
	"local meta, pres, pexp, ulist = KEYS[1], KEYS[2], KEYS[3], KEYS[4]\n"
	"local now, self = tonumber(ARGV[1]), ARGV[2]\n" LUA_DROP_DEAD
	"local out = {0, tonumber(redis.call('hget', meta, 's') or '0'),\n"
	"             redis.call('hget', meta, 'e') or ''}\n"
	"local kv = redis.call('hgetall', pres)\n"
	"for i = 1, #kv, 2 do\n"
	"  out[1] = out[1] + tonumber(kv[i + 1])\n"
	"  if kv[i] ~= self then\n"
	"    local l = redis.call('hget', ulist, kv[i])\n"
	"    if l then out[#out + 1] = l end\n"
	"  end\n"
	"end\n"
	"return out\n";

/*
 * A direct message: it goes out only when the user has a connection on
 * some node whose count has not expired; the answer is that count (0:
 * no_such_user). KEYS: upres, uexp, channel. ARGV: now-ms, frame.
 */
const char bus_lua_direct[] =
	"local pres, pexp = KEYS[1], KEYS[2]\n"
	"local now = tonumber(ARGV[1])\n"
	LUA_DROP_DEAD
	"local total = 0\n"
	"for _, v in ipairs(redis.call('hvals', pres)) do\n"
	"  total = total + tonumber(v)\n"
	"end\n"
	"if total > 0 then redis.call('publish', KEYS[3], ARGV[2]) end\n"
	"return total\n";

int
bus_name(char *buf, size_t len, const char *prefix, const char *kind,
	 const char *id, size_t id_len)
{
	int n = snprintf(buf, len, "%s:%s:%.*s", prefix, kind, (int)id_len,
			 id);

	return n < 0 || (size_t)n >= len ? -1 : n;
}

int
bus_unframe(const char *p, size_t len, uint64_t *seq, const char **epoch,
	    size_t *epoch_len, const char **json, size_t *json_len)
{
	const char *end = p + len, *q = p, *e;
	uint64_t v = 0;

	while (q < end && *q >= '0' && *q <= '9' && q - p < 20)
		v = v * 10 + (uint64_t)(*q++ - '0');
	if (q == p || q == end || *q != ':')
		return -1;
	e = ++q;
	while (q < end && *q != ':')
		q++;
	if (q == end || q == e || (size_t)(q - e) > BUS_EPOCH_MAX)
		return -1;
	*seq = v;
	*epoch = e;
	*epoch_len = (size_t)(q - e);
	*json = q + 1;
	*json_len = (size_t)(end - q - 1);
	return *json_len ? 0 : -1;
}

int
bus_frame(char *buf, size_t len, uint64_t seq, const char *epoch,
	  const char *json, size_t json_len)
{
	int n = snprintf(buf, len, "%" PRIu64 ":%s:", seq, epoch);

	if (n < 0 || (size_t)n + json_len + 1 > len)
		return -1;
	memcpy(buf + n, json, json_len);
	buf[n + json_len] = '\0';
	return n + (int)json_len;
}

/* Copies [s, e) into @dst of @cap bytes; returns -1 if it does not fit. */
static int
copy_part(char *dst, size_t cap, const char *s, const char *e)
{
	if ((size_t)(e - s) >= cap)
		return -1;
	memcpy(dst, s, (size_t)(e - s));
	dst[e - s] = '\0';
	return 0;
}

/* HOST[:PORT][/DB] after "redis://" and an optional ":PASSWORD@". */
static int
parse_host(const char *p, struct bus_url *out, char *err, size_t errlen)
{
	const char *slash = strchr(p, '/'), *end = slash ? slash : p + strlen(p);
	const char *colon = memchr(p, ':', (size_t)(end - p));
	char *x;
	long v;

	if (copy_part(out->host, sizeof(out->host), p, colon ? colon : end) ||
	    !out->host[0]) {
		snprintf(err, errlen, "no host");
		return -1;
	}
	if (colon) {
		v = strtol(colon + 1, &x, 10);
		if (x != end || colon + 1 == end || v < 1 || v > 65535) {
			snprintf(err, errlen, "bad port");
			return -1;
		}
		out->port = (int)v;
	}
	if (slash && slash[1]) {
		v = strtol(slash + 1, &x, 10);
		if (*x || v < 0 || v > 1000000) {
			snprintf(err, errlen, "bad database number");
			return -1;
		}
		out->db = (unsigned int)v;
	}
	return 0;
}

int
bus_parse_url(const char *url, struct bus_url *out, char *err, size_t errlen)
{
	const char *p, *at;
	char why[64];

	memset(out, 0, sizeof(*out));
	out->port = 6379;
	if (!strncmp(url, "unix:", 5)) {
		if (!url[5] || copy_part(out->path, sizeof(out->path), url + 5,
					 url + strlen(url))) {
			snprintf(err, errlen, "redis-url: bad unix socket path");
			return -1;
		}
		return 0;
	}
	if (strncmp(url, "redis://", 8)) {
		snprintf(err, errlen, "redis-url: '%s' is neither redis://... "
			 "nor unix:PATH", url);
		return -1;
	}
	p = url + 8;
	at = strrchr(p, '@');
	if (at) {
		if (*p != ':' || copy_part(out->password, sizeof(out->password),
					   p + 1, at)) {
			snprintf(err, errlen, "redis-url: bad password part");
			return -1;
		}
		p = at + 1;
	}
	/* the reason in a buffer of our own: @err may hold no byte at all */
	if (parse_host(p, out, why, sizeof(why))) {
		snprintf(err, errlen, "redis-url: '%s': %s", url, why);
		return -1;
	}
	return 0;
}

enum bus_verdict
bus_seen_judge(const struct bus_seen *seen, uint64_t seq, const char *epoch,
	       size_t epoch_len)
{
	if (!seen->epoch[0])
		return BUS_DELIVER;	/* nothing known yet: take it as it is */
	if (strlen(seen->epoch) != epoch_len ||
	    memcmp(seen->epoch, epoch, epoch_len))
		return BUS_NEW_EPOCH;
	if (seq <= seen->seq)
		return BUS_DUPLICATE;
	return seq == seen->seq + 1 ? BUS_DELIVER : BUS_GAP;
}

void
bus_seen_take(struct bus_seen *seen, uint64_t seq, const char *epoch,
	      size_t epoch_len)
{
	if (epoch_len > BUS_EPOCH_MAX)
		epoch_len = BUS_EPOCH_MAX;
	memcpy(seen->epoch, epoch, epoch_len);
	seen->epoch[epoch_len] = '\0';
	seen->seq = seq;
}

uint64_t
bus_node_number(long long seq)
{
	if (seq < 1)
		return 0;
	return ((uint64_t)seq - 1) % BUS_NODE_MAX + 1;
}

uint64_t
bus_node_of(uint64_t conn_id)
{
	return conn_id >> BUS_NODE_SHIFT;
}

/* Reads 1-20 digits at *@p (before @end) into *@v; -1 on none or overflow. */
static int
read_u64(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;
	uint64_t d;

	*v = 0;
	while (*p < end && **p >= '0' && **p <= '9') {
		d = (uint64_t)(**p - '0');
		if (*v > (UINT64_MAX - d) / 10)
			return -1;
		*v = *v * 10 + d;
		(*p)++;
	}
	return *p == s ? -1 : 0;
}

int
bus_node_tag(const char *tag, size_t len, char *kind, uint64_t *from,
	     uint64_t *conn_id)
{
	const char *p = tag + 1, *end = tag + len;
	uint64_t f, c;

	if (len == 1 && tag[0] == 'r') {
		*kind = 'r';
		return 0;
	}
	if (len < 4 || (tag[0] != 'd' && tag[0] != 'x') ||
	    read_u64(&p, end, &f) || p == end || *p++ != '.' ||
	    read_u64(&p, end, &c) || p != end)
		return -1;
	*kind = tag[0];
	*from = f;
	*conn_id = c;
	return 0;
}
