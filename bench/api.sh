#!/usr/bin/env bash
# The server API's publish path beside member broadcasts, in one run
# (docs/PERFORMANCE.md, "API publish"): roomcast-server pinned to core 0,
# bench/apibench (1000 members + HTTP keep-alive publishers) to core 1.
#
#   bench/api.sh [--members N] [--http K] [--window W] [--size B] [--duration S]
#
# Environment: ROOMCAST_SERVER (default <repo>/build/roomcast-server).
# Bounded: the server and apibench run under `timeout`.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SERVER=${ROOMCAST_SERVER:-$ROOT/build/roomcast-server}
OUT=$(mktemp -d /tmp/roomcast-apibench-XXXXXX)
KEY=bench-$RANDOM$RANDOM
gcc -O2 -Wall -Wextra -o "$OUT/apibench" "$HERE/apibench.c"
port() { /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
P=$(port); S=$(port)
PIN_SRV=""; PIN_LG=""
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
	PIN_SRV="taskset -c 0"; PIN_LG="taskset -c 1"
fi
timeout 300 $PIN_SRV "$SERVER" --port "$P" --status-port "$S" \
	--option api-key="$KEY" >"$OUT/server.log" 2>&1 &
SRV=$!
trap 'kill $SRV 2>/dev/null || true; wait $SRV 2>/dev/null || true' EXIT
for _ in $(seq 50); do
	/usr/bin/python3 -c "import socket;socket.create_connection(('127.0.0.1',$S),0.2)" 2>/dev/null && break
	sleep 0.1
done
timeout 200 $PIN_LG "$OUT/apibench" --port "$P" --status-port "$S" --key "$KEY" "$@"
