#!/usr/bin/env bash
# The project's one test command (README, "Testing"): installs the pinned
# tools the tests need if they are missing, builds the tests and the real
# handlers once, runs every test with cargo-nextest (side by side, each in
# its own process), and ends with the ten slowest tests and one line of
# totals. Arguments go to `cargo nextest run` (a filter, for example).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
target="$CARGO_TARGET_DIR"
# Where setup.sh builds cargo-nextest when the machine has no pinned one.
export PATH="${CHATCTL_TOOLS_DIR:-$root/.chatctl/tools}/nextest/bin:$PATH"

stages=()
stage_start=$SECONDS
stage() {
  local now=$SECONDS
  if [[ -n "${stage_name:-}" ]]; then stages+=("$stage_name|$((now - stage_start))"); fi
  stage_name="$1"
  stage_start=$now
  [[ -n "$1" ]] && printf '\n== test.sh: %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"
  return 0
}

stage "pinned tools"
bash scripts/setup.sh

stage "build chatctl and the test binaries"
cargo nextest run --workspace --locked --no-run --cargo-quiet

# The real handlers, compiled once for x86_64 with the lambda profile into
# the target directory the tests run from: every test that deploys them
# builds again, which cargo finds fresh. Only the one arm64 build test
# (tests/build.rs) compiles for arm64.
stage "build the real handlers once (x86_64, lambda profile)"
CI=true "$target/debug/chatctl" --config examples/chatctl.yaml build --arch x86_64
binaries="$target/x86_64-unknown-linux-gnu/lambda"
fingerprint() { (cd "$binaries" && stat -c '%n %Y %s' chat-* 2>/dev/null | grep -v '\.d ' | sort); }
before="$(fingerprint)"

# nextest writes its JUnit report under the workspace's target/ (not always
# CARGO_TARGET_DIR): clear both places, read whichever this run wrote.
reports=("$root/target/nextest/default/junit.xml" "$target/nextest/default/junit.xml")
rm -f "${reports[@]}"

stage "run the tests"
status=0
cargo nextest run --workspace --locked --cargo-quiet "$@" || status=$?

stage ""
if [[ "$(fingerprint)" != "$before" ]]; then
  echo "test.sh: a test rebuilt the real x86_64 handlers; tests must change only fixture handlers (tests/support/project.rs)"
  status=1
else
  echo "test.sh: the real x86_64 handlers were compiled once, before the tests, and not again"
fi

junit=""
for report in "${reports[@]}"; do [[ -f "$report" ]] && junit="$report" && break; done
printf '\n| stage | seconds |\n| --- | ---: |\n'
for entry in "${stages[@]}"; do printf '| %s | %s |\n' "${entry%|*}" "${entry##*|}"; done
totals="0 passed, 0 failed"
if [[ -n "$junit" ]]; then
  totals_file="$(mktemp)"
  python3 scripts/test_times.py "$junit" "$totals_file"
  totals="$(cat "$totals_file")"
  rm -f "$totals_file"
fi
echo
echo "tests: $totals"
exit "$status"
