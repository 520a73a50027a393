"""Training-loop throughput: ``Model.fit`` vs a hand-written PyTorch loop.

Same network (MLP 64-512-512-10), same data (in-memory, generated), same optimizer (Adam,
lr 1e-3), same batch size, same number of epochs. Runs are interleaved (hand, ours, hand, ...)
and each side's median samples/s is reported with the ratio ours / hand (1.0 = parity).

    python benchmarks/torch_throughput.py --device cpu --threads 1
    python benchmarks/torch_throughput.py --device cuda --out benchmarks/results/torch-cuda

One row per timed run in the output folder (``value``: samples per second).
"""

from __future__ import annotations

import argparse
import copy
import time

import _measurements
import pandas as pd
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
    parser.add_argument("--out", default="benchmarks/results/torch-throughput")
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
    rows = []
    for bs in [int(b) for b in args.batch_sizes.split(",")]:
        base = make_net(0)
        variants = {
            "hand-written loop": lambda net, bs=bs: hand_loop(net, x, y, args.epochs, bs, device),
            "Model.fit": lambda net, bs=bs: ours(net, x, y, args.epochs, bs, device, []),
            "Model.fit + accuracy": lambda net, bs=bs: ours(
                net, x, y, args.epochs, bs, device, ["accuracy"]
            ),
        }
        for fn in variants.values():  # warm-up
            fn(copy.deepcopy(base))
        samples = args.n * args.epochs
        for repeat in range(args.repeats):  # interleaved: drifting load hits every variant alike
            for name, fn in variants.items():
                wall, cpu = timed(fn, copy.deepcopy(base))
                rows.append(
                    {
                        "problem": f"batch{bs}",
                        "strategy": name,
                        "seed": repeat,
                        "value": samples / wall,
                        "per_cpu_second": samples / cpu,
                    }
                )
    table = pd.DataFrame(rows)
    summary = table.groupby(["problem", "strategy"], sort=False)[["value", "per_cpu_second"]]
    summary = summary.median().reset_index().rename(columns={"value": "samples/s (median)"})
    gpu = f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""
    _measurements.write(
        args.out,
        table,
        title="Training-loop throughput: Model.fit vs a hand-written PyTorch loop",
        text=f"torch {torch.__version__}, device {device}{gpu}, torch.set_num_threads("
        f"{args.threads}); MLP 64-512-512-10, Adam, {args.n} samples, {args.epochs} epochs per "
        f"run, {args.repeats} interleaved runs per variant. `value`: samples per second (wall); "
        "`per_cpu_second`: samples per CPU-second of this process.",
        summary=summary,
        settings={k: v for k, v in vars(args).items() if k != "out"},
    )


if __name__ == "__main__":
    main()
