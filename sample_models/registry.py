"""Registry of the bundled sample models: catalogue cases and small architectures.

Every sample is plain PyTorch. ``build()`` returns a fresh model in eval mode
with deterministic weights and randomised BN statistics (see
``inspector.bn_stats.randomize_bn``), so that the per-channel maps
``a, c`` are far from the identity and folds are really exercised.
"""

from __future__ import annotations

from pathlib import Path

from sample_models.architectures import ARCHITECTURES
from sample_models.catalogue import CASES
from sample_models.types import FOLDED, MERGED, NOT_FOLDABLE, Expected, Sample

__all__ = ["FOLDED", "MERGED", "NOT_FOLDABLE", "Expected", "Sample", "ONNX_DIR", "list_samples", "get_sample",
           "onnx_path"]

#: Folder holding the pre-exported ``<name>.onnx`` files.
ONNX_DIR = Path(__file__).parent / "onnx"


def _all_samples() -> list[Sample]:
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
