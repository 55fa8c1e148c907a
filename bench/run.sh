#!/usr/bin/env bash
# Serves the release build on its own port and database, loads the SSR home page and a static
# asset of the same server with wrk at the same concurrency, and writes req/s, p50, p99 and
# their ratio (the machine is noisy: the ratio is the figure) plus the WASM bundle size to
# bench/results.md. Run through `make bench`, which builds first.
set -euo pipefail
cd "$(dirname "$0")/.."

ADDR=127.0.0.1:3200
DB=custodian_bench
CONNECTIONS=${BENCH_CONNECTIONS:-16}
DURATION=${BENCH_DURATION:-10s}
OUT=bench/out
RESULTS=bench/results.md
mkdir -p "$OUT"

dropdb --if-exists --force -h 127.0.0.1 -U postgres "$DB"
rm -rf target/bench-data
DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB" RUST_LOG=warn \
  target/release/custodian serve --site-addr "$ADDR" --data-dir target/bench-data \
  --site-root target/site >"$OUT/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do
  curl -fsS "http://$ADDR/healthz" >/dev/null 2>&1 && break
  sleep 1
done

# Prints "req/s p50_ms p99_ms" for one URL.
measure() {
  wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "$1" >"$OUT/$2.txt"
  awk -v errors="$(grep -c 'Non-2xx\|Socket errors' "$OUT/$2.txt" || true)" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /Requests\/sec/ { rps = $2 }
    $1 == "50.000%" || $1 == "50%" { p50 = ms($2) }
    $1 == "99.000%" || $1 == "99%" { p99 = ms($2) }
    END { if (errors > 0) { print "wrk reported errors" > "/dev/stderr"; exit 1 } printf "%.0f %.2f %.2f\n", rps, p50, p99 }
  ' "$OUT/$2.txt"
}

read -r ssr_rps ssr_p50 ssr_p99 < <(measure "http://$ADDR/" ssr-home)
read -r static_rps static_p50 static_p99 < <(measure "http://$ADDR/pkg/custodian.css" static-css)
ratio=$(awk -v a="$ssr_rps" -v b="$static_rps" 'BEGIN { printf "%.2f", a / b }')

wasm=target/site/pkg/custodian.wasm
raw=$(stat -c %s "$wasm")
gz=$(gzip -9 -c "$wasm" | wc -c)
br=$(brotli -q 11 -c "$wasm" | wc -c)
kb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1024 }'; }
verdict() { if awk "BEGIN { exit !($1) }"; then echo "met"; else echo "MISSED"; fi; }

cat >"$RESULTS" <<MD
# Benchmark results

$(date -u +"%Y-%m-%d %H:%M UTC"), $(nproc) cores, wrk -t2 -c$CONNECTIONS -d$DURATION, release build.

| target | req/s | p50 ms | p99 ms |
|---|---|---|---|
| SSR home page \`/\` | $ssr_rps | $ssr_p50 | $ssr_p99 |
| static asset \`/pkg/custodian.css\` | $static_rps | $static_p50 | $static_p99 |

SSR / static throughput: **$ratio** (target ≥ 0.30: $(verdict "$ratio >= 0.30")).

| WASM bundle | KB |
|---|---|
| raw | $(kb "$raw") |
| gzip -9 | $(kb "$gz") |
| brotli -q 11 | $(kb "$br") |

Gzip size target ≤ 300 KB: $(verdict "$gz <= 300 * 1024").
MD
cat "$RESULTS"
