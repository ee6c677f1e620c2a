#!/usr/bin/env bash
# The quick start: from a fresh clone with Rust and Python 3 to the chat
# running on this machine, no AWS account needed.
#
#   scripts/quickstart.sh        install what is missing, start the local
#                                emulator, deploy the whole stack into it with
#                                the real handler binaries, print the chat URL
#   scripts/quickstart.sh down   stop the emulator (its data goes with it)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
config=examples/chatctl.yaml

cargo build --quiet --bin chatctl
chatctl="$(cargo metadata --no-deps --format-version 1 |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug/chatctl"

if [[ "${1:-}" == "down" ]]; then
  exec "$chatctl" --config "$config" local down
fi

# The emulator, Zig, cargo-zigbuild and the Linux targets (not the linters).
bash scripts/setup.sh --no-lint
# The emulator setup.sh installed, so `local up` does not install it again
# next to examples/chatctl.yaml.
export CHATCTL_MINISTACK="$root/.chatctl/tools/ministack/bin/ministack"
"$chatctl" --config "$config" local up
"$chatctl" --config "$config" --local launch
url="$("$chatctl" --config "$config" --local output SiteUrl)"
echo
echo "The chat is running: open $url in two browser windows."
echo "Stop it with: scripts/quickstart.sh down"
