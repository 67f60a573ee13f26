#!/bin/bash
# check-format.sh: the C lines this branch changed are as clang-format
# writes them (.clang-format, the kernel/lws style of the code).
#
#   scripts/check-format.sh [BASE]
#
# Only changed lines are checked (git clang-format), so older code keeps
# its hand wrapping, which clang-format cannot reproduce, and no commit
# reformats what it did not touch. Tabs before a trailing comment (the
# code's way, which clang-format 14 cannot write) are accepted. BASE defaults
# to $RM_FORMAT_BASE, else the merge-base of HEAD with origin/main or
# main, else HEAD~ (a commit on main itself: its own lines). Uncommitted
# changes count too. Without git history (a tarball, a shallow clone of
# one commit) there is nothing to compare: it says so and passes.
# To fix what it reports: git clang-format BASE
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

if ! git rev-parse -q --verify HEAD >/dev/null 2>&1; then
	echo "check-format: no git history here; nothing to compare, skipped"
	exit 0
fi
for tool in clang-format git-clang-format; do
	if ! command -v "$tool" >/dev/null; then
		echo "check-format: $tool is missing (scripts/deps.sh installs it)" >&2
		exit 1
	fi
done

base=${1:-${RM_FORMAT_BASE:-}}
if [ -z "$base" ]; then
	head=$(git rev-parse HEAD)
	for ref in origin/main main; do
		git rev-parse -q --verify "$ref^{commit}" >/dev/null || continue
		mb=$(git merge-base HEAD "$ref" 2>/dev/null) || continue
		if [ "$mb" != "$head" ]; then
			base=$mb
			break
		fi
	done
fi
if [ -z "$base" ]; then
	base=$(git rev-parse -q --verify 'HEAD~^{commit}' 2>/dev/null) || {
		echo "check-format: HEAD is the first commit; skipped"
		exit 0
	}
fi

out=$(git clang-format --binary "$(command -v clang-format)" --diff \
	--extensions c,h "$base" -- 2>&1) || true
case "$out" in
"" | "no modified files to format" | "clang-format did not modify any files")
	echo "check-format: C lines changed since ${base:0:12} are formatted"
	exit 0
	;;
esac
# clang-format puts one space before a trailing comment; the code aligns
# them with tabs. A hunk whose lines differ only there is formatted.
left=$(printf '%s\n' "$out" | /usr/bin/python3 -c '
import re, sys

def norm(lines):
    return [re.sub(r"[ \t]+(/\*.*\*/)[ \t]*$", r" \1", l) for l in lines]

out, hunk, head, fname = [], [], None, None
def flush():
    minus = [l[1:] for l in hunk if l.startswith("-")]
    plus = [l[1:] for l in hunk if l.startswith("+")]
    if hunk and norm(minus) != norm(plus):
        out.append(fname + "\n" + head + "\n" + "\n".join(hunk))
for line in sys.stdin.read().splitlines():
    if line.startswith("diff --git"):
        flush(); hunk, head = [], None
        fname = line
    elif line.startswith("@@"):
        flush(); hunk, head = [], line
    elif head is not None:
        hunk.append(line)
flush()
print("\n".join(out))
')
if [ -z "$left" ]; then
	echo "check-format: C lines changed since ${base:0:12} are formatted" \
		"(but for tabs before trailing comments)"
	exit 0
fi
echo "$left"
echo "check-format: the lines above are not as .clang-format writes them;" \
	"run: git clang-format ${base:0:12}" >&2
exit 1
