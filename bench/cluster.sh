#!/usr/bin/env bash
# Cluster benchmarks (issue 17; recorded in docs/PERFORMANCE.md):
#
#  fanout   one publisher, SUBS members in one room: roomcast-server alone,
#           then --workers 2 on one Redis (members spread over the two
#           workers by the kernel's SO_REUSEPORT hashing, the publisher on
#           one of them); deliveries/s and latency side by side, and Redis
#           commands per accepted broadcast (INFO commandstats).
#  hold     CONNS idle connections (each joined to a room) held by
#           --workers WORKERS, opened by a load generator of several
#           processes and source addresses (past one process's file
#           limit).
#
#   bench/cluster.sh [--out DIR] [--subs N] [--duration S]
#                    [--conns N] [--workers N] [--only fanout|hold]
#
# Starts its own redis-server (no persistence) on a free loopback port and
# stops it. Every process is bounded by `timeout`.
set -u
set -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SERVER=${ROOMCAST_SERVER:-$ROOT/build/roomcast-server}
OUT=/tmp/roomcast-cluster-bench
SUBS=1000
DURATION=5
CONNS=50000
WORKERS=4
ONLY=""
while [ $# -gt 0 ]; do
	case "$1" in
	--out) OUT=$2; shift ;;
	--subs) SUBS=$2; shift ;;
	--duration) DURATION=$2; shift ;;
	--conns) CONNS=$2; shift ;;
	--workers) WORKERS=$2; shift ;;
	--only) ONLY=$2; shift ;;
	*) echo "unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
mkdir -p "$OUT"
make -s -C "$HERE" O="$OUT" >/dev/null || exit 1
LOADGEN=$OUT/loadgen

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

RPORT=$(free_port)
RDIR=$(mktemp -d)
timeout 900 redis-server --port "$RPORT" --bind 127.0.0.1 --save '' \
	--appendonly no --daemonize no --dir "$RDIR" >"$OUT/redis.log" 2>&1 &
RPID=$!
SPID=""
cleanup() {
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
	kill "$RPID" 2>/dev/null
	wait "$RPID" 2>/dev/null
	rm -rf "$RDIR"
}
trap cleanup EXIT
for _ in $(seq 50); do
	redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break
	sleep 0.1
done

# start_server NAME ARGS...: runs roomcast-server, waits for its status port
start_server() {
	local name=$1; shift
	PORT=$(free_port)
	# worker i's status port is SPORT + i: keep clear of the ephemeral range
	SPORT=$((20000 + RANDOM % 10000))
	timeout 900 "$SERVER" --port "$PORT" --status-port "$SPORT" \
		--option ping-interval-s=0 --option max-rooms-per-connection=4 \
		"$@" >"$OUT/$name.log" 2>&1 &
	SPID=$!
	for _ in $(seq 100); do
		curl -sf "http://127.0.0.1:$SPORT/health" >/dev/null && return 0
		sleep 0.1
	done
	echo "server $name did not come up" >&2
	return 1
}

stop_server() {
	kill "$SPID" 2>/dev/null
	wait "$SPID" 2>/dev/null
	SPID=""
}

evalsha_calls() {
	redis-cli -p "$RPORT" info commandstats | tr -d '\r' |
		sed -n 's/^cmdstat_evalsha:calls=\([0-9]*\).*/\1/p'
}

all_calls() {
	redis-cli -p "$RPORT" info commandstats | tr -d '\r' |
		sed -n 's/^cmdstat_[a-z|]*:calls=\([0-9]*\).*/\1/p' |
		awk '{s += $1} END {print s + 0}'
}

fanout() {
	local label=$1
	timeout 120 "$LOADGEN" --scenario fanout --port "$PORT" --subs "$SUBS" \
		--pubs 1 --window 64 --size 64 --duration "$DURATION" \
		--procs 2 --label "$label" --json-out "$OUT/fanout-$label.json"
}

if [ -z "$ONLY" ] || [ "$ONLY" = fanout ]; then
	start_server one || exit 1
	fanout one-process
	stop_server
	start_server two --workers 2 --option "redis-url=redis://127.0.0.1:$RPORT" || exit 1
	redis-cli -p "$RPORT" info commandstats >"$OUT/commandstats-before.txt"
	e0=$(evalsha_calls); a0=$(all_calls)
	fanout two-workers
	e1=$(evalsha_calls); a1=$(all_calls)
	redis-cli -p "$RPORT" info commandstats >"$OUT/commandstats-after.txt"
	pub=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["published"])' \
		"$OUT/fanout-two-workers.json" 2>/dev/null || echo 0)
	echo "redis: EVALSHA $((e1 - e0)), all commands $((a1 - a0)), broadcasts $pub" |
		tee "$OUT/redis-commands.txt"
	stop_server
fi

if [ -z "$ONLY" ] || [ "$ONLY" = hold ]; then
	start_server hold --workers "$WORKERS" \
		--option "redis-url=redis://127.0.0.1:$RPORT" || exit 1
	timeout 300 "$LOADGEN" --scenario idle --port "$PORT" --subs "$CONNS" \
		--join --procs 4 --src-ips 4 --conc 256 --duration 20 \
		--connect-timeout 120 --label "hold-$CONNS" \
		--json-out "$OUT/hold.json" &
	LPID=$!
	# while they are held: each worker's count (status port + i), the
	# sample with the most connections in all
	best=0
	while kill -0 "$LPID" 2>/dev/null; do
		sleep 1
		sample=""
		total=0
		for i in $(seq 0 $((WORKERS - 1))); do
			c=$(curl -s -m 2 "http://127.0.0.1:$((SPORT + i))/stats" |
				sed -n 's/.*"connections_active":\([0-9]*\).*"redis":"\([a-z]*\)".*"pid":\([0-9]*\).*/worker '"$i"' pid \3 connections \1 redis \2/p')
			sample="$sample$c
"
			n=$(echo "$c" | sed -n 's/.*connections \([0-9]*\).*/\1/p')
			total=$((total + ${n:-0}))
		done
		if [ "$total" -gt "$best" ]; then
			best=$total
			printf '%s' "$sample" >"$OUT/hold-workers.txt"
			echo "total $total" >>"$OUT/hold-workers.txt"
		fi
	done
	cat "$OUT/hold-workers.txt"
	wait "$LPID"
	stop_server
fi
