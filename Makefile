# The two commands of README.md: `make run` and `make test`. Both install what is missing.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := run

PG := postgres://postgres@127.0.0.1:5432
# cargo-leptos finds Tailwind and wasm-opt here; so do the Playwright tests.
export PATH := $(CURDIR)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)

# The database `make lint` checks the queries' metadata (app/.sqlx) against.
SQLX_DATABASE := custodian_sqlx
E2E_ADDR := 127.0.0.1:3100
E2E_DATABASE := custodian_e2e

.PHONY: run test setup lint sqlx-check sqlx-prepare test-rust test-e2e build-release bench

## Build the release site and serve it on http://localhost:3000 (zero configuration).
run:
	scripts/setup.sh build
	cargo leptos build --release --split
	target/release/custodian serve

## Every check and test: formatting, clippy (server and browser), Rust tests, Playwright.
test:
	scripts/setup.sh test
	$(MAKE) lint
	$(MAKE) test-rust
	$(MAKE) build-release
	$(MAKE) test-e2e

lint:
	cargo fmt --all -- --check
	leptosfmt --check --quiet -c leptosfmt.toml app/src frontend/src
	$(MAKE) sqlx-check
	cargo clippy -p custodian -p app --features app/ssr --all-targets -- -D warnings
	cargo clippy -p frontend -p app --features app/hydrate --target wasm32-unknown-unknown -- -D warnings

## The query! macros' metadata (app/.sqlx) matches the queries and the migrated schema.
sqlx-check:
	DATABASE_URL=$(PG)/$(SQLX_DATABASE) sqlx database reset -y --source migrations >/dev/null
	cd app && DATABASE_URL=$(PG)/$(SQLX_DATABASE) cargo sqlx prepare --check -- --features ssr

## Rewrites app/.sqlx after a query or a migration changed.
sqlx-prepare:
	DATABASE_URL=$(PG)/$(SQLX_DATABASE) sqlx database reset -y --source migrations >/dev/null
	cd app && DATABASE_URL=$(PG)/$(SQLX_DATABASE) cargo sqlx prepare -- --features ssr

## Rust unit and integration tests; each #[sqlx::test] gets a database of its own.
test-rust:
	DATABASE_URL=$(PG)/postgres cargo nextest run -p custodian -p app --features app/ssr

build-release:
	cargo leptos build --release --split

## Playwright against the release build, on a fresh database.
test-e2e:
	for db in $(E2E_DATABASE) $(E2E_DATABASE)_us_east $(E2E_DATABASE)_eu_west; do \
	  dropdb --if-exists --force -h 127.0.0.1 -U postgres $$db; done
	rm -rf target/e2e-data
	E2E_ADDR=$(E2E_ADDR) DATABASE_URL=$(PG)/$(E2E_DATABASE) npx playwright test -c end2end/playwright.config.ts
	@node -e 'const s = require("./end2end/playwright-report/results.json").stats; console.log(`playwright: $${s.expected} passed, $${s.unexpected} failed, $${s.skipped} skipped`)'

## Throughput and size figures, written to bench/results.md, and the export's, to bench/export.md.
bench:
	scripts/setup.sh bench
	cargo leptos build --release --split
	bench/run.sh
	bench/export.sh
	# The peer comparison drops its directory database only; its region databases go here.
	for db in custodian_compare_us_east custodian_compare_eu_west; do \
	  dropdb --if-exists --force -h 127.0.0.1 -U postgres $$db; done
	../shared/peer/compare.sh
