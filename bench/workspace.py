#!/usr/bin/env python3
"""The handler workspace a benchmark deploys and changes: a copy of the
repository's real handlers, or in quick mode (BENCH_QUICK=1, CI) of the
dependency-free fixture handlers (tests/fixtures/handlers), both built with
the repository's own `lambda` profile; and the one-line change the
benchmarks make to a handler.

    bench/workspace.py SRC PROJECT          copy SRC to PROJECT/handlers
    bench/workspace.py --change MAIN_RS TEXT
"""
import os
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def lambda_profiles():
    """The handler workspace's `[profile.lambda]` and `[profile.lambda-dev]` sections."""
    kept, keep = [], False
    for line in open(os.path.join(ROOT, "handlers", "Cargo.toml")).read().split("\n"):
        if line.startswith("["):
            keep = line.startswith("[profile.lambda")
        if keep:
            kept.append(line)
    return "\n".join(kept) + "\n"


def make(src, project):
    """Copies SRC's crates to PROJECT/handlers as a workspace of their own."""
    handlers = os.path.join(project, "handlers")
    shutil.copytree(os.path.join(ROOT, src), handlers, ignore=shutil.ignore_patterns("target"),
                    dirs_exist_ok=True)
    if src.startswith("tests"):
        # The fixture handlers' workspace: give it the real profiles.
        own_manifest = os.path.join(handlers, "Cargo.toml")
        text = open(own_manifest).read()
        with open(own_manifest, "w") as out:
            out.write(text[:text.index("[profile.lambda]")] + lambda_profiles())


def change(main_rs, text):
    """Adds a line that prints TEXT at the start of `main`: a real code change."""
    lines = open(main_rs).read().split("\n")
    at = next(i for i, line in enumerate(lines) if "fn main(" in line and line.rstrip().endswith("{"))
    lines.insert(at + 1, f'    eprintln!("{text} {{}}", std::process::id());')
    with open(main_rs, "w") as out:
        out.write("\n".join(lines))


if __name__ == "__main__":
    if sys.argv[1] == "--change":
        change(sys.argv[2], sys.argv[3])
    else:
        make(sys.argv[1], sys.argv[2])
