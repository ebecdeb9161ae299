# The README's two commands. Both install missing system packages first
# (scripts/install-deps.sh), so a fresh Debian machine with Rust needs nothing else.
CARGO ?= cargo

.PHONY: run test deps lint

deps:
	@bash scripts/install-deps.sh

## run: the main job on the embedded default (sample data under ./data)
run: deps
	$(CARGO) run --release -p kefu-core --example field_story -- ./data

## test: lint and every test of the workspace (what .ci/run calls)
test: deps lint
	$(CARGO) test --workspace --all-targets
	$(CARGO) test --workspace --doc

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
