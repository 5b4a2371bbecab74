#!/usr/bin/env bash
# Fuzzes the HTTP Basic header parser with libFuzzer (cargo fuzz) for SECONDS (default 30).
# cargo fuzz wants nightly flags; RUSTC_BOOTSTRAP lets the one stable toolchain here accept them.
# No sanitizer: the parser is safe Rust (unsafe is forbidden), so coverage guidance is what counts.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-30}"
corpus="$ROOT/fuzz/corpus/basic_auth"
mkdir -p "$corpus"
cd "$ROOT/fuzz"
RUSTC_BOOTSTRAP=1 cargo fuzz run basic_auth --sanitizer none --release \
  "$corpus" "$ROOT/fuzz/seeds/basic_auth" -- -max_total_time="$seconds" -max_len=8192 -print_final_stats=1
