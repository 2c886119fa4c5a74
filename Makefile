# The two commands of README.md. Both run scripts/setup.sh first, which
# installs what is missing (clang-19, lld-19, wasi-libc, the wasm32-wasip1
# target) and does nothing when everything is there.

CARGO ?= cargo
DATA_DIR ?= ./data

.PHONY: setup serve test lint bench examples

setup:
	@bash scripts/setup.sh

serve: setup
	$(CARGO) run --release --bin rulebox -- serve --data-dir $(DATA_DIR)

lint: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test: lint
	$(CARGO) test --workspace --all-targets
	$(CARGO) test --manifest-path rules-examples/rust/Cargo.toml --target-dir target/examples-host

examples: setup
	$(CARGO) build --release --target wasm32-wasip1 --manifest-path rules-examples/rust/Cargo.toml --target-dir target/wasm-guests

bench: examples
	$(CARGO) run --release --bin rulebox -- bench --module target/wasm-guests/wasm32-wasip1/release/trivial.wasm
