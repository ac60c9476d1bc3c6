"""What folding does to int8 weight quantization (numpy only).

Folding a BN multiplies each output channel k of the layer before it by
a_k = γ_k / √(σ²_k + ε). When the a_k differ a lot, the per-channel weight
ranges spread apart, and a single per-tensor int8 scale (set by the widest
channel) leaves the narrow channels with few quantization levels. Per-channel
quantization is immune to this. For every layer a fold changed, this module
measures before and after:

* the per-output-channel range ``max_k = max |W[k]|``;
* the spread of those ranges, ``max_k / min_k`` over channels (zero channels
  ignored);
* the SQNR of symmetric int8 quantization, per tensor and per channel:
  ``10·log10(Σ W² / Σ (W − Q(W))²)`` dB, with ``Q(W) = s·clip(round(W / s), −127, 127)``
  and ``s = max|W| / 127`` (over the tensor, or over each output channel).

A layer is flagged when its per-tensor SQNR drops by more than ``threshold_db``
(6 dB ≈ one bit lost).

Example::

    rows = quant_impact(analysis)          # analysis.graph before, analysis.folded after
    [r.name for r in rows if r.flagged]
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from .diffs import changed_layers, merged_layers, merged_rows, out_channel_rows
from .folding.plan import Analysis
from .ir import Node

#: Largest magnitude of a symmetric int8 code (−127..127; −128 unused).
QMAX = 127
#: Flag a layer whose per-tensor SQNR drops by more than this (dB).
DROP_THRESHOLD_DB = 6.0


def quantize_int8(rows: np.ndarray, per_channel: bool) -> np.ndarray:
    """Symmetric int8 quantize-dequantize of ``rows`` (channels × values).

    The scale is ``max|w| / 127`` over the whole tensor or over each row; an
    all-zero tensor or row stays zero.
    """
    rows = np.asarray(rows, dtype=np.float64)
    peak = np.abs(rows).max(axis=1, keepdims=True) if per_channel else np.abs(rows).max(keepdims=True)
    scale = np.where(peak > 0, peak / QMAX, 1.0)
    return np.clip(np.round(rows / scale), -QMAX, QMAX) * scale


def sqnr_db(signal: np.ndarray, approx: np.ndarray) -> float:
    """``10·log10(Σ signal² / Σ (signal − approx)²)``; inf when exact, nan for a zero signal."""
    power = float(np.sum(np.square(signal)))
    noise = float(np.sum(np.square(np.asarray(signal) - np.asarray(approx))))
    if power == 0.0:
        return math.nan
    if noise == 0.0:
        return math.inf
    return 10.0 * math.log10(power / noise)


@dataclass(frozen=True)
class QuantFigures:
    """Quantization figures of one weight tensor."""

    ranges: list[float]  # max |W[k]| per output channel
    spread: float | None  # max/min of the non-zero ranges; None when no channel is non-zero
    sqnr_tensor_db: float
    sqnr_channel_db: float


def weight_figures(rows: np.ndarray) -> QuantFigures:
    """Ranges, spread and both SQNRs of ``rows`` (output channels × values)."""
    rows = np.asarray(rows, dtype=np.float64)
    ranges = np.abs(rows).max(axis=1)
    nonzero = ranges[ranges > 0]
    spread = float(nonzero.max() / nonzero.min()) if nonzero.size else None
    return QuantFigures(
        ranges=ranges.tolist(),
        spread=spread,
        sqnr_tensor_db=sqnr_db(rows, quantize_int8(rows, per_channel=False)),
        sqnr_channel_db=sqnr_db(rows, quantize_int8(rows, per_channel=True)),
    )


def region_figures(parts: list[np.ndarray]) -> QuantFigures:
    """Figures of several weight tensors quantized each on its own (a merged region's
    convs before merging): ranges per output channel are the largest over the tensors,
    SQNR = 10·log10(Σ W² / Σ (W − Q(W))²) summed over all of them."""
    if len(parts) == 1:
        return weight_figures(parts[0])
    ranges = np.max([np.abs(r).max(axis=1) for r in parts], axis=0)
    nonzero = ranges[ranges > 0]

    def sqnr(per_channel: bool) -> float:
        power = sum(float(np.sum(np.square(r))) for r in parts)
        noise = sum(float(np.sum(np.square(r - quantize_int8(r, per_channel)))) for r in parts)
        return math.nan if power == 0 else math.inf if noise == 0 else 10 * math.log10(power / noise)

    return QuantFigures(ranges=ranges.tolist(),
                        spread=float(nonzero.max() / nonzero.min()) if nonzero.size else None,
                        sqnr_tensor_db=sqnr(False), sqnr_channel_db=sqnr(True))


@dataclass(frozen=True)
class LayerQuant:
    """Before/after quantization figures of one layer a fold changed."""

    id: str
    name: str
    op: str
    before: QuantFigures
    after: QuantFigures
    threshold_db: float = DROP_THRESHOLD_DB

    @property
    def tensor_drop_db(self) -> float:
        """How much per-tensor SQNR folding lost (positive = worse after)."""
        return _diff(self.before.sqnr_tensor_db, self.after.sqnr_tensor_db)

    @property
    def channel_drop_db(self) -> float:
        return _diff(self.before.sqnr_channel_db, self.after.sqnr_channel_db)

    @property
    def flagged(self) -> bool:
        return self.tensor_drop_db > self.threshold_db

    def as_dict(self) -> dict:
        """JSON-ready figures (inf/nan become None)."""
        return _finite({
            "name": self.name, "id": self.id, "op": self.op,
            "before": asdict(self.before), "after": asdict(self.after),
            "sqnr_tensor_drop_db": self.tensor_drop_db,
            "sqnr_channel_drop_db": self.channel_drop_db,
            "flagged": self.flagged,
        })


def _diff(before: float, after: float) -> float:
    if math.isnan(before) or math.isnan(after) or before == after:
        return 0.0
    return before - after


def _finite(obj):
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj


def _weight(node: Node) -> np.ndarray | None:
    w = node.params.get("weight")
    return None if w is None or np.ndim(w) < 2 else np.asarray(w)


def quant_impact(analysis: Analysis, threshold_db: float = DROP_THRESHOLD_DB) -> list[LayerQuant]:
    """Figures for every changed layer with a weight matrix/kernel (graph order).

    BN-like layers (1-D parameters) are skipped: per-channel they quantize
    exactly and they are not what int8 kernels quantize. A merged region (mode
    ``reparam``) is one row, its conv against the region's convs (:func:`region_figures`).
    """
    out = []
    for node, after in changed_layers(analysis):
        w0, w1 = _weight(node), _weight(after)
        if w0 is None or w1 is None:
            continue
        out.append(LayerQuant(
            node.id, node.name, node.op,
            weight_figures(out_channel_rows(node, w0)),
            weight_figures(out_channel_rows(after, w1)),
            threshold_db,
        ))
    for m, convs, after in merged_layers(analysis):
        rows, w1 = merged_rows(convs, after), _weight(after)
        if rows and w1 is not None:
            out.append(LayerQuant(m.conv_id, after.name, after.op, region_figures(rows),
                                  weight_figures(out_channel_rows(after, w1)), threshold_db))
    return out


def quant_report(analysis: Analysis, threshold_db: float = DROP_THRESHOLD_DB) -> dict:
    """The ``quantization`` section of the JSON report."""
    layers = quant_impact(analysis, threshold_db)
    return {
        "scheme": "symmetric int8 weights, scale = max|W| / 127 per tensor or per output channel",
        "threshold_db": threshold_db,
        "flagged": [q.name for q in layers if q.flagged],
        "layers": [q.as_dict() for q in layers],
    }


def summary_lines(section: dict) -> list[str]:
    """Short lines for the CLI summary of a ``quant_report`` section."""
    lines = [f"int8 weight quantization ({len(section['layers'])} changed layers, flag: per-tensor "
             f"SQNR drop > {section['threshold_db']:g} dB):"]
    for q in section["layers"]:
        b, a = q["before"], q["after"]
        mark = "FLAG" if q["flagged"] else "ok  "
        lines.append(f"  {mark} {q['name']}: per-tensor SQNR {_db(b['sqnr_tensor_db'])} -> "
                     f"{_db(a['sqnr_tensor_db'])}, per-channel {_db(b['sqnr_channel_db'])} -> "
                     f"{_db(a['sqnr_channel_db'])}, range spread {_x(b['spread'])} -> {_x(a['spread'])}")
    return lines


def _db(v: float | None) -> str:
    return "exact" if v is None else f"{v:.1f} dB"


def _x(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.1f}x"
