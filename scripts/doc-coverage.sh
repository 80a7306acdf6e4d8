#!/usr/bin/env bash
# Rustdoc coverage of the library (feature s3 on, so the archive tier counts):
# prints rustdoc's table and fails unless the Total row shows 100.0% documented
# and 100.0% in the Examples column.
# Usage: scripts/doc-coverage.sh   (respects CARGO_TARGET_DIR if set)
#
# `--show-coverage` is unstable, hence RUSTC_BOOTSTRAP=1 on the stable toolchain.
# Note: rustdoc does not count methods of types that are re-exported from private
# modules (Wal, Config, Replay, ...), so 100% here does not prove that every
# method has an example; the doctests (`cargo test --doc`) run all of them.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

table="$(RUSTC_BOOTSTRAP=1 cargo rustdoc -p xwal --lib --features s3,config-file -- \
    -Z unstable-options --show-coverage)"
echo "$table"

# Rows look like: | File | Documented | Percentage | Examples | Percentage |
total="$(awk -F'|' '$2 ~ /^ *Total *$/ { gsub(/ /, ""); print $4 " " $6 }' <<<"$table")"
if [ -z "$total" ]; then
    echo "doc-coverage: no Total row in rustdoc's output" >&2
    exit 1
fi
read -r documented examples <<<"$total"

if [ "$documented" = "100.0%" ] && [ "$examples" = "100.0%" ]; then
    echo "doc-coverage: OK (documented $documented, examples $examples)"
    exit 0
fi

echo "doc-coverage: FAILED: Total is $documented documented, $examples with examples (both must be 100.0%)" >&2
echo "doc-coverage: files below 100.0%:" >&2
awk -F'|' 'NF >= 7 && $2 !~ /^ *(File|Total) *$/ && ($4 !~ /100\.0%/ || $6 !~ /100\.0%/) {
    gsub(/^ +| +$/, "", $2); gsub(/ /, "", $4); gsub(/ /, "", $6)
    print "  " $2 ": documented " $4 ", examples " $6
}' <<<"$table" >&2
exit 1
