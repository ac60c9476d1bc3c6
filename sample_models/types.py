"""Types of the sample registry: a bundled model and its expected verdicts.

Kept apart from ``registry`` so that the case and architecture modules can
build ``Sample`` records without importing the registry that lists them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn

from inspector.analysis.verdict import Status

#: Allowed values in :attr:`Expected.status` (``None`` = either is acceptable).
FOLDED = Status.FOLDED
NOT_FOLDABLE = Status.NOT_FOLDABLE
#: Extra status in ``reparam`` mode: removed by merging parallel branches (DESIGN §3.7).
MERGED = Status.MERGED


@dataclass(frozen=True)
class Expected:
    """Expected analysis result of a catalogue case, in both modes.

    ``status`` maps each BN module FQN to ``(adjacent, optimal)``, each one of
    ``"folded"``, ``"not_foldable"`` or ``None`` (either is acceptable, e.g. one
    BN out of a group of which exactly one folds). ``reasons`` gives the
    expected reason code in ``optimal`` mode for the BNs that are not foldable.

    ``reparam`` (folding plus merging of parallel branches) is optional so that
    cases written before it keep working: ``reparam`` is the number of BNs it
    removes (folded + merged; ``None``: at least ``optimal``),
    ``reparam_status`` maps a BN FQN to ``"folded"``, ``"merged"``,
    ``"not_foldable"`` or ``None`` (BNs not listed: unchecked),
    ``reparam_reasons`` the reason code of a BN it keeps, and ``reparam_convs``
    the number of convolutions left after a ``reparam`` fold (``None``: unchecked).
    """

    adjacent: int
    optimal: int
    # hash=False keeps Expected (and so Sample) hashable despite the dict fields.
    status: dict[str, tuple[str | None, str | None]] = field(default_factory=dict, hash=False)
    reasons: dict[str, str] = field(default_factory=dict, hash=False)
    reparam: int | None = None
    reparam_status: dict[str, str | None] = field(default_factory=dict, hash=False)
    reparam_reasons: dict[str, str] = field(default_factory=dict, hash=False)
    reparam_convs: int | None = None


@dataclass(frozen=True)
class Sample:
    """One bundled model: a catalogue ``"case"`` or an ``"architecture"``."""

    name: str
    kind: str  # "case" | "architecture"
    description: str  # one line: what makes its BNs interesting
    input_shape: tuple[int, ...]  # batch 1
    build: Callable[[], nn.Module]
    expected: Expected | None = None
    rule: str = ""  # cases: the DESIGN §3 rule it illustrates (Learn page)

    def example_input(self, seed: int = 0):
        """A deterministic random input tensor of ``input_shape``."""
        import torch

        gen = torch.Generator().manual_seed(seed)
        return torch.randn(self.input_shape, generator=gen)
