"""The Learn page's lessons: one rule each, illustrated by a catalogue case.

No Streamlit here: lessons are data plus a loader that returns a LoadedModel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..model import LoadedModel
from .theorem import REFERENCE_IMPL


@dataclass(frozen=True)
class Lesson:
    """One rule of DESIGN §3 and the tiny graph that shows it.

    ``question`` and ``setup`` are shown before the learner predicts and give
    nothing away; ``title`` and ``rule`` (the general rule, no verdict) after.
    Verdicts, roots, leaves and formulas come from the engine
    (:mod:`inspector.ui.lesson_text`), never from this table.
    """

    key: str
    title: str
    question: str
    case: str  # sample_models catalogue case (or "custom:..." built here)
    setup: str
    rule: str
    bn: str = "bn"  # module name of the BN the prediction is about
    reparam: bool = False  # also show branch merging (mode ``reparam``)


LESSONS: tuple[Lesson, ...] = (
    Lesson("backward", "Backward fold", "conv → BN", "conv_bn_relu",
           "A conv whose output only the BN reads.",
           "The textbook fold: the layer before the BN can produce BN(y) itself by scaling its "
           "output channels by a and adding c to its bias."),
    Lesson("forward", "Forward fold", "input → BN → conv", "input_bn_conv",
           "The BN reads the graph input; a conv without padding reads the BN.",
           "With no layer before it, the map can still be pushed into the layer after it: the "
           "conv multiplies its input channels by a and absorbs the shift c into its bias. Exact "
           "because this conv does not pad."),
    Lesson("zero_padding", "Zero padding breaks the shift", "input → BN → zero-padded conv",
           "input_bn_padded_conv",
           "Same as the previous graph, but the conv pads its input with zeros.",
           "Folding forward would move the shift c into the conv's bias, so the padded border "
           "would see c where the original saw 0 — the scale alone would be fine, the shift is "
           "not. Reflect/replicate padding commutes with the whole map "
           "(catalogue case `input_bn_reflect_conv`). Try β = μ = 0 with the sliders above: "
           "then c = 0 and the fold is exact."),
    Lesson("add", "Two roots through Add", "conv_a + conv_b → BN", "add_two_roots",
           "Two convs read the input; their sum feeds the BN.",
           "Add commutes with the map if every branch is scaled by a and the shift c is added "
           f"**once** in total, not once per branch — the mistake {REFERENCE_IMPL} makes. The "
           "adjacent rule does not see through the Add."),
    Lesson("leaf", "A leaf undoes the map", "conv → BN and another conv", "leaf_conv",
           "The conv feeds the BN and also a second 1×1 conv named `leaf`.",
           "Scaling the conv for the BN changes what the other consumer receives, so that "
           "consumer becomes a *leaf*: it divides its input channels by a and corrects its bias "
           "for the shift. A zero scale (γ = 0) cannot be undone — try it with the sliders above."),
    Lesson("bn_bn", "BN into BN", "ReLU → BN → BN → ReLU", "bn_bn",
           "Two BNs in a row, between two ReLUs (a conv before the first ReLU).",
           "A BN is itself an affine layer, so one BN can absorb another: the two maps compose "
           "into one. After that fold the graph is re-analysed: the surviving BN sits between "
           "two non-linearities and has nowhere to go.", bn="bn1"),
    Lesson("maxpool", "Max-pool sign rule", "conv → max-pool → BN", "maxpool_positive",
           "A max-pool sits between the conv and the BN.",
           "max commutes with a **positive** per-channel scale only: a channel with a_k < 0 "
           "turns max into min and cannot cross the pool. Drag γ below zero with the sliders "
           "above to see it flip."),
    Lesson("concat", "Concat slicing", "cat(conv_a, conv_b) → BN", "concat_bn",
           "Two convs are concatenated on the channel axis before the BN.",
           "Each conv receives the slice of a and c for its own channel range."),
    Lesson("nonlinearity", "A non-linearity blocks", "conv → ReLU → BN → ReLU",
           "custom:relu_bn_relu",
           "A ReLU before the BN, a ReLU after it.",
           "A per-channel affine map does not commute with ReLU, and no linear layer is "
           "reachable on either side without crossing one."),
    Lesson("merge", "Merge parallel branches", "RepVGG block: 3×3, 1×1 and identity branches",
           "custom:repvgg_block",
           "A RepVGG training block: a 3×3 conv + BN, a 1×1 conv + BN and a lone BN on the "
           "input, summed, then a ReLU. The prediction is about the lone BN `rbr_identity`.",
           "Folding alone cannot remove the lone BN: it has no linear layer on either side. "
           "But the three branches are all linear maps of the same input: a 1×1 conv is a 3×3 "
           "conv with a zero border, the identity is a 3×3 conv with a single 1 in the centre, "
           "and a sum of convs of the same input is one conv with the summed weights. Mode "
           "`reparam` (beyond the paper) merges the whole block into one 3×3 conv.",
           bn="rbr_identity", reparam=True),
)

BY_KEY = {lesson.key: lesson for lesson in LESSONS}

#: Lessons the affine sliders drive: (γ, β, μ, σ²) of channel 0 of the lesson's BN.
SLIDER_LESSONS = {
    "maxpool": "γ < 0 at a max-pool",
    "leaf": "γ = 0 with a leaf",
    "zero_padding": "a shift before zero padding",
}


@dataclass(frozen=True)
class BNParams:
    """Channel 0 of a BN; the other channels are set to the identity (a = 1, c = 0)."""

    gamma: float
    beta: float
    mean: float
    var: float


def _relu_bn_relu() -> tuple[Any, tuple[int, ...]]:
    from collections import OrderedDict

    import torch
    from torch import nn

    from ..bn_stats import randomize_bn

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(7)
        model = nn.Sequential(OrderedDict(
            conv=nn.Conv2d(4, 8, 3, padding=1), relu1=nn.ReLU(), bn=nn.BatchNorm2d(8),
            relu2=nn.ReLU()))
    return randomize_bn(model, seed=7), (1, 4, 8, 8)


def _repvgg_block() -> tuple[Any, tuple[int, ...]]:
    import torch

    from sample_models.arch_classic import RepVGGBlock

    from ..bn_stats import randomize_bn

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(7)
        model = RepVGGBlock(4, 4)
    return randomize_bn(model, seed=7), (1, 4, 8, 8)


_CUSTOM = {"custom:relu_bn_relu": _relu_bn_relu, "custom:repvgg_block": _repvgg_block}


def _set_bn(module: Any, name: str, params: BNParams) -> None:
    import torch

    bn = dict(module.named_modules())[name]
    with torch.no_grad():
        bn.weight.fill_(1.0)
        bn.bias.zero_()
        bn.running_mean.zero_()
        bn.running_var.fill_(1.0 - bn.eps)
        bn.weight[0], bn.bias[0] = params.gamma, params.beta
        bn.running_mean[0], bn.running_var[0] = params.mean, params.var


def build_module(lesson: Lesson, params: BNParams | None = None) -> tuple[Any, tuple[int, ...]]:
    """A fresh module for ``lesson`` and its input shape (channel 0 of its BN set if given)."""
    if lesson.case.startswith("custom:"):
        module, shape = _CUSTOM[lesson.case]()
    else:
        from sample_models import get_sample

        sample = get_sample(lesson.case)
        module, shape = sample.build(), sample.input_shape
    if params is not None:
        _set_bn(module, lesson.bn, params)
    return module, shape


def load_lesson(lesson: Lesson, params: BNParams | None = None) -> LoadedModel:
    """The lesson's model as a LoadedModel (a new object each call)."""
    from ..frontends import load

    module, shape = build_module(lesson, params)
    suffix = "" if params is None else (f" (γ₀={params.gamma:g}, β₀={params.beta:g}, "
                                        f"μ₀={params.mean:g}, σ²₀={params.var:g})")
    return load(module, input_shape=shape, name=f"{lesson.case}{suffix}")


def bn_node_id(loaded: LoadedModel, lesson: Lesson) -> str | None:
    """The IR id of the lesson's BN (matched by module name), else the first BN."""
    bns = loaded.graph.bn_nodes()
    for n in bns:
        if n.name == lesson.bn or n.scope == lesson.bn or n.name.endswith("." + lesson.bn):
            return n.id
    return bns[0].id if bns else None
