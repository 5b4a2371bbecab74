#!/usr/bin/env bash
# Installs the pinned tools Latchkey needs. Idempotent: with everything present it only checks.
#   scripts/setup-tools.sh            build tools (run command)
#   scripts/setup-tools.sh --test     build tools plus what the tests need (Chromium, PostgreSQL check)
# Source it (". scripts/setup-tools.sh") to get the tools on PATH in the calling shell.
set -euo pipefail

CARGO_LEPTOS_VERSION=0.3.7
CARGO_LEPTOS_SHA256=e327ec89b787be9b9a041205067498657e06e28df721edbd108c364e7b473ccb
WASM_SPLIT_CLI_VERSION=0.2.4
CARGO_FUZZ_VERSION=0.13.2
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$HOME/.cargo/bin:$ROOT/end2end/node_modules/.bin:$PATH"

want_test_tools=false
for arg in "$@"; do
  [ "$arg" = "--test" ] && want_test_tools=true
done

say() { printf '==> %s\n' "$*"; }
# Build tools are run a few times per build, not shipped: a lighter release profile (no LTO,
# parallel codegen, opt-level 1) halves their compile time on 2 cores. Only for these installs.
tool_install() {
  CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=256 \
    CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_DEBUG=0 \
    CARGO_PROFILE_RELEASE_INCREMENTAL=false cargo install "$@"
}
fail() { printf 'setup: %s\n' "$*" >&2; exit 1; }

command -v cargo >/dev/null || fail "cargo not found: install Rust 1.95 with rustup first"
command -v npm >/dev/null || fail "npm not found: install Node.js 20 and npm (Debian: apt-get install nodejs npm)"

# 1. The WebAssembly target.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# 2. cargo-leptos, pinned; no_downloads because it cannot fetch tools here. Built from its
#    published crate (checksum checked) with one lock entry moved: wasm_split_cli_support 0.2.4
#    shims the closure casts that wasm-bindgen rewrites, so code shared by two lazy routes can
#    leave the main module (0.2.2, in cargo-leptos' own lock, makes wasm-bindgen panic on it).
#    cargo-leptos-without-new.patch drops `cargo leptos new` (a project generator we never
#    use): it pulls cargo-generate with libgit2 and OpenSSL built from C, a third of the build.
#    The stamp file records that build, so a plain 0.3.7 is replaced once.
leptos_stamp="$HOME/.cargo/bin/.cargo-leptos-build"
leptos_build="$CARGO_LEPTOS_VERSION+wasm_split_cli_support@$WASM_SPLIT_CLI_VERSION+without-new"
if ! cargo leptos --version 2>/dev/null | grep -q " $CARGO_LEPTOS_VERSION\$" \
  || [ "$(cat "$leptos_stamp" 2>/dev/null)" != "$leptos_build" ]; then
  say "installing cargo-leptos $leptos_build (about 6 minutes on 2 cores, once per machine)"
  src="$(mktemp -d)"
  curl -sSfL -o "$src/cargo-leptos.crate" \
    "https://static.crates.io/crates/cargo-leptos/cargo-leptos-$CARGO_LEPTOS_VERSION.crate"
  echo "$CARGO_LEPTOS_SHA256  $src/cargo-leptos.crate" | sha256sum -c --quiet \
    || fail "cargo-leptos crate checksum mismatch"
  tar -xzf "$src/cargo-leptos.crate" -C "$src"
  (cd "$src/cargo-leptos-$CARGO_LEPTOS_VERSION" \
    && patch --quiet -p1 < "$ROOT/scripts/cargo-leptos-without-new.patch" \
    && cargo update --quiet -p rayon --precise 1.12.0 \
    && cargo update --quiet -p wasm_split_cli_support --precise "$WASM_SPLIT_CLI_VERSION" \
    && tool_install --path . --locked --features no_downloads)
  rm -rf "$src"
  echo "$leptos_build" > "$leptos_stamp"
fi

# 3. wasm-bindgen-cli at exactly the version in Cargo.lock (the two must match).
bindgen_version="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock")"
[ -n "$bindgen_version" ] || fail "cannot find wasm-bindgen in Cargo.lock"
if ! wasm-bindgen --version 2>/dev/null | grep -q " $bindgen_version\$"; then
  say "installing wasm-bindgen-cli $bindgen_version (about 2 minutes, once per machine)"
  # Without --locked: its own lock file names a crate version the registry no longer has.
  tool_install wasm-bindgen-cli@"$bindgen_version"
fi

# 4. npm packages of end2end/ (Playwright, and binaryen for wasm-opt), from the committed lock.
stamp="$ROOT/end2end/node_modules/.latchkey-lock-hash"
lock_hash="$(sha256sum "$ROOT/end2end/package-lock.json" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
  say "installing end2end npm packages (npm ci)"
  (cd "$ROOT/end2end" && npm ci --no-audit --no-fund)
  echo "$lock_hash" > "$stamp"
fi
wasm-opt --version >/dev/null || fail "wasm-opt (npm binaryen) did not install"

if $want_test_tools; then
  # 5. Debian packages the tests use as real peers: Chromium (test tools cannot download
  #    browsers here), nginx (auth_request in front of /auth/basic), Dovecot (IMAP through
  #    `latchkey checkpassword`), curl (the IMAP and HTTP client), wrk (the benchmark's load),
  #    systemd's `systemd-analyze` (verifies the unit in deploy/), openssl (a certificate for
  #    nginx with TLS), sqlite3 (reads what Latchkey recorded), Postfix (SMTP AUTH through
  #    Dovecot, delivery to Dovecot's LMTP), swaks (the SMTP client) and Prometheus (scrapes
  #    the metrics listener), Dovecot's Lua passdb with luasocket, nginx's mail proxy and
  #    Radicale (CalDAV behind nginx's auth_request).
  missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  [ -x /usr/sbin/nginx ] || missing+=(nginx)
  [ -x /usr/sbin/dovecot ] || missing+=(dovecot-imapd)
  command -v curl >/dev/null || missing+=(curl)
  command -v wrk >/dev/null || missing+=(wrk)
  [ -x /usr/bin/systemd-analyze ] || missing+=(systemd)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v sqlite3 >/dev/null || missing+=(sqlite3)
  [ -x /usr/lib/dovecot/lmtp ] || missing+=(dovecot-lmtpd)
  [ -x /usr/sbin/postfix ] || missing+=(postfix)
  command -v swaks >/dev/null || missing+=(swaks)
  [ -x /usr/bin/prometheus ] || missing+=(prometheus)
  # The Lua passdb of deploy/dovecot (Dovecot's Lua auth, and luasocket for its HTTP call,
  # which works the same under Dovecot 2.3 and 2.4) and nginx's mail proxy (auth_http).
  [ -e /usr/lib/dovecot/modules/auth/libauthdb_lua.so ] || missing+=(dovecot-auth-lua)
  [ -e /usr/share/lua/5.4/socket/http.lua ] || missing+=(lua-socket)
  [ -e /usr/lib/nginx/modules/ngx_mail_module.so ] || missing+=(libnginx-mod-mail)
  [ -x /usr/bin/radicale ] || missing+=(radicale)
  if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      say "installing Debian packages: ${missing[*]}"
      apt-get update -qq
      # Services must not start on install: the tests run their own instances on free ports.
      # A policy-rc.d the machine already has is put back exactly as it was afterwards.
      policy=/usr/sbin/policy-rc.d
      saved_policy=""
      if [ -e "$policy" ]; then
        saved_policy="$(mktemp)"
        cp -a "$policy" "$saved_policy"
      fi
      printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy"
      # Postfix asks how to configure itself: not at all (the tests write their own).
      echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
      install_status=0
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || install_status=$?
      if [ -n "$saved_policy" ]; then
        cp -a "$saved_policy" "$policy" && rm -f "$saved_policy"
      else
        rm -f "$policy"
      fi
      [ "$install_status" = 0 ] || fail "apt-get install ${missing[*]} failed (exit $install_status)"
    else
      fail "missing Debian packages: run 'sudo apt-get install ${missing[*]}'"
    fi
  fi

  # 6. cargo-fuzz, pinned, for the short fuzzing run of the Basic header parser.
  if ! cargo fuzz --version 2>/dev/null | grep -q " $CARGO_FUZZ_VERSION\$"; then
    say "installing cargo-fuzz $CARGO_FUZZ_VERSION"
    tool_install cargo-fuzz@"$CARGO_FUZZ_VERSION" --locked
  fi
fi
