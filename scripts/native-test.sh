#!/usr/bin/env bash
# Configures, builds and runs the native unit tests (GoogleTest through ctest).
# AE_BLAS=openblas|builtin picks the matrix products, each choice in its own build folder
# (build-native-openblas by default; node-gyp owns build/); AE_ONEDNN and AE_MPI (AUTO, ON or OFF) pass
# to CMake; AE_CUDA=ON adds the CUDA backend and its parity tests (build-native-<blas>-cuda; they report
# "skipped: no GPU" where there is none); AE_JOBS caps the parallel compile jobs (default: all cores).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
blas="${AE_BLAS:-openblas}"
cuda="${AE_CUDA:-OFF}"
build="$root/build-native-$blas"
[ "$cuda" = "ON" ] && build="$build-cuda"
jobs="${AE_JOBS:-$(nproc 2>/dev/null || echo 2)}"

cmake -S "$root" -B "$build" -DAE_BLAS="$blas" -DAE_ONEDNN="${AE_ONEDNN:-AUTO}" -DAE_MPI="${AE_MPI:-AUTO}" -DAE_CUDA="$cuda" \
  -DAE_BUILD_TESTS=ON -DAE_BUILD_BENCH=OFF
cmake --build "$build" -j "$jobs"
cd "$build"
ctest --output-on-failure
