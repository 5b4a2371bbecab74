#!/usr/bin/env bash
# The admin console's people search with 100,000 people, on the release server over loopback:
# SQLite, and PostgreSQL when it answers at 127.0.0.1:5432. wrk posts to the search's server
# function (/api/admin_people) as a signed-in administrator, cycling through prefixes as
# administrators type them (1 to 7 characters of names and sign-in names, and none). Prints the
# median and p99 over one keep-alive connection and requests/s over 8 connections; the goal is
# p99 <= 50 ms. A 2-second warm-up at 8 connections comes first, not counted. (The plans, each query a range on an index, are checked and printed by
# tests/admin_console.rs `the_people_search_uses_the_indexes_with_100_000_people`.)
#   scripts/bench-people-search.sh                  5 s per measurement, 100,000 people
#   BENCH_PEOPLE=1000000 BENCH_SECONDS=10 scripts/bench-people-search.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. scripts/setup-tools.sh --test >/dev/null
seconds="${BENCH_SECONDS:-5}"
people="${BENCH_PEOPLE:-100000}"

echo "==> building the release server and the seeding program"
cargo leptos build --release --split --precompress >/dev/null 2>&1 || cargo leptos build --release --split --precompress
cargo build --release -q -p server --example seed_bench

work="$(mktemp -d)"
server_pid=""
pg_database="latchkey_bench_people_$$"
stop_server() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true; fi
  server_pid=""
}
cleanup() {
  stop_server
  psql -h 127.0.0.1 -U postgres -d test -qc "DROP DATABASE IF EXISTS $pg_database WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

cat > "$work/search.lua" <<'LUA'
local prefixes = { "a", "ad", "ada", "ada.l", "gr", "grace h", "grace.hopper1", "t", "ti", "tim",
  "m", "marg", "margaret.h", "r", "rad", "radia p", "k", "knu", "h", "hedy.c", "", "le", "leslie l",
  "j", "john", "c", "cl", "n", "nik", "f", "frances a", "e", "eds", "d", "don", "b", "bar", "zz" }
local i = 0
request = function()
  i = i + 1
  local prefix = prefixes[(i % #prefixes) + 1]
  return wrk.format("POST", "/api/admin_people", nil, "query=" .. prefix:gsub(" ", "+"))
end
LUA

# wrk's figures as "rps p50_ms p99_ms errors".
measure() { # $1: connections, $2: base URL, $3: cookie
  wrk -t1 -c"$1" -d"${seconds}s" --latency --timeout 10s -s "$work/search.lua" \
    -H "Cookie: $3" -H "Content-Type: application/x-www-form-urlencoded" \
    -H "Accept: application/json" -H "Sec-Fetch-Site: same-origin" "$2" | awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
    $1 == "Requests/sec:" { rps = $2 } /Non-2xx/ { bad += $NF } /Socket errors/ { bad += 1 }
    END { printf "%s %s %s %s\n", rps, p50, p99, bad + 0 }'
}

declare -a rows=()
run_on() { # $1: label, $2: database URL
  echo "==> $1: seeding $people people"
  local started=$SECONDS
  target/release/examples/seed_bench "$2" "$work/secret.key" "$people" > "$work/credentials"
  echo "    seeded in $((SECONDS - started)) s"
  # What autovacuum does after a bulk load: statistics for the planner, and the visibility
  # map that lets PostgreSQL answer from an index alone.
  case "$2" in postgres://*) psql "$2" -qc "VACUUM ANALYZE" >/dev/null ;; esac
  local port base cookie
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  base="http://127.0.0.1:$port"
  LATCHKEY_DATABASE_URL="$2" LATCHKEY_SECRET_KEY_FILE="$work/secret.key" \
    LATCHKEY_ADDR="127.0.0.1:$port" LATCHKEY_LOG=warn LEPTOS_SITE_ROOT="$ROOT/target/site" \
    target/release/latchkey serve > "$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
  curl -sf "$base/healthz" >/dev/null || { cat "$work/server.log"; exit 1; }
  # The administrator's seeded session (the organization's first person is its administrator).
  cookie="latchkey_session=$(awk -F'\t' '$1 == "one@bench.example" { print $3 }' "$work/credentials")"
  local status
  status="$(curl -s -o "$work/answer.json" -w '%{http_code}' -X POST -H "Cookie: $cookie" \
    -H 'Accept: application/json' -H 'Sec-Fetch-Site: same-origin' \
    -H 'Content-Type: application/x-www-form-urlencoded' --data 'query=grace+h' "$base/api/admin_people")"
  [ "$status" = 200 ] && grep -q '"display_name":"Grace H' "$work/answer.json" \
    || { echo "the search answered $status: $(head -c 300 "$work/answer.json")" >&2; exit 1; }
  local p50 p99 rps bad1 bad8
  # Warm-up, not counted: the server opens its pool's database connections and prepares its
  # statements on first use (a fresh PostgreSQL connection takes tens of milliseconds).
  seconds=2 measure 8 "$base" "$cookie" >/dev/null
  read -r _ p50 p99 bad1 <<< "$(measure 1 "$base" "$cookie")"
  read -r rps _ _ bad8 <<< "$(measure 8 "$base" "$cookie")"
  rows+=("$(printf '| %-10s | %9s | %11.2f ms | %8.2f ms | %15.0f | %s' "$1" "$people" "$p50" "$p99" "$rps" \
    "$([ "$bad1" = 0 ] && [ "$bad8" = 0 ] || echo "($((bad1 + bad8)) errors or non-2xx)")")")
  stop_server
  rm -f "$work/secret.key"
}

run_on "SQLite" "sqlite://$work/people.db"
if pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
  psql -h 127.0.0.1 -U postgres -d test -qc "CREATE DATABASE $pg_database" >/dev/null
  run_on "PostgreSQL" "postgres://postgres@127.0.0.1:5432/$pg_database"
else
  echo "note: PostgreSQL is not reachable at 127.0.0.1:5432; measured on SQLite only"
fi

echo
echo "Machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); wrk: 1 thread, ${seconds} s per measurement; server and wrk share the machine"
echo
printf '| %-10s | %9s | %14s | %11s | %15s |\n' "database" "people" "median (1 conn)" "p99 (1 conn)" "requests/s (8)"
echo "|------------|----------:|---------------:|------------:|----------------:|"
printf '%s\n' "${rows[@]}"
