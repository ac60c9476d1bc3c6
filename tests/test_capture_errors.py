"""Capture failures are one line that keeps the fix (issue 14.7, 14.8): a detector
(data-dependent forward) is told to fold its backbone, a model given the wrong
input rank is told to pass its input shape; both tracers' messages are kept for
``--verbose``."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from inspector.cli import _one_line, main
from inspector.errors import UnsupportedModelError
from inspector.frontends import load


class Backbone(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.conv(x)))


class Detector(nn.Module):
    """A backbone and a head that keeps only the boxes above a threshold (like NMS)."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = Backbone()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scores = self.backbone(x).flatten(1)
        keep = scores[scores > 0.5]
        if keep.numel() > 3:
            return keep[:3]
        return keep


def detector() -> nn.Module:
    return Detector()


detector.input_shape = (1, 3, 8, 8)


def video() -> nn.Module:
    return nn.Sequential(nn.Conv3d(3, 4, 3), nn.BatchNorm3d(4))


def test_a_detector_is_told_to_fold_its_backbone():
    with pytest.raises(UnsupportedModelError) as info:
        load(Detector(), input_shape=(1, 3, 8, 8), name="det")
    message = str(info.value)
    assert "\n" not in message and "data-dependent control flow" in message
    assert "To fix this, fold its backbone" in message and "return build_model().backbone" in message
    assert "torch.fx.symbolic_trace failed" in info.value.details


def test_a_torchvision_detector_gets_a_runnable_backbone_example():
    with pytest.raises(UnsupportedModelError) as info:  # named as resolve_spec names it
        load(Detector(), input_shape=(1, 3, 8, 8), name="torchvision:ssdlite320_mobilenet_v3_large")
    assert ('`import torchvision` and `def backbone(): return torchvision.models.get_model('
            '"ssdlite320_mobilenet_v3_large", weights=None, weights_backbone=None).backbone`'
            in str(info.value))


def test_a_model_that_does_not_run_on_the_input_is_told_to_pass_its_input_shape():
    with pytest.raises(UnsupportedModelError) as info:
        load(video(), input_shape=(1, 3, 8, 8), name="clip")
    message = str(info.value)
    assert "fails on an input of shape (1, 3, 8, 8) in plain PyTorch too" in message
    assert "To fix this, pass the input shape it expects: --input-shape" in message
    assert "traceable" not in message


def test_cli_prints_the_fix_in_one_line_and_both_errors_only_with_verbose(capsys):
    assert main(["analyze", "tests.test_capture_errors:detector"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("bnfold: error: cannot capture") and "fold its backbone" in err[-1]
    assert not any("symbolic_trace failed:" in line for line in err)
    assert main(["analyze", "tests.test_capture_errors:detector", "--verbose"]) == 2
    assert "torch.fx.symbolic_trace failed:" in capsys.readouterr().err


def test_a_long_error_line_is_cut_in_the_middle_keeping_its_fix():
    error = UnsupportedModelError("cannot capture x: " + "u1 + " * 400 + "). To fix this, fold its backbone.")
    line = _one_line(error)
    assert len(line) <= 600 and line.endswith("To fix this, fold its backbone.")
    assert line.startswith("cannot capture x: u1 + ")
