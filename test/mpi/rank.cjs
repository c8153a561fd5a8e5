// One rank of a distributed fit, started under mpirun by test/distributed.test.ts.
// argv: the library's entry, then the scenario as JSON. Writes what the test compares to
// `${scenario.out}.${rank}.json`; a refused fit prints its code and message there instead.
'use strict';
const fs = require('node:fs');
const [entry, json] = process.argv.slice(2);
const { Autoencoder, initDistributed, setThreads } = require(entry);
const { rows } = require('./rows.cjs');
const s = JSON.parse(json);

let rank = -1;
(async () => {
  setThreads(1);
  const info = initDistributed({ timeoutSeconds: s.timeoutSeconds ?? 60 });
  rank = info.rank;
  const count = s.rowsByRank ? s.rowsByRank[rank] : s.rows;
  // A different initialisation on every rank: the fit must start everyone from rank 0's.
  const ae = new Autoencoder({ inputDim: s.dim, latentDim: 4, seed: s.modelSeed + rank, ...(s.noise ? { noise: { type: 'gaussian', stddev: s.noise } } : {}) });
  const history = await ae.fit(rows(count, s.dim), {
    epochs: s.epochs,
    batchSize: s.batchSize,
    seed: 7,
    optimizer: 'adam',
    validationSplit: s.validationSplit,
    distributed: 'mpi',
    ...(s.precision ? { precision: s.precision } : {}),
    ...(s.checkpoint ? { checkpoint: { path: s.checkpoint } } : {}),
    ...(s.resumeFrom ? { resumeFrom: s.resumeFrom } : {}),
    onBatchEnd: ({ epoch, batch }) => {
      if (s.killRank === rank && epoch === 1 && batch === 2) process.kill(process.pid, 'SIGKILL');
      if (s.stopRank === rank && epoch === 1 && batch === 2) process.kill(process.pid, 'SIGSTOP');
    },
  });
  fs.writeFileSync(`${s.out}.${rank}.json`, JSON.stringify({
    rank,
    size: info.size,
    library: info.library,
    loss: history.loss,
    valLoss: history.valLoss,
    steps: history.steps,
    communicationSeconds: history.epochs.map((e) => e.communicationSeconds),
    weights: ae.getWeights().map((w) => ({ name: w.name, data: Array.from(w.data) })),
  }));
})().catch((error) => {
  fs.writeFileSync(`${s.out}.${rank}.json`, JSON.stringify({ rank, error: { code: error.code, message: error.message } }));
  process.exitCode = 3;
});
