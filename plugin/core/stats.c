/*
 * stats.c: process-wide counters and their status formats (see stats.h).
 */
#include "stats.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

struct rm_stats rm_stats;

void
stats_reset(int64_t now_ms)
{
	memset(&rm_stats, 0, sizeof(rm_stats));
	rm_stats.started_ms = now_ms;
	rm_stats.sample_ms = now_ms;
}

void
stats_sample(int64_t now_ms)
{
	struct rm_stats *s = &rm_stats;
	int64_t dt = now_ms - s->sample_ms;

	if (dt < 1000)
		return;
	/*
	 * A gap of several seconds (no timer ran) means nothing recent is
	 * known: the rate over "the last second" is the average since.
	 */
	s->sent_per_second = (double)(s->messages_sent - s->sample_sent) *
			     1000.0 / (double)dt;
	s->received_per_second =
		(double)(s->messages_received - s->sample_received) * 1000.0 /
		(double)dt;
	s->sample_ms = now_ms;
	s->sample_sent = s->messages_sent;
	s->sample_received = s->messages_received;
}

static uint64_t
uptime_s(const struct rm_stats *s, int64_t now_ms)
{
	return now_ms > s->started_ms ? (uint64_t)(now_ms - s->started_ms) / 1000
				      : 0;
}

/*
 * The history counters, and history_db only when a store is open:
 * "state" "ok" or "error" (the last write failed: disk full, I/O error),
 * with SQLite's words for it.
 */
static int
history_json(const struct rm_stats *s, char *buf, size_t len)
{
	int n = snprintf(buf, len,
		",\"history_bytes\":%" PRIu64 ",\"history_evicted\":%" PRIu64
		",\"history_rooms_kept\":%" PRIu64
		",\"history_rooms_evicted\":%" PRIu64
		",\"history_epoch_resets\":%" PRIu64,
		s->history_bytes, s->history_evicted, s->history_rooms_kept,
		s->history_rooms_evicted, s->history_epoch_resets);

	if (!s->history_db_on || n < 0 || (size_t)n >= len)
		return n;
	return n + snprintf(buf + n, len - (size_t)n,
		",\"history_db\":{\"state\":\"%s\",\"last_error\":\"%s\""
		",\"rows_written\":%" PRIu64 ",\"write_failures\":%" PRIu64
		",\"rows_failed\":%" PRIu64 ",\"queue_drops\":%" PRIu64 "}",
		s->history_db_error ? "error" : "ok",
		s->history_db_last_error ? s->history_db_last_error : "",
		s->history_db_rows_written, s->history_db_write_failures,
		s->history_db_rows_failed, s->history_db_queue_drops);
}

/*
 * Rendered whole into @out first, so that a cut result still returns the
 * full length, as snprintf does.
 */
int
stats_to_json(const struct rm_stats *s, int64_t now_ms, char *buf, size_t len)
{
	char out[4096];
	size_t max = sizeof(out);
	int n, m;

	n = snprintf(out, max,
		"{\"protocol\":\"" RM_PROTOCOL_VERSION "\""
		",\"connections_active\":%" PRIu64
		",\"connections_total\":%" PRIu64
		",\"rooms_active\":%" PRIu64
		",\"messages_received\":%" PRIu64
		",\"messages_sent\":%" PRIu64
		",\"messages_dropped\":%" PRIu64
		",\"messages_per_second\":%.1f"
		",\"messages_received_per_second\":%.1f"
		",\"bytes_sent\":%" PRIu64
		",\"bytes_received\":%" PRIu64
		",\"slow_consumer_closes\":%" PRIu64
		",\"connections_refused\":%" PRIu64
		",\"rate_limited\":%" PRIu64
		",\"refused_per_ip\":%" PRIu64
		",\"slow_consumers_shed\":%" PRIu64
		",\"queued_bytes\":%" PRIu64
		",\"alloc_failures\":%" PRIu64
		",\"reassembly_bytes\":%" PRIu64
		",\"reassembly_aborted\":%" PRIu64
		",\"uptime_s\":%" PRIu64,
		s->connections_active, s->connections_total, s->rooms_active,
		s->messages_received, s->messages_sent, s->messages_dropped,
		s->sent_per_second, s->received_per_second, s->bytes_sent,
		s->bytes_received, s->slow_consumer_closes,
		s->connections_refused, s->rate_limited, s->refused_per_ip,
		s->slow_consumers_shed, s->queued_bytes, s->alloc_failures,
		s->reassembly_bytes, s->reassembly_aborted,
		uptime_s(s, now_ms));
	if (n < 0 || (size_t)n >= max)
		return -1;
	m = history_json(s, out + n, max - (size_t)n);
	if (m < 0 || (size_t)(n + m) >= max)
		return -1;
	n += m;
	if (snprintf(out + n, max - (size_t)n, "}\n") != 2)
		return -1;
	return snprintf(buf, len, "%s", out);
}

int
stats_to_prometheus(const struct rm_stats *s, int64_t now_ms, char *buf,
		    size_t len)
{
	static const char fmt[] =
		"# HELP roomcast_connections_active WebSocket connections open now.\n"
		"# TYPE roomcast_connections_active gauge\n"
		"roomcast_connections_active %" PRIu64 "\n"
		"# HELP roomcast_connections_total WebSocket connections ever upgraded.\n"
		"# TYPE roomcast_connections_total counter\n"
		"roomcast_connections_total %" PRIu64 "\n"
		"# HELP roomcast_rooms_active Rooms held now, kept ones included.\n"
		"# TYPE roomcast_rooms_active gauge\n"
		"roomcast_rooms_active %" PRIu64 "\n"
		"# HELP roomcast_messages_received_total Client data messages received.\n"
		"# TYPE roomcast_messages_received_total counter\n"
		"roomcast_messages_received_total %" PRIu64 "\n"
		"# HELP roomcast_messages_sent_total Server messages written to sockets.\n"
		"# TYPE roomcast_messages_sent_total counter\n"
		"roomcast_messages_sent_total %" PRIu64 "\n"
		"# HELP roomcast_messages_dropped_total Messages discarded by the drop policy.\n"
		"# TYPE roomcast_messages_dropped_total counter\n"
		"roomcast_messages_dropped_total %" PRIu64 "\n"
		"# HELP roomcast_messages_per_second Server messages sent over the last second.\n"
		"# TYPE roomcast_messages_per_second gauge\n"
		"roomcast_messages_per_second %.1f\n"
		"# HELP roomcast_bytes_sent_total Frame bytes written to sockets.\n"
		"# TYPE roomcast_bytes_sent_total counter\n"
		"roomcast_bytes_sent_total %" PRIu64 "\n"
		"# HELP roomcast_bytes_received_total Client data payload bytes received.\n"
		"# TYPE roomcast_bytes_received_total counter\n"
		"roomcast_bytes_received_total %" PRIu64 "\n"
		"# HELP roomcast_slow_consumer_closes_total Connections closed by the close policy.\n"
		"# TYPE roomcast_slow_consumer_closes_total counter\n"
		"roomcast_slow_consumer_closes_total %" PRIu64 "\n"
		"# HELP roomcast_connections_refused_total Handshakes refused by a limit.\n"
		"# TYPE roomcast_connections_refused_total counter\n"
		"roomcast_connections_refused_total %" PRIu64 "\n"
		"# HELP roomcast_rate_limited_total Messages discarded by the rate limit.\n"
		"# TYPE roomcast_rate_limited_total counter\n"
		"roomcast_rate_limited_total %" PRIu64 "\n"
		"# HELP roomcast_refused_per_ip_total Handshakes refused by max-connections-per-ip.\n"
		"# TYPE roomcast_refused_per_ip_total counter\n"
		"roomcast_refused_per_ip_total %" PRIu64 "\n"
		"# HELP roomcast_slow_consumers_shed_total Connections closed by max-queued-bytes.\n"
		"# TYPE roomcast_slow_consumers_shed_total counter\n"
		"roomcast_slow_consumers_shed_total %" PRIu64 "\n"
		"# HELP roomcast_queued_bytes Bytes waiting in all send rings.\n"
		"# TYPE roomcast_queued_bytes gauge\n"
		"roomcast_queued_bytes %" PRIu64 "\n"
		"# HELP roomcast_alloc_failures_total Allocations that failed (overloaded or 1011).\n"
		"# TYPE roomcast_alloc_failures_total counter\n"
		"roomcast_alloc_failures_total %" PRIu64 "\n"
		"# HELP roomcast_history_bytes Bytes of history held by all rooms.\n"
		"# TYPE roomcast_history_bytes gauge\n"
		"roomcast_history_bytes %" PRIu64 "\n"
		"# HELP roomcast_history_evicted_total Held messages evicted over history-bytes.\n"
		"# TYPE roomcast_history_evicted_total counter\n"
		"roomcast_history_evicted_total %" PRIu64 "\n"
		"# HELP roomcast_history_rooms_kept Rooms kept with history and no member.\n"
		"# TYPE roomcast_history_rooms_kept gauge\n"
		"roomcast_history_rooms_kept %" PRIu64 "\n"
		"# HELP roomcast_history_rooms_evicted_total Kept rooms freed over the kept-room cap.\n"
		"# TYPE roomcast_history_rooms_evicted_total counter\n"
		"roomcast_history_rooms_evicted_total %" PRIu64 "\n"
		"# HELP roomcast_history_epoch_resets_total Rooms started on a new epoch because history-db lagged.\n"
		"# TYPE roomcast_history_epoch_resets_total counter\n"
		"roomcast_history_epoch_resets_total %" PRIu64 "\n"
		"# HELP roomcast_history_db_error 1 while history-db's last write failed.\n"
		"# TYPE roomcast_history_db_error gauge\n"
		"roomcast_history_db_error %d\n"
		"# HELP roomcast_history_db_rows_written_total Messages written to history-db.\n"
		"# TYPE roomcast_history_db_rows_written_total counter\n"
		"roomcast_history_db_rows_written_total %" PRIu64 "\n"
		"# HELP roomcast_history_db_write_failures_total history-db transactions that failed.\n"
		"# TYPE roomcast_history_db_write_failures_total counter\n"
		"roomcast_history_db_write_failures_total %" PRIu64 "\n"
		"# HELP roomcast_history_db_lost_total Messages not written to history-db (failed or queue full).\n"
		"# TYPE roomcast_history_db_lost_total counter\n"
		"roomcast_history_db_lost_total %" PRIu64 "\n"
		"# HELP roomcast_reassembly_bytes Bytes held for messages still arriving in pieces.\n"
		"# TYPE roomcast_reassembly_bytes gauge\n"
		"roomcast_reassembly_bytes %" PRIu64 "\n"
		"# HELP roomcast_reassembly_aborted_total Connections closed by max-reassembly-bytes or reassembly-timeout-s.\n"
		"# TYPE roomcast_reassembly_aborted_total counter\n"
		"roomcast_reassembly_aborted_total %" PRIu64 "\n"
		"# HELP roomcast_uptime_seconds Seconds since the server started.\n"
		"# TYPE roomcast_uptime_seconds gauge\n"
		"roomcast_uptime_seconds %" PRIu64 "\n";

	return snprintf(buf, len, fmt, s->connections_active,
			s->connections_total, s->rooms_active,
			s->messages_received, s->messages_sent,
			s->messages_dropped, s->sent_per_second, s->bytes_sent,
			s->bytes_received, s->slow_consumer_closes,
			s->connections_refused, s->rate_limited,
			s->refused_per_ip, s->slow_consumers_shed,
			s->queued_bytes, s->alloc_failures, s->history_bytes,
			s->history_evicted, s->history_rooms_kept,
			s->history_rooms_evicted, s->history_epoch_resets,
			s->history_db_error, s->history_db_rows_written,
			s->history_db_write_failures,
			s->history_db_rows_failed + s->history_db_queue_drops,
			s->reassembly_bytes, s->reassembly_aborted,
			uptime_s(s, now_ms));
}
