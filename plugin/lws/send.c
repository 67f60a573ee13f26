/*
 * send.c: a connection's output, written from its own SERVER_WRITEABLE:
 * its close frame if a close was asked for, else a due ping, else as many
 * queued frames as fit in one write.
 */
#include "glue.h"
#include "hub_api.h"

#include "hub_auth.h"
#include "msg.h"

#include <string.h>

/* A close that cannot be written (peer not reading) is forced after this. */
#define RM_CLOSE_GRACE_S 2

/* One write buffer for the whole process: writes never overlap. */
static unsigned char batch[LWS_PRE + RM_BATCH_MAX];

/*
 * Closes are asked for from inside other connections' callbacks (a
 * broadcast meets a full ring), where this wsi cannot be closed: its next
 * WRITEABLE sends the close frame. A peer that never reads never becomes
 * writeable, so a timeout closes the socket without one.
 */
void
send_close(void *owner, int code)
{
	struct lws *wsi = owner;
	struct pss__roomcast *pss = lws_wsi_user(wsi);

	if (pss->close_code)
		return;
	pss->close_code = (uint16_t)code;
	if (pss->client)
		hub_client_set_closing(pss->client); /* queue nothing more */
	lws_callback_on_writable(wsi);
	lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, RM_CLOSE_GRACE_S);
}

/* The close frame's reason text for each code the server closes with. */
static const char *
close_reason(int code)
{
	switch (code) {
	case LWS_CLOSE_STATUS_GOINGAWAY:
		return "server shutting down";
	case LWS_CLOSE_STATUS_INVALID_PAYLOAD:
		return "invalid UTF-8";
	case LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE:
		return "message too big";
	case HUB_CLOSE_SLOW_CONSUMER:
		return "slow consumer";
	case RM_CLOSE_NO_PONG:
		return "no pong";
	case HUB_CLOSE_AUTH_TIMEOUT:
		return "not authenticated in time";
	case HUB_CLOSE_TOKEN_EXPIRED:
		return "token expired";
	case HUB_CLOSE_API_DISCONNECT:
		return "disconnected through the server API";
	default:
		return "internal error";
	}
}

/*
 * Closes this wsi now, from its own WRITEABLE callback, with @code. Every
 * close goes through WRITEABLE (send_close): lws calls it only once its
 * own unsent output has left, and a -1 returned while output is pending
 * makes lws 4.1.6 drop the socket without the close frame.
 *
 * On libuv (glue_evlib) not by returning -1: lws 4.1.6 as Debian builds
 * it (_DEBUG) then closes the wsi a second time ("uv repeat test" in
 * lws_service_fd), before the close frame is written. An immediate
 * timeout closes it from lws's timer list instead, which writes the close
 * frame first; its reason must be HTTP_KEEPALIVE_IDLE, the one timeout
 * lws does not treat as a dead socket (any other kills without a close
 * frame: used when output is still pending, as lws does on a -1).
 */
static int
close_with(struct lws *wsi, struct pss__roomcast *pss, int code,
	   const char *reason)
{
	if (pss->close_begun)
		return 0;
	lws_close_reason(wsi, (enum lws_close_status)code,
			 (unsigned char *)reason, strlen(reason));
	if (!glue_evlib)
		return -1;
	pss->close_begun = 1;
	/*
	 * Output still pending, or a slow consumer (who would not read the
	 * close frame nor answer it for the 5 s lws waits): no close frame,
	 * as a -1 with output pending does on lws's poll() loop.
	 */
	lws_set_timeout(wsi, code == HUB_CLOSE_SLOW_CONSUMER ||
			lws_send_pipe_choked(wsi) ? PENDING_TIMEOUT_USER_OK :
			PENDING_TIMEOUT_HTTP_KEEPALIVE_IDLE, LWS_TO_KILL_ASYNC);
	return 0;
}

/*
 * Copies as many whole queued frames as fit into the batch buffer and
 * sends them in one write: each is still its own WebSocket message (lws
 * writes RAW bytes as they are and finishes a short write itself before
 * the next WRITEABLE). A frame larger than the batch goes out alone,
 * straight from its msg.
 */
static int
write_batch(struct lws *wsi, struct client *c)
{
	unsigned int queued = hub_client_queued(c), n = 0;
	size_t used = 0, fl;
	struct msg *m;

	while (n < queued) {
		m = hub_client_peek(c, n);
		fl = msg_frame_len(m);
		if (used + fl > RM_BATCH_MAX)
			break;
		memcpy(batch + LWS_PRE + used, msg_frame(m), fl);
		used += fl;
		n++;
	}
	if (!n) {
		m = hub_client_peek(c, 0);
		fl = msg_frame_len(m);
		if (lws_write(wsi, (unsigned char *)msg_frame(m), fl,
			      LWS_WRITE_RAW) < (int)fl)
			return -1;
		hub_written(glue_hub, c, 1, fl);
		return 0;
	}
	if (lws_write(wsi, batch + LWS_PRE, used, LWS_WRITE_RAW) < (int)used)
		return -1;
	hub_written(glue_hub, c, n, used);
	return 0;
}

/* Control frames go ahead of everything queued. */
static int
write_ping(struct lws *wsi, struct pss__roomcast *pss)
{
	unsigned char ping[LWS_PRE + 4] = { [LWS_PRE] = 'r', 'c', 'h', 'b' };

	pss->ping_due = 0;
	/*
	 * lws 4.1.6 does not call back RECEIVE_PONG for an empty pong, and a
	 * pong echoes its ping's payload: so the ping has one.
	 */
	if (lws_write(wsi, ping + LWS_PRE, 4, LWS_WRITE_PING) < 0)
		return -1;
	if (hub_client_queued(pss->client))
		lws_callback_on_writable(wsi);
	return 0;
}

int
send_writeable(struct lws *wsi, struct pss__roomcast *pss)
{
	struct client *c = pss->client;

	if (!c)
		return 0;
	if (pss->close_code)
		return close_with(wsi, pss, pss->close_code, pss->rx_late ?
				  "message not finished in time" :
				  close_reason(pss->close_code));
	if (pss->ping_due)
		return write_ping(wsi, pss);
	if (!hub_client_queued(c))
		return 0;
	/*
	 * Only HTTP/1.1 connections get here (admission_filter refuses
	 * WebSocket over HTTP/2), so raw pre-framed writes are valid.
	 */
	if (write_batch(wsi, c))
		return -1;
	if (hub_client_queued(c))
		lws_callback_on_writable(wsi);
	return 0;
}
