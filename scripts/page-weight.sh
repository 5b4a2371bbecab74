#!/usr/bin/env bash
# Prints what a browser downloads for Latchkey's pages: the brotli size of the WebAssembly,
# JavaScript and CSS (as served, precompressed at build time), and of the sign-in page's HTML,
# fetched from a release server on loopback. Figures, not a pass/fail test.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. scripts/setup-tools.sh
cargo leptos build --release --precompress >/dev/null 2>&1 || cargo leptos build --release --precompress

total=0
printf '%-44s %10s %10s %10s\n' "asset" "raw" "gzip" "brotli"
for ext in wasm js css; do
  for file in target/site/pkg/*."$ext"; do
    raw=$(stat -c %s "$file"); gz=$(stat -c %s "$file.gz"); br=$(stat -c %s "$file.br")
    total=$((total + br))
    printf '%-44s %10d %10d %10d\n' "$(basename "$file")" "$raw" "$gz" "$br"
  done
done
printf '%-44s %10s %10s %10d  (target: 153600)\n' "WASM + JS + CSS" "" "" "$total"

dir="$(mktemp -d)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
LATCHKEY_DATABASE_URL="sqlite://$dir/l.db" LATCHKEY_SECRET_KEY_FILE="$dir/secret.key" LATCHKEY_ADDR="127.0.0.1:$port" \
  LEPTOS_SITE_ROOT="$ROOT/target/site" LATCHKEY_LOG=warn target/release/latchkey >"$dir/log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
html_br=$(curl -s -H 'Accept-Encoding: br' "http://127.0.0.1:$port/signin" | wc -c)
wasm=$(basename target/site/pkg/*.wasm)
served=$(curl -s -D - -o /dev/null -H 'Accept-Encoding: br' "http://127.0.0.1:$port/pkg/$wasm" | tr -d '\r' | grep -iE '^(content-encoding|content-length|cache-control):' | tr '\n' ' ')
printf '%-44s %10s %10s %10d\n' "sign-in page HTML" "" "" "$html_br"
echo "served /pkg/$wasm with: $served"
