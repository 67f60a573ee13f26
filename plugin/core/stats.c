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

int
stats_to_json(const struct rm_stats *s, int64_t now_ms, char *buf, size_t len)
{
	return snprintf(buf, len,
		"{\"connections_active\":%" PRIu64
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
		",\"reassembly_bytes\":%" PRIu64
		",\"reassembly_aborted\":%" PRIu64
		",\"uptime_s\":%" PRIu64 "}\n",
		s->connections_active, s->connections_total, s->rooms_active,
		s->messages_received, s->messages_sent, s->messages_dropped,
		s->sent_per_second, s->received_per_second, s->bytes_sent,
		s->bytes_received, s->slow_consumer_closes,
		s->connections_refused, s->rate_limited, s->refused_per_ip,
		s->slow_consumers_shed, s->queued_bytes, s->reassembly_bytes,
		s->reassembly_aborted, uptime_s(s, now_ms));
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
		"# HELP roomcast_rooms_active Rooms with at least one member.\n"
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
			s->queued_bytes, s->reassembly_bytes,
			s->reassembly_aborted, uptime_s(s, now_ms));
}
