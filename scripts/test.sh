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

# The S3 tests' server (moto_server from PyPI) installs into .venv-s3 while
# the Rust builds run: a cold install is ~50 s of mostly waiting on the network.
s3_install_log="$(mktemp)"
scripts/s3-server.sh install >"$s3_install_log" 2>&1 &
s3_install_pid=$!

step "format check"
cargo fmt --all -- --check

# The library's own tests run with the test seams (fault injection, the
# simulated disk, the negative controls) and config files; the command's crate
# builds the library as an embedder does, without the seams.
lib_features=test-seams,config-file

step "clippy: no warning allowed (default features, then the library's test features)"
# Also proves every test target compiles without features (`cargo test
# --workspace`): a test that needs the seams is cfg'd on `test-seams`.
# The peer benchmark (benches/peers, built only on request) is left out: its
# four WAL crates would double the check's build time.
cargo clippy --workspace --exclude xwal-peers --all-targets -- -D warnings
cargo clippy -p xwal --all-targets --features "s3,$lib_features" -- -D warnings

step "build"
# Debug only: a release build finds no compile error a debug one misses, and
# costs this 2-core machine about 100 s; the benchmark and campaign scripts
# build in release themselves.
cargo build -p xwal --all-targets --features "$lib_features"
cargo build -p xwal-cli --all-targets

step "library tests: unit, integration, property"
cargo test -p xwal --all-targets --features "$lib_features" --no-fail-fast

step "command tests (cli/)"
cargo test -p xwal-cli --all-targets --no-fail-fast

step "doc tests, without test-seams (the seams must not exist), then those of the seams"
cargo test -p xwal --doc --features internals,config-file
cargo test -p xwal --doc --features "$lib_features" -- seams fault sim open_with

step "loom: the commit path's own code (src/append_buffer.rs, src/ticket.rs, src/fence.rs) model-checked"
# --cfg loom swaps src/sync.rs to loom's primitives. The model is its own crate
# (loom/), so only the library and its dependencies build with the flag; an
# explicit --target keeps the flag off the build scripts and proc-macros, which
# the normal build already made, and puts the flagged build beside it.
# Without the flag loom/tests/loom_commit.rs compiles to nothing.
host="$(rustc -vV | sed -n 's/^host: //p')"
RUSTFLAGS="--cfg loom" cargo test -p xwal-loom --target "$host" --test loom_commit

step "rustdoc: every public item documented, with an example"
scripts/doc-coverage.sh | tail -1

step "examples (each runs in a temp dir under the current directory)"
for example in append_replay async_tickets checkpoint_truncate prometheus_metrics; do
    echo "-- $example"
    cargo run --quiet -p xwal --features internals,config-file --example "$example"
done
# A measurement (run it in release, alone, for figures): here 5 rounds prove it runs.
echo "-- checkpoint_cost (5 rounds)"
cargo run --quiet -p xwal --features internals,config-file --example checkpoint_cost -- target 5

step "openraft log store (raft/): openraft's own storage suite, the SIGKILL loop"
cargo test -p xwal-openraft --no-fail-fast

step "S3 archive tier (feature s3): against a real S3 server (moto_server on 127.0.0.1)"
# Installs moto[server] into .venv-s3 (once), starts it on a free port, and stops
# it by its PID however the tests end. The tests read XWAL_S3_* from the env file.
if ! wait "$s3_install_pid"; then
    echo "installing moto_server failed:"; cat "$s3_install_log"; exit 1
fi
(
    s3_env="$(mktemp)"
    trap 'scripts/s3-server.sh stop "$s3_env"' EXIT
    scripts/s3-server.sh start "$s3_env"
    set -a
    # shellcheck disable=SC1090
    . "$s3_env"
    set +a
    cargo test -p xwal --features "s3,$lib_features" --lib archive::
    # The library's and the command's S3 tests in one build (one set of features).
    cargo test -p xwal -p xwal-cli --no-fail-fast --test s3 --test s3_cli \
        --features "xwal/s3,xwal/test-seams,xwal/config-file,xwal-cli/s3"
    # Doc examples of the archive tier (compiled only with the feature); the
    # others ran above.
    cargo test -p xwal --features "s3,$lib_features" --doc -- archive Archive
    echo "-- example s3_archive"
    AWS_ACCESS_KEY_ID="$XWAL_S3_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$XWAL_S3_SECRET_KEY" \
        cargo run --quiet -p xwal --features "s3,$lib_features" --example s3_archive
)

step "done in $(( $(date +%s) - started )) s"
