#!/usr/bin/env bash
# Before/after of two roomcast-server binaries on the four figures a change
# on the message path must show (fan-out, fixed-rate p99, idle bytes per
# connection, connect rate), alternated A, B per round so a busy moment
# hits both alike. Server on core 0, load generator on core 1.
#
#   [NICE=-15] [ARGS_A=...] [ARGS_B=...] [SCENARIOS="fanout rate idle connect"] \
#       bench/ab.sh SERVER_A SERVER_B [ROUNDS]
# ARGS_A / ARGS_B: more arguments for that server (e.g. ARGS_A="--event-loop
# poll" to compare two loops of one binary).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
A=$1; B=$2; ROUNDS=${3:-3}
ARGS_A=${ARGS_A:-}; ARGS_B=${ARGS_B:-}
SCENARIOS=${SCENARIOS:-fanout rate idle connect}
. "$HERE/ab_common.sh"
PORT=18193

run() {	# run LABEL SERVER SCENARIO [SERVER ARGUMENTS...]
	local label=$1 srv=$2 sc=$3 args
	shift 3
	case $sc in
	fanout) args=(--scenario fanout --subs 1000 --pubs 1 --window 64 --size 64 --duration 5) ;;
	rate) args=(--scenario rate --subs 1000 --pubs 1 --rate 200 --size 64 --duration 5) ;;
	idle) args=(--scenario idle --subs 10000 --duration 1) ;;
	connect) args=(--scenario idle --subs 1000 --duration 1) ;;
	esac
	timeout 120 $PIN_SRV "$srv" --port $PORT --status-port 0 "$@" >"$TMP/srv.log" 2>&1 &
	local tpid=$! pid
	sleep 0.5
	pid=$(pgrep -n -f "roomcast-server --port $PORT") || pid=$tpid
	timeout 120 $PIN_LG "$LG" "${args[@]}" --port $PORT --server-pid "$pid" \
		--quiet --json-out "$TMP/out.json" >/dev/null 2>&1
	kill $pid; wait $tpid 2>/dev/null
	/usr/bin/python3 - "$TMP/out.json" "$label" "$sc" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
label, sc = sys.argv[2], sys.argv[3]
if sc == "fanout":
    v = "deliveries/s %10.0f  p99 %6.1f ms" % (d["deliveries_per_s"], d["lat_us"]["p99"] / 1000)
elif sc == "rate":
    v = "p99 %6.1f ms  p50 %5.1f ms" % (d["lat_us"]["p99"] / 1000, d["lat_us"]["p50"] / 1000)
elif sc == "idle":
    v = "rss bytes/conn %6d at %d" % (d["rss_per_conn_bytes"], d["conns_ready"])
else:
    v = "connects/s %8.0f to %d" % (d["connects_per_s"], d["conns_ready"])
# messages lost (fan-out, rate) or connections failed (idle, connect)
lost = (max(0, d["missing"]) + max(0, d["lost_gaps"])) if sc in ("fanout", "rate") \
    else d["connect_failures"]
print("%-6s %-8s %s  lost %d" % (label, sc, v, lost))
PY
}

for r in $(seq "$ROUNDS"); do
	for sc in $SCENARIOS; do
		# shellcheck disable=SC2086 # ARGS_*: words on purpose
		run A "$A" $sc $ARGS_A
		# shellcheck disable=SC2086
		run B "$B" $sc $ARGS_B
	done
done
