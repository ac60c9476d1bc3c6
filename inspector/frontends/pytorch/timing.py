"""The PyTorch eager timing backend and the other input sizes a module is verified at."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from ...model import LoadedModel

#: Said by verification when a folded model is checked at the loaded input size only.
SINGLE_SIZE_NOTE = ("checked at the example input size only (the folded model is a traced graph, "
                    "valid at that size).")


def other_sizes(loaded: LoadedModel, folded_model: Any) -> list[list[tuple[int, ...]]]:
    """Other input shapes an eager module (not a traced/exported graph) is verified at:
    every axis but the channels one larger (catches constants frozen from H, W or
    the batch), else the batch alone. None for traced graphs, valid at one size."""
    eager = all(isinstance(m, torch.nn.Module) and not isinstance(m, torch.fx.GraphModule)
                for m in (loaded.model, folded_model))
    if not eager:
        return []
    base = [tuple(s.shape) for s in loaded.inputs]
    grown = [tuple(d + 1 if ax != 1 else d for ax, d in enumerate(s)) for s in base]
    batch = [tuple(d + 1 if ax == 0 else d for ax, d in enumerate(s)) for s in base]
    return [grown, batch] if grown != batch else [batch]


@contextmanager
def threads_set(threads: int | None) -> Iterator[None]:
    """Temporarily set torch's intra-op thread count (restored afterwards)."""
    if not threads:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextmanager
def time_runners(variants: Mapping[str, Any], inputs: Sequence[np.ndarray],
                 threads: int | None = None) -> Iterator[dict[str, Any]]:
    """Zero-argument runners of every variant in eager PyTorch (inference mode), with
    torch's intra-op threads set to ``threads`` while they are used."""
    tensors = [torch.from_numpy(x) for x in inputs]
    runners = {}
    for name, model in variants.items():
        module = model
        if not isinstance(model, torch.nn.Module) and hasattr(model, "module"):
            module = model.module()  # torch.export ExportedProgram

        def run(module=module) -> Any:
            with torch.inference_mode():
                return module(*tensors)

        runners[name] = run
    with threads_set(threads):
        yield runners
