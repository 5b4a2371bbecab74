#!/usr/bin/env bash
# Soak of the release server (issue 15): end2end/tests/soak.spec.ts for five minutes (or
# SOAK_SECONDS) at SOAK_RATE requests/s (default 100), printing latency and resident memory per
# tenth of the run. The test command runs the same test for 20 s.
#   scripts/soak.sh                      300 s
#   SOAK_SECONDS=60 SOAK_RATE=200 scripts/soak.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. scripts/setup-tools.sh --test >/dev/null
cargo leptos build --release --split --precompress >/dev/null 2>&1 || cargo leptos build --release --split --precompress
cd end2end
SOAK_SECONDS="${SOAK_SECONDS:-300}" npx playwright test --project soak --no-deps --reporter list
