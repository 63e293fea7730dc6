#!/usr/bin/env bash
# The read-API benchmark.
#
# Seeds a database `bench_gateway` with 250,000 staff and 15,000 facilities (timing the
# bulk upserts), starts a release build of the gateway on it, and measures
#   1. GET /v1/staff/{id} for random existing staff through the gateway, with wrk;
#   2. the same single-staff SELECT the store runs, straight to PostgreSQL, with pgbench;
# then prints both, their ratio (how much of the database's own rate the HTTP layer,
# auth, JSON and audit keep), and the targets.
#
# Usage: bench/read_api.sh            (from any directory)
# Environment:
#   DATABASE_URL   server to use (default postgres://postgres@127.0.0.1:5432/postgres);
#                  the database bench_gateway on it is DROPPED and recreated.
#   STAFF, FACILITIES            seeded records (default 250000, 15000)
#   DURATION, WARMUP             wrk run and warm-up lengths (default 20s, 5s)
#   RATE_LIMIT                   on (default: limiting on, quota raised past the load) or off
#   WRK_THREADS, WRK_CONNECTIONS (default 2, 32): the saturating run
#   PACED_RPS, PACED_CONNECTIONS (default 5000, 64): the paced run whose p99 is the target
#   PGBENCH_CLIENTS, PGBENCH_JOBS, PGBENCH_SECONDS (default 8, 2, 20)
#   STRICT=1       exit 1 when a target is missed (default: report only)
# Results and logs are kept in bench/out/read_api-<timestamp>/.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

SERVER_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
DATABASE=bench_gateway
STAFF=${STAFF:-250000}
FACILITIES=${FACILITIES:-15000}
DURATION=${DURATION:-20s}
WARMUP=${WARMUP:-5s}
WRK_THREADS=${WRK_THREADS:-2}
WRK_CONNECTIONS=${WRK_CONNECTIONS:-32}
PACED_RPS=${PACED_RPS:-5000}
PACED_CONNECTIONS=${PACED_CONNECTIONS:-64}
PGBENCH_CLIENTS=${PGBENCH_CLIENTS:-8}
PGBENCH_JOBS=${PGBENCH_JOBS:-2}
PGBENCH_SECONDS=${PGBENCH_SECONDS:-20}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

# Targets.
TARGET_RPS=5000
TARGET_P99_MS=20
TARGET_RATIO=0.4
TARGET_UPSERT=30000

log() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'read_api.sh: FAILED: %s\n' "$*" >&2; exit 1; }

# --- 1. tools ------------------------------------------------------------------------
if ! command -v wrk >/dev/null 2>&1; then
    log "installing wrk"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq wrk
fi
PGBENCH=$(command -v pgbench || true)
if [ -z "$PGBENCH" ] && [ -x /usr/bin/pgbench ]; then PGBENCH=/usr/bin/pgbench; fi
[ -n "$PGBENCH" ] || die "pgbench not found (apt-get install postgresql-client)"
for tool in wrk curl psql python3 cargo; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found"
done

OUT="$ROOT/bench/out/read_api-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/read_api.XXXXXX")
GATEWAY_PID=""

cleanup() {
    if [ -n "$GATEWAY_PID" ] && kill -0 "$GATEWAY_PID" 2>/dev/null; then
        kill "$GATEWAY_PID" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$GATEWAY_PID" 2>/dev/null || break
            sleep 0.2
        done
        kill -9 "$GATEWAY_PID" 2>/dev/null || true
        wait "$GATEWAY_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 2. the database on the server ---------------------------------------------------
# The server URL with its database replaced by bench_gateway, for pgbench and psql.
BENCH_URL=$(python3 - "$SERVER_URL" "$DATABASE" <<'EOF'
import sys, urllib.parse as u
url = u.urlsplit(sys.argv[1])
print(u.urlunsplit(url._replace(path="/" + sys.argv[2])))
EOF
)

# --- 3. build and seed ---------------------------------------------------------------
log "building (release)"
cargo build --release -p interop-gateway --bin interop-gateway
cargo build --release -p store --example bench_seed
GATEWAY="$TARGET_DIR/release/interop-gateway"
SEEDER="$TARGET_DIR/release/examples/bench_seed"
[ -x "$GATEWAY" ] || die "$GATEWAY was not built"
[ -x "$SEEDER" ] || die "$SEEDER was not built"

log "seeding $DATABASE: $STAFF staff, $FACILITIES facilities"
"$SEEDER" --url "$SERVER_URL" --database "$DATABASE" --staff "$STAFF" --facilities "$FACILITIES" \
    | tee "$OUT/seed.txt"
UPSERT_RATE=$(awk '/^staff upsert:/ { print $(NF-1) }' "$OUT/seed.txt")
[ -n "$UPSERT_RATE" ] || die "the seeder printed no 'staff upsert:' line"

# --- 4. the gateway ------------------------------------------------------------------
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
export GATEWAY__AUTH__HS256_SECRET
GATEWAY__AUTH__HS256_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export GATEWAY__DATABASE__URL="$SERVER_URL"
export GATEWAY__DATABASE__NAME="$DATABASE"
export GATEWAY__LOG__FILTER=warn
# Rate limiting stays on as in production, with the read quota raised so that this one
# client is never refused: what is measured is the limiter's cost. RATE_LIMIT=off turns
# it off, for the ratio with and without.
RATE_LIMIT=${RATE_LIMIT:-on}
if [ "$RATE_LIMIT" = off ]; then
    export GATEWAY__RATE_LIMIT__ENABLED=false
else
    export GATEWAY__RATE_LIMIT__ENABLED=true
    export GATEWAY__RATE_LIMIT__READ__PER_SECOND=1000000000
    export GATEWAY__RATE_LIMIT__READ__BURST=1000000000
fi
log "rate limiting: $RATE_LIMIT"
# The gateway lets DATABASE_URL override database.url: keep the two the same.
export DATABASE_URL="$SERVER_URL"

log "starting the gateway on $BASE"
"$GATEWAY" serve --bind "127.0.0.1:$PORT" >"$OUT/gateway.log" 2>&1 &
GATEWAY_PID=$!
ready=""
code=none
deadline=$((SECONDS + 60))
while [ "$SECONDS" -lt "$deadline" ]; do
    if ! kill -0 "$GATEWAY_PID" 2>/dev/null; then
        cat "$OUT/gateway.log" >&2
        die "the gateway exited during start-up (log above)"
    fi
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$BASE/readyz" || true)
    if [ "$code" = 200 ]; then ready=1; break; fi
    sleep 0.5
done
if [ -z "$ready" ]; then
    cat "$OUT/gateway.log" >&2
    die "GET /readyz did not answer 200 within 60 s (last status: $code)"
fi

# --- 5. a token ----------------------------------------------------------------------
TOKEN=$("$GATEWAY" token --sub bench --scope "staff:read staff:read:pii" --ttl 1h | tail -n 1 | tr -d '[:space:]')
[[ "$TOKEN" =~ ^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$ ]] \
    || die "'interop-gateway token' did not print a JWT: ${TOKEN:0:80}"

staff_uuid() { printf '00000000-0000-4000-8000-%012x' "$1"; }
for n in 1 "$STAFF"; do
    path="/v1/staff/$(staff_uuid "$n")"
    code=$(curl -s -o "$WORK/probe.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$BASE$path" || true)
    if [ "$code" != 200 ]; then
        head -c 2000 "$WORK/probe.json" >&2 || true
        die "GET $path answered $code, not 200"
    fi
done

# --- 6. wrk --------------------------------------------------------------------------
cat >"$WORK/staff.lua" <<EOF
-- GET /v1/staff/{id} for a random seeded staff member (ids: bench_seed's scheme).
local max_n = $STAFF
wrk.headers["Authorization"] = "Bearer $TOKEN"

local threads = 0
function setup(thread)
    threads = threads + 1
    thread:set("seed", threads)
end

function init(args)
    math.randomseed(os.time() * 1000 + (seed or 0) * 7919)
end

function request()
    local n = math.random(1, max_n)
    return wrk.format("GET", string.format("/v1/staff/00000000-0000-4000-8000-%012x", n))
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "RESULT rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f requests=%d non2xx=%d socket_errors=%d\n",
        summary.requests / (summary.duration / 1e6),
        latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
        latency.max / 1000, summary.requests, e.status, e.connect + e.read + e.write + e.timeout))
end
EOF

# Fails loudly on any non-2xx response or socket error in a wrk report.
check_wrk() {
    local report=$1
    if grep -q "Non-2xx or 3xx responses" "$report"; then
        cat "$report" >&2
        die "wrk saw error responses ($(grep 'Non-2xx or 3xx responses' "$report" | tr -s ' '))"
    fi
    if grep -q "Socket errors" "$report"; then
        cat "$report" >&2
        die "wrk saw socket errors ($(grep 'Socket errors' "$report" | tr -s ' '))"
    fi
    grep -q '^RESULT ' "$report" || { cat "$report" >&2; die "wrk printed no RESULT line"; }
}

# wrk counts a response slower than its timeout (2 s by default) as a socket error. The
# saturating run overloads on purpose: wrk, the gateway and PostgreSQL share two cores,
# and the few requests that queue longest there are latency to report (p99 and max
# below), not errors. A request unanswered after WRK_TIMEOUT still fails the run.
WRK_TIMEOUT=${WRK_TIMEOUT:-10s}

log "wrk warm-up ($WARMUP)"
wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d"$WARMUP" --timeout "$WRK_TIMEOUT" -s "$WORK/staff.lua" "$BASE" >"$OUT/wrk-warmup.txt"
check_wrk "$OUT/wrk-warmup.txt"

# The gateway's own CPU time (user + system, in clock ticks) from /proc: its cost per
# request is steadier across noisy runs than throughput, which the neighbours move.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$GATEWAY_PID/stat"; }
log "wrk -t$WRK_THREADS -c$WRK_CONNECTIONS -d$DURATION --latency"
CPU_BEFORE=$(cpu_ticks)
wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d"$DURATION" --timeout "$WRK_TIMEOUT" --latency -s "$WORK/staff.lua" "$BASE" \
    | tee "$OUT/wrk.txt"
CPU_AFTER=$(cpu_ticks)
check_wrk "$OUT/wrk.txt"
result_field() { sed -n "s/^RESULT .*$1=\([0-9.]*\).*/\1/p" "$OUT/wrk.txt"; }
GW_RPS=$(result_field rps)
GW_P50=$(result_field p50_ms)
GW_P90=$(result_field p90_ms)
GW_P99=$(result_field p99_ms)
GW_MAX=$(result_field max_ms)
GW_CPU_US=$(python3 -c "print(($CPU_AFTER - $CPU_BEFORE) / $(getconf CLK_TCK) * 1e6 / $(result_field requests))")

# Latency at the target rate, not at saturation: a paced run. Each connection waits
# between requests so that PACED_CONNECTIONS of them together send about PACED_RPS;
# the wait is the cycle each needs minus the median latency measured above.
PACED_DELAY_MS=$(python3 -c "print(max(0, round($PACED_CONNECTIONS * 1000 / $PACED_RPS - $GW_P50)))")
sed "s/^function done/function delay()\n    return $PACED_DELAY_MS\nend\n\nfunction done/" \
    "$WORK/staff.lua" >"$WORK/staff-paced.lua"
log "paced wrk: $PACED_CONNECTIONS connections, ${PACED_DELAY_MS} ms between requests (~$PACED_RPS req/s)"
wrk -t"$WRK_THREADS" -c"$PACED_CONNECTIONS" -d"$DURATION" --timeout "$WRK_TIMEOUT" --latency -s "$WORK/staff-paced.lua" "$BASE" \
    | tee "$OUT/wrk-paced.txt"
check_wrk "$OUT/wrk-paced.txt"
PACED_RATE=$(sed -n "s/^RESULT .*rps=\([0-9.]*\).*/\1/p" "$OUT/wrk-paced.txt")
PACED_P50=$(sed -n "s/^RESULT .*p50_ms=\([0-9.]*\).*/\1/p" "$OUT/wrk-paced.txt")
PACED_P99=$(sed -n "s/^RESULT .*p99_ms=\([0-9.]*\).*/\1/p" "$OUT/wrk-paced.txt")
PACED_MAX=$(sed -n "s/^RESULT .*max_ms=\([0-9.]*\).*/\1/p" "$OUT/wrk-paced.txt")

# The gateway is done with; stop it so pgbench has the machine to itself.
kill "$GATEWAY_PID" 2>/dev/null || true
wait "$GATEWAY_PID" 2>/dev/null || true
GATEWAY_PID=""

# --- 7. pgbench ----------------------------------------------------------------------
# The SELECT of Store::get_staff, taken from crates/store/src/read.rs so the two
# benchmarks run the same query; only the id is computed from :n here.
python3 - "$ROOT/crates/store/src/read.rs" >"$WORK/select.sql" <<'EOF'
import re, sys
src = open(sys.argv[1], encoding="utf-8").read()
def const(name):
    m = re.search(r'const %s: &str =\s*"((?:[^"\\]|\\.)*)";' % name, src, re.S)
    if not m:
        sys.exit(f"read_api.sh: const {name} not found in {sys.argv[1]}; update bench/read_api.sh")
    text = re.sub(r"\\\n\s*", "", m.group(1))  # Rust's line continuation
    if "\\" in text:
        sys.exit(f"read_api.sh: unexpected escape in {name}; update bench/read_api.sh")
    return text
if "SELECT {STAFF_COLUMNS}, {ASSIGNMENTS_OF_STAFF} FROM staff s" not in src:
    sys.exit("read_api.sh: get_staff's SELECT changed in read.rs; update bench/read_api.sh")
print(f"SELECT {const('STAFF_COLUMNS')}, {const('ASSIGNMENTS_OF_STAFF')} FROM staff s\n"
      "WHERE s.id = ('00000000-0000-4000-8000-' || lpad(to_hex(CAST(:n AS integer)), 12, '0'))::uuid;")
EOF
{ printf '\\set n random(1, %s)\n' "$STAFF"; cat "$WORK/select.sql"; } >"$WORK/staff.pgbench"
cp "$WORK/staff.pgbench" "$OUT/staff.pgbench"

# The query must find a seeded row, or pgbench would time a miss.
for n in 1 "$STAFF"; do
    rows=$(psql -X -At -v ON_ERROR_STOP=1 -v n="$n" -f "$WORK/select.sql" "$BENCH_URL" | wc -l) \
        || die "the pgbench query failed in psql (error above)"
    [ "$rows" -eq 1 ] || die "the pgbench query found $rows rows for staff $n, not 1"
done

log "pgbench -M prepared -c $PGBENCH_CLIENTS -j $PGBENCH_JOBS -T $PGBENCH_SECONDS"
"$PGBENCH" -M prepared -c "$PGBENCH_CLIENTS" -j "$PGBENCH_JOBS" -T "$PGBENCH_SECONDS" -n \
    -f "$WORK/staff.pgbench" "$BENCH_URL" | tee "$OUT/pgbench.txt"
PG_TPS=$(awk '/^tps = / { print $3; exit }' "$OUT/pgbench.txt")
[ -n "$PG_TPS" ] || die "pgbench printed no tps"
if grep -Eq '^number of failed transactions: [1-9]' "$OUT/pgbench.txt"; then
    die "pgbench had failed transactions"
fi

# --- 8. summary ----------------------------------------------------------------------
python3 - "$GW_RPS" "$GW_P50" "$GW_P90" "$GW_P99" "$PG_TPS" "$UPSERT_RATE" \
    "$TARGET_RPS" "$TARGET_P99_MS" "$TARGET_RATIO" "$TARGET_UPSERT" "${STRICT:-0}" \
    "$PACED_RATE" "$PACED_P50" "$PACED_P99" "$GW_MAX" "$PACED_MAX" "$GW_CPU_US" "$RATE_LIMIT" \
    <<'EOF' | tee "$OUT/summary.txt"
import sys
rps, p50, p90, p99, tps, upsert, t_rps, t_p99, t_ratio, t_upsert = map(float, sys.argv[1:11])
strict = sys.argv[11] == "1"
paced_rps, paced_p50, paced_p99, gw_max, paced_max, cpu_us = map(float, sys.argv[12:18])
rate_limit = sys.argv[18]
ratio = rps / tps if tps else 0.0
checks = [
    ("gateway throughput", f"{rps:,.0f} req/s", f">= {t_rps:,.0f} req/s", rps >= t_rps),
    ("p99 at >= 5,000 req/s", f"{paced_p99:.2f} ms", f"< {t_p99:g} ms at {paced_rps:,.0f} req/s",
     paced_p99 < t_p99 and paced_rps >= 0.95 * t_rps),
    ("gateway / pgbench", f"{ratio:.2f}", f">= {t_ratio:g}", ratio >= t_ratio),
    ("staff upsert", f"{upsert:,.0f} rows/s", f">= {t_upsert:,.0f} rows/s", upsert >= t_upsert),
]
print()
print("================ read API benchmark ================")
print(f"gateway GET /v1/staff/{{id}}  {rps:12,.0f} req/s   p50 {p50:.2f} ms  p90 {p90:.2f} ms  p99 {p99:.2f} ms  max {gw_max:.0f} ms")
print(f"gateway, paced              {paced_rps:12,.0f} req/s   p50 {paced_p50:.2f} ms  p99 {paced_p99:.2f} ms  max {paced_max:.0f} ms")
print(f"pgbench same SELECT          {tps:12,.0f} tps")
print(f"ratio gateway / pgbench      {ratio:12.2f}")
print(f"gateway CPU per request      {cpu_us:12.1f} us   (rate limiting {rate_limit})")
print(f"staff upsert                 {upsert:12,.0f} rows/s")
print("---------------- targets ---------------------------")
for name, got, target, ok in checks:
    print(f"{'PASS' if ok else 'MISS'}  {name:22} {got:>16}   target {target}")
print("====================================================")
missed = [c for c in checks if not c[3]]
if missed and strict:
    sys.exit(1)
EOF
printf 'results kept in %s\n' "$OUT" >&2
