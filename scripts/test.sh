#!/usr/bin/env bash
# The project's one test command (README, "Testing"): installs the pinned
# tools the tests need if they are missing, then runs every test and ends
# with one line of totals.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --locked "$@" 2>&1 | tee "$log" || status=$?

total() { grep -E '^test result:' "$log" | grep -oE "[0-9]+ $1" | awk '{n += $1} END {print n + 0}'; }
echo
echo "tests: $(total passed) passed, $(total failed) failed"
exit "$status"
