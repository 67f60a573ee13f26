#!/bin/bash
# deps.sh: installs, from Debian's archive, what roomcast needs to build,
# run and test on a fresh Debian 12 machine. Idempotent; runs as root (or
# through sudo). Installs only what is missing.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

need=(
	# build
	build-essential cmake pkg-config
	libwebsockets-dev libjson-c-dev libssl-dev libcunit1-dev
	# the cluster: hiredis, and redis-server for its tests
	libhiredis-dev redis-server
	# end-to-end tests: a WebSocket client library not written here
	python3 python3-websockets python3-pytest curl openssl
	# lwsws from Debian's libwebsockets source (scripts/lwsws.sh)
	dpkg-dev libuv1-dev zlib1g-dev
	# browser test: Debian's chromium driven by npm's playwright-core
	chromium
	# fuzzing: clang's libFuzzer and sanitizer runtimes
	clang libclang-rt-14-dev
	# install/lwsws tests, bench smoke run
	binutils make util-linux procps
)
# Node.js 18+ and npm: Debian's, unless a node is already installed.
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)

missing=()
for p in "${need[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
if ((${#missing[@]})); then
	sudo_=""
	[ "$(id -u)" = 0 ] || sudo_=sudo
	$sudo_ apt-get update -qq
	$sudo_ apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
