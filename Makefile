# The README's two commands. Both install missing system packages first
# (scripts/install-deps.sh), so a fresh Debian machine with Rust needs nothing else.
CARGO ?= cargo

.PHONY: run test deps deps-test lint test-rust test-postgres test-mobile

deps:
	@bash scripts/install-deps.sh

# What the tests need besides: headless Chromium for the console's browser tests, and
# PostgreSQL's server for the second run of the server's tests.
deps-test:
	@bash scripts/install-deps.sh --with-browser --with-postgres

## run: the sync server on the embedded default (SQLite under ./data) with a sample
## team and cases; prints the address and device tokens.
run: deps
	$(CARGO) run -p kefu-server --bin kefu -- serve --sample

## test: lint and every test of the workspace (what .ci/run calls)
test: deps-test lint test-rust test-postgres test-mobile

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# Benchmarks are left out here: they measure, they do not assert (`cargo bench`).
test-rust:
	$(CARGO) test --workspace --lib --bins --tests --examples
	$(CARGO) test --workspace --doc

# The server's storage tests and its end-to-end suite once more, on a throwaway PostgreSQL
# (started and removed by the script). Same build as above: the same --workspace selection.
test-postgres:
	bash scripts/with-postgres.sh sh -c '$(CARGO) test --workspace --bins -- storage:: && $(CARGO) test --workspace --test server'

# The phone bindings on a real JVM (Kotlin) and in Python, against a real kefu serve;
# Swift bindings are generated and checked for presence (no Swift toolchain here).
test-mobile:
	bash mobile-ffi/tests/kotlin/run.sh
	bash mobile-ffi/tests/python/run.sh
	bash mobile-ffi/tests/swift/generate.sh
