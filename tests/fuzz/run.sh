#!/bin/sh
# Runs roomcast's libFuzzer targets (see README.md).
#
#   tests/fuzz/run.sh BUILD_DIR [SECONDS]
#       fuzzes each target for SECONDS (default 60) from a temporary copy
#       of its seed corpus (tests/fuzz/corpus/<target>/, crash-* aside), so
#       the repo does not grow. A crash, leak, timeout or OOM input is
#       copied to tests/fuzz/corpus/<target>/crash-<name> (the regression
#       set) and its path printed. Exits 1 if any target crashed.
#   tests/fuzz/run.sh --replay BUILD_DIR
#       runs every corpus file (seeds and crash-* regressions) once through
#       its target: a few seconds. Exits 1 if any input fails, naming each.
#
# Environment: FUZZ_TARGETS="fuzz_codec fuzz_hub" picks targets;
# RC_FUZZ_SKIP=name,... turns off named invariants (known bugs, README.md);
# FUZZ_JOBS=N runs N targets at once when fuzzing (default 1);
# FUZZ_KEEP_CORPUS=DIR copies each grown corpus to DIR/<target> (e.g. for
# a coverage report), outside the repo.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
CORPUS=$HERE/corpus
TARGETS=${FUZZ_TARGETS:-"fuzz_codec fuzz_hub fuzz_rconf fuzz_validators fuzz_conf fuzz_jwt fuzz_api"}
COMMON="-timeout=10 -rss_limit_mb=2048"

usage() {
	echo "usage: $0 BUILD_DIR [SECONDS] | $0 --replay BUILD_DIR" >&2
	exit 2
}

find_bin() {	# BUILD_DIR TARGET
	for p in "$1/$2" "$1/tests/fuzz/$2"; do
		if [ -x "$p" ]; then
			echo "$p"
			return 0
		fi
	done
	echo "$0: $2 not built in $1 (cmake --build $1 --target fuzz)" >&2
	return 1
}

MODE=fuzz
if [ "${1:-}" = "--replay" ]; then
	MODE=replay
	shift
fi
[ $# -ge 1 ] || usage
BUILD=$1
SECONDS_EACH=${2:-60}
case $SECONDS_EACH in
''|*[!0-9]*) usage ;;
esac

OUTER_TMP=${TMPDIR:-/tmp}
WORK=$(mktemp -d "$OUTER_TMP/rcfuzz.XXXXXX") || exit 1
trap 'rm -rf "$WORK"' EXIT INT TERM
# fuzz_conf makes its directories under TMPDIR: keep them in $WORK too
export TMPDIR=$WORK

FAILED=0

replay_one_target() {	# TARGET
	t=$1
	bin=$(find_bin "$BUILD" "$t") || { FAILED=1; return; }
	dir=$CORPUS/$t
	[ -d "$dir" ] || { echo "$t: no corpus at $dir"; return; }
	# the seeds in one run (all should pass), each crash-* on its own
	seeds=$WORK/$t.seeds
	mkdir -p "$seeds"
	n=0
	bad=0
	crashes=""
	for f in "$dir"/*; do
		[ -f "$f" ] || continue
		n=$((n + 1))
		case $(basename "$f") in
		crash-*) crashes="$crashes $f" ;;
		*) ln -s "$f" "$seeds/" ;;
		esac
	done
	if ! "$bin" $COMMON -runs=0 "$seeds" >"$WORK/$t.replay.log" 2>&1; then
		crashes="$crashes $(ls -d "$seeds"/*)"
	fi
	for f in $crashes; do
		if ! "$bin" $COMMON "$f" >"$WORK/one.log" 2>&1; then
			why=$(grep -m1 -E 'INVARIANT|SUMMARY|ERROR: ' "$WORK/one.log")
			echo "$t: FAIL $(readlink -f "$f"): $why"
			bad=$((bad + 1))
		fi
	done
	echo "$t: $n inputs, $bad failing"
	[ $bad -eq 0 ] || FAILED=1
}

fuzz_one_target() {	# TARGET
	t=$1
	bin=$(find_bin "$BUILD" "$t") || return 1
	run=$WORK/$t
	mkdir -p "$run/corpus" "$run/artifacts"
	# the seeds, not the known crashes (they are replayed by --replay)
	for f in "$CORPUS/$t"/*; do
		case $(basename "$f") in
		crash-*) ;;
		*) [ -f "$f" ] && cp "$f" "$run/corpus/" ;;
		esac
	done
	log=$run/fuzz.log
	"$bin" $COMMON -max_total_time="$SECONDS_EACH" -print_final_stats=1 \
		-artifact_prefix="$run/artifacts/" "$run/corpus" >"$log" 2>&1
	rc=$?
	stats=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE)' "$log" |
		tail -1 | sed -E 's/^#[0-9]+[[:space:]]+[A-Z]+[[:space:]]+//; s/ MS:.*//')
	execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
	echo "$t: ${SECONDS_EACH}s, ${execs:-?} execs, rc=$rc; $stats"
	if [ -n "${FUZZ_KEEP_CORPUS:-}" ]; then
		mkdir -p "$FUZZ_KEEP_CORPUS/$t" &&
			cp "$run/corpus"/* "$FUZZ_KEEP_CORPUS/$t/" 2>/dev/null
	fi
	found=0
	for a in "$run/artifacts"/*; do
		[ -f "$a" ] || continue
		found=1
		name=$(basename "$a")
		dest=$CORPUS/$t/crash-${name#crash-}
		cp "$a" "$dest"
		echo "$t: CRASH input kept as $dest"
		grep -m3 -E 'INVARIANT|SUMMARY|ERROR: ' "$log" | sed "s/^/$t:   /"
	done
	if [ $rc -ne 0 ] || [ $found -ne 0 ]; then
		keep=$OUTER_TMP/rcfuzz-$t-$(date +%Y%m%d-%H%M%S).log
		cp "$log" "$keep" && echo "$t: full log: $keep"
		return 1
	fi
	return 0
}

if [ $MODE = replay ]; then
	for t in $TARGETS; do
		replay_one_target "$t"
	done
	exit $FAILED
fi

JOBS=${FUZZ_JOBS:-1}
pids=""
for t in $TARGETS; do
	fuzz_one_target "$t" &
	pids="$pids $!"
	set -- $pids
	if [ $# -ge "$JOBS" ]; then
		for p in $pids; do
			wait "$p" || FAILED=1
		done
		pids=""
	fi
done
for p in $pids; do
	wait "$p" || FAILED=1
done
exit $FAILED
