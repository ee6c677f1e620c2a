#!/usr/bin/env bash
# Benchmark of the stream fan-out on the emulator: one message to a room of
# 1, 100, 1,000, 5,000 and 10,000 live WebSocket connections, with the real handler binaries
# deployed by `chatctl launch`. Prints a Markdown table: the fan-out
# function's duration per invocation, the time per connection, the time from
# a send to the last receipt, and the fan-out process's peak memory.
#
# Goals (issue 4): cost grows linearly with connections; memory stays flat.
# The driver is an ignored test (tests/bench_fanout.rs) so it can share the
# test support code; it builds the handlers like the tests do.
#
# BENCH_QUICK=1 (CI: tests/bench_scripts.rs): rooms of 1 and 10, one round.
# Rooms of 5,000 and 10,000 are opened for at most 4 minutes each: the
# emulator admits connections ever slower as they grow, and the table says
# where it stopped and why.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source bench/lib.sh
run_bench_test bench_fanout
# The table only, without cargo's and the test harness's lines.
sed -n '/^## Fan-out/,/^$/p;/^| /p;/^stopped short/p' "$bench_log" | awk '!seen[$0]++'
