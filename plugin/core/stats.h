/*
 * stats.h: roomcast's process-wide counters.
 *
 * One struct for the whole process (all vhosts, and under lwsws the status
 * protocol and the rooms protocol share it through the plugin), bumped by
 * field name on the service thread, so every increment is exact without
 * locks. stats_to_json() and stats_to_prometheus() render PROTOCOL.md's
 * status formats.
 *
 * Not thread-safe; service thread only. Knows nothing of lws.
 */
#ifndef STATS_H
#define STATS_H

#include <stddef.h>
#include <stdint.h>

/* The protocol version /stats and --version report (docs/PROTOCOL.md). */
#define RM_PROTOCOL_VERSION "roomcast.v1.1"

struct rm_stats {
	uint64_t connections_active;	/* upgraded and not yet closed */
	uint64_t connections_total;	/* ever upgraded */
	uint64_t rooms_active;
	uint64_t messages_received;	/* client data messages, any fate */
	uint64_t messages_sent;		/* server messages written */
	uint64_t messages_dropped;	/* discarded by the drop policy */
	uint64_t bytes_received;	/* client data payload bytes */
	uint64_t bytes_sent;		/* frame bytes written */
	uint64_t slow_consumer_closes;	/* closed by the close policy */
	uint64_t connections_refused;	/* handshakes refused by a limit */
	uint64_t rate_limited;		/* messages over the rate, discarded */
	uint64_t refused_per_ip;	/* handshakes over max-connections-per-ip */
	uint64_t slow_consumers_shed;	/* closed over max-queued-bytes */
	uint64_t queued_bytes;		/* in all send rings now */
	uint64_t alloc_failures;	/* answered `overloaded` or closed 1011 */
	/* history (hub_history.c; docs/HISTORY.md) */
	uint64_t history_bytes;		/* held by all rooms now */
	uint64_t history_evicted;	/* msgs evicted over history-bytes */
	uint64_t history_rooms_kept;	/* rooms kept with no member now */
	uint64_t history_rooms_evicted;	/* kept rooms freed over the cap */
	uint64_t history_epoch_resets;	/* new epochs: the disk lagged */
	/* history-db (copied from the store by the glue each tick) */
	int history_db_on;
	int history_db_error;		/* the last transaction failed */
	const char *history_db_last_error;	/* words for the log, or "" */
	uint64_t history_db_rows_written;
	uint64_t history_db_write_failures;
	uint64_t history_db_rows_failed;
	uint64_t history_db_queue_drops;
	uint64_t reassembly_bytes;	/* held for partial messages now */
	uint64_t reassembly_aborted;	/* closed: budget or deadline */

	int64_t started_ms;
	int draining;			/* shutting down: /health says 503 */

	/* Rates over the last sampled second. */
	int64_t sample_ms;
	uint64_t sample_sent, sample_received;
	double sent_per_second, received_per_second;
};

extern struct rm_stats rm_stats;

/* Zeroes every counter and starts the clock at @now_ms. */
void stats_reset(int64_t now_ms);

/*
 * Takes a rate sample if at least a second has passed since the last one.
 * Called once a second by a timer and before each status answer.
 */
void stats_sample(int64_t now_ms);

/*
 * Writes PROTOCOL.md's /stats JSON object into @buf. Returns the length
 * written (as snprintf: a result >= @len means it was cut).
 */
int stats_to_json(const struct rm_stats *s, int64_t now_ms, char *buf,
		  size_t len);

/* Writes the same counters in Prometheus text format; returns as above. */
int stats_to_prometheus(const struct rm_stats *s, int64_t now_ms, char *buf,
			size_t len);

#endif
