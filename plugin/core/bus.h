/*
 * bus.h: the message bus between roomcast processes over Redis, the pure
 * half (PROTOCOL.md, Cluster over Redis): key and channel names, the Lua
 * scripts that number, store and publish a room's messages in one atomic
 * step, the framing of what travels on a room's channel, parsing
 * redis-url, and the per-room bookkeeping that decides, for each message
 * a subscription brings, whether members get it, get an `epoch` notice
 * first, or must be caught up from the stream.
 *
 * Redis's data model, for a cluster prefix P and a room R:
 *   P:meta:R   hash  s = the room's last seq, e = its epoch
 *   P:hist:R   stream of the room's last history-size messages, entry id
 *              "<seq>-0", field d = the message as members receive it
 *   P:pres:R   hash  node id -> that process's member connections
 *   P:pexp:R   zset  node id -> when its count expires (ms)
 *   P:idem:R:K the first result of an API publish with idempotency key K
 *              (K in hex)
 *   P:ulist:R  hash  node id -> that process's users in the room
 *   P:nodeseq  the count each process INCRs once for its node number
 *   P:node:N   node number N's channel: directs and disconnects to its
 *              guests and their answers (bus_node_tag())
 *   P:room:R   the room's channel; a message on it is bus_frame()d:
 *              "<seq>:<epoch>:<json>"; seq 0 is an unnumbered event (a
 *              presence event; its epoch part names the connection it
 *              is about, "<node>.<conn_id>", which does not get it)
 *
 * Pure: libc only. Not thread-safe; service thread only.
 */
#ifndef BUS_H
#define BUS_H

#include <stddef.h>
#include <stdint.h>

/* An epoch is at most this long (without its NUL). */
#define BUS_EPOCH_MAX 40

/* Room for any key or channel name (prefix <= 64, id <= 128 + a key). */
#define BUS_NAME_MAX 320

/*
 * Numbers and publishes one message. KEYS: meta, hist, channel, idem (may
 * be ""), and for an API publish pres (a room whose pres is empty has no
 * member anywhere: its numbering is kept ttl-s with history, else
 * dropped). ARGV: head (the member message up to `"seq":`), content (its
 * JSON text), history-size, ttl-s, a fresh epoch for a room without one,
 * meta-ttl-s. Returns {seq, epoch, repeated (1: the idempotency key was
 * seen; nothing was published)}.
 */
extern const char bus_lua_publish[];

/*
 * A join: the room's seq and epoch (made on first use), this node's member
 * count set, expired nodes dropped, the cluster's count summed, and, when
 * asked (since >= 0 and the epoch matches), the held messages after since.
 * KEYS: meta, hist, pres, pexp. ARGV: node, count, now-ms, expiry-ms,
 * fresh epoch, since (-1: none), epoch asked (or ""), meta-ttl-s.
 * Returns {seq, epoch, members, first-seq-held-after-since, msg...}.
 */
extern const char bus_lua_join[];

/*
 * Catching up after a gap: the room's seq and epoch and what the stream
 * holds after since (from the start when the room's epoch is not the one
 * known: a new numbering). KEYS: meta, hist. ARGV: since, known epoch.
 * Returns {seq, epoch, first, msg...} (epoch "" when the room has no
 * state).
 */
extern const char bus_lua_fetch[];

/*
 * This node's member count in a room: set (count > 0) or removed; with no
 * node left and no history the room's state goes (its numbering starts
 * over, as a freed room's does). KEYS: meta, pres, pexp, and for a room
 * ulist (P:ulist:R, node -> its users, roster_list()'s text). ARGV: node,
 * count, now-ms, expiry-ms, keep-s (history-ttl-s, 0 = history off), and
 * with ulist this node's users ("" : unchanged).
 */
extern const char bus_lua_presence[];

/*
 * A room's `members` across the cluster. KEYS: meta, pres, pexp, ulist.
 * ARGV: now-ms, this node (whose list is not read: it has its own).
 * Returns {members (all live nodes), seq, epoch ("" : no state), each
 * other live node's users list...}.
 */
extern const char bus_lua_members[];

/*
 * A direct message to a user's channel P:user:U, framed
 * "<conn_id>:<node>:<json>" (the sending connection, which it skips),
 * published only if the user has a connection on some node; returns the
 * user's connection count (0: no_such_user). The per-user counts are
 * P:upres:U / P:uexp:U, kept by bus_lua_presence as a room's are.
 * KEYS: upres, uexp, channel. ARGV: now-ms, frame.
 */
extern const char bus_lua_direct[];

/* Writes "<prefix>:<kind>:<id>" into @buf; returns its length or -1. */
int bus_name(char *buf, size_t len, const char *prefix, const char *kind,
	     const char *id, size_t id_len);

/*
 * Splits a channel message "<seq>:<epoch>:<json>" (seq may be 0: an
 * event). Returns 0 and sets the parts (pointing into @p), or -1 when it
 * is not one.
 */
int bus_unframe(const char *p, size_t len, uint64_t *seq, const char **epoch,
		size_t *epoch_len, const char **json, size_t *json_len);

/* Writes "<seq>:<epoch>:<json>" into @buf; returns its length or -1. */
int bus_frame(char *buf, size_t len, uint64_t seq, const char *epoch,
	      const char *json, size_t json_len);

/* redis-url, parsed (PROTOCOL.md, Configuration). */
struct bus_url {
	char host[256];		/* "" for a unix socket */
	int port;
	char path[256];		/* unix:PATH */
	char password[128];	/* "" for none */
	unsigned int db;
};

/*
 * Parses `redis://[:PASSWORD@]HOST[:PORT][/DB]` or `unix:PATH`. Returns 0,
 * or -1 with a one-line reason in @err.
 */
int bus_parse_url(const char *url, struct bus_url *out, char *err,
		  size_t errlen);

/*---- guest ids across a cluster ----*/

/*
 * A clustered process's conn_ids are its node number << BUS_NODE_SHIFT
 * plus its own count, so "guest-<conn_id>" names its process. Node
 * numbers stay at most BUS_NODE_MAX, so conn_ids stay below 2^53 (exact
 * in a JSON number).
 */
#define BUS_NODE_SHIFT 32
#define BUS_NODE_MAX ((UINT64_C(1) << 21) - 1)
#define BUS_NODE_CONNS ((UINT64_C(1) << BUS_NODE_SHIFT) - 1)

/*
 * The node number for INCR's answer @seq (1, 2, ...): 1..BUS_NODE_MAX,
 * starting over at 1 past BUS_NODE_MAX. 0 for a @seq below 1.
 */
uint64_t bus_node_number(long long seq);

/* The node number of conn_id @conn_id (0: no clustered process's). */
uint64_t bus_node_of(uint64_t conn_id);

/*
 * Reads the epoch part of a node channel message (bus_frame()d, its seq
 * the sender's request number): "d<from>.<conn_id>" a direct message (the
 * json part) to guest <conn_id>, "x<from>.<conn_id>" a disconnect of it
 * (json part "-"), both answered on node <from>'s channel; "r" an
 * answer, the json part the count reached. Sets *@kind ('d', 'x',
 * 'r') and, but for 'r', *@from and *@conn_id. Returns 0, or -1 for
 * any other text.
 */
int bus_node_tag(const char *tag, size_t len, char *kind, uint64_t *from,
		 uint64_t *conn_id);

/*---- a room's numbering as this process has delivered it ----*/

struct bus_seen {
	uint64_t seq;			/* last delivered */
	char epoch[BUS_EPOCH_MAX + 1];	/* "" until known */
};

enum bus_verdict {
	BUS_DELIVER,	/* the next message: deliver it */
	BUS_DUPLICATE,	/* delivered already (seq not above the last) */
	BUS_NEW_EPOCH,	/* numbering started over: `epoch` notice, then it */
	BUS_GAP,	/* messages are missing before it: catch up first */
};

/*
 * What to do with message @seq of @epoch given what was delivered. Does
 * not change @seen: bus_seen_take() does once it is delivered.
 */
enum bus_verdict bus_seen_judge(const struct bus_seen *seen, uint64_t seq,
				const char *epoch, size_t epoch_len);

/* Records message @seq of @epoch as delivered. */
void bus_seen_take(struct bus_seen *seen, uint64_t seq, const char *epoch,
		   size_t epoch_len);

#endif
