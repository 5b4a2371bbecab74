#!/usr/bin/env bash
# Scale benchmark (issue 15): PostgreSQL with a million people and ten million app passwords
# against the same server on a database of a thousand people, all figures from one run. The
# release server on loopback, load from wrk in a second process. Prints how long seeding took,
# then per database: the cached app-password check (p99 at 64 connections), Security info of a
# person with 40 app passwords against a static file (requests/s, 16 connections; the page is
# rendered on every view), sign-in
# (argon2; 2 connections, each request from its own address behind a trusted proxy) and the
# admin people search; and the plan of every hot-path query on the large database.
#   scripts/bench-scale.sh                                  1,000,000 people x 10
#   BENCH_PEOPLE=100000 BENCH_PER_PERSON=10 BENCH_SECONDS=5 scripts/bench-scale.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. scripts/setup-tools.sh --test >/dev/null
seconds="${BENCH_SECONDS:-10}"
people="${BENCH_PEOPLE:-1000000}"
per_person="${BENCH_PER_PERSON:-10}"

echo "==> building the release server and the seeding programs"
cargo leptos build --release --split --precompress >/dev/null 2>&1 || cargo leptos build --release --split --precompress
cargo build --release -q -p server --example seed_bench --example hot_path_plans

work="$(mktemp -d)"
server_pid=""
databases=()
stop_server() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true; fi
  server_pid=""
}
cleanup() {
  stop_server
  for db in "${databases[@]}"; do
    psql -h 127.0.0.1 -U postgres -d test -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

cat > "$work/sign_in.lua" <<'LUA'
-- Each sign-in from its own address (the server trusts the loopback proxy's X-Forwarded-For),
-- so the per-address limit does not turn the measurement into 429s.
local i = 0
request = function()
  i = i + 1
  local ip = string.format("10.%d.%d.%d", math.floor(i / 65536) % 256, math.floor(i / 256) % 256, i % 256)
  return wrk.format("POST", "/api/sign_in", { ["X-Forwarded-For"] = ip },
    "username=grace.allen7%40seed.example&password=bench+person+password")
end
LUA

cat > "$work/search.lua" <<'LUA'
wrk.method = "POST"
wrk.body = "query=grace+h"
LUA

# wrk's figures as "rps p50_ms p99_ms non2xx".
measure() { # $1: connections, $2: URL, then wrk options
  local connections="$1" url="$2"; shift 2
  wrk -t1 -c"$connections" -d"${seconds}s" --latency --timeout 10s "$@" "$url" | awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
    $1 == "Requests/sec:" { rps = $2 } /Non-2xx/ { bad += $NF } /Socket errors/ { bad += 1 }
    END { printf "%s %s %s %s\n", rps, p50, p99, bad + 0 }'
}

declare -A result
run_on() { # $1: label, $2: people
  local db="latchkey_bench_scale_${1}_$$"
  databases+=("$db")
  psql -h 127.0.0.1 -U postgres -d test -qc "CREATE DATABASE $db" >/dev/null
  local url="postgres://postgres@127.0.0.1:5432/$db"
  echo "==> $1: seeding $2 people with $per_person app passwords each"
  target/release/examples/seed_bench "$url" "$work/secret-$1.key" "$2" "$per_person" > "$work/credentials"
  # What autovacuum does after a bulk load: planner statistics and the visibility map.
  psql "$url" -qc "VACUUM ANALYZE" >/dev/null
  echo "    database size: $(psql "$url" -tAc "SELECT pg_size_pretty(pg_database_size(current_database()))")"
  local port base
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  base="http://127.0.0.1:$port"
  LATCHKEY_DATABASE_URL="$url" LATCHKEY_SECRET_KEY_FILE="$work/secret-$1.key" \
    LATCHKEY_ADDR="127.0.0.1:$port" LATCHKEY_LOG=warn LATCHKEY_TRUSTED_PROXIES=127.0.0.1 \
    target/release/latchkey serve > "$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
  curl -sf "$base/healthz" >/dev/null || { cat "$work/server.log"; exit 1; }

  local one forty_cookie admin_cookie
  one="Basic $(awk -F'\t' '$1 == "one@bench.example" { printf "%s:%s", $1, $2 }' "$work/credentials" | base64 -w0)"
  forty_cookie="latchkey_session=$(awk -F'\t' '$1 == "forty@bench.example" { print $3 }' "$work/credentials")"
  admin_cookie="latchkey_session=$(awk -F'\t' '$1 == "one@bench.example" { print $3 }' "$work/credentials")"
  local asset status
  asset="$(curl -s -H "Cookie: $forty_cookie" "$base/security-info" | grep -o '/pkg/[^"]*\.css' | head -1)"
  status="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: $one" "$base/auth/basic")"
  [ "$status" = 204 ] || { echo "the check answered $status" >&2; exit 1; }
  status="$(curl -s -o "$work/page.html" -w '%{http_code}' -H "Cookie: $forty_cookie" "$base/security-info")"
  [ "$status" = 200 ] && grep -q 'App 40' "$work/page.html" || { echo "Security info answered $status" >&2; exit 1; }
  # Warm-up, not counted: pool connections opened and statements prepared on first use.
  seconds=2 measure 16 "$base/security-info" -H "Cookie: $forty_cookie" >/dev/null
  seconds=2 measure 64 "$base/auth/basic" -H "Authorization: $one" >/dev/null

  result[check_$1]="$(measure 64 "$base/auth/basic" -H "Authorization: $one")"
  result[page_$1]="$(measure 16 "$base/security-info" -H "Cookie: $forty_cookie")"
  result[asset_$1]="$(measure 16 "$base$asset" -H 'Accept-Encoding: br')"
  result[search_$1]="$(measure 8 "$base/api/admin_people" -s "$work/search.lua" -H "Cookie: $admin_cookie" \
    -H 'Content-Type: application/x-www-form-urlencoded' -H 'Accept: application/json' \
    -H 'Sec-Fetch-Site: same-origin')"
  result[sign_in_$1]="$(measure 2 "$base" -s "$work/sign_in.lua" -H 'Content-Type: application/x-www-form-urlencoded' \
    -H 'Accept: application/json' -H 'Sec-Fetch-Site: same-origin')"
  stop_server
  if [ "$1" = large ]; then
    echo "==> plans of the hot-path queries with $2 people"
    target/release/examples/hot_path_plans "$url"
  fi
}

run_on small 1000
run_on large "$people"

row() { # label, key
  read -r rps p50 p99 bad <<< "${result[$2]}"
  printf '| %-52s | %10.0f | %9.2f | %9.2f |%s\n' "$1" "$rps" "$p50" "$p99" \
    "$([ "$bad" = 0 ] || echo " ($bad not 2xx)")"
}
ratio() { # $1 / $2, field $3 (1: requests/s, 3: p99)
  local a b
  a="$(cut -d' ' -f"$3" <<< "${result[$1]}")"; b="$(cut -d' ' -f"$3" <<< "${result[$2]}")"
  awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'
}
echo
echo "Machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); wrk: 1 thread, ${seconds} s per measurement; server, PostgreSQL and wrk share the machine"
echo
echo "| case                                                 | requests/s |  p50 (ms) |  p99 (ms) |"
echo "|------------------------------------------------------|-----------:|----------:|----------:|"
for size in small large; do
  label="$([ $size = small ] && echo "1,000 people" || echo "$people people, $((people * per_person)) app passwords")"
  row "$label: check, cached (64 conn.)" "check_$size"
  row "$label: Security info, 40 app passwords (16)" "page_$size"
  row "$label: static file, br (16)" "asset_$size"
  row "$label: sign-in, argon2 (2)" "sign_in_$size"
  row "$label: people search \"grace h\" (8)" "search_$size"
done
echo
echo "check p99, large / small database (target <= 1.5): $(ratio check_large check_small 3)"
echo "Security info / static file requests/s, large database (target >= 0.3): $(ratio page_large asset_large 1)"
