"""Deterministic construction shared by all samples."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
from torch import nn

from inspector.bn_stats import randomize_bn


def _make(
    factory: Callable[[], nn.Module],
    seed: int,
    negative_fraction: float,
    post: Callable[[nn.Module], None] | None,
) -> nn.Module:
    with torch.random.fork_rng(devices=[]):  # leave the caller's RNG untouched
        torch.manual_seed(seed)
        model = factory()
    randomize_bn(model, seed=seed, negative_fraction=negative_fraction)
    if post is not None:
        with torch.no_grad():
            post(model)
    return model.eval()


def builder(
    factory: Callable[[], nn.Module],
    seed: int = 0,
    negative_fraction: float = 0.0,
    post: Callable[[nn.Module], None] | None = None,
) -> Callable[[], nn.Module]:
    """A zero-argument ``build`` callable: seeded weights, randomised BN stats, eval mode.

    ``post`` (optional) edits the model under ``no_grad`` after the BN stats are
    randomised, e.g. to force a negative or zero gamma.
    """
    return partial(_make, factory, seed, negative_fraction, post)


def bn_modules(model: nn.Module) -> dict[str, nn.Module]:
    """FQN -> module for every batch-norm layer (``_BatchNorm`` subclasses) in ``model``."""
    return {
        name: mod
        for name, mod in model.named_modules()
        if isinstance(mod, nn.modules.batchnorm._BatchNorm)
    }
