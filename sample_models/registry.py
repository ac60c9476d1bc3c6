"""Registry of the bundled sample models: catalogue cases and small architectures.

Every sample is plain PyTorch. ``build()`` returns a fresh model in eval mode
with deterministic weights and randomised BN statistics (see
``inspector.sources.randomize_bn``), so that the per-channel maps
``a, c`` are far from the identity and folds are really exercised.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from torch import nn

#: Folder holding the pre-exported ``<name>.onnx`` files.
ONNX_DIR = Path(__file__).parent / "onnx"

#: Allowed values in :attr:`Expected.status` (``None`` = either is acceptable).
FOLDED = "folded"
NOT_FOLDABLE = "not_foldable"


@dataclass(frozen=True)
class Expected:
    """Expected analysis result of a catalogue case, in both modes.

    ``status`` maps each BN module FQN to ``(adjacent, optimal)``, each one of
    ``"folded"``, ``"not_foldable"`` or ``None`` (either is acceptable, e.g. one
    BN out of a group of which exactly one folds). ``reasons`` gives the
    expected reason code in ``optimal`` mode for the BNs that are not foldable.
    """

    adjacent: int
    optimal: int
    # hash=False keeps Expected (and so Sample) hashable despite the dict fields.
    status: dict[str, tuple[str | None, str | None]] = field(default_factory=dict, hash=False)
    reasons: dict[str, str] = field(default_factory=dict, hash=False)


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


def _all_samples() -> list[Sample]:
    # Imported lazily: the catalogue and architecture modules import this one.
    from sample_models.architectures import ARCHITECTURES
    from sample_models.catalogue import CASES

    return [*CASES, *ARCHITECTURES]


def list_samples(kind: str | None = None) -> list[Sample]:
    """All samples (cases first, then architectures), optionally of one ``kind``."""
    if kind not in (None, "case", "architecture"):
        raise ValueError(f"kind must be None, 'case' or 'architecture', not {kind!r}")
    return [s for s in _all_samples() if kind is None or s.kind == kind]


def get_sample(name: str) -> Sample:
    """The sample called ``name``; ``KeyError`` lists the valid names."""
    samples = {s.name: s for s in _all_samples()}
    try:
        return samples[name]
    except KeyError:
        valid = ", ".join(sorted(samples))
        raise KeyError(f"unknown sample {name!r}; valid names: {valid}") from None


def onnx_path(name: str) -> Path:
    """Path of the pre-exported ONNX file of sample ``name`` (validates the name)."""
    return ONNX_DIR / f"{get_sample(name).name}.onnx"
