#!/usr/bin/env bash
# Benchmark of `chatctl build`: per handler, binary and zip size; for all
# handlers together, a cold build (empty target directory, every dependency
# compiled) and a rebuild with nothing changed. Prints a Markdown table.
#
#   bench/build.sh [x86_64|arm64]
#
# Goals (issue 5): every zip under 3 MB; a no-change rebuild under 2 s.
#
# BENCH_QUICK=1 (CI: tests/bench_scripts.rs) skips the cold build and reads
# the target directory the handlers were already built in: it checks that
# the script works, not the numbers.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
arch="${1:-x86_64}"

bash scripts/setup.sh >/dev/null
# chatctl's own part is small next to cargo's: the debug binary will do
# (CHATCTL_BIN names one already built, as the tests do).
chatctl="${CHATCTL_BIN:-}"
if [[ -z "$chatctl" ]]; then
  cargo build --quiet --bin chatctl
  chatctl="$(cargo metadata --no-deps --format-version 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug/chatctl"
fi

quick="${BENCH_QUICK:-0}"
if [[ "$quick" == 1 ]]; then
  cold_dir="$(cargo metadata --no-deps --format-version 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
else
  cold_dir="$(mktemp -d)"
  trap 'rm -rf "$cold_dir"' EXIT
fi
export CARGO_TARGET_DIR="$cold_dir"

seconds() { local start=$SECONDS; "$@" >/dev/null; echo $((SECONDS - start)); }
millis() {
  local start end
  start=$(date +%s%N); "$@" >/dev/null 2>&1; end=$(date +%s%N)
  echo $(((end - start) / 1000000))
}

if [[ "$quick" == 1 ]]; then
  "$chatctl" -q --config examples/chatctl.yaml build --arch "$arch" >/dev/null
  cold="not measured (quick mode):"
else
  cold=$(seconds "$chatctl" -q --config examples/chatctl.yaml build --arch "$arch")
fi
noop=$(millis "$chatctl" -q --config examples/chatctl.yaml build --arch "$arch")
manifest="$cold_dir/chatctl/$arch/manifest.json"

echo "## chatctl build ($arch, $(nproc) cores, $(date -u +%Y-%m-%d))"
echo
echo "| handler | binary bytes | zip bytes | zip under 3 MB |"
echo "| --- | ---: | ---: | --- |"
python3 - "$manifest" <<'PY'
import json, sys
manifest = json.load(open(sys.argv[1]))
for name, h in sorted(manifest["handlers"].items()):
    ok = "yes" if h["size"] < 3_000_000 else "NO"
    print(f"| {name} | {h['binary_size']:,} | {h['size']:,} | {ok} |")
PY
echo
echo "| measurement | value | goal |"
echo "| --- | ---: | --- |"
echo "| cold build of all handlers (cargo + chatctl) | ${cold} s | |"
echo "| rebuild with nothing changed | ${noop} ms | under 2000 ms |"
