# The two commands of README.md. Both run scripts/setup.sh first, which
# installs what is missing (clang-19, lld-19, wasi-libc, the wasm32-wasip1
# target; `make test` also PostgreSQL and Chromium) and does nothing when
# everything is there.

CARGO ?= cargo
DATA_DIR ?= ./data

.PHONY: setup setup-test serve test lint bench examples

setup:
	@bash scripts/setup.sh

setup-test:
	@bash scripts/setup.sh test

serve: setup
	$(CARGO) run --release --bin rulebox -- serve --data-dir $(DATA_DIR)

lint: setup-test
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test: lint
	$(CARGO) test --workspace --all-targets
	# The store suite once more on PostgreSQL (a throwaway server the tests start).
	RULEBOX_STORE_TESTS_ON_POSTGRES=1 $(CARGO) test -p rulebox-auth-core --lib store::
	$(CARGO) test --manifest-path rules-examples/rust/Cargo.toml --target-dir target/examples-host

examples: setup
	$(CARGO) build --release --target wasm32-wasip1 --manifest-path rules-examples/rust/Cargo.toml --target-dir target/wasm-guests

bench: examples
	$(CARGO) run --release --bin rulebox -- bench --module target/wasm-guests/wasm32-wasip1/release/trivial.wasm
