#!/usr/bin/env node
// Build settings that binding.gyp reads through <!(...) expansions, so that node-gyp and CMake
// share one list of sources and one way of finding OpenBLAS.
//   node native/build-config.js sources core cpu binding   -> the files of those sections
//   node native/build-config.js blas                       -> 1 when OpenBLAS will be used, else 0
//   node native/build-config.js blas-libdir                -> the folder pkg-config reports for it
//   node native/build-config.js mpi                        -> 1 when Open MPI's headers were found, else 0
//   node native/build-config.js mpi-include                -> their folders
//   node native/build-config.js mpi-library                -> the libmpi the build found
//   node native/build-config.js onednn                     -> 1 when oneDNN's headers were found, else 0
// OpenBLAS and libmpi are loaded at run time (native/cpu/openblas.cpp, native/mpi/mpi_collective.cpp);
// the build only records where they were. AE_MPI=OFF builds without MPI even where it is present.
// oneDNN (bf16 matrix products) is loaded at run time too; AE_ONEDNN=OFF builds without it.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

function sources(sections) {
  const text = fs.readFileSync(path.join(__dirname, 'sources.txt'), 'utf8');
  const out = [];
  let current = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) current = header[1];
    else if (sections.includes(current)) out.push(`native/${line}`);
  }
  return out;
}

function pkgConfig(args) {
  try {
    return execFileSync('pkg-config', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function openblasWanted() {
  const choice = process.env.AE_BLAS || 'openblas';
  if (choice === 'builtin') return false;
  if (pkgConfig(['--exists', 'openblas']) === null) {
    process.stderr.write('native-autoencoder: OpenBLAS not found by pkg-config; building with the built-in GEMM\n');
    return false;
  }
  return true;
}

function mpiWanted() {
  if ((process.env.AE_MPI || '').toUpperCase() === 'OFF') return false;
  return pkgConfig(['--exists', 'ompi-c']) !== null;
}

function mpiLibrary() {
  const libdir = pkgConfig(['--variable=libdir', 'ompi-c']);
  return libdir ? path.join(libdir, 'libmpi.so') : '';
}

function onednnWanted() {
  if ((process.env.AE_ONEDNN || '').toUpperCase() === 'OFF') return false;
  return ['/usr/include', '/usr/local/include'].some((dir) => fs.existsSync(path.join(dir, 'oneapi/dnnl/dnnl.h')));
}

const [command, ...rest] = process.argv.slice(2);
switch (command) {
  case 'sources':
    process.stdout.write(sources(rest).join(' '));
    break;
  case 'blas':
    process.stdout.write(openblasWanted() ? '1' : '0');
    break;
  case 'blas-libdir':
    process.stdout.write(pkgConfig(['--variable=libdir', 'openblas']) || '');
    break;
  case 'mpi':
    process.stdout.write(mpiWanted() ? '1' : '0');
    break;
  case 'mpi-include':
    process.stdout.write((pkgConfig(['--cflags-only-I', 'ompi-c']) || '').replace(/-I/g, '').trim());
    break;
  case 'onednn':
    process.stdout.write(onednnWanted() ? '1' : '0');
    break;
  case 'mpi-library':
    process.stdout.write(mpiLibrary());
    break;
  default:
    process.stderr.write(`unknown command ${command}\n`);
    process.exit(2);
}
