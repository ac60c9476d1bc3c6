"""ONNX hostile inputs, round three (issue 18 items 8-9, issue 19 item 2).

Local functions are inlined (a BN inside one is a BN of the model), calls that
would expand to a billion nodes are refused before inlining, subgraphs nested
beyond protobuf's recursion limit are named as such, and sizes no estimate sees
are bounded by running onnxruntime once in a child under ``RLIMIT_AS``. The
generic corpus tests (``test_bad_inputs``) run these cases through the library,
the CLI and the app's upload; here each gets its specific outcome.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

import inspector
from inspector import errors
from inspector.cli import main
from inspector.frontends import load, load_bytes
from inspector.frontends.onnx import functions, probe, wire
from tests.bad_inputs import onnx_cases as O
from tests.mdtext import plain
from tests.test_bad_inputs import memory_cap

ROOT = Path(__file__).resolve().parents[1]
BOMBS = ["topk_bomb", "cast_bomb", "microsoft_bomb", "resize_bomb", "if_branch_bomb",
         "if_input_bomb"]


def _err(capsys) -> list[str]:
    return [x for x in capsys.readouterr().err.splitlines() if x.startswith("bnfold:")]


# -- 18.8 local functions ----------------------------------------------------------
def test_bn_inside_local_function_calls_is_seen_with_the_call_as_scope():
    loaded = load(O.function_bn(calls=3))
    bns = loaded.graph.bn_nodes()
    assert [(n.name, n.scope) for n in bns] == [("block0/bn", "block0"), ("block1/bn", "block1"),
                                                ("block2/bn", "block2")]
    assert any("3 calls of local functions (ConvBn: 3)" in n for n in loaded.notes)


def test_bn_inside_local_function_folds_and_verifies_without_touching_the_source():
    source = O.function_bn()
    before = source.SerializeToString()
    loaded = load(source)
    result = inspector.fold(loaded, mode="optimal")
    assert result.verification.state == "passed"
    folded = result.model
    ops = [n.op_type for n in folded.graph.node]
    assert ops == ["Conv", "Relu", "Conv", "Relu"] and not folded.functions
    assert source.SerializeToString() == before and len(source.functions) == 1
    x = np.random.default_rng(1).standard_normal((1, 3, 8, 8)).astype(np.float32)
    from inspector.frontends.onnx.runtime import make_session

    want = make_session(source).run(None, {"x": x})[0]
    got = make_session(folded).run(None, {"x": x})[0]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_function_expansion_bomb_is_refused_before_inlining(monkeypatch):
    def never(*a, **k):
        raise AssertionError("the inliner ran")

    monkeypatch.setattr("onnx.inliner.inline_local_functions", never)
    with memory_cap(1.0), pytest.raises(errors.ResourceLimitError, match="1,000,000 nodes"):
        load(O.function_bomb(levels=30))


def test_uncalled_functions_leave_the_model_as_it_is():
    model = O.function_bn()
    notes: list[str] = []
    del model.graph.node[:]
    assert functions.inline_functions(model, "m", notes) is model and notes == []


def test_recursive_function_is_one_line():
    model = O.function_bomb(levels=2)
    model.functions[0].node[0].op_type = "F2"  # F0 now calls F2, which calls F0
    model.functions[0].node[0].domain = "local"
    model.functions[0].opset_import.append(onnx.helper.make_opsetid("local", 1))
    with pytest.raises(errors.InvalidGraphError) as info:
        load(model)
    assert "\n" not in str(info.value) and "ecursive" in str(info.value)


# -- 18.9 nesting ------------------------------------------------------------------
def test_31_nested_ifs_load_and_32_are_named_too_deep():
    assert load_bytes(O.nested_if(31), "deep31.onnx").graph.nodes
    with pytest.raises(errors.InvalidGraphError) as info:
        load_bytes(O.nested_if(32), "deep32.onnx")
    msg = str(info.value)
    assert "nests If/Loop/Scan subgraphs 32+ levels deep" in msg and "truncated" not in msg
    assert "'deep32.onnx'" in msg and "\n" not in msg


def test_nesting_depth_reads_the_wire_format():
    assert wire.nesting_depth(O.nested_if(31)) == (100, 32)
    assert wire.nesting_depth(O.nested_if(32))[0] == wire.PROTOBUF_MAX_DEPTH + 1
    assert wire.nesting_depth(b"\x08\x08\x3a\x7f") == (2, 1)  # truncated graph field


def test_truncated_deep_file_is_still_called_too_deep_and_truncated_file_truncated():
    data = O.nested_if(40)
    with pytest.raises(errors.InvalidGraphError, match="levels deep"):
        load_bytes(data[: len(data) - 10], "deep.onnx")
    good = O.function_bn().SerializeToString()
    with pytest.raises(errors.InvalidGraphError, match="truncated"):
        load_bytes(good[: len(good) // 2], "half.onnx")


# -- 19.2 sizes no estimate sees ------------------------------------------------------
@pytest.mark.parametrize("name", BOMBS)
def test_size_bypass_is_refused_in_one_line_within_the_memory_limit(name):
    """Each asked onnxruntime for 4-15 GB before the cap's check; now the bounded
    run fails and the library says so in one line (this process gets 1 GB more)."""
    model = getattr(O, name)()
    with memory_cap(1.0), pytest.raises(errors.ResourceLimitError) as info:
        load_bytes(model.SerializeToString(), f"{name}.onnx")
    msg = str(info.value)
    assert msg.startswith(f"'{name}.onnx': running the model once") and "\n" not in msg
    assert "--max-tensor-mb" in msg


def test_a_tensor_the_bounded_run_sizes_is_checked_against_the_cap():
    """A 4 MB TopK-sized tensor loads at the default cap; at 1 MB the bounded run gives
    its shape and the cap refuses it by name."""
    model = O.topk_bomb()
    model.graph.initializer[0].CopyFrom(onnx.numpy_helper.from_array(
        np.array([1000, 1000, 1, 1], np.int64), "dv"))
    assert load(model).graph.shape("y") == (1,)
    with pytest.raises(errors.ResourceLimitError, match=r"tensor 'big' \(1000, 1000, 1\)"):
        load(model, max_tensor_mb=1)


def test_bounded_run_failure_that_is_not_memory_is_a_note(monkeypatch):
    """A model onnxruntime cannot run keeps its shapes unknown, as before."""
    model = O.topk_bomb()
    model.graph.node[0].op_type = "TopKNope"  # unknown to onnxruntime; the checker skips it
    model.graph.node[0].domain = "com.example"
    model.opset_import.append(onnx.helper.make_opsetid("com.example", 1))
    loaded = load(model)
    assert any("onnxruntime could not run the model" in n for n in loaded.notes)


def test_probe_gives_shapes_and_dtypes():
    model = O.cast_bomb()
    model.graph.initializer[0].CopyFrom(onnx.numpy_helper.from_array(
        np.array([2, 3], np.float32), "df"))
    model.graph.output.append(onnx.helper.make_tensor_value_info("big", onnx.TensorProto.FLOAT, None))
    r = probe.probe_run(model.SerializeToString(), {"x": np.zeros(1, np.float32)}, 2**30, "m")
    assert r.error == "" and r.shapes["big"] == (2, 3) and r.dtypes["big"] == "float32"


def test_constant_of_unknown_size_is_not_evaluated_when_onnxruntime_cannot_run_the_model():
    """Shapes stay unknown, so the constant folder would build the 14 GB Resize: it is
    kept in the IR with a note instead (this process gets 1 GB more)."""
    with memory_cap(1.0):
        loaded = load(O.constant_resize_bomb())
    assert any("could not run the model" in n for n in loaded.notes)
    assert "constant node 'resize' was not evaluated: its output size is unknown." in loaded.notes
    assert loaded.graph.has_node("resize")


def test_constants_bounded_by_their_inputs_are_still_evaluated_and_checked():
    """Ops of unknown output size bounded by their inputs are evaluated within the cap:
    a broadcast (20000, 1) x (1, 20000) Mul is bounded at 4e8 elements; a NonZero (its
    shape depends on the values) folds away."""
    from inspector.frontends.onnx.sizes import output_bound

    mul = onnx.helper.make_node("Mul", ["a", "b"], ["c"])
    consts = {"a": np.zeros((20000, 1)), "b": np.zeros((1, 20000))}
    assert output_bound(mul, consts) == 400_000_000
    assert output_bound(onnx.helper.make_node("Resize", ["a", "", "b"], ["c"]), consts) is None
    model = O.constant_resize_bomb()
    resize = model.graph.node[1]
    resize.op_type = "NonZero"  # of the 4 scales: at most 4 indices
    del resize.input[:]
    resize.input.append("sv")
    loaded = load(model)
    assert not loaded.graph.has_node("resize") and not any("not evaluated" in n for n in loaded.notes)

_CHILD = """
import contextlib, io, json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (6 * 2**30, 6 * 2**30))
from inspector.cli import main
peak = lambda who: resource.getrusage(who).ru_maxrss // 1024
main(["analyze", "sample:conv_bn_relu"])
rows = [{"warm": peak(resource.RUSAGE_SELF)}]
for path in sys.argv[1:]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["analyze", path])
    rows.append({"code": code, "err": err.getvalue(), "self": peak(resource.RUSAGE_SELF),
                 "children": peak(resource.RUSAGE_CHILDREN)})
print(json.dumps(rows))
"""


@pytest.mark.slow
def test_cli_refuses_every_bypass_in_one_line_with_bounded_memory(tmp_path):
    """``bnfold analyze`` under a 6 GiB RLIMIT_AS: exit 2, one line, no onnxruntime log;
    the CLI grows by < 100 MB and the bounded child peaks under its budget (before:
    3.7-14.7 GB in the CLI itself)."""
    paths = []
    for name in BOMBS:
        paths.append(tmp_path / f"{name}.onnx")
        paths[-1].write_bytes(getattr(O, name)().SerializeToString())
    r = subprocess.run([sys.executable, "-c", _CHILD, *map(str, paths)], capture_output=True,
                       text=True, cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stderr[-600:]
    rows = json.loads(r.stdout.strip().splitlines()[-1])
    warm = rows[0]["warm"]
    budget_mb = probe.budget_for(0, 2**30) // 2**20
    for name, row in zip(BOMBS, rows[1:]):
        lines = [x for x in row["err"].splitlines() if x.strip()]
        assert row["code"] == 2 and lines[-1].startswith("bnfold: error: "), (name, row["err"])
        assert [x for x in lines if not x.startswith("loading ")] == lines[-1:], (name, lines)
        assert row["self"] - warm < 100 and row["children"] < budget_mb, (name, warm, row)


def test_cli_fold_of_a_function_model_writes_the_inlined_folded_model(tmp_path, capsys):
    src = tmp_path / "fn.onnx"
    src.write_bytes(O.function_bn().SerializeToString())
    out = tmp_path / "fn_folded.onnx"
    assert main(["fold", str(src), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "2 BN" in text and "block1/bn" in text and "verification PASS" in text
    assert [n.op_type for n in onnx.load(str(out)).graph.node] == ["Conv", "Relu", "Conv", "Relu"]


@pytest.mark.parametrize("name", ["nested_if", "function_bomb", "topk_bomb"])
def test_cli_one_line_for_nesting_and_function_bomb(tmp_path, capfd, name):
    src = tmp_path / f"{name}.onnx"
    data = O.nested_if(40) if name == "nested_if" else getattr(O, name)().SerializeToString()
    src.write_bytes(data)
    with memory_cap(1.0):
        assert main(["fold", str(src), "-o", str(tmp_path / "out.onnx")]) == 2
    captured = capfd.readouterr()  # onnxruntime logs to the file descriptor itself
    err = [x for x in captured.err.splitlines() if x.startswith("bnfold:")]
    assert len(err) == 1 and f"'{name}.onnx'" in err[0] and "\x1b" not in captured.err
    assert not (tmp_path / "out.onnx").exists()


def test_onnxruntime_failing_in_process_prints_no_log_of_its_own(capfd):
    """Verification runs onnxruntime in this process: its coloured error log (written
    to fd 2, around the exception) is off; the one-line error carries the reason."""
    from onnx import helper, numpy_helper

    from inspector.frontends.onnx import runtime

    model = helper.make_model(helper.make_graph(
        [helper.make_node("Reshape", ["x", "s"], ["y"])], "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["n"])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.array([5], np.int64), "s")]),
        opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(errors.InspectorError, match="Reshape") as info:
        runtime.run(model, [np.zeros(4, np.float32)])
    err = capfd.readouterr().err
    assert "\n" not in str(info.value) and "onnxruntime" not in err and "\x1b" not in err


@pytest.mark.slow
def test_app_upload_of_function_model_and_bypass():
    """The app's upload: the function model shows its 2 BNs, a bypass one error."""
    pytest.importorskip("streamlit")
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()
    at.radio(key="model_source").set_value("Upload").run()
    at.file_uploader(key="upload").set_value(
        ("fn.onnx", O.function_bn().SerializeToString(), "application/octet-stream")).run()
    assert not at.exception and not at.error
    assert {m.label: m.value for m in at.metric}["BN layers"] == "2"
    with memory_cap(1.0):
        at.file_uploader(key="upload").set_value(
            ("topk.onnx", O.topk_bomb().SerializeToString(), "application/octet-stream")).run()
    assert not at.exception
    messages = {e.value for e in at.error}
    assert len(messages) == 1 and "'topk.onnx': running the model once" in plain(messages.pop())

