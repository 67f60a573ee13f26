/*
 * apibench: the server API's publish path against a member's broadcast,
 * in one run on one server (docs/PERFORMANCE.md, "API publish").
 *
 * N WebSocket members join one room. Phase "api": K HTTP/1.1 keep-alive
 * connections to the status port POST /api/publish back to back (one
 * request in flight each). Phase "ws": one member broadcasts with at most
 * W of its own messages unanswered (its echo answers one). Each phase
 * runs for --duration seconds; reported: publishes/s (API answers 200, or
 * echoes), deliveries/s (broadcast frames read by all members), and the
 * `dropped` notices seen. Every run is bounded (alarm()).
 *
 *   apibench --port P --status-port S --key K [--members 1000]
 *            [--http 8] [--window 64] [--size 64] [--duration 5]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF 65536
#define ROOM "apibench"

struct conn {
	int fd, http, pub;
	size_t len;
	unsigned char buf[BUF];
};

static int port = 8080, status_port = 8081, members = 1000, nhttp = 8,
	   window = 64, size = 64;
static double duration = 5;
static const char *key = "";
static uint64_t delivered, dropped, published, outstanding, http_errors;
static char body[1024], request[2048];
static size_t request_len;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
dial(int p)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)p) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("connect");
		exit(1);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void
send_all(int fd, const void *p, size_t len)
{
	const char *c = p;
	ssize_t n;

	while (len) {
		n = send(fd, c, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN)
			continue;	/* rare: our own send buffer is full */
		if (n <= 0) {
			perror("send");
			exit(1);
		}
		c += n;
		len -= (size_t)n;
	}
}

/* A masked (key 0: payload as is) client text frame. */
static void
send_text(int fd, const char *text)
{
	unsigned char f[2048];
	size_t len = strlen(text), h = 2;

	f[0] = 0x81;
	if (len < 126) {
		f[1] = 0x80 | (unsigned char)len;
	} else {
		f[1] = 0x80 | 126;
		f[2] = (unsigned char)(len >> 8);
		f[3] = (unsigned char)len;
		h = 4;
	}
	memset(f + h, 0, 4);
	memcpy(f + h + 4, text, len);
	send_all(fd, f, h + 4 + len);
}

/* Opens a member: handshake and join, blocking; answers not waited for. */
static int
member(void)
{
	char req[512], resp[2048];
	int fd = dial(port);
	ssize_t n;
	size_t got = 0;

	snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		 "Upgrade: websocket\r\nConnection: Upgrade\r\n"
		 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		 "Sec-WebSocket-Version: 13\r\n"
		 "Sec-WebSocket-Protocol: roomcast.v1\r\n\r\n");
	send_all(fd, req, strlen(req));
	while (!memmem(resp, got, "\r\n\r\n", 4)) {
		n = recv(fd, resp + got, sizeof(resp) - got, 0);
		if (n <= 0) {
			fprintf(stderr, "handshake: connection closed\n");
			exit(1);
		}
		got += (size_t)n;
	}
	if (got < 12 || memcmp(resp + 9, "101", 3)) {
		fprintf(stderr, "handshake refused: %.12s\n", resp);
		exit(1);
	}
	send_text(fd, "{\"type\":\"join\",\"room_id\":\"" ROOM "\"}");
	return fd;
}

static int measuring, phase_api, phase_ws;

/* Reads the complete server frames in @c's buffer. */
static void
on_frames(struct conn *c)
{
	size_t off = 0;

	for (;;) {
		unsigned char *f = c->buf + off;
		size_t avail = c->len - off, h = 2, plen;

		if (avail < 2)
			break;
		plen = f[1] & 0x7f;
		if (plen == 126) {
			if (avail < 4)
				break;
			plen = (size_t)f[2] << 8 | f[3];
			h = 4;
		} else if (plen == 127) {
			if (avail < 10)
				break;
			plen = 0;
			for (int i = 0; i < 8; i++)
				plen = plen << 8 | f[2 + i];
			h = 10;
		}
		if (avail < h + plen)
			break;
		if (plen > 18 && !memcmp(f + h, "{\"type\":\"broadcast\"", 19)) {
			if (measuring)
				delivered++;
			if (c->pub && outstanding)
				outstanding--;
		} else if (plen > 16 &&
			   !memcmp(f + h, "{\"type\":\"dropped\"", 17)) {
			dropped++;
			if (c->pub)	/* its lost echoes answer no more */
				outstanding = 0;
		}
		off += h + plen;
	}
	memmove(c->buf, c->buf + off, c->len - off);
	c->len -= off;
}

static void
http_send(struct conn *c)
{
	send_all(c->fd, request, request_len);
}

/* Reads the complete HTTP answers in @c's buffer; sends the next. */
static void
on_answers(struct conn *c)
{
	for (;;) {
		char *eoh = memmem(c->buf, c->len, "\r\n\r\n", 4), *cl;
		size_t total;

		if (!eoh)
			return;
		*eoh = '\0';
		cl = strcasestr((char *)c->buf, "content-length:");
		total = (size_t)(eoh + 4 - (char *)c->buf) +
			(cl ? (size_t)atol(cl + 15) : 0);
		*eoh = '\r';
		if (c->len < total)
			return;
		if (!memcmp(c->buf, "HTTP/1.1 200", 12)) {
			if (measuring)
				published++;
		} else {
			http_errors++;
		}
		memmove(c->buf, c->buf + total, c->len - total);
		c->len -= total;
		if (phase_api)
			http_send(c);
	}
}

static void
on_readable(struct conn *c)
{
	ssize_t n = recv(c->fd, c->buf + c->len, BUF - c->len, 0);

	if (n <= 0) {
		if (n < 0 && errno == EAGAIN)
			return;
		if (c->http && !phase_api) {
			/* lws ends idle keep-alive connections (5 s) */
			close(c->fd);
			return;
		}
		fprintf(stderr, "a connection closed (%s)\n",
			c->http ? "http" : "member");
		exit(1);
	}
	c->len += (size_t)n;
	if (c->http)
		on_answers(c);
	else
		on_frames(c);
}

/* Runs the loop for @secs seconds; the ws phase keeps its window full. */
static void
run(int ep, struct conn *pub, double secs)
{
	struct epoll_event ev[256];
	double end = now_s() + secs;
	char msg[2048];

	snprintf(msg, sizeof(msg), "{\"type\":\"broadcast\",\"room_id\":\""
		 ROOM "\",\"content\":\"%s\"}", body);
	while (now_s() < end) {
		int n = epoll_wait(ep, ev, 256, 5);

		for (int i = 0; i < n; i++)
			on_readable(ev[i].data.ptr);
		while (phase_ws && outstanding < (uint64_t)window) {
			send_text(pub->fd, msg);
			outstanding++;
			if (measuring)
				published++;
		}
	}
}

static void
report(const char *name, double secs)
{
	printf("%-4s publishes/s %10.0f  deliveries/s %12.0f  dropped %llu"
	       "  http_errors %llu\n", name, published / secs,
	       delivered / secs, (unsigned long long)dropped,
	       (unsigned long long)http_errors);
	printf("{\"scenario\":\"%s\",\"members\":%d,\"publishes_per_s\":%.0f,"
	       "\"deliveries_per_s\":%.0f,\"dropped\":%llu}\n", name,
	       members + 1, published / secs, delivered / secs,
	       (unsigned long long)dropped);
	fflush(stdout);
	published = delivered = dropped = http_errors = 0;
}

static void
watch(int ep, struct conn *c)
{
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };
	int fl = 1;

	if (ioctl(c->fd, FIONBIO, &fl) || epoll_ctl(ep, EPOLL_CTL_ADD, c->fd,
						    &e)) {
		perror("epoll");
		exit(1);
	}
}

int
main(int argc, char **argv)
{
	struct rlimit rl;
	struct conn *cs;
	int ep, i, n;

	for (i = 1; i + 1 < argc; i += 2) {
		const char *a = argv[i], *v = argv[i + 1];

		if (!strcmp(a, "--port")) port = atoi(v);
		else if (!strcmp(a, "--status-port")) status_port = atoi(v);
		else if (!strcmp(a, "--key")) key = v;
		else if (!strcmp(a, "--members")) members = atoi(v);
		else if (!strcmp(a, "--http")) nhttp = atoi(v);
		else if (!strcmp(a, "--window")) window = atoi(v);
		else if (!strcmp(a, "--size")) size = atoi(v);
		else if (!strcmp(a, "--duration")) duration = atof(v);
		else { fprintf(stderr, "unknown argument %s\n", a); return 2; }
	}
	if (i != argc || size < 1 || size > 512 || members < 1 || nhttp < 1 ||
	    nhttp > 256 || duration <= 0 || duration > 120) {
		fprintf(stderr, "usage: apibench --port P --status-port S --key K"
			" [--members N] [--http K] [--window W] [--size B]"
			" [--duration S]\n");
		return 2;
	}
	alarm((unsigned int)(2 * duration + 60));
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	memset(body, 'x', (size_t)size);
	n = snprintf(request + 1024, 1024, "{\"room_id\":\"" ROOM "\","
		     "\"content\":\"%s\"}", body);
	request_len = (size_t)snprintf(request, 1024, "POST /api/publish "
		"HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		key, n);
	memmove(request + request_len, request + 1024, (size_t)n);
	request_len += (size_t)n;
	cs = calloc((size_t)(members + 1 + nhttp), sizeof(*cs));
	ep = epoll_create1(0);
	if (!cs || ep < 0)
		return 1;
	for (i = 0; i <= members; i++) {
		cs[i].fd = member();
		cs[i].pub = i == members;
		watch(ep, &cs[i]);
	}
	for (i = 0; i < nhttp; i++) {
		struct conn *c = &cs[members + 1 + i];

		c->fd = dial(status_port);
		c->http = 1;
		watch(ep, c);
	}
	run(ep, NULL, 1.0);	/* the joined answers */
	measuring = phase_api = 1;
	for (i = 0; i < nhttp; i++)
		http_send(&cs[members + 1 + i]);
	run(ep, NULL, duration);
	measuring = phase_api = 0;
	run(ep, NULL, 1.0);
	report("api", duration);
	measuring = phase_ws = 1;
	run(ep, &cs[members], duration);
	measuring = phase_ws = 0;
	run(ep, &cs[members], 1.0);
	report("ws", duration);
	return 0;
}
