#!/usr/bin/env bash
# Installs the Debian packages the build needs when they are missing, so that the
# README's two commands work on a fresh Debian machine with only the Rust toolchain.
# good_lp's HiGHS backend builds HiGHS from source: it needs cmake, and bindgen needs libclang.
set -euo pipefail

missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
# bindgen looks for libclang.so; the -dev package provides it and clang's headers.
ls /usr/lib/llvm-*/lib/libclang.so >/dev/null 2>&1 || ls /usr/lib/x86_64-linux-gnu/libclang*.so >/dev/null 2>&1 \
  || missing+=(libclang-dev)
command -v c++ >/dev/null 2>&1 || missing+=(g++)
for flag in "$@"; do
  case "$flag" in
    # --with-browser (make test): the supervisor console's end-to-end tests drive Debian's headless
    # Chromium through WebDriver, and a Chinese font makes their screenshots show 中文, not boxes.
    --with-browser)
      command -v chromium >/dev/null 2>&1 || missing+=(chromium)
      command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
      fc-list :lang=zh 2>/dev/null | grep -q . || missing+=(fonts-wqy-zenhei)
      ;;
    # --with-postgres (make test): the server's tests run again on a throwaway PostgreSQL
    # (scripts/with-postgres.sh), which needs the server's initdb and pg_ctl.
    --with-postgres)
      ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
      ;;
    *) echo "install-deps: unknown flag $flag" >&2; exit 2 ;;
  esac
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "installing missing system packages: ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${missing[@]}" >/dev/null
