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


#: Short human titles per reason (legend, filters).
REASON_TITLES: dict[Reason, str] = {
    Reason.NONLINEARITY: "non-linearity",
    Reason.DATA_DEPENDENT_MUL: "data-dependent multiply",
    Reason.NORMALIZATION: "data-dependent normalisation",
    Reason.UNKNOWN_OP: "unknown op",
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
}


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
    status: str  # "folded" | "not_foldable"
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
