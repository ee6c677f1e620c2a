#!/usr/bin/env python3
"""chatctl against the AWS CLI script a user would write instead
(bench/cli-deploy.sh), side by side on one emulator: the same template, the
same zips, the same 1,000-file site. Run it with bench/vs-cli.sh, which
installs the tools and builds chatctl first.

Each round runs both tools, alternating which goes first, through every row:
first deployment, repeat with nothing changed, one handler changed, one site
file changed, a full site upload, deletion. Every command runs under
/usr/bin/time -v for wall time and peak memory. Prints a Markdown table of
medians and the ratio chatctl / CLI script (below 1 means chatctl is faster).

Cargo's compile time is not in any row: the zips are built before the
rounds (and the one changed handler is rebuilt before each update-code,
untimed); chatctl's own `cargo build` no-op check is in its rows, since
every chatctl command that deploys code runs it.

BENCH_QUICK=1 (CI: tests/bench_scripts.rs) runs one round with the fixture
handlers (tests/fixtures/handlers) and a 50-file site: it checks that the
benchmark works, not its numbers.
"""
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
import workspace  # noqa: E402 (bench/workspace.py, beside this file)

QUICK = os.environ.get("BENCH_QUICK") == "1"
ROUNDS = 1 if QUICK else int(os.environ.get("ROUNDS", "5"))
SITE_FILES = 50 if QUICK else 1000
HANDLERS = "tests/fixtures/handlers" if QUICK else "handlers"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(argv, env, cwd=None):
    """(wall seconds, peak RSS MiB) of one command; fails loudly on a non-zero exit."""
    start = time.monotonic()
    run = subprocess.run(["/usr/bin/time", "-v", *argv], env=env, cwd=cwd,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - start
    if run.returncode != 0:
        sys.exit(f"failed ({run.returncode}): {' '.join(argv)}\n{run.stdout}\n{run.stderr}")
    peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr).group(1))
    return wall, peak_kb / 1024


def main():
    chatctl, aws = sys.argv[1], sys.argv[2]
    work = tempfile.mkdtemp(prefix="chatctl-vs-cli-")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    emulator_env = dict(os.environ, GATEWAY_PORT=str(port), BIND_HOST="127.0.0.1",
                        AWS_ENDPOINT_URL=endpoint, TMPDIR=work)
    emulator = subprocess.Popen([os.path.join(ROOT, ".chatctl/tools/ministack/bin/ministack")],
                                env=emulator_env, stdout=open(os.path.join(work, "ministack.log"), "w"),
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{endpoint}/_ministack/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        rows = run_rounds(chatctl, aws, work, endpoint)
    finally:
        # The emulator leads its own process group, with a process per warm function.
        os.killpg(emulator.pid, signal.SIGKILL)
        emulator.wait()
        shutil.rmtree(work, ignore_errors=True)
    report(rows)
    startup(chatctl)


def startup(chatctl):
    """chatctl's own start-up: `--help`, and `template` (config, template, no AWS)."""
    config = os.path.join(ROOT, "examples", "chatctl.yaml")
    print("\n| chatctl start-up (median of 20) | ms | goal |")
    print("| --- | ---: | --- |")
    for label, argv, goal in [("chatctl --help", [chatctl, "--help"], "under 20 ms"),
                              ("chatctl template", [chatctl, "--config", config, "template"], "under 100 ms")]:
        times = []
        for _ in range(20):
            start = time.monotonic()
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
            times.append((time.monotonic() - start) * 1000)
        print(f"| `{label.replace('chatctl ', 'chatctl ')}` | {statistics.median(times):.1f} | {goal} |")


def project(work):
    """A handler workspace copy (one handler changes each round) and a SITE_FILES-file site."""
    root = os.path.join(work, "project")
    workspace.make(HANDLERS, root)
    site = os.path.join(root, "site")
    shutil.copytree(os.path.join(ROOT, "static"), site)
    os.makedirs(os.path.join(site, "assets"))
    present = sum(len(files) for _, _, files in os.walk(site))
    for i in range(SITE_FILES - present):
        with open(os.path.join(site, "assets", f"file-{i}.txt"), "w") as f:
            f.write(f"asset {i}\n")
    with open(os.path.join(root, "chatctl.yaml"), "w") as f:
        f.write("app: bench\nsite_dir: site\nhandlers_dir: handlers\n")
    return root


def run_rounds(chatctl, aws, work, endpoint):
    root = project(work)
    config = os.path.join(root, "chatctl.yaml")
    target = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")),
                          "bench-workspace-quick" if QUICK else "bench-workspace")
    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="test",
               AWS_SECRET_ACCESS_KEY="test", AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1",
               CI="true", CARGO_TARGET_DIR=target,
               PATH=os.path.join(ROOT, ".chatctl/tools/zig/bin") + os.pathsep + os.environ["PATH"])
    chat = [chatctl, "-q", "--config", config]
    manifest = os.path.join(target, "chatctl", "x86_64", "manifest.json")
    template = os.path.join(work, "template.json")

    # The zips both tools ship, built once (compile time reported apart).
    start = time.monotonic()
    subprocess.run([*chat, "build"], env=env, check=True, stdout=subprocess.DEVNULL)
    compile_seconds = time.monotonic() - start
    subprocess.run([*chat, "template", "--format", "json", "-o", template], env=env, check=True)

    cli_env = dict(env, AWS=aws, STACK="cli-dev", TEMPLATE=template, MANIFEST=manifest,
                   SITE=os.path.join(root, "site"), WORK=work)
    cli = ["bash", os.path.join(ROOT, "bench", "cli-deploy.sh")]
    site_buckets = {}

    def empty_site(tool):
        # Untimed: the full-upload row starts from an empty bucket.
        subprocess.run([aws, "--region", "us-east-1", "s3", "rm", f"s3://{site_buckets[tool]}",
                        "--recursive", "--only-show-errors"], env=env, check=True)

    def bucket_of(tool):
        stack = "bench-dev" if tool == "chatctl" else "cli-dev"
        out = subprocess.run([aws, "--region", "us-east-1", "cloudformation", "describe-stacks",
                              "--stack-name", stack, "--output", "json"],
                             env=env, check=True, capture_output=True, text=True).stdout
        outputs = {o["OutputKey"]: o["OutputValue"] for o in json.loads(out)["Stacks"][0]["Outputs"]}
        return outputs["SiteBucketName"]

    steps = {
        "first deployment": {"chatctl": [*chat, "launch"], "cli": [*cli, "deploy"]},
        "repeat, nothing changed": {"chatctl": [*chat, "launch"], "cli": [*cli, "deploy"]},
        "one handler changed": {"chatctl": [*chat, "update-code", "connect"],
                                "cli": [*cli, "update-code", "connect",
                                        os.path.join(target, "chatctl/x86_64/connect/bootstrap.zip")]},
        f"one of {SITE_FILES:,} site files changed": {"chatctl": [*chat, "update-site"], "cli": [*cli, "sync-site"]},
        f"full upload of the {SITE_FILES:,}-file site": {"chatctl": [*chat, "update-site"], "cli": [*cli, "sync-site"]},
        "deletion": {"chatctl": [*chat, "--yes", "delete"], "cli": [*cli, "delete"]},
    }
    rows = {name: {"chatctl": [], "cli": []} for name in steps}
    main_rs = os.path.join(root, "handlers", "connect", "src", "main.rs")
    for round_ in range(ROUNDS):
        order = ["chatctl", "cli"] if round_ % 2 == 0 else ["cli", "chatctl"]
        for name, commands in steps.items():
            if name == "one handler changed":
                # A real code change, compiled before either tool runs (untimed).
                workspace.change(main_rs, f"benchmark round {round_}")
                subprocess.run([*chat, "build", "connect"], env=env, check=True, stdout=subprocess.DEVNULL)
            if name == f"one of {SITE_FILES:,} site files changed":
                with open(os.path.join(root, "site", "assets", "file-1.txt"), "a") as f:
                    f.write(f"round {round_}\n")
            if name == f"full upload of the {SITE_FILES:,}-file site":
                for tool in order:
                    site_buckets[tool] = bucket_of(tool)
                    empty_site(tool)
            for tool in order:
                rows[name][tool].append(timed(commands[tool], cli_env if tool == "cli" else env))
        print(f"round {round_ + 1} of {ROUNDS} done", file=sys.stderr)
    return {"rows": rows, "compile_seconds": compile_seconds}


def report(result):
    rows = result["rows"]
    print(f"## chatctl vs an AWS CLI script on the emulator ({ROUNDS} alternating rounds, medians)\n")
    print("| row | chatctl s | CLI script s | chatctl / CLI | chatctl peak MiB | CLI peak MiB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, runs in rows.items():
        ours = statistics.median(w for w, _ in runs["chatctl"])
        theirs = statistics.median(w for w, _ in runs["cli"])
        our_peak = max(m for _, m in runs["chatctl"])
        their_peak = max(m for _, m in runs["cli"])
        print(f"| {name} | {ours:.2f} | {theirs:.2f} | {ours / theirs:.2f} | {our_peak:.0f} | {their_peak:.0f} |")
    print(f"\nBuilding the zips both tools ship (cargo, before the rounds): {result['compile_seconds']:.1f} s.")


if __name__ == "__main__":
    main()
