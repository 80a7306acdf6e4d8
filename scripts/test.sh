#!/usr/bin/env bash
# Runs every test of xwal. Installs and starts whatever the tests need.
# Usage: scripts/test.sh            (what CI runs, via .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
export RUST_BACKTRACE=1
started=$(date +%s)

step() { echo; echo "== $* ($(( $(date +%s) - started )) s)"; }

step "toolchain"
cargo --version
rustc --version
uname -r

step "format check"
cargo fmt --all -- --check

step "build (debug and release)"
cargo build --all-targets
cargo build --release --bin xwal

step "tests: unit, integration, property, doc"
cargo test --all-targets --no-fail-fast
cargo test --doc

step "done in $(( $(date +%s) - started )) s"
