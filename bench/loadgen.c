/*
 * roomcast load generator: epoll, non-blocking sockets, a minimal RFC 6455
 * client, N worker processes merged through pipes.
 *
 * Scenarios: fanout, rate, rooms, idle, churn (see usage()).
 * Protocols: roomcast (PROTOCOL.md join/broadcast, seq) and raw (the peer
 * relays each text frame as-is to every connection; frames may also hold
 * several '\n'-joined messages, as gorilla's chat hub sends them).
 *
 * Payload content: "p<pub>:<counter>:<send ns CLOCK_MONOTONIC>:" padded with
 * 'x' to --size bytes, so latency and losses are computed in every mode.
 *
 * Every run is bounded: connect phase <= --connect-timeout, measuring
 * <= --duration, drain <= --drain, and alarm() kills a stuck process.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hist.h"

enum { P_ROOMCAST, P_RAW };
enum { S_FANOUT, S_RATE, S_ROOMS, S_IDLE, S_CHURN };
static const char *scen_names[] = { "fanout", "rate", "rooms", "idle", "churn" };

static struct opts {
	const char *host;
	int port;
	const char *path;
	int proto;
	const char *subproto; /* NULL: header omitted */
	int scen;
	int subs, pubs, window, size, rooms, procs, server_pid;
	double rate, duration, drain, connect_timeout, hold;
	int conc, churn, hold_ms, src_ips, join_idle, quiet;
	const char *label, *room, *json_out;
} o = {
	.host = "127.0.0.1", .port = 8080, .path = "/", .proto = P_ROOMCAST,
	.subproto = "roomcast.v1", .scen = S_FANOUT, .subs = 1000, .pubs = 1,
	.window = 64, .size = 64, .rooms = 100, .procs = 1, .rate = 200,
	.duration = 5, .drain = 2, .connect_timeout = 30, .conc = 128,
	.churn = 50, .hold_ms = 200, .src_ips = 1, .label = "", .room = "bench",
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- counters shared between worker and parent (fixed layout) ---- */

struct counters {
	uint64_t ready;           /* connections handshaken (and joined) */
	uint64_t connect_fail;    /* connect/handshake/join failures */
	uint64_t published;       /* broadcasts sent */
	uint64_t delivered;       /* broadcast messages received (all conns) */
	uint64_t delivered_run;   /* ... inside the measuring window */
	uint64_t delivered_steady;/* ... by non-churn connections */
	uint64_t lost_gaps;       /* seq / counter gaps */
	uint64_t dropped;         /* sum of "dropped" notice counts */
	uint64_t ooo;             /* duplicates / out of order */
	uint64_t errors;          /* protocol "error" messages */
	uint64_t closed;          /* connections closed by the peer */
	uint64_t stalls;          /* publisher windows reset after 1 s silence */
	uint64_t churn_cycles;    /* churn connections completed open+join+close */
	uint64_t bad;             /* unparsable frames/messages */
	uint64_t lat_max_us;
	uint64_t cpu_us;          /* user+sys of this worker */
	uint64_t connect_ns;      /* duration of the connect phase */
	uint64_t run_ns;          /* duration of the measuring window */
	uint64_t cpu_run_us;      /* user+sys inside the measuring window */
};

enum { R_PROGRESS = 1, R_READY, R_FINAL };

struct rec {
	int type;
	int worker;
	struct counters c;
};

/* ---- connections ---- */

enum { ST_FREE, ST_CONNECTING, ST_HANDSHAKE, ST_JOINING, ST_READY, ST_CLOSING };
enum { ROLE_SUB, ROLE_PUB, ROLE_CHURN };

struct conn {
	int fd;
	int idx;              /* global index */
	int state, role, room;
	int pub_id;           /* global publisher index, -1 if none */
	int inflight;
	uint64_t pub_ctr;     /* messages sent */
	uint64_t last_echo_ns;
	uint64_t last_seq;
	uint64_t *last_ctr;   /* raw mode: per publisher */
	uint64_t t0, close_at;
	char *carry;
	uint32_t carry_len, carry_cap;
	char *frag;
	uint32_t frag_len, frag_cap;
	char *out;
	uint32_t out_len, out_cap;
	int want_out;
};

static struct counters C;
static struct hist H;
static int ep;
static struct conn *conns;
static int nconns;
static struct conn **pubs;
static int npubs;
static int phase; /* 0 connect, 1 wait go, 2 run, 3 drain, 4 done */
static uint64_t run_t0;
static uint64_t rng = 88172645463325252ull;
static int total_pubs, total_conns;
static char rbuf[1 << 18];

static uint64_t xr(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void die(const char *m)
{
	perror(m);
	exit(2);
}

static int room_of(int idx)
{
	if (o.scen == S_ROOMS)
		return idx % o.rooms;
	return 0;
}

static void ep_mod(struct conn *c, int out)
{
	struct epoll_event ev = { .events = EPOLLIN | (out ? EPOLLOUT : 0),
				  .data.ptr = c };

	if (c->want_out == out)
		return;
	c->want_out = out;
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void buf_append(char **b, uint32_t *len, uint32_t *cap, const char *d,
		       uint32_t n)
{
	if (*len + n > *cap) {
		uint32_t nc = *cap ? *cap : 256;

		while (nc < *len + n)
			nc *= 2;
		*b = realloc(*b, nc);
		if (!*b)
			die("realloc");
		*cap = nc;
	}
	memcpy(*b + *len, d, n);
	*len += n;
}

static void conn_reset_bufs(struct conn *c)
{
	free(c->carry);
	free(c->frag);
	free(c->out);
	c->carry = c->frag = c->out = NULL;
	c->carry_len = c->carry_cap = c->frag_len = c->frag_cap = 0;
	c->out_len = c->out_cap = 0;
}

static void conn_close(struct conn *c, int abortive)
{
	if (c->fd < 0)
		return;
	if (abortive) {
		struct linger l = { 1, 0 };

		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	}
	close(c->fd);
	c->fd = -1;
	c->state = ST_FREE;
	c->want_out = 0;
	conn_reset_bufs(c);
}

/* Sends or queues; returns -1 when the connection died. */
static int conn_send(struct conn *c, const char *d, uint32_t n)
{
	ssize_t w = 0;

	if (!c->out_len) {
		w = send(c->fd, d, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -1;
			w = 0;
		}
		if ((uint32_t)w == n)
			return 0;
	}
	buf_append(&c->out, &c->out_len, &c->out_cap, d + w, n - (uint32_t)w);
	ep_mod(c, 1);
	return 0;
}

static int conn_flush(struct conn *c)
{
	while (c->out_len) {
		ssize_t w = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		memmove(c->out, c->out + w, c->out_len - (size_t)w);
		c->out_len -= (uint32_t)w;
	}
	ep_mod(c, 0);
	return 0;
}

/* Builds one masked client frame into dst; returns its length. */
static uint32_t ws_frame(char *dst, int opcode, const char *p, uint32_t n)
{
	uint32_t h = 0, i;
	uint32_t m = (uint32_t)xr();
	unsigned char *mk;

	dst[h++] = (char)(0x80 | opcode);
	if (n < 126) {
		dst[h++] = (char)(0x80 | n);
	} else if (n < 65536) {
		dst[h++] = (char)(0x80 | 126);
		dst[h++] = (char)(n >> 8);
		dst[h++] = (char)n;
	} else {
		dst[h++] = (char)(0x80 | 127);
		for (i = 0; i < 4; i++)
			dst[h++] = 0;
		for (i = 0; i < 4; i++)
			dst[h++] = (char)(n >> (24 - 8 * i));
	}
	memcpy(dst + h, &m, 4);
	mk = (unsigned char *)dst + h;
	h += 4;
	for (i = 0; i < n; i++)
		dst[h + i] = (char)(p[i] ^ mk[i & 3]);
	return h + n;
}

static int send_text(struct conn *c, const char *p, uint32_t n)
{
	char fb[1024];

	if (n + 14 > sizeof(fb))
		return -1;
	return conn_send(c, fb, ws_frame(fb, 1, p, n));
}

/* ---- connect / handshake ---- */

static int conn_open(struct conn *c)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)o.port) };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
	int fd, one = 1;

	inet_pton(AF_INET, o.host, &sa.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		C.connect_fail++;
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (o.src_ips > 1) {
		struct sockaddr_in src = { .sin_family = AF_INET };

		src.sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)(c->idx % o.src_ips));
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		/*
		 * The port is picked at connect(), per destination: bind() with
		 * port 0 searches every bound port and took ~3 ms per socket
		 * past 30,000 connections (300 connects/s per process).
		 */
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
			   sizeof(one));
		bind(fd, (struct sockaddr *)&src, sizeof(src));
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		C.connect_fail++;
		return -1;
	}
	c->fd = fd;
	c->state = ST_CONNECTING;
	c->want_out = 1;
	c->t0 = now_ns();
	c->last_seq = 0;
	c->inflight = 0;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		die("epoll_ctl");
	return 0;
}

static int send_handshake(struct conn *c)
{
	char req[512];
	int n;

	n = snprintf(req, sizeof(req),
		     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
		     "Connection: Upgrade\r\n"
		     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		     "Sec-WebSocket-Version: 13\r\n%s%s%s\r\n",
		     o.path, o.host, o.port,
		     o.subproto ? "Sec-WebSocket-Protocol: " : "",
		     o.subproto ? o.subproto : "", o.subproto ? "\r\n" : "");
	c->state = ST_HANDSHAKE;
	return conn_send(c, req, (uint32_t)n);
}

static void conn_ready(struct conn *c);

static int send_join(struct conn *c)
{
	char m[256];
	int n;

	if (o.scen == S_ROOMS)
		n = snprintf(m, sizeof(m),
			     "{\"type\":\"join\",\"room_id\":\"%s-%d\",\"user_id\":\"u%d\"}",
			     o.room, c->room, c->idx);
	else
		n = snprintf(m, sizeof(m),
			     "{\"type\":\"join\",\"room_id\":\"%s\",\"user_id\":\"u%d\"}",
			     o.room, c->idx);
	c->state = ST_JOINING;
	return send_text(c, m, (uint32_t)n);
}

/* ---- publishing ---- */

static int publish(struct conn *c, int count)
{
	char out[64 * 1024];
	uint32_t ol = 0;
	char msg[1024], content[800];
	int i;

	for (i = 0; i < count; i++) {
		int cl, n;
		uint64_t t = now_ns();

		c->pub_ctr++;
		cl = snprintf(content, sizeof(content), "p%d:%" PRIu64 ":%" PRIu64 ":",
			      c->pub_id, c->pub_ctr, t);
		while (cl < o.size && cl < (int)sizeof(content) - 1)
			content[cl++] = 'x';
		content[cl] = 0;
		if (o.proto == P_RAW) {
			memcpy(msg, content, (size_t)cl);
			n = cl;
		} else if (o.scen == S_ROOMS) {
			n = snprintf(msg, sizeof(msg),
				     "{\"type\":\"broadcast\",\"room_id\":\"%s-%d\",\"content\":\"%s\"}",
				     o.room, c->room, content);
		} else {
			n = snprintf(msg, sizeof(msg),
				     "{\"type\":\"broadcast\",\"room_id\":\"%s\",\"content\":\"%s\"}",
				     o.room, content);
		}
		if (ol + (uint32_t)n + 14 > sizeof(out)) {
			if (conn_send(c, out, ol) < 0)
				return -1;
			ol = 0;
		}
		ol += ws_frame(out + ol, 1, msg, (uint32_t)n);
		c->inflight++;
		C.published++;
	}
	if (ol && conn_send(c, out, ol) < 0)
		return -1;
	return 0;
}

/* ---- receiving ---- */

static uint64_t parse_u64(const char **pp, const char *e)
{
	const char *p = *pp;
	uint64_t v = 0;

	while (p < e && *p >= '0' && *p <= '9')
		v = v * 10 + (uint64_t)(*p++ - '0');
	*pp = p;
	return v;
}

/* Finds "key" then ':' and returns a pointer to the value's first char. */
static const char *json_val(const char *s, size_t n, const char *key)
{
	size_t kl = strlen(key);
	const char *e = s + n, *p = s;

	while ((p = memmem(p, (size_t)(e - p), key, kl))) {
		const char *q = p + kl;

		if (p > s && p[-1] == '"' && q < e && *q == '"') {
			q++;
			while (q < e && (*q == ' ' || *q == '\t'))
				q++;
			if (q < e && *q == ':') {
				q++;
				while (q < e && (*q == ' ' || *q == '\t'))
					q++;
				return q;
			}
		}
		p = q;
	}
	return NULL;
}

/* Handles one payload "p<pub>:<ctr>:<ns>:..." at p. */
static void on_payload(struct conn *c, const char *p, const char *e, uint64_t now)
{
	uint64_t pub, ctr, ts, lat;

	if (p >= e || *p != 'p') {
		if (!C.bad++ && getenv("LOADGEN_DEBUG"))
			fprintf(stderr, "unparsable payload: %.*s\n", (int)(e - p > 80 ? 80 : e - p), p);
		return;
	}
	p++;
	pub = parse_u64(&p, e);
	if (p >= e || *p++ != ':')
		goto bad;
	ctr = parse_u64(&p, e);
	if (p >= e || *p++ != ':')
		goto bad;
	ts = parse_u64(&p, e);
	if (p >= e || *p != ':')
		goto bad; /* truncated (a relay that splits frames) */
	lat = now > ts ? (now - ts) / 1000 : 0;
	hist_add(&H, lat);
	if (lat > C.lat_max_us)
		C.lat_max_us = lat;
	C.delivered++;
	if (phase == 2)
		C.delivered_run++;
	if (c->role != ROLE_CHURN)
		C.delivered_steady++;
	if (o.proto == P_RAW && c->last_ctr && pub < (uint64_t)total_pubs) {
		uint64_t last = c->last_ctr[pub];

		if (last == UINT64_MAX)
			; /* churn: first sight */
		else if (ctr > last + 1)
			C.lost_gaps += ctr - last - 1;
		else if (ctr <= last)
			C.ooo++;
		if (last == UINT64_MAX || ctr > last)
			c->last_ctr[pub] = ctr;
	}
	if (c->pub_id >= 0 && pub == (uint64_t)c->pub_id) {
		if (c->inflight > 0)
			c->inflight--;
		c->last_echo_ns = now;
	}
	return;
bad:
	C.bad++;
}

static void on_text(struct conn *c, const char *m, size_t n, uint64_t now)
{
	const char *e = m + n, *v;

	if (o.proto == P_RAW) {
		const char *p = m;

		while (p < e) {
			const char *nl = memchr(p, '\n', (size_t)(e - p));
			const char *end = nl ? nl : e;

			on_payload(c, p, end, now);
			p = end + 1;
		}
		return;
	}
	if (n > 20 && !memcmp(m, "{\"type\":\"broadcast\"", 19))
		v = m + 8;
	else
		v = json_val(m, n, "type");
	if (!v || *v != '"') {
		C.bad++;
		return;
	}
	v++;
	if (!strncmp(v, "broadcast\"", 10)) {
		const char *s = json_val(m, n, "seq"), *ct;
		uint64_t seq;

		if (!s) {
			C.bad++;
			return;
		}
		seq = parse_u64(&s, e);
		if (c->last_seq == UINT64_MAX)
			;
		else if (seq > c->last_seq + 1)
			C.lost_gaps += seq - c->last_seq - 1;
		else if (seq <= c->last_seq)
			C.ooo++;
		if (c->last_seq == UINT64_MAX || seq > c->last_seq)
			c->last_seq = seq;
		ct = json_val(m, n, "content");
		if (!ct || *ct != '"') {
			C.bad++;
			return;
		}
		on_payload(c, ct + 1, e, now);
	} else if (!strncmp(v, "joined\"", 7)) {
		const char *s = json_val(m, n, "seq");

		c->last_seq = s ? parse_u64(&s, e) : 0;
		if (c->state == ST_JOINING)
			conn_ready(c);
	} else if (!strncmp(v, "dropped\"", 8)) {
		const char *s = json_val(m, n, "count");
		uint64_t k = s ? parse_u64(&s, e) : 0;

		C.dropped += k;
		if (c->pub_id >= 0)
			c->inflight = c->inflight > (int)k ? c->inflight - (int)k : 0;
	} else if (!strncmp(v, "error\"", 6)) {
		if (C.errors++ < 5 && !o.quiet)
			fprintf(stderr, "server error: %.*s\n", (int)n, m);
	}
	/* presence, pong, unknown types: ignored */
}

/* Returns -1 if the connection must close. Parses all whole frames. */
static int parse_frames(struct conn *c, char *b, size_t n, uint64_t now,
			size_t *used)
{
	size_t off = 0;

	while (n - off >= 2) {
		unsigned char b0 = (unsigned char)b[off], b1 = (unsigned char)b[off + 1];
		size_t h = 2;
		uint64_t len = b1 & 0x7f;
		int op = b0 & 0x0f, fin = b0 & 0x80;
		char *p;

		if (len == 126) {
			if (n - off < 4)
				break;
			len = ((uint64_t)(unsigned char)b[off + 2] << 8) |
			      (unsigned char)b[off + 3];
			h = 4;
		} else if (len == 127) {
			int i;

			if (n - off < 10)
				break;
			len = 0;
			for (i = 0; i < 8; i++)
				len = (len << 8) | (unsigned char)b[off + 2 + i];
			h = 10;
		}
		if (b1 & 0x80)
			h += 4; /* server frames are unmasked; tolerate */
		if (len > (64u << 20))
			return -1;
		if (n - off < h + len)
			break;
		p = b + off + h;
		if (b1 & 0x80) {
			uint64_t i;
			unsigned char *mk = (unsigned char *)p - 4;

			for (i = 0; i < len; i++)
				p[i] ^= (char)mk[i & 3];
		}
		if (op == 0x8) { /* close */
			char cf[16];

			if (c->state != ST_CLOSING)
				C.closed++;
			conn_send(c, cf, ws_frame(cf, 8, p, len >= 2 ? 2 : 0));
			return -1;
		} else if (op == 0x9) { /* ping */
			char pf[160];

			if (len <= 125 && conn_send(c, pf, ws_frame(pf, 0xA, p, (uint32_t)len)) < 0)
				return -1;
		} else if (op == 0xA) {
			;
		} else if (op == 0x1 || op == 0x2 || op == 0x0) {
			if (op != 0 && fin && !c->frag_len) {
				if (op == 1)
					on_text(c, p, (size_t)len, now);
				else
					C.bad++;
			} else {
				buf_append(&c->frag, &c->frag_len, &c->frag_cap, p,
					   (uint32_t)len);
				if (fin) {
					on_text(c, c->frag, c->frag_len, now);
					c->frag_len = 0;
				}
			}
		} else {
			C.bad++;
		}
		off += h + (size_t)len;
	}
	*used = off;
	return 0;
}

static void conn_failed(struct conn *c)
{
	if (c->state == ST_READY || c->state == ST_CLOSING) {
		if (c->state == ST_READY && phase < 4 && c->role != ROLE_CHURN)
			C.closed++;
	} else {
		C.connect_fail++;
	}
	conn_close(c, 1);
}

static void on_readable(struct conn *c, uint64_t now)
{
	int rounds = 0;

	while (c->fd >= 0 && rounds++ < 8) {
		size_t have = c->carry_len, used = 0;
		ssize_t r;
		char *b = rbuf;

		if (have > sizeof(rbuf) / 2) {
			C.bad++; /* message larger than the loadgen handles */
			conn_failed(c);
			return;
		}
		if (have)
			memcpy(rbuf, c->carry, have);
		r = recv(c->fd, rbuf + have, sizeof(rbuf) - have, 0);
		if (r == 0) {
			conn_failed(c);
			return;
		}
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			conn_failed(c);
			return;
		}
		have += (size_t)r;
		c->carry_len = 0;
		if (c->state == ST_HANDSHAKE) {
			char *eoh = memmem(b, have, "\r\n\r\n", 4);

			if (!eoh) {
				buf_append(&c->carry, &c->carry_len, &c->carry_cap, b,
					   (uint32_t)have);
				continue;
			}
			if (have < 12 || memcmp(b + 9, "101", 3)) {
				if (C.connect_fail < 3 && !o.quiet)
					fprintf(stderr, "handshake refused: %.*s\n",
						(int)(strchr(b, '\r') - b), b);
				conn_failed(c);
				return;
			}
			used = (size_t)(eoh + 4 - b);
			b += used;
			have -= used;
			if (o.proto == P_ROOMCAST &&
			    (o.scen != S_IDLE || o.join_idle)) {
				if (send_join(c) < 0) {
					conn_failed(c);
					return;
				}
			} else {
				conn_ready(c);
			}
		}
		if (parse_frames(c, b, have, now, &used) < 0) {
			conn_close(c, 0);
			return;
		}
		if (used < have)
			buf_append(&c->carry, &c->carry_len, &c->carry_cap,
				   b + used, (uint32_t)(have - used));
		if ((size_t)r < sizeof(rbuf) - c->carry_len - 1024)
			return; /* short read: socket drained */
	}
}

/* ---- scheduling ---- */

static int pending;

static void conn_ready(struct conn *c)
{
	c->state = ST_READY;
	if (c->role == ROLE_CHURN) {
		c->close_at = now_ns() + (uint64_t)o.hold_ms * 500000ull +
			      xr() % ((uint64_t)o.hold_ms * 1000000ull + 1);
		return; /* its last_seq came with "joined" */
	}
	C.ready++;
}

static void churn_step(struct conn *c, uint64_t now)
{
	if (c->state == ST_FREE) {
		if (conn_open(c) == 0 && o.proto == P_RAW && c->last_ctr) {
			int i;

			for (i = 0; i < total_pubs; i++)
				c->last_ctr[i] = UINT64_MAX;
		}
	} else if (c->state == ST_READY && now >= c->close_at) {
		char cf[16];
		char code[2] = { 0x03, (char)0xe8 };

		conn_send(c, cf, ws_frame(cf, 8, code, 2));
		c->state = ST_CLOSING;
		c->close_at = now + 2000000000ull;
		C.churn_cycles++;
	} else if (c->state == ST_CLOSING && now >= c->close_at) {
		conn_close(c, 1);
	} else if ((c->state == ST_CONNECTING || c->state == ST_HANDSHAKE ||
		    c->state == ST_JOINING) && now - c->t0 > 5000000000ull) {
		C.connect_fail++;
		conn_close(c, 1);
	}
}

static uint64_t cpu_now_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)ru.ru_utime.tv_sec * 1000000 + (uint64_t)ru.ru_utime.tv_usec +
	       (uint64_t)ru.ru_stime.tv_sec * 1000000 + (uint64_t)ru.ru_stime.tv_usec;
}

static void write_rec(int fd, int type, int w)
{
	struct rec r = { .type = type, .worker = w, .c = C };
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	r.c.cpu_us = (uint64_t)ru.ru_utime.tv_sec * 1000000 + (uint64_t)ru.ru_utime.tv_usec +
		     (uint64_t)ru.ru_stime.tv_sec * 1000000 + (uint64_t)ru.ru_stime.tv_usec;
	if (write(fd, &r, sizeof(r)) != sizeof(r))
		_exit(3);
	if (type == R_FINAL && write(fd, &H, sizeof(H)) != sizeof(H))
		_exit(3);
}

static int worker(int w, int up, int down)
{
	struct epoll_event evs[512], ev = { .events = EPOLLIN, .data.ptr = NULL };
	uint64_t t_start = now_ns(), last_prog = t_start, drain_t0 = 0, last_rx = 0;
	int i, next_open = 0, nsteady = 0;
	int total_steady = o.subs + (o.scen == S_IDLE ? 0 : o.pubs);

	signal(SIGPIPE, SIG_IGN);
	rng ^= (uint64_t)(w + 1) * 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
	ep = epoll_create1(EPOLL_CLOEXEC);
	epoll_ctl(ep, EPOLL_CTL_ADD, down, &ev);
	/* global index i belongs to worker i % procs */
	for (i = w; i < total_steady; i += o.procs)
		nsteady++;
	nconns = nsteady;
	if (o.scen == S_CHURN)
		for (i = total_steady + w; i < total_steady + o.churn; i += o.procs)
			nconns++;
	conns = calloc((size_t)nconns + 1, sizeof(*conns));
	pubs = calloc((size_t)nconns + 1, sizeof(*pubs));
	for (i = 0; i < nconns; i++) {
		struct conn *c = &conns[i];
		int gi = i < nsteady ? w + i * o.procs
				     : total_steady + w + (i - nsteady) * o.procs;

		c->fd = -1;
		c->idx = gi;
		c->pub_id = -1;
		c->room = room_of(gi);
		c->role = i < nsteady ? ROLE_SUB : ROLE_CHURN;
		if (o.scen != S_IDLE && gi < o.pubs) {
			c->role = ROLE_PUB;
			c->pub_id = gi;
			pubs[npubs++] = c;
		}
		if (o.proto == P_RAW && total_pubs) {
			int k;

			c->last_ctr = malloc(sizeof(uint64_t) * (size_t)total_pubs);
			for (k = 0; k < total_pubs; k++)
				c->last_ctr[k] = c->role == ROLE_CHURN ? UINT64_MAX : 0;
		}
		if (c->role == ROLE_CHURN)
			c->last_seq = UINT64_MAX;
	}

	for (;;) {
		uint64_t now = now_ns();
		int n, tmo = 100;

		/* connect phase: keep at most o.conc handshakes in flight */
		if (phase == 0) {
			pending = 0;
			for (i = 0; i < next_open; i++)
				if (conns[i].state >= ST_CONNECTING && conns[i].state < ST_READY)
					pending++;
			while (next_open < nsteady && pending < o.conc) {
				if (conn_open(&conns[next_open]) == 0)
					pending++;
				next_open++;
			}
			if ((next_open >= nsteady && pending == 0) ||
			    now - t_start > (uint64_t)(o.connect_timeout * 1e9)) {
				C.connect_ns = now - t_start;
				phase = 1;
				write_rec(up, R_READY, w);
			}
			tmo = 5;
		}
		if (phase == 2 || phase == 3)
			tmo = (o.scen == S_FANOUT) ? 10 : 1;
		n = epoll_wait(ep, evs, 512, tmo);
		now = now_ns();
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (!c) {
				char g;

				if (read(down, &g, 1) == 1 && phase == 1) {
					phase = 2;
					run_t0 = now;
					C.cpu_run_us = cpu_now_us();
					for (int k = 0; k < npubs; k++)
						pubs[k]->last_echo_ns = now;
				} else if (phase != 1) {
					phase = 4; /* parent gone */
				}
				continue;
			}
			if (c->fd < 0)
				continue;
			if (evs[i].events & (EPOLLOUT)) {
				if (c->state == ST_CONNECTING) {
					int err = 0;
					socklen_t el = sizeof(err);

					getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
					if (err) {
						conn_failed(c);
						continue;
					}
					ep_mod(c, 0);
					if (send_handshake(c) < 0) {
						conn_failed(c);
						continue;
					}
				} else if (conn_flush(c) < 0) {
					conn_failed(c);
					continue;
				}
			}
			if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
				on_readable(c, now);
				last_rx = now;
			}
		}

		if (phase == 2) {
			double el = (double)(now - run_t0) / 1e9;

			if (o.scen == S_IDLE ? el >= o.hold : el >= o.duration) {
				C.run_ns = now - run_t0;
				C.cpu_run_us = cpu_now_us() - C.cpu_run_us;
				phase = 3;
				drain_t0 = now;
			} else if (o.scen == S_FANOUT) {
				for (i = 0; i < npubs; i++) {
					struct conn *c = pubs[i];

					if (c->state != ST_READY)
						continue;
					if (c->inflight > 0 && now - c->last_echo_ns > 1000000000ull) {
						C.stalls++;
						c->inflight = 0;
					}
					if (c->inflight < o.window &&
					    publish(c, o.window - c->inflight) < 0)
						conn_failed(c);
				}
			} else if (o.scen != S_IDLE) {
				double per = o.rate / (double)total_pubs;

				for (i = 0; i < npubs; i++) {
					struct conn *c = pubs[i];
					/* stagger publishers over the first period */
					double off = (double)c->pub_id / (double)total_pubs / per;
					int64_t due = (int64_t)((el - off) * per) + 1 -
						      (int64_t)c->pub_ctr;

					if (c->state != ST_READY || due <= 0)
						continue;
					if (due > 100)
						due = 100;
					if (publish(c, (int)due) < 0)
						conn_failed(c);
				}
			}
			if (o.scen == S_CHURN)
				for (i = nsteady; i < nconns; i++)
					churn_step(&conns[i], now);
		}
		if (phase == 3) {
			int busy = 0;

			for (i = 0; i < npubs; i++)
				if (pubs[i]->state == ST_READY && pubs[i]->inflight > 0)
					busy = 1;
			if (now - last_rx < 200000000ull)
				busy = 1;
			if (o.scen == S_IDLE ||
			    (!busy && now - drain_t0 > 100000000ull) ||
			    now - drain_t0 > (uint64_t)(o.drain * 1e9))
				phase = 4;
		}
		if (phase == 4) {
			if (!C.run_ns) {
				C.run_ns = run_t0 ? now - run_t0 : 0;
				C.cpu_run_us = run_t0 ? cpu_now_us() - C.cpu_run_us : 0;
			}
			write_rec(up, R_FINAL, w);
			for (i = 0; i < nconns; i++)
				conn_close(&conns[i], 1);
			return 0;
		}
		if (now - last_prog >= 1000000000ull) {
			last_prog = now;
			write_rec(up, R_PROGRESS, w);
		}
	}
}

/* ---- parent ---- */

static long read_rss_kb(int pid)
{
	char p[64], line[256];
	FILE *f;
	long kb = -1;

	if (pid <= 0)
		return -1;
	snprintf(p, sizeof(p), "/proc/%d/status", pid);
	f = fopen(p, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kb = strtol(line + 6, NULL, 10);
	fclose(f);
	return kb;
}

static double read_cpu_s(int pid)
{
	char p[64], buf[1024], *s;
	unsigned long ut = 0, st = 0;
	FILE *f;
	int i;

	if (pid <= 0)
		return -1;
	snprintf(p, sizeof(p), "/proc/%d/stat", pid);
	f = fopen(p, "r");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	s = strrchr(buf, ')');
	if (!s)
		return -1;
	/* fields after ')': state(3) ... utime(14) stime(15) */
	for (i = 0; i < 12 && s; i++)
		s = strchr(s + 1, ' ');
	if (!s || sscanf(s, " %lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void sum(struct counters *d, const struct counters *s)
{
	const uint64_t *a = (const uint64_t *)s;
	uint64_t *b = (uint64_t *)d;
	size_t i, k = sizeof(*s) / sizeof(uint64_t);

	for (i = 0; i < k; i++)
		b[i] += a[i];
}

static int read_full(int fd, void *b, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, (char *)b + got, n - got);

		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
"usage: loadgen --scenario fanout|rate|rooms|idle|churn [options]\n"
"  --host A (127.0.0.1)  --port N (8080)  --path P (/)\n"
"  --proto roomcast|raw  --subprotocol S (roomcast.v1; raw: none)  --no-subprotocol\n"
"  --subs N (1000)       subscribers (rooms: total connections besides publishers)\n"
"  --pubs N (1)          publishers, also members (rooms: default = --rooms)\n"
"  --window W (64)       fanout: unanswered messages per publisher\n"
"  --size B (64)         payload (content) bytes\n"
"  --rate R (200)        rate/rooms/churn: total broadcasts per second\n"
"  --rooms K (100)       rooms scenario: room count (connection i in room i%%K)\n"
"  --churn M (50)        churn: connections cycling open/join/close\n"
"  --hold-ms T (200)     churn: mean time a churn connection stays\n"
"  --duration S (5)      measuring window  --drain S (2)  --connect-timeout S (30)\n"
"  --procs N (1)         worker processes  --conc N (128) handshakes in flight per worker\n"
"  --server-pid PID      read its VmRSS and CPU time\n"
"  --room NAME (bench)   --join (idle: also join a room)  --src-ips N (1)\n"
"  --hold S (0)          idle: keep the connections S s after the RSS reading\n"
"  --label L  --json-out FILE  --quiet\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int i, subproto_set = 0, pubs_set = 0;
	int up[64][2], down[64][2];
	pid_t pids[64];
	int done[64] = { 0 };
	struct counters last[64], tot, prev = { 0 };
	static struct hist hall_s;
	struct hist *hall = &hall_s;
	int finals = 0, readies = 0, go_sent = 0, cores;
	long rss0, rss1 = -1;
	double cpu0, cpu1 = -1, srv_wall = 1;
	uint64_t t0, last_print, ready_seen_ns = 0, go_ns = 0;
	cpu_set_t cs;
	struct rlimit rl;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (!strcmp(a, name) && v && ++i)
		if (ARG("--host")) o.host = v;
		else if (ARG("--port")) o.port = atoi(v);
		else if (ARG("--path")) o.path = v;
		else if (ARG("--proto")) {
			if (!strcmp(v, "raw")) o.proto = P_RAW;
			else if (!strcmp(v, "roomcast")) o.proto = P_ROOMCAST;
			else usage();
		} else if (ARG("--subprotocol")) { o.subproto = *v ? v : NULL; subproto_set = 1; }
		else if (!strcmp(a, "--no-subprotocol")) { o.subproto = NULL; subproto_set = 1; }
		else if (ARG("--scenario")) {
			int k, f = 0;

			for (k = 0; k < 5; k++)
				if (!strcmp(v, scen_names[k])) { o.scen = k; f = 1; }
			if (!f) usage();
		} else if (ARG("--subs")) o.subs = atoi(v);
		else if (ARG("--pubs")) { o.pubs = atoi(v); pubs_set = 1; }
		else if (ARG("--window")) o.window = atoi(v);
		else if (ARG("--size")) o.size = atoi(v);
		else if (ARG("--rate")) o.rate = atof(v);
		else if (ARG("--rooms")) o.rooms = atoi(v);
		else if (ARG("--churn")) o.churn = atoi(v);
		else if (ARG("--hold-ms")) o.hold_ms = atoi(v);
		else if (ARG("--duration")) o.duration = atof(v);
		else if (ARG("--hold")) o.hold = atof(v);
		else if (ARG("--drain")) o.drain = atof(v);
		else if (ARG("--connect-timeout")) o.connect_timeout = atof(v);
		else if (ARG("--procs")) o.procs = atoi(v);
		else if (ARG("--conc")) o.conc = atoi(v);
		else if (ARG("--server-pid")) o.server_pid = atoi(v);
		else if (ARG("--room")) o.room = v;
		else if (!strcmp(a, "--join")) o.join_idle = 1;
		else if (ARG("--src-ips")) o.src_ips = atoi(v);
		else if (ARG("--label")) o.label = v;
		else if (ARG("--json-out")) o.json_out = v;
		else if (!strcmp(a, "--quiet")) o.quiet = 1;
		else usage();
	}
	if (o.proto == P_RAW && !subproto_set)
		o.subproto = NULL;
	if (o.scen == S_ROOMS && !pubs_set)
		o.pubs = o.rooms;
	if (o.scen == S_ROOMS && o.proto == P_RAW) {
		fprintf(stderr, "rooms scenario needs --proto roomcast\n");
		return 2;
	}
	if (o.scen == S_IDLE)
		o.pubs = 0;
	if (o.procs < 1 || o.procs > 64 || o.size > 700 || o.size < 1 ||
	    o.duration <= 0 || o.duration > 600 || o.window < 1 ||
	    o.hold < 0 || o.hold > 600)
		usage();
	if (o.scen != S_CHURN)
		o.churn = 0;
	total_pubs = o.pubs;
	total_conns = o.subs + o.pubs + o.churn;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		if ((rlim_t)(total_conns / o.procs + 64) > rl.rlim_cur)
			fprintf(stderr, "warning: %d connections per process exceed the fd limit %lu: use more --procs\n",
				total_conns / o.procs, (unsigned long)rl.rlim_cur);
	}
	sched_getaffinity(0, sizeof(cs), &cs);
	cores = CPU_COUNT(&cs);
	if (cores > o.procs)
		cores = o.procs;
	/* hard cap on the whole run */
	alarm((unsigned)(o.connect_timeout + o.duration + o.hold + o.drain + 20));
	signal(SIGPIPE, SIG_IGN);
	rss0 = read_rss_kb(o.server_pid);
	cpu0 = read_cpu_s(o.server_pid);

	for (i = 0; i < o.procs; i++) {
		if (pipe(up[i]) || pipe(down[i]))
			die("pipe");
		pids[i] = fork();
		if (pids[i] < 0)
			die("fork");
		if (!pids[i]) {
			int k;

			/* the parent's ends of this and earlier workers' pipes
			 * (the child ends of earlier ones are closed already
			 * and their numbers may have been reused) */
			for (k = 0; k <= i; k++) {
				close(up[k][0]);
				close(down[k][1]);
			}
			exit(worker(i, up[i][1], down[i][0]));
		}
		close(up[i][1]);
		close(down[i][0]);
	}
	memset(last, 0, sizeof(last));
	t0 = last_print = now_ns();
	if (!o.quiet)
		fprintf(stderr, "loadgen: %s proto=%s %s:%d%s subs=%d pubs=%d procs=%d\n",
			scen_names[o.scen], o.proto == P_RAW ? "raw" : "roomcast",
			o.host, o.port, o.path, o.subs, o.pubs, o.procs);
	while (finals < o.procs) {
		struct pollfd pf[64];
		int n;
		uint64_t now;

		for (i = 0; i < o.procs; i++) {
			pf[i].fd = done[i] ? -1 : up[i][0];
			pf[i].events = POLLIN;
		}
		n = poll(pf, (nfds_t)o.procs, 100);
		for (i = 0; n > 0 && i < o.procs; i++) {
			struct rec r;

			if (!(pf[i].revents & (POLLIN | POLLHUP)))
				continue;
			if (read_full(up[i][0], &r, sizeof(r)) < 0) {
				int st = 0;

				waitpid(pids[i], &st, 0);
				fprintf(stderr, "worker %d died (status %d, signal %d)\n", i,
					WIFEXITED(st) ? WEXITSTATUS(st) : -1,
					WIFSIGNALED(st) ? WTERMSIG(st) : 0);
				for (i = 0; i < o.procs; i++)
					kill(pids[i], SIGKILL);
				return 1;
			}
			last[i] = r.c;
			if (r.type == R_READY)
				readies++;
			if (r.type == R_FINAL) {
				struct hist h;

				if (read_full(up[i][0], &h, sizeof(h)) < 0)
					return 1;
				hist_merge(hall, &h);
				finals++;
				done[i] = 1;
			}
		}
		now = now_ns();
		if (go_ns && cpu1 < 0 && now - go_ns >= (uint64_t)(o.duration * 1e9)) {
			cpu1 = read_cpu_s(o.server_pid);
			srv_wall = (double)(now - go_ns) / 1e9;
		}
		if (readies == o.procs && !go_sent) {
			if (!ready_seen_ns)
				ready_seen_ns = now;
			/* idle: let the server settle 1 s, then read its RSS */
			if (o.scen != S_IDLE || now - ready_seen_ns > 1000000000ull) {
				char g = 'g';

				if (o.scen == S_IDLE)
					rss1 = read_rss_kb(o.server_pid);
				cpu0 = read_cpu_s(o.server_pid);
				for (i = 0; i < o.procs; i++)
					if (write(down[i][1], &g, 1) != 1)
						return 1;
				go_sent = 1;
				go_ns = now;
			}
		}
		if (now - last_print >= 1000000000ull && !o.quiet) {
			memset(&tot, 0, sizeof(tot));
			for (i = 0; i < o.procs; i++)
				sum(&tot, &last[i]);
			fprintf(stderr,
				"[%5.1fs] %s ready=%" PRIu64 " fail=%" PRIu64 " pub/s=%" PRIu64
				" deliv/s=%" PRIu64 " lost=%" PRIu64 " dropped=%" PRIu64
				" closed=%" PRIu64 " churn=%" PRIu64 "\n",
				(double)(now - t0) / 1e9, go_sent ? "run " : "conn",
				tot.ready, tot.connect_fail, tot.published - prev.published,
				tot.delivered - prev.delivered, tot.lost_gaps, tot.dropped,
				tot.closed, tot.churn_cycles);
			prev = tot;
			last_print = now;
		}
	}
	if (cpu1 < 0) {
		cpu1 = read_cpu_s(o.server_pid);
		srv_wall = go_ns ? (double)(now_ns() - go_ns) / 1e9 : 1;
	}
	if (rss1 < 0)
		rss1 = read_rss_kb(o.server_pid);
	for (i = 0; i < o.procs; i++)
		waitpid(pids[i], NULL, 0);

	memset(&tot, 0, sizeof(tot));
	uint64_t conn_ns = 0, run_ns = 0, latmax = 0;

	for (i = 0; i < o.procs; i++) {
		sum(&tot, &last[i]);
		if (last[i].connect_ns > conn_ns)
			conn_ns = last[i].connect_ns;
		if (last[i].run_ns > run_ns)
			run_ns = last[i].run_ns;
		if (last[i].lat_max_us > latmax)
			latmax = last[i].lat_max_us;
	}
	{
		double run_s = run_ns ? (double)run_ns / 1e9 : o.duration;
		/* idle has no measuring window: judge the connect phase */
		double lg_cpu = o.scen == S_IDLE ? (double)tot.cpu_us / 1e6
						 : (double)tot.cpu_run_us / 1e6;
		double lg_win = o.scen == S_IDLE ? (double)conn_ns / 1e9 + 1.0 : run_s;
		double lg_pct = lg_win > 0 ? 100.0 * lg_cpu / lg_win / cores : 0;
		/* CPU of the loadgen and the server inside the measuring window */
		double srv_cpu = (cpu0 >= 0 && cpu1 >= 0) ? cpu1 - cpu0 : -1;
		double dps = (double)tot.delivered_run / run_s;
		uint64_t members = (uint64_t)(o.subs + o.pubs);
		int64_t expected = -1, missing = -1;
		double rss_per = -1;
		int sat;
		char json[2048];

		if (o.scen == S_FANOUT || o.scen == S_RATE || o.scen == S_CHURN) {
			expected = (int64_t)(tot.published * members);
			missing = expected - (int64_t)tot.delivered_steady;
		} else if (o.scen == S_ROOMS) {
			/* one publisher per room when pubs == rooms: members
			 * of room r = connections i with i % K == r */
			uint64_t per = (uint64_t)(o.subs + o.pubs) / (uint64_t)o.rooms;

			if ((o.subs + o.pubs) % o.rooms == 0 && o.pubs == o.rooms) {
				expected = (int64_t)(tot.published * per);
				missing = expected - (int64_t)tot.delivered_steady;
			}
		}
		if (tot.ready < members && o.scen != S_IDLE)
			missing = -1; /* membership incomplete: not computable */
		if (o.scen == S_IDLE && rss0 >= 0 && rss1 >= 0 && tot.ready)
			rss_per = (double)(rss1 - rss0) * 1024.0 / (double)tot.ready;
		/* saturation: CPU in the run window is what matters */
		sat = lg_pct > 90.0;
		snprintf(json, sizeof(json),
			"{\"tool\":\"roomcast-loadgen\",\"label\":\"%s\",\"scenario\":\"%s\","
			"\"proto\":\"%s\",\"port\":%d,\"subs\":%d,\"pubs\":%d,\"window\":%d,"
			"\"size\":%d,\"rate\":%.1f,\"rooms\":%d,\"churn\":%d,\"procs\":%d,"
			"\"duration_s\":%.3f,\"conns_ready\":%" PRIu64 ",\"connect_failures\":%" PRIu64
			",\"connect_s\":%.3f,\"connects_per_s\":%.1f,\"published\":%" PRIu64
			",\"delivered\":%" PRIu64 ",\"deliveries_per_s\":%.1f,"
			"\"lat_us\":{\"p50\":%" PRIu64 ",\"p90\":%" PRIu64 ",\"p99\":%" PRIu64
			",\"p999\":%" PRIu64 ",\"max\":%" PRIu64 "},"
			"\"lost_gaps\":%" PRIu64 ",\"dropped_notices\":%" PRIu64 ",\"expected\":%" PRId64
			",\"missing\":%" PRId64 ",\"out_of_order\":%" PRIu64 ",\"errors\":%" PRIu64
			",\"bad_frames\":%" PRIu64 ",\"closed_by_server\":%" PRIu64 ",\"window_stalls\":%" PRIu64
			",\"churn_cycles\":%" PRIu64 ",\"churn_per_s\":%.1f,"
			"\"server_rss_kb_before\":%ld,\"server_rss_kb_after\":%ld,\"rss_per_conn_bytes\":%.0f,"
			"\"server_cpu_pct\":%.1f,\"loadgen_cpu_pct\":%.1f,\"loadgen_cores\":%d,"
			"\"loadgen_saturated\":%s}",
			o.label, scen_names[o.scen], o.proto == P_RAW ? "raw" : "roomcast",
			o.port, o.subs, o.pubs, o.window, o.size, o.rate, o.rooms, o.churn,
			o.procs, run_s, tot.ready, tot.connect_fail, (double)conn_ns / 1e9,
			conn_ns ? (double)tot.ready / ((double)conn_ns / 1e9) : 0.0,
			tot.published, tot.delivered, dps,
			hist_pct(hall, 50), hist_pct(hall, 90), hist_pct(hall, 99),
			hist_pct(hall, 99.9), latmax, tot.lost_gaps, tot.dropped, expected,
			missing, tot.ooo, tot.errors, tot.bad, tot.closed, tot.stalls,
			tot.churn_cycles, (double)tot.churn_cycles / run_s, rss0, rss1,
			rss_per, srv_cpu >= 0 ? 100.0 * srv_cpu / srv_wall : -1.0, lg_pct, cores,
			sat ? "true" : "false");
		printf("%s\n", json);
		if (o.json_out) {
			FILE *f = fopen(o.json_out, "w");

			if (f) {
				fprintf(f, "%s\n", json);
				fclose(f);
			}
		}
		if (!o.quiet && o.scen == S_IDLE) {
			fprintf(stderr,
				"\n  %-22s %s (%s)\n"
				"  %-22s %" PRIu64 " ready, %" PRIu64 " failed, %.0f/s over %.2f s\n",
				"scenario", scen_names[o.scen], o.label,
				"connections", tot.ready, tot.connect_fail,
				conn_ns ? (double)tot.ready / ((double)conn_ns / 1e9) : 0.0,
				(double)conn_ns / 1e9);
		} else if (!o.quiet) {
			fprintf(stderr,
				"\n  %-22s %s (%s)\n"
				"  %-22s %" PRIu64 " ready, %" PRIu64 " failed, %.0f/s\n"
				"  %-22s %" PRIu64 " published, %" PRIu64 " delivered\n"
				"  %-22s %.0f/s over %.2f s\n"
				"  %-22s p50 %" PRIu64 "  p90 %" PRIu64 "  p99 %" PRIu64 "  max %" PRIu64 "\n"
				"  %-22s gaps %" PRIu64 "  dropped-notices %" PRIu64 "  missing %" PRId64
				"  ooo %" PRIu64 "  closed %" PRIu64 "  errors %" PRIu64 "\n",
				"scenario", scen_names[o.scen], o.label,
				"connections", tot.ready, tot.connect_fail,
				conn_ns ? (double)tot.ready / ((double)conn_ns / 1e9) : 0.0,
				"messages", tot.published, tot.delivered,
				"deliveries", dps, run_s,
				"latency (us)", hist_pct(hall, 50), hist_pct(hall, 90),
				hist_pct(hall, 99), latmax,
				"losses", tot.lost_gaps, tot.dropped, missing, tot.ooo,
				tot.closed, tot.errors);
			if (o.scen == S_CHURN)
				fprintf(stderr, "  %-22s %" PRIu64 " cycles, %.0f/s\n", "churn",
					tot.churn_cycles, (double)tot.churn_cycles / run_s);
		}
		if (!o.quiet) {
			if (o.scen == S_IDLE)
				fprintf(stderr, "  %-22s %ld KB -> %ld KB, %.0f bytes/connection\n",
					"server RSS", rss0, rss1, rss_per);
			fprintf(stderr, "  %-22s server %.0f%%, loadgen %.0f%% of %d core(s)\n",
				"cpu", srv_cpu >= 0 ? 100.0 * srv_cpu / srv_wall : -1.0, lg_pct, cores);
			if (sat)
				fprintf(stderr, "  WARNING: the load generator is saturated (%.0f%% CPU of %d core(s)); add --procs/cores: figures are a lower bound of the server\n",
					lg_pct, cores);
		}
	}
	return tot.ready ? 0 : 1;
}
