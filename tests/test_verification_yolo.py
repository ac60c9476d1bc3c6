"""Real YOLO models (ultralytics, random weights, 64x64 inputs) that verification used to
refuse although their folds are correct (issue 14 items 1 and 2)."""

from __future__ import annotations

import contextlib
import io
import warnings

import pytest

from inspector.folding.pipeline import fold

pytest.importorskip("ultralytics")
torch = pytest.importorskip("torch")

pytestmark = pytest.mark.slow


def yolo(config: str):
    from ultralytics import YOLO

    from inspector.sources import randomize_bn

    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return randomize_bn(YOLO(config).model.eval())


def test_yolov8n_onnx_export_folds_and_verifies_despite_its_tiny_class_scores():
    """The class scores are sigmoids of logits near -9 (ultralytics' prior): at most
    3e-4, with onnxruntime's absolute sigmoid noise of ~1e-7 (it used to be refused with
    'max relative error 4.41e-04 at tensor sigmoid')."""
    from onnxscript import ir

    from inspector.frontends.onnx import load_onnx

    with contextlib.redirect_stdout(io.StringIO()):
        program = torch.onnx.export(yolo("yolov8n.yaml"), (torch.randn(1, 3, 64, 64),),
                                    dynamo=True, optimize=False, verbose=False)
    result = fold(load_onnx(ir.serde.serialize_model(program.model), name="yolov8n"), "adjacent")
    assert result.verification.passed and result.rolled_back == []
    assert result.analysis.folded_count == result.analysis.bn_total
    assert any("noise floor" in note and "'sigmoid'" in note for note in result.verification.notes)


def test_yolov9t_reparam_through_pytorch_verifies():
    """ADown modules call avg_pool2d beside their convs: the eager hook of the module used
    to be read as the pool's value ('max relative error inf at tensor avg_pool2d')."""
    from inspector.frontends.pytorch import load_module

    loaded = load_module(yolo("yolov9t.yaml"), input_shape=(1, 3, 64, 64), name="yolov9t")
    result = fold(loaded, "reparam")
    v = result.verification
    assert v.passed and len(result.analysis.merges) > 0  # RepConv branches merged
    assert v.tensors_compared > 100 and v.not_compared == ()
