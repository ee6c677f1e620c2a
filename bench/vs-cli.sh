#!/usr/bin/env bash
# chatctl against an AWS CLI script doing the same work (bench/cli-deploy.sh),
# on one local emulator: first deployment, nothing changed, one handler
# changed, one site file changed and a full upload of a 1,000-file site,
# deletion. Medians of alternating rounds (ROUNDS, default 5), wall time and
# peak memory from /usr/bin/time -v, then chatctl's start-up times.
#
#   bench/vs-cli.sh
#
# Goals (issue 10): nothing changed at least 5x faster than the script; the
# full site upload at least 3x faster than `aws s3 sync`; no row slower;
# chatctl's peak memory under 100 MB; `--help` under 20 ms, `template` under
# 100 ms. chatctl is the release build, as users install it.
#
# BENCH_QUICK=1 (CI: tests/bench_scripts.rs): one round, the fixture
# handlers and a 50-file site: it checks that the benchmark works, not its
# numbers.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
AWSCLI_VERSION=1.46.3

bash scripts/setup.sh --no-lint >/dev/null
tools="$root/.chatctl/tools"
# Made again when it cannot start (a venv moved from where it was made).
if [[ "$(cat "$tools/awscli/.pinned" 2>/dev/null)" != "awscli==$AWSCLI_VERSION" ]] ||
  ! "$tools/awscli/bin/aws" --version >/dev/null 2>&1; then
  rm -rf "$tools/awscli"
  python3 -m venv "$tools/awscli"
  "$tools/awscli/bin/pip" install --quiet --disable-pip-version-check "awscli==$AWSCLI_VERSION"
  echo "awscli==$AWSCLI_VERSION" >"$tools/awscli/.pinned"
fi
command -v /usr/bin/time >/dev/null || { echo "bench: needs /usr/bin/time (Debian: apt-get install time)" >&2; exit 1; }
# CHATCTL_BIN names a chatctl already built (the tests pass their debug one).
chatctl="${CHATCTL_BIN:-}"
if [[ -z "$chatctl" ]]; then
  cargo build --quiet --release --bin chatctl
  target="$(cargo metadata --no-deps --format-version 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
  chatctl="$target/release/chatctl"
fi
python3 bench/vs_cli.py "$chatctl" "$tools/awscli/bin/aws"
