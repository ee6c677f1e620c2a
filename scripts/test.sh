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

# Two workspaces, one target directory: chatctl's, and the handler crates'
# own (handlers/Cargo.toml, what `chatctl init` writes into a new project),
# whose unit tests run first (settings in handlers/.config/nextest.toml).
handler_tests=(--manifest-path handlers/Cargo.toml)

stage "build chatctl, the handler crates and the test binaries"
cargo nextest run --workspace --locked --no-run --cargo-quiet
cargo nextest run "${handler_tests[@]}" --workspace --locked --no-run --cargo-quiet

# The real handlers, compiled once for x86_64 with the lambda profile into
# the target directory the tests run from: every test that deploys them
# builds again, which cargo finds fresh. Only the one arm64 build test
# (tests/build.rs) compiles for arm64.
stage "build the real handlers once (x86_64, lambda profile)"
CI=true "$target/debug/chatctl" --config examples/chatctl.yaml build --arch x86_64
# The handlers' dependencies once more under `lambda-dev`, the profile a
# project made by `chatctl init` builds its dev stage with: tests/init.rs
# builds such a project's own crates in this target directory, and would
# otherwise compile every dependency again while other tests run.
stage "build the handlers' dependencies for lambda-dev"
dev_config="$(mktemp -d)/chatctl.yaml"
printf 'app: chat\nsite_dir: %s/static\nhandlers_dir: %s/handlers\nbuild:\n  profile: lambda-dev\n' "$root" "$root" >"$dev_config"
CI=true "$target/debug/chatctl" --config "$dev_config" build --arch x86_64
rm -rf "$(dirname "$dev_config")"

binaries="$target/x86_64-unknown-linux-gnu/lambda"
fingerprint() { (cd "$binaries" && stat -c '%n %Y %s' chat-* 2>/dev/null | grep -v '\.d ' | sort); }
before="$(fingerprint)"

# nextest writes its JUnit report under the workspace's target/ (not always
# CARGO_TARGET_DIR): clear the places, keep whichever each run wrote.
reports_dir="$(mktemp -d)"
trap 'rm -rf "$reports_dir"' EXIT
keep_report() {
  local report
  for report in "$root/target/nextest/default/junit.xml" "$root/handlers/target/nextest/default/junit.xml" \
    "$target/nextest/default/junit.xml"; do
    if [[ -f "$report" ]]; then mv "$report" "$reports_dir/$1.xml"; return; fi
  done
}
keep_report stale && rm -f "$reports_dir/stale.xml"

stage "run the tests"
status=0
cargo nextest run "${handler_tests[@]}" --workspace --locked --cargo-quiet --no-tests=pass "$@" || status=$?
keep_report handlers
cargo nextest run --workspace --locked --cargo-quiet "$@" || status=$?
keep_report chatctl

stage ""
if [[ "$(fingerprint)" != "$before" ]]; then
  echo "test.sh: a test rebuilt the real x86_64 handlers; tests must change only fixture handlers (tests/support/project.rs)"
  status=1
else
  echo "test.sh: the real x86_64 handlers were compiled once, before the tests, and not again"
fi

printf '\n| stage | seconds |\n| --- | ---: |\n'
for entry in "${stages[@]}"; do printf '| %s | %s |\n' "${entry%|*}" "${entry##*|}"; done
totals="0 passed, 0 failed"
if compgen -G "$reports_dir/*.xml" >/dev/null; then
  python3 scripts/test_times.py "$reports_dir/totals" "$reports_dir"/*.xml
  totals="$(cat "$reports_dir/totals")"
fi
echo
echo "tests: $totals"
exit "$status"
