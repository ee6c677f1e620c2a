#!/usr/bin/env bash
# Benchmark of notifications on the emulator: the time from a message to
# its Web Push requests at a push service on 127.0.0.1, for 1, 10 and 100
# subscribers away from the room (the fan-out, the notify queue and the
# notify function, all real; the push service checks every signature and
# decrypts every payload). Prints a Markdown table and the first message's
# time apart (the notify function's cold start).
#
# The driver is an ignored test (tests/bench_push.rs), like bench/fanout.sh's.
# BENCH_QUICK=1 (CI: tests/bench_scripts.rs): two subscribers, one round.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source bench/lib.sh
run_bench_test bench_push
# The table only, without cargo's and the test harness's lines.
sed -n '/^## Push/,/^$/p;/^| /p;/^first message/p' "$bench_log" | awk '!seen[$0]++'
