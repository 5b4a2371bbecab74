#!/usr/bin/env bash
# Builds the release and starts Latchkey on ./data/latchkey.db at http://localhost:3000.
# Any flag is passed on to the server (see: target/release/latchkey --help).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. scripts/setup-tools.sh
echo "==> building the release (about 12 minutes the first time on 2 cores; a few minutes after a change)"
cargo leptos build --release --split --precompress
# The site is http://localhost:PORT unless told otherwise: passkeys need a name as the site's
# host (browsers refuse an IP address as a WebAuthn relying party), and localhost is a secure
# context over plain http. It still listens on 127.0.0.1.
ADDR="${LATCHKEY_ADDR:-127.0.0.1:3000}"
export LATCHKEY_PUBLIC_URL="${LATCHKEY_PUBLIC_URL:-http://localhost:${ADDR##*:}}"
echo "==> starting Latchkey: open ${LATCHKEY_PUBLIC_URL}"
exec "$ROOT/target/release/latchkey" "$@"
