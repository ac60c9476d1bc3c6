"""The frontend registry: adding a format is one adapter module plus one registry line,
and then loading, folding, verifying and reporting work through the adapter alone."""

from __future__ import annotations

import pytest

import inspector
from inspector import frontends
from inspector.errors import OutputError, UnsafeFileError
from inspector.frontends import FRONTENDS, Frontend, adapter

IRCASE = Frontend("tests.ircase_frontend", reads=(".ircase",), writes=())


@pytest.fixture
def ircase(monkeypatch, tmp_path):
    """The ``.ircase`` format registered (one line), and a file naming ``leaf_conv``."""
    monkeypatch.setattr(frontends, "FRONTENDS", (*FRONTENDS, IRCASE))
    path = tmp_path / "model.ircase"
    path.write_text("leaf_conv\n")
    return path


def test_every_registered_frontend_declares_its_registry_line():
    for frontend in FRONTENDS:
        found = adapter(frontend)
        assert found.extensions == frontend.reads and found.save_formats == frontend.writes


def test_a_registered_format_loads_folds_verifies_and_reports(ircase):
    loaded = inspector.load(str(ircase))
    assert loaded.frontend is adapter(IRCASE) and loaded.name == "model.ircase"
    result = inspector.fold(loaded, "optimal")
    assert result.verification.passed and result.analysis.folded_count == 1
    report = inspector.build_report(result)
    assert report["framework"] == "ircase" and report["modes"]["optimal"]["folded"] == 1


def test_a_registered_format_loads_uploads_by_its_suffix(ircase):
    assert frontends.load_bytes(b"bn_only", "upload.ircase").graph.bn_nodes()


def test_an_unregistered_suffix_is_refused():
    with pytest.raises(UnsafeFileError, match="only .onnx and .pt2"):
        frontends.load_bytes(b"leaf_conv", "model.ircase")


def test_a_format_saves_only_as_its_save_formats(ircase, tmp_path):
    result = inspector.fold(inspector.load(str(ircase)))
    with pytest.raises(OutputError, match="cannot save a IR case model as out.onnx"):
        result.save(tmp_path / "out.onnx")
    assert not (tmp_path / "out.onnx").exists()
