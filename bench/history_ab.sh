#!/usr/bin/env bash
# A/B of history's cost (issue 16): the fan-out and fixed-rate scenarios
# against roomcast-server with history off, history in memory, and
# history-db on, interleaved in one run (server on core 0, load generator
# on core 1 where there are two). Prints one line per run; the history-db
# runs also print the rows the store wrote per second (from /stats).
#
#   [NICE=-15] [WRITER_CORE=N] [SCENARIOS="fanout rate"] \
#       bench/history_ab.sh [SERVER] [ROUNDS] [DURATION]
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SERVER=${1:-$ROOT/build/roomcast-server}
ROUNDS=${2:-3}
DUR=${3:-5}
. "$HERE/ab_common.sh"
PORT=18190; SPORT=18191

run() {	# run MODE SCENARIO
	local mode=$1 sc=$2 opts=() rows0 rows1 t0 t1
	case $mode in
	off) ;;
	mem) opts=(--option history-size=100) ;;
	db) rm -f "$TMP"/h.db*; opts=(--option history-size=100 --option history-db="$TMP/h.db") ;;
	esac
	timeout 120 $PIN_SRV "$SERVER" --port $PORT --status-port $SPORT "${opts[@]}" \
		>"$TMP/srv.log" 2>&1 &
	local tpid=$! pid
	sleep 0.5
	# the server itself, not `timeout` around it (for its CPU time)
	pid=$(pgrep -n -f "roomcast-server --port $PORT") || pid=$tpid
	# WRITER_CORE=N: the store's writer thread (every thread but the
	# loop) on core N, as on a server with a core to spare for it; by
	# default it shares the loop's core and its CPU counts against it
	if [ -n "${WRITER_CORE:-}" ]; then
		for t in /proc/$pid/task/*; do
			[ "${t##*/}" = "$pid" ] || taskset -p -c "$WRITER_CORE" "${t##*/}" >/dev/null
		done
	fi
	rows0=$(curl -s localhost:$SPORT/stats | sed -n 's/.*"rows_written":\([0-9]*\).*/\1/p')
	t0=$(date +%s.%N)
	local extra=(--window 64)
	[ "$sc" = rate ] && extra=(--rate 200)
	timeout 120 $PIN_LG "$LG" --scenario "$sc" --port $PORT --subs 1000 --pubs 1 \
		--size 64 --duration "$DUR" --server-pid $pid --quiet \
		--json-out "$TMP/out.json" "${extra[@]}" >/dev/null 2>&1
	t1=$(date +%s.%N)
	rows1=$(curl -s localhost:$SPORT/stats | sed -n 's/.*"rows_written":\([0-9]*\).*/\1/p')
	kill $pid; wait $tpid 2>/dev/null
	/usr/bin/python3 - "$TMP/out.json" "$mode" "$sc" "${rows0:-}" "${rows1:-}" "$t0" "$t1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
mode, sc, r0, r1, t0, t1 = sys.argv[2:8]
lat = d["lat_us"]
# the server's CPU per delivery suffers less from a busy machine than
# the throughput does
cpu = d["server_cpu_pct"]
per = (cpu / 100.0 * d["duration_s"] * 1e9 / d["delivered"]) if d["delivered"] and cpu >= 0 else -1
line = "%-4s %-7s deliveries/s %10.0f  broadcasts/s %7.0f  p50 %7s us  p99 %7s us  missing %d  server cpu %5.1f%%  %6.1f ns/delivery" % (
    mode, sc, d["deliveries_per_s"], d["published"] / d["duration_s"],
    lat["p50"], lat["p99"], d["missing"], cpu, per)
if r0 and r1:
    line += "  rows written %d (%.0f/s over the run)" % (int(r1) - int(r0),
        (int(r1) - int(r0)) / (float(t1) - float(t0)))
print(line)
PY
}

for r in $(seq "$ROUNDS"); do
	for sc in ${SCENARIOS:-fanout rate}; do
		for mode in off mem db; do
			run $mode $sc
		done
	done
done
