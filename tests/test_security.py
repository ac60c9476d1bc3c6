"""Opening a file must never run code or read other files (issue 7, items 1-3).

Hostile ``.pt2`` archives (``tests/bad_inputs/hostile.py``) carry payloads whose
only effect is ``os.mkdir(sentinel)``; each is refused with one line through the
library, the CLI and the app's upload, and the sentinel never appears. The
payloads are live: ``torch.export.load`` runs them (checked in a subprocess).
ONNX external data is read only from inside the model's own folder, and never
for uploads.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
import pytest

from inspector.cli import main
from inspector.errors import InvalidGraphError, UnsafeFileError
from inspector.frontends import load, load_bytes
from tests.bad_inputs import hostile

ROOT = Path(__file__).resolve().parents[1]
#: Variants that torch.export.load really executes (proved by test_payloads_are_live).
LIVE = ("legacy_weights_pt", "legacy_constants_pt", "pickled_weight", "pickled_constant",
        "opaque_object", "evil_sample_inputs", "sympy_eval_shape", "srepr_eval_shape",
        "pytree_enum_import")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Iterator[tuple[Path, Path, dict[str, Path]]]:
    """(folder, sentinel, {variant: path}) built once for the module."""
    folder = tmp_path_factory.mktemp("hostile")
    sentinel = folder / "sentinel"
    paths = {}
    for name, data in hostile.pt2_variants(sentinel).items():
        paths[name] = folder / f"{name}.pt2"
        paths[name].write_bytes(data)
    # The module the pytree_enum_import variant names, importable while the tests run.
    (folder / f"{hostile.ENUM_MODULE}.py").write_text(hostile.enum_payload_source(sentinel))
    sys.path.insert(0, str(folder))
    yield folder, sentinel, paths
    sys.path.remove(str(folder))


VARIANTS = (
    "legacy_weights_pt", "legacy_constants_pt", "pickled_weight", "pickled_constant",
    "custom_object", "opaque_object", "evil_sample_inputs", "duplicate_entry",
    "aotinductor_library", "unlisted_entry", "os_call_target", "builtin_target",
    "sympy_eval_shape", "srepr_eval_shape", "pytree_enum_import", "old_format_pickle")


def test_the_corpus_holds_every_variant(corpus):
    assert set(corpus[2]) == set(VARIANTS)


@pytest.mark.slow
def test_payloads_are_live_under_torch_export_load(corpus):
    """The test files are real attacks: plain torch.export.load creates the sentinel."""
    folder, sentinel, paths = corpus
    script = textwrap.dedent("""
        import logging, sys, torch
        from pathlib import Path
        logging.disable(logging.CRITICAL)
        sentinel = Path(sys.argv[1])
        sys.path.insert(0, str(sentinel.parent))  # where the enum payload module lies
        live = []
        for p in sys.argv[2:]:
            try:
                torch.export.load(p)
            except Exception:
                pass
            if sentinel.exists():
                live.append(Path(p).stem)
                sentinel.rmdir()
        print(",".join(live))
    """)
    out = subprocess.run([sys.executable, "-c", script, str(sentinel), *map(str, paths.values())],
                         capture_output=True, text=True, timeout=300)
    assert set(LIVE) <= set(out.stdout.strip().split(","))


@pytest.mark.parametrize("variant", VARIANTS)
def test_library_refuses_hostile_pt2_without_running_it(corpus, variant):
    _, sentinel, paths = corpus
    with pytest.raises((UnsafeFileError, InvalidGraphError)) as info:
        load(str(paths[variant]))
    assert "\n" not in str(info.value) and f"{variant}.pt2" in str(info.value)
    assert not sentinel.exists()


@pytest.mark.parametrize("variant", VARIANTS)
def test_upload_bytes_refuse_hostile_pt2_naming_the_upload(corpus, variant):
    _, sentinel, paths = corpus
    with pytest.raises((UnsafeFileError, InvalidGraphError)) as info:
        load_bytes(paths[variant].read_bytes(), "colleague.pt2")
    assert "colleague.pt2" in str(info.value) and "bnfold-upload" not in str(info.value)
    assert not sentinel.exists()


def test_cli_refuses_every_hostile_pt2_with_one_line(corpus, capsys):
    _, sentinel, paths = corpus
    for variant in VARIANTS:
        for command in (["analyze"], ["fold", "-o", str(paths[variant].with_suffix(".out.onnx"))]):
            code = main([command[0], str(paths[variant]), *command[1:]])
            err = capsys.readouterr().err.strip().splitlines()
            assert code == 2, variant
            assert err[-1].startswith("bnfold: error:") and variant in err[-1]
            assert not paths[variant].with_suffix(".out.onnx").exists()
    assert not sentinel.exists()


@pytest.mark.slow
def test_cli_subprocess_refuses_a_pickled_archive(corpus):
    _, sentinel, paths = corpus
    out = subprocess.run([sys.executable, "-m", "inspector", "analyze",
                          str(paths["pickled_weight"])], capture_output=True, text=True,
                         cwd=ROOT, timeout=300)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith("bnfold: error:")
    assert not sentinel.exists()


def test_a_valid_archive_still_loads_and_folds(tmp_path):
    from inspector.folding.pipeline import fold

    path = tmp_path / "ok.pt2"
    path.write_bytes(hostile.base_pt2())
    loaded = load(str(path))
    assert len(loaded.graph.bn_nodes()) == 1
    result = fold(loaded, "optimal")
    assert result.verification.passed and result.analysis.folded_count == 1


# -- package.module:callable ---------------------------------------------------
@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """A module ``bnfold_user_mod`` on sys.path whose import creates ``imported``."""
    (tmp_path / "bnfold_user_mod.py").write_text(textwrap.dedent(f"""
        import os
        os.makedirs({str(tmp_path / 'imported')!r}, exist_ok=True)
        import torch
        def needs_args(width):
            return torch.nn.Conv2d(3, width, 1)
        def raises():
            raise RuntimeError("weights file missing\\nsecond line")
        def not_a_module():
            return 42
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("bnfold_user_mod", None)
    yield tmp_path
    sys.modules.pop("bnfold_user_mod", None)


@pytest.mark.parametrize("fn, expected", [("needs_args", "needs arguments (width)"),
                                          ("raises", "RuntimeError: weights file missing"),
                                          ("not_a_module", "returned int")])
def test_callable_failures_are_one_line(user_module, capsys, fn, expected):
    code = main(["analyze", f"bnfold_user_mod:{fn}", "--input-shape", "1,3,8,8"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and expected in err[-1] and "Traceback" not in "\n".join(err)
    assert "second line" not in err[-1]


def test_callable_import_error_is_one_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "bnfold_broken_mod.py").write_text("raise ValueError('bad config')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    code = main(["analyze", "bnfold_broken_mod:build", "--input-shape", "1,3,8,8"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and "ValueError: bad config" in err[-1]


def test_help_warns_that_callables_run_code(capsys):
    with pytest.raises(SystemExit):
        main(["analyze", "--help"])
    assert "runs" in capsys.readouterr().out.replace("\n", " ")


def test_app_state_never_loads_a_callable(user_module):
    from inspector.errors import InspectorError
    from inspector.ui import state

    for spec in ("bnfold_user_mod:not_a_module", "os:getcwd", "sample:../x", "/etc/passwd"):
        with pytest.raises(InspectorError, match="not a bundled sample"):
            state.open_model(spec)
    assert not (user_module / "imported").exists()


# -- ONNX external data --------------------------------------------------------
def _save(model: onnx.ModelProto, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.SerializeToString())
    return path


@pytest.mark.parametrize("location", ["app.py", "../secret.bin", "/etc/passwd", "weights.bin"])
def test_upload_with_external_data_is_refused(location):
    data = hostile.conv_bn_external(location).SerializeToString()
    with pytest.raises(UnsafeFileError, match="external files") as info:
        load_bytes(data, "shared.onnx")
    assert "shared.onnx" in str(info.value)


def test_modelproto_with_external_refs_is_refused():
    with pytest.raises(UnsafeFileError, match="external files"):
        load(hostile.conv_bn_external("weights.bin"))


def test_external_data_inside_the_folder_is_read(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "weights.bin").write_bytes(hostile.weight_bytes())
    loaded = load(str(_save(hostile.conv_bn_external("weights.bin"), tmp_path / "m" / "a.onnx")))
    conv = loaded.graph.node("conv")
    weight = conv.params["weight"]
    np.testing.assert_array_equal(np.asarray(weight).ravel(),
                                  np.frombuffer(hostile.weight_bytes(), np.float32))
    assert not loaded.model.graph.initializer[0].external_data  # inline now


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink", "symlinked_folder"])
def test_external_data_outside_the_folder_is_refused(tmp_path, capsys, kind):
    secret = tmp_path / "secret.bin"
    secret.write_bytes(hostile.weight_bytes())
    folder = tmp_path / "model"
    folder.mkdir()
    location = {"dotdot": "../secret.bin", "absolute": str(secret), "symlink": "link.bin",
                "symlinked_folder": "sub/secret.bin"}[kind]
    if kind == "symlink":
        os.symlink(secret, folder / "link.bin")
    if kind == "symlinked_folder":
        os.symlink(tmp_path, folder / "sub")
    path = _save(hostile.conv_bn_external(location), folder / "m.onnx")
    with pytest.raises(UnsafeFileError, match="outside the model's folder"):
        load(str(path))
    assert main(["analyze", str(path)]) == 2
    assert "outside the model's folder" in capsys.readouterr().err.strip().splitlines()[-1]


@pytest.mark.slow
def test_app_zoo_box_never_imports_a_callable(user_module):
    pytest.importorskip("streamlit")
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.session_state["zoo_name"] = "bnfold_user_mod:not_a_module"  # typed in the free box
    at.radio(key="model_source").set_value("Model zoo").run()
    assert not at.exception and at.error
    assert not (user_module / "imported").exists()


def test_pt2_payloads_obey_max_tensor_mb(tmp_path):
    from inspector.errors import ResourceLimitError

    path = tmp_path / "ok.pt2"
    path.write_bytes(hostile.base_pt2())
    with pytest.raises(ResourceLimitError, match="above the .* MB limit"):
        load(str(path), max_tensor_mb=1e-4)
