// The OpenBLAS kernels our side of the benchmarks runs. compare.ts imports this module first, before
// anything loads the addon, which loads OpenBLAS, whose kernel family is fixed as it loads. PyTorch's
// runs never see this environment's OPENBLAS_CORETYPE, and ours does not either unless
// --ours-coretype NAME asks for a family: one set machine-wide (Haswell on an AVX-512 CPU, seen here)
// would otherwise slow one side only.
import { option } from './args';

/** 'auto' (the library's own choice) or an OpenBLAS core name. */
export const OURS_CORETYPE = option('--ours-coretype', 'auto');
/** OPENBLAS_CORETYPE as this process found it. */
export const INHERITED_CORETYPE = process.env.OPENBLAS_CORETYPE;

if (OURS_CORETYPE === 'auto') delete process.env.OPENBLAS_CORETYPE;
else process.env.OPENBLAS_CORETYPE = OURS_CORETYPE;
