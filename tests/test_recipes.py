"""README "Your own model": every recipe runs exactly as written (issue 14.9).

Each recipe is a ``# NAME.py`` python block followed by a bash block of ``bnfold``
commands. The test writes the file into an empty folder, creates the checkpoint it
reads (random weights, randomised BN statistics: the recipe cannot tell), and runs
the commands through ``inspector.cli.main`` from that folder. A recipe whose library
is missing is skipped."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest
import torch

from inspector.cli import main
from inspector.sources import randomize_bn

README = Path(__file__).resolve().parents[1] / "README.md"


def recipes() -> dict[str, tuple[str, list[str]]]:
    """{file name: (python source, bnfold commands)} of the README section."""
    section = README.read_text().split("## Your own model", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(python|bash)\n(.*?)```", section, re.S)
    found = {}
    for (kind, code), (next_kind, commands) in zip(blocks, blocks[1:]):
        if kind == "python" and next_kind == "bash":
            name = code.splitlines()[0].lstrip("# ").strip()
            found[name] = (code, [c for c in commands.splitlines() if c.startswith("bnfold ")])
    return found


def test_the_readme_has_the_four_recipes():
    assert set(recipes()) == {"yolo_model.py", "hf_model.py", "seg_model.py", "det_backbone.py"}


def _yolo_checkpoint(folder: Path) -> None:
    from ultralytics.nn.tasks import DetectionModel

    net = randomize_bn(DetectionModel("yolov8n.yaml", verbose=False))
    torch.save({"model": net.half()}, folder / "best.pt")  # how ultralytics saves best.pt


def _hf_folder(folder: Path) -> None:
    import transformers

    config = transformers.ResNetConfig(depths=[1, 1, 1, 1], hidden_sizes=[16, 32, 48, 64],
                                       embedding_size=16)
    randomize_bn(transformers.ResNetForImageClassification(config)).save_pretrained(folder / "my-model")


def _unet_weights(folder: Path) -> None:
    import segmentation_models_pytorch as smp

    net = randomize_bn(smp.Unet("resnet34", encoder_weights=None, classes=2))
    torch.save(net.state_dict(), folder / "unet.pth")


def _detector_weights(folder: Path) -> None:
    import torchvision

    det = torchvision.models.detection.fasterrcnn_mobilenet_v3_large_320_fpn(
        weights=None, weights_backbone=None, num_classes=3)
    torch.save(randomize_bn(det).state_dict(), folder / "detector.pth")


CASES = {
    "yolo_model.py": ("ultralytics", _yolo_checkpoint),
    "hf_model.py": ("transformers", _hf_folder),
    "seg_model.py": ("segmentation_models_pytorch", _unet_weights),
    "det_backbone.py": ("torchvision", _detector_weights),
}


@pytest.mark.slow
@pytest.mark.parametrize("recipe", sorted(CASES))
def test_recipe_runs_as_written(recipe, tmp_path, monkeypatch, capsys):
    library, make_checkpoint = CASES[recipe]
    pytest.importorskip(library)
    code, commands = recipes()[recipe]
    (tmp_path / recipe).write_text(code)
    make_checkpoint(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    assert commands
    for command in commands:
        argv = shlex.split(command)[1:]
        assert main(argv) == 0, capsys.readouterr().err
        out = capsys.readouterr().out
        assert re.search(r": \d+ BN, \d+ graph nodes\n", out), out  # PyTorch models: torch graph ops
        assert re.search(r"optimal [1-9]\d* of \d+", out), out
        if argv[0] == "fold":
            assert "verification PASS" in out and (tmp_path / argv[argv.index("-o") + 1]).exists()
