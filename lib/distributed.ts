// Data-parallel training over MPI: joining the job, and which process this is.
import { native } from './binding';
import { finiteNumber, knownKeys, optionalObject } from './validate';

/** This process's place in an MPI job. */
export interface DistributedInfo {
  /** 0 to size - 1. */
  rank: number;
  /** The number of processes in the job (1 when started without mpirun). */
  size: number;
  /** rank === 0: the process that prints, saves models and writes checkpoints. */
  isRoot: boolean;
  /** The MPI library, as it names itself (for example "Open MPI v4.1.4"). */
  library: string;
}

export interface DistributedOptions {
  /** How long a rank waits for the others in one collective before its fit rejects with ERR_DISTRIBUTED_TIMEOUT. Default 300. */
  timeoutSeconds?: number;
}

/**
 * Joins the MPI job this process was started in (`mpirun -np N node train.js`, or srun under
 * Slurm) and returns its rank; a process started without mpirun is a job of one. MPI is loaded at
 * the first call and finalized at exit; later calls return the same rank (and may change the
 * timeout). `fit` with `distributed: 'mpi'` calls it itself. Throws ERR_MPI_UNAVAILABLE when the
 * library was built without MPI or libmpi cannot be loaded.
 */
export function initDistributed(options: DistributedOptions = {}): DistributedInfo {
  const o = optionalObject('options', options);
  knownKeys('options', o, ['timeoutSeconds']);
  const timeout = o.timeoutSeconds === undefined ? undefined : finiteNumber('options.timeoutSeconds', o.timeoutSeconds, { min: 0, minExclusive: true, max: 1e7 });
  const { rank, size, library } = native.mpiInit(timeout);
  return { rank, size, isRoot: rank === 0, library };
}
