#!/usr/bin/env bash
# Builds the release and starts Latchkey on ./data/latchkey.db at http://127.0.0.1:3000.
# Any flag is passed on to the server (see: target/release/latchkey --help).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. scripts/setup-tools.sh
echo "==> building the release (the first build takes several minutes)"
cargo leptos build --release --split --precompress
echo "==> starting Latchkey: open ${LATCHKEY_PUBLIC_URL:-http://${LATCHKEY_ADDR:-127.0.0.1:3000}}"
exec "$ROOT/target/release/latchkey" "$@"
