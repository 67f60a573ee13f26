/*
 * wakes.c: input first, then output.
 *
 * lws reads at most rx_buffer_size bytes from a socket per turn of its
 * loop (128 under lwsws, up to 4 KB in roomcast-server: server/rxread.c),
 * so a publisher's burst arrives a few messages per turn;
 * asking for every member's WRITEABLE at once would send each member
 * those few frames per send(), and a send() costs the same for one frame
 * as for sixty. So while the sender's socket still has bytes waiting
 * (FIONREAD), the members it woke are held here and their WRITEABLE is
 * asked for once its input is drained: each member's batch (send.c) then
 * carries the whole burst. Held for at most RM_WAKE_HOLD_US, and for at
 * most a quarter of the smallest send ring (in messages and in bytes): a
 * member that keeps up then holds at most that quarter, plus the rest of
 * one read, plus the next read, so holding does not make its ring
 * overflow (roomcast-server sizes its reads for that: conf_read_size()).
 * A turn of the loop polls every socket, so reading a 64-message burst
 * 128 bytes at a time takes a few ms with 1000 connections: 1 ms
 * measured 0.8M deliveries/s in the fan-out benchmark, 4 ms 2.1-3.3M;
 * 4 KB at a time, two turns, 5.7-6.6M (docs/PERFORMANCE.md). Only a
 * sender that keeps sending is held that long; a lone message leaves at
 * once.
 */
#include "glue.h"

#include <stdlib.h>
#include <sys/ioctl.h>

#define RM_WAKE_HOLD_US 4000

static struct {
	struct lws **wsi;		/* whose WRITEABLE is held; NULL: gone */
	unsigned int count, cap;
	lws_sorted_usec_list_t sul;	/* releases them after the hold */
	int receiving;			/* inside a RECEIVE callback */
	unsigned int msgs;		/* pieces received while holding */
	size_t bytes;
	unsigned int max_msgs;		/* a quarter of the smallest ring */
	size_t max_bytes;
} held_wakes = { .max_msgs = ~0u, .max_bytes = ~(size_t)0 };

static void
release_wakes(void)
{
	unsigned int i;

	for (i = 0; i < held_wakes.count; i++) {
		struct lws *wsi = held_wakes.wsi[i];

		if (!wsi)
			continue;
		((struct pss__roomcast *)lws_wsi_user(wsi))->wake_held = 0;
		lws_callback_on_writable(wsi);
	}
	held_wakes.count = 0;
	held_wakes.msgs = 0;
	held_wakes.bytes = 0;
	lws_sul_cancel(&held_wakes.sul);
}

static void
release_wakes_timer(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	release_wakes();
}

/*
 * Bytes from @wsi that lws has not read yet: in the kernel, or already
 * decrypted by OpenSSL (lws reads those in the same turn of its loop).
 */
static int
input_waiting(struct lws *wsi)
{
	struct lws *nwsi = lws_get_network_wsi(wsi);
	int n = 0;

	if (lws_is_ssl(nwsi) && SSL_pending(lws_get_ssl(nwsi)) > 0)
		return 1;
	return ioctl(lws_get_socket_fd(nwsi), FIONREAD, &n) == 0 && n > 0;
}

void
wakes_begin(void)
{
	held_wakes.receiving = 1;
}

void
wakes_end(struct lws *wsi, size_t len)
{
	held_wakes.receiving = 0;
	if (!held_wakes.count)
		return;
	held_wakes.msgs++;
	held_wakes.bytes += len;
	if (held_wakes.msgs >= held_wakes.max_msgs ||
	    held_wakes.bytes >= held_wakes.max_bytes || !input_waiting(wsi)) {
		release_wakes();
		return;
	}
	if (!lws_dll2_is_detached(&held_wakes.sul.list))
		return;
	lws_sul_schedule(glue_context, 0, &held_wakes.sul,
			 release_wakes_timer, RM_WAKE_HOLD_US);
}

/*
 * An API publish comes on a connection of its own (one request in flight
 * on each), so there is no socket whose waiting input says more is
 * coming: publishes count as a burst while the last one came less than
 * this long ago. A lone one leaves at once; a stream is written to each
 * member in batches, held at most this long (4 ms halved the API rate).
 */
#define RM_WAKE_HOLD_API_US 1000

void
wakes_end_api(size_t len)
{
	static int64_t last_us;
	int64_t now = lws_now_usecs(), since = now - last_us;

	held_wakes.receiving = 0;
	last_us = now;
	if (!held_wakes.count)
		return;
	held_wakes.msgs++;
	held_wakes.bytes += len;
	if (since >= RM_WAKE_HOLD_API_US ||
	    held_wakes.msgs >= held_wakes.max_msgs ||
	    held_wakes.bytes >= held_wakes.max_bytes) {
		release_wakes();
		return;
	}
	if (!lws_dll2_is_detached(&held_wakes.sul.list))
		return;
	lws_sul_schedule(glue_context, 0, &held_wakes.sul,
			 release_wakes_timer, RM_WAKE_HOLD_API_US);
}

void
wakes_forget(struct lws *wsi, struct pss__roomcast *pss)
{
	unsigned int i;

	if (!pss->wake_held)
		return;
	pss->wake_held = 0;
	for (i = 0; i < held_wakes.count; i++)
		if (held_wakes.wsi[i] == wsi)
			held_wakes.wsi[i] = NULL;
}

void
wakes_wake(void *owner)
{
	struct lws *wsi = owner;
	struct pss__roomcast *pss = lws_wsi_user(wsi);

	if (pss->wake_held)
		return;		/* asked for when the hold ends */
	if (!held_wakes.receiving) {
		lws_callback_on_writable(wsi);
		return;
	}
	if (held_wakes.count == held_wakes.cap) {
		unsigned int cap = held_wakes.cap ? held_wakes.cap * 2 : 64;
		struct lws **p = realloc(held_wakes.wsi, cap * sizeof(*p));

		if (!p) {
			lws_callback_on_writable(wsi);	/* just not batched */
			return;
		}
		held_wakes.wsi = p;
		held_wakes.cap = cap;
	}
	held_wakes.wsi[held_wakes.count++] = wsi;
	pss->wake_held = 1;
}

void
wakes_bound(const struct rconf *conf)
{
	unsigned int quarter = conf->send_ring_size / 4 ?
			       conf->send_ring_size / 4 : 1;

	if (quarter < held_wakes.max_msgs)
		held_wakes.max_msgs = quarter;
	if (conf->send_ring_bytes / 4 < held_wakes.max_bytes)
		held_wakes.max_bytes = conf->send_ring_bytes / 4;
}

void
wakes_stop(void)
{
	lws_sul_cancel(&held_wakes.sul);
	free(held_wakes.wsi);
	held_wakes.wsi = NULL;
	held_wakes.count = held_wakes.cap = 0;
}
