"""Why a module could not be captured, and what to do, in one line.

Capture tries ``torch.export`` and then ``torch.fx.symbolic_trace``; when both
fail their messages are long (a data-dependent guard lists every unbacked
symbol). :func:`capture_failure` keeps one line that names the cause and the
fix, and moves both messages to the error's ``details`` (``--verbose``):

* the module does not even run eagerly on the example input: the input shape is
  wrong (a 5-D video model given 4-D images: pass the shape it expects), or the
  model itself is broken (fix it until it runs);
* the forward branches on tensor values (detectors: box decoding, NMS): if the
  module has a ``backbone`` (torchvision detectors and segmenters, most detection
  libraries), fold that, where the BNs are;
* anything else: make the forward traceable, or export it yourself.
"""

from __future__ import annotations

from typing import Any

import torch

from ...errors import UnsupportedModelError, first_line

_DATA_DEPENDENT = ("GuardOnDataDependentSymNode", "data-dependent", "data dependent",
                   "Proxy object cannot be iterated", "symbolically traced variables cannot be used")


def _runs_eagerly(module: torch.nn.Module, inputs: tuple) -> BaseException | None:
    """None if ``module(*inputs)`` runs; else its exception."""
    try:
        with torch.no_grad():
            module(*inputs)
    except Exception as e:  # noqa: BLE001 - the user's forward failed
        return e
    return None


def _shape_text(inputs: tuple) -> str:
    shapes = [tuple(t.shape) for t in inputs if isinstance(t, torch.Tensor)]
    return ", ".join(map(str, shapes)) if shapes else "the given inputs"


def capture_failure(label: str, module: torch.nn.Module, inputs: tuple, stage: str,
                    export_error: BaseException, fx_error: BaseException) -> UnsupportedModelError:
    """The one-line error for a module that neither tracer captures (see module doc)."""
    details = (f"{stage} failed: {type(export_error).__name__}: {export_error}\n"
               f"torch.fx.symbolic_trace failed: {type(fx_error).__name__}: {fx_error}")
    eager = _runs_eagerly(module, inputs)
    if eager is not None:
        return UnsupportedModelError(
            f"cannot capture {label}: it fails on an input of shape {_shape_text(inputs)} in plain "
            f"PyTorch too ({first_line(eager, 160, with_type=True)}). To fix this, pass the input "
            "shape it expects: --input-shape (e.g. 1,3,16,112,112 for a video model; library: "
            "input_shape=...) or an `input_shape` attribute on the returned module; if that shape "
            "is right, fix the model until it runs on it in Python.",
            details=details)
    text = f"{export_error} {fx_error}"
    data_dependent = any(k in text for k in _DATA_DEPENDENT)
    why = ("its forward branches on tensor values (data-dependent control flow)" if data_dependent
           else f"{stage}: {first_line(export_error, 160, with_type=True)}")
    backbone = getattr(module, "backbone", None)
    if isinstance(backbone, torch.nn.Module):
        kind, _, name = label.partition(":")
        build = (f'torchvision.models.get_model("{name}", weights=None, weights_backbone=None)'
                 if kind == "torchvision" else "build_model()")
        imports = "`import torchvision` and " if kind == "torchvision" else ""
        fix = (f"fold its backbone, where its BNs are: in mynet.py write {imports}`def backbone(): "
               f"return {build}.backbone`, then run `bnfold analyze mynet:backbone --input-shape "
               f"{_cli_shape(inputs)}`")
    elif data_dependent:
        fix = ("fold the part of the model that holds the BNs (e.g. its feature extractor), "
               "returned by a package.module:callable, or make the forward traceable (no Python "
               "control flow on tensor values)")
    else:
        fix = "make the forward traceable, or export the model to ONNX yourself and give the file"
    return UnsupportedModelError(
        f"cannot capture {label}: torch.export and torch.fx.symbolic_trace both failed; {why}. "
        f"To fix this, {fix}. Rerun with --verbose for both errors.", details=details)


def _cli_shape(inputs: Any) -> str:
    first = next((t for t in inputs if isinstance(t, torch.Tensor)), None)
    return ",".join(str(d) for d in first.shape) if first is not None else "1,3,224,224"
