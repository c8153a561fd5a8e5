// The `autoencoder` command end to end, as a user runs it: every command, --help, --json, usage
// errors and their exit statuses, the demo's files, and Ctrl-C during training.
import { copyFileSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Autoencoder } from 'native-autoencoder';
import { MAIN, cli, expectFailure, parseCsv, rows, writeDelimited, writeNpy } from './cli-helpers';

const dir = mkdtempSync(join(tmpdir(), 'na-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const COLS = 16;
const data = join(dir, 'rows.csv');
const model = join(dir, 'model', 'model.safetensors');

function expectPng(file: string, width?: number, height?: number): PNG {
  const bytes = readFileSync(file);
  expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const png = PNG.sync.read(bytes);
  if (width !== undefined) expect(png.width).toBe(width);
  if (height !== undefined) expect(png.height).toBe(height);
  expect(png.width).toBeGreaterThan(100);
  expect(png.height).toBeGreaterThan(100);
  return png;
}

beforeAll(async () => {
  writeDelimited(data, rows(120, COLS), { header: Array.from({ length: COLS }, (_, i) => `c${i}`) });
  const run = await cli(['train', '--data', data, '--out', join(dir, 'model'), '--epochs', '2', '--seed', '3', '--layers', '32', '--latent', '4', '--quiet']);
  expect(run).toMatchObject({ code: 0, stderr: '' });
});

describe.concurrent('the program', () => {
  it('is executable and starts with #!', () => {
    expect(readFileSync(MAIN, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(statSync(MAIN).mode & 0o111).not.toBe(0);
  });

  it.each([[], ['demo'], ['train'], ['encode'], ['reconstruct'], ['score'], ['info'], ['bench']])('--help %s exits 0', async (...command) => {
    const run = await cli([...command, '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: autoencoder/);
    expect(run.stdout).toContain('--help');
  });

  it('lists the exit statuses in its help', async () => {
    const run = await cli(['--help']);
    for (const status of ['64', '65', '66', '73', '130']) expect(run.stdout).toMatch(new RegExp(`^  ${status} `, 'm'));
  });

  it.each([
    [['nosuch'], /unknown command 'nosuch'/],
    [['train', '--data', 'x.csv', '--bogus'], /unknown option '--bogus'/],
    [['train'], /required option '--data <file>' not specified/],
    [['train', '--data', 'x.csv', '--epochs', 'ten'], /'--epochs <n>' argument 'ten' is invalid/],
    [['train', '--data', 'x.csv', '--loss', 'l3'], /'--loss <name>' argument 'l3' is invalid. Allowed choices are mse/],
    [['train', '--data', 'x.csv', '--validation-split', '1'], /--validation-split/],
    // Number() reads these as 16, 0 and 8: in a setting they are typos.
    [['train', '--data', 'x.csv', '--learning-rate', '0x10'], /'--learning-rate <rate>' argument '0x10' is invalid. must be a number above 0/],
    [['train', '--data', 'x.csv', '--validation-split', '0x0'], /'--validation-split <fraction>' argument '0x0' is invalid/],
    [['train', '--data', 'x.csv', '--learning-rate', '0o10'], /'--learning-rate <rate>' argument '0o10' is invalid/],
    [['encode', '--data', 'x.csv'], /required option '--model <file>'/],
    [['info', 'extra'], /too many arguments/],
    [['bench', '--workloads', 'W9'], /unknown workload W9/],
  ])('refuses %j with exit status 64 and one line', async (args, pattern) => {
    expectFailure(await cli(args, { cwd: dir }), 64, pattern);
  });

  it('exits 64 without a command, after showing the help', async () => {
    const run = await cli([]);
    expect(run.code).toBe(64);
    expect(run.stderr).toMatch(/^Usage: autoencoder/);
  });
});

describe.concurrent('info', () => {
  it('prints the versions, the GEMM, the SIMD level, the threads, bfloat16, MPI and CUDA', async () => {
    const run = await cli(['info']);
    expect(run.code).toBe(0);
    for (const key of ['native-autoencoder', 'node', 'default backend', 'GEMM', 'SIMD', 'threads', 'bfloat16', 'MPI', 'CUDA']) expect(run.stdout).toMatch(new RegExp(`^${key} `, 'm'));
  });

  it('--json', async () => {
    const info = JSON.parse((await cli(['info', '--json'])).stdout);
    const { backendInfo, defaultBackend } = await import('native-autoencoder');
    const { cuda, cudaBuilt, cudaReason, bf16, mpi } = backendInfo();
    // The CUDA line said 'not built' whatever the build.
    expect(info).toMatchObject({ cuda, cudaBuilt, cudaReason, bf16, mpi, defaultBackend: defaultBackend(), version: expect.any(String), threads: expect.any(Number), simd: expect.any(String), blas: expect.any(String) });
    const text = (await cli(['info'])).stdout;
    expect(text).toMatch(new RegExp(`^CUDA +${(cuda || cudaReason).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
  });
});

describe('train', () => {
  it('writes the model and the pictures, and --json describes the run', async () => {
    const out = join(dir, 'train-json');
    const run = await cli(['train', '--data', data, '--out', out, '--epochs', '3', '--latent', '3', '--seed', '1', '--json']);
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary).toMatchObject({ rows: { train: 108, validation: 12 }, settings: { epochs: 3, latent: 3, layers: [256, 64] } });
    expect(summary.epochs).toHaveLength(3);
    // Per-epoch lines go to stderr so that stdout stays one JSON document.
    expect(run.stderr).toMatch(/^epoch 3\/3 {2}loss [\d.]+ {2}val_loss [\d.]+/m);
    expectPng(join(out, 'loss.png'));
    expectPng(join(out, 'latent.png'));
    expectPng(join(out, 'reconstructions.png'));
    const loaded = await Autoencoder.load(join(out, 'model.safetensors'));
    expect([loaded.inputDim, loaded.latentDim]).toEqual([COLS, 3]);
    loaded.dispose();
  });

  it('prints one line per epoch and a summary when stdout is not a terminal', async () => {
    const run = await cli(['train', '--data', data, '--out', join(dir, 'train-lines'), '--epochs', '2', '--layers', '8']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^network: 16 → 8 relu → 16 \(latent\) → 8 relu → 16 sigmoid$/m);
    expect(run.stdout.match(/^epoch \d\/2 /gm)).toHaveLength(2);
    expect(run.stdout).toMatch(/^trained 2 epochs in .* samples\/s$/m);
    expect(run.stdout).not.toContain('\u2588');
  });

  it('the same --seed trains the same model, byte for byte', async () => {
    const train = (out: string) => cli(['train', '--data', data, '--out', join(dir, out), '--epochs', '2', '--layers', '8', '--seed', '9', '--quiet']);
    await train('seeded-a');
    await train('seeded-b');
    expect(readFileSync(join(dir, 'seeded-a', 'model.safetensors'))).toEqual(readFileSync(join(dir, 'seeded-b', 'model.safetensors')));
  });

  it('--quiet prints nothing', async () => {
    const run = await cli(['train', '--data', data, '--out', join(dir, 'train-quiet'), '--epochs', '1', '--quiet']);
    expect(run).toMatchObject({ code: 0, stdout: '', stderr: '' });
  });

  it('reads settings from --config, and flags override them', async () => {
    const config = join(dir, 'settings.json');
    writeFileSync(config, JSON.stringify({ layers: [12], latent: 2, epochs: 3, loss: 'binaryCrossentropy', learningRate: 0.01 }));
    const run = await cli(['train', '--data', data, '--config', config, '--epochs', '1', '--out', join(dir, 'train-config'), '--json']);
    expect(run.code).toBe(0);
    const { settings, epochs, network } = JSON.parse(run.stdout);
    expect(settings).toMatchObject({ layers: [12], latent: 2, epochs: 1, loss: 'binaryCrossentropy', learningRate: 0.01, optimizer: 'adam' });
    expect(epochs).toHaveLength(1);
    expect(network).toBe('16 → 12 relu → 2 (latent) → 12 relu → 16 sigmoid');
  });

  it.each([
    [{ epochs: 0 }, 64, /settings\.json: "epochs" 0 must be a positive integer/],
    [{ optimiser: 'adam' }, 64, /settings\.json: unknown setting "optimiser"/],
    [{ activation: 'rectifier' }, 64, /settings\.json: "activation" "rectifier" must be one of linear, relu/],
    [{ epochs: [1] }, 64, /settings\.json: "epochs" \[1\] must be a single value/],
    [{ learningRate: { value: 0.1 } }, 64, /settings\.json: "learningRate" \{"value":0\.1\} must be a single value/],
    [{ layers: [[4], [2]] }, 64, /settings\.json: "layers" \[\[4\],\[2\]\] must be a list of widths, such as \[256, 64\]/],
  ])('refuses the config %j', async (settings, code, pattern) => {
    writeFileSync(join(dir, 'settings.json'), JSON.stringify(settings));
    expectFailure(await cli(['train', '--data', data, '--config', 'settings.json', '--out', 'bad-config'], { cwd: dir }), code, pattern);
    expect(existsSync(join(dir, 'bad-config'))).toBe(false);
  });

  it.each([
    [['--learning-rate', '1e-50'], /^autoencoder: The value of --learning-rate is out of range\. It must be a finite number > 0 as a 32-bit float\. Received number 1e-50$/],
    [['--epochs', '99999999999'], /^autoencoder: The value of --epochs is out of range\. It must be an integer >= 0 and <= \d+\. Received number 99999999999$/],
    [['--batch-size', '99999999999'], /^autoencoder: The value of --batch-size is out of range/],
    [['--threads', '5000'], /^autoencoder: The value of --threads is out of range/],
    [['--latent', '99999999'], /^autoencoder: The value of a width of --layers or --latent is out of range/],
    [['--validation-split', '0.9999999999999'], /^autoencoder: The value of --validation-split is out of range\. It must be small enough to leave a training row of 120/],
  ])('a setting beyond what the library takes (%j) is refused naming the flag', async (flags, pattern) => {
    expectFailure(await cli(['train', '--data', data, '--out', join(dir, 'beyond'), '--epochs', '1', ...flags]), 64, pattern);
    expect(existsSync(join(dir, 'beyond'))).toBe(false);
  });

  it('a --resume checkpoint of other layers or another optimizer is refused naming --resume and --optimizer', async () => {
    const checkpoint = join(dir, 'other.ckpt');
    const first = await cli(['train', '--data', data, '--out', join(dir, 'other'), '--epochs', '1', '--layers', '8', '--latent', '2', '--checkpoint', checkpoint, '--quiet']);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    const resume = (...flags: string[]) => cli(['train', '--data', data, '--out', join(dir, 'other-resumed'), '--epochs', '2', '--latent', '2', '--resume', checkpoint, ...flags]);
    expectFailure(await resume('--layers', '6'), 64, /^autoencoder: The --resume argument must be a checkpoint of this model's layers \(encoder layer 0: .*"units":8.* there, .*"units":6.* here\)/);
    expectFailure(await resume('--layers', '8', '--optimizer', 'sgd'), 64, /^autoencoder: The value of --optimizer is out of range\. It must be 'adam', the checkpoint's optimizer\. Received string "sgd"$/);
    expect(existsSync(join(dir, 'other-resumed'))).toBe(false);
  });

  it('reads a config saved with a byte-order mark, as Windows editors save UTF-8', async () => {
    writeFileSync(join(dir, 'bom.json'), `\uFEFF${JSON.stringify({ layers: [6], latent: 2, epochs: 1 })}`);
    const run = await cli(['train', '--data', data, '--config', 'bom.json', '--out', 'train-bom', '--json'], { cwd: dir });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).network).toBe('16 → 6 relu → 2 (latent) → 6 relu → 16 sigmoid');
  });

  it('refuses a config that is not JSON (65) or is missing (66)', async () => {
    writeFileSync(join(dir, 'broken.json'), '{"epochs": 2,');
    expectFailure(await cli(['train', '--data', data, '--config', 'broken.json'], { cwd: dir }), 65, /^autoencoder: broken\.json: not valid JSON/);
    expectFailure(await cli(['train', '--data', data, '--config', 'absent.json'], { cwd: dir }), 66, /^autoencoder: cannot read absent\.json: no such file/);
  });

  it('exits 73 when the output folder cannot be made', async () => {
    expectFailure(await cli(['train', '--data', data, '--out', data]), 73, /cannot write .*rows\.csv: already exists and is not a folder/);
    expectFailure(await cli(['train', '--data', data, '--out', join(data, 'sub')]), 73, /cannot write .*rows\.csv\/sub: a part of the path is not a folder/);
  });

  it('refuses before training a --resume file it cannot read (66) and a --checkpoint it could never write (73, or 64 for the data file)', async () => {
    const out = join(dir, 'never');
    expectFailure(await cli(['train', '--data', 'rows.csv', '--out', out, '--resume', 'absent.ckpt'], { cwd: dir }), 66, /^autoencoder: cannot read absent\.ckpt: no such file or folder/);
    expectFailure(await cli(['train', '--data', 'rows.csv', '--out', out, '--resume', '.'], { cwd: dir }), 66, /^autoencoder: cannot read \.: is a folder/);
    expectFailure(await cli(['train', '--data', 'rows.csv', '--out', out, '--checkpoint', 'absent/run.ckpt'], { cwd: dir }), 73, /^autoencoder: cannot write absent\/run\.ckpt: no such file or folder/);
    expectFailure(await cli(['train', '--data', 'rows.csv', '--out', out, '--checkpoint', '.'], { cwd: dir }), 73, /^autoencoder: cannot write \.: is a folder/);
    expectFailure(await cli(['train', '--data', 'rows.csv', '--out', out, '--checkpoint', 'rows.csv/run.ckpt'], { cwd: dir }), 73, /^autoencoder: cannot write rows\.csv\/run\.ckpt: a part of the path is not a folder/);
    expectFailure(await cli(['train', '--data', 'rows.csv', '--out', out, '--checkpoint', './rows.csv'], { cwd: dir }), 64, /^autoencoder: --checkpoint \.\/rows\.csv is the --data file/);
    writeFileSync(join(dir, 'keep.json'), JSON.stringify({ epochs: 1 }));
    expectFailure(await cli(['train', '--data', 'rows.csv', '--out', out, '--config', 'keep.json', '--checkpoint', 'keep.json'], { cwd: dir }), 64, /^autoencoder: --checkpoint keep\.json is the --config file/);
    expect(JSON.parse(readFileSync(join(dir, 'keep.json'), 'utf8'))).toEqual({ epochs: 1 });
    // The --out folder does not exist yet, but the run would make it there, and the checkpoint could not be written.
    expectFailure(await cli(['train', '--data', 'rows.csv', '--out', out, '--checkpoint', out], { cwd: dir }), 64, /^autoencoder: --checkpoint .*never is the --out folder/);
    // The model or a picture would have replaced it, and --resume refused what was left.
    for (const name of ['model.safetensors', 'loss.png']) {
      expectFailure(await cli(['train', '--data', 'rows.csv', '--out', out, '--checkpoint', join(out, name)], { cwd: dir }), 64, /^autoencoder: --checkpoint .* is a file the run writes into --out; name it otherwise$/);
    }
    // An empty name (a shell variable left unset) was taken as no --resume, --checkpoint or --config at all.
    for (const flag of ['--resume', '--checkpoint', '--config', '--out']) {
      expectFailure(await cli(['train', '--data', 'rows.csv', '--out', out, flag, ''], { cwd: dir }), 64, new RegExp(`^autoencoder: option '${flag} <[a-z.]+>' argument '' is invalid. must name a file or folder\\.$`));
    }
    expect(existsSync(out)).toBe(false);
  });

  it('a checkpoint that fails to be written ends the run with 73 naming it, and no --out folder is left', async () => {
    const out = join(dir, 'unwritable-checkpoint');
    // /proc takes no new files, though it is a folder that exists.
    const run = await cli(['train', '--data', 'rows.csv', '--out', out, '--checkpoint', '/proc/run.ckpt', '--epochs', '1', '--layers', '8', '--latent', '2'], { cwd: dir });
    expect(run.code).toBe(73);
    // It failed after the epoch, when the checkpoint was written: the check before training cannot see it.
    expect(run.stdout).toMatch(/^epoch 1\/1 /m);
    expect(run.stderr).toMatch(/^autoencoder: cannot write \/proc\/run\.ckpt: no such file or folder\n$/);
    expect(existsSync(out)).toBe(false);
  });

  it('a write that fails part-way (a full disk; here a file-size limit) ends the run with 73 naming the file, and no --out folder is left', async () => {
    const { spawnSync } = await import('node:child_process');
    // Writes through an open file name no file in their errors: they were internal errors (70).
    const limited = (args: string[]) =>
      spawnSync('bash', ['-c', 'ulimit -f 8 && exec "$@"', 'limited', process.execPath, MAIN, 'train', '--data', 'rows.csv', '--epochs', '1', '--quiet', ...args], { cwd: dir, encoding: 'utf8' });
    const checkpoint = limited(['--out', join(dir, 'limited', 'a'), '--checkpoint', 'limited.ckpt']);
    expect({ status: checkpoint.status, stderr: checkpoint.stderr }).toEqual({ status: 73, stderr: 'autoencoder: cannot write limited.ckpt: file too large\n' });
    const model = limited(['--out', join(dir, 'limited', 'b')]);
    expect({ status: model.status, stderr: model.stderr }).toMatchObject({ status: 73, stderr: expect.stringMatching(/^autoencoder: cannot write .*limited\/b\/model\.safetensors: file too large\n$/) });
    expect(existsSync(join(dir, 'limited'))).toBe(false);
  });

  it('writes --checkpoint into the --out folder that the run makes', async () => {
    const out = join(dir, 'with-checkpoint');
    const run = await cli(['train', '--data', 'rows.csv', '--out', out, '--checkpoint', join(out, 'run.ckpt'), '--epochs', '1', '--layers', '8', '--latent', '2', '--quiet'], { cwd: dir });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(existsSync(join(out, 'run.ckpt'))).toBe(true);
  });

  it('trains a file too short for the validation split on all its rows, as it says', async () => {
    const few = join(dir, 'nine.csv');
    writeDelimited(few, rows(9, COLS));
    const run = await cli(['train', '--data', few, '--out', join(dir, 'nine'), '--epochs', '1', '--layers', '8', '--latent', '2']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('training on 9 rows of');
    expect(run.stdout).toContain('(0 held out for validation)');
    expect(existsSync(join(dir, 'nine', 'model.safetensors'))).toBe(true);
  });

  it('Ctrl-C stops after the current batch, exits 130 and writes no model', async () => {
    const big = join(dir, 'big.npy');
    writeNpy(big, rows(3000, 64, 5));
    const out = join(dir, 'interrupted');
    let sent = false;
    const run = await cli(['train', '--data', big, '--out', out, '--epochs', '100000', '--batch-size', '16'], {
      onStdout: (text, child) => {
        if (!sent && /^epoch +1\//m.test(text)) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    });
    expect(sent).toBe(true);
    expect(run.code).toBe(130);
    expect(run.stderr).toMatch(/^stopping after the current batch/m);
    expect(run.stderr.trimEnd().split('\n').at(-1)).toMatch(/^autoencoder: interrupted after \d+ of 100000 epochs; no model written$/);
    // The folder was made by this run and is removed again; nothing half-written is left behind.
    expect(existsSync(out)).toBe(false);
  });

  it('a second Ctrl-C quits at once, and the folders the run made for --out go too', async () => {
    const { spawn } = await import('node:child_process');
    const top = join(dir, 'twice');
    // One slow batch an epoch, so that the second Ctrl-C comes while the first waits for it to end.
    const args = ['train', '--data', join(dir, 'big.npy'), '--out', join(top, 'deep'), '--epochs', '100000', '--batch-size', '3000', '--layers', '1024,1024'];
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let first = false;
    let second = false;
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
      // Once training runs: the first epoch's line.
      if (!first && /^epoch +1\//m.test(stdout)) {
        first = true;
        child.kill('SIGINT');
      }
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      stderr += text;
      if (!second && /stopping after the current batch/.test(stderr)) {
        second = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise((done) => child.on('close', done));
    expect(code).toBe(130);
    expect(stderr).toMatch(/stopping after the current batch/);
    // The first Ctrl-C alone would have ended with this line, after the batch.
    expect(stderr).not.toMatch(/interrupted after/);
    expect(existsSync(top)).toBe(false);
  });

  it('Ctrl-C while the rows still come through a pipe exits 130 and leaves no folder', async () => {
    const { spawn } = await import('node:child_process');
    const out = join(dir, 'reading');
    const child = spawn(process.execPath, [MAIN, 'train', '--data', '-', '--out', out], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    // A header and one row, and the pipe left open: the command waits for more.
    child.stdin.write('a,b\n0.5,0.5\n');
    // The signal is sent once the folder is there, and a moment later: the handler comes right after it.
    while (!existsSync(out)) await new Promise((later) => setTimeout(later, 20));
    await new Promise((later) => setTimeout(later, 300));
    child.kill('SIGINT');
    const code = await new Promise((done) => child.on('close', done));
    child.stdin.destroy();
    expect({ code, stderr }).toEqual({ code: 130, stderr: 'autoencoder: interrupted before training; no model written\n' });
    expect(existsSync(out)).toBe(false);
  });

  it('a failed run removes every folder it made for --out, the parents too', async () => {
    writeFileSync(join(dir, 'broken.csv'), '1,2\n3,x\n');
    expectFailure(await cli(['train', '--data', 'broken.csv', '--out', join('nest', 'a', 'b')], { cwd: dir }), 65, /broken\.csv, line 2, column 2/);
    expect(existsSync(join(dir, 'nest'))).toBe(false);
  });

  it('Ctrl-C with --checkpoint keeps the last checkpoint, which loads', async () => {
    const out = join(dir, 'checkpointed');
    const checkpoint = join(dir, 'run.ckpt');
    let sent = false;
    const run = await cli(['train', '--data', join(dir, 'big.npy'), '--out', out, '--epochs', '100000', '--checkpoint', checkpoint], {
      onStdout: (text, child) => {
        if (!sent && /^epoch +2\//m.test(text)) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    });
    expect(run.code).toBe(130);
    expect(run.stderr).toMatch(/interrupted; .*run\.ckpt holds epoch \d+ \(continue with --resume/);
    expect(existsSync(join(out, 'model.safetensors'))).toBe(false);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const resumed = await Autoencoder.load(checkpoint);
    expect(resumed.inputDim).toBe(64);
    resumed.dispose();
  });
});

describe('encode, reconstruct, score', () => {
  it('encode writes one latent vector per row as CSV on stdout', async () => {
    const run = await cli(['encode', '--model', model, '--data', data]);
    expect(run.code).toBe(0);
    const { header, rows: z } = parseCsv(run.stdout);
    expect(header).toEqual(['z1', 'z2', 'z3', 'z4']);
    expect(z).toHaveLength(120);
    const ae = await Autoencoder.load(model);
    const expected = ae.encode(Float32Array.from(rows(120, COLS).flat()));
    ae.dispose();
    // The CSV holds the shortest decimals that read back as the same float32 values.
    expect(Float32Array.from(z.flat())).toEqual(expected.data);
  });

  it("reconstruct keeps the input's column names", async () => {
    const run = await cli(['reconstruct', '--model', model, '--data', data]);
    const { header, rows: y } = parseCsv(run.stdout);
    expect(header).toEqual(Array.from({ length: COLS }, (_, i) => `c${i}`));
    expect(y).toHaveLength(120);
    expect(y.flat().every((v) => v > 0 && v < 1)).toBe(true);
  });

  it('score writes one score per row; --no-header leaves out the header', async () => {
    const run = await cli(['score', '--model', model, '--data', data, '--no-header', '--metric', 'mae']);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(120);
    const ae = await Autoencoder.load(model);
    const expected = ae.reconstructionError(Float32Array.from(rows(120, COLS).flat()), { metric: 'mae' });
    ae.dispose();
    expect(Float32Array.from(lines.map(Number))).toEqual(expected);
  });

  it('--out FILE.npy writes NumPy, --out FILE.tsv writes TSV, and --json reports the file', async () => {
    const npy = join(dir, 'scores.npy');
    const run = await cli(['score', '--model', model, '--data', data, '--out', npy, '--json']);
    expect(JSON.parse(run.stdout)).toEqual({ command: 'score', out: npy, format: 'npy', rows: 120, cols: 1 });
    // --quiet leaves out everything but what was asked for: with --json, the summary (as train and info print theirs).
    const quiet = await cli(['score', '--model', model, '--data', data, '--out', npy, '--json', '--quiet']);
    expect(JSON.parse(quiet.stdout)).toEqual(JSON.parse(run.stdout));
    expect((await cli(['score', '--model', model, '--data', data, '--out', npy, '--quiet'])).stdout).toBe('');
    const bytes = readFileSync(npy);
    const headerLength = bytes.readUInt16LE(8);
    expect(bytes.subarray(10, 10 + headerLength).toString('latin1')).toMatch(/^\{'descr': '<f4', 'fortran_order': False, 'shape': \(120,\), \} *\n$/);
    expect((10 + headerLength) % 64).toBe(0);
    expect(bytes.length).toBe(10 + headerLength + 120 * 4);

    const tsv = join(dir, 'latent.tsv');
    await cli(['encode', '--model', model, '--data', data, '--out', tsv, '--quiet']);
    expect(readFileSync(tsv, 'utf8').split('\n')[0]).toBe('z1\tz2\tz3\tz4');
  });

  it('--out writes what the readers take its name for: .tab is TSV, .f32, .bin and .raw raw float32, which train and score read back', async () => {
    const rebuilt = parseCsv((await cli(['reconstruct', '--model', model, '--data', data])).stdout).rows;
    for (const name of ['rebuilt.f32', 'rebuilt.BIN', 'rebuilt.raw']) {
      const file = join(dir, name);
      const run = await cli(['reconstruct', '--model', model, '--data', data, '--out', file, '--json']);
      expect(JSON.parse(run.stdout)).toMatchObject({ format: 'f32', rows: 120, cols: COLS });
      const bytes = readFileSync(file);
      expect(Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4))).toEqual(rebuilt.flat().map(Math.fround));
    }
    const scores = await cli(['score', '--model', model, '--data', join(dir, 'rebuilt.f32'), '--dim', String(COLS)]);
    expect(scores.code).toBe(0);
    expect(parseCsv(scores.stdout).rows).toHaveLength(120);
    const tab = join(dir, 'latent.tab');
    await cli(['encode', '--model', model, '--data', data, '--out', tab, '--quiet']);
    expect(readFileSync(tab, 'utf8').split('\n')[0]).toBe('z1\tz2\tz3\tz4');
  });

  it("--out - writes to stdout, as if --out were not given", async () => {
    const toStdout = await cli(['encode', '--model', model, '--data', data, '--out', '-'], { cwd: dir });
    expect(toStdout).toMatchObject({ code: 0, stderr: '' });
    expect(toStdout.stdout).toBe((await cli(['encode', '--model', model, '--data', data])).stdout);
    expect(existsSync(join(dir, '-'))).toBe(false);
  });

  it('--json without --out prints the rows as JSON, with the digits CSV writes', async () => {
    const run = await cli(['encode', '--model', model, '--data', data, '--json']);
    const { columns, rows: z } = JSON.parse(run.stdout);
    expect(columns).toEqual(['z1', 'z2', 'z3', 'z4']);
    expect(z).toHaveLength(120);
    const csv = (await cli(['encode', '--model', model, '--data', data])).stdout;
    expect(run.stdout).toBe(`{"columns":["z1","z2","z3","z4"],"rows":[${csv.trimEnd().split('\n').slice(1).map((line) => `[${line}]`).join(',')}]}\n`);
  });

  it('--json writes a score beyond float32 as null, and a result of megabytes whole', async () => {
    const overflow = rows(1, COLS).map((row) => row.map((v, c) => (c === 0 ? 1e20 : v)));
    writeDelimited(join(dir, 'overflow.csv'), [...overflow, ...rows(1, COLS)]);
    const { rows: scores } = JSON.parse((await cli(['score', '--model', model, '--data', join(dir, 'overflow.csv'), '--json'])).stdout);
    expect(scores[0]).toEqual([null]);
    expect(scores[1][0]).toBeGreaterThan(0);
    const tall = join(dir, 'tall.csv');
    writeDelimited(tall, Array.from({ length: 60 }, () => rows(120, COLS)).flat());
    const run = await cli(['reconstruct', '--model', model, '--data', tall, '--json']);
    expect(run.stdout.length).toBeGreaterThan(1 << 20);
    expect(parseCsv((await cli(['reconstruct', '--model', model, '--data', tall])).stdout).rows).toEqual(JSON.parse(run.stdout).rows);
  });

  it('reads the rows from stdin with --data -', async () => {
    const run = await cli(['score', '--model', model, '--data', '-'], { input: readFileSync(data, 'utf8') });
    expect(run.code).toBe(0);
    expect(run.stdout.trimEnd().split('\n')).toHaveLength(121);
  });

  it('refuses data of the wrong width (65), a missing model (66) and a file that is not a model (65)', async () => {
    const narrow = join(dir, 'narrow.csv');
    writeDelimited(narrow, rows(3, 5));
    expectFailure(await cli(['encode', '--model', model, '--data', narrow]), 65, /narrow\.csv has 5 columns, but the model .* reads rows of 16$/);
    expectFailure(await cli(['encode', '--model', join(dir, 'none.safetensors'), '--data', data]), 66, /cannot read .*none\.safetensors: no such file/);
    expectFailure(await cli(['encode', '--model', data, '--data', data]), 65, /rows\.csv: /);
  });

  it('refuses an --out that is the --model or the --data file (64), leaving it as it was', async () => {
    const before = readFileSync(model);
    expectFailure(await cli(['encode', '--model', model, '--data', data, '--out', model]), 64, /--out .*model\.safetensors is the --model file/);
    expectFailure(await cli(['score', '--model', model, '--data', data, '--out', data]), 64, /--out .*rows\.csv is the --data file/);
    expect(readFileSync(model).equals(before)).toBe(true);
  });

  it('refuses an --out that reaches an input through a link (64), leaving it as it was', async () => {
    const victim = join(dir, 'victim.csv');
    copyFileSync(data, victim);
    symlinkSync(victim, join(dir, 'victim-link.csv'));
    expectFailure(await cli(['encode', '--model', model, '--data', join(dir, 'victim-link.csv'), '--out', victim]), 64, /--out .*victim\.csv is the --data file/);
    expect(readFileSync(victim).equals(readFileSync(data))).toBe(true);
  });

  it('--out through a link writes the file it names; --out to a pipe writes into the pipe; --out name/ is a folder (73)', async () => {
    const target = join(dir, 'target.csv');
    writeFileSync(target, 'old\n');
    symlinkSync(target, join(dir, 'out-link.csv'));
    expect((await cli(['encode', '--model', model, '--data', data, '--out', join(dir, 'out-link.csv'), '--quiet'])).code).toBe(0);
    expect(lstatSync(join(dir, 'out-link.csv')).isSymbolicLink()).toBe(true);
    expect(parseCsv(readFileSync(target, 'utf8')).rows).toHaveLength(120);

    const { execFileSync, spawn } = await import('node:child_process');
    const fifo = join(dir, 'scores.fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = spawn('cat', [fifo]);
    let read = '';
    reader.stdout.setEncoding('utf8').on('data', (text: string) => (read += text));
    const closed = new Promise((done) => reader.on('close', done));
    try {
      expect((await cli(['score', '--model', model, '--data', data, '--out', fifo, '--quiet'])).code).toBe(0);
      await closed;
    } finally {
      reader.kill();  // a command that failed before opening the pipe would leave cat waiting
    }
    expect(read.trimEnd().split('\n')).toHaveLength(121);
    expect(lstatSync(fifo).isFIFO()).toBe(true);

    expectFailure(await cli(['score', '--model', model, '--data', data, '--out', join(dir, 'no-folder') + '/']), 73, /cannot write .*no-folder\/: is a folder$/);
    expect(existsSync(join(dir, 'no-folder'))).toBe(false);
  });

  it('a reader that stops early (| head -1) ends a training run quietly, and the folders it made go', async () => {
    const { spawn } = await import('node:child_process');
    const top = join(dir, 'head-1');
    const child = spawn(process.execPath, [MAIN, 'train', '--data', data, '--epochs', '100000', '--out', join(top, 'model')], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise((done) => child.on('close', done));
    expect(code).toBe(0);
    expect(existsSync(top)).toBe(false);
  });

  it('a standard output that cannot be written (a full disk) ends with one line and 73, not a stack trace', async () => {
    const { openSync, closeSync } = await import('node:fs');
    const { spawnSync } = await import('node:child_process');
    const full = openSync('/dev/full', 'w');
    try {
      // train's first epoch line fails: the folders it made for --out go, as on any failure.
      const out = join(dir, 'full-stdout', 'model');
      for (const args of [['encode', '--model', model, '--data', data], ['info'], ['train', '--data', data, '--epochs', '1', '--out', out]]) {
        const run = spawnSync(process.execPath, [MAIN, ...args], { stdio: ['ignore', full, 'pipe'], encoding: 'utf8' });
        expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 73, stderr: 'autoencoder: cannot write standard output: no space left on the device\n' });
      }
      expect(existsSync(join(dir, 'full-stdout'))).toBe(false);
    } finally {
      closeSync(full);
    }
  });

  it('NATIVE_AUTOENCODER_BACKEND: a bad value exits 64 naming it, and cuda without a GPU 69 saying why (they were blamed on the model file, 65, or internal, 70)', async () => {
    const { spawnSync } = await import('node:child_process');
    const { backendInfo } = await import('native-autoencoder');
    const score = (backend: string) =>
      spawnSync(process.execPath, [MAIN, 'score', '--model', model, '--data', data], { encoding: 'utf8', env: { ...process.env, NATIVE_AUTOENCODER_BACKEND: backend } });
    const bogus = score('bogus');
    expect({ status: bogus.status, stderr: bogus.stderr }).toEqual({ status: 64, stderr: expect.stringMatching(/^autoencoder: The "NATIVE_AUTOENCODER_BACKEND" argument must be one of 'cpu', 'cuda', 'auto'\. Received string "bogus"\n$/) });
    // info, the command to paste into a bug report, still reports.
    const report = spawnSync(process.execPath, [MAIN, 'info'], { encoding: 'utf8', env: { ...process.env, NATIVE_AUTOENCODER_BACKEND: 'bogus' } });
    expect(report.status).toBe(0);
    expect(report.stdout).toMatch(/^default backend +none: The "NATIVE_AUTOENCODER_BACKEND" argument must be one of/m);
    const cuda = score('cuda');
    const info = backendInfo();
    expect({ status: cuda.status, stderr: cuda.stderr }).toEqual(info.cuda ? { status: 0, stderr: '' } : { status: 69, stderr: expect.stringContaining(info.cudaReason) });
  });

  it('exits 73 when the output file cannot be written', async () => {
    expectFailure(await cli(['score', '--model', model, '--data', data, '--out', join(dir, 'no', 'such', 'scores.csv')]), 73, /cannot write .*scores\.csv: no such file/);
  });
});

describe('bench', () => {
  it('--quick trains a workload and reports samples/s and GFLOP/s', async () => {
    const run = await cli(['bench', '--quick', '--workloads', 'W1', '--json']);
    expect(run.code).toBe(0);
    const { results, backend } = JSON.parse(run.stdout);
    expect(backend.backend).toBe('cpu');
    expect(results).toHaveLength(1);
    // 2 × (3 × Σ in·out − in₁·out₁) for 100-32-32-32-100.
    expect(results[0]).toMatchObject({ workload: 'W1', flopsPerSample: 2 * (3 * (3200 + 1024 + 1024 + 3200) - 3200), rows: 8192 });
    expect(results[0].samplesPerSecond).toBeGreaterThan(0);
    expect(results[0].gflops).toBeCloseTo((results[0].samplesPerSecond * results[0].flopsPerSample) / 1e9, 6);
  });

  it('prints a table', async () => {
    const run = await cli(['bench', '--quick', '--workloads', 'w1']);
    expect(run.stdout).toMatch(/^workload +layers +batch +rows +samples\/s +GFLOP\/s$/m);
    expect(run.stdout).toMatch(/^W1 +100-32-32-32-100 +64 +8,192 +[\d,]+ +[\d.]+$/m);
  });
});

describe('demo --quick', () => {
  it('trains on MNIST digits and writes the model and three pictures', async () => {
    const out = join(dir, 'demo');
    const started = performance.now();
    const run = await cli(['demo', '--quick', '--out', out, '--json']);
    const seconds = (performance.now() - started) / 1000;
    expect(run.code).toBe(0);
    expect(seconds).toBeLessThan(30);
    const summary = JSON.parse(run.stdout);
    expect(summary.rows).toEqual({ train: 3240, validation: 360, test: 400 });
    expect(summary.epochs).toHaveLength(6);
    expect(summary.testLoss.binaryCrossentropy).toBeLessThan(0.25);
    expect(summary.backend.backend).toBe('cpu');
    // Ten test digits (one of each) over their reconstructions, each 28 pixels × 4.
    const grid = expectPng(join(out, 'reconstructions.png'));
    expect(grid.width).toBeGreaterThan(10 * 112);
    expect(grid.height).toBeGreaterThan(2 * 112);
    expectPng(join(out, 'latent.png'), 900, 760);
    expectPng(join(out, 'loss.png'), 900, 560);
    const ae = await Autoencoder.load(join(out, 'model.safetensors'));
    expect([ae.inputDim, ae.latentDim]).toEqual([784, 16]);
    ae.dispose();
  });
});
