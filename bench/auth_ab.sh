#!/usr/bin/env bash
# A/B of auth's cost (issue 13): the idle scenario (N connections held)
# against roomcast-server with auth off and with auth on, each "on"
# connection presenting a valid HS256 ?token= (verified at the handshake,
# claims kept). Alternates off/on ROUNDS times; per run prints connects/s,
# server RSS bytes per connection and the server's CPU per connection.
#
#   [NICE=-15] bench/auth_ab.sh [SERVER] [ROUNDS] [CONNECTIONS]
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SERVER=${1:-$ROOT/build/roomcast-server}
ROUNDS=${2:-5}
N=${3:-8000}
. "$HERE/ab_common.sh"
SECRET=bench-secret-bench-secret-bench-secret
TOKEN=$(/usr/bin/python3 - "$SECRET" <<'PY'
import base64, hashlib, hmac, json, sys, time
b = lambda d: base64.urlsafe_b64encode(d).rstrip(b"=")
head = b(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
body = b(json.dumps({"sub": "bench", "exp": int(time.time()) + 3600}).encode())
sig = b(hmac.new(sys.argv[1].encode(), head + b"." + body, hashlib.sha256).digest())
print((head + b"." + body + b"." + sig).decode())
PY
)
PORT=18192

run() {	# run off|on
	local mode=$1 opts=() path=/
	if [ "$mode" = on ]; then
		opts=(--option auth-secret=$SECRET --option auth-timeout-s=600)
		path="/?token=$TOKEN"
	fi
	timeout 120 $PIN_SRV "$SERVER" --port $PORT --status-port 0 "${opts[@]}" \
		>"$TMP/srv.log" 2>&1 &
	local tpid=$! pid
	sleep 0.5
	pid=$(pgrep -n -f "roomcast-server --port $PORT") || pid=$tpid
	timeout 120 $PIN_LG "$LG" --scenario idle --port $PORT --path "$path" \
		--subs "$N" --duration 1 --server-pid "$pid" --quiet \
		--json-out "$TMP/out.json" >/dev/null 2>&1
	local ticks
	ticks=$(awk '{print $14 + $15}' /proc/$pid/stat)
	kill $pid; wait $tpid 2>/dev/null
	/usr/bin/python3 - "$TMP/out.json" "$mode" "$ticks" "$(getconf CLK_TCK)" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
mode, ticks, hz = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
n = d["conns_ready"]
print("%-3s connections %6d  failed %d  connects/s %8.0f  rss bytes/conn %6d  server cpu us/conn %6.1f" % (
    mode, n, d["connect_failures"], d["connects_per_s"], d["rss_per_conn_bytes"],
    ticks * 1e6 / hz / n if n else -1))
PY
}

for r in $(seq "$ROUNDS"); do
	run off
	run on
done
