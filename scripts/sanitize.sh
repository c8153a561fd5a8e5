#!/usr/bin/env bash
# Builds the native tests and the addon with AddressSanitizer and UndefinedBehaviorSanitizer (the
# CMake option AE_SANITIZE), runs the native tests, then the whole vitest suite with the sanitizer
# runtime preloaded into node and every child process it starts. Leak detection is on. Every
# report is fatal in the process that makes it and is also written to a log file; the run fails if
# any log file exists, so a report in a child process whose exit status nobody checks still counts.
# AE_SANITIZE picks other sanitizers; AE_JOBS caps the parallel compile jobs.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sanitizers="${AE_SANITIZE:-address,undefined}"
jobs="${AE_JOBS:-$(nproc 2>/dev/null || echo 2)}"
tests="$root/build-sanitize"
addon="$root/build-sanitize-addon"
reports="$tests/reports"

cmake -S "$root" -B "$tests" -DAE_SANITIZE="$sanitizers" -DAE_BUILD_TESTS=ON -DAE_BUILD_BENCH=OFF
cmake --build "$tests" -j "$jobs"
(cd "$root" && npx cmake-js build -O "$addon" --CDAE_SANITIZE="$sanitizers")

rm -rf "$reports" && mkdir -p "$reports"
# The allocator's quarantine of freed blocks is kept small (16 MB, not 256) so that the tests that
# bound resident memory measure the library rather than the quarantine.
# intercept_tls_get_addr=0: gcc 12's runtime (as LLVM's before 17) takes a thread's dynamic TLS block
# for one with a glibc 2.19 header whenever it happens to start 16 bytes past a 4 KB boundary, and
# reads a start and a size from the two words before it. LeakSanitizer's thread that scans every
# stopped thread then reads that made-up range and dies at exit ("Tracer caught signal 11",
# "LeakSanitizer has encountered a fatal error"): now and then, wherever a dlopen'ed library (the
# addon, oneDNN's OpenMP) has thread-local data, and the process exits with status 1 and no report.
# The blocks themselves are still scanned, as heap blocks the thread's DTV points to.
export ASAN_OPTIONS="detect_leaks=1:intercept_tls_get_addr=0:quarantine_size_mb=16:log_path=$reports/asan"
export LSAN_OPTIONS="suppressions=$root/scripts/lsan-suppressions.txt:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan"
# That crash was first seen in processes where oneDNN's OpenMP threads had run, so the native tests
# run twice: with leak detection on the built-in GEMM (AE_GEMM=builtin: no float32 product goes to
# oneDNN) without the bfloat16 tests (Bf16*), then all of them, oneDNN's paths included, with ASan's
# and UBSan's other checks. test/bf16.test.ts runs apart, without leak detection, for the same reason.
no_leaks="$ASAN_OPTIONS:detect_leaks=0"

echo "== native tests under $sanitizers =="
(cd "$tests" && AE_GEMM=builtin ctest --output-on-failure -E 'Bf16')
(cd "$tests" && ASAN_OPTIONS="$no_leaks" ctest --output-on-failure)

echo "== vitest under $sanitizers =="
runtime="$(gcc -print-file-name=libasan.so)"
export NATIVE_AUTOENCODER_ADDON="$addon/Release/native_autoencoder.node"
# The built-in GEMM, which is instrumented, rather than OpenBLAS, which is not. Under ASan's allocator
# OpenBLAS's per-thread buffers also grow RSS by about 35 MB over the leak test's 10,000 fit threads
# (+1.6 MB without ASan, where the leak test runs on OpenBLAS), which would hide the library's own.
export AE_GEMM=builtin
status=0
(cd "$root" && LD_PRELOAD="$runtime" npx vitest run --exclude test/distributed.test.ts --exclude test/bf16.test.ts) ||
  status=$?
(cd "$root" && LD_PRELOAD="$runtime" ASAN_OPTIONS="$no_leaks" npx vitest run test/bf16.test.ts) || status=$?
# Open MPI unloads its plugins before exit, so the stacks of what they leave allocated end in an
# unknown module after one frame; the slow unwinder walks on into libmpi and libopen-pal, which the
# suppressions name. It is ten times slower, so only the MPI tests use it.
(cd "$root" && LD_PRELOAD="$runtime" ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0" npx vitest run test/distributed.test.ts) ||
  status=$?

if compgen -G "$reports/*" >/dev/null; then
  echo "sanitizer reports:" >&2
  for report in "$reports"/*; do echo "--- $report" >&2; cat "$report" >&2; done
  exit 1
fi
[ "$status" -eq 0 ] || exit "$status"
echo "no sanitizer reports"
