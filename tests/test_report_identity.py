"""Behaviour unchanged: the JSON reports of the catalogue (through PyTorch and ONNX) and
of a few zoo models equal the golden ones, field by field (timings and measured
errors left out; see ``scripts/golden_reports.py``, which regenerates the file when a
change of behaviour is intended)."""

from __future__ import annotations

import json

import pytest

from scripts.golden_reports import GOLDEN, entry

REPORTS = json.loads(GOLDEN.read_text())
#: Small cases kept in the fast inner loop (``pytest -m "not slow"``); the rest are slow.
FAST = ("sample:leaf_conv", "onnx:leaf_conv", "sample:repvgg_block", "onnx:maxpool_negative")


def differences(want, got, path: str = "") -> list[str]:
    """Paths where ``got`` differs from ``want``, e.g. ``analyze.layers[3].reason``."""
    if isinstance(want, dict) and isinstance(got, dict):
        out = [f"{path}.{k}: missing" for k in want if k not in got]
        out += [f"{path}.{k}: unexpected" for k in got if k not in want]
        for k in want:
            if k in got:
                out += differences(want[k], got[k], f"{path}.{k}")
        return out
    if isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        return [d for i, (w, g) in enumerate(zip(want, got)) for d in differences(w, g, f"{path}[{i}]")]
    return [] if want == got else [f"{path}: {want!r} -> {got!r}"]


def _spec_params():
    for spec in sorted(REPORTS):
        marks = () if spec in FAST else (pytest.mark.slow,)
        yield pytest.param(spec, marks=marks, id=spec)


@pytest.mark.parametrize("spec", _spec_params())
def test_report_equals_the_golden_report(spec):
    zoo = spec.startswith(("timm:", "torchvision:"))
    if zoo:
        pytest.importorskip(spec.split(":")[0])
    diffs = differences(REPORTS[spec], entry(spec, fold=not zoo))
    assert not diffs, "\n".join(diffs[:20])


def test_golden_reports_cover_every_sample_through_both_frontends():
    from sample_models import list_samples

    names = {s.name for s in list_samples()}
    assert {f"sample:{n}" for n in names} | {f"onnx:{n}" for n in names} <= set(REPORTS)
