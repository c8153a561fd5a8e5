#!/usr/bin/env node
// Compiles lib/ to CommonJS (dist/cjs) and examples/ beside it (dist/examples), and writes the ESM
// entry (dist/esm), which re-exports the CommonJS build so that both entry points share one
// instance of every class.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.json')], { stdio: 'inherit' });
// The examples too: `autoencoder demo names|spam` runs them. They import the package by its name,
// which resolves to this package itself from inside it.
execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.examples.json')], { stdio: 'inherit' });
// tsc keeps the CLI's #! line but not an executable mode; npm links package.json's "bin" to this file.
fs.chmodSync(path.join(root, 'dist', 'cjs', 'cli', 'main.js'), 0o755);

const esm = path.join(root, 'dist', 'esm');
fs.mkdirSync(esm, { recursive: true });
const note = '// ESM entry: re-exports the CommonJS build so both entry points share one instance of every class.\n';
fs.writeFileSync(path.join(esm, 'index.mjs'), `${note}export * from '../cjs/index.js';\n`);
fs.writeFileSync(path.join(esm, 'index.d.mts'), `${note}export * from '../cjs/index.js';\n`);
