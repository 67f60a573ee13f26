#!/bin/bash
# test.sh: installs what is missing, builds roomcast (plain and with
# AddressSanitizer + UndefinedBehaviorSanitizer), builds lwsws from
# Debian's libwebsockets source with the plugin against it, and runs every
# test under ctest: unit tests, the end-to-end suite against roomcast-server
# and against lwsws, the install layout, the browser page, the JavaScript client library,
# nginx in front of the server as docs/DEPLOY.md configures it, and a benchmark
# smoke run; then the unit and end-to-end tests again in the sanitizer build.
# The format of changed C lines is checked first (scripts/check-format.sh).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
jobs=$(nproc)

bash scripts/deps.sh
# The C lines this branch changed are formatted (.clang-format); reported
# before the long build, and counted in the exit status.
format_status=0
bash scripts/check-format.sh || format_status=1
bash scripts/lwsws.sh "$root/build/lwsws-prefix"
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
(cd tests/client && npm ci --no-audit --no-fund --loglevel=error)

# The plugin as lwsws loads it: built against lwsws's own libwebsockets.
cmake -S . -B build-lwsws -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DCMAKE_PREFIX_PATH="$root/build/lwsws-prefix" -DBUILD_TESTING=OFF >/dev/null
cmake --build build-lwsws -j"$jobs" --target protocol_roomcast

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DROOMCAST_LWSWS_BIN="$root/build/lwsws-prefix/bin/lwsws" \
	-DROOMCAST_LWSWS_PLUGIN_DIR="$root/build-lwsws" >/dev/null
cmake --build build -j"$jobs"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DRM_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"

# libFuzzer targets (clang): the corpus replayed, then each fuzzed briefly.
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DROOMCAST_FUZZ=ON \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzz

status=0
(cd build && ctest --output-on-failure --timeout 900) || status=1
(cd build-asan && ctest --output-on-failure --timeout 900 -L sanitized) || status=1
(cd build-fuzz && ctest --output-on-failure -R fuzz_regression) || status=1
bash tests/fuzz/run.sh build-fuzz "${FUZZ_SECONDS:-60}" || status=1
[ $format_status = 0 ] || { echo "test.sh: scripts/check-format.sh failed (see above)" >&2; status=1; }
exit $status
