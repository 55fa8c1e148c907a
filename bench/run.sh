#!/usr/bin/env bash
# Serves the release build on its own port and database, loads the SSR home page, a signed-in
# page and a static asset of the same server with wrk at the same concurrency, then sign-ins at
# 20 concurrent, and writes req/s, p50, p99 and the ratios to the static asset (the machine is
# noisy: the ratio is the figure) plus the WASM bundle size to bench/results.md. Run through
# `make bench`, which builds first.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

ADDR=127.0.0.1:3200
DB=custodian_bench
CONNECTIONS=${BENCH_CONNECTIONS:-16}
SIGN_IN_CONNECTIONS=20
DURATION=${BENCH_DURATION:-10s}
OUT=bench/out
RESULTS=bench/results.md
mkdir -p "$OUT"

for db in "$DB" "${DB}_us_east" "${DB}_eu_west" "${DB}_single" "${DB}_single_us_east" "${DB}_single_eu_west"; do
  dropdb --if-exists --force -h 127.0.0.1 -U postgres "$db"
done
rm -rf target/bench-data
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
# The per-network sign-in limit would refuse a benchmark from one address; lifted here only.
RUST_LOG=warn target/release/custodian serve --site-addr "$ADDR" --data-dir target/bench-data \
  --site-root target/site --auth-rate-limit 1000000000 >"$OUT/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
wait_healthy "$ADDR"

# One account for the signed-in session, and one per sign-in connection: every attempt counts
# against its account before the password is checked, so one account signed in to twenty times
# at once would be throttled like an attacker's guesses.
PASSWORD='violet+kettle+drums+at+midnight'
form() { curl -fsS -o /dev/null -H 'sec-fetch-site: same-origin' -H 'accept: application/json' "$@"; }
sign_up() {
  local code
  code=$(target/release/custodian invite create --site-addr "$ADDR" | awk '/Invite code:/ { print $3 }')
  form --data "email=$1&display_name=Bench&password=$PASSWORD&region=us-east&invite=$code" "http://$ADDR/api/signup"
}
sign_up bench@example.com
for i in $(seq 1 "$SIGN_IN_CONNECTIONS"); do sign_up "bench$i@example.com"; done
form -c "$OUT/cookies.txt" --data "email=bench@example.com&password=$PASSWORD&remember=on" "http://$ADDR/api/signin"
cookie=$(awk '$6 == "custodian_session" { print $6 "=" $7 }' "$OUT/cookies.txt")
# wrk's two threads take half the accounts each and go round them.
cat >"$OUT/sign-in.lua" <<LUA
local threads = 0
function setup(thread)
  thread:set("first", threads * $((SIGN_IN_CONNECTIONS / 2)))
  threads = threads + 1
end
function init(args)
  first = tonumber(wrk.thread:get("first"))
  sent = 0
end
function request()
  sent = sent + 1
  local account = first + (sent % $((SIGN_IN_CONNECTIONS / 2))) + 1
  return wrk.format("POST", nil, {
    ["content-type"] = "application/x-www-form-urlencoded",
    ["accept"] = "application/json",
    ["sec-fetch-site"] = "same-origin",
  }, "email=bench" .. account .. "%40example.com&password=$PASSWORD")
end
LUA

# Prints "req/s p50_ms p99_ms" for one URL; further arguments go to wrk.
measure() {
  local url=$1 name=$2 connections=$3
  shift 3
  wrk -t2 -c"$connections" -d"$DURATION" --latency "$@" "$url" >"$OUT/$name.txt"
  awk -v errors="$(grep -c 'Non-2xx\|Socket errors' "$OUT/$name.txt" || true)" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /Requests\/sec/ { rps = $2 }
    $1 == "50.000%" || $1 == "50%" { p50 = ms($2) }
    $1 == "99.000%" || $1 == "99%" { p99 = ms($2) }
    END { if (errors > 0) { print "wrk reported errors" > "/dev/stderr"; exit 1 } printf "%.0f %.2f %.2f\n", rps, p50, p99 }
  ' "$OUT/$name.txt"
}

# wrk counts a redirect as success: the cookie must get the page itself, before and after.
signed_in_page() {
  [ "$(curl -sS -o /dev/null -w '%{http_code}' -H "cookie: $cookie" "http://$ADDR/account")" = 200 ] ||
    { echo "the session cookie does not reach /account" >&2; exit 1; }
}
signed_in_page
read -r ssr_rps ssr_p50 ssr_p99 < <(measure "http://$ADDR/" ssr-home "$CONNECTIONS")
read -r auth_rps auth_p50 auth_p99 < <(measure "http://$ADDR/account" account "$CONNECTIONS" -H "cookie: $cookie")
signed_in_page
read -r static_rps static_p50 static_p99 < <(measure "http://$ADDR/pkg/custodian.css" static-css "$CONNECTIONS")
read -r signin_rps signin_p50 signin_p99 < <(measure "http://$ADDR/api/signin" sign-in "$SIGN_IN_CONNECTIONS" -s "$OUT/sign-in.lua")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# An app's index.html from its own origin, as a share link's visitor gets it: an app from the
# starter, a link, the link opened (which mints the frame's capability token), then the frame's
# address under load, beside the static asset at the same concurrency.
as_owner() { curl -fsS -H 'sec-fetch-site: same-origin' -H 'accept: application/json' -H "cookie: $cookie" "$@"; }
app_id=$(as_owner --data "name=Bench&description=&start=starter" "http://$ADDR/api/apps/create" | tr -d '"')
link=$(as_owner --data "id=$app_id&label=bench&expiry=never&password=" "http://$ADDR/api/apps/link/create" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["url"])')
token=${link##*/}
frame=$(curl -fsS -H 'sec-fetch-site: same-origin' -H 'accept: application/json' \
  --data "app=$app_id&token=$token" "http://$ADDR/api/apps/shared" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["Open"]["frame"])')
app_host=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.urlsplit(sys.argv[1]).netloc)' "$frame")
app_path=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.urlsplit(sys.argv[1]).path)' "$frame")
[ "$(curl -sS -o /dev/null -w '%{http_code}' -H "host: $app_host" "http://$ADDR$app_path")" = 200 ] ||
  { echo "the shared app's frame does not answer" >&2; exit 1; }
# wrk replaces its own Host header only when the name is spelled "Host".
read -r app_rps app_p50 app_p99 < <(measure "http://$ADDR$app_path" app-index "$CONNECTIONS" -H "Host: $app_host")
app_ratio=$(ratio "$app_rps" "$static_rps")

# Discover with 10,000 published apps (written straight into the US-East database, where the
# bench account lives), asked for anonymously, beside the static asset; then a search that must
# read every published app's name and description.
psql -q -h 127.0.0.1 -U postgres -d "${DB}_us_east" -v ON_ERROR_STOP=1 <<'SQL'
INSERT INTO apps (owner_id, id, name, description, created_at, updated_at, published_at, published_author)
SELECT a.owner_id, gen_random_uuid(), 'Bench app ' || n, 'A published app for the benchmark, number ' || n,
       now(), now(), now() - n * interval '1 minute', 'Bench'
FROM accounts a, generate_series(1, 10000) n WHERE a.email = 'bench@example.com';
ANALYZE apps;
SQL
curl -fsS "http://$ADDR/discover" | grep -q 'Bench app 1' ||
  { echo "the gallery does not list the published apps" >&2; exit 1; }
read -r discover_rps discover_p50 discover_p99 < <(measure "http://$ADDR/discover" discover "$CONNECTIONS")
read -r search_rps search_p50 search_p99 < <(measure "http://$ADDR/discover?q=number+9999" discover-search "$CONNECTIONS")
discover_ratio=$(ratio "$discover_rps" "$static_rps")

# Routing between regions: the signed-in page for a US-East and an EU-West tenant at once (each
# request alternates cookies), then the same page on a server whose directory and only region
# are one database, as before regions. Both in this run, one server at a time.
sign_up_in() { # email region -> session cookie
  local code
  code=$(target/release/custodian invite create --site-addr "$1" | awk '/Invite code:/ { print $3 }')
  form --data "email=$2&display_name=Bench&password=$PASSWORD&region=$3&invite=$code" "http://$1/api/signup"
  form -c "$OUT/cookies-$3.txt" --data "email=$2&password=$PASSWORD&remember=on" "http://$1/api/signin"
  awk '$6 == "custodian_session" { print $6 "=" $7 }' "$OUT/cookies-$3.txt"
}
eu_cookie=$(sign_up_in "$ADDR" bench-eu@example.com eu-west)
cat >"$OUT/two-regions.lua" <<LUA
local sent = 0
function request()
  sent = sent + 1
  local cookie = (sent % 2 == 0) and "$cookie" or "$eu_cookie"
  return wrk.format("GET", "/account", { ["cookie"] = cookie })
end
LUA
read -r regions_rps regions_p50 regions_p99 < <(measure "http://$ADDR/account" two-regions "$CONNECTIONS" -s "$OUT/two-regions.lua")
kill "$server"; wait "$server" 2>/dev/null || true
DATABASE_URL="postgres://postgres@127.0.0.1:5432/${DB}_single" \
REGION_DATABASE_URLS="us-east=postgres://postgres@127.0.0.1:5432/${DB}_single" \
  RUST_LOG=warn target/release/custodian serve --site-addr "$ADDR" --data-dir target/bench-data \
  --site-root target/site --auth-rate-limit 1000000000 >"$OUT/server-single.log" 2>&1 &
server=$!
wait_healthy "$ADDR"
single_cookie=$(DATABASE_URL="postgres://postgres@127.0.0.1:5432/${DB}_single" \
  REGION_DATABASE_URLS="us-east=postgres://postgres@127.0.0.1:5432/${DB}_single" \
  sign_up_in "$ADDR" bench-single@example.com us-east)
read -r single_rps single_p50 single_p99 < <(measure "http://$ADDR/account" one-database "$CONNECTIONS" -H "cookie: $single_cookie")
routing_ratio=$(ratio "$regions_rps" "$single_rps")
ratio=$(ratio "$ssr_rps" "$static_rps")
auth_ratio=$(ratio "$auth_rps" "$static_rps")
argon2=$(awk -F'= |;' '/pub const (MEMORY_KIB|PASSES|LANES)/ { gsub(/_/, "", $2); printf "%s%s", sep, $2; sep = "," }' app/src/auth/service/password.rs)
IFS=, read -r argon_m argon_t argon_p <<<"$argon2"

pkg=target/site/pkg
wasm=$pkg/custodian.wasm
raw=$(stat -c %s "$wasm")
gz=$(gzip -9 -c "$wasm" | wc -c)
br=$(brotli -q 11 -c "$wasm" | wc -c)
# Each page's own code is a chunk (lazy routes, cargo-leptos --split): a first visit loads the
# main bundle plus that page's chunks, as __wasm_split_manifest.json lists them.
pages=$(python3 - "$pkg" <<'PY'
import glob, gzip, json, os, sys
pkg = sys.argv[1]
size = lambda path: len(gzip.compress(open(path, "rb").read(), 9))
main = size(os.path.join(pkg, "custodian.wasm"))
for route, chunks in sorted(json.load(open(os.path.join(pkg, "__wasm_split_manifest.json"))).items()):
    files = [os.path.join(pkg, c + ".wasm") for c in chunks] + glob.glob(os.path.join(pkg, f"split_{route}.wasm"))
    name = route.strip("_").rsplit("_route_view_", 1)[0].replace("_", " ")
    print(f"{name}\t{(main + sum(size(f) for f in files)) / 1024:.1f}")
PY
)
heaviest=$(sort -t$'\t' -k2 -n -r <<<"$pages" | head -1 | cut -f2)
kb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1024 }'; }
verdict() { if awk "BEGIN { exit !($1) }"; then echo "met"; else echo "MISSED"; fi; }

cat >"$RESULTS" <<MD
# Benchmark results

$(date -u +"%Y-%m-%d %H:%M UTC"), $(nproc) cores, wrk -t2 -c$CONNECTIONS -d$DURATION, release build.

| target | req/s | p50 ms | p99 ms |
|---|---|---|---|
| SSR home page \`/\` | $ssr_rps | $ssr_p50 | $ssr_p99 |
| signed-in page \`/account\` | $auth_rps | $auth_p50 | $auth_p99 |
| static asset \`/pkg/custodian.css\` | $static_rps | $static_p50 | $static_p99 |
| an app's \`index.html\` on its own origin, through a share link | $app_rps | $app_p50 | $app_p99 |

SSR / static throughput: **$ratio** (target ≥ 0.30: $(verdict "$ratio >= 0.30")).
Signed-in page / static throughput: **$auth_ratio** (target ≥ 0.20: $(verdict "$auth_ratio >= 0.20")).
App index on its own origin / static throughput: **$app_ratio** (target ≥ 0.50: $(verdict "$app_ratio >= 0.50")).

Discover with 10,000 published apps, anonymous, at the same concurrency:

| target | req/s | p50 ms | p99 ms |
|---|---|---|---|
| \`/discover\` (first page) | $discover_rps | $discover_p50 | $discover_p99 |
| \`/discover?q=number+9999\` (a search through every app) | $search_rps | $search_p50 | $search_p99 |

Discover / static throughput: **$discover_ratio** (target ≥ 0.30: $(verdict "$discover_ratio >= 0.30")).
A search's p99: **$search_p99 ms** beside the first page's $discover_p99 ms.

Data regions: the signed-in page for a US-East and an EU-West tenant at once, against the
same page on one database (directory and only region), measured one after the other:

| target | req/s | p50 ms | p99 ms |
|---|---|---|---|
| \`/account\`, two regions, cookies alternating | $regions_rps | $regions_p50 | $regions_p99 |
| \`/account\`, one database | $single_rps | $single_p50 | $single_p99 |

Two regions / one database: **$routing_ratio** (target ≥ 0.90: $(verdict "$routing_ratio >= 0.90")).

Sign-in at $SIGN_IN_CONNECTIONS concurrent, spread over $SIGN_IN_CONNECTIONS accounts (argon2id m=${argon_m} KiB, t=${argon_t}, p=${argon_p}, one hashing per core):

| target | req/s | p50 ms | p99 ms | failed |
|---|---|---|---|---|
| \`POST /api/signin\` | $signin_rps | $signin_p50 | $signin_p99 | 0 |

(Any failed or refused sign-in stops the run, so a written table means none failed.)

| WASM main bundle (home page, shell) | KB |
|---|---|
| raw | $(kb "$raw") |
| gzip -9 | $(kb "$gz") |
| brotli -q 11 | $(kb "$br") |

Gzip size target ≤ 300 KB for the main bundle: $(verdict "$gz <= 300 * 1024").

A first visit to another page adds that page's chunks (gzip -9, main bundle included):

| page | KB |
|---|---|
$(awk -F'\t' '{ printf "| %s | %s |\n", $1, $2 }' <<<"$pages")

The heaviest first visit is $heaviest KB, $(awk -v h="$heaviest" -v m="$(kb "$gz")" 'BEGIN { printf "%.2f", h / m }') times the main bundle.
MD
cat "$RESULTS"
