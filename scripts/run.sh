#!/bin/bash
# run.sh: installs what is missing, builds, and starts roomcast-server with
# the test page at http://localhost:8080 (status on 127.0.0.1:8081).
# Extra arguments go to roomcast-server (e.g. --option presence-events=on).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
echo "roomcast: page at http://localhost:8080 , stats at http://127.0.0.1:8081/stats"
exec ./build/roomcast-server --config "$root" "$@"
