#!/usr/bin/env bash
# valgrind memcheck over the native tests (the build of scripts/native-test.sh): fails on any
# memory error and on any block definitely or indirectly lost. valgrind does not emulate AVX-512,
# and the library sees a CPU without it, so this covers the AVX2 and portable kernels; the
# sanitizer run (scripts/sanitize.sh) covers AVX-512. Extra arguments go to the test binary.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
blas="${AE_BLAS:-openblas}"
build="$root/build-native-$blas"
jobs="${AE_JOBS:-$(nproc 2>/dev/null || echo 2)}"

cmake -S "$root" -B "$build" -DAE_BLAS="$blas" -DAE_BUILD_TESTS=ON -DAE_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$jobs" >/dev/null
valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
  "$build/ae_tests" "$@"
