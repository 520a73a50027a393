"""Training-loop throughput: ``Model.fit`` vs a hand-written PyTorch loop.

Same network (MLP 64-512-512-10), same data (in-memory, generated), same optimizer (Adam,
lr 1e-3), same batch size, same number of epochs. Runs are interleaved (hand, ours, hand, ...)
and each side's median samples/s is reported with the ratio ours / hand (1.0 = parity).

    python benchmarks/torch_throughput.py --device cpu --threads 1
    python benchmarks/torch_throughput.py --device cuda
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import statistics
import sys
import time

import torch
from torch import nn

from optuna_recipes.adapters.torch import Model


def make_net(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(64, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10)
    )


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def hand_loop(
    net: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, bs: int, device: torch.device
) -> None:
    """The loop people write: data on the device once, randperm slicing, no per-batch sync."""
    net.to(device)
    x, y = x.to(device), y.to(device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    n = x.shape[0]
    net.train()
    for _ in range(epochs):
        perm = torch.randperm(n, device=device)
        for start in range(0, n, bs):
            idx = perm[start : start + bs]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(x[idx]), y[idx])
            loss.backward()
            opt.step()
    sync(device)


def ours(
    net: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    epochs: int,
    bs: int,
    device: torch.device,
    metrics: list[str],
) -> None:
    model = Model(net, device=device).compile("adam", "cross_entropy", metrics=metrics)
    model.fit(x, y, epochs=epochs, batch_size=bs)
    sync(device)


def timed(fn, *args) -> tuple[float, float]:
    """Wall time and CPU time of this process (CPU time is less sensitive to other jobs)."""
    start, cpu = time.perf_counter(), time.process_time()
    fn(*args)
    return time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--n", type=int, default=16384, help="training samples")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per timed run")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per side")
    parser.add_argument("--batch-sizes", default="256,64")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(args.n, 64, generator=gen)
    y = (x[:, :10] + 0.5 * torch.randn(args.n, 10, generator=gen)).argmax(1)

    print(f"Command: `python benchmarks/torch_throughput.py {' '.join(sys.argv[1:])}`\n")
    print(
        f"torch {torch.__version__}, device {device}"
        + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "")
        + f", torch.set_num_threads({args.threads}), {platform.machine()}; "
        f"MLP 64-512-512-10, Adam, {args.n} samples, {args.epochs} epochs per run, "
        f"{args.repeats} interleaved runs per side, medians.\n"
    )
    print(
        "| batch size | loop | samples/s (wall) | ratio vs hand loop (wall) "
        "| samples per CPU-second | ratio vs hand loop (CPU) |"
    )
    print("|---:|---|---:|---:|---:|---:|")
    for bs in [int(b) for b in args.batch_sizes.split(",")]:
        base = make_net(0)
        variants = {
            "hand-written loop": lambda net, bs=bs: hand_loop(net, x, y, args.epochs, bs, device),
            "Model.fit (loss only)": lambda net, bs=bs: ours(
                net, x, y, args.epochs, bs, device, []
            ),
            "Model.fit + accuracy": lambda net, bs=bs: ours(
                net, x, y, args.epochs, bs, device, ["accuracy"]
            ),
        }
        for fn in variants.values():  # warm-up
            fn(copy.deepcopy(base))
        times: dict[str, list[tuple[float, float]]] = {k: [] for k in variants}
        for _ in range(args.repeats):
            for name, fn in variants.items():
                times[name].append(timed(fn, copy.deepcopy(base)))
        samples = args.n * args.epochs
        wall = {k: samples / statistics.median(t[0] for t in v) for k, v in times.items()}
        cpu = {k: samples / statistics.median(t[1] for t in v) for k, v in times.items()}
        hand, hand_cpu = wall["hand-written loop"], cpu["hand-written loop"]
        for name in variants:
            print(
                f"| {bs} | {name} | {wall[name]:,.0f} | {wall[name] / hand:.3f} | "
                f"{cpu[name]:,.0f} | {cpu[name] / hand_cpu:.3f} |"
            )
        sys.stdout.flush()


if __name__ == "__main__":
    load = os.getloadavg()[0]
    main()
    print(
        f"\nMachine load (1-min load average, {os.cpu_count()} CPUs, shared with other jobs): "
        f"{load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end."
    )
