"""The bad-input corpus: malformed, hostile, huge and edge-case model files, generated
(never stored as blobs), each with the outcome every entry point must give.

    python -m tests.bad_inputs.corpus OUTDIR     # writes the files and MANIFEST.tsv

``expected`` is ``"ok"`` (loads, analyses, folds) or the name of the
``InspectorError`` subclass the library raises; the CLI then exits 2 with one
line naming the file, and the app shows one error naming the upload.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from . import hostile, names, onnx_cases

F = TensorProto.FLOAT
#: Where the hostile payloads would create a folder if anything unpickled them.
SENTINEL = Path(tempfile.gettempdir()) / "bnfold-corpus-sentinel"


@dataclass(frozen=True)
class Case:
    name: str  # file name, suffix included
    data: bytes
    expected: str  # "ok" or an InspectorError subclass name
    what: str  # the class of bad input (README table)
    #: For an "ok" case too big to draw: the one line that ``bnfold svg`` (exit 2, no file)
    #: and the app's graph view give instead of laying it out; "" when it draws.
    view_error: str = ""


def _model(nodes, inputs, outputs, inits=(), opset: int = 17) -> onnx.ModelProto:
    m = helper.make_model(helper.make_graph(nodes, "g", inputs, outputs, list(inits)),
                          opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def _vi(name, shape, elem=F):
    return helper.make_tensor_value_info(name, elem, shape)


def _t(name, value):
    return numpy_helper.from_array(np.asarray(value), name)


def conv_bn(channels_bn: int = 4, batch="N") -> onnx.ModelProto:
    """Conv(3->4, 3x3) -> BN(channels_bn) -> Relu on an (batch, 3, 8, 8) input."""
    rng = np.random.default_rng(0)
    f32 = np.float32
    return _model(
        [helper.make_node("Conv", ["x", "w", "cb"], ["y"], name="conv"),
         helper.make_node("BatchNormalization", ["y", "g", "b", "m", "v"], ["z"], name="bn"),
         helper.make_node("Relu", ["z"], ["out"], name="relu")],
        [_vi("x", [batch, 3, 8, 8])], [_vi("out", [batch, 4, 6, 6])],
        [_t("w", rng.standard_normal((4, 3, 3, 3)).astype(f32)), _t("cb", np.zeros(4, f32)),
         _t("g", rng.uniform(0.5, 1.5, channels_bn).astype(f32)),
         _t("b", rng.standard_normal(channels_bn).astype(f32)),
         _t("m", rng.standard_normal(channels_bn).astype(f32)),
         _t("v", rng.uniform(0.5, 2, channels_bn).astype(f32))])


def constant_of_shape_bomb(computed: bool) -> onnx.ModelProto:
    """~200 bytes that ask for a 4x1000x1000x1000 float tensor (16 GB); ``computed``
    hides the shape behind an Abs so that shape inference cannot see it."""
    dims = np.array([4, 1000, 1000, 1000], np.int64)
    nodes = [helper.make_node("Constant", [], ["dims"], value=_t("dims", dims))]
    src = "dims"
    if computed:
        nodes.append(helper.make_node("Abs", ["dims"], ["dims2"]))
        src = "dims2"
    nodes += [helper.make_node("ConstantOfShape", [src], ["big"],
                               value=_t("one", np.array([1.0], np.float32))),
              helper.make_node("Add", ["x", "big"], ["y"])]
    return _model(nodes, [_vi("x", [1])], [_vi("y", [4, 1000, 1000, 1000])])


def huge_declared_input() -> onnx.ModelProto:
    dims = [1, 3, 1_000_000_000, 1_000_000_000]
    return _model([helper.make_node("Relu", ["x"], ["y"])], [_vi("x", dims)], [_vi("y", dims)])


def unknown_op() -> onnx.ModelProto:
    m = _model([helper.make_node("NotAnOp", ["x"], ["y"])], [_vi("x", [1, 3])], [_vi("y", [1, 3])])
    return m


def cycle() -> onnx.ModelProto:
    return _model([helper.make_node("Relu", ["b"], ["a"]), helper.make_node("Relu", ["a"], ["b"])],
                  [_vi("x", [1, 3])], [_vi("b", [1, 3])])


def relu_only() -> onnx.ModelProto:
    return _model([helper.make_node("Relu", ["x"], ["y"])], [_vi("x", [1, 3, 4, 4])],
                  [_vi("y", [1, 3, 4, 4])])


def cases() -> list[Case]:
    """Every case (built in about a second; the .pt2 ones need torch.export)."""
    good = conv_bn().SerializeToString()
    pt2 = hostile.base_pt2()
    evil = hostile.pt2_variants(SENTINEL, pt2)
    rng = np.random.default_rng(7)
    return [
        Case("conv_bn.onnx", good, "ok", "valid model (dynamic batch)"),
        Case("relu_only.onnx", relu_only().SerializeToString(), "ok", "no BN at all"),
        Case("conv_bn.pt2", pt2, "ok", "valid torch.export archive"),
        Case("empty.onnx", b"", "InvalidGraphError", "empty file"),
        Case("text.onnx", b"hello, this is not a model\n", "InvalidGraphError", "text file"),
        Case("random.onnx", rng.bytes(4096), "InvalidGraphError", "random bytes"),
        Case("truncated.onnx", good[: len(good) // 2], "InvalidGraphError", "truncated file"),
        Case("zip_named.onnx", pt2, "InvalidGraphError", "a .pt2 archive named .onnx"),
        Case("onnx_named.pt2", good, "InvalidGraphError", "an ONNX file named .pt2"),
        Case("empty.pt2", b"", "InvalidGraphError", "empty .pt2"),
        Case("model.h5", good, "InspectorError", "unsupported suffix"),
        Case("unknown_op.onnx", unknown_op().SerializeToString(), "InvalidGraphError",
             "op that does not exist"),
        Case("cycle.onnx", cycle().SerializeToString(), "InvalidGraphError", "cyclic graph"),
        Case("bn_channels.onnx", conv_bn(channels_bn=5).SerializeToString(),
             "InvalidGraphError", "BN channel count != conv channels"),
        Case("bomb.onnx", constant_of_shape_bomb(False).SerializeToString(),
             "ResourceLimitError", "ConstantOfShape of 4e9 elements"),
        Case("bomb_computed.onnx", constant_of_shape_bomb(True).SerializeToString(),
             "ResourceLimitError", "ConstantOfShape of 4e9 elements, shape computed"),
        Case("huge_input.onnx", huge_declared_input().SerializeToString(),
             "ResourceLimitError", "declared input dims of 1e9"),
        Case("external_app_py.onnx", hostile.conv_bn_external("app.py").SerializeToString(),
             "InspectorError", "external data pointing at app.py"),
        Case("external_dotdot.onnx", hostile.conv_bn_external("../x").SerializeToString(),
             "UnsafeFileError", "external data pointing at ../x"),
        Case("external_abs.onnx", hostile.conv_bn_external("/etc/passwd").SerializeToString(),
             "UnsafeFileError", "external data at an absolute path"),
        *(Case(f"{k}.pt2", v, "UnsafeFileError" if k != "old_format_pickle"
               else "InvalidGraphError", f"hostile .pt2: {k}") for k, v in evil.items()),
        Case("inflating.pt2", hostile.inflating_pt2(pt2), "ResourceLimitError",
             "2.8 MB .pt2 whose three deflated payloads inflate to 900 MB each"),
        Case("json_bomb.pt2", hostile.json_bomb_pt2(pt2), "ResourceLimitError",
             "320 KB .pt2 whose model JSON inflates to 300 MB"),
        Case("deep_json.pt2", hostile.deep_json_pt2(pt2), "InvalidGraphError",
             ".pt2 whose model JSON nests 100,000 levels"),
        Case("many_entries.pt2", hostile.many_entries_pt2(pt2), "InvalidGraphError",
             "22 MB .pt2 with 200,000 tiny entries"),
        # names (issues 18.1-18.3, 19.1, 19.6): shown as text everywhere, the graph draws
        Case("resnet__v2.onnx", good, "ok", "file name with __ (crashed the Inspect page)"),
        Case("hostile_names.onnx", names.hostile_names().SerializeToString(), "ok",
             "names with Markdown, HTML, ANSI/OSC, bidi and DOT attribute smuggling"),
        Case("long_name.onnx", names.hostile_names(long_name=20_000).SerializeToString(), "ok",
             "a node name of 20,000 characters (over Graphviz's 16 KB label limit)"),
        *(Case(*row) for row in onnx_cases.cases()),
        # scale (issue 18.7): linear analysis and folding; a view over the drawing limit is
        # refused before any layout work
        Case("chain_5k.onnx", scale_chain(CHAIN_NODES), "ok",
             f"{CHAIN_NODES:,}-node conv→BN→ReLU chain ({CHAIN_NODES // 3:,} BNs), over the drawing limit",
             view_error=f"the view has {CHAIN_NODES + 2:,} nodes to draw, more than the renderer's "
                        "limit of 5,000. To fix this, draw a focus view"),
    ]


#: Nodes of the scale case: just over ``render.layout.MAX_DRAWN_UNITS`` (5,000).
CHAIN_NODES = 5_100


def scale_chain(nodes: int) -> bytes:
    """A conv → BN → ReLU chain of ``nodes`` nodes (the scale benchmark's ``chain`` family)."""
    from benchmarks.scale import build_onnx

    return build_onnx("chain", nodes)


def write(folder: Path) -> list[Path]:
    """Write every case and ``MANIFEST.tsv`` (name, expected, class) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    rows, paths = [], []
    for c in cases():
        (folder / c.name).write_bytes(c.data)
        paths.append(folder / c.name)
        rows.append(f"{c.name}\t{c.expected}\t{c.what}")
    (folder / "MANIFEST.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return paths


if __name__ == "__main__":  # pragma: no cover
    out = write(Path(sys.argv[1] if len(sys.argv) > 1 else "bad_inputs_out"))
    print(f"wrote {len(out)} files")
