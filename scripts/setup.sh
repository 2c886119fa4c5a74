#!/usr/bin/env bash
# Idempotent machine set-up shared by `make serve`, `make test` and `.ci/run`:
# installs only what is missing, so a second run costs a few hundred milliseconds.
# `setup.sh test` adds what only the tests need.
set -euo pipefail

packages=(clang-19 lld-19 llvm-19 wasi-libc libclang-rt-19-dev-wasm32)
if [ "${1:-}" = "test" ]; then
  # postgresql: the multi-node tests start their own throwaway server from its binaries.
  # chromium + chromium-driver: the dashboard's end-to-end test drives a headless browser.
  packages+=(postgresql chromium chromium-driver)
fi
need_apt=()
for pkg in "${packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! rustup target list --installed | grep -qx wasm32-wasip1; then
  echo "setup: adding rust target wasm32-wasip1" >&2
  rustup target add wasm32-wasip1
fi
