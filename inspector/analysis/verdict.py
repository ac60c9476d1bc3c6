"""Verdict records: one per BN, read by the report, the SVG, the CLI and the app."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Mode(str, Enum):
    """The folding modes (DESIGN §3): what each one may remove.

    ``adjacent`` folds a BN directly after a conv/linear used by it alone (what
    fx fuse and onnxruntime do); ``optimal`` folds every BN the necessary and
    sufficient condition allows; ``reparam`` adds merging parallel linear
    branches into one conv (DESIGN §3.7).
    """

    ADJACENT = "adjacent"
    OPTIMAL = "optimal"
    REPARAM = "reparam"

    def __str__(self) -> str:
        return self.value

    @property
    def words(self) -> str:
        """What the mode does, for menus (``optimal — necessary and sufficient condition``)."""
        return f"{self.value} — {_MODE_WORDS[self]}"


_MODE_WORDS: dict[Mode, str] = {
    Mode.OPTIMAL: "necessary and sufficient condition",
    Mode.ADJACENT: "what fx fuse / onnxruntime do",
    Mode.REPARAM: "optimal folding + merging parallel branches (beyond the paper)",
}


class Status(str, Enum):
    """Every status a BN is shown with, from verdicts to the sample registry.

    A :class:`Verdict` is ``FOLDED``, ``NOT_FOLDABLE`` or (mode ``reparam``)
    ``MERGED`` with its parallel branches into one conv; the display combines
    the two modes' verdicts into ``BOTH``, ``OPTIMAL_ONLY``, ``ADJACENT_ONLY``
    (and ``FOLDED`` when only one mode was analysed), ``UNANALYSED`` otherwise.
    """

    # In display order (counts, legends).
    BOTH = "both"
    OPTIMAL_ONLY = "optimal_only"
    NOT_FOLDABLE = "not_foldable"
    ADJACENT_ONLY = "adjacent_only"
    FOLDED = "folded"
    MERGED = "merged"
    UNANALYSED = "unanalysed"

    def __str__(self) -> str:
        return self.value

    @property
    def words(self) -> str:
        """The words shown in tables, filters and the CLI."""
        return _STATUS_WORDS[self][0]

    @property
    def short(self) -> str:
        """A word or two for counts on graph boxes (``2 optimal-only``)."""
        return _STATUS_WORDS[self][1]


#: Status -> (words, short words).
_STATUS_WORDS: dict[Status, tuple[str, str]] = {
    Status.BOTH: ("folded by both", "both"),
    Status.OPTIMAL_ONLY: ("folded by optimal only", "optimal-only"),
    Status.NOT_FOLDABLE: ("not foldable", "not foldable"),
    Status.ADJACENT_ONLY: ("folded by adjacent only", "adjacent-only"),
    Status.FOLDED: ("folded", "folded"),
    Status.MERGED: ("merged with parallel branches", "merged"),
    Status.UNANALYSED: ("not analysed", "not analysed"),
}


class Reason(str, Enum):
    """Machine codes for why a BN is not folded; :data:`REASONS` describes each."""

    NONLINEARITY = "nonlinearity"
    DATA_DEPENDENT_MUL = "data_dependent_mul"
    NORMALIZATION = "normalization"
    UNKNOWN_OP = "unknown_op"
    SHAPE_DEPENDENT = "shape_dependent_constant"
    BOUNDARY = "boundary"
    ZERO_PADDING = "zero_padding"
    NEGATIVE_SCALE = "negative_scale"
    ZERO_SCALE = "zero_scale"
    BATCH_STATS = "batch_stats"
    SHARED_PARAMS = "shared_params"
    CHANNEL_MAPPING = "channel_mapping"
    CONFLICT = "conflict"
    OVERLAP = "roots_leaves_overlap"
    NOT_ADJACENT = "not_adjacent"
    VERIFICATION_FAILED = "verification_failed"
    ALREADY_FOLDED = "already_folded"
    EXTRAPOLATION = "extrapolation"
    DYNAMIC_PARAMS = "dynamic_params"
    PER_ELEMENT = "per_element_bn"
    RENAME = "rename_not_fold"
    FUSED_ACTIVATION = "fused_activation"
    # Merging parallel linear branches (mode ``reparam``, DESIGN §3.7).
    MISALIGNED = "merge_misaligned"
    STRIDE_MISMATCH = "merge_stride_mismatch"
    DILATION_MISMATCH = "merge_dilation_mismatch"
    POOL_PADDING = "merge_pool_uncounted_padding"
    BIASED_POINTWISE = "merge_biased_pointwise"
    SEQUENCE = "merge_sequence"
    OUTSIDE_USE = "merge_outside_use"

    def __str__(self) -> str:
        return self.value

    @property
    def title(self) -> str:
        """Short human title (legend, filters, tables)."""
        return REASONS[self].title

    @property
    def help(self) -> str:
        """One or two sentences on why this blocks a fold (BN panel)."""
        return REASONS[self].help

    @property
    def group(self) -> str:
        """Colour group: ``blocking``, ``padding``, ``scale`` or ``other``."""
        return REASONS[self].group

    @property
    def priority(self) -> int:
        """When both directions fail the verdict reports the lower number (more specific)."""
        return _PRIORITY[self]


#: The Learn quiz's "why not" options, in the order shown; each reason row names one.
WHY_NONLINEAR = "a non-linearity in the way"
WHY_PADDING = "zero padding with a non-zero shift"
WHY_NEGATIVE = "negative scale at a max-pool"
WHY_ZERO = "zero scale that a leaf cannot undo"
WHY_BOUNDARY = "the graph boundary (input or output)"
WHY_SHARED = "parameters shared with another layer"
WHY_BATCH = "batch statistics (training mode)"
WHY_ELSE = "something else (channel mapping, conflicts…)"
WHY_OPTIONS = (WHY_NONLINEAR, WHY_PADDING, WHY_NEGATIVE, WHY_ZERO, WHY_BOUNDARY, WHY_SHARED, WHY_BATCH,
               WHY_ELSE)
#: Colour groups of the reasons (the graph colours a kept BN by its group).
GROUPS = ("blocking", "padding", "scale", "other")


@dataclass(frozen=True)
class ReasonInfo:
    """Everything shown for one reason code.

    ``quiz``: the :data:`WHY_OPTIONS` answer naming it on the Learn quiz;
    ``legend``: the words naming it in its colour group's legend row (None:
    it is one of the group's "other" reasons).
    """

    title: str
    help: str
    group: str
    quiz: str = WHY_ELSE
    legend: str | None = None


#: One row per reason, most specific first (that order is the priority).
#: Adding a reason is one enum member and one row here.
REASONS: dict[Reason, ReasonInfo] = {
    Reason.BATCH_STATS: ReasonInfo(
        "batch statistics",
        "The BN uses batch statistics at inference, so it is not a fixed affine map.", "other",
        quiz=WHY_BATCH, legend="batch stats"),
    Reason.DYNAMIC_PARAMS: ReasonInfo(
        "parameters computed at run time",
        "The BN's scale or statistics are computed in the forward pass, so they are not constants "
        "a fold could write into another layer.", "other",
        quiz=WHY_ELSE),
    Reason.PER_ELEMENT: ReasonInfo(
        "per-element BN (not per channel)",
        "The BN's parameters vary per element, not per channel: no per-channel map describes it.",
        "other",
        quiz=WHY_ELSE),
    Reason.SHARED_PARAMS: ReasonInfo(
        "shared parameters",
        "A layer that would absorb the map shares its weights with another call; editing them "
        "would change the other use too.", "other",
        quiz=WHY_SHARED, legend="shared params"),
    Reason.ZERO_PADDING: ReasonInfo(
        "zero padding",
        "A zero-padded layer sees padding zeros, not shifted values: the shift c would be wrong "
        "at the borders.", "padding",
        quiz=WHY_PADDING, legend="zero padding"),
    Reason.EXTRAPOLATION: ReasonInfo(
        "extrapolated fill value",
        "A resize samples outside its input and fills those positions with a constant, which the "
        "shifted map does not preserve.", "other",
        quiz=WHY_ELSE),
    Reason.RENAME: ReasonInfo(
        "would move, not remove, its arithmetic",
        "The only place to fold into has no arithmetic of its own (an `x + 0`, a scalar `x * 1`): "
        "the deployed model would get the per-channel multiply-add back, a rename rather than a "
        "fold (DESIGN §3.8).", "other",
        quiz=WHY_ELSE),
    Reason.FUSED_ACTIVATION: ReasonInfo(
        "part of a fused activation",
        "The scalar the map would fold into belongs to an activation written out op by op (GELU, "
        "SiLU/Swish, HardSwish, a LayerNorm, an attention scale) that runtimes fuse into one "
        "kernel: folding into it would break that fusion and make the deployed model slower "
        "(DESIGN §3.8).", "blocking",
        quiz=WHY_NONLINEAR, legend="fused activation"),
    Reason.NEGATIVE_SCALE: ReasonInfo(
        "negative scale at max-pool",
        "Max pooling commutes with a positive scale only; a negative a_k turns max into min on "
        "that channel.", "scale",
        quiz=WHY_NEGATIVE, legend="negative scale"),
    Reason.ZERO_SCALE: ReasonInfo(
        "zero scale", "A leaf would have to divide by a_k = 0 to undo the map.", "scale",
        quiz=WHY_ZERO, legend="zero scale"),
    Reason.DATA_DEPENDENT_MUL: ReasonInfo(
        "data-dependent multiply",
        "Multiplying by a tensor computed from the input (e.g. a squeeze-excitation gate) changes "
        "per sample; no constant weight can absorb the map.", "blocking",
        quiz=WHY_NONLINEAR, legend="data-dependent multiply"),
    Reason.OVERLAP: ReasonInfo(
        "roots/leaves overlap", "A node would have to be both a root and a leaf of the same fold.",
        "other",
        quiz=WHY_ELSE),
    Reason.CONFLICT: ReasonInfo(
        "conflicting maps", "Two paths require different maps on the same tensor.", "other",
        quiz=WHY_ELSE),
    Reason.CHANNEL_MAPPING: ReasonInfo(
        "channel axis lost",
        "A reshape/transpose loses track of the channel axis, so the per-channel vector cannot be "
        "mapped across it.", "other",
        quiz=WHY_ELSE),
    Reason.NORMALIZATION: ReasonInfo(
        "data-dependent normalisation",
        "LayerNorm / GroupNorm / InstanceNorm renormalise with statistics of the input, which "
        "erase or distort the affine map.", "blocking",
        quiz=WHY_NONLINEAR, legend="normalisation"),
    Reason.SHAPE_DEPENDENT: ReasonInfo(
        "constant computed from a dynamic size",
        "The layer's constant is computed from a dynamic input size (e.g. 1/(H·W) of an average "
        "pool); folding would freeze the value of one size into the model.", "blocking",
        quiz=WHY_ELSE, legend="dynamic size"),
    Reason.UNKNOWN_OP: ReasonInfo(
        "unknown op",
        "An operation outside the supported vocabulary is treated as blocking (the tool never "
        "guesses).", "blocking",
        quiz=WHY_NONLINEAR, legend="unknown op"),
    Reason.NOT_ADJACENT: ReasonInfo(
        "not adjacent to a linear layer",
        "The adjacent rule (fx fuse, onnxruntime, onnxoptimizer) only folds a BN directly after a "
        "conv/linear used by that BN alone.", "other",
        quiz=WHY_ELSE),
    Reason.NONLINEARITY: ReasonInfo(
        "non-linearity",
        "A non-linearity (ReLU, SiLU, sigmoid…) does not commute with a per-channel affine map, "
        "so the map cannot be moved across it.", "blocking",
        quiz=WHY_NONLINEAR, legend="non-linearity"),
    Reason.BOUNDARY: ReasonInfo(
        "graph boundary",
        "The path reaches a graph input or output: there is no layer on that side to absorb the "
        "map.", "blocking",
        quiz=WHY_BOUNDARY, legend="boundary"),
    Reason.VERIFICATION_FAILED: ReasonInfo(
        "verification failed",
        "The fold did not pass numerical verification and was rolled back.", "other",
        quiz=WHY_ELSE),
    Reason.ALREADY_FOLDED: ReasonInfo(
        "already folded", "The BN was already removed by an earlier fold.", "other",
        quiz=WHY_ELSE),
    # Why a linear region could not be merged into one conv (mode ``reparam``).
    Reason.MISALIGNED: ReasonInfo(
        "branches misaligned",
        "Summed branches merge into one kernel only when their kernel centres line up on every "
        "spatial axis (same output grid).", "other",
        quiz=WHY_ELSE),
    Reason.STRIDE_MISMATCH: ReasonInfo(
        "branch strides differ", "Summed branches with different strides are not one conv.",
        "other",
        quiz=WHY_ELSE),
    Reason.DILATION_MISMATCH: ReasonInfo(
        "branch dilations differ", "Summed branches with different dilations are not one conv.",
        "other",
        quiz=WHY_ELSE),
    Reason.POOL_PADDING: ReasonInfo(
        "avg-pool ignores padding",
        "An average pool that does not count its padding (or uses ceil mode) divides by a "
        "position-dependent count: no fixed kernel computes it.", "padding",
        quiz=WHY_ELSE, legend="avg-pool padding"),
    Reason.BIASED_POINTWISE: ReasonInfo(
        "biased 1x1 before padded conv",
        "A zero-padded conv after a biased 1x1 conv reads padding zeros where the merged conv would "
        "read the bias.", "padding",
        quiz=WHY_ELSE, legend="bias before zero padding"),
    Reason.SEQUENCE: ReasonInfo(
        "conv after conv",
        "Merging this sequence of convs would not give one exact (or smaller) conv.", "other",
        quiz=WHY_ELSE),
    Reason.OUTSIDE_USE: ReasonInfo(
        "branch tensor used elsewhere",
        "A tensor inside the region is read outside it, so the branches must stay.", "other",
        quiz=WHY_ELSE),
}
_PRIORITY: dict[Reason, int] = {r: i for i, r in enumerate(REASONS)}

def group_legend(group: str) -> str:
    """The legend label of a colour group, from its reasons' legend words
    (``not foldable: batch stats, shared params, other``)."""
    rows = [info for info in REASONS.values() if info.group == group]
    words = list(dict.fromkeys(info.legend for info in rows if info.legend))
    if any(info.legend is None for info in rows):
        words.append("other")
    return "not foldable: " + ", ".join(words)


#: Reasons a linear region could not be merged into one conv.
MERGE_REASONS = frozenset({
    Reason.MISALIGNED, Reason.STRIDE_MISMATCH, Reason.DILATION_MISMATCH, Reason.POOL_PADDING,
    Reason.BIASED_POINTWISE, Reason.SEQUENCE, Reason.OUTSIDE_USE,
})


@dataclass(frozen=True)
class Blocked:
    """Why one direction failed: a code, a sentence and the node that blocked."""

    code: Reason
    sentence: str
    node: str | None = None


@dataclass(frozen=True)
class Verdict:
    """The decision for one BN node in one mode.

    ``roots`` / ``leaves`` use the paper's terms: backward folds write the map
    into the roots (producers) and the leaves (other consumers) undo it;
    forward folds write it into the roots (consumers) and the leaves (other
    producers summed with the BN) are rescaled. The BN itself is a leaf.
    """

    bn: str  # node id
    name: str
    status: Status  # FOLDED | MERGED | NOT_FOLDABLE
    direction: str | None = None  # "backward" | "forward" when folded
    roots: tuple[str, ...] = ()
    leaves: tuple[str, ...] = ()
    reason_code: Reason | None = None
    reason: str = ""
    blocking_node: str | None = None
    order: int | None = None  # position in the fold sequence
    details: dict = field(default_factory=dict)

    @property
    def folded(self) -> bool:
        return self.status == Status.FOLDED

    @property
    def merged(self) -> bool:
        """Removed by merging its linear region into one conv (``details["merged_into"]``: its id,
        ``details["merged_name"]``: its name in the report, the CLI and the saved file)."""
        return self.status == Status.MERGED

    @property
    def removed(self) -> bool:
        """Gone from the deployed model, by a fold or a merge."""
        return self.status in (Status.FOLDED, Status.MERGED)

    @property
    def blocking_nodes(self) -> tuple[str, ...]:
        """Every node that blocks a kept BN: ``blocking_node`` and, when neither
        direction works, the blocker of each direction (``details["blocked"]``)."""
        blocked = self.details.get("blocked", ()) if isinstance(self.details, dict) else ()
        ids = [self.blocking_node, *(b[2] for b in blocked if len(b) > 2)]
        return tuple(dict.fromkeys(i for i in ids if i))
