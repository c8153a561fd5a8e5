// Data-parallel training: the same script trains in one process or across the ranks of an MPI job.
//   npx tsx examples/distributed.ts                                    one process
//   mpirun -np 2 npx tsx examples/distributed.ts                       two ranks on this machine
//   mpirun -np 8 --hostfile hosts npx tsx examples/distributed.ts      eight ranks on several machines
import * as os from 'node:os';
import { Autoencoder, initDistributed, setThreads } from 'native-autoencoder';

// Rows of 64 values that lie near an 8-dimensional surface; every rank makes the same ones.
function dataset(rows: number, cols: number): Float32Array {
  const x = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) x[r * cols + c] = 0.5 + 0.45 * Math.sin((r % 97) * 0.13 * (1 + (c % 8)) + c);
  }
  return x;
}

async function main(): Promise<void> {
  const { rank, size, isRoot, library } = initDistributed();
  // The ranks on this machine share its cores.
  const local = Number(process.env.OMPI_COMM_WORLD_LOCAL_SIZE ?? 1);
  setThreads(Math.max(1, Math.floor(os.availableParallelism() / local)));
  if (isRoot) console.log(`${size} rank(s) over ${library}`);

  const ae = new Autoencoder({ inputDim: 64, latentDim: 8, seed: 1 });
  const history = await ae.fit(dataset(16384, 64), {
    epochs: 5,
    batchSize: 256, // the global batch, split among the ranks
    validationSplit: 0.1,
    distributed: 'mpi',
    onEpochEnd: (e) => {
      if (isRoot) {
        console.log(`epoch ${e.epoch + 1}: loss ${e.loss.toFixed(5)}, validation ${e.valLoss?.toFixed(5)}, ` +
          `${Math.round(e.samplesPerSecond)} samples/s, ${((e.communicationSeconds ?? 0) * 1000).toFixed(0)} ms in allreduce`);
      }
    },
  });
  // Every rank holds the same weights; one writes them.
  if (isRoot) {
    await ae.save('distributed-model.safetensors');
    console.log(`rank ${rank} saved distributed-model.safetensors after ${history.steps} steps`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
