#!/usr/bin/env bash
# Benchmark of GET /auth/basic (the app-password check), all figures from one run: the release
# server on loopback against a seeded SQLite database and a seeded PostgreSQL database (each
# instance watching for revocations, as it does in service), load from wrk in a second process.
# Prints requests per second and p50/p99 latency for a user with 1 app password and a user with
# 40 (the cached ones each the mean of several runs, in rounds of 1, 40, 40, 1), with the caches
# (repeat sign-ins: answered from memory) and without them (every check runs
# argon2id: a first sign-in, SQLite only), next to a trivial endpoint (/healthz) of the same
# server.
#   scripts/bench-basic-check.sh          10 s per case, 64 connections
#   BENCH_SECONDS=5 BENCH_CONNECTIONS=16 BENCH_DATABASES=sqlite scripts/bench-basic-check.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. scripts/setup-tools.sh --test >/dev/null
seconds="${BENCH_SECONDS:-10}"
connections="${BENCH_CONNECTIONS:-64}"
databases="${BENCH_DATABASES:-sqlite postgres}"
cold_connections="${BENCH_COLD_CONNECTIONS:-8}"
# Rounds of the cached checks, each in the order 1, 40, 40, 1: consecutive runs of one user on
# this kind of machine differ by up to 10 %, so one round cannot tell 5 % apart.
rounds="${BENCH_ROUNDS:-3}"

echo "==> building the release server and the seeding program"
cargo leptos build --release --split --precompress >/dev/null 2>&1 || cargo leptos build --release --split --precompress
cargo build --release -q -p server --example seed_bench

work="$(mktemp -d)"
server_pid=""
pg_database="latchkey_bench_check_$$"
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  psql -h 127.0.0.1 -U postgres -d test -qc "DROP DATABASE IF EXISTS $pg_database WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

database_url=""
seed() { # $1: sqlite or postgres
  case "$1" in
    sqlite) database_url="sqlite://$work/bench.db" ;;
    postgres)
      psql -h 127.0.0.1 -U postgres -d test -qc "CREATE DATABASE $pg_database" >/dev/null
      database_url="postgres://postgres@127.0.0.1:5432/$pg_database" ;;
  esac
  target/release/examples/seed_bench "$database_url" "$work/secret.key" > "$work/credentials"
}
basic_for() { # the Authorization value for the seeded user $1
  awk -F'\t' -v user="$1" '$1 == user { printf "%s:%s", $1, $2 }' "$work/credentials" | base64 -w0
}

start_server() { # $1: verified-credential cache size (0: off)
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  LATCHKEY_DATABASE_URL="$database_url" LATCHKEY_SECRET_KEY_FILE="$work/secret.key" \
    LATCHKEY_ADDR="127.0.0.1:$port" LATCHKEY_LOG=warn LEPTOS_SITE_ROOT="$ROOT/target/site" \
    LATCHKEY_APP_PASSWORD_CACHE_SIZE="$1" target/release/latchkey serve > "$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return 0
    sleep 0.1
  done
  cat "$work/server.log"; exit 1
}
stop_server() { kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""; }

# wrk's figures as "rps p50_ms p99_ms non2xx".
measure() { # $1: path, $2: Authorization value or empty, $3: connections (default: all)
  local args=(-t1 -c"${3:-$connections}" -d"${seconds}s" --latency --timeout 10s)
  [ -n "$2" ] && args+=(-H "Authorization: $2")
  # A first request warms the cache (and checks that the credentials work).
  if [ -n "$2" ]; then
    local status
    status="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: $2" "http://127.0.0.1:$port$1")"
    [ "$status" = 204 ] || { echo "check answered $status, expected 204" >&2; exit 1; }
  fi
  wrk "${args[@]}" "http://127.0.0.1:$port$1" | awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
    $1 == "Requests/sec:" { rps = $2 } /Non-2xx/ { bad = $NF }
    END { printf "%s %s %s %s\n", rps, p50, p99, bad + 0 }'
}

# Several of measure's lines as one: mean requests/s, p50 and p99; non-2xx added up.
mean() {
  printf '%s\n' "$@" | awk '{ r += $1; a += $2; b += $3; n += $4; k++ }
    END { printf "%s %s %s %s\n", r / k, a / k, b / k, n }'
}

declare -A result
row() { # label, key
  read -r rps p50 p99 bad <<< "${result[$2]}"
  printf '| %-44s | %10.0f | %9.2f | %9.2f |\n' "$1" "$rps" "$p50" "$p99"
  [ "$bad" = 0 ] || echo "  (warning: $bad responses were not 2xx)"
}

echo "==> measuring (${seconds} s per case, $connections connections)"
for db in $databases; do
  seed "$db"
  one="Basic $(basic_for one@bench.example)"
  forty="Basic $(basic_for forty@bench.example)"
  start_server 50000
  result[trivial_$db]="$(measure /healthz "")"
  # Rounds of 1, 40, 40, 1, each figure the mean of its runs: neither a drift over the run nor
  # one noisy run favours either user.
  ones=(); forties=(); result[runs_$db]=""
  for _ in $(seq "$rounds"); do
    for user in one forty forty one; do
      run="$(measure /auth/basic "${!user}")"
      if [ "$user" = one ]; then ones+=("$run"); else forties+=("$run"); fi
      result[runs_$db]+="$(printf '%.0f' "${run%% *}") "
    done
  done
  result[cached1_$db]="$(mean "${ones[@]}")"
  result[cached40_$db]="$(mean "${forties[@]}")"
  stop_server
  if [ "$db" = sqlite ]; then
    start_server 0
    # Argon2 is bounded (one thread per core, a short queue, 503 past it): a first sign-in
    # is measured at a load the queue holds.
    result[cold1]="$(measure /auth/basic "$one" "$cold_connections")"
    result[cold40]="$(measure /auth/basic "$forty" "$cold_connections")"
    stop_server
  fi
done

ratio() { # rps of $1 / rps of $2
  awk -v a="${result[$1]%% *}" -v b="${result[$2]%% *}" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }'
}
echo
echo "Machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "wrk: 1 thread, $connections connections ($cold_connections for the cold checks), ${seconds} s per case; server and wrk share the machine"
echo
echo "| case                                         |   requests/s |  p50 (ms) |  p99 (ms) |"
echo "|----------------------------------------------|-----------:|----------:|----------:|"
for db in $databases; do
  row "$db: trivial endpoint (/healthz)" "trivial_$db"
  row "$db: check, cached, user with 1 app password" "cached1_$db"
  row "$db: check, cached, user with 40" "cached40_$db"
done
case " $databases " in *" sqlite "*)
  row "check, cold (argon2id), user with 1" cold1
  row "check, cold (argon2id), user with 40" cold40 ;;
esac
echo
for db in $databases; do
  echo "$db: cached checks, $rounds rounds of 1, 40, 40, 1 (requests/s): ${result[runs_$db]}"
  echo "$db: cached check / healthz requests/s (target >= 0.5): $(ratio "cached1_$db" "trivial_$db")"
  echo "$db: 1 / 40 app passwords, cached (target within 1.05): $(ratio "cached1_$db" "cached40_$db")"
done
case " $databases " in *" sqlite "*)
  echo "1 / 40 app passwords, cold (target within 1.1): $(ratio cold1 cold40)"
  echo "cached / cold throughput: $(ratio cached1_sqlite cold1)" ;;
esac
