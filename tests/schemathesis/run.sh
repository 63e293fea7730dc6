#!/usr/bin/env bash
# The API against its own OpenAPI document, with schemathesis (PyPI): a gateway serving
# a synced small mock, every operation (POSTs too), every check, every phase including
# the stateful one. Exits non-zero on any finding. `.ci/run` runs it after the tests.
#
#   tests/schemathesis/run.sh [extra schemathesis options, e.g. --max-examples 200]
#
# Needs the PostgreSQL server on 127.0.0.1:5432 (DATABASE_URL to use another) and
# python3; installs schemathesis into target/schemathesis-venv the first time.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=tests/schemathesis
say() { printf '\n== schemathesis: %s\n' "$*"; }

venv=${SCHEMATHESIS_VENV:-target/schemathesis-venv}
if ! "$venv/bin/st" --version >/dev/null 2>&1; then
    say "installing schemathesis into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
fi

cargo build --quiet -p interop-gateway -p mock-ministries
bin=target/debug
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
mock_port=$(free_port)
api_port=$(free_port)
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    psql "$server_url" -qAtc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

server_url=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
db="st_$(date +%s)_$$"
psql "$server_url" -qAtc "CREATE DATABASE $db" >/dev/null

say "mock ministries on $mock_port"
"$bin/mock-ministries" --bind "127.0.0.1:$mock_port" --scale small >"$work/mock.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$mock_port/api/v1/gazetteer/units?page=1&per_page=1" 2>/dev/null && break
    sleep 0.2
done

export DATABASE_URL=$server_url
export GATEWAY__DATABASE__NAME=$db
export GATEWAY__AUTH__HS256_SECRET="st-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
export GATEWAY__LOG__FILTER=warn
export GATEWAY__AUDIT__CHECKPOINT_KEY="st-checkpoints-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
# The limiter has tests of its own (tests/tests/e2e/rate_limit.rs); here the sync
# operation's quota is raised so that what runs behind it gets tried too.
export GATEWAY__RATE_LIMIT__ADMIN__PER_SECOND=50
export GATEWAY__RATE_LIMIT__ADMIN__BURST=200
for m in MOI MCS MOH MOEYS MEF; do export "GATEWAY__MINISTRIES__${m}__BASE_URL=http://127.0.0.1:$mock_port"; done

say "syncing the mock into database $db"
"$bin/interop-gateway" sync >"$work/sync.log" 2>&1 || { cat "$work/sync.log"; exit 1; }

say "gateway on $api_port"
"$bin/interop-gateway" serve --bind "127.0.0.1:$api_port" >"$work/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$api_port/readyz" 2>/dev/null && break
    sleep 0.2
done

scopes="staff:read staff:read:pii facilities:read rosters:write reports:read sync:admin audit:read matches:review findings:review corrections:read subscriptions:admin"
token=$("$bin/interop-gateway" token --sub schemathesis --scope "$scopes" --ttl 2h)

say "running (config $here/schemathesis.toml)"
status=0
"$venv/bin/st" --config-file "$here/schemathesis.toml" run "http://127.0.0.1:$api_port/openapi.json" \
    --header "Authorization: Bearer $token" \
    --checks all \
    --phases examples,coverage,fuzzing,stateful \
    --report junit --report-dir target/schemathesis "$@" || status=$?
if [ "$status" -ne 0 ]; then
    say "gateway log (last lines)"
    tail -n 40 "$work/serve.log"
fi
exit "$status"
