"""The Learn page's lessons: one rule each, illustrated by a catalogue case.

No Streamlit here: lessons are data plus a loader that returns a LoadedModel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..model import LoadedModel


@dataclass(frozen=True)
class Lesson:
    """One rule of DESIGN §3 and the tiny graph that shows it."""

    key: str
    title: str
    case: str  # sample_models catalogue case (or "custom:..." built here)
    text: str
    bn: str = "bn"  # module name of the BN the lesson is about
    slider: bool = False  # the max-pool gamma slider


LESSONS: tuple[Lesson, ...] = (
    Lesson("backward", "Backward fold", "conv_bn_relu",
           "The textbook fold. The BN reads the conv's output only, so the conv can produce "
           "BN(y) itself: **W′[k] = a_k·W[k]** and **b′_k = a_k·b_k + c_k**. Roots = {conv}, "
           "leaves = {BN}."),
    Lesson("forward", "Forward fold", "input_bn_conv",
           "A BN on the graph input has no layer before it; the map is pushed into the conv "
           "that reads it: **W′[:, k] = W[:, k]·a_k** and **b′ = b + Σ_k Σ_spatial W[:, k]·c_k**. "
           "Exact because this conv has no padding."),
    Lesson("zero_padding", "Zero padding breaks the shift", "input_bn_padded_conv",
           "Same graph, but the conv pads with zeros. Folding forward would add the shift c to the "
           "padding zeros too: at the borders the folded conv sees c where the original saw 0. "
           "The scale alone would be fine; the shift is not — **not foldable (zero padding)**. "
           "Reflect/replicate padding commutes with the whole map (case `input_bn_reflect_conv`)."),
    Lesson("add", "Two roots through Add", "add_two_roots",
           "BN(conv_a(x) + conv_b(x)): both convs are roots. Each scales its output channels by a, "
           "but the shift c must be added **once** (to one bias), not once per branch — the "
           "mistake the reference implementation makes. The adjacent rule does not see this fold."),
    Lesson("leaf", "A leaf undoes the map", "leaf_conv",
           "The conv feeds the BN **and** another 1×1 conv. Scaling the conv for the BN changes what "
           "the other conv receives, so that conv is a *leaf*: it undoes the map "
           "(**W′[:, k] = W[:, k] / a_k**, bias corrected by the shift)."),
    Lesson("bn_bn", "BN into BN", "bn_bn",
           "Two BNs in a row after a ReLU: the first can absorb the second "
           "(γ₁′ = a₂·γ₁, β₁′ = a₂·β₁ + c₂). Then the survivor sits between a ReLU and the output "
           "and is stuck. The graph is re-analysed after every fold.", bn="bn2"),
    Lesson("maxpool", "Max-pool sign rule", "maxpool_positive",
           "conv → MaxPool → BN: max commutes with a **positive** per-channel scale only. Drag "
           "channel 0's γ below zero: a_0 < 0 turns max into min on that channel and the BN can "
           "no longer cross the pool.", slider=True),
    Lesson("concat", "Concat slicing", "concat_bn",
           "BN(cat(conv_a(x), conv_b(x))): each conv is a root and receives the slice of a and c "
           "for its own channel range."),
    Lesson("nonlinearity", "A non-linearity blocks", "custom:relu_bn_relu",
           "conv → ReLU → BN → ReLU: a per-channel affine map does not commute with ReLU, and "
           "there is no linear layer reachable on either side without crossing one. "
           "**Not foldable (non-linearity)**.", bn="2"),
)

BY_KEY = {lesson.key: lesson for lesson in LESSONS}


def _relu_bn_relu() -> tuple[Any, tuple[int, ...]]:
    import torch
    from torch import nn

    from ..sources import randomize_bn

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(7)
        model = nn.Sequential(nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(8),
                              nn.ReLU())
    return randomize_bn(model, seed=7), (1, 4, 8, 8)


def build_module(lesson: Lesson, gamma0: float | None = None) -> tuple[Any, tuple[int, ...]]:
    """A fresh module for ``lesson`` and its input shape (γ of channel 0 set if given)."""
    if lesson.case.startswith("custom:"):
        module, shape = _relu_bn_relu()
    else:
        from sample_models import get_sample

        sample = get_sample(lesson.case)
        module, shape = sample.build(), sample.input_shape
    if gamma0 is not None:
        import torch

        bn = dict(module.named_modules())[lesson.bn]
        with torch.no_grad():
            bn.weight[0] = float(gamma0)
    return module, shape


def load_lesson(lesson: Lesson, gamma0: float | None = None) -> LoadedModel:
    """The lesson's model as a LoadedModel (a new object each call)."""
    from ..frontends import load

    module, shape = build_module(lesson, gamma0)
    suffix = f" (γ₀ = {gamma0:+.2f})" if gamma0 is not None else ""
    return load(module, input_shape=shape, name=f"{lesson.case}{suffix}")


def bn_node_id(loaded: LoadedModel, lesson: Lesson) -> str | None:
    """The IR id of the lesson's BN (matched by module name), else the first BN."""
    bns = loaded.graph.bn_nodes()
    for n in bns:
        if n.name == lesson.bn or n.scope == lesson.bn or n.name.endswith("." + lesson.bn):
            return n.id
    return bns[0].id if bns else None
