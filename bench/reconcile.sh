#!/usr/bin/env bash
# The discrepancy benchmark: the mock ministries at full scale, a full sync of every
# ministry into an empty database, the discrepancy pass over the whole country, rosters
# submitted from 10% of the service sites over HTTP, and the open findings scored
# against the mock's ground truth (precision and recall per kind).
#
# Usage: bench/reconcile.sh [share]   (DATABASE_URL: the server to use; database
#                                      bench_reconcile on it is dropped and recreated)
# Targets (2 cores): the pass < 10 s for the whole country after a full sync; < 200 ms
# added to one roster submission; precision and recall >= 0.99 for each kind.
set -euo pipefail
cd "$(dirname "$0")/.."
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
OUT=bench/out/reconcile-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
echo "== building (release)" >&2
cargo build --release -q -p e2e --example reconcile_bench
target/release/examples/reconcile_bench --share "${1:-0.1}" | tee "$OUT/summary.txt"
echo "results kept in $OUT" >&2
