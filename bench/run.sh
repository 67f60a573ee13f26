#!/usr/bin/env bash
# roomcast benchmark runner: every scenario against roomcast-server and each
# available peer in one run; server pinned to core 0, load generator to
# core 1. Writes <out>/<server>-<scenario>.json, <out>/summary.md (ratios
# roomcast / peer, also printed) and <out>/chart.png (gnuplot).
#
#   bench/run.sh [--smoke] [--out DIR] [--duration S]
#                [--peers "roomcast-poll roomcast-uv ws lws gorilla"]
#                [--scenarios "fanout rate rooms idle connect idlecho churn"]
#                [--procs N] [--nice N] [--idle-echo "2000 12000"]
#
#   roomcast-poll the same roomcast-server with --event-loop poll (lws's
#                 poll() over every socket, the default before evpoll.c)
#   roomcast-uv   the same roomcast-server with --event-loop uv
#   connect       connect rate with 1000 connections (idle: 19,000)
#   idlecho       echo of a 60 KB and of a 64-byte broadcast while N idle
#                 connections are held (bench/idlecho.sh), for each N of
#                 --idle-echo; roomcast protocol only (roomcast, ws)
#
#   --nice N  priority of server and load generator in full runs (default
#             -10, needs root; 0 = off): on a machine shared with other jobs a
#             single-threaded server otherwise gets a fraction of its core
#             while multi-threaded peers get more, which skews the ratios.
#   --smoke   each scenario ~2 s, small sizes, roomcast only; exit 0 when the
#             tools worked (every scenario connected and delivered, no
#             unparsable frames). Asserts nothing about speed. For CI.
#
# Environment: ROOMCAST_SERVER (default: <build>/roomcast-server, built with
# CMake into build-bench when missing), BENCH_BUILD (default
# <repo>/build-bench).
# Every server and load generator run is bounded by `timeout`.
set -u
set -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BUILD=${BENCH_BUILD:-$ROOT/build-bench}
SMOKE=0
OUT=""
DURATION=5
PEERS="roomcast-uv ws lws gorilla"
SCENARIOS="fanout rate rooms idle connect idlecho churn"
IDLE_ECHO="2000 12000"
PROCS=1
NICE=-10
PY=/usr/bin/python3

while [ $# -gt 0 ]; do
	case "$1" in
	--smoke) SMOKE=1 ;;
	--out) OUT=$2; shift ;;
	--duration) DURATION=$2; shift ;;
	--peers) PEERS=$2; shift ;;
	--scenarios) SCENARIOS=$2; shift ;;
	--procs) PROCS=$2; shift ;;
	--nice) NICE=$2; shift ;;
	--idle-echo) IDLE_ECHO=$2; shift ;;
	-h|--help) sed -n '2,20p' "$0"; exit 0 ;;
	*) echo "unknown argument: $1" >&2; exit 2 ;;
	esac
	shift
done

if [ "$SMOKE" = 1 ]; then
	PEERS=""
	DURATION=2
	NICE=0
	IDLE_ECHO=200
	[ -n "$OUT" ] || OUT=$BUILD/bench/smoke
else
	[ -n "$OUT" ] || OUT=$ROOT/bench/results/$(date -u +%Y%m%dT%H%M%SZ)
fi
mkdir -p "$OUT" "$BUILD/bench" || exit 2

log() { echo "== $*" >&2; }

# ---- build ----
make -s -C "$HERE" O="$BUILD/bench" >&2 || { echo "loadgen build failed" >&2; exit 1; }
LOADGEN=$BUILD/bench/loadgen
SERVER=${ROOMCAST_SERVER:-$BUILD/roomcast-server}
if [ ! -x "$SERVER" ]; then
	log "building roomcast-server into $BUILD"
	cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >&2 &&
		cmake --build "$BUILD" -j2 --target roomcast-server >&2 ||
		{ echo "roomcast-server build failed" >&2; exit 1; }
fi

# ---- cores and priority ----
NCPU=$(nproc)
if [ "$NCPU" -ge 2 ] && command -v taskset >/dev/null; then
	PIN_SRV="taskset -c 0"
	PIN_LG="taskset -c 1"
else
	PIN_SRV=""
	PIN_LG=""
fi
if [ "$NICE" != 0 ] && nice -n "$NICE" true 2>/dev/null &&
	[ "$(nice -n "$NICE" nice)" = "$NICE" ]; then
	PIN_SRV="nice -n $NICE $PIN_SRV"
	PIN_LG="nice -n $NICE $PIN_LG"
else
	NICE=0
fi

free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_port() { # port timeout_s
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.05
	done
	return 1
}

# ---- peers: command lines; each prints nothing useful, runs in background ----
SRV_PID=""
start_server() { # name port
	local name=$1 port=$2
	case "$name" in
	roomcast)
		$PIN_SRV timeout 300 "$SERVER" --port "$port" --status-port 0 \
			>"$OUT/$name.log" 2>&1 &
		;;
	roomcast-uv|roomcast-poll)
		$PIN_SRV timeout 300 "$SERVER" --port "$port" --status-port 0 \
			--event-loop "${name#roomcast-}" >"$OUT/$name.log" 2>&1 &
		;;
	ws)
		$PIN_SRV timeout 300 node "$HERE/peers/ws-server.mjs" --port "$port" \
			--mode roomcast >"$OUT/$name.log" 2>&1 &
		;;
	lws)
		$PIN_SRV timeout 300 libwebsockets-test-server --port="$port" -d 0 \
			>"$OUT/$name.log" 2>&1 &
		;;
	gorilla)
		$PIN_SRV timeout 300 "$BUILD/bench/gorilla-chat" -addr "127.0.0.1:$port" \
			>"$OUT/$name.log" 2>&1 &
		;;
	esac
	SRV_PID=$!
	# the pid that matters for RSS/CPU is the server itself, not `timeout`
	local i child=""
	for ((i = 0; i < 40; i++)); do
		child=$(pgrep -P "$SRV_PID" | head -1)
		[ -n "$child" ] && break
		sleep 0.05
	done
	# taskset execs, timeout forks the server
	SRV_REAL=${child:-$SRV_PID}
	wait_port "$port" 10
}

stop_server() {
	[ -n "$SRV_PID" ] || return 0
	kill -TERM "$SRV_REAL" 2>/dev/null
	local i
	for ((i = 0; i < 50; i++)); do
		kill -0 "$SRV_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$SRV_REAL" "$SRV_PID" 2>/dev/null
	wait "$SRV_PID" 2>/dev/null
	SRV_PID=""
}
trap 'stop_server' EXIT
trap 'exit 130' INT TERM

available() { # name
	case "$1" in
	roomcast|roomcast-uv|roomcast-poll) [ -x "$SERVER" ] ;;
	ws) command -v node >/dev/null && [ -d "$HERE/peers/node_modules/ws" ] ;;
	lws) command -v libwebsockets-test-server >/dev/null ;;
	gorilla) [ -x "$BUILD/bench/gorilla-chat" ] ;;
	*) return 1 ;;
	esac
}

prepare_peers() {
	local p
	for p in $PEERS; do
		case "$p" in
		ws)
			if [ ! -d "$HERE/peers/node_modules/ws" ] && command -v npm >/dev/null; then
				(cd "$HERE/peers" && timeout 120 npm ci --no-audit --no-fund >&2)
			fi
			;;
		gorilla)
			if [ ! -x "$BUILD/bench/gorilla-chat" ] && command -v go >/dev/null &&
				[ -d /usr/share/gocode/src/github.com/gorilla/websocket ]; then
				(cd "$HERE/peers/gorilla-chat" &&
					GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= \
						GOCACHE="$BUILD/bench/gocache" timeout 300 \
						go build -o "$BUILD/bench/gorilla-chat" . >&2)
			fi
			;;
		esac
	done
}

# scenario arguments per server: roomcast protocol (roomcast, ws) or raw
proto_args() { # name
	case "$1" in
	roomcast|roomcast-uv|roomcast-poll|ws) echo "--proto roomcast" ;;
	lws) echo "--proto raw --subprotocol lws-mirror-protocol" ;;
	gorilla) echo "--proto raw --path /ws" ;;
	esac
}

supports() { # name scenario
	case "$1:$2" in
	lws:rooms|gorilla:rooms) return 1 ;; # one broadcast group only
	# raw peers relay to every connection, the idle ones too
	lws:idlecho|gorilla:idlecho) return 1 ;;
	esac
	return 0
}

scenario_args() { # scenario
	if [ "$SMOKE" = 1 ]; then
		case "$1" in
		fanout) echo "--subs 50 --pubs 2 --window 16 --size 64" ;;
		rate) echo "--subs 50 --pubs 1 --rate 100 --size 64" ;;
		rooms) echo "--subs 180 --rooms 20 --rate 100 --size 64" ;;
		idle) echo "--subs 500" ;;
		connect) echo "--subs 100" ;;
		churn) echo "--subs 50 --pubs 1 --rate 100 --churn 10 --hold-ms 100" ;;
		esac
		return
	fi
	case "$1" in
	fanout) echo "--subs 1000 --pubs 1 --window 64 --size 64" ;;
	rate) echo "--subs 1000 --pubs 1 --rate 200 --size 64" ;;
	rooms) echo "--subs 4800 --rooms 200 --rate 2000 --size 64 --conc 256" ;;
	idle) echo "--subs 19000 --conc 256 --connect-timeout 40" ;;
	connect) echo "--subs 1000 --conc 256 --connect-timeout 40" ;;
	churn) echo "--subs 500 --pubs 1 --rate 200 --churn 100 --hold-ms 200 --size 64" ;;
	esac
}

# idlecho: one server, each idle count of --idle-echo in turn (restarted
# between counts so each starts clean); <server>-idlecho-<N>.json
run_idlecho() { # name port
	local name=$1 port=$2 n rc=0
	for n in $IDLE_ECHO; do
		if [ "$n" != "${IDLE_ECHO%% *}" ]; then
			stop_server
			sleep 0.5
			port=$(free_port)
			start_server "$name" "$port" || return 1
		fi
		$PIN_LG timeout 200 "$HERE/idlecho.sh" "$port" "$n" "$LOADGEN" \
			"$name" "$OUT/$name-idlecho-$n.json" --count 5 \
			>"$OUT/$name-idlecho-$n.txt" 2>&1 || rc=1
		cat "$OUT/$name-idlecho-$n.txt" >&2
	done
	return $rc
}

SERVERS="roomcast $PEERS"
prepare_peers
RAN=""
FAIL=0
for s in $SERVERS; do
	if ! available "$s"; then
		log "$s: not available, skipped"
		continue
	fi
	RAN="$RAN $s"
done
log "servers:$RAN; scenarios: $SCENARIOS; results in $OUT"
{
	echo "date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "uname=$(uname -srm)"
	echo "nproc=$NCPU"
	echo "duration=$DURATION"
	echo "nice=$NICE"
	# relative to the checkout: the record names no path outside it
	echo "roomcast_server=${SERVER#"$ROOT"/}"
} >"$OUT/meta.txt"

for sc in $SCENARIOS; do
	for s in $RAN; do
		supports "$s" "$sc" || continue
		port=$(free_port)
		if ! start_server "$s" "$port"; then
			log "$s did not start (see $OUT/$s.log)"
			stop_server
			FAIL=1
			continue
		fi
		log "$sc vs $s (port $port, pid $SRV_REAL, load $(cut -d' ' -f1-3 /proc/loadavg))"
		echo "$s $sc loadavg $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/meta.txt"
		if [ "$sc" = idlecho ]; then
			run_idlecho "$s" "$port" || FAIL=1
			stop_server
			sleep 0.5
			continue
		fi
		lgsc=$sc
		[ "$sc" = connect ] && lgsc=idle
		# shellcheck disable=SC2046
		$PIN_LG timeout 120 "$LOADGEN" --scenario "$lgsc" --port "$port" \
			--duration "$DURATION" --procs "$PROCS" --server-pid "$SRV_REAL" \
			--label "$s" --json-out "$OUT/$s-$sc.json" \
			$(proto_args "$s") $(scenario_args "$sc") \
			2> >(tee "$OUT/$s-$sc.txt" >&2) >/dev/null
		rc=$?
		[ $rc -eq 0 ] || { log "loadgen exit $rc for $s $sc"; FAIL=1; }
		# one JSON per scenario name: connect is loadgen's idle
		[ "$sc" = connect ] && sed -i 's/"scenario":"idle"/"scenario":"connect"/' "$OUT/$s-$sc.json"
		stop_server
		sleep 0.5
	done
done

# ---- summary + chart ----
$PY - "$OUT" "$SMOKE" <<'EOF'
import json, os, sys
out, smoke = sys.argv[1], sys.argv[2] == "1"
res = {}
echo = {}  # (server, idle connections) -> echo_probe.py's result
for f in sorted(os.listdir(out)):
    if f.endswith(".json"):
        try:
            j = json.load(open(os.path.join(out, f)))
        except Exception:
            continue
        if j.get("tool") == "roomcast-echo-probe":
            echo[(j["label"], j["idle_conns"])] = j
            continue
        res[(j["label"], j["scenario"])] = j
servers = []
for (s, _) in list(res) + list(echo):
    if s not in servers:
        servers.append(s)
order = ["roomcast", "roomcast-poll", "roomcast-uv", "ws", "lws", "gorilla"]
servers.sort(key=lambda s: order.index(s) if s in order else 99)
metrics = [
    ("fanout", "deliveries_per_s", "deliveries/s", True),
    ("fanout", "lat_us.p99", "p99 us", False),
    ("rate", "lat_us.p99", "p99 us", False),
    ("rate", "lat_us.p50", "p50 us", False),
    ("rooms", "deliveries_per_s", "deliveries/s", True),
    ("rooms", "lat_us.p99", "p99 us", False),
    ("idle", "rss_per_conn_bytes", "RSS bytes/conn", False),
    ("idle", "connects_per_s", "connects/s", True),
    ("connect", "connects_per_s", "connects/s at 1000", True),
    ("churn", "churn_per_s", "cycles/s", True),
    ("churn", "lat_us.p99", "p99 us", False),
]
def get(j, k):
    for p in k.split("."):
        j = j[p]
    return j
lines = []
peers = [s for s in servers if s != "roomcast"]
lines.append("| scenario | metric | " + " | ".join(servers + ["roomcast/" + s for s in peers]) + " |")
lines.append("|" + "---|" * (2 + len(servers) + len([s for s in servers if s != "roomcast"])))
for sc, k, name, higher in metrics:
    row = []
    have = False
    for s in servers:
        j = res.get((s, sc))
        v = get(j, k) if j else None
        if v is not None and v >= 0:
            have = True
            row.append(f"{v:,.0f}")
        else:
            row.append("-")
    if not have:
        continue
    rat = []
    base = res.get(("roomcast", sc))
    for s in servers:
        if s == "roomcast":
            continue
        j = res.get((s, sc))
        try:
            a, b = get(base, k), get(j, k)
            rat.append(f"{a / b:.2f}" if b > 0 and a >= 0 else "-")
        except Exception:
            rat.append("-")
    arrow = "higher is better" if higher else "lower is better"
    lines.append(f"| {sc} | {name} ({arrow}) | " + " | ".join(row + rat) + " |")
idles = sorted({n for (_, n) in echo})
for n in idles:
    for size in ("big", "small"):
        row, rat = [], []
        for s in servers:
            j = echo.get((s, n))
            row.append(f"{j[size]['median_us']:,}" if j else "-")
        base = echo.get(("roomcast", n))
        for s in servers:
            if s == "roomcast":
                continue
            j = echo.get((s, n))
            rat.append(f"{base[size]['median_us'] / j[size]['median_us']:.2f}"
                       if base and j and j[size]['median_us'] > 0 else "-")
        nb = (echo.get(("roomcast", n)) or next(iter(echo.values())))[size]["size"]
        lines.append(f"| idlecho {n} idle | echo of {nb} B, median us (lower is better) | "
                     + " | ".join(row + rat) + " |")
loss = []
for (s, sc), j in sorted(res.items()):
    loss.append(f"| {s} | {sc} | {j['conns_ready']} | {j['published']} | {j['delivered']} | "
                f"{j['lost_gaps']} | {j['dropped_notices']} | {j['missing']} | {j['bad_frames']} | "
                f"{j['server_cpu_pct']:.0f}% | {j['loadgen_cpu_pct']:.0f}%{' SATURATED' if j['loadgen_saturated'] else ''} |")
md = "\n".join(lines) + "\n\nLosses and CPU:\n\n| server | scenario | conns | published | delivered | seq gaps | dropped notices | missing | unparsable | server CPU | loadgen CPU |\n|---|---|---|---|---|---|---|---|---|---|---|\n" + "\n".join(loss) + "\n"
open(os.path.join(out, "summary.md"), "w").write(md)
print(md)
# gnuplot data: one row per server
with open(os.path.join(out, "chart.dat"), "w") as f:
    f.write("# server fanout_kdps fanout_p99_ms rate_p99_ms idle_rss_kb connects_per_s echo_big_ms\n")
    for s in servers:
        def v(sc, k, scale):
            j = res.get((s, sc))
            try:
                x = get(j, k)
                return f"{x / scale:.3f}" if x is not None and x >= 0 else "NaN"
            except Exception:
                return "NaN"
        nmax = max(idles) if idles else None
        e = echo.get((s, nmax))
        eb = f"{e['big']['median_us'] / 1000:.3f}" if e else "NaN"
        f.write(f"{s} {v('fanout','deliveries_per_s',1000)} {v('fanout','lat_us.p99',1000)} "
                f"{v('rate','lat_us.p99',1000)} {v('idle','rss_per_conn_bytes',1024)} "
                f"{v('connect','connects_per_s',1)} {eb}\n")
    f.write(f"# echo_idle={max(idles) if idles else 0}\n")
if smoke:
    bad = []
    for sc in ["fanout", "rate", "rooms", "idle", "connect", "churn"]:
        j = res.get(("roomcast", sc))
        if not j:
            bad.append(f"{sc}: no result")
            continue
        if j["conns_ready"] <= 0:
            bad.append(f"{sc}: no connection")
        if sc not in ("idle", "connect") and j["delivered"] <= 0:
            bad.append(f"{sc}: nothing delivered")
        if j["bad_frames"] or j["errors"]:
            bad.append(f"{sc}: unparsable frames / protocol errors")
        if j["missing"] > 0 and j["missing"] > j["dropped_notices"]:
            print(f"warning: {sc}: {j['missing']} deliveries missing")
    if not echo.get(("roomcast", 200)):
        bad.append("idlecho: no result")
    if bad:
        print("SMOKE FAILED: " + "; ".join(bad))
        sys.exit(1)
    print("smoke: 7 passed, 0 failed")
EOF
PYRC=$?
[ $PYRC -eq 0 ] || FAIL=1

if [ "$SMOKE" = 0 ]; then
	"$HERE/chart.sh" "$OUT" || log "chart failed"
fi
exit $FAIL
