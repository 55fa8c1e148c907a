#!/usr/bin/env bash
# The export (promise P8) of an account seeded with 500,000 security-log events and 50,000
# consent records, made by `custodian export` (the code the server's job runs), against
# `COPY (SELECT …) TO STDOUT` of the same rows in the same run: rows per second of each and
# their ratio (target: the export at least a third of COPY's rate), and the export's peak RSS
# against the same command for an empty account (target: under 64 MB more, i.e. streamed).
# Writes bench/export.md. Run through `make bench`, which builds first.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

ADDR=127.0.0.1:3201
DB=custodian_bench_export
REGION_DB=${DB}_us_east
EVENTS=${BENCH_EXPORT_EVENTS:-500000}
CONSENTS=${BENCH_EXPORT_CONSENTS:-50000}
OUT=bench/out
RESULTS=bench/export.md
mkdir -p "$OUT"
for db in "$DB" "${DB}_us_east" "${DB}_eu_west"; do
  dropdb --if-exists --force -h 127.0.0.1 -U postgres "$db"
done
rm -rf target/bench-export-data
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
psql_region() { psql -qAtX -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres "$REGION_DB" "$@"; }

# Two accounts signed up through the site: one to seed, one left empty for the baseline.
RUST_LOG=warn target/release/custodian serve --site-addr "$ADDR" --data-dir target/bench-export-data \
  --site-root target/site >"$OUT/export-server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
wait_healthy "$ADDR"
PASSWORD='violet+kettle+drums+at+midnight'
for who in big empty; do
  code=$(target/release/custodian invite create --site-addr "$ADDR" | awk '/Invite code:/ { print $3 }')
  curl -fsS -o /dev/null -H 'sec-fetch-site: same-origin' -H 'accept: application/json' \
    --data "email=$who@example.com&display_name=Bench&password=$PASSWORD&region=us-east&invite=$code" \
    "http://$ADDR/api/signup"
done
kill "$server"; wait "$server" 2>/dev/null || true

owner=$(psql_region -c "SELECT owner_id FROM accounts WHERE email = 'big@example.com'")
psql_region <<SQL
INSERT INTO audit_events (owner_id, seq, occurred_at, kind, detail, ip_prefix, user_agent, prev_hash, hash)
SELECT '$owner', 1000 + n, now() - n * interval '1 second', 'signed_in', 'bench event ' || n,
       '203.0.113.0/24', 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0',
       sha256(int8send(n)), sha256(int8send(n + 1))
FROM generate_series(1, $EVENTS) AS n;
INSERT INTO consent_records (owner_id, id, granted, denied, policy_version, method, gpc, recorded_at, user_agent)
SELECT '$owner', gen_random_uuid(), '{essential,functional}', '{analytics}', 1, 'settings', false,
       now() - n * interval '1 second', 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0'
FROM generate_series(1, $CONSENTS) AS n;
ANALYZE;
SQL

# Wall time and peak RSS (KiB) of a command, by Python's standard library.
measure() {
  python3 - "$@" <<'PY'
import resource, subprocess, sys, time
start = time.monotonic()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
wall = time.monotonic() - start
print(f"{wall:.3f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")
PY
}
rows=$(psql_region -c "SELECT (SELECT count(*) FROM audit_events WHERE owner_id = '$owner') + (SELECT count(*) FROM consent_records WHERE owner_id = '$owner')")
read -r copy_s _ < <(measure psql -qAtX -h 127.0.0.1 -U postgres "$REGION_DB" \
  -c "COPY (SELECT * FROM audit_events WHERE owner_id = '$owner' ORDER BY seq) TO STDOUT" \
  -c "COPY (SELECT * FROM consent_records WHERE owner_id = '$owner' ORDER BY recorded_at, id) TO STDOUT")
# How much of COPY's rate is left once PostgreSQL writes each row as JSON, the export's way of
# reading (a bound on what the export can reach).
read -r json_s _ < <(measure psql -qAtX -h 127.0.0.1 -U postgres "$REGION_DB" \
  -c "COPY (SELECT row_to_json(e)::text FROM audit_events e WHERE owner_id = '$owner' ORDER BY seq) TO STDOUT" \
  -c "COPY (SELECT row_to_json(c)::text FROM consent_records c WHERE owner_id = '$owner' ORDER BY recorded_at, id) TO STDOUT")
read -r empty_s empty_kib < <(measure target/release/custodian export --data-dir target/bench-export-data --email empty@example.com --out "$OUT/export-empty.zip")
read -r export_s export_kib < <(measure target/release/custodian export --data-dir target/bench-export-data --email big@example.com --out "$OUT/export-big.zip")
size=$(stat -c %s "$OUT/export-big.zip")
records=$(python3 -c "import json, sys, zipfile; m = json.loads(zipfile.ZipFile(sys.argv[1]).read('manifest.json')); print(sum(f['records'] or 0 for f in m['files']))" "$OUT/export-big.zip")

calc() { awk "BEGIN { printf \"$1\", $2 }"; }
verdict() { if awk "BEGIN { exit !($1) }"; then echo "met"; else echo "MISSED"; fi; }
export_rate=$(calc "%.0f" "$records / $export_s")
copy_rate=$(calc "%.0f" "$rows / $copy_s")
json_rate=$(calc "%.0f" "$rows / $json_s")
rate_ratio=$(calc "%.2f" "$export_rate / $copy_rate")
growth_mb=$(calc "%.1f" "($export_kib - $empty_kib) / 1024")

cat >"$RESULTS" <<MD
# Export benchmark

$(date -u +"%Y-%m-%d %H:%M UTC"), $(nproc) cores, release build. One account with $EVENTS
security-log events and $CONSENTS consent records, exported by \`custodian export\` (the code the
server's export job runs: one REPEATABLE READ snapshot, one JSON file per kind, schemas, the
viewer, a signed manifest, zipped with deflate), beside PostgreSQL's own \`COPY … TO STDOUT\` of the
same two tables' rows, in the same run.

| what | rows | seconds | rows/s |
|---|---|---|---|
| \`custodian export\` (every file, $(calc "%.1f" "$size / 1048576") MB zip) | $records | $export_s | $export_rate |
| \`COPY (SELECT …) TO STDOUT\` (the two big tables) | $rows | $copy_s | $copy_rate |
| the same COPY, each row as JSON (\`row_to_json\`) | $rows | $json_s | $json_rate |

Export / COPY rows per second: **$rate_ratio** (target ≥ 0.33: $(verdict "$rate_ratio >= 0.33")).
PostgreSQL's JSON alone reaches $(calc "%.2f" "$json_rate / $copy_rate") of COPY's rate; the export then signs a receipt per
consent record and compresses every file.

Peak RSS of the export: $(calc "%.1f" "$export_kib / 1024") MB, against $(calc "%.1f" "$empty_kib / 1024") MB for
an account with almost nothing ($empty_s s): **$growth_mb MB** more (target < 64 MB: $(verdict "$growth_mb < 64")).
MD
cat "$RESULTS"
