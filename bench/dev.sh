#!/usr/bin/env bash
# Benchmark of `chatctl dev` on the emulator, after a launch: the time from
# saving a file to the change being live, as dev reports it (the function's
# update finished, or the site file uploaded and its path invalidated).
#   a one-line change to one handler (the stage built with lambda-dev)
#   a change to one file of a 1,000-file site
#
# Goals (issue 19): a one-line handler change live in under 5 s; a site
# file change live in under 1 s.
#
# BENCH_QUICK=1 (CI: tests/bench_scripts.rs) deploys the dependency-free
# fixture handlers and a 50-file site, one round: it checks that the script
# works, not the numbers.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source bench/lib.sh
bench_project $'build:\n  stage_profiles:\n    dev: lambda-dev\n'
"$chatctl" -q --config "$work/project/chatctl.yaml" --output json launch >/dev/null
rounds=5
[[ "${BENCH_QUICK:-0}" == 1 ]] && rounds=1
python3 bench/dev_rounds.py "$chatctl" "$work/project" "$rounds" "$site_files"
