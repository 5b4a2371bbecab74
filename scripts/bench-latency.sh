#!/usr/bin/env bash
# Latency and throughput per kind of response, all figures from one run: the release server on
# loopback over a seeded SQLite database, load from wrk in a second process. For each kind it
# prints the median and p99 latency over one keep-alive connection (wrk -c1) and requests per
# second over 16 connections: signed-in Security info with 40 app passwords (rendered on every
# view: nothing keeps pages), signed-in My Profile, the sign-in page, a hashed asset, a public/
# file, a cached /auth/basic check and /healthz. Then the goals: every median <= 5 ms; Security
# info rendered on every view at least 1,500 pages/s over 16 connections (issue 33), and its
# ratio to a static file's rate, for comparison with earlier runs.
#   scripts/bench-latency.sh                          5 s per measurement
#   BENCH_SECONDS=10 scripts/bench-latency.sh
#   BENCH_SERVER=/tmp/old/latchkey BENCH_SITE=/tmp/old/site scripts/bench-latency.sh
#       measures another build (for a before/after comparison) instead of building this one
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. scripts/setup-tools.sh --test >/dev/null
seconds="${BENCH_SECONDS:-5}"
connections="${BENCH_CONNECTIONS:-16}"
server_bin="${BENCH_SERVER:-$ROOT/target/release/latchkey}"
site="${BENCH_SITE:-$ROOT/target/site}"

if [ -z "${BENCH_SERVER:-}" ]; then
  echo "==> building the release server"
  cargo leptos build --release --split --precompress >/dev/null 2>&1 || cargo leptos build --release --split --precompress
fi
echo "==> building the seeding program"
cargo build --release -q -p server --example seed_bench

work="$(mktemp -d)"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

target/release/examples/seed_bench "sqlite://$work/bench.db" "$work/secret.key" > "$work/credentials"
forty_basic="Basic $(awk -F'\t' '$1 == "forty@bench.example" { printf "%s:%s", $1, $2 }' "$work/credentials" | base64 -w0)"

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
LATCHKEY_DATABASE_URL="sqlite://$work/bench.db" LATCHKEY_SECRET_KEY_FILE="$work/secret.key" \
  LATCHKEY_ADDR="127.0.0.1:$port" LATCHKEY_LOG=warn LEPTOS_SITE_ROOT="$site" \
  "$server_bin" serve > "$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  curl -sf "$base/healthz" >/dev/null && break
  sleep 0.1
done
curl -sf "$base/healthz" >/dev/null || { cat "$work/server.log"; exit 1; }

# The seeded session of the user with 40 app passwords (signed in through both steps).
cookie="latchkey_session=$(awk -F'\t' '$1 == "forty@bench.example" { print $3 }' "$work/credentials")"

asset="$(cd "$site" && ls pkg/*.css | grep -v '\.\(br\|gz\)$' | sed -n 1p)"
public_file="favicon.svg"
[ -f "$site/$asset" ] && [ -f "$site/$public_file" ] || { echo "site files missing in $site" >&2; exit 1; }

# Each kind: label | path | extra header (or empty) | expected status.
kinds=(
  "Security info, signed in, 40 app passwords|/security-info|Cookie: $cookie|200"
  "My Profile, signed in|/|Cookie: $cookie|200"
  "sign-in page|/signin||200"
  "hashed asset (/$asset, brotli)|/$asset|Accept-Encoding: br|200"
  "public/ file (/$public_file)|/$public_file||200"
  "/auth/basic, cached|/auth/basic|Authorization: $forty_basic|204"
  "/healthz|/healthz||200"
)

# wrk's figures as "rps p50_ms p99_ms errors".
measure() { # $1: connections, $2: path, $3: header or empty
  local args=(-t1 -c"$1" -d"${seconds}s" --latency --timeout 10s)
  [ -n "$3" ] && args+=(-H "$3")
  wrk "${args[@]}" "$base$2" | awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
    $1 == "Requests/sec:" { rps = $2 } /Non-2xx/ { bad += $NF } /Socket errors/ { bad += 1 }
    END { printf "%s %s %s %s\n", rps, p50, p99, bad + 0 }'
}

echo "==> measuring (${seconds} s per measurement: 1 connection, then $connections)"
declare -a labels=() p50s=() p99s=() rpss=() p99many=() notes=()
security_rps=0; security_p99=0; static_rps=0
for kind in "${kinds[@]}"; do
  IFS='|' read -r label path header expected <<< "$kind"
  status="$(curl -s -o /dev/null -w '%{http_code}' ${header:+-H "$header"} "$base$path")"
  [ "$status" = "$expected" ] || { echo "$path answered $status, expected $expected" >&2; exit 1; }
  read -r _ p50 p99 bad1 <<< "$(measure 1 "$path" "$header")"
  read -r rps _ p99_16 bad16 <<< "$(measure "$connections" "$path" "$header")"
  labels+=("$label"); p50s+=("$p50"); p99s+=("$p99"); rpss+=("$rps"); p99many+=("$p99_16")
  [ "$path" = /security-info ] && security_rps="$rps" && security_p99="$p99_16"
  [ "$path" = "/$public_file" ] && static_rps="$rps"
  notes+=("$([ "$bad1" = 0 ] && [ "$bad16" = 0 ] || echo "($((bad1 + bad16)) errors or non-2xx)")")
done

echo
echo "Machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "Server: $server_bin; wrk: 1 thread, ${seconds} s per measurement; server and wrk share the machine"
echo
printf '| %-48s | %14s | %11s | %18s | %14s |\n' "response" "median (1 conn)" "p99 (1 conn)" "requests/s ($connections conn)" "p99 ($connections conn)"
echo "|--------------------------------------------------|---------------:|------------:|-------------------:|---------------:|"
worst_median=0
for i in "${!labels[@]}"; do
  printf '| %-48s | %11.2f ms | %8.2f ms | %18.0f | %11.2f ms | %s\n' "${labels[$i]}" "${p50s[$i]}" "${p99s[$i]}" "${rpss[$i]}" "${p99many[$i]}" "${notes[$i]}"
  worst_median="$(awk -v a="$worst_median" -v b="${p50s[$i]}" 'BEGIN { print (b > a ? b : a) }')"
done
echo
echo "largest median: $worst_median ms (goal <= 5 ms): $(awk -v m="$worst_median" 'BEGIN { print (m <= 5 ? "met" : "missed") }')"
echo "Security info rendered on every view: $security_rps pages/s over $connections connections (goal >= 1500): $(awk -v a="$security_rps" 'BEGIN { print (a >= 1500 ? "met" : "missed") }')"
echo "Security info p99 over $connections connections: $security_p99 ms (goal <= 10 ms): $(awk -v a="$security_p99" 'BEGIN { print (a <= 10 ? "met" : "missed") }')"
echo "Security info / public/ file requests/s: $(awk -v a="$security_rps" -v b="$static_rps" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')"
