"""The way in for checkpoints (issue 14.9, 14.11): ``best.pt``, a ``state_dict``, a
``from_pretrained`` folder or ``.safetensors`` are refused with a three-line
``package.module:callable`` example that builds the model; ``trust_pickle`` /
``--trust-pickle`` unpickles a trusted checkpoint instead; the installed ``bnfold``
finds a module in the current folder."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn

from inspector.cli import main
from inspector.errors import UnsafeFileError, UnsupportedModelError
from inspector.folding.pipeline import fold
from inspector.frontends import load, load_bytes
from tests.bad_inputs import hostile

ROOT = Path(__file__).resolve().parents[1]


def net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU()).eval()


def example_of(error) -> list[str]:
    return [line for line in error.example.splitlines() if not line.startswith("#")]


def test_a_pickled_module_is_refused_without_running_it_and_shown_the_callable(tmp_path):
    sentinel = tmp_path / "sentinel"
    path = tmp_path / "best.pt"
    path.write_bytes(hostile.evil_torch_save(sentinel))
    with pytest.raises(UnsafeFileError) as info:
        load(str(path))
    assert not sentinel.exists()
    message = str(info.value)
    assert "runs code" in message and "package.module:callable" in message
    assert "--trust-pickle" in message
    assert len(example_of(info.value)) == 3 and "def model():" in info.value.example
    assert "bnfold analyze mynet:model --input-shape" in info.value.example


def test_a_pickled_nn_module_gets_a_torch_load_example(tmp_path):
    torch.save(net(), tmp_path / "full.pt")
    with pytest.raises(UnsafeFileError, match=r"a pickled nn.Module") as info:
        load(str(tmp_path / "full.pt"))
    assert 'return torch.load("full.pt", weights_only=False)' in info.value.example


def test_a_state_dict_is_weights_only_and_gets_a_load_state_dict_example(tmp_path):
    torch.save(net().state_dict(), tmp_path / "weights.pth")
    with pytest.raises(UnsupportedModelError, match="state_dict: it holds weights only") as info:
        load(str(tmp_path / "weights.pth"))
    assert 'net.load_state_dict(torch.load("weights.pth"))' in info.value.example


def test_a_from_pretrained_folder_gets_a_from_pretrained_example(tmp_path):
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    with pytest.raises(UnsupportedModelError, match="from_pretrained folder") as info:
        load(str(folder))
    assert f'from_pretrained("{folder}")' in info.value.example


def test_safetensors_weights_get_a_load_file_example(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"{}")
    with pytest.raises(UnsupportedModelError, match="weights only") as info:
        load(str(tmp_path / "model.safetensors"))
    assert 'load_file("model.safetensors")' in info.value.example


def test_an_ultralytics_checkpoint_gets_a_yolo_example(tmp_path):
    pytest.importorskip("ultralytics")
    from ultralytics.nn.tasks import DetectionModel

    torch.save({"model": DetectionModel("yolov8n.yaml", verbose=False).half()}, tmp_path / "best.pt")
    with pytest.raises(UnsafeFileError, match="an ultralytics model") as info:
        load(str(tmp_path / "best.pt"))
    assert 'return YOLO("best.pt").model.float()' in info.value.example
    assert "--input-shape 1,3,640,640" in info.value.example


def test_an_uploaded_checkpoint_is_refused_and_never_unpickled(tmp_path):
    sentinel = tmp_path / "sentinel"
    with pytest.raises(UnsafeFileError, match="never opened"):
        load_bytes(hostile.evil_torch_save(sentinel), "best.pt")
    assert not sentinel.exists()


def test_trust_pickle_unpickles_a_full_model_checkpoint(tmp_path):
    torch.save(net(), tmp_path / "full.pt")
    loaded = load(str(tmp_path / "full.pt"), trust_pickle=True, input_shape=(1, 3, 8, 8))
    assert any("--trust-pickle" in note and "code ran" in note for note in loaded.notes)
    assert fold(loaded, "optimal").analysis.folded_count == 1


def test_trust_pickle_takes_the_ema_model_in_float_and_the_training_image_size(tmp_path):
    torch.save({"ema": net().half(), "model": None, "train_args": {"imgsz": 16}}, tmp_path / "best.pt")
    loaded = load(str(tmp_path / "best.pt"), trust_pickle=True)
    assert loaded.inputs[0].shape == (1, 3, 16, 16) and loaded.inputs[0].dtype == "float32"
    assert any("half-precision" in note for note in loaded.notes)


def test_trust_pickle_on_a_state_dict_still_needs_the_architecture(tmp_path):
    torch.save(net().state_dict(), tmp_path / "weights.pt")
    with pytest.raises(UnsupportedModelError, match="holds no nn.Module") as info:
        load(str(tmp_path / "weights.pt"), trust_pickle=True)
    assert "load_state_dict" in info.value.example


def test_cli_prints_the_example_under_the_error_line_and_documents_trust_pickle(tmp_path, capsys):
    torch.save(net(), tmp_path / "full.pt")
    assert main(["analyze", str(tmp_path / "full.pt")]) == 2
    err = capsys.readouterr().err.splitlines()
    at = next(i for i, line in enumerate(err) if line.startswith("bnfold: error:"))
    assert err[at + 1:at + 6] == [f"    {line}" for line in [
        "# mynet.py, in the current folder:", "import torch", "def model():",
        '    return torch.load("full.pt", weights_only=False)  # runs the file: trust it',
        "# then: bnfold analyze mynet:model --input-shape 1,3,224,224"]]
    with pytest.raises(SystemExit):
        main(["analyze", "--help"])
    assert "RUNS CODE" in " ".join(capsys.readouterr().out.split())


def test_cli_trust_pickle_analyses_a_trusted_checkpoint(tmp_path, capsys):
    torch.save(net(), tmp_path / "full.pt")
    code = main(["analyze", str(tmp_path / "full.pt"), "--trust-pickle", "--input-shape", "1,3,8,8"])
    assert code == 0 and "1 BN" in capsys.readouterr().out


@pytest.mark.slow
def test_the_installed_bnfold_script_imports_a_module_from_the_current_folder(tmp_path):
    (tmp_path / "mynet_cwd.py").write_text(textwrap.dedent("""
        from torch import nn

        def model():
            net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
            net.input_shape = (1, 3, 8, 8)
            return net
    """))
    bin_dir = tmp_path / "bin"  # what a console script does: its own folder is sys.path[0]
    bin_dir.mkdir()
    (bin_dir / "bnfold").write_text("import sys\nfrom inspector.cli import main\nsys.exit(main())\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, str(bin_dir / "bnfold"), "analyze", "mynet_cwd:model"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "mynet_cwd:model: 1 BN" in out.stdout
