#!/usr/bin/env bash
# The linkage benchmark, side by side with the peer: the mock ministries (with their
# linkage noise) exported to one flat file of person records (`linkage_export`), then
# our matcher (`linkage_match`) and Splink (PyPI, DuckDB backend, trained as its docs
# train: u by random sampling, m by EM on two blocking rules) over the same file, in one
# run; both scored against the mock's truth by one function (bench/linkage_peer.py):
# precision, recall, F1 at the chosen thresholds and at the best one, false merges,
# wall time and peak memory.
#
# Usage: bench/linkage.sh [small|full]   (default full; results in bench/out/linkage-*/)
# Splink is installed into target/linkage-venv (splink 5.0.0, pandas) on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${1:-full}
OUT=bench/out/linkage-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time; }
VENV=target/linkage-venv
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import splink, pandas' 2>/dev/null; then
    echo "== installing splink into $VENV" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "splink==5.0.0" pandas
fi
echo "== building (release)" >&2
cargo build --release -q -p e2e --example linkage_export --example linkage_match
target/release/examples/linkage_export --scale "$SCALE" --out "$OUT/people.csv"

peak() { grep 'Maximum resident' "$1" | awk '{printf "%.0f MB", $6/1024}'; }
wall() { grep 'Elapsed (wall' "$1" | awk '{print $8}'; }
echo "== ours" >&2
/usr/bin/time -v target/release/examples/linkage_match --in "$OUT/people.csv" --out "$OUT/ours.csv" 2>"$OUT/ours.time"
echo "== splink" >&2
/usr/bin/time -v "$VENV/bin/python" bench/linkage_peer.py splink "$OUT/people.csv" "$OUT/splink.csv" 2>"$OUT/splink.time" >/dev/null
OURS=$(python3 bench/linkage_peer.py score "$OUT/people.csv" "$OUT/ours.csv" ours --decided)
PEER=$(python3 bench/linkage_peer.py score "$OUT/people.csv" "$OUT/splink.csv" splink)
echo "$OURS" >"$OUT/ours.json"; echo "$PEER" >"$OUT/splink.json"
grep -v '^\s*\(Command\|User\|System\|Percent\|Average\|Exit\|Page\|Swaps\|File\|Socket\|Signals\|Voluntary\|Involuntary\)' "$OUT/ours.time" | grep -v 'Elapsed\|Maximum' || true
python3 - "$OUT" "$(wall "$OUT/ours.time")" "$(peak "$OUT/ours.time")" "$(wall "$OUT/splink.time")" "$(peak "$OUT/splink.time")" <<'PY'
import json, sys
out, ow, om, sw, sm = sys.argv[1:]
ours = json.load(open(f"{out}/ours.json")); peer = json.load(open(f"{out}/splink.json"))
def row(label, m): return f"{label:<34} precision {m['precision']:.4f}  recall {m['recall']:.4f}  F1 {m['f1']:.4f}  false merges {m['false_merges']}"
print(f"================ linkage benchmark ({ours['truth_pairs']} true pairs) ================")
print(row("ours, linked (link threshold)", ours["chosen"]))
print(row("ours, linked or queued for review", ours["linked_or_queued"]))
print(row("ours, best threshold", ours["best"]))
print(row("splink, p >= 0.9", peer["chosen"]))
print(row("splink, best threshold", peer["best"]))
print(f"wall time  ours {ow}  splink {sw}")
print(f"peak memory  ours {om}  splink {sm}")
print(f"F1 at best threshold: ours / splink = {ours['best']['f1'] / peer['best']['f1']:.4f}")
PY
echo "results kept in $OUT"
