"""``.pt2`` programs saved by real code load without running code (issue 14.5).

torch 2.14 writes symbolic shapes in sympy's ``srepr`` spelling (YOLO programs:
``Symbol('zuf2')``; Hugging Face: ``Add(Symbol('s4', positive=True, integer=True),
Integer(-1))``) and output containers registered by libraries (a ``ModelOutput``).
The archive reader accepts the first after an ``ast`` check and reads the second
as a tuple of the same tensors; code in either is still refused
(``tests/test_security.py`` holds the hostile archives)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from torch import nn

from inspector.folding.pipeline import fold
from inspector.frontends import load
from inspector.frontends.pytorch.archive_json import (
    BadTreeSpec,
    is_plain_expression,
    plain_treespec,
)
from inspector.sources import randomize_bn

PLAIN = [
    "s0 + 1",
    "FloorDiv(s4 - 1, 2) + 1",
    "Symbol('zuf2')",
    "Symbol('s4', positive=True, integer=True)",
    "Add(FloorDiv(Add(Symbol('s4', positive=True, integer=True), Integer(-1)), Integer(2)), Integer(1))",
    "Mul(Integer(2048), Symbol('s99', positive=True, integer=True))",
    "Float('1.5', precision=53)",
    "Rational(1, 2) * s0",
    "Eq(s0, 3) & (s1 < 5)",
]
CODE = [
    "__import__('os').mkdir('x')",
    "Symbol('s0').__class__(1)",
    "Symbol(open('/etc/passwd').read())",
    "Symbol('import os')",
    "eval('1')",
    "Symbol('s0', positive=print)",
    "(lambda: 1)()",
    "s0[0]",
    "Float('nan; import os')",
    "Integer(-1).func",
]


@pytest.mark.parametrize("expr", PLAIN)
def test_srepr_and_plain_symbolic_shapes_are_accepted(expr):
    assert is_plain_expression(expr)


@pytest.mark.parametrize("expr", CODE)
def test_code_in_a_symbolic_shape_is_refused(expr):
    assert not is_plain_expression(expr)


def leaf() -> dict:
    return {"type": None, "context": None, "children_spec": []}


def spec(kind: str, context: str, children: list) -> str:
    return json.dumps([1, {"type": kind, "context": context, "children_spec": children}])


def test_a_library_output_container_becomes_a_tuple_of_the_same_children():
    text = spec("transformers.modeling_outputs.ImageClassifierOutput", '["loss", "logits"]',
                [leaf(), leaf()])
    rebuilt, replaced = plain_treespec(text)
    assert replaced == ["transformers.modeling_outputs.ImageClassifierOutput"]
    tree = torch.utils._pytree.treespec_loads(rebuilt)
    assert tree.type is tuple and tree.num_leaves == 2


def test_dict_outputs_keep_their_keys():
    text = spec("builtins.dict", '["boxes", "scores"]', [leaf(), leaf()])
    rebuilt, replaced = plain_treespec(text)
    assert replaced == [] and torch.utils._pytree.treespec_loads(rebuilt).context == ["boxes", "scores"]


def test_a_dict_keyed_by_an_enum_is_refused_as_unsafe():
    key = {"__enum__": True, "fqn": "os:environ", "name": "HOME"}
    with pytest.raises(BadTreeSpec) as info:
        plain_treespec(spec("builtins.dict", json.dumps([key]), [leaf()]))
    assert info.value.unsafe


@dataclass
class Output:
    """A library's output container (like a Hugging Face ``ModelOutput``)."""

    logits: torch.Tensor
    features: torch.Tensor


torch.utils._pytree.register_dataclass(Output, serialized_type_name="tests.Output")


class ConvBnHead(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x: torch.Tensor) -> Output:
        h = torch.relu(self.bn(self.conv(x)))
        return Output(h.mean((2, 3)), h)


def saved(tmp_path, dynamic: bool = False):
    torch.manual_seed(0)
    module = randomize_bn(ConvBnHead(), seed=2)
    x = torch.randn(1, 3, 12, 12)
    shapes = ({2: torch.export.Dim("h", min=4, max=64), 3: torch.export.Dim("w", min=4, max=64)},) \
        if dynamic else None
    path = tmp_path / "model.pt2"
    torch.export.save(torch.export.export(module, (x,), dynamic_shapes=shapes), str(path))
    return path


def test_a_program_returning_a_registered_container_loads_with_a_note(tmp_path):
    loaded = load(str(saved(tmp_path)))
    assert any("tests.Output" in note and "tuples" in note for note in loaded.notes)
    result = fold(loaded, "optimal")
    assert result.analysis.folded_count == 1 and result.verification.passed


def test_a_program_with_dynamic_sizes_is_read_at_its_traced_size(tmp_path):
    loaded = load(str(saved(tmp_path, dynamic=True)))
    assert loaded.inputs[0].shape == (1, 3, 12, 12)
    result = fold(loaded, "optimal")
    assert result.analysis.folded_count == 1 and result.verification.passed
    x = np.random.default_rng(1).standard_normal((1, 3, 12, 12)).astype(np.float32)
    before, after = (loaded.frontend.run(m, [x]) for m in (loaded.model, result.model))
    for b, a in zip(before, after):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_a_yolo_program_saved_by_torch_export_loads(tmp_path):
    pytest.importorskip("ultralytics")
    from inspector.sources import resolve_spec

    module = resolve_spec("ultralytics:yolov8n", input_shape=(1, 3, 64, 64)).model
    path = tmp_path / "yolo.pt2"
    torch.export.save(torch.export.export(module, (torch.randn(1, 3, 64, 64),), strict=False), str(path))
    loaded = load(str(path))
    assert len(loaded.graph.bn_nodes()) == 57


@pytest.mark.slow
def test_a_hugging_face_program_loads_without_importing_transformers_types(tmp_path):
    transformers = pytest.importorskip("transformers")
    config = transformers.ResNetConfig(depths=[1, 1, 1, 1], hidden_sizes=[8, 16, 24, 32],
                                       embedding_size=8)
    module = transformers.ResNetForImageClassification(config).eval()
    path = tmp_path / "hf.pt2"
    torch.export.save(torch.export.export(module, (torch.randn(1, 3, 32, 32),), strict=False), str(path))
    loaded = load(str(path))
    assert any("ImageClassifierOutputWithNoAttention" in n for n in loaded.notes)
    assert fold(loaded, "optimal").verification.passed
