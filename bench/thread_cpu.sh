#!/usr/bin/env bash
# CPU time of each roomcast-server thread over one fan-out run (issue 16:
# what the history-db writer thread takes next to the loop). Prints one
# line per thread with its clock ticks (1/100 s) spent during the run.
#
#   bench/thread_cpu.sh [SERVER] [off|mem|db] [DURATION]
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SERVER=${1:-$ROOT/build/roomcast-server}
MODE=${2:-db}
DUR=${3:-5}
LG=$ROOT/build-bench/bench/loadgen
make -s -C "$HERE" O="$ROOT/build-bench/bench" >&2 || exit 1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
PORT=18290; SPORT=18291
opts=()
case $MODE in
mem) opts=(--option history-size=100) ;;
db) opts=(--option history-size=100 --option history-db="$TMP/h.db") ;;
esac
"$SERVER" --port $PORT --status-port $SPORT "${opts[@]}" >"$TMP/srv.log" 2>&1 &
pid=$!
sleep 0.5
ticks() {	# tid name utime+stime, one line per thread
	for t in /proc/$pid/task/*; do
		echo "${t##*/} $(awk '{print $2, $14 + $15}' "$t/stat")"
	done | sort
}
ticks >"$TMP/a"
timeout 120 "$LG" --scenario fanout --port $PORT --subs 1000 --pubs 1 \
	--size 64 --duration "$DUR" --quiet --json-out "$TMP/o.json" >/dev/null 2>&1
ticks >"$TMP/b"
join "$TMP/a" "$TMP/b" | awk -v m="$MODE" '{ printf "%s thread %s %s: %d ticks\n", m, $1, ($1 == '"$pid"' ? "(loop)" : "(other)"), $5 - $3 }'
sed -n 's/.*"deliveries_per_s":\([0-9.]*\).*/deliveries\/s \1/p' "$TMP/o.json"
kill $pid
wait $pid 2>/dev/null
