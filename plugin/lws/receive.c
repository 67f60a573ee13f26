/*
 * receive.c: a connection's input. lws hands us a message in pieces;
 * they are reassembled up to max-message-size and each whole message is
 * handed to the hub. Also the peer's close, whose reason must be UTF-8.
 */
#include "glue.h"

#include "codec.h"
#include "rm_clock.h"
#include "rm_err.h"
#include "stats.h"

#include <stdlib.h>
#include <string.h>

/* A reassembly buffer larger than this is freed after its message. */
#define RM_RX_KEEP 4096

void
receive_heard(struct pss__roomcast *pss)
{
	pss->last_rx_ms = rm_clock_ms();
	pss->ping_after_ms = 0;
}

/*
 * A message in pieces begins: its buffer counts as held for partial
 * messages until it ends. A buffer kept between messages (at most
 * RM_RX_KEEP) does not count: it is per-connection memory, like lws's.
 */
static void
rx_begin(struct pss__roomcast *pss)
{
	int64_t now = rm_clock_ms();

	pss->rx_start_ms = now ? now : 1;
	rm_stats.reassembly_bytes += pss->rx_cap;
}

/* The message ended (whole, or abandoned): it holds nothing any more. */
static void
rx_end(struct pss__roomcast *pss)
{
	if (pss->rx_start_ms)
		rm_stats.reassembly_bytes -= pss->rx_cap;
	pss->rx_start_ms = 0;
	pss->rx_len = 0;
}

void
receive_free(struct pss__roomcast *pss)
{
	rx_end(pss);
	free(pss->rx);
	pss->rx = NULL;
	pss->rx_cap = 0;
}

/*
 * Our policy for partial messages (docs/RELIABILITY.md, "Unfinished
 * messages"): what all connections hold for them together is bounded by
 * max-reassembly-bytes, and, with max-queued-bytes, by what is left of
 * it after the send rings. Growing past either closes the connection
 * that grows (1011: the server cannot take its message now; it may come
 * back later), never one that is only holding.
 */
static int
rx_budget_ok(size_t grow)
{
	const struct rconf_process *p = glue_process_options();
	uint64_t after = rm_stats.reassembly_bytes + grow;

	if (p->max_reassembly_bytes && after > p->max_reassembly_bytes)
		return 0;
	return !p->max_queued_bytes ||
	       rm_stats.queued_bytes + after <= p->max_queued_bytes;
}

/*
 * Appends a piece; the buffer grows by doubling from 1 KB, never past
 * max-message-size, so a connection holds about what it has sent.
 */
static int
rx_append(struct pss__roomcast *pss, const struct rconf *conf,
	  const void *in, size_t len)
{
	size_t need = pss->rx_len + len;

	/* an empty fragment keeps nothing (and memcpy from NULL is UB) */
	if (!len)
		return RM_OK;
	if (need > pss->rx_cap) {
		size_t cap = pss->rx_cap ? pss->rx_cap : 1024;
		unsigned char *p;

		while (cap < need)
			cap *= 2;
		if (cap > conf->max_message_size)
			cap = conf->max_message_size;	/* need fits: checked */
		if (!rx_budget_ok(cap - pss->rx_cap))
			return RM_E_LIMIT;
		p = realloc(pss->rx, cap);
		if (!p)
			return RM_E_NOMEM;
		rm_stats.reassembly_bytes += cap - pss->rx_cap;
		pss->rx = p;
		pss->rx_cap = (uint32_t)cap;
	}
	memcpy(pss->rx + pss->rx_len, in, len);
	pss->rx_len += (uint32_t)len;
	return RM_OK;
}

/* A whole message is here: hand it to the hub. */
static int
rx_complete(struct lws *wsi, struct pss__roomcast *pss, const char *text,
	    size_t len)
{
	int code = 0;

	if (pss->rx_binary)
		hub_on_binary(glue_hub, pss->client);
	else
		code = hub_on_text(glue_hub, pss->client, text, len,
				   rm_clock_ms());
	rx_end(pss);
	if (pss->rx_cap > RM_RX_KEEP)
		receive_free(pss);
	if (code == HUB_CLOSE_INVALID_UTF8)
		send_close(wsi, LWS_CLOSE_STATUS_INVALID_PAYLOAD);
	return 0;
}

/* Ends the connection over its partial message, freeing it at once. */
static int
rx_abort(struct lws *wsi, struct pss__roomcast *pss, int code)
{
	if (code != LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE)
		rm_stats.reassembly_aborted++;
	receive_free(pss);
	send_close(wsi, code);
	return 0;
}

int
receive_check_deadline(struct lws *wsi, struct pss__roomcast *pss,
		       int64_t now_ms)
{
	const struct rconf *conf = hub_client_conf(pss->client);

	if (!pss->rx_start_ms || !conf->reassembly_timeout_s ||
	    now_ms - pss->rx_start_ms <
	    (int64_t)conf->reassembly_timeout_s * 1000)
		return 0;
	/* a peer that trickles a message is as good as one that is gone */
	pss->rx_late = 1;
	rx_abort(wsi, pss, RM_CLOSE_NO_PONG);
	return 1;
}

/*
 * lws hands us a message in pieces (frames, and frames larger than its rx
 * buffer in several calls). A message that is whole in one piece is
 * handled in place; others are reassembled up to max-message-size.
 * Binary messages are only measured, never kept.
 */
static int
on_piece(struct lws *wsi, struct pss__roomcast *pss, const void *in,
	 size_t len)
{
	const struct rconf *conf;
	int final = lws_is_final_fragment(wsi);

	if (!pss->client || pss->close_code)
		return 0;
	conf = hub_client_conf(pss->client);
	receive_heard(pss);
	if (!pss->rx_start_ms) {
		rm_stats.messages_received++;
		pss->rx_binary = lws_frame_is_binary(wsi);
	}
	rm_stats.bytes_received += len;
	if (pss->rx_len + len > conf->max_message_size)
		return rx_abort(wsi, pss, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE);
	if (!pss->rx_start_ms) {
		if (final && !pss->rx_binary)
			/* lws's rx buffer ends in a spare byte; text needs none */
			return rx_complete(wsi, pss, in, len);
		if (!final)	/* the deadline runs from the first piece */
			rx_begin(pss);
	}
	if (pss->rx_binary) {
		pss->rx_len += (uint32_t)len;
		return final ? rx_complete(wsi, pss, NULL, 0) : 0;
	}
	/* over the budget or out of memory: 1011, come back later */
	if (rx_append(pss, conf, in, len))
		return rx_abort(wsi, pss, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION);
	return final ? rx_complete(wsi, pss, (const char *)pss->rx,
				   pss->rx_len) : 0;
}

int
receive_piece(struct lws *wsi, struct pss__roomcast *pss, const void *in,
	      size_t len)
{
	int r;

	/* the members this piece wakes may wait for the rest of the burst */
	wakes_begin();
	r = on_piece(wsi, pss, in, len);
	wakes_end(wsi, len);
	return r;
}

/*
 * lws answers a client's close by echoing its payload. A close reason
 * that is not UTF-8 must fail the connection with 1007 (RFC 6455 8.1)
 * instead: the payload is rewritten in place, in the buffer lws echoes.
 */
void
receive_peer_close(void *in, size_t len)
{
	static const char why[] = "invalid UTF-8 in close reason";
	unsigned char *p = in;

	if (len <= 2 || codec_utf8_valid(p + 2, len - 2))
		return;
	p[0] = LWS_CLOSE_STATUS_INVALID_PAYLOAD >> 8;
	p[1] = LWS_CLOSE_STATUS_INVALID_PAYLOAD & 0xff;
	memset(p + 2, ' ', len - 2);
	memcpy(p + 2, why, len - 2 < sizeof(why) - 1 ? len - 2 : sizeof(why) - 1);
}
