"""Models whose names attack the display (issue 18.1-18.3, 19.1, 19.6).

Every name is valid in ONNX; the model itself is an ordinary conv -> BN -> ReLU ->
BN -> MaxPool chain (one BN folds, one is blocked), so each name shows up in the
graph, the BN panel, the explanations, the tables, the CLI summary and the reports.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

#: The host a Markdown image or link would reach (TEST-NET-2: never routed).
BEACON = "198.51.100.7"
CONV = f"![x](http://{BEACON}/conv.png)"
BN1 = f"[click](https://evil.invalid/) `x` <img src=http://{BEACON}/i.png> www.evil.invalid"
RELU = "\x1b[2J\x1b]0;pwned\x07\x1b[32mverification PASS\x1b[0m \x1b]8;;http://evil.invalid\x07ok"
BN2 = "bn\u202egnp.exe __init__ **b** :red[d] $x$"
POOL = '</svg><script>alert(1)</script>" image="/etc/passwd" shapefile="/etc/passwd'
#: Tensor names: DOT attribute smuggling and markup.
T_Y = '" image="/etc/passwd" x="'
T_Z = "<image href='file:///etc/passwd'/>&amp;\\\"]; node [image=\"/etc/hostname\"]"
NAMES = (CONV, BN1, RELU, BN2, POOL)
#: An upload file name with Markdown in it (no ``/``: a browser sends no folder).
FILE_NAME = f"![f](http:{BEACON}:80pixel.png)[t](https:evil.invalid)__v2.onnx"


def _vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def hostile_names(long_name: int = 0) -> onnx.ModelProto:
    """The chain with hostile names; ``long_name`` > 0 replaces the ReLU's name by a
    name of that many characters (Graphviz refuses labels over 16 KB)."""
    rng = np.random.default_rng(3)
    f32 = np.float32

    def t(name, value):
        return numpy_helper.from_array(np.asarray(value, f32), name)

    def bn_params(p):
        return [t(f"{p}g", rng.uniform(0.5, 1.5, 4)), t(f"{p}b", rng.standard_normal(4)),
                t(f"{p}m", rng.standard_normal(4)), t(f"{p}v", rng.uniform(0.5, 2, 4))]

    relu = ("r" + "é<>&\"'`*_[]()" * (long_name // 14 + 1))[:long_name] if long_name else RELU
    nodes = [
        helper.make_node("Conv", ["x", "w", "cb"], [T_Y], name=CONV),
        helper.make_node("BatchNormalization", [T_Y, "1g", "1b", "1m", "1v"], [T_Z], name=BN1),
        helper.make_node("Relu", [T_Z], ["r"], name=relu),
        helper.make_node("BatchNormalization", ["r", "2g", "2b", "2m", "2v"], ["s"], name=BN2),
        helper.make_node("MaxPool", ["s"], ["out"], name=POOL, kernel_shape=[2, 2]),
    ]
    graph = helper.make_graph(
        nodes, "g", [_vi("x", [1, 3, 8, 8])], [_vi("out", [1, 4, 3, 3])],
        [t("w", rng.standard_normal((4, 3, 3, 3))), t("cb", np.zeros(4)), *bn_params("1"),
         *bn_params("2")])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m
