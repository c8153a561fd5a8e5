#!/usr/bin/env bash
# valgrind memcheck over the native tests (the build of scripts/native-test.sh): fails on any
# memory error and on any block definitely or indirectly lost. valgrind does not emulate AVX-512,
# and the library sees a CPU without it, so this covers the AVX2 and portable kernels; the
# sanitizer run (scripts/sanitize.sh) covers AVX-512. Left out by default: the two convergence tests
# (Training.*: 10 and 30 epochs of the fit loop that the FitControl, Checkpoint and Variational tests
# run in a few steps) and the accuracy sweeps of exp, log and tanh (*IsAccurate*: millions of calls
# of kernels that the SpecialValues and kernel-table tests call too). Under valgrind they take about
# 15 minutes, 1,000 times their native time, against 3 minutes for the other 108 tests.
# Extra arguments go to the test binary (--gtest_filter=* runs everything).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
blas="${AE_BLAS:-openblas}"
build="$root/build-native-$blas"
jobs="${AE_JOBS:-$(nproc 2>/dev/null || echo 2)}"

cmake -S "$root" -B "$build" -DAE_BLAS="$blas" -DAE_BUILD_TESTS=ON -DAE_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$jobs" >/dev/null
OPENBLAS_NUM_THREADS=1 valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite,indirect \
  --error-exitcode=99 "$build/ae_tests" --gtest_filter='-Training.*:*IsAccurate*' "$@"
