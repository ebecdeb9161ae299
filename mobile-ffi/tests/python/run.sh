#!/usr/bin/env bash
# The Python smoke test of kefu-mobile: builds the library (and the kefu server
# unless KEFU_BIN is given), generates the Python bindings with the in-workspace
# uniffi-bindgen into a temporary directory beside a copy of the library, and runs
# smoke.py. The last line is "N passed, M failed"; non-zero exit on any failure.
# Environment: CARGO_TARGET_DIR (default <repo>/target), KEFU_BIN, PYTHON (python3).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
case "$target" in /*) ;; *) target="$repo/$target" ;; esac
cargo=${CARGO:-cargo}

# `run.sh --bench` runs the FFI benchmark (bench.py) on the release library instead.
profile=debug
script="$here/smoke.py"
if [ "${1:-}" = "--bench" ]; then
    profile=release
    script="$here/bench.py"
    (cd "$repo" && "$cargo" build --release -p kefu-mobile --lib --bin uniffi-bindgen)
else
    (cd "$repo" && "$cargo" build -p kefu-mobile --lib --bin uniffi-bindgen)
    if [ -z "${KEFU_BIN:-}" ]; then
        (cd "$repo" && "$cargo" build -p kefu-server --bin kefu)
        export KEFU_BIN="$target/debug/kefu"
    fi
fi
lib="$target/$profile/libkefu_mobile.so"

work=$(mktemp -d -t kefu-python-XXXXXX)
trap 'rm -rf "$work"' EXIT
(cd "$repo" && "$target/$profile/uniffi-bindgen" generate --library "$lib" --language python --out-dir "$work" --no-format)
# The generated module loads the library from its own directory.
cp "$lib" "$work/"
KEFU_PY_BINDINGS="$work" "${PYTHON:-python3}" "$script"
