#!/usr/bin/env bash
# The sync benchmark: a full sync of every ministry from the mock ministries at full
# scale into an empty database, then an incremental sync after 1% of the records
# change, printing records/s, wall time and the sync process's peak memory.
#
# Usage: bench/sync.sh   (DATABASE_URL: the server to use; database bench_sync on it is
#                         dropped and recreated. SYNC_LOG_FILTER="warn,sync::timing=debug"
#                         logs where each page's time goes, into bench/out/sync-*/full.txt)
# After the incremental run, a country discrepancy pass checks that the incremental's
# own pass (over the people it changed) missed nothing.
# The floor: after the full sync, the rows it wrote are loaded by COPY into the same
# tables (a schema-only copy of the database: same columns, keys, indexes, constraints)
# of an empty database bench_sync_floor, two streams at once (one per core). The full
# sync's time is printed as a multiple of that floor, which compares across machines.
# Targets (2 cores): full sync < 60 s, incremental < 5 s, peak memory < 300 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
SERVER_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
DB=bench_sync
FLOOR_DB=bench_sync_floor
OUT=bench/out/sync-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time; }

echo "== building (release)" >&2
cargo build --release -q -p mock-ministries --bin mock-ministries
cargo build --release -q -p interop-gateway --bin interop-gateway

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
target/release/mock-ministries --bind "127.0.0.1:$PORT" --scale full --seed 42 --truth "$OUT/truth.json" >"$OUT/mock.log" 2>&1 &
MOCK=$!
trap 'kill $MOCK 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
    curl -sf "http://127.0.0.1:$PORT/_control/faults" >/dev/null 2>&1 && break
    sleep 0.5
done
BASE="http://127.0.0.1:$PORT"
PERIOD=$(python3 -c "import json; print(json.load(open('$OUT/truth.json'))['current_period'])")

psql -X -q "$SERVER_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
export GATEWAY__DATABASE__URL="$SERVER_URL" GATEWAY__DATABASE__NAME=$DB GATEWAY__LOG__FILTER=${SYNC_LOG_FILTER:-warn}
export GATEWAY__MINISTRIES__MOI__BASE_URL=$BASE GATEWAY__MINISTRIES__MCS__BASE_URL=$BASE \
       GATEWAY__MINISTRIES__MOH__BASE_URL=$BASE GATEWAY__MINISTRIES__MOEYS__BASE_URL=$BASE \
       GATEWAY__MINISTRIES__MEF__BASE_URL=$BASE GATEWAY__MINISTRIES__MEF__PERIODS=$PERIOD
unset DATABASE_URL

sync_timed() { # name, extra args...
    local name=$1; shift
    /usr/bin/time -v target/release/interop-gateway sync "$@" 2>"$OUT/$name.txt" || { cat "$OUT/$name.txt" >&2; exit 1; }
}
echo "== full sync" >&2
START=$(date +%s.%N); sync_timed full --full; END=$(date +%s.%N)
FULL_S=$(python3 -c "print($END - $START)")

echo "== COPY floor: the full sync's rows into the same tables by COPY" >&2
db_url() { python3 -c "import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path='/' + sys.argv[2])))" "$SERVER_URL" "$1"; }
SYNC_URL=$(db_url $DB)
FLOOR_URL=$(db_url $FLOOR_DB)
# The tables a sync writes, in two streams of about equal size whose foreign keys
# point within their own stream (assignments at staff; the review queue and the model).
STREAM_A="raw_records payroll_entries admin_units sync_runs sync_cursors"
STREAM_B="facilities staff assignments source_identifiers source_reports match_pairs match_models"
mkdir -p "$OUT/copy"
for t in $STREAM_A $STREAM_B; do
    psql -X -q "$SYNC_URL" -c "\\copy $t TO '$OUT/copy/$t.bin' (FORMAT binary)"
done
psql -X -q "$SERVER_URL" -c "DROP DATABASE IF EXISTS $FLOOR_DB WITH (FORCE)" -c "CREATE DATABASE $FLOOR_DB"
pg_dump --schema-only --no-owner "$SYNC_URL" | psql -X -q -v ON_ERROR_STOP=1 "$FLOOR_URL" >/dev/null
load_stream() { # tables...
    for t in "$@"; do
        psql -X -q -v ON_ERROR_STOP=1 "$FLOOR_URL" -c "\\copy $t FROM '$OUT/copy/$t.bin' (FORMAT binary)"
    done
}
START=$(date +%s.%N)
load_stream $STREAM_A & A=$!
load_stream $STREAM_B & B=$!
wait $A; wait $B
END=$(date +%s.%N)
FLOOR_S=$(python3 -c "print($END - $START)")
FLOOR_ROWS=$(psql -X -At "$FLOOR_URL" -c "SELECT $(for t in $STREAM_A $STREAM_B; do printf '(SELECT count(*) FROM %s) + ' "$t"; done) 0")
psql -X -q "$SERVER_URL" -c "DROP DATABASE IF EXISTS $FLOOR_DB WITH (FORCE)"
rm -rf "$OUT/copy"

echo "== changing 1% of each ministry's records" >&2
for m in moi mcs moh moeys; do
    curl -sf -X POST -H 'Content-Type: application/json' -d "{\"ministry\":\"$m\",\"share\":0.01}" \
        "$BASE/_control/mutate" >"$OUT/mutate-$m.json"
done
echo "== incremental sync" >&2
START=$(date +%s.%N); sync_timed incremental; END=$(date +%s.%N)
INC_S=$(python3 -c "print($END - $START)")
# The incremental run's pass looked only at the people it changed; a country pass now
# must find nothing new and resolve nothing, or the scoped pass missed something.
echo "== country pass, to check the incremental's scoped pass" >&2
target/release/interop-gateway reconcile 2>"$OUT/check.txt" || { cat "$OUT/check.txt" >&2; exit 1; }

python3 - "$OUT" "$FULL_S" "$INC_S" "$FLOOR_S" "$FLOOR_ROWS" <<'PY' | tee "$OUT/summary.txt"
import sys, re, json, glob
out, full_s, inc_s = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
floor_s, floor_rows = float(sys.argv[4]), int(sys.argv[5])
passes = {}
def parse(name):
    text = open(f"{out}/{name}.txt").read()
    peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1)) / 1024
    m = re.search(r"discrepancy pass: ([0-9.]+) s", text)
    passes[name] = float(m.group(1)) if m else 0.0
    rows = {}
    for line in text.splitlines():
        f = line.split()
        if len(f) == 7 and f[0] in ("moi", "mcs", "moh", "moeys", "mef"):
            rows[f[0]] = dict(zip(["fetched", "inserted", "updated", "unchanged", "rejected", "seconds"], map(float, f[1:])))
    return rows, peak
full, full_peak = parse("full")
inc, inc_peak = parse("incremental")
changed = sum(len(v) for f in glob.glob(f"{out}/mutate-*.json") for v in json.load(open(f))["changed"].values())
total = sum(r["fetched"] for r in full.values())
print("================ sync benchmark (full scale) ================")
for m, r in full.items():
    print(f"full  {m:6} {int(r['fetched']):>8,} records in {r['seconds']:6.1f} s = {r['fetched']/max(r['seconds'],1e-9):>9,.0f}/s"
          f"  (+{int(r['inserted']):,} ~{int(r['updated']):,} ={int(r['unchanged']):,} x{int(r['rejected']):,})")
print(f"full sync: {int(total):,} records in {full_s:.1f} s = {total/full_s:,.0f} records/s, peak memory {full_peak:.0f} MB"
      f" (of which the discrepancy pass {passes['full']:.1f} s)")
print(f"COPY floor: the same {floor_rows:,} rows into the same tables by COPY in {floor_s:.1f} s;"
      f" the full sync took {full_s / floor_s:.1f}x the floor")
inc_total = sum(r["fetched"] for r in inc.values())
updated = sum(r["updated"] for r in inc.values())
print(f"incremental: {changed:,} records changed at the source; read {int(inc_total):,}, updated {int(updated):,}"
      f" in {inc_s:.1f} s (of which the discrepancy pass {passes['incremental']:.1f} s), peak memory {inc_peak:.0f} MB"
      " (a month's payroll is settled once pulled: skipped)")
check = re.search(r"discrepancy pass: ([0-9.]+) s \(\+(\d+) opened, (\d+) resolved\)", open(f"{out}/check.txt").read())
print(f"check: a country pass after the incremental took {check.group(1)} s and opened {check.group(2)}, resolved {check.group(3)}"
      + (" (the scoped pass agreed)" if check.group(2) == check.group(3) == "0" else " (THE SCOPED PASS DISAGREED)"))
print("---------------- targets -------------------------------------")
for name, ok, got, want in [("full sync", full_s < 60, f"{full_s:.1f} s", "< 60 s"),
                            ("incremental", inc_s < 5, f"{inc_s:.1f} s", "< 5 s"),
                            ("peak memory", max(full_peak, inc_peak) < 300, f"{max(full_peak, inc_peak):.0f} MB", "< 300 MB")]:
    print(f"{'PASS' if ok else 'MISS'}  {name:12} {got:>10}   target {want}")
PY
echo "results kept in $OUT" >&2
