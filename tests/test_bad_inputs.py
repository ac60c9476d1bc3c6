"""Bad inputs get one line and a non-zero exit; outputs are never lost (issue 7, 13-16).

The corpus (``tests/bad_inputs/corpus.py``) is run through the library (path
and upload bytes), the CLI (``analyze`` and ``fold``, in-process) and the app's
upload path (one ``AppTest``). Everything that could allocate a lot runs under
a lowered ``RLIMIT_AS`` so that a regression fails instead of taking the machine.
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from inspector import errors
from inspector.cli import main
from inspector.frontends import load, load_bytes
from tests.bad_inputs import corpus as C
from tests.mdtext import plain

ROOT = Path(__file__).resolve().parents[1]
CASES = {c.name: c for c in C.cases()}


@contextlib.contextmanager
def memory_cap(extra_gb: float = 4.0):
    """Lower this process's address-space limit to its current size + ``extra_gb``."""
    vm_kb = next(int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines()
                 if line.startswith("VmSize:"))
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = vm_kb * 1024 + int(extra_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@pytest.fixture(autouse=True)
def nothing_was_unpickled():
    """Every test: the hostile payloads' sentinel folder never appears."""
    if C.SENTINEL.exists():
        C.SENTINEL.rmdir()  # left by something else; start clean
    yield
    assert not C.SENTINEL.exists(), "a hostile payload was unpickled"


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    C.write(out)
    return out


def _expect_raises(case: C.Case, fn) -> None:
    with memory_cap():
        if case.expected == "ok":
            fn()
            return
        with pytest.raises(errors.InspectorError) as info:
            fn()
    assert isinstance(info.value, getattr(errors, case.expected)), str(info.value)
    assert "\n" not in str(info.value)


def test_the_manifest_lists_every_case(folder):
    rows = (folder / "MANIFEST.tsv").read_text().splitlines()
    assert [r.split("\t")[0] for r in rows] == list(CASES)


@pytest.mark.parametrize("name", list(CASES))
def test_library_outcome_from_a_path(folder, name):
    _expect_raises(CASES[name], lambda: load(str(folder / name)))


@pytest.mark.parametrize("name", list(CASES))
def test_library_outcome_from_upload_bytes(name):
    case = CASES[name]
    if case.expected == "ok":
        assert load_bytes(case.data, name).name == name
        return
    with memory_cap(), pytest.raises(errors.InspectorError) as info:
        load_bytes(case.data, name)
    assert name in str(info.value) or case.expected == "ResourceLimitError"
    assert "bnfold-upload" not in str(info.value)


@pytest.mark.slow
def test_cli_outcome_for_every_case(folder, capsys):
    """analyze and fold: exit 0 and a written model, or exit 2 with one line and no file."""
    with memory_cap():
        for name, case in CASES.items():
            out = folder / f"out_{Path(name).stem}.onnx"
            for argv in (["analyze", str(folder / name)], ["fold", str(folder / name), "-o", str(out)]):
                code = main(argv)
                err = [x for x in capsys.readouterr().err.splitlines() if x.startswith("bnfold:")]
                if case.expected == "ok":
                    assert code == 0 and not err, (name, err)
                else:
                    assert code == 2 and len(err) == 1 and "Traceback" not in err[0], (name, err)
                    assert not out.exists()
            if case.expected == "ok":
                assert out.exists()


@pytest.mark.slow
def test_cli_subprocess_bomb_is_refused_under_a_memory_limit(folder):
    script = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (6 * 2**30, 6 * 2**30)); "
              "from inspector.cli import main; sys.exit(main(sys.argv[1:]))")
    for name in ("bomb.onnx", "bomb_computed.onnx", "huge_input.onnx"):
        r = subprocess.run([sys.executable, "-c", script, "analyze", str(folder / name)],
                           capture_output=True, text=True, cwd=ROOT, timeout=300)
        assert r.returncode == 2, r.stderr[-400:]
        assert r.stderr.strip().splitlines()[-1].startswith("bnfold: error:")
        assert "limit" in r.stderr


_CHILD = """
import contextlib, io, json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (6 * 2**30, 6 * 2**30))
from inspector.cli import main
def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
main(["analyze", sys.argv[1]])  # warm: every library a load needs is imported
rows = [{"warm": peak()}]
for path in sys.argv[2:]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["analyze", path])
    rows.append({"code": code, "err": err.getvalue(), "peak": peak()})
print(json.dumps(rows))
"""


def cli_in_a_child(warm: Path, paths: list[Path]) -> tuple[int, list[dict]]:
    """``bnfold analyze`` each path in one subprocess under a 6 GiB RLIMIT_AS; returns
    the peak RSS (MB) after a warm-up on ``warm`` and per path: exit code, stderr and
    the peak RSS after it (peaks only grow: a later case never hides an earlier one)."""
    r = subprocess.run([sys.executable, "-c", _CHILD, str(warm), *map(str, paths)],
                       capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stderr[-600:]
    import json

    rows = json.loads(r.stdout.strip().splitlines()[-1])
    return rows[0]["warm"], rows[1:]


ARCHIVE_BOMBS = ["inflating.pt2", "json_bomb.pt2", "deep_json.pt2", "many_entries.pt2"]


@pytest.mark.slow
def test_archive_bombs_are_refused_in_one_line_without_inflating(folder):
    """Before the caps the inflating archive took the CLI to 2.4 GB and the JSON bomb to
    3.7 GB; now each is refused from its directory and headers (under 100 MB more than
    loading a valid archive)."""
    warm, rows = cli_in_a_child(folder / "conv_bn.pt2", [folder / n for n in ARCHIVE_BOMBS])
    for name, row in zip(ARCHIVE_BOMBS, rows):
        lines = [x for x in row["err"].splitlines() if x.startswith("bnfold:")]
        assert row["code"] == 2 and len(lines) == 1, (name, row["err"])
        assert lines[0].startswith("bnfold: error: ") and name in lines[0]
        assert "re-save" not in lines[0]
        assert row["peak"] - warm < 100, (name, warm, row["peak"])


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.view_error])
def test_a_graph_over_the_drawing_limit_is_refused_in_one_line_before_layout(folder, capsys, monkeypatch,
                                                                             name):
    from inspector.render import svg

    monkeypatch.setattr(svg, "_run", lambda *a, **k: pytest.fail("Graphviz ran"))
    out = folder / "view.svg"
    assert main(["svg", str(folder / name), "-o", str(out)]) == 2
    err = [x for x in capsys.readouterr().err.splitlines() if x.startswith("bnfold:")]
    assert len(err) == 1 and CASES[name].view_error in err[0] and "Traceback" not in err[0]
    assert not out.exists()


@pytest.mark.slow  # ~6 s: write-back, two onnxruntime sessions, the runtime's fusion check
def test_the_scale_case_folds_and_verifies():
    """The 5,100-node chain: every BN folds in both modes and the folded model verifies."""
    from inspector.folding.pipeline import fold

    loaded = load_bytes(CASES["chain_5k.onnx"].data, "chain_5k.onnx")
    result = fold(loaded, "optimal")
    assert result.verification.passed and result.rolled_back == []
    assert result.analysis.folded_count == result.analysis.bn_total == C.CHAIN_NODES // 3


def test_max_tensor_mb_lets_a_bigger_constant_through_the_library():
    model = C.constant_of_shape_bomb(False)
    with pytest.raises(errors.ResourceLimitError, match="15,259 MB"):
        load(model)
    with pytest.raises(errors.ResourceLimitError, match="input .x. .* above the .* MB limit"):
        load(C.conv_bn(), max_tensor_mb=1e-6)


def test_max_tensor_mb_flag_is_used(capsys):
    code = main(["analyze", "sample:conv_bn_relu", "--max-tensor-mb", "0.0001"])
    assert code == 2 and "--max-tensor-mb" in capsys.readouterr().err


@pytest.mark.slow
def test_app_upload_outcome_for_every_case():
    """One AppTest; each upload shows metrics (ok) or one error naming the file."""
    pytest.importorskip("streamlit")
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.radio(key="model_source").set_value("Upload").run()
    with memory_cap():
        for name, case in CASES.items():
            if not case.data or Path(name).suffix not in (".onnx", ".pt2"):
                continue  # refused before loading: empty (test_app), suffix (file_uploader)
            at.file_uploader(key="upload").set_value((name, case.data, "application/octet-stream")).run()
            assert not at.exception, (name, [e.message for e in at.exception])
            if case.expected == "ok":
                assert any(m.label == "BN layers" for m in at.metric), name
                messages = [plain(e.value) for e in at.error]
                if case.view_error:  # analysed, but the graph is refused in one line, not drawn
                    assert len(messages) == 1 and case.view_error in messages[0], (name, messages)
                else:
                    assert not messages, (name, messages)
            else:
                # The same one-line error in the sidebar and in the main area.
                messages = {plain(e.value) for e in at.error}
                assert len(messages) == 1 and name in messages.pop(), name
                assert not any("bnfold-upload-" in e.value for e in at.error)  # no temporary path


# -- outputs (item 13) ---------------------------------------------------------
@pytest.fixture
def model_file(tmp_path) -> Path:
    path = tmp_path / "in" / "conv_bn.onnx"
    path.parent.mkdir()
    path.write_bytes(CASES["conv_bn.onnx"].data)
    return path


def _err(capsys) -> list[str]:
    return [x for x in capsys.readouterr().err.splitlines() if x.startswith("bnfold:")]


@pytest.mark.parametrize("spelling", ["same", "dotted", "symlink", "hardlink"])
def test_fold_never_writes_over_its_input(model_file, capsys, spelling):
    before = model_file.read_bytes()
    target = {"same": model_file, "dotted": model_file.parent / ".." / "in" / model_file.name,
              "symlink": model_file.parent / "link.onnx", "hardlink": model_file.parent / "hard.onnx"}[spelling]
    if spelling == "symlink":
        target.symlink_to(model_file)
    if spelling == "hardlink":
        os.link(model_file, target)
    assert main(["fold", str(model_file), "-o", str(target)]) == 2
    assert "is the input file" in _err(capsys)[0]
    assert model_file.read_bytes() == before


@pytest.mark.parametrize("command", [["analyze"], ["svg", "-o", "{tmp}/g.svg"],
                                     ["fold", "-o", "{tmp}/f.onnx"]])
def test_json_and_svg_never_write_over_the_input(model_file, capsys, command):
    before = model_file.read_bytes()
    argv = [command[0], str(model_file), *(a.format(tmp=model_file.parent) for a in command[1:])]
    if command[0] == "svg":
        argv[-1] = str(model_file)
    else:
        argv += ["--json", str(model_file)]
    assert main(argv) == 2 and "is the input file" in _err(capsys)[0]
    assert model_file.read_bytes() == before


@pytest.mark.parametrize("where", ["missing_folder", "folder", "read_only"])
@pytest.mark.parametrize("flag", ["-o", "--json", "svg"])
def test_unwritable_outputs_give_one_line_and_no_file(model_file, capsys, monkeypatch, where,
                                                      flag):
    base = model_file.parent.parent
    ro = base / "ro"
    ro.mkdir(exist_ok=True)
    target = {"missing_folder": base / "nope" / "x", "folder": ro, "read_only": ro / "x"}[where]
    name = {"-o": "x.onnx", "--json": "x.json", "svg": "x.svg"}[flag]
    target = target if where == "folder" else target.with_name(name)
    os.chmod(ro, 0o500)
    try:
        if flag == "-o":
            argv = ["fold", str(model_file), "-o", str(target)]
        elif flag == "--json":
            argv = ["analyze", str(model_file), "--json", str(target)]
        else:
            argv = ["svg", str(model_file), "-o", str(target)]
        if os.geteuid() == 0 and where == "read_only":  # root writes anywhere: simulate it
            def denied(*a, **k):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

            monkeypatch.setattr("inspector.safe_io.tempfile.mkstemp", denied)
        assert main(argv) == 2
        err = _err(capsys)
        assert len(err) == 1 and "Traceback" not in err[0]
        assert sorted(p.name for p in ro.iterdir()) == []
    finally:
        os.chmod(ro, 0o700)


def test_full_disk_leaves_no_partial_model_and_keeps_the_old_one(model_file, capsys, monkeypatch):
    import onnx

    out = model_file.parent / "folded.onnx"
    out.write_bytes(b"previous result")

    def half_then_enospc(proto, path, *a, **k):
        Path(path).write_bytes(proto.SerializeToString()[:100])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(onnx, "save_model", half_then_enospc)
    assert main(["fold", str(model_file), "-o", str(out)]) == 2
    err = _err(capsys)
    assert len(err) == 1 and "No space left" in err[0]
    assert out.read_bytes() == b"previous result"
    assert sorted(p.name for p in out.parent.iterdir()) == ["conv_bn.onnx", "folded.onnx"]


@pytest.mark.parametrize("command", ["json", "svg"])
def test_full_disk_for_json_and_svg_leaves_no_file(model_file, capsys, monkeypatch, command):
    def enospc(self, *a, **k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Path, "write_text", enospc)
    target = model_file.parent / ("r.json" if command == "json" else "g.svg")
    argv = (["analyze", str(model_file), "--json", str(target)] if command == "json"
            else ["svg", str(model_file), "-o", str(target)])
    assert main(argv) == 2 and "No space left" in _err(capsys)[0]
    assert sorted(p.name for p in model_file.parent.iterdir()) == ["conv_bn.onnx"]


def test_successful_fold_output_is_complete_and_readable(model_file):
    import onnx

    out = model_file.parent / "folded.onnx"
    assert main(["fold", str(model_file), "-o", str(out)]) == 0
    onnx.checker.check_model(onnx.load(str(out)))
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask
    assert sorted(p.name for p in out.parent.iterdir()) == ["conv_bn.onnx", "folded.onnx"]


# -- one-line errors and the hidden library log (item 15) ----------------------
def test_untraceable_module_log_is_hidden_unless_verbose(capsys):
    argv = ["analyze", "tests.test_cli:make_untraceable", "--input-shape", "1,3,8,8"]
    assert main(argv) == 2
    quiet = capsys.readouterr()
    assert quiet.out == "" and len(quiet.err.strip().splitlines()) == 2  # "loading", error
    assert "--verbose" in quiet.err
    assert main([*argv, "--verbose"]) == 2
    loud = capsys.readouterr()
    assert len((loud.out + loud.err).strip().splitlines()) > 5


def test_input_shape_that_contradicts_the_model_is_one_line(model_file, capsys):
    out = model_file.parent / "f.onnx"
    assert main(["fold", str(model_file), "-o", str(out), "--input-shape", "1,5,8,8"]) == 2
    err = _err(capsys)
    assert len(err) == 1 and "takes 3 input channels" in err[0]
    assert not out.exists()


def test_onnxruntime_failure_during_verification_is_one_line(model_file, capsys, monkeypatch):
    from inspector.frontends.onnx import runtime

    real = runtime.make_session

    class Failing:
        def __init__(self, model):
            self._s = real(model)

        def get_inputs(self):
            return self._s.get_inputs()

        def run(self, *a, **k):
            raise RuntimeError("[ONNXRuntimeError] : 1 : FAIL : kernel exploded\nstack line")

    monkeypatch.setattr(runtime, "make_session", Failing)
    out = model_file.parent / "f.onnx"
    assert main(["fold", str(model_file), "-o", str(out)]) == 2
    err = _err(capsys)
    assert len(err) == 1 and "onnxruntime failed to run the model" in err[0]
    assert "kernel exploded" in err[0] and "stack line" not in err[0]
    assert not out.exists()


def test_onnx_file_over_2_gib_is_refused_without_reading_it(tmp_path, capsys):
    big = tmp_path / "huge.onnx"
    with open(big, "wb") as f:  # sparse: no disk space, no memory
        f.truncate(2**31 + 1)
    with memory_cap(1.0):
        assert main(["analyze", str(big)]) == 2
    err = _err(capsys)
    assert len(err) == 1 and "2 GiB" in err[0] and "huge.onnx" in err[0]
