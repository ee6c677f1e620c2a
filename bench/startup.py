#!/usr/bin/env python3
"""Handler start-up benchmark (issue 4): time from starting each built
`bootstrap` to its first `GET /2018-06-01/runtime/invocation/next`, the moment
a Lambda function is ready for its first event. A local Runtime API stand-in
on 127.0.0.1 records that request; each binary is started RUNS times and the
median is reported. Goal: under 50 ms. With BENCH_QUICK=1 (CI) each binary
starts twice: it checks that the script works, not the numbers.

    bench/startup.py [MANIFEST]   (default: the last `chatctl build` x86_64 manifest)
"""
import http.server
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile

RUNS = 2 if os.environ.get("BENCH_QUICK") == "1" else 10
WAIT_SECONDS = 5


class RuntimeApi(http.server.BaseHTTPRequestHandler):
    """Records when `next` is first asked for; never hands out an event."""

    first_next = None
    seen = threading.Event()

    def do_GET(self):
        if "/runtime/invocation/next" in self.path and not RuntimeApi.seen.is_set():
            RuntimeApi.first_next = time.perf_counter()
            RuntimeApi.seen.set()
        self.send_response(503)  # the binary retries or exits; either is fine here
        self.end_headers()

    def log_message(self, *args):
        pass


def default_manifest():
    target = json.loads(subprocess.check_output(["cargo", "metadata", "--no-deps", "--format-version", "1"]))["target_directory"]
    return os.path.join(target, "chatctl", "x86_64", "manifest.json")


def measure(binary):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}",
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_LOG_GROUP_NAME": "bench",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "WEBSOCKET_MANAGEMENT_ENDPOINT": "https://abc.execute-api.us-east-1.amazonaws.com/dev",
    }
    RuntimeApi.first_next = None
    RuntimeApi.seen.clear()
    start = time.perf_counter()
    process = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not RuntimeApi.seen.wait(WAIT_SECONDS):
            raise RuntimeError(f"{binary} never asked for an event")
        return (RuntimeApi.first_next - start) * 1000
    finally:
        process.kill()
        process.wait()
        server.shutdown()
        server.server_close()


def main():
    manifest_path = sys.argv[1] if len(sys.argv) > 1 else default_manifest()
    manifest = json.load(open(manifest_path))
    print(f"## Handler start-up to the first `next` request ({os.cpu_count()} cores, {time.strftime('%Y-%m-%d')})\n")
    print("| handler | median ms | min ms | max ms | under 50 ms |")
    print("| --- | ---: | ---: | ---: | --- |")
    with tempfile.TemporaryDirectory() as work:
        for name, handler in sorted(manifest["handlers"].items()):
            binary = os.path.join(work, name)
            with zipfile.ZipFile(handler["zip"]) as archive, open(binary, "wb") as out:
                out.write(archive.read("bootstrap"))
            os.chmod(binary, 0o755)
            times = [measure(binary) for _ in range(RUNS)]
            median = statistics.median(times)
            print(f"| {name} | {median:.1f} | {min(times):.1f} | {max(times):.1f} | {'yes' if median < 50 else 'NO'} |")


if __name__ == "__main__":
    main()
