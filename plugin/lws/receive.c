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
	pss->ping_sent_ms = 0;
}

static int
rx_append(struct pss__roomcast *pss, const void *in, size_t len)
{
	if (pss->rx_len + len > pss->rx_cap) {
		size_t cap = pss->rx_cap ? pss->rx_cap : 1024;
		unsigned char *p;

		while (cap < pss->rx_len + len)
			cap *= 2;
		p = realloc(pss->rx, cap);
		if (!p)
			return RM_E_NOMEM;
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
	pss->rx_len = 0;
	if (pss->rx_cap > RM_RX_KEEP) {
		free(pss->rx);
		pss->rx = NULL;
		pss->rx_cap = 0;
	}
	if (code == HUB_CLOSE_INVALID_UTF8)
		send_close(wsi, LWS_CLOSE_STATUS_INVALID_PAYLOAD);
	return 0;
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
	if (lws_is_first_fragment(wsi) && !pss->rx_len) {
		rm_stats.messages_received++;
		pss->rx_binary = lws_frame_is_binary(wsi);
	}
	rm_stats.bytes_received += len;
	if (pss->rx_len + len > conf->max_message_size) {
		send_close(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE);
		return 0;
	}
	if (pss->rx_binary) {
		pss->rx_len += (uint32_t)len;
		return final ? rx_complete(wsi, pss, NULL, 0) : 0;
	}
	if (final && !pss->rx_len) {
		/* lws's rx buffer ends in a spare byte; the text needs none */
		return rx_complete(wsi, pss, in, len);
	}
	if (rx_append(pss, in, len)) {
		send_close(wsi, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION);
		return 0;
	}
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
