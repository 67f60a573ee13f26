#!/bin/bash
# deps.sh: installs, from Debian's archive, what roomcast needs on a fresh
# Debian 12 machine. Idempotent; runs as root (or through sudo). Installs
# only what is missing.
#
#   deps.sh        build, run and every test (scripts/test.sh)
#   deps.sh run    build and run only (scripts/run.sh)
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

need=(
	# build and run
	build-essential cmake pkg-config
	libwebsockets-dev libjson-c-dev libssl-dev
	# roomcast-server's event loop: lws's libuv glue (loaded at run time)
	libwebsockets-evlib-uv libuv1-dev
	# history-db
	libsqlite3-dev
	# the cluster: hiredis
	libhiredis-dev
)
[ "${1:-all}" = run ] || need+=(
	# unit tests
	libcunit1-dev
	# the cluster's tests: Debian's redis-server, started by the tests
	redis-server
	# end-to-end tests: a WebSocket client library not written here
	python3 python3-websockets python3-pytest curl openssl
	# lwsws from Debian's libwebsockets source (scripts/lwsws.sh)
	dpkg-dev libuv1-dev zlib1g-dev
	# browser test: Debian's chromium driven by npm's playwright-core
	chromium
	# fuzzing: clang's libFuzzer and sanitizer runtimes
	clang libclang-rt-14-dev
	# scripts/check-format.sh: clang-format and git clang-format
	clang-format
	# install/lwsws tests, bench smoke run
	binutils make util-linux procps gnuplot-nox
	# tests/deploy: nginx in front of roomcast-server (docs/DEPLOY.md)
	nginx-light
)
if [ "${1:-all}" != run ]; then
	# Node.js 18+ and npm (browser and client library tests): Debian's,
	# unless a node is already installed.
	command -v node >/dev/null 2>&1 || need+=(nodejs)
	command -v npm >/dev/null 2>&1 || need+=(npm)
fi

missing=()
for p in "${need[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
if ((${#missing[@]})); then
	sudo_=""
	[ "$(id -u)" = 0 ] || sudo_=sudo
	$sudo_ apt-get update -qq
	# Servers the tests start themselves (nginx, redis-server) must not
	# also start as system services on install: Debian's policy-rc.d
	# convention (exit 101 = "not allowed") keeps their postinst scripts
	# from starting them. Only ours is removed afterwards.
	policy=/usr/sbin/policy-rc.d
	ours=""
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' | $sudo_ tee "$policy" >/dev/null
		$sudo_ chmod 755 "$policy"
		ours=1
	fi
	status=0
	$sudo_ apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
		status=$?
	[ -z "$ours" ] || $sudo_ rm -f "$policy"
	exit $status
fi
