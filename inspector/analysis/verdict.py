"""Verdict records: one per BN, read by the report, the SVG, the CLI and the app."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Reason(str, Enum):
    """Machine codes for why a BN is not folded (or how it was)."""

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
    EXTRAPOLATION = "extrapolation"
    DYNAMIC_PARAMS = "dynamic_params"
    PER_ELEMENT = "per_element_bn"
    RENAME = "rename_not_fold"
    # Merging parallel linear branches (mode ``reparam``, DESIGN §3.7).
    MISALIGNED = "merge_misaligned"
    STRIDE_MISMATCH = "merge_stride_mismatch"
    DILATION_MISMATCH = "merge_dilation_mismatch"
    POOL_PADDING = "merge_pool_uncounted_padding"
    BIASED_POINTWISE = "merge_biased_pointwise"
    SEQUENCE = "merge_sequence"
    OUTSIDE_USE = "merge_outside_use"


#: Short human titles per reason (legend, filters).
REASON_TITLES: dict[Reason, str] = {
    Reason.NONLINEARITY: "non-linearity",
    Reason.DATA_DEPENDENT_MUL: "data-dependent multiply",
    Reason.NORMALIZATION: "data-dependent normalisation",
    Reason.UNKNOWN_OP: "unknown op",
    Reason.SHAPE_DEPENDENT: "constant computed from a dynamic size",
    Reason.BOUNDARY: "graph boundary",
    Reason.ZERO_PADDING: "zero padding",
    Reason.NEGATIVE_SCALE: "negative scale at max-pool",
    Reason.ZERO_SCALE: "zero scale",
    Reason.BATCH_STATS: "batch statistics",
    Reason.SHARED_PARAMS: "shared parameters",
    Reason.CHANNEL_MAPPING: "channel axis lost",
    Reason.CONFLICT: "conflicting maps",
    Reason.OVERLAP: "roots/leaves overlap",
    Reason.NOT_ADJACENT: "not adjacent to a linear layer",
    Reason.VERIFICATION_FAILED: "verification failed",
    Reason.EXTRAPOLATION: "extrapolated fill value",
    Reason.DYNAMIC_PARAMS: "parameters computed at run time",
    Reason.PER_ELEMENT: "per-element BN (not per channel)",
    Reason.RENAME: "would move, not remove, its arithmetic",
    Reason.MISALIGNED: "branches misaligned",
    Reason.STRIDE_MISMATCH: "branch strides differ",
    Reason.DILATION_MISMATCH: "branch dilations differ",
    Reason.POOL_PADDING: "avg-pool ignores padding",
    Reason.BIASED_POINTWISE: "biased 1x1 before padded conv",
    Reason.SEQUENCE: "conv after conv",
    Reason.OUTSIDE_USE: "branch tensor used elsewhere",
}

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
    status: str  # "folded" | "merged" | "not_foldable"
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
        return self.status == "folded"

    @property
    def merged(self) -> bool:
        """Removed by merging its linear region into one conv (``details["merged_into"]``)."""
        return self.status == "merged"

    @property
    def removed(self) -> bool:
        """Gone from the deployed model, by a fold or a merge."""
        return self.status in ("folded", "merged")
