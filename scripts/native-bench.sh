#!/usr/bin/env bash
# Builds and runs the native benchmark (W1-W3 of the core issue): ./scripts/native-bench.sh [ae_bench flags]
set -euo pipefail
cd "$(dirname "$0")/.."
dir="build-bench-${AE_BLAS:-openblas}"
cmake -S . -B "$dir" -DAE_BLAS="${AE_BLAS:-openblas}" -DAE_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build "$dir" --target ae_bench -j2 > /dev/null
"$dir/ae_bench" "$@"
