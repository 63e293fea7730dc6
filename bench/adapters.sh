#!/usr/bin/env bash
# The adapter benchmark: pulls all five ministries at full scale from the mock
# ministries over loopback through the real adapters, and prints records/s per
# ministry and the adapter process's peak memory (the mock runs in its own process).
#
# Usage: bench/adapters.sh     (SEED, PAGE_SIZE, PERIOD in the environment to vary)
# Targets: >= 50,000 records/s for the MCS roll and for MoEYS (EMIS teachers CSV);
#          peak memory < 200 MB for the whole pull.
set -euo pipefail
cd "$(dirname "$0")/.."
SEED=${SEED:-42}
PAGE_SIZE=${PAGE_SIZE:-1000}
# PERIOD: the payroll month to pull; default the mock's current period (its truth's).
PERIOD=${PERIOD:-}
OUT=bench/out/adapters-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"

[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time; }

echo "== building (release)" >&2
cargo build --release -q -p mock-ministries --bin mock-ministries
cargo build --release -q -p e2e --example pull_all

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
target/release/mock-ministries --bind "127.0.0.1:$PORT" --scale full --seed "$SEED" --truth "$OUT/truth.json" \
    >"$OUT/mock.log" 2>&1 &
MOCK=$!
trap 'kill $MOCK 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
    curl -sf "http://127.0.0.1:$PORT/_control/faults" >/dev/null 2>&1 && break
    kill -0 $MOCK 2>/dev/null || { cat "$OUT/mock.log" >&2; echo "mock-ministries died" >&2; exit 1; }
    sleep 0.5
done

[ -n "$PERIOD" ] || PERIOD=$(python3 -c "import json; print(json.load(open('$OUT/truth.json'))['current_period'])")

echo "== pulling every ministry at full scale (payroll $PERIOD)" >&2
/usr/bin/time -v target/release/examples/pull_all --base "http://127.0.0.1:$PORT" \
    --page-size "$PAGE_SIZE" --period "$PERIOD" >"$OUT/pull.txt" 2>"$OUT/time.txt" || {
    cat "$OUT/pull.txt" "$OUT/time.txt" >&2; exit 1; }
PEAK_KB=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$OUT/time.txt")

python3 - "$OUT/pull.txt" "$PEAK_KB" <<'PY' | tee "$OUT/summary.txt"
import sys, re
rows = {}
for line in open(sys.argv[1]):
    if line.startswith("RESULT "):
        f = dict(kv.split("=") for kv in line.split()[1:])
        rows[(f["ministry"], f["feed"])] = f
peak_mb = int(sys.argv[2]) / 1024
print("================ adapter benchmark (full scale) ================")
for (m, feed), r in rows.items():
    total = int(r["records"]) + int(r["rejected"])
    print(f"{m:6} {feed:20} {total:>9,} records ({int(r['rejected']):,} rejected) in {float(r['seconds']):7.2f} s"
          f" = {float(r['records_per_s']):>9,.0f} records/s")
print(f"peak memory of the adapter process: {peak_mb:.0f} MB")
print("---------------- targets ---------------------------------------")
checks = [("MCS roll", float(rows[("mcs", "officers")]["records_per_s"]), 50000),
          ("EMIS teachers", float(rows[("moeys", "teachers")]["records_per_s"]), 50000)]
for name, got, want in checks:
    print(f"{'PASS' if got >= want else 'MISS'}  {name:12} {got:>9,.0f} records/s   target >= {want:,}")
print(f"{'PASS' if peak_mb < 200 else 'MISS'}  peak memory  {peak_mb:>9.0f} MB          target < 200 MB")
PY
echo "results kept in $OUT" >&2
