#!/usr/bin/env bash
# Start time: from starting the release server to its first 200 on /healthz, on an SQLite
# database whose migrations are already applied (issue 15). Prints the median, p90 and worst of
# 20 starts. Usage: scripts/bench-start.sh  (BENCH_SERVER=path measures another binary)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
server_bin="${BENCH_SERVER:-$ROOT/target/release/latchkey}"
if [ -z "${BENCH_SERVER:-}" ]; then
  . scripts/setup-tools.sh >/dev/null
  echo "==> building the release server"
  cargo leptos build --release --split --precompress >/dev/null 2>&1 || cargo leptos build --release --split --precompress
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export LATCHKEY_DATABASE_URL="sqlite://$work/latchkey.db" LATCHKEY_SECRET_KEY_FILE="$work/secret.key" LATCHKEY_LOG=warn
"$server_bin" migrate >/dev/null 2>&1
python3 - "$server_bin" <<'PY'
import os, socket, statistics, subprocess, sys, time

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def healthy(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as c:
            c.sendall(b"GET /healthz HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
            return c.recv(16).startswith(b"HTTP/1.1 200")
    except OSError:
        return False

times = []
for run in range(21):
    port = free_port()
    env = dict(os.environ, LATCHKEY_ADDR=f"127.0.0.1:{port}")
    started = time.perf_counter()
    server = subprocess.Popen([sys.argv[1], "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not healthy(port):
        if server.poll() is not None or time.perf_counter() - started > 10:
            sys.exit("the server did not start")
        time.sleep(0.0005)
    elapsed = (time.perf_counter() - started) * 1000
    server.terminate()
    server.wait()
    if run > 0:  # the first start warms the page cache
        times.append(elapsed)
times.sort()
print(f"start to first 200 on /healthz, SQLite, migrated, {len(times)} starts:")
print(f"  median {statistics.median(times):.1f} ms   p90 {times[int(len(times) * 0.9) - 1]:.1f} ms   worst {times[-1]:.1f} ms   (target: 100 ms)")
PY
