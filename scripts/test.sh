#!/usr/bin/env bash
# test.sh: installs what is missing, builds heartwire, and runs every test suite.
#
#   scripts/test.sh              everything: unit, integration, chaos, fuzz (short)
#   scripts/test.sh -L unit      only what ctest selects (any ctest arguments pass through)
#
# Environment: HEARTWIRE_TEST_MONGO_URI to test against a running MongoDB instead of
# starting FerretDB; HW_BUILD_DIR (default build), HW_SANITIZE=1 for an ASan/UBSan build.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$hw_root"

scripts/install-deps.sh

build=${HW_BUILD_DIR:-build}
san=OFF
[ "${HW_SANITIZE:-0}" = 1 ] && san=ON

echo "== building ($build)"
hw_build "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHW_SANITIZE="$san"

# The libFuzzer target needs clang; it is built apart and its short run is a ctest of its own
# build, run before the main suite so that the main suite's summary closes the output.
if command -v clang >/dev/null 2>&1 && [ -f tests/fuzz/CMakeLists.txt ] && [ $# -eq 0 ]; then
	echo "== fuzz (short run, clang + libFuzzer)"
	[ -f build-fuzz/CMakeCache.txt ] ||
		cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DHW_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build build-fuzz -j"$(nproc)" --target fuzz_decode
	ctest --test-dir build-fuzz -L fuzz --output-on-failure
fi

echo "== tests"
ctest --test-dir "$build" --output-on-failure --timeout 900 "$@"
