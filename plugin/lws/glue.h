/*
 * glue.h: what the files of the lws glue share, and nothing else sees.
 *
 * The glue turns lws callbacks into hub calls (plugin/core/hub.h) and
 * drains each connection's send ring from SERVER_WRITEABLE. One concern
 * per file:
 *   vhost.c      the protocol table, the callback's dispatch, vhost
 *                init/destroy, the plugin export;
 *   glue.c       the process-wide state every vhost shares (the hub, the
 *                per-IP counts) and the hub's ops;
 *   admission.c  the handshake checks, and counting who was admitted;
 *   receive.c    reassembling messages and handing them to the hub;
 *   wakes.c      holding members' WRITEABLE while a sender's burst is read;
 *   send.c       writing rings in batches, pings and closes;
 *   sweep.c      the heartbeat sweep, returning memory after a burst, and
 *                the lingering close of sockets on an event library.
 *
 * Everything runs on the lws service thread (LWS_MAX_SMP is 1 here).
 */
#ifndef GLUE_H
#define GLUE_H

#if !defined(LWS_PLUGIN_STATIC)
#define LWS_DLL
#define LWS_INTERNAL
#endif
#include <libwebsockets.h>

#include "hub.h"
#include "rconf.h"

#include <stddef.h>
#include <stdint.h>

/*
 * Several queued frames leave in one write of up to this many bytes:
 * on loopback a send() costs about the same for 60 bytes as for 60 KB.
 * Also the protocols' tx_packet_size (vhost.c).
 */
#define RM_BATCH_MAX (64 * 1024)

/* Close code of a connection that did not answer our ping in time. */
#define RM_CLOSE_NO_PONG 4002

struct ipcount;
struct ipcount_entry;

/*
 * Kept small: lws allocates one per connection, idle ones included (see
 * docs/PERFORMANCE.md, idle). The hub's owner of a client is its wsi.
 */
struct pss__roomcast {
	struct client *client;		/* NULL outside ESTABLISHED..CLOSED */
	unsigned char *rx;		/* fragments of the current message */
	int64_t last_rx_ms;		/* anything heard from the peer */
	int64_t ping_sent_ms;		/* 0: no ping outstanding */
	struct ipcount_entry *ip;	/* counted for max-connections-per-ip */
	uint32_t rx_len, rx_cap;	/* max-message-size is below 4 GB */
	uint16_t close_code;		/* close with this at next writeable */
	uint8_t rx_binary : 1;
	uint8_t ping_due : 1;
	uint8_t wake_held : 1;		/* in wakes.c's held list */
	uint8_t close_begun : 1;	/* close frame handed to lws (send.c) */
};

/* A vhost's roomcast state, kept by its "roomcast" entry. */
struct vhd__roomcast {
	struct lws_context *context;
	struct lws_vhost *vhost;
	lws_sorted_usec_list_t sul_stats;	/* the once-a-second sample */
	const struct lws_protocols *protocol;
	struct rconf conf;
	int enabled;			/* the vhost lists roomcast.v1 */
	unsigned int connections;	/* upgraded, on this vhost */
};

/*---- glue.c: one hub for the whole process (see hub.h) ----*/

extern struct hub *glue_hub;
extern struct ipcount *glue_ipcount;
extern struct lws_context *glue_context;	/* the one lws context */
/* lws runs on an event library, not its own poll() loop (sweep.c) */
extern int glue_evlib;

/*
 * Takes a reference on the process-wide state for a vhost, creating it
 * (and starting the sweep) at the first. Returns 0 or -1 (OOM).
 */
int glue_hold(struct lws_context *context);

/* Drops a vhost's reference; the last frees the hub and stops timers. */
void glue_release(void);

/* Starts the drain if lwsws deprecated @cx (its graceful stop). */
void glue_drain_if_deprecated(struct lws_context *cx);

/*---- vhost.c ----*/

/* @wsi's vhost's roomcast state, or NULL where roomcast is not set up. */
struct vhd__roomcast *vhost_of(struct lws *wsi);

/* 1 if @wsi is bound to the "roomcast" entry, 0 for "roomcast.v1". */
int vhost_is_config_entry(struct lws *wsi);

/*---- admission.c ----*/

/* HTTP_CONFIRM_UPGRADE: refuses with an HTTP status, or returns 0. */
int admission_confirm_upgrade(struct lws *wsi, struct vhd__roomcast *vhd,
			      const char *upgrade);

/* FILTER_PROTOCOL_CONNECTION: -1 refuses the binding. */
int admission_filter(struct lws *wsi, struct vhd__roomcast *vhd);

/* ESTABLISHED: registers the connection with the hub; -1 on OOM. */
int admission_established(struct lws *wsi, struct pss__roomcast *pss,
			  struct vhd__roomcast *vhd);

/* CLOSED: unregisters it and frees what the pss holds. */
void admission_closed(struct lws *wsi, struct pss__roomcast *pss,
		      struct vhd__roomcast *vhd);

/*---- receive.c ----*/

/* RECEIVE: one piece of a message; wakes are held around it (wakes.c). */
int receive_piece(struct lws *wsi, struct pss__roomcast *pss,
		  const void *in, size_t len);

/* Anything from the peer (a piece, a pong) restarts its heartbeat. */
void receive_heard(struct pss__roomcast *pss);

/* WS_PEER_INITIATED_CLOSE: answers a bad close reason with 1007. */
void receive_peer_close(void *in, size_t len);

/*---- wakes.c ----*/

/* The hub's ops->wake: asks for @owner's WRITEABLE, now or held. */
void wakes_wake(void *owner);

/* A RECEIVE callback begins: wakes asked for until wakes_end() are held. */
void wakes_begin(void);

/* After a RECEIVE piece of @len bytes from @wsi: hold on or release. */
void wakes_end(struct lws *wsi, size_t len);

/* Stops holding @wsi's wake: it is closing. */
void wakes_forget(struct lws *wsi, struct pss__roomcast *pss);

/* Holds no more than a quarter of @conf's send ring (per vhost init). */
void wakes_bound(const struct rconf *conf);

/* Releases the held list and its timer (the last vhost is going). */
void wakes_stop(void);

/*---- send.c ----*/

/*
 * The hub's ops->close, and the glue's own: closes @owner with @code at
 * its next WRITEABLE, or without a close frame after a grace period.
 */
void send_close(void *owner, int code);

/* SERVER_WRITEABLE: the close, a ping, or the ring's next batch. */
int send_writeable(struct lws *wsi, struct pss__roomcast *pss);

/*---- sweep.c ----*/

/* Starts the once-a-tick sweep over every connection (on glue_context). */
void sweep_start(void);

/* Stops it. */
void sweep_stop(void);

/* A connection was admitted (for returning memory after a burst). */
void sweep_note_opened(void);

/* CLOSED: keeps @wsi's socket open to drain it (lingering close, on). */
void sweep_linger(struct lws *wsi);

#endif
