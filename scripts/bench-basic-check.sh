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
#   BENCH_BEFORE=4c70758 scripts/bench-basic-check.sh   before (that commit) and after, one run
# With BENCH_BEFORE, the server and seeding program of that commit are built from a git worktree
# into target/bench-before (first time: a release build of the server, about 15 minutes), and
# every case runs against both, alternating, each on a database its own version seeded.
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

# The versions measured: "after" is this tree; "before", with BENCH_BEFORE, that commit.
declare -A binaries=([after]="$ROOT/target/release")
versions="after"
if [ -n "${BENCH_BEFORE:-}" ]; then
  before_rev="$(git rev-parse --verify "$BENCH_BEFORE^{commit}")"
  before_src="$ROOT/target/bench-before-src"
  echo "==> building the server of $BENCH_BEFORE (${before_rev:0:7}) for the before figures"
  if [ "$(git -C "$before_src" rev-parse HEAD 2>/dev/null)" != "$before_rev" ]; then
    git worktree remove --force "$before_src" 2>/dev/null || rm -rf "$before_src"
    git worktree prune
    git worktree add --detach "$before_src" "$before_rev" >/dev/null
  fi
  # The server embeds the built site at compile time; the one of this tree serves.
  mkdir -p "$before_src/target"
  ln -sfn "$ROOT/target/site" "$before_src/target/site"
  (cd "$before_src" && CARGO_TARGET_DIR="$ROOT/target/bench-before" \
    cargo build --release -q -p server --bin latchkey --example seed_bench)
  binaries[before]="$ROOT/target/bench-before/release"
  versions="before after"
fi

work="$(mktemp -d)"
server_pid=""
pg_prefix="latchkey_bench_check_$$"
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  for version in $versions; do
    psql -h 127.0.0.1 -U postgres -d test -qc "DROP DATABASE IF EXISTS ${pg_prefix}_$version WITH (FORCE)" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

database_url=""
binary_dir=""
seed() { # $1: sqlite or postgres, $2: the version (its binaries seed its own database)
  binary_dir="${binaries[$2]}"
  case "$1" in
    sqlite) database_url="sqlite://$work/bench-$2.db" ;;
    postgres)
      psql -h 127.0.0.1 -U postgres -d test -qc "CREATE DATABASE ${pg_prefix}_$2" >/dev/null
      database_url="postgres://postgres@127.0.0.1:5432/${pg_prefix}_$2" ;;
  esac
  "$binary_dir/examples/seed_bench" "$database_url" "$work/secret.key" > "$work/credentials"
}
basic_for() { # the Authorization value for the seeded user $1
  awk -F'\t' -v user="$1" '$1 == user { printf "%s:%s", $1, $2 }' "$work/credentials" | base64 -w0
}

start_server() { # $1: verified-credential cache size (0: off)
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  LATCHKEY_DATABASE_URL="$database_url" LATCHKEY_SECRET_KEY_FILE="$work/secret.key" \
    LATCHKEY_ADDR="127.0.0.1:$port" LATCHKEY_LOG=warn LEPTOS_SITE_ROOT="$ROOT/target/site" \
    LATCHKEY_APP_PASSWORD_CACHE_SIZE="$1" "$binary_dir/latchkey" serve > "$work/server.log" 2>&1 &
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

echo "==> measuring (${seconds} s per case, $connections connections; versions: $versions)"
for db in $databases; do
  for version in $versions; do
    v="${version}_$db"
    seed "$db" "$version"
    one="Basic $(basic_for one@bench.example)"
    forty="Basic $(basic_for forty@bench.example)"
    start_server 50000
    result[trivial_$v]="$(measure /healthz "")"
    # Rounds of 1, 40, 40, 1, each figure the mean of its runs: neither a drift over the run
    # nor one noisy run favours either user.
    ones=(); forties=(); result[runs_$v]=""
    for _ in $(seq "$rounds"); do
      for user in one forty forty one; do
        run="$(measure /auth/basic "${!user}")"
        if [ "$user" = one ]; then ones+=("$run"); else forties+=("$run"); fi
        result[runs_$v]+="$(printf '%.0f' "${run%% *}") "
      done
    done
    result[cached1_$v]="$(mean "${ones[@]}")"
    result[cached40_$v]="$(mean "${forties[@]}")"
    stop_server
    if [ "$db" = sqlite ]; then
      start_server 0
      # Argon2 is bounded (one thread per core, a short queue, 503 past it): a first sign-in
      # is measured at a load the queue holds.
      result[cold1_$version]="$(measure /auth/basic "$one" "$cold_connections")"
      result[cold40_$version]="$(measure /auth/basic "$forty" "$cold_connections")"
      stop_server
    fi
    [ "$db" = postgres ] && psql -h 127.0.0.1 -U postgres -d test -qc "DROP DATABASE IF EXISTS ${pg_prefix}_$version WITH (FORCE)" >/dev/null
  done
done

ratio() { # rps of $1 / rps of $2
  awk -v a="${result[$1]%% *}" -v b="${result[$2]%% *}" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }'
}
echo
echo "Machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "wrk: 1 thread, $connections connections ($cold_connections for the cold checks), ${seconds} s per case; server and wrk share the machine"
[ -n "${BENCH_BEFORE:-}" ] && echo "before: $BENCH_BEFORE (${before_rev:0:7}); after: this tree ($(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ', with changes'))"
echo
echo "| case                                                 |   requests/s |  p50 (ms) |  p99 (ms) |"
echo "|------------------------------------------------------|-----------:|----------:|----------:|"
for version in $versions; do
  for db in $databases; do
    row "$version, $db: trivial endpoint (/healthz)" "trivial_${version}_$db"
    row "$version, $db: check, cached, user with 1 app password" "cached1_${version}_$db"
    row "$version, $db: check, cached, user with 40" "cached40_${version}_$db"
  done
  case " $databases " in *" sqlite "*)
    row "$version: check, cold (argon2id), user with 1" "cold1_$version"
    row "$version: check, cold (argon2id), user with 40" "cold40_$version" ;;
  esac
done
echo
for version in $versions; do
  for db in $databases; do
    v="${version}_$db"
    echo "$version, $db: cached checks, $rounds rounds of 1, 40, 40, 1 (requests/s): ${result[runs_$v]}"
    echo "$version, $db: cached check / healthz requests/s (target >= 0.5): $(ratio "cached1_$v" "trivial_$v")"
    echo "$version, $db: 1 / 40 app passwords, cached (target within 1.05): $(ratio "cached1_$v" "cached40_$v")"
  done
  case " $databases " in *" sqlite "*)
    echo "$version: 1 / 40 app passwords, cold (target within 1.1): $(ratio "cold1_$version" "cold40_$version")"
    echo "$version: cached / cold throughput: $(ratio "cached1_${version}_sqlite" "cold1_$version")" ;;
  esac
done
if [ -n "${BENCH_BEFORE:-}" ]; then
  echo
  for db in $databases; do
    echo "after / before, $db, cached check with 1 app password (requests/s): $(ratio "cached1_after_$db" "cached1_before_$db")"
    echo "after / before, $db, cached check with 40 (requests/s): $(ratio "cached40_after_$db" "cached40_before_$db")"
    echo "after / before, $db, /healthz (requests/s; the machine's drift): $(ratio "trivial_after_$db" "trivial_before_$db")"
  done
  case " $databases " in *" sqlite "*)
    echo "after / before, cold check with 1 (requests/s): $(ratio cold1_after cold1_before)" ;;
  esac
fi
