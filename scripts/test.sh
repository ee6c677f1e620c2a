#!/usr/bin/env bash
# The project's one test command (README, "Testing"): installs the pinned
# tools the tests need if they are missing, then runs every test.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
cargo test --workspace --locked "$@"
