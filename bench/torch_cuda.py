#!/usr/bin/python3
"""PyTorch on the GPU, for scripts/gpu-check.sh: W2 and W3 of the performance issue trained with the
same layers, losses, optimizer and batch as ae_bench, in float32 and in TF32, and torch.mm's float32
rate on 8192^3. Prints lines "<workload> <float32|tf32> <samples/s>" and "sgemm <GFLOP/s>".
"""
import statistics
import time

import torch
import torch.nn as nn

WORKLOADS = {
    'W2': ([784, 512, 256, 64, 256, 512, 784], ['relu', 'relu', 'linear', 'relu', 'relu', 'sigmoid'], 'bce', 256),
    'W3': ([4096, 2048, 256, 2048, 4096], ['relu', 'linear', 'relu', 'sigmoid'], 'mse', 512),
}


def network(widths, activations):
    layers = []
    for i, act in enumerate(activations):
        layers.append(nn.Linear(widths[i], widths[i + 1]))
        # The sigmoid of a BCE output is fused into the loss, as the library fuses it.
        if act == 'relu':
            layers.append(nn.ReLU())
        elif act == 'sigmoid' and i < len(activations) - 1:
            layers.append(nn.Sigmoid())
    return nn.Sequential(*layers)


def train(name, tf32, epochs=6, batches=128):
    widths, activations, loss_kind, batch = WORKLOADS[name]
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.manual_seed(1)
    model = network(widths, activations).cuda()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    x = torch.rand(batches * batch, widths[0], device='cuda')
    rates = []
    for epoch in range(epochs):
        torch.cuda.synchronize()
        start = time.perf_counter()
        for b in range(batches):
            xb = x[b * batch:(b + 1) * batch]
            out = model(xb)
            if loss_kind == 'bce':
                loss = nn.functional.binary_cross_entropy_with_logits(out, xb)
            else:
                loss = nn.functional.mse_loss(torch.sigmoid(out), xb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        torch.cuda.synchronize()
        if epoch > 0:
            rates.append(batches * batch / (time.perf_counter() - start))
    return statistics.median(rates)


def sgemm(n=8192):
    torch.backends.cuda.matmul.allow_tf32 = False
    a = torch.rand(n, n, device='cuda')
    b = torch.rand(n, n, device='cuda')
    torch.mm(a, b)
    best = 0.0
    for _ in range(5):
        torch.cuda.synchronize()
        start = time.perf_counter()
        torch.mm(a, b)
        torch.cuda.synchronize()
        best = max(best, 2 * n ** 3 / (time.perf_counter() - start) / 1e9)
    return best


def main():
    print(f'torch {torch.__version__} on {torch.cuda.get_device_name(0)}', flush=True)
    print(f'sgemm {sgemm():.1f}', flush=True)
    for name in WORKLOADS:
        for tf32 in (False, True):
            print(f'{name} {"tf32" if tf32 else "float32"} {train(name, tf32):.0f}', flush=True)


if __name__ == '__main__':
    main()
