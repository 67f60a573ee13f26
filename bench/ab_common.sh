# Sourced by the A/B scripts (history_ab.sh, auth_ab.sh, ab.sh): builds the
# load generator and sets LG, PIN_SRV and PIN_LG (server on core 0, load
# generator on core 1 where there are two; at priority NICE, default -15,
# when allowed: on a machine shared with other jobs, NICE=0 turns it off),
# and TMP, a directory removed at exit. Needs HERE and ROOT.
LG=$ROOT/build-bench/bench/loadgen
make -s -C "$HERE" O="$ROOT/build-bench/bench" >&2 || exit 1
PIN_SRV=""; PIN_LG=""
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
	PIN_SRV="taskset -c 0"; PIN_LG="taskset -c 1"
fi
NICE=${NICE:--15}
if [ "$NICE" != 0 ] && nice -n "$NICE" true 2>/dev/null; then
	PIN_SRV="nice -n $NICE $PIN_SRV"; PIN_LG="nice -n $NICE $PIN_LG"
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
