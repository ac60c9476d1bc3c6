"""How the tool's own time grows with graph size.

Two synthetic PyTorch families, grown until a few thousand IR nodes:

* ``resnet-depth``: a stem and N basic residual blocks (deepening);
* ``dense-width``: one DenseNet block of N layers whose concatenation feeds
  every later layer (widening fan-in: the worst case for the roots/leaves
  closure, and the shape of DenseNet-121 that took the paper's tool 36 s).

For each size: load (``torch.export`` + IR), analyse (both modes, CPU and
wall seconds) and fold (write-back + numerical verification, median of 3). Plus the
median analysis time of DenseNet-121 over a few repeats.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from .isolate import run_isolated

FAMILIES = {
    "resnet-depth": (4, 16, 64, 128, 256, 512),
    "dense-width": (4, 16, 32, 64, 128, 256),
}
#: Folds (write-back + verification) timed per size; the median is reported.
FOLD_REPEATS = 3
QUICK_FAMILIES = {"resnet-depth": (4, 16, 64), "dense-width": (4, 16, 32)}


def make_model(family: str, n: int) -> Any:
    """An eval-mode module of ``family`` with ``n`` blocks/layers, randomised BN stats."""
    import torch
    from torch import nn

    from inspector.bn_stats import randomize_bn

    class Block(nn.Module):
        def __init__(self, c: int) -> None:
            super().__init__()
            self.conv1, self.bn1 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
            self.conv2, self.bn2 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
            return torch.relu(x + y)

    class DenseLayer(nn.Module):
        def __init__(self, cin: int, growth: int) -> None:
            super().__init__()
            self.bn1, self.conv1 = nn.BatchNorm2d(cin), nn.Conv2d(cin, 2 * growth, 1, bias=False)
            self.bn2, self.conv2 = nn.BatchNorm2d(2 * growth), nn.Conv2d(2 * growth, growth, 3, padding=1, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv2(torch.relu(self.bn2(self.conv1(torch.relu(self.bn1(x))))))

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            c = 8
            self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU())
            if family == "resnet-depth":
                self.body = nn.ModuleList(Block(c) for _ in range(n))
            else:
                self.body = nn.ModuleList(DenseLayer(c + 4 * i, 4) for i in range(n))
            width = c if family == "resnet-depth" else c + 4 * n
            self.head = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                      nn.Linear(width, 10))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.stem(x)
            for layer in self.body:
                x = layer(x) if family == "resnet-depth" else torch.cat([x, layer(x)], 1)
            return self.head(x)

    torch.manual_seed(0)
    return randomize_bn(Net(), seed=0).eval()


def measure_point(family: str, n: int, threads: int = 1) -> dict[str, Any]:
    """Load, analyse and fold one family member with ``threads`` torch threads; seconds
    per step. (Two threads on a loaded 2-core machine made the verification's tiny
    convolutions ~10x slower in CPU time: spinning workers, not the tool.)"""
    import torch

    from inspector.folding.driver import analyze
    from inspector.folding.pipeline import fold
    from inspector.frontends import load

    torch.set_num_threads(threads)
    module = make_model(family, n)
    t0 = time.perf_counter()
    loaded = load(module, input_shape=(1, 3, 8, 8), name=f"{family}-{n}")
    row: dict[str, Any] = {"family": family, "n": n, "nodes": len(loaded.graph),
                           "load_s": time.perf_counter() - t0}
    for mode in ("adjacent", "optimal"):
        w0, c0 = time.perf_counter(), time.process_time()
        a = analyze(loaded.graph, mode)
        row[f"analyze_{mode}_s"] = time.perf_counter() - w0
        row[f"analyze_{mode}_cpu_s"] = time.process_time() - c0
        row[mode] = a.folded_count
        row["bn_total"] = a.bn_total
    folds = []
    for _ in range(FOLD_REPEATS):
        t0 = time.perf_counter()
        res = fold(loaded, "optimal", analysis=a)
        folds.append(time.perf_counter() - t0)
    row["fold_s"] = statistics.median(folds)
    row["rel_error"] = res.verification.max_rel_error
    row["verified"] = res.verification.passed
    return row


def measure_reference(spec: str = "torchvision:densenet121", repeats: int = 5) -> dict[str, Any]:
    """Median analysis time (optimal mode, wall and CPU) of a real model."""
    from inspector.folding.driver import analyze

    from .models import build

    b = build(spec)
    walls, cpus = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        a = analyze(b.loaded.graph, "optimal")
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return {"model": spec, "nodes": len(b.loaded.graph), "bn_total": a.bn_total, "optimal": a.folded_count,
            "load_s": b.load_s, "analyze_median_s": statistics.median(walls),
            "analyze_cpu_median_s": statistics.median(cpus), "analyze_all_s": walls, "repeats": repeats}


def run(families: dict[str, tuple[int, ...]] = FAMILIES, *, reference: str | None = "torchvision:densenet121",
        timeout: float = 600.0, threads: int = 1, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Every family point (each in a child process, ``threads`` torch threads) and the
    reference model."""
    points = []
    for family, sizes in families.items():
        for n in sizes:
            r = run_isolated(measure_point, family, n, threads, timeout=timeout)
            row = r["value"] if r["ok"] else {"family": family, "n": n, "error": r["error"]}
            points.append(row)
            log(f"[speed] {family} n={n}: " + (row.get("error") or (
                f"{row['nodes']} nodes, load {row['load_s']:.2f} s, analyse {row['analyze_optimal_cpu_s']:.3f} s CPU, "
                f"fold {row['fold_s']:.2f} s")))
    out: dict[str, Any] = {"points": points}
    if reference:
        r = run_isolated(measure_reference, reference, timeout=timeout)
        out["reference"] = r["value"] if r["ok"] else {"model": reference, "error": r["error"]}
        ref = out["reference"]
        log(f"[speed] {reference}: " + (ref.get("error") or f"analyse median {ref['analyze_median_s']:.3f} s "
                                          f"({ref['analyze_cpu_median_s']:.3f} s CPU)"))
    return out
