# Shared by the benchmarks whose driver is an ignored test (bench/fanout.sh,
# bench/flood.sh, bench/push.sh): `run_bench_test BINARY` installs the pinned tools, runs
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

# Shared by the benchmarks that deploy a project of their own
# (bench/update.sh, bench/dev.sh): `bench_project [EXTRA_CONFIG]` starts a
# private emulator (killed on exit), makes "$work/project" with a copy of
# the handlers (the fixture handlers with BENCH_QUICK=1) and a site of
# "$site_files" files, and exports what chatctl needs to reach it. Sets
# work, target, chatctl and site_files. Source it after `cd "$root"`.
bench_project() {
  bash scripts/setup.sh >/dev/null
  target="$(cargo metadata --no-deps --format-version 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
  # CHATCTL_BIN names a chatctl already built (the tests pass theirs).
  chatctl="${CHATCTL_BIN:-}"
  if [[ -z "$chatctl" ]]; then
    cargo build --quiet --bin chatctl
    chatctl="$target/debug/chatctl"
  fi
  work="$(mktemp -d)"
  local port endpoint
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  endpoint="http://127.0.0.1:$port"
  GATEWAY_PORT=$port BIND_HOST=127.0.0.1 AWS_ENDPOINT_URL=$endpoint TMPDIR="$work" \
    setsid "$root/.chatctl/tools/ministack/bin/ministack" >"$work/ministack.log" 2>&1 </dev/null &
  bench_emulator=$!
  # The emulator leads its own process group, with a process per warm function.
  trap 'kill -- -"$bench_emulator" 2>/dev/null || kill "$bench_emulator" 2>/dev/null || true; rm -rf "$work"' EXIT
  for _ in $(seq 1 100); do curl -fs "$endpoint/_ministack/health" >/dev/null && break; sleep 0.1; done

  local quick="${BENCH_QUICK:-0}" handlers_src="handlers"
  site_files=1000
  if [[ "$quick" == 1 ]]; then
    site_files=50
    handlers_src="tests/fixtures/handlers"
  fi
  mkdir -p "$work/project/site/assets"
  python3 bench/workspace.py "$handlers_src" "$work/project"
  cp -r static/. "$work/project/site/"
  for i in $(seq 1 $((site_files - 1))); do printf 'asset %d\n' "$i" >"$work/project/site/assets/file-$i.txt"; done
  printf 'app: bench\nsite_dir: site\nhandlers_dir: handlers\n%s' "${1:-}" >"$work/project/chatctl.yaml"

  export AWS_ENDPOINT_URL=$endpoint AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 CI=true
  export CARGO_TARGET_DIR="$target/bench-workspace$([[ "$quick" == 1 ]] && echo -quick)"
  export PATH="$root/.chatctl/tools/zig/bin:$PATH" # the copied workspace has no tools of its own
}
