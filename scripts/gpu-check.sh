#!/usr/bin/env bash
# The CUDA backend on a machine with an NVIDIA GPU, in one run: the native parity tests, the vitest
# CUDA tests and the core API suites with every model on the GPU, and W2/W3 training rates on the
# GPU against the CPU of the same machine and PyTorch on the same GPU. One table last.
#
#   bash scripts/gpu-check.sh --prepare   on a build machine with Node.js (after npm ci), nvcc,
#                                         CMake and libgtest-dev: builds everything the check needs
#                                         into gpu-carry/ (Node.js itself included, xz-compressed)
#   bash scripts/gpu-check.sh             on the GPU machine, from the repository root with gpu-carry/
#                                         beside it: needs no Node.js, compiler or network
#   bash scripts/gpu-check.sh --local     both, on a GPU machine that has the build tools
#
# With the device tool: run(command="bash scripts/gpu-check.sh", carry=["gpu-carry"], timeout_s=540).
# Logs and the table go to $OUT (the device tool's) or gpu-check-out/.
set -uo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
carry="$root/gpu-carry"

prepare() {
  set -e
  command -v nvcc >/dev/null || export PATH="/usr/local/cuda/bin:$PATH"
  npx cmake-js rebuild -O build-cuda --CDAE_CUDA=ON
  AE_CUDA=ON bash scripts/native-test.sh
  cmake -S . -B build-bench-cuda -DAE_CUDA=ON -DAE_BUILD_TESTS=OFF -DAE_BUILD_BENCH=ON
  cmake --build build-bench-cuda -j "$(nproc)"
  node scripts/build-ts.js
  rm -rf "$carry" && mkdir -p "$carry"
  cp build-cuda/Release/native_autoencoder.node "$carry/"
  cp build-native-openblas-cuda/ae_tests build-bench-cuda/ae_bench "$carry/"
  xz -T0 -6 -c "$(command -v node)" >"$carry/node.xz"
  # dist/ and the packages vitest needs (its dependency closure), not the whole node_modules.
  node -e '
    const fs = require("fs"), path = require("path");
    const seen = new Set(), queue = ["vitest"];
    while (queue.length) {
      const name = queue.shift();
      const dir = path.join("node_modules", name);
      if (seen.has(name) || !fs.existsSync(path.join(dir, "package.json"))) continue;
      seen.add(name);
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
      for (const deps of [pkg.dependencies, pkg.optionalDependencies, pkg.peerDependencies]) queue.push(...Object.keys(deps || {}));
    }
    const bins = fs.existsSync("node_modules/.bin") ? ["node_modules/.bin/vitest"] : [];
    console.log(["dist", "package.json", ...bins, ...[...seen].map((n) => path.join("node_modules", n))].join("\n"));
  ' | tar -cJf "$carry/js.tar.xz" -T -
  du -sh "$carry"
  set +e
}

check() {
  local out="${OUT:-$root/gpu-check-out}"
  mkdir -p "$out"
  local failures=0
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"

  # Node.js and the JavaScript side, unpacked where nothing of the repository is overwritten.
  if [ -f "$carry/node.xz" ]; then
    mkdir -p /tmp/ae-node/bin && xz -dc "$carry/node.xz" >/tmp/ae-node/bin/node && chmod +x /tmp/ae-node/bin/node
    export PATH="/tmp/ae-node/bin:$PATH"
  fi
  if [ -f "$carry/js.tar.xz" ]; then tar -xJf "$carry/js.tar.xz" -C "$root"; fi
  export NATIVE_AUTOENCODER_ADDON="$carry/native_autoencoder.node"
  [ -f "$NATIVE_AUTOENCODER_ADDON" ] || NATIVE_AUTOENCODER_ADDON="$root/build-cuda/Release/native_autoencoder.node"
  local tests="$carry/ae_tests" bench="$carry/ae_bench"
  [ -x "$tests" ] || tests="$root/build-native-openblas-cuda/ae_tests"
  [ -x "$bench" ] || bench="$root/build-bench-cuda/ae_bench"

  echo "== native CUDA parity tests =="
  "$tests" --gtest_filter='Cuda*:NetworkGrad.Cuda*' 2>&1 | tee "$out/native.txt"
  local native_status=${PIPESTATUS[0]}
  [ "$native_status" = 0 ] || failures=$((failures + 1))
  # The fallback GEMM on the whole training step, as where cuBLAS is absent.
  AE_CUDA_GEMM=tiled "$tests" --gtest_filter='CudaTraining.*:NetworkGrad.CudaBackend*' 2>&1 | tee "$out/native-tiled.txt"
  local tiled_status=${PIPESTATUS[0]}
  [ "$tiled_status" = 0 ] || failures=$((failures + 1))

  echo "== vitest: the CUDA tests, then the core API suites with every model on the GPU =="
  local vitest_status=skipped suites_status=skipped
  if command -v node >/dev/null && [ -d node_modules/vitest ]; then
    node node_modules/vitest/vitest.mjs run --reporter verbose test/cuda.test.ts 2>&1 | tee "$out/vitest-cuda.txt"
    vitest_status=${PIPESTATUS[0]}
    NATIVE_AUTOENCODER_BACKEND=cuda node node_modules/vitest/vitest.mjs run test/cuda.test.ts test/smoke.test.ts \
      test/training.test.ts test/shapes.test.ts test/validation.test.ts test/determinism.test.ts \
      test/early-stopping.test.ts test/weight-sharing.test.ts test/model-file.test.ts test/abort.test.ts \
      test/busy-dispose.test.ts test/fit-stream.test.ts test/data-input.test.ts 2>&1 | tee "$out/vitest-suites.txt"
    suites_status=${PIPESTATUS[0]}
    [ "$vitest_status" = 0 ] || failures=$((failures + 1))
    [ "$suites_status" = 0 ] || failures=$((failures + 1))
  fi

  echo "== benchmarks: W2 and W3 on the GPU, on this machine's CPU, and the bare sgemm rates =="
  "$bench" --sgemm 8192 --backend cuda 2>&1 | tee "$out/sgemm-cuda.txt"
  "$bench" --backend cuda --workloads W2,W3 --rows-factor 16 --epochs 5 2>&1 | tee "$out/bench-cuda.txt"
  "$bench" --backend cuda --precision tf32 --workloads W2,W3 --rows-factor 16 --epochs 5 2>&1 | tee "$out/bench-cuda-tf32.txt"
  local cores
  cores=$(nproc)
  "$bench" --threads "$cores" --workloads W2,W3 --epochs 3 2>&1 | tee "$out/bench-cpu.txt"
  local torch_status=skipped
  if python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
    python3 bench/torch_cuda.py 2>&1 | tee "$out/torch.txt"
    torch_status=${PIPESTATUS[0]}
  fi

  # One table, from the lines above.
  local sgemm
  sgemm=$(grep -o '[0-9.]* GFLOP/s' "$out/sgemm-cuda.txt" | head -1 | cut -d' ' -f1)
  row() {  # workload file -> "samples/s TFLOP/s"
    awk -F'|' -v w="$1" '$2 ~ " "w" " { gsub(/ /, "", $4); gsub(/ /, "", $5); printf "%s %.2f", $4, $5 / 1000 }' "$2"
  }
  {
    echo
    echo "## gpu-check: $(head -1 "$out/gpu.txt")"
    echo "cuBLAS sgemm 8192^3: ${sgemm:-?} GFLOP/s"
    echo
    echo "| workload | GPU float32 samples/s | TFLOP/s | of sgemm | GPU tf32 samples/s | CPU ($cores threads) samples/s | GPU/CPU | PyTorch GPU samples/s |"
    echo "|---|---|---|---|---|---|---|---|"
    for w in W2 W3; do
      read -r gpu_rate gpu_tflops <<<"$(row "$w" "$out/bench-cuda.txt")"
      read -r tf32_rate _ <<<"$(row "$w" "$out/bench-cuda-tf32.txt")"
      read -r cpu_rate _ <<<"$(awk -F'|' -v w="$w" '$2 ~ " "w" " { gsub(/ /, "", $4); print $4; exit }' "$out/bench-cpu.txt") 0"
      torch_rate=$(grep -o "^$w float32 [0-9.]*" "$out/torch.txt" 2>/dev/null | awk '{print $3}')
      share=$(awk -v a="${gpu_tflops:-0}" -v b="${sgemm:-0}" 'BEGIN { if (b > 0) printf "%.0f%%", 100 * a * 1000 / b; else print "?" }')
      ratio=$(awk -v a="${gpu_rate:-0}" -v b="${cpu_rate:-0}" 'BEGIN { if (a > 0 && b > 0) printf "%.1fx", a / b; else print "?" }')
      echo "| $w | ${gpu_rate:-?} | ${gpu_tflops:-?} | $share | ${tf32_rate:-?} | ${cpu_rate:-?} | $ratio | ${torch_rate:-n/a} |"
    done
    echo
    echo "native parity tests: $( [ "$native_status" = 0 ] && echo passed || echo FAILED ) ($(grep -o '\[  PASSED  \] [0-9]* tests\|\[  SKIPPED \] [0-9]* tests\|\[  FAILED  \] [0-9]* tests' "$out/native.txt" | tr '\n' ' '))"
    echo "native tests with the tiled GEMM: $( [ "$tiled_status" = 0 ] && echo passed || echo FAILED )"
    echo "vitest CUDA tests: $vitest_status; core suites on the GPU: $suites_status (0 = passed)"
    echo "PyTorch: $torch_status"
  } | tee "$out/table.md"
  return "$failures"
}

case "${1:-}" in
  --prepare) prepare ;;
  --local) prepare && check ;;
  "") check ;;
  *) echo "usage: bash scripts/gpu-check.sh [--prepare | --local]" >&2; exit 64 ;;
esac
