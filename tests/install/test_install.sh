#!/bin/bash
# test_install.sh BUILD_DIR: install a built roomcast into a temporary
# prefix and run it from there.
#
# 1. `cmake --install BUILD_DIR --prefix TMP` (no DESTDIR);
# 2. checks the layout of cmake/RoomcastInstall.cmake: bin/roomcast-server,
#    lib/roomcast/plugins/libprotocol_roomcast.so (exporting `roomcast`),
#    share/roomcast/www/index.html, etc/roomcast/conf + conf.d/ with the
#    file:// origins rewritten to TMP's www and global plugin-dir set,
#    lib/systemd/system/roomcast{,-lwsws}.service naming TMP's paths;
# 3. starts TMP/bin/roomcast-server --config TMP/etc/roomcast on free
#    loopback ports, from an unrelated working directory, and checks that
#    GET / serves the installed index.html and GET /stats on the status
#    port answers JSON; then stops it with SIGTERM (exit 0 expected).
# Exits 0 when everything passed, 1 with a message otherwise. Every wait is
# a bounded poll.
set -euo pipefail

build=${1:?usage: test_install.sh BUILD_DIR}
build=$(cd "$build" && pwd)
py=/usr/bin/python3

tmp=$(mktemp -d /tmp/roomcast-install.XXXXXX)
prefix=$tmp/prefix
pid=
log=$tmp/server.log

fail() {
	echo "test_install: FAIL: $*" >&2
	if [ -s "$log" ]; then
		echo "test_install: server log (last lines):" >&2
		tail -20 "$log" >&2
	fi
	exit 1
}
pass() { echo "test_install: ok: $*"; }
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# ---- 1. install -----------------------------------------------------------
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log" >&2; fail "cmake --install $build --prefix $prefix"; }
pass "cmake --install into $prefix"

# ---- 2. layout --------------------------------------------------------------
etc=$prefix/etc/roomcast
www=$prefix/share/roomcast/www
plugdir=$prefix/lib/roomcast/plugins
units=$prefix/lib/systemd/system
[ -x "$prefix/bin/roomcast-server" ] || fail "no executable bin/roomcast-server"
[ -f "$plugdir/libprotocol_roomcast.so" ] ||
	fail "no lib/roomcast/plugins/libprotocol_roomcast.so"
nm -D --defined-only "$plugdir/libprotocol_roomcast.so" |
	awk '$3 == "roomcast" { f = 1 } END { exit !f }' ||
	fail "libprotocol_roomcast.so does not export 'roomcast' (lib/misc/dir.c name rule)"
[ -f "$www/index.html" ] || fail "no share/roomcast/www/index.html"
[ -f "$etc/conf" ] || fail "no etc/roomcast/conf"
ls "$etc/conf.d/"* >/dev/null 2>&1 || fail "etc/roomcast/conf.d/ is empty"
if grep -hoE '"file://[^/"][^"]*"' "$etc/conf" "$etc/conf.d/"*; then
	fail "relative file:// origins left in installed conf (listed above)"
fi
grep -qF "\"file://$www\"" "$etc/conf.d/"* ||
	fail "no mount origin \"file://$www\" in etc/roomcast/conf.d"
grep -qF "\"plugin-dir\": \"$plugdir\"" "$etc/conf" ||
	fail "etc/roomcast/conf has no global \"plugin-dir\": \"$plugdir\""
for u in roomcast.service roomcast-lwsws.service; do
	[ -f "$units/$u" ] || fail "no lib/systemd/system/$u"
	if grep -n '@[A-Z_]*@' "$units/$u"; then
		fail "$u has unsubstituted @VARS@"
	fi
done
grep -qxF "ExecStart=$prefix/bin/roomcast-server --config $etc" "$units/roomcast.service" ||
	fail "roomcast.service ExecStart is not '$prefix/bin/roomcast-server --config $etc'"
grep -qE "^ExecStart=/[^ ]*/lwsws -n -c $etc\$" "$units/roomcast-lwsws.service" ||
	fail "roomcast-lwsws.service ExecStart is not 'lwsws -n -c $etc'"
pass "layout: bin, lib/roomcast/plugins, share/roomcast/www, etc/roomcast, lib/systemd/system"

# ---- 3. run the installed server ----------------------------------------------
free_port() {
	"$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
port=$(free_port)
sport=$(free_port)
while [ "$sport" = "$port" ]; do sport=$(free_port); done

# From / : the installed config must not depend on the working directory.
(cd / && exec "$prefix/bin/roomcast-server" --config "$etc" \
	--port "$port" --status-port "$sport") >"$log" 2>&1 &
pid=$!

"$py" - "$port" "$sport" "$pid" <<'EOF' || fail "server did not listen on $port and $sport within 10 s"
import os, socket, sys, time
port, sport, pid = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
end = time.monotonic() + 10
todo = {port, sport}
while todo and time.monotonic() < end:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit("server exited")
    for p in list(todo):
        try:
            socket.create_connection(("127.0.0.1", p), 0.5).close()
            todo.discard(p)
        except OSError:
            pass
    if todo:
        time.sleep(0.05)
sys.exit(1 if todo else 0)
EOF
pass "installed roomcast-server listening on 127.0.0.1:$port and :$sport"

"$py" - "$port" "$sport" "$www/index.html" <<'EOF' || fail "HTTP checks"
import json, sys, urllib.request
port, sport, index = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]

def get(p, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{p}{path}", timeout=5) as r:
        return r.status, r.headers.get("content-type", ""), r.read()

st, ct, body = get(port, "/")
assert st == 200, f"GET / -> {st}"
assert body == open(index, "rb").read(), "GET / is not the installed index.html"
print(f"test_install: ok: GET / -> {st} {ct}, {len(body)} bytes = installed index.html")

st, ct, body = get(sport, "/stats")
assert st == 200, f"GET /stats -> {st}"
assert "json" in ct, f"GET /stats content-type {ct!r}"
j = json.loads(body)
assert isinstance(j, dict) and j, f"GET /stats is not a JSON object: {body[:100]!r}"
print(f"test_install: ok: status GET /stats -> {st} {ct}, keys: {', '.join(sorted(j)[:6])}...")
EOF

kill -TERM "$pid"
for _ in $(seq 100); do # at most 10 s
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
	fail "server still running 10 s after SIGTERM"
fi
rc=0
wait "$pid" || rc=$?
pid=
[ "$rc" = 0 ] || fail "server exited $rc after SIGTERM (expected 0)"
pass "SIGTERM: server exited 0"
echo "test_install: PASS"
