#!/bin/bash
# run.sh: installs what running roomcast needs (and nothing for the tests:
# scripts/test.sh installs the rest), builds roomcast-server (without the
# tests, in build-run/), and starts it on this repository's conf and
# conf.d/. When the server is up, prints the page and status addresses
# from its own start line, so they are the ports it really listens on.
# Extra arguments go to roomcast-server (e.g. --port 9000,
# --option presence-events=on). Ctrl-C stops it (close 1001 to clients).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash scripts/deps.sh run
cmake -S . -B build-run -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF >/dev/null
cmake --build build-run -j"$(nproc)" --target roomcast-server

# Passes the server's log through and, after its start line
# ("roomcast-server V: config DIR, WebSocket port N, status port M"),
# says where the page and the counters are. It outlives Ctrl-C to show the
# server's last lines.
announce() {
	trap '' INT TERM
	local line re='WebSocket port (-?[0-9]+), status port (-?[0-9]+)'
	while IFS= read -r line; do
		printf '%s\n' "$line" >&2
		[[ $line =~ $re ]] || continue
		local ws=${BASH_REMATCH[1]} st=${BASH_REMATCH[2]}
		if ((ws > 0)); then
			echo "roomcast: page at http://localhost:$ws/ (WebSocket ws://localhost:$ws/)"
		fi
		if ((st > 0)); then
			echo "roomcast: status at http://127.0.0.1:$st/stats (also /health, /metrics)"
		else
			echo "roomcast: no status vhost"
		fi
	done
}

exec ./build-run/roomcast-server --config "$root" "$@" 2> >(announce)
