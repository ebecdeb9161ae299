#!/usr/bin/env bash
# Generates the Swift bindings of kefu-mobile into a directory (default: a
# temporary one, removed afterwards) and checks the three files an iOS build needs
# exist and are not empty: kefu_mobile.swift, kefu_mobileFFI.h and
# kefu_mobileFFI.modulemap. No Swift toolchain runs here; compiling them is the iOS
# build's job (see mobile-ffi/README.md).
# Usage: generate.sh [OUT_DIR]. Environment: CARGO_TARGET_DIR (default <repo>/target).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
case "$target" in /*) ;; *) target="$repo/$target" ;; esac
cargo=${CARGO:-cargo}

(cd "$repo" && "$cargo" build -p kefu-mobile --lib --bin uniffi-bindgen)
if [ $# -ge 1 ]; then
    mkdir -p "$1"
    out=$(cd "$1" && pwd)
else
    out=$(mktemp -d -t kefu-swift-XXXXXX)
    trap 'rm -rf "$out"' EXIT
fi
(cd "$repo" && "$target/debug/uniffi-bindgen" generate --library "$target/debug/libkefu_mobile.so" --language swift \
    --out-dir "$out" --no-format)
status=0
for file in kefu_mobile.swift kefu_mobileFFI.h kefu_mobileFFI.modulemap; do
    if [ -s "$out/$file" ]; then
        echo "ok      $file ($(wc -c <"$out/$file") bytes)"
    else
        echo "MISSING $file"
        status=1
    fi
done
# The store's entry points must be in the generated API.
for symbol in "class KefuStore" "func sync(" "protocol ChangeListener" "enum KefuError"; do
    if ! grep -q "$symbol" "$out/kefu_mobile.swift"; then
        echo "MISSING \"$symbol\" in kefu_mobile.swift"
        status=1
    fi
done
[ $status -eq 0 ] && echo "swift bindings generated in $out"
exit $status
