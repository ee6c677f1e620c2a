# Shared by the benchmarks whose driver is an ignored test (bench/fanout.sh,
# bench/flood.sh): `run_bench_test BINARY` installs the pinned tools, runs
# that test binary's ignored tests with the runner and build of
# scripts/test.sh (so no test binary is rebuilt), and leaves its output in
# "$bench_log" (printed whole, and the script stopped, when it fails).
# Source it after `cd "$root"`.
run_bench_test() {
  bash scripts/setup.sh >/dev/null
  bench_log="$(mktemp)"
  trap 'rm -f "$bench_log"' EXIT
  export PATH="$root/.chatctl/tools/nextest/bin:$PATH"
  if ! cargo nextest run --workspace --locked --cargo-quiet --run-ignored only \
      -E "binary($1)" --no-capture >"$bench_log" 2>&1; then
    cat "$bench_log"
    exit 1
  fi
}
