#!/usr/bin/env bash
# The Kotlin suite of kefu-mobile on a real JVM (Android's language, tested for real).
#
# Builds the library and the in-workspace uniffi-bindgen, generates the Kotlin
# bindings into a temporary directory, fetches the Kotlin compiler (npm package
# kotlin-compiler, which ships kotlinx-coroutines) and JNA (Debian's libjna-java)
# if they are missing, compiles the tests with the bindings and runs them. The last
# line is "N passed, M failed"; the exit status is non-zero on any failure.
#
# Environment: CARGO_TARGET_DIR (default <repo>/target); KEFU_BIN, the kefu binary
# the sync tests start as a server (default: built here, <target>/debug/kefu).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
case "$target" in /*) ;; *) target="$repo/$target" ;; esac
cargo=${CARGO:-cargo}
kotlin_version=2.4.20

# `run.sh --bench` runs the FFI benchmark (Bench.kt) on the release library instead.
profile=debug
main_class=kefu.tests.MainKt
if [ "${1:-}" = "--bench" ]; then
    profile=release
    main_class=kefu.bench.BenchKt
    echo "== building kefu-mobile (release)"
    (cd "$repo" && "$cargo" build --release -p kefu-mobile --lib --bin uniffi-bindgen)
elif [ -n "${KEFU_BIN:-}" ]; then
    echo "== building kefu-mobile (library and uniffi-bindgen); server: $KEFU_BIN"
    (cd "$repo" && "$cargo" build -p kefu-mobile --lib --bin uniffi-bindgen)
else
    echo "== building kefu-mobile (library and uniffi-bindgen) and the kefu server"
    (cd "$repo" && "$cargo" build -p kefu-mobile --lib --bin uniffi-bindgen && "$cargo" build -p kefu-server --bin kefu)
    export KEFU_BIN="$target/debug/kefu"
fi
lib="$target/$profile/libkefu_mobile.so"
[ -f "$lib" ] || { echo "no library at $lib"; exit 1; }

work=$(mktemp -d -t kefu-kotlin-XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "== generating Kotlin bindings into $work/gen"
(cd "$repo" && "$target/$profile/uniffi-bindgen" generate --library "$lib" --language kotlin --out-dir "$work/gen" --no-format)

tools="$target/kotlin-tools"
kotlinc="$tools/node_modules/kotlin-compiler/bin/kotlinc"
if [ ! -x "$kotlinc" ]; then
    echo "== installing the Kotlin compiler $kotlin_version from npm into $tools"
    mkdir -p "$tools"
    npm install --prefix "$tools" --no-audit --no-fund "kotlin-compiler@$kotlin_version" >/dev/null
fi
kotlin_lib="$tools/node_modules/kotlin-compiler/lib"
coroutines="$kotlin_lib/kotlinx-coroutines-core-jvm.jar"
stdlib="$kotlin_lib/kotlin-stdlib.jar"

jna=/usr/share/java/jna.jar
if [ ! -f "$jna" ]; then
    echo "== installing JNA (libjna-java)"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get install -y libjna-java >/dev/null 2>&1 \
        || { $sudo_cmd apt-get update >/dev/null && $sudo_cmd apt-get install -y libjna-java >/dev/null; }
fi

echo "== compiling the tests"
started=$(date +%s)
"$kotlinc" -nowarn -cp "$jna:$coroutines" \
    "$work/gen/uniffi/kefu_mobile/kefu_mobile.kt" "$here"/*.kt -d "$work/tests.jar"
echo "   compiled in $(( $(date +%s) - started )) s"

echo "== running"
export KEFU_TEST_FIXTURES="$here/../fixtures"
java -Djna.library.path="$target/$profile" -cp "$work/tests.jar:$jna:$coroutines:$stdlib" "$main_class"
