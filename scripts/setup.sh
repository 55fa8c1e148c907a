#!/usr/bin/env bash
# Installs whatever a fresh machine lacks to build, run and test Custodian, and starts
# PostgreSQL. Idempotent: each step checks first, so a second run takes seconds.
# Usage: scripts/setup.sh [build|test|bench]   (test and bench include build)
set -euo pipefail
cd "$(dirname "$0")/.."

purpose=${1:-build}
CARGO_LEPTOS_VERSION=0.3.11
LEPTOSFMT_VERSION=0.1.33
SQLX_CLI_VERSION=0.8.6
say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then
    as_root apt-get update -qq
    apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

ensure_wasm_target() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
}

ensure_cargo_leptos() {
  if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
    # no_downloads: cargo-leptos must not fetch tools from GitHub; it finds Tailwind and
    # wasm-opt in node_modules/.bin instead. Its lockfile names a newer rustc than ours.
    say "building cargo-leptos $CARGO_LEPTOS_VERSION (about 25 minutes on 2 cores)"
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked \
      --ignore-rust-version --features no_downloads
  fi
}

ensure_wasm_bindgen() {
  local wanted
  wanted=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)
  if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $wanted"; then
    # Must equal the library version in Cargo.lock. Not --locked: its lockfile pins a crate
    # version the registry lacks.
    say "installing wasm-bindgen-cli $wanted"
    cargo install wasm-bindgen-cli --version "=$wanted"
  fi
}

ensure_nextest() {
  if ! cargo nextest --version >/dev/null 2>&1; then
    say "installing cargo-nextest"
    cargo install cargo-nextest --locked
  fi
}

ensure_leptosfmt() {
  if ! leptosfmt --version 2>/dev/null | grep -q "$LEPTOSFMT_VERSION"; then
    say "installing leptosfmt $LEPTOSFMT_VERSION (checks the view! macros' layout)"
    cargo install leptosfmt --version "$LEPTOSFMT_VERSION" --locked
  fi
}

ensure_sqlx_cli() {
  if ! cargo sqlx --version 2>/dev/null | grep -q "$SQLX_CLI_VERSION"; then
    say "installing sqlx-cli $SQLX_CLI_VERSION (checks the queries' metadata against the schema)"
    cargo install sqlx-cli --version "$SQLX_CLI_VERSION" --locked \
      --no-default-features --features postgres,rustls
  fi
}

ensure_node_modules() {
  if ! command -v npm >/dev/null; then
    say "installing Node.js and npm"
    apt_install nodejs npm
  fi
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "installing npm packages (Tailwind, wasm-opt, Playwright, axe-core)"
    # npm ci installs exactly the committed lockfile and never rewrites it, so a fresh clone
    # stays clean. The lockfile lists every platform's optional Tailwind build.
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
  fi
}

ensure_chromium() {
  if [ ! -x /usr/bin/chromium ]; then
    say "installing Debian's chromium for the browser tests"
    apt_install chromium
  fi
}

ensure_bench_tools() {
  local missing=()
  command -v wrk >/dev/null || missing+=(wrk)
  command -v brotli >/dev/null || missing+=(brotli)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]} for the benchmarks"
    apt_install "${missing[@]}"
  fi
}

# `custodian backup` streams through pg_dump and pg_restore.
ensure_pg_client() {
  if ! command -v pg_dump >/dev/null || ! command -v pg_restore >/dev/null; then
    say "installing the PostgreSQL client tools"
    apt_install postgresql-client
  fi
}

ensure_postgres() {
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    return
  fi
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    say "installing PostgreSQL"
    apt_install postgresql
  fi
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  say "starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p 5432 && return
    sleep 1
  done
  echo "setup: PostgreSQL did not start on 127.0.0.1:5432; see /var/log/postgresql" >&2
  exit 1
}

ensure_wasm_target
ensure_node_modules
ensure_cargo_leptos
ensure_wasm_bindgen
ensure_postgres
ensure_pg_client
case "$purpose" in
  build) ;;
  test) ensure_nextest; ensure_leptosfmt; ensure_sqlx_cli; ensure_chromium ;;
  bench) ensure_bench_tools ;;
  *) echo "usage: $0 [build|test|bench]" >&2; exit 2 ;;
esac
