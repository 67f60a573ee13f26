#!/usr/bin/env bash
# Profile roomcast-server's broadcast path under the fanout scenario.
#   bench/profile.sh [--subs N] [--duration S] [--out DIR]
# Uses `perf record` when hardware counters work here (perf stat -e
# instructions), else valgrind --tool=callgrind (this machine: callgrind).
# Prints the top functions by self cost and writes the raw profile to DIR.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BUILD=${BENCH_BUILD:-$ROOT/build-bench}
SERVER=${ROOMCAST_SERVER:-$BUILD/roomcast-server}
SUBS=1000
DURATION=4
OUT=$BUILD/bench/profile
while [ $# -gt 0 ]; do
	case "$1" in
	--subs) SUBS=$2; shift ;;
	--duration) DURATION=$2; shift ;;
	--out) OUT=$2; shift ;;
	*) echo "unknown argument: $1" >&2; exit 2 ;;
	esac
	shift
done
mkdir -p "$OUT"
make -s -C "$HERE" O="$BUILD/bench" || exit 1
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
PIN0="taskset -c 0"; PIN1="taskset -c 1"
[ "$(nproc)" -ge 2 ] || { PIN0=""; PIN1=""; }

if perf stat -e instructions true 2>&1 | grep -q '[0-9] *instructions'; then
	TOOL=perf
	$PIN0 timeout 120 perf record -g -o "$OUT/perf.data" -- "$SERVER" --port "$PORT" --status-port 0 >"$OUT/server.log" 2>&1 &
else
	TOOL=callgrind
	# collection starts only once every connection is up (callgrind_control
	# below), so start-up, config parsing and handshakes stay out of it
	$PIN0 timeout 180 valgrind --tool=callgrind --instr-atstart=no \
		--callgrind-out-file="$OUT/callgrind.out" \
		"$SERVER" --port "$PORT" --status-port 0 >"$OUT/server.log" 2>&1 &
fi
PID=$!
for ((i = 0; i < 300; i++)); do
	(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
	sleep 0.1
done
SPID=$(pgrep -P "$PID" | head -1)
echo "== profiling with $TOOL (server pid ${SPID:-$PID})" >&2
$PIN1 timeout 120 "$BUILD/bench/loadgen" --scenario fanout --port "$PORT" --subs "$SUBS" \
	--pubs 1 --window 64 --size 64 --duration "$DURATION" --connect-timeout 60 \
	--label profile --json-out "$OUT/fanout.json" >/dev/null 2>"$OUT/loadgen.txt" &
LG=$!
if [ "$TOOL" = callgrind ]; then
	for ((i = 0; i < 600; i++)); do
		grep -q '] run ' "$OUT/loadgen.txt" 2>/dev/null && break
		sleep 0.1
	done
	callgrind_control -i on "${SPID:-$PID}" >/dev/null
	# and stops before the load generator leaves (closes are not broadcasts)
	sleep "$(awk -v d="$DURATION" 'BEGIN { print (d > 2 ? d - 1.5 : 0.5) }')"
	callgrind_control -i off "${SPID:-$PID}" >/dev/null
fi
wait "$LG"
grep -v '^\[' "$OUT/loadgen.txt" >&2
kill -INT "${SPID:-$PID}" 2>/dev/null
wait "$PID" 2>/dev/null
if [ "$TOOL" = perf ]; then
	perf report -i "$OUT/perf.data" --no-children --stdio 2>/dev/null | head -60
else
	callgrind_annotate --inclusive=no "$OUT/callgrind.out" 2>/dev/null | sed -n '/file:function/,$p' | head -32
	echo
	echo "== inclusive"
	callgrind_annotate --inclusive=yes "$OUT/callgrind.out" 2>/dev/null | sed -n '/file:function/,$p' | head -40
fi
