#!/usr/bin/python3
"""PyTorch side of bench/compare.ts.

Reads one JSON request on stdin, writes one JSON answer on stdout (progress goes to stderr):

  {"dir": "/tmp/...",                       # where compare.ts wrote the data and the initial weights
   "threads": [1, 2],
   "beforeRows": 64,
   "sgemm": {"n": 2048, "reps": 3},         # optional: torch.mm n x n x n rate per thread count
                                            # ("windowSeconds": w makes each rep a window of
                                            # products lasting at least w seconds)
   "bf16mm": {"n": 2048, "reps": 3},        # optional: the same in bfloat16 (oneDNN; AMX where the CPU has it)
   "workloads": [{"name": "W1", "widths": [...], "activations": [...], "loss": "mse",
                  "optimizer": "sgd", "lr": 0.05, "epsilon": 1e-7, "batch": 64, "rows": 65536,
                  "afterRows": 1024, "epochs": 4,
                  "autocast": "bf16"}]}                # optional: forward and loss under CPU bf16 autocast

<dir>/<name>.x.f32 holds the rows (float32, row-major); <dir>/<name>.w.f32 the parameters in
getWeights() order (each layer: weight [out, in] as nn.Linear stores it, then bias [out]).

Every run starts from those weights with a fresh optimizer, trains `epochs` epochs in order
(no shuffling, the last partial batch included, as the library does), times each epoch, and
evaluates the mean loss over the first `afterRows` rows afterwards (and over the first
`beforeRows` rows before training, which shows that the weights and data arrived intact). The first epoch is the warm-up: compare.ts takes
the median of the others.

OpenBLAS's kernel family is chosen when the library loads, so OPENBLAS_CORETYPE (if wanted) must be
set in the environment by the caller. For each thread count t, both torch.set_num_threads(t) and
openblas_set_num_threads(t) are set: OpenBLAS otherwise runs one thread per core whatever torch says.
"""
import json
import os
import sys
import time


def log(*args):
    print('[torch]', *args, file=sys.stderr, flush=True)


def main():
    request = json.load(sys.stdin)
    import numpy as np
    import torch
    import torch.nn.functional as F

    torch.set_num_interop_threads(1)
    blas = openblas()

    def set_threads(t):
        # torch.set_num_threads sets ATen's (OpenMP) threads only; Debian's torch calls a pthreads
        # OpenBLAS that keeps its own pool (one thread per core) unless told otherwise.
        torch.set_num_threads(t)
        if blas is not None:
            blas.openblas_set_num_threads(t)

    torch.set_flush_denormal(True)  # the library flushes denormals in its compute threads too
    answer = {
        'torch': torch.__version__,
        'openblasCoretype': os.environ.get('OPENBLAS_CORETYPE'),
        'blasCore': blas_core(blas),
        'sgemm': {},
        'bf16mm': {},
        'workloads': {},
    }
    threads = request.get('threads', [1, 2])

    def mm_rates(spec, dtype, label):
        """torch.mm n x n x n in `dtype`, GFLOP/s per thread count: each rep one product, or a window
        of products lasting at least `windowSeconds` (a sustained rate, as a training epoch is)."""
        n = int(spec.get('n', 2048))
        window = float(spec.get('windowSeconds', 0))
        flops = 2.0 * n ** 3
        g = torch.Generator().manual_seed(0)
        a = torch.rand(n, n, generator=g).to(dtype)
        b = torch.rand(n, n, generator=g).to(dtype)
        out = {}
        for t in threads:
            set_threads(t)
            torch.mm(a, b)
            rates = []
            best_product = 0.0
            for _ in range(int(spec.get('reps', 3))):
                products = 0
                start = time.perf_counter()
                elapsed = 0.0
                while products == 0 or elapsed < window:
                    t0 = time.perf_counter()
                    torch.mm(a, b)
                    t1 = time.perf_counter()
                    best_product = max(best_product, flops / (t1 - t0) / 1e9)
                    products += 1
                    elapsed = t1 - start
                rates.append(products * flops / elapsed / 1e9)
            median = sorted(rates)[len(rates) // 2]
            out[str(t)] = {'best': max(rates), 'median': median, 'all': rates, 'bestProduct': best_product}
            log(f'{label} {n}^3 threads {t}: best {max(rates):.1f}, median {median:.1f}, fastest product '
                f'{best_product:.1f} GFLOP/s' + (f' (windows of {window:g} s)' if window else ''))
        return out

    if request.get('sgemm'):
        answer['sgemm'] = mm_rates(request['sgemm'], torch.float32, 'sgemm')
    if request.get('bf16mm'):
        answer['bf16mm'] = mm_rates(request['bf16mm'], torch.bfloat16, 'bf16 mm')

    acts = {
        'relu': torch.nn.ReLU,
        'linear': None,
        'sigmoid': torch.nn.Sigmoid,
        'tanh': torch.nn.Tanh,
    }

    for w in request.get('workloads', []):
        name = w['name']
        widths = w['widths']
        rows = int(w['rows'])
        cols = widths[0]
        x = torch.from_numpy(np.fromfile(os.path.join(request['dir'], name + '.x.f32'), dtype=np.float32)[: rows * cols].reshape(rows, cols).copy())
        flat = np.fromfile(os.path.join(request['dir'], name + '.w.f32'), dtype=np.float32)
        init = []
        off = 0
        for i in range(len(widths) - 1):
            fan_in, out = widths[i], widths[i + 1]
            wt = flat[off: off + out * fan_in].reshape(out, fan_in)
            off += out * fan_in
            bias = flat[off: off + out]
            off += out
            init.append((torch.from_numpy(wt.copy()), torch.from_numpy(bias.copy())))
        assert off == flat.size, f'{name}: weight file holds {flat.size} floats, expected {off}'

        bce = w['loss'] == 'binaryCrossentropy'
        autocast = w.get('autocast') == 'bf16'
        results = {}
        for t in w.get('threads', threads):
            set_threads(t)
            layers = []
            for i in range(len(widths) - 1):
                lin = torch.nn.Linear(widths[i], widths[i + 1])
                with torch.no_grad():
                    lin.weight.copy_(init[i][0])
                    lin.bias.copy_(init[i][1])
                layers.append(lin)
                act = w['activations'][i]
                last = i == len(widths) - 2
                if last and bce:
                    if act != 'sigmoid':
                        raise ValueError('binaryCrossentropy expects a sigmoid output')
                    continue  # cross-entropy from the logits, as the library computes it
                if acts[act] is not None:
                    layers.append(acts[act]())
            net = torch.nn.Sequential(*layers)
            if w['optimizer'] == 'sgd':
                opt = torch.optim.SGD(net.parameters(), lr=w['lr'])
            else:
                opt = torch.optim.Adam(net.parameters(), lr=w['lr'], eps=w['epsilon'])

            def loss_of(out, target):
                if bce:
                    return F.binary_cross_entropy_with_logits(out, target)
                return F.mse_loss(out, target)

            before = x[: int(request.get('beforeRows', rows))]
            after = x[: int(w.get('afterRows', rows))]
            with torch.no_grad():
                loss0 = float(loss_of(net(before), before))
            batch = int(w['batch'])
            epoch_seconds, epoch_cpu, epoch_loss = [], [], []
            steps = 0
            for epoch in range(int(w['epochs'])):
                total = torch.zeros(())
                t0 = time.perf_counter()
                c0 = time.process_time()
                for s in range(0, rows, batch):
                    xb = x[s: s + batch]
                    opt.zero_grad(set_to_none=True)
                    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=autocast):
                        out = net(xb)
                    loss = loss_of(out.float(), xb)
                    loss.backward()
                    opt.step()
                    total += loss.detach() * xb.shape[0]
                    steps += 1
                seconds = time.perf_counter() - t0
                epoch_seconds.append(seconds)
                epoch_cpu.append(time.process_time() - c0)
                epoch_loss.append(float(total) / rows)
                log(f'{name} threads {t} epoch {epoch}: {rows / seconds:.0f} samples/s, loss {epoch_loss[-1]:.6f}')
            with torch.no_grad():
                final = float(loss_of(net(after), after))
            results[str(t)] = {
                'epochSeconds': epoch_seconds,
                'epochCpuSeconds': epoch_cpu,
                'epochLoss': epoch_loss,
                'lossBefore': loss0,
                'lossAfter': final,
                'steps': steps,
            }
        answer['workloads'][name] = results

    json.dump(answer, sys.stdout)
    sys.stdout.write('\n')


def openblas():
    """The OpenBLAS that torch loaded (the same handle), or None when there is none."""
    try:
        import ctypes
        lib = ctypes.CDLL('libopenblas.so.0')
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib
    except OSError:
        return None


def blas_core(lib):
    """OpenBLAS's kernel family for this CPU."""
    return lib.openblas_get_corename().decode() if lib is not None else None


if __name__ == '__main__':
    main()
