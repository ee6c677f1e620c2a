#!/usr/bin/env bash
# Benchmark: a flood next to a quiet room, on the emulator with the real
# handlers (tests/bench_flood.rs). Room A holds 1,000 idle connections; one
# client floods it at its limit from three sockets and over HTTP for 8 s
# while two people chat in room B. Prints a Markdown table: room B's
# send-to-receipt medians quiet and during the flood (goal: at most 2x), the
# flood's accepted and refused requests, idle connections that missed an
# accepted message or got one twice (goal: 0), dead-lettered fan-out work
# (goal: 0).
#
# BENCH_QUICK=1 (CI: tests/bench_scripts.rs): 20 idle connections.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source bench/lib.sh
run_bench_test bench_flood
sed -n '/^## Flood/p;/^| /p' "$bench_log"
