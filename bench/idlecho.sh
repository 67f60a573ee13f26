#!/usr/bin/env bash
# Scenario idlecho: N idle connections held by the load generator, then
# the echo of a large (60 KB) and of a small message measured by one more
# client (bench/echo_probe.py). The server must already listen on PORT.
#   bench/idlecho.sh PORT IDLE LOADGEN LABEL JSON_OUT [probe args...]
# Writes JSON_OUT (the probe's line plus the idle count). Bounded: the
# load generator holds for at most 40 s after connecting, the probe 120 s.
# Pin the call itself (taskset) to pin both clients.
set -u
PORT=$1 IDLE=$2 LOADGEN=$3 LABEL=$4 JSON=$5
shift 5
HERE=$(cd "$(dirname "$0")" && pwd)
LOG=$(mktemp)
PID=""
if [ "$IDLE" -gt 0 ]; then
	timeout 120 "$LOADGEN" --scenario idle --proto roomcast --port "$PORT" \
		--subs "$IDLE" --conc 256 --connect-timeout 60 --duration 1 --hold 40 \
		--label "$LABEL-idle" >/dev/null 2>"$LOG" &
	PID=$!
	for ((i = 0; i < 1200; i++)); do
		grep -q '] run ' "$LOG" && break
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.1
	done
	grep -q '] run ' "$LOG" || { echo "idlecho: idle connections not up" >&2; cat "$LOG" >&2; }
fi
/usr/bin/python3 "$HERE/echo_probe.py" --port "$PORT" --label "$LABEL" \
	--idle "$IDLE" --json-out "$JSON" "$@"
rc=$?
if [ -n "$PID" ]; then
	kill -TERM "$PID" 2>/dev/null
	wait "$PID" 2>/dev/null
fi
rm -f "$LOG"
exit $rc
