#!/usr/bin/env bash
# Installing without a compiler: builds the prebuilt binary (prebuildify), packs the package, installs
# the tarball into an empty folder whose PATH holds node, npm and a shell but no compiler, make or
# Python, and trains there: once with OpenBLAS, once with OpenBLAS made unloadable.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

PREBUILD_NODE_GYP="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js" \
  npm run prebuild
ls prebuilds/*/
tarball="$repo/$(npm pack --silent | tail -n 1)"

work=$(mktemp -d)
trap 'rm -rf "$work" "$tarball"' EXIT
mkdir -p "$work/bin" "$work/app"
ln -s "$(command -v node)" "$work/bin/node"
ln -s "$(readlink -f "$(command -v npm)")" "$work/bin/npm"
ln -s "$(command -v sh)" "$work/bin/sh"
for tool in cc gcc g++ c++ make python3; do
  if PATH="$work/bin" command -v "$tool" > /dev/null; then echo "$tool is on the restricted PATH" >&2; exit 1; fi
done

cd "$work/app"
PATH="$work/bin" npm init -y > /dev/null
PATH="$work/bin" npm install --no-audit --no-fund "$tarball"
if [ -d node_modules/native-autoencoder/build ]; then echo "the install compiled the addon instead of using the prebuild" >&2; exit 1; fi

cat > train.js <<'JS'
const { Autoencoder, backendInfo } = require('native-autoencoder');
const expected = process.argv[2];
const info = backendInfo();
if (expected && info.blas !== expected) throw new Error(`expected GEMM ${expected}, got ${JSON.stringify(info)}`);
const rows = 1024, x = new Float32Array(rows * 20).map((_, i) => (Math.sin(i * 0.37) + 1) / 2);
const ae = new Autoencoder({ inputDim: 20, latentDim: 6, seed: 1 });
const before = ae.evaluate(x);
ae.fit(x, { epochs: 20, batchSize: 32, optimizer: { type: 'adam', learningRate: 0.01 } }).then(() => {
  const after = ae.evaluate(x);
  console.log(`installed package trains (${info.blas}, ${info.gemmReason}): mse ${before.toFixed(4)} -> ${after.toFixed(4)}`);
  if (!(after < before / 2)) process.exit(1);
});
JS
PATH="$work/bin" node train.js
PATH="$work/bin" AE_OPENBLAS_LIBRARY=/nonexistent/libopenblas.so node train.js builtin
echo "pack test passed"
