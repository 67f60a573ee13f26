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
 *   binding.c    which protocol an upgrade is bound to: roomcast.v1 only;
 *   receive.c    reassembling messages and handing them to the hub;
 *   wakes.c      holding members' WRITEABLE while a sender's burst is read;
 *   send.c       writing rings in batches, pings and closes;
 *   sweep.c      the heartbeat sweep, returning memory after a burst, and
 *                the lingering close of sockets on an event library;
 *   history.c    history-db's store, and kept rooms' expiry.
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
#include <time.h>

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
	int64_t rx_start_ms;		/* its first piece; 0: none pending */
	struct ipcount_entry *ip;	/* counted for max-connections-per-ip */
	uint32_t rx_len, rx_cap;	/* max-message-size is below 4 GB */
	/*
	 * When the outstanding ping went, as ms after last_rx_ms (at most
	 * ping-interval-s, a day, and a sweep); 0: none. Not an int64_t:
	 * the pss is then 56 bytes, 64 from malloc, not 80.
	 */
	uint32_t ping_after_ms;
	uint16_t close_code;		/* close with this at next writeable */
	uint8_t rx_binary : 1;
	uint8_t ping_due : 1;
	uint8_t wake_held : 1;		/* in wakes.c's held list */
	uint8_t rx_late : 1;		/* closed: message not finished */
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
	int held;			/* holds the process-wide state */
	unsigned int connections;	/* upgraded, on this vhost */
};

/*---- glue.c: one hub for the whole process (see hub.h) ----*/

extern struct hub *glue_hub;
extern struct ipcount *glue_ipcount;
extern struct lws_context *glue_context;	/* the one lws context */
/* lws runs on an event library, not its own poll() loop (sweep.c) */
extern int glue_evlib;

/*
 * Takes a reference on the process-wide state for vhost @vhost, creating
 * it (and starting the sweep) at the first, and gives the hub the
 * process-wide options @conf gives. Returns 0, or -1 with a reason in
 * @err: OOM, or @conf gives a process-wide option a value another vhost
 * gave differently (rconf_process_take).
 */
int glue_hold(struct lws_context *context, const struct rconf *conf,
	      const char *vhost, char *err, size_t errlen);

/* Drops a vhost's reference; the last frees the hub and stops timers. */
void glue_release(void);

/* The process-wide options every vhost agreed on (rconf.h scopes). */
const struct rconf_process *glue_process_options(void);

/* Starts the drain if lwsws deprecated @cx (its graceful stop). */
void glue_drain_if_deprecated(struct lws_context *cx);

/*---- vhost.c ----*/

/* @wsi's vhost's roomcast state, or NULL where roomcast is not set up. */
struct vhd__roomcast *vhost_of(struct lws *wsi);

/* 1 if @wsi is bound to the "roomcast" entry, 0 for "roomcast.v1". */
int vhost_is_config_entry(struct lws *wsi);

/*---- admission.c ----*/

/*
 * SERVER_NEW_CLIENT_INSTANTIATED (on protocols[0]): counts a socket not
 * yet upgraded against max-connections-per-ip; -1 closes it (over).
 */
int admission_accepted(struct lws *wsi);

/* WSI_DESTROY (on protocols[0]), or its upgrade's checks: uncounts it. */
void admission_unaccepted(struct lws *wsi);

/* Frees the count of sockets not yet upgraded (the last vhost went). */
void admission_stop(void);

/* HTTP_CONFIRM_UPGRADE: refuses with an HTTP status, or returns 0. */
int admission_confirm_upgrade(struct lws *wsi, struct vhd__roomcast *vhd,
			      const char *upgrade);

/* Refuses an upgrade with HTTP @status (a raw HTTP/1.1 answer); -1. */
int admission_refuse(struct lws *wsi, unsigned int status, const char *why);

/* FILTER_PROTOCOL_CONNECTION: -1 refuses the binding. */
int admission_filter(struct lws *wsi, struct vhd__roomcast *vhd);

/* ESTABLISHED: registers the connection with the hub; -1 on OOM. */
int admission_established(struct lws *wsi, struct pss__roomcast *pss,
			  struct vhd__roomcast *vhd);

/* CLOSED: unregisters it and frees what the pss holds. */
void admission_closed(struct lws *wsi, struct pss__roomcast *pss,
		      struct vhd__roomcast *vhd);

/*---- binding.c ----*/

/*
 * HTTP_CONFIRM_UPGRADE: 1 if lws will bind @wsi's upgrade to roomcast.v1
 * (or, naming none, to "roomcast"), 0 for any other protocol or a list
 * lws would refuse.
 */
int binding_is_roomcast(struct lws *wsi);

/* @wsi passed every upgrade check: its filter may let it through. */
void binding_confirmed(struct lws *wsi);

/* FILTER_PROTOCOL_CONNECTION: 1 if @wsi is the upgrade just confirmed. */
int binding_take(struct lws *wsi);

/* @wsi is going: it can no longer be the one confirmed. */
void binding_forget(struct lws *wsi);

/* roomcast-server's "http" protocol: the dummy, refusing every upgrade. */
int binding_callback_http(struct lws *wsi, enum lws_callback_reasons reason,
			  void *user, void *in, size_t len);

/*---- receive.c ----*/

/* RECEIVE: one piece of a message; wakes are held around it (wakes.c). */
int receive_piece(struct lws *wsi, struct pss__roomcast *pss,
		  const void *in, size_t len);

/* Anything from the peer (a piece, a pong) restarts its heartbeat. */
void receive_heard(struct pss__roomcast *pss);

/* WS_PEER_INITIATED_CLOSE: answers a bad close reason with 1007. */
void receive_peer_close(void *in, size_t len);

/* Frees @pss's partial message, keeping rm_stats.reassembly_bytes true. */
void receive_free(struct pss__roomcast *pss);

/*
 * The sweep's check: closes @wsi with 4002 when its partial message
 * started reassembly-timeout-s ago. Returns 1 if it did.
 */
int receive_check_deadline(struct lws *wsi, struct pss__roomcast *pss,
			   int64_t now_ms);

/*---- wakes.c ----*/

/* The hub's ops->wake: asks for @owner's WRITEABLE, now or held. */
void wakes_wake(void *owner);

/* A RECEIVE callback begins: wakes asked for until wakes_end() are held. */
void wakes_begin(void);

/* After a RECEIVE piece of @len bytes from @wsi: hold on or release. */
void wakes_end(struct lws *wsi, size_t len);

/*
 * After an API request of @len bytes ran between wakes_begin() and here:
 * holds members' wakes while API publishes keep coming (wakes.c).
 */
void wakes_end_api(size_t len);

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

/*---- auth.c ----*/

/*
 * CONFIRM_UPGRADE: checks a ?token= on the vhost's keyring and keeps its
 * claims for the ESTABLISHED that follows. -1: a bad token (refuse 401).
 */
int auth_glue_confirm(struct lws *wsi, struct vhd__roomcast *vhd);

/* ESTABLISHED: hands the ?token='s claims to @c; -1 refuses the link. */
int auth_glue_established(struct lws *wsi, struct vhd__roomcast *vhd,
			  struct client *c);

/* PROTOCOL_INIT: builds the vhost's keyring; -1 (logged) stops it. */
int auth_vhost_init(struct vhd__roomcast *vhd);

/* PROTOCOL_DESTROY: the vhost's keyring is no longer polled. */
void auth_vhost_destroy(struct vhd__roomcast *vhd);

/* The sweep: re-reads key files that changed (auth_keyring_poll). */
void auth_poll_keys(time_t now);

/*---- sweep.c ----*/

/* Starts the once-a-tick sweep over every connection (on glue_context). */
void sweep_start(void);

/* Stops it. */
void sweep_stop(void);

/* A connection was admitted (for returning memory after a burst). */
void sweep_note_opened(void);

/*---- history.c ----*/

/*
 * A vhost serving roomcast is set up: the first gives the hub its
 * process-wide history options and opens `history-db`. Returns 0, or -1
 * (logged in one line naming the file) when the start must stop.
 */
int history_vhost_init(const struct rconf *conf);

/* From the sweep: expired kept rooms, the store's finished writes. */
void history_tick(int64_t now_ms);

/* The last vhost is going: the store is closed cleanly. */
void history_stop(void);

/* CLOSED: keeps @wsi's socket open to drain it (lingering close, on). */
void sweep_linger(struct lws *wsi);

#endif
