#!/usr/bin/env bash
# Latchkey's whole test run: installs what it needs, then formatting, lints (server and
# WebAssembly feature sets), Rust tests on SQLite and PostgreSQL, a short fuzzing run, the
# release build, and the browser tests in Debian's Chromium (with Dovecot and nginx). Prints a summary; exits non-zero if anything failed.
# With CI=true a missing PostgreSQL or Chromium fails the run instead of being skipped.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

. scripts/setup-tools.sh --test || exit 1
set +e
# A one-off run gains nothing from incremental caches, which cost tens of gigabytes here.
export CARGO_INCREMENTAL=0
# Unoptimised Leptos pages need deep stacks when a test renders them (see .cargo/config.toml).
export RUST_MIN_STACK=16777216

LOG_DIR="$(mktemp -d)"
declare -a STEP_NAMES=() STEP_RESULTS=() STEP_LOGS=()
rust_passed=0 rust_failed=0 e2e_passed=0 e2e_failed=0

step() {
  local name="$1"; shift
  echo
  echo "==> $name"
  local log="$LOG_DIR/$(echo "$name" | tr -c 'a-zA-Z0-9' '_').log"
  "$@" 2>&1 | tee "$log"
  local status=${PIPESTATUS[0]}
  STEP_NAMES+=("$name")
  STEP_LOGS+=("$log")
  STEP_RESULTS+=("$([ "$status" = 0 ] && echo ok || echo "FAILED (exit $status)")")
  LAST_LOG="$log"
  return "$status"
}

# The first error lines of a step's log (with two lines after each), for a summary CI shows
# only the end of. A retried build's log is read up to its retry.
first_errors() {
  sed '/^the release build did not finish/,$d' "$1" \
    | grep -E -m 8 -A 2 '(error|Error|ERROR)([:[ ]|.\[)|panicked|FAILED|Killed|No space left' | head -20 | cut -c1-300
}

postgres_check() {
  if pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
    echo "PostgreSQL is up at 127.0.0.1:5432"
  elif [ "${CI:-}" = true ]; then
    echo "PostgreSQL at 127.0.0.1:5432 is required in CI but not reachable"; return 1
  else
    echo "note: PostgreSQL at 127.0.0.1:5432 is not reachable; its tests will be skipped"
  fi
}

step "PostgreSQL available" postgres_check
step "cargo fmt --check" cargo fmt --all -- --check
step "clippy (server, ssr)" cargo clippy --workspace --all-targets -- -D warnings
step "clippy (app, hydrate, wasm32)" cargo clippy -p app --lib --features hydrate --target wasm32-unknown-unknown -- -D warnings
if step "cargo test" cargo test --workspace; then :; fi
rust_passed=$(grep -Eo '^test result: .* ([0-9]+) passed' "$LAST_LOG" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
rust_failed=$(grep -Eo '^test result: .* ([0-9]+) failed' "$LAST_LOG" | grep -Eo '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')
step "fuzz the Basic header parser (cargo fuzz, 30 s)" bash scripts/fuzz.sh 30
# One CI run lost this build to an error its log did not keep (it passed on a clean clone twice
# since): a failed build is tried once more, after its first error lines, so that a passing
# retry still leaves the cause in the log.
release_build() {
  cargo leptos build --release --split --precompress && return 0
  echo "the release build did not finish; its first errors:"
  first_errors "$log" # the log `step` is writing (bash locals reach called functions)
  echo "one more try:"
  cargo leptos build --release --split --precompress
}
if step "release build (cargo leptos build --release --split --precompress)" release_build; then
  step "browser tests (Playwright, Chromium)" bash -c 'cd end2end && npx playwright test'
  e2e_log="$(ls -t "$LOG_DIR"/browser_tests* 2>/dev/null | head -1)"
  if [ -n "$e2e_log" ]; then
    e2e_passed=$(grep -Eo '^\s*[0-9]+ passed' "$e2e_log" | grep -Eo '[0-9]+' | tail -1); e2e_passed=${e2e_passed:-0}
    e2e_failed=$(grep -Eo '^\s*[0-9]+ failed' "$e2e_log" | grep -Eo '[0-9]+' | tail -1); e2e_failed=${e2e_failed:-0}
  fi
fi

echo
echo "==================== summary ===================="
failed_steps=0
for i in "${!STEP_NAMES[@]}"; do
  printf '  %-48s %s\n' "${STEP_NAMES[$i]}" "${STEP_RESULTS[$i]}"
  [ "${STEP_RESULTS[$i]}" = ok ] || failed_steps=$((failed_steps + 1))
done
# CI shows only the end of this output: the first error lines of a failed step, or of a build
# that passed on its second try, go here, after the table.
for i in "${!STEP_NAMES[@]}"; do
  [ "${STEP_RESULTS[$i]}" = ok ] && ! grep -q "the release build did not finish" "${STEP_LOGS[$i]}" && continue
  echo "  -- errors in \"${STEP_NAMES[$i]}\" (its first error lines; the whole log: ${STEP_LOGS[$i]}):"
  first_errors "${STEP_LOGS[$i]}" | sed 's/^/     /'
done
echo "  Rust tests: $rust_passed passed, $rust_failed failed"
echo "  Browser tests: $e2e_passed passed, $e2e_failed failed"
total_passed=$((rust_passed + e2e_passed))
total_failed=$((rust_failed + e2e_failed))
echo "tests: $total_passed passed, $total_failed failed"
[ "$failed_steps" = 0 ] && [ "$total_failed" = 0 ]
