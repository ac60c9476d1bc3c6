"""Time the safe ``.pt2`` loader against ``torch.export.load`` (prints figures).

    python -m benchmarks.pt2_safe_load [torchvision:resnet50 ...]

The safe loader (``inspector.frontends.pytorch.archive.load_program``) checks the
whole archive and builds tensors from raw bytes; it should cost about the same
as ``torch.export.load``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path


def _best(fn, repeats: int = 5) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times)


def main(specs: list[str]) -> None:
    import torch

    from inspector.frontends import load
    from inspector.frontends.pytorch.archive import load_program

    for spec in specs:
        loaded = load(spec)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "m.pt2"
            loaded.frontend.save(loaded.model, str(path), loaded)
            size = path.stat().st_size / 2**20
            safe = _best(lambda p=path: load_program(p))
            plain = _best(lambda p=path: torch.export.load(str(p)))
        print(f"{spec:28s} {size:7.1f} MB  safe load {safe[0]:.3f} s (median {safe[1]:.3f})"
              f"  torch.export.load {plain[0]:.3f} s (median {plain[1]:.3f})")


if __name__ == "__main__":
    main(sys.argv[1:] or ["sample:resnet", "torchvision:resnet50"])
