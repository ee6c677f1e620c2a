#!/usr/bin/env bash
# Benchmark of the inner loop on the emulator, after a launch:
#   update-code with nothing changed, with one handler changed, and
#   update-site with one file changed in a 1,000-file site.
# chatctl's own time is reported apart from cargo's (build_ms in its JSON).
#
# Goals (issue 7): nothing changed under 1 s in all; one site file under 1 s;
# chatctl's part of a one-handler update under 1 s plus the emulator's update.
#
# BENCH_QUICK=1 (CI: tests/bench_scripts.rs) deploys the dependency-free
# fixture handlers (tests/fixtures/handlers) and a 50-file site: it checks
# that the script works, not the numbers.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source bench/lib.sh
bench_project
run() { "$chatctl" -q --config "$work/project/chatctl.yaml" --output json "$@"; }
millis() { local s e; s=$(date +%s%N); "$@" >"$work/last.json"; e=$(date +%s%N); echo $(((e - s) / 1000000)); }
field() { python3 -c "import json,sys; print(json.load(open('$work/last.json'))['$1'])"; }

run launch >/dev/null

nothing=$(millis run update-code)
nothing_build=$(field build_ms)

python3 bench/workspace.py --change "$work/project/handlers/connect/src/main.rs" "changed for the benchmark"
one=$(millis run update-code connect)
one_build=$(field build_ms)
one_deploy=$(field deploy_ms)

printf 'changed\n' >>"$work/project/site/assets/file-$((site_files / 2)).txt"
site=$(millis run update-site)
site_again=$(millis run update-site)

echo "## chatctl update-code / update-site on the emulator ($(nproc) cores, $(date -u +%Y-%m-%d))"
echo
echo "| measurement | whole command | cargo + packaging | chatctl's own part | goal |"
echo "| --- | ---: | ---: | ---: | --- |"
echo "| update-code, nothing changed | ${nothing} ms | ${nothing_build} ms | $((nothing - nothing_build)) ms | whole under 1000 ms |"
echo "| update-code, one handler changed | ${one} ms | ${one_build} ms | $((one - one_build)) ms (AWS part ${one_deploy} ms) | chatctl under 1000 ms + the emulator's update |"
echo "| update-site, 1 of $site_files files changed | ${site} ms | | ${site} ms | under 1000 ms |"
echo "| update-site, nothing changed | ${site_again} ms | | ${site_again} ms | |"
