#!/usr/bin/env bash
# `make dist`: builds the release and leaves in dist/ what a server needs: the `latchkey`
# binary (it carries the site's files), the systemd unit, its user, a sample settings file and
# Dovecot's Lua passdb script.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. scripts/setup-tools.sh
cargo leptos build --release --split --precompress
rm -rf dist
mkdir -p dist
install -m 0755 target/release/latchkey dist/latchkey
install -m 0644 deploy/latchkey.service deploy/latchkey.sysusers deploy/latchkey.env \
  deploy/dovecot/latchkey.lua dist/
echo "==> dist/:"
ls -l dist
