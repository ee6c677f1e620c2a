#!/usr/bin/env bash
# Installs the pinned development tools chatctl's tests and CI need, into the
# repository's ignored build area (.chatctl/tools). Safe to run repeatedly: a
# tool already at its pinned version is left alone.
#
#   ministack 1.5.33            the local AWS emulator the tests deploy into
#   cfn-lint 1.58.0, checkov 3.3.30   template linters (own venv: checkov pins a
#                               boto3 that ministack's requirements reject)
#   ziglang 0.17.1, cargo-zigbuild 0.24.1, the x86_64 and aarch64 Linux targets:
#                               `chatctl build` links handlers against glibc 2.17
#   chromium (Debian), playwright-core 1.65.1 (npm): the browser test
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="${CHATCTL_TOOLS_DIR:-$root/.chatctl/tools}"
python="${PYTHON:-python3}"

MINISTACK_VERSION=1.5.33
CFN_LINT_VERSION=1.58.0
CHECKOV_VERSION=3.3.30
ZIG_VERSION=0.17.1
ZIGBUILD_VERSION=0.24.1

# venv NAME REQUIREMENT... : create $tools/NAME and install the pinned packages
# unless a marker file says this exact set is already there.
venv() {
  local name="$1"; shift
  local dir="$tools/$name"
  local want="$*"
  if [[ -f "$dir/.pinned" && "$(cat "$dir/.pinned")" == "$want" ]]; then
    echo "setup: $name already has $want"
    return
  fi
  echo "setup: installing $want into $dir"
  rm -rf "$dir"
  "$python" -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check "$@"
  echo "$want" > "$dir/.pinned"
}

mode="${1:-all}" # all | --emulator-only | --no-lint (the quick start's set)
mkdir -p "$tools"
venv ministack "ministack==$MINISTACK_VERSION"
if [[ "$mode" != "--emulator-only" ]]; then
  if [[ "$mode" != "--no-lint" ]]; then
    venv lint "cfn-lint==$CFN_LINT_VERSION" "checkov==$CHECKOV_VERSION"
  fi
  # Zig links the handlers against an old glibc; chatctl finds it here
  # (python-zig, which cargo-zigbuild runs) or on PATH.
  venv zig "ziglang==$ZIG_VERSION"
  if [[ "$(cargo-zigbuild --version 2>/dev/null)" != "cargo-zigbuild $ZIGBUILD_VERSION" ]]; then
    echo "setup: installing cargo-zigbuild $ZIGBUILD_VERSION"
    cargo install --quiet --locked cargo-zigbuild --version "$ZIGBUILD_VERSION"
  else
    echo "setup: cargo-zigbuild $ZIGBUILD_VERSION already installed"
  fi
  rustup target add x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu
fi
if [[ "$mode" == "all" ]]; then
  # The browser end-to-end test (tests/browser.rs): Debian's Chromium, driven
  # by playwright-core (pinned in tests/browser/package-lock.json).
  if ! command -v chromium >/dev/null; then
    echo "setup: installing chromium (Debian package)"
    sudo=""; [[ "$(id -u)" == 0 ]] || sudo="sudo"
    $sudo apt-get install -y -q chromium >/dev/null ||
      { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q chromium >/dev/null; }
  fi
  browser="$root/tests/browser"
  want="$(node -p 'require(process.argv[1]).dependencies["playwright-core"]' "$browser/package.json")"
  have="$(node -p 'require(process.argv[1]).version' "$browser/node_modules/playwright-core/package.json" 2>/dev/null || true)"
  if [[ "$have" != "$want" ]]; then
    echo "setup: installing playwright-core $want for the browser test"
    (cd "$browser" && npm ci --silent --no-audit --no-fund)
  else
    echo "setup: playwright-core $want already installed"
  fi
fi
echo "setup: done (tools in $tools)"
