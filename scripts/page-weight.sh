#!/usr/bin/env bash
# Prints what a browser downloads for Latchkey's pages: the brotli size of every WebAssembly
# chunk, JavaScript and CSS file (as served, precompressed at build time: the whole app), and
# of the sign-in page's HTML, fetched from a release server on loopback; what a first view of
# the sign-in and Security info pages transfers until hydrated, and the time to hydrated on a
# throttled phone (scripts/first-view.cjs); then Lighthouse mobile scores (npm lighthouse,
# pinned in end2end/, in Debian's Chromium) for both pages.
# Figures, not a pass/fail test.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. scripts/setup-tools.sh
cargo leptos build --release --split --precompress >/dev/null 2>&1 || cargo leptos build --release --split --precompress

total=0
printf '%-44s %10s %10s %10s\n' "asset" "raw" "gzip" "brotli"
for ext in wasm js css; do
  for file in target/site/pkg/*."$ext"; do
    raw=$(stat -c %s "$file"); gz=$(stat -c %s "$file.gz"); br=$(stat -c %s "$file.br")
    total=$((total + br))
    printf '%-44s %10d %10d %10d\n' "$(basename "$file")" "$raw" "$gz" "$br"
  done
done

dir="$(mktemp -d)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
LATCHKEY_DATABASE_URL="sqlite://$dir/l.db" LATCHKEY_SECRET_KEY_FILE="$dir/secret.key" LATCHKEY_ADDR="127.0.0.1:$port" \
  LEPTOS_SITE_ROOT="$ROOT/target/site" LATCHKEY_LOG=warn NO_COLOR=1 target/release/latchkey >"$dir/log" 2>&1 &
server=$!
server2=""
trap 'kill $server $server2 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
html_br=$(curl -s -H 'Accept-Encoding: br' "http://127.0.0.1:$port/signin" | wc -c)
# The page script is inline (it carries the CSP nonce): count it as JavaScript too, compressed
# on its own (within the page it compresses a little better).
inline_js_br=$(curl -s "http://127.0.0.1:$port/signin" | node -e '
  let html = ""; process.stdin.on("data", (c) => (html += c)).on("end", () => {
    const scripts = [...html.matchAll(/<script[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1]).join("");
    console.log(require("zlib").brotliCompressSync(Buffer.from(scripts)).length);
  });')
total=$((total + inline_js_br))
printf '%-44s %10s %10s %10d\n' "inline page script" "" "" "$inline_js_br"
printf '%-44s %10s %10s %10d  (whole app; target: 358400)\n' "WASM + JS + CSS + inline script" "" "" "$total"
wasm=$(ls -S target/site/pkg/*.wasm | sed -n 1p | xargs basename)
served=$(curl -s -D - -o /dev/null -H 'Accept-Encoding: br' "http://127.0.0.1:$port/pkg/$wasm" | tr -d '\r' | grep -iE '^(content-encoding|content-length|cache-control):' | tr '\n' ' ')
printf '%-44s %10s %10s %10d\n' "sign-in page HTML" "" "" "$html_br"
echo "served /pkg/$wasm with: $served"

# Lighthouse: set up the organization and sign in with plain HTTP (as a browser without
# WebAssembly would), then audit both pages as a phone on a throttled mobile link.
setup_url=""
for _ in $(seq 50); do
  setup_url=$(grep -o 'setup_url=[^ ]*' "$dir/log" | head -1 | cut -d= -f2- || true)
  [ -n "$setup_url" ] && break; sleep 0.1
done
token="${setup_url##*token=}"
base="http://127.0.0.1:$port"
curl -s -o /dev/null -H 'Accept: application/json' --data-urlencode "token=$token" \
  --data-urlencode "organization=Contoso" --data-urlencode "allow_app_passwords=on" \
  --data-urlencode "display_name=Ada Lovelace" --data-urlencode "username=ada@contoso.example" \
  --data-urlencode "password=correct horse battery" --data-urlencode "confirm_password=correct horse battery" \
  "$base/api/complete_setup"
curl -s -o /dev/null -c "$dir/cookies" -H 'Accept: application/json' --data-urlencode "username=ada@contoso.example" \
  --data-urlencode "password=correct horse battery" "$base/api/sign_in"
session=$(awk '$6 == "latchkey_session" { print $7 }' "$dir/cookies")
[ -n "$session" ] || { echo "could not sign in for the Lighthouse run"; exit 1; }

echo
node scripts/first-view.cjs "$base" "$session"

export CHROME_PATH=/usr/bin/chromium
flags="--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking --disable-component-update --disable-sync"
echo
printf '%-34s %12s %14s %15s\n' "Lighthouse (mobile)" "performance" "accessibility" "best practices"
for page in /signin /security-info; do
  headers='{}'
  [ "$page" = /security-info ] && headers="{\"Cookie\": \"latchkey_session=$session\"}"
  lighthouse "$base$page" --quiet --form-factor=mobile --only-categories=performance,accessibility,best-practices \
    --extra-headers="$headers" --chrome-flags="$flags" --output=json --output-path="$dir/report.json" >/dev/null 2>&1 || true
  if [ -s "$dir/report.json" ]; then
    node -e '
      const r = require(process.argv[1]);
      const c = r.categories, a = r.audits;
      const s = (k) => (c[k] && c[k].score !== null ? c[k].score.toFixed(2) : "n/a");
      console.log(process.argv[2].padEnd(34), s("performance").padStart(12), s("accessibility").padStart(14), s("best-practices").padStart(15),
        "  LCP", a["largest-contentful-paint"].displayValue, " TBT", a["total-blocking-time"].displayValue);
      for (const k of ["accessibility", "best-practices"]) for (const ref of c[k].auditRefs)
        if (ref.weight > 0 && a[ref.id].score !== null && a[ref.id].score < 1) console.log("    " + k + ": " + a[ref.id].title);
    ' "$dir/report.json" "$page"
    rm -f "$dir/report.json"
  else
    echo "$page: Lighthouse produced no report"
  fi
done

# Precompressed at build time versus compressed per request: a second server on a copy of the
# site without the .br/.gz files, where tower-http's CompressionLayer (brotli, quality 5)
# compresses the WebAssembly on every request. wrk, 1 thread, 4 connections, 5 s each.
mkdir -p "$dir/plain"
cp -r target/site "$dir/plain/site"
find "$dir/plain/site" \( -name '*.br' -o -name '*.gz' \) -delete
port2=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
LATCHKEY_DATABASE_URL="sqlite://$dir/plain/l.db" LATCHKEY_SECRET_KEY_FILE="$dir/plain/secret.key" LATCHKEY_ADDR="127.0.0.1:$port2" \
  LATCHKEY_SITE_DIR="$dir/plain/site" LATCHKEY_LOG=warn NO_COLOR=1 target/release/latchkey >"$dir/plain/log" 2>&1 &
server2=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port2/healthz" >/dev/null && break; sleep 0.1; done
echo
printf '%-34s %12s %10s %10s %12s\n' "WASM, Accept-Encoding: br" "requests/s" "p50 (ms)" "p99 (ms)" "bytes sent"
for variant in precompressed:$port on-the-fly:$port2; do
  label=${variant%%:*}; p=${variant##*:}
  bytes=$(curl -s -H 'Accept-Encoding: br' "http://127.0.0.1:$p/pkg/$wasm" | wc -c)
  wrk -t1 -c4 -d5s --latency -H 'Accept-Encoding: br' "http://127.0.0.1:$p/pkg/$wasm" | awk -v label="$label" -v bytes="$bytes" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) } $1 == "Requests/sec:" { rps = $2 }
    END { printf "%-34s %12.0f %10.2f %10.2f %12d\n", label, rps, p50, p99, bytes }'
done
