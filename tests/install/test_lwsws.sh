#!/bin/bash
# test_lwsws.sh LWSWS_PREFIX BUILD_DIR: run roomcast's plugin inside lwsws.
#
# LWSWS_PREFIX: what scripts/lwsws.sh installed (bin/lwsws, lib, include).
# BUILD_DIR:    a roomcast build configured with
#               -DCMAKE_PREFIX_PATH=LWSWS_PREFIX, holding
#               libprotocol_roomcast.so.
#
# Copies the repo's conf and conf.d/ into a temporary config dir (ports
# changed to free loopback ports, a conf.d file adding global "plugin-dir"),
# links www/ next to them, starts `lwsws -n -c DIR` from DIR (relative
# file:// origins resolve against the working directory), then checks:
#   - lwsws and the plugin use LWSWS_PREFIX's libwebsockets.so.17 only;
#   - GET / serves www/index.html;
#   - a WebSocket client (subprotocol roomcast.v1) gets {"type":"pong"} for
#     {"type":"ping"};
#   - GET /stats on the status vhost answers JSON;
#   - with the signal patch, SIGTERM to the root stops root and child (exit 0).
# Exits 0 when all pass, 1 otherwise. Every wait is bounded.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
lwsprefix=${1:?usage: test_lwsws.sh LWSWS_PREFIX BUILD_DIR}
build=${2:?usage: test_lwsws.sh LWSWS_PREFIX BUILD_DIR}
py=/usr/bin/python3
lwsws=$lwsprefix/bin/lwsws
plugin=$build/libprotocol_roomcast.so

fail() { echo "test_lwsws: FAIL: $*" >&2; [ -f "${log:-}" ] && tail -30 "$log" >&2; exit 1; }
pass() { echo "test_lwsws: ok: $*"; }

[ -x "$lwsws" ] || fail "no $lwsws (run scripts/lwsws.sh $lwsprefix)"
[ -f "$plugin" ] || fail "no $plugin"
"$py" -c 'import websockets' 2>/dev/null ||
	fail "python3-websockets missing (apt-get install python3-websockets)"

# The plugin must have been built against LWSWS_PREFIX's headers and
# library (one process, one libwebsockets).
grep -q "^libwebsockets_DIR:PATH=$lwsprefix/" "$build/CMakeCache.txt" ||
	fail "$build was not configured with -DCMAKE_PREFIX_PATH=$lwsprefix"
[ "$(ldd "$lwsws" | awk '$1 == "libwebsockets.so.17" { print $3 }')" = \
	"$lwsprefix/lib/libwebsockets.so.17" ] ||
	fail "lwsws does not resolve libwebsockets.so.17 to $lwsprefix/lib"
pass "lwsws and plugin link $lwsprefix/lib/libwebsockets.so.17"

tmp=$(mktemp -d /tmp/roomcast-lwsws.XXXXXX)
pid=
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		# lwsws = root process + serving child in its own session:
		# SIGINT is graceful for both; then make sure.
		kill -INT -- "-$pid" 2>/dev/null || true
		for _ in $(seq 50); do
			pgrep -s "$pid" >/dev/null || break
			sleep 0.1
		done
		kill -KILL -- "-$pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
	"$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
port=$(free_port)
sport=$(free_port)
while [ "$sport" = "$port" ]; do sport=$(free_port); done

# Config dir: the repo's files, only the ports changed.
cfg=$tmp/cfg
mkdir -p "$cfg/conf.d" "$tmp/plugins"
cp "$repo/conf" "$cfg/conf"
cp "$repo"/conf.d/* "$cfg/conf.d/"
ln -s "$repo/www" "$cfg/www"
sed -i "s/\"port\": *\"8080\"/\"port\": \"$port\"/" "$cfg"/conf.d/*
sed -i "s/\"port\": *\"8081\"/\"port\": \"$sport\"/" "$cfg"/conf.d/*
if ! grep -q "\"$port\"" "$cfg"/conf.d/* || ! grep -q "\"$sport\"" "$cfg"/conf.d/*; then
	fail "could not set ports in the conf.d copy (expected 8080 and 8081)"
fi
# lwsws creates its vhosts with LWS_SERVER_OPTION_EXPLICIT_VHOSTS: a plugin
# protocol is enabled on a vhost only if the vhost's "ws-protocols" names it
# exactly (lib/core-net/vhost.c). With ROOMCAST_LWSWS_ADD_PROTOCOLS=1 the
# copy gets what the repo's conf.d may lack: "roomcast.v1" and
# "roomcast-status" on every vhost listing "roomcast", "roomcast-status" on
# every vhost mounting callback://roomcast-status. ("roomcast.v1" as a key
# needs scripts/lwsws.sh's lejp-conf patch.)
if [ "${ROOMCAST_LWSWS_ADD_PROTOCOLS:-0}" = 1 ]; then
	"$py" - "$cfg"/conf.d/* <<'EOF'
import json, re, sys
for path in sys.argv[1:]:
    text = open(path).read()
    doc = json.loads(re.sub(r"(?m)^\s*#.*$", "", text))
    for vh in doc.get("vhosts", []):
        pl = vh.setdefault("ws-protocols", [{}])
        names = set().union(*(d.keys() for d in pl))
        mounts = [m.get("origin", "") for m in vh.get("mounts", [])]
        want = []
        if "roomcast" in names:
            want += ["roomcast.v1", "roomcast-status"]
        if "callback://roomcast-status" in mounts:
            want.append("roomcast-status")
        for n in want:
            if n not in names:
                pl[0][n] = {}
                names.add(n)
    open(path, "w").write(json.dumps(doc, indent=2) + "\n")
EOF
	echo "test_lwsws: note: added protocols to the conf.d copy (ROOMCAST_LWSWS_ADD_PROTOCOLS=1)"
fi
# Only our plugin in the plugin dir: lws 4.1.6 stops scanning a plugin dir
# at the first file that fails to load (lib/misc/dir.c).
cp "$plugin" "$tmp/plugins/"
# lwsws reads "global" from conf.d files too.
printf '{ "global": { "plugin-dir": "%s" } }\n' "$tmp/plugins" >"$cfg/conf.d/00-plugin-dir"

log=$tmp/lwsws.log
(cd "$cfg" && exec setsid "$lwsws" -n -c "$cfg" -d 7) >"$log" 2>&1 &
pid=$!

wait_port() { # port: poll connect() for at most 10 s
	"$py" - "$1" <<'EOF'
import socket, sys, time
end = time.monotonic() + 10
while time.monotonic() < end:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.5).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
EOF
}
wait_port "$port" || fail "lwsws not listening on $port within 10 s"
wait_port "$sport" || fail "lwsws not listening on $sport within 10 s"
pass "lwsws listening on 127.0.0.1:$port and :$sport"

child=$(pgrep -s "$pid" | grep -vx "$pid" | head -1 || true)
[ -n "$child" ] || fail "no lwsws child process"
maps=$(grep -o '/[^ ]*libwebsockets[^ ]*\.so[^ ]*' "/proc/$child/maps" | sort -u)
while read -r m; do echo "test_lwsws:   mapped: $m"; done <<<"$maps"
echo "$maps" | grep -q "^$lwsprefix/lib/libwebsockets.so.17" ||
	fail "child has not mapped $lwsprefix/lib/libwebsockets.so.17"
! echo "$maps" | grep -q '^/usr/lib/.*libwebsockets' ||
	fail "child also mapped Debian's libwebsockets"
grep -q 'libprotocol_roomcast.so' "/proc/$child/maps" ||
	fail "plugin not mapped in the lwsws child"
pass "child $child maps only $lwsprefix's libwebsockets, plus the plugin"

if "$py" - "$port" "$sport" "$repo/www/index.html" <<'EOF'

import asyncio, json, sys, urllib.request
import websockets

port, sport, index = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]

def get(p, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{p}{path}", timeout=5) as r:
        return r.status, r.headers.get("content-type", ""), r.read()

st, ct, body = get(port, "/")
assert st == 200, st
assert body == open(index, "rb").read(), "GET / is not www/index.html"
print(f"test_lwsws: ok: GET / -> 200 {ct}, {len(body)} bytes = www/index.html")

async def ping():
    async with websockets.connect(f"ws://127.0.0.1:{port}/",
                                  subprotocols=["roomcast.v1"],
                                  open_timeout=5, close_timeout=2) as ws:
        assert ws.subprotocol == "roomcast.v1", ws.subprotocol
        await ws.send(json.dumps({"type": "ping", "id": 7}))
        for _ in range(20):  # the server may send other messages first
            m = json.loads(await asyncio.wait_for(ws.recv(), 5))
            if m.get("type") == "pong":
                return m
        raise AssertionError("no pong among the first 20 messages")

m = asyncio.run(ping())
assert m.get("id") == 7, m
print(f"test_lwsws: ok: ws roomcast.v1 ping -> {json.dumps(m)}")

st, ct, body = get(sport, "/stats")
assert st == 200, st
assert "json" in ct, ct
j = json.loads(body)
assert isinstance(j, dict), j
print(f"test_lwsws: ok: status GET /stats -> 200 {ct}: {body[:200].decode()}")
EOF
then
	:
else
	grep -q 'No supported protocol' "$log" &&
		echo "test_lwsws: hint: lwsws enables only protocols a vhost lists in ws-protocols; conf.d must list \"roomcast.v1\" (and \"roomcast-status\" where mounted): docs/LWSWS.md sections 4-5, or ROOMCAST_LWSWS_ADD_PROTOCOLS=1" >&2
	fail "client checks"
fi

# scripts/lwsws.sh's signal patch (docs/LWSWS.md, section 6): SIGTERM to the
# root process alone stops root and child, the child after its drain.
if grep -q '^drain-patch=1' "$lwsprefix/share/roomcast-lwsws.stamp" 2>/dev/null; then
	kill -TERM "$pid"
	rc=0
	for _ in $(seq 70); do
		pgrep -s "$pid" >/dev/null || break
		sleep 0.1
	done
	! pgrep -s "$pid" >/dev/null || fail "lwsws still running 7 s after SIGTERM to its root"
	wait "$pid" || rc=$?
	[ "$rc" = 0 ] || fail "lwsws root exited $rc after SIGTERM"
	grep -q 'Drained, destroying context' "$log" ||
		fail "the child did not drain before destroying its context"
	pid=
	pass "SIGTERM to the root: child drained, root exited 0"
else
	echo "test_lwsws: note: lwsws built without the signal patch; SIGTERM not checked"
fi

echo "test_lwsws: lwsws log (first lines):"
grep -m 12 -i 'plugin\|roomcast\|LWS:\|error\|err' "$log" | sed 's/^/    /' || true
echo "test_lwsws: PASS"
