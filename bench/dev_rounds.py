#!/usr/bin/env python3
"""Drives `chatctl dev --output json` for bench/dev.sh: ROUNDS one-line
changes to the connect handler and ROUNDS changes to one site file, each
timed from the file's write to dev's event saying it is live. Prints a
Markdown table.

    bench/dev_rounds.py CHATCTL PROJECT ROUNDS SITE_FILES
"""
import json
import os
import queue
import signal
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import workspace  # noqa: E402

chatctl, project, rounds, site_files = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
EVENT_WAIT = 300

dev = subprocess.Popen(
    [chatctl, "-q", "--config", os.path.join(project, "chatctl.yaml"), "--output", "json", "dev"],
    stdout=subprocess.PIPE, text=True)
events = queue.Queue()
threading.Thread(target=lambda: [events.put(json.loads(line)) for line in dev.stdout], daemon=True).start()


def next_event(kind):
    event = events.get(timeout=EVENT_WAIT)
    if event["event"] != kind:
        sys.exit(f"bench: expected a {kind} event, got {event}")
    return event


try:
    next_event("watching")
    handler, site = [], []
    main_rs = os.path.join(project, "handlers", "connect", "src", "main.rs")
    asset = os.path.join(project, "site", "assets", f"file-{site_files // 2}.txt")
    for round_ in range(rounds):
        started = time.monotonic()
        workspace.change(main_rs, f"dev benchmark round {round_}")
        event = next_event("code")
        if event["updated"] != ["connect"]:
            sys.exit(f"bench: expected connect alone updated: {event}")
        handler.append(((time.monotonic() - started) * 1000, event["build_ms"], event["deploy_ms"]))
        started = time.monotonic()
        with open(asset, "a") as out:
            out.write(f"round {round_}\n")
        event = next_event("site")
        site.append(((time.monotonic() - started) * 1000, event["uploaded"]))
finally:
    dev.send_signal(signal.SIGINT)
    dev.wait(timeout=30)


def row(name, times, goal):
    ms = [t[0] for t in times]
    return f"| {name} | {statistics.median(ms):.0f} ms | {max(ms):.0f} ms | {goal} |"


print(f"## chatctl dev on the emulator ({os.cpu_count()} cores, {time.strftime('%Y-%m-%d', time.gmtime())}, {rounds} rounds)")
print()
print("| change, saved to live | median | slowest | goal |")
print("| --- | ---: | ---: | --- |")
print(row("one line of the connect handler (lambda-dev)", handler, "under 5000 ms"))
print(row(f"one file of a {site_files}-file site", site, "under 1000 ms"))
builds = [t[1] for t in handler]
updates = [t[2] for t in handler]
print(f"| of the handler's: cargo and packaging / the function's update | {statistics.median(builds):.0f} ms / {statistics.median(updates):.0f} ms | | |")
