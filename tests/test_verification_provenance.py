"""Tensors are matched by provenance (the node that produced them), never by a name a
rewrite may reuse; a value of the wrong shape is an internal matching error, never an
infinite model error (DESIGN §3.9)."""

from __future__ import annotations

import numpy as np
import pytest

from inspector.folding.driver import analyze
from inspector.folding.pipeline import fold
from inspector.verification.compare import verify
from inspector.verification.numpy_exec import run_tensors as run_ir
from tests.fake_frontends import function_model
from tests.graph_factory import GraphBuilder

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional


class Down(nn.Module):
    """A functional op beside a child module (like YOLOv9's ADown): the module returns
    its child's output, not the pool's, though the pool is its only op of its own."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.cv = nn.Sequential(nn.Conv2d(c, c, 3, 2, 1, bias=False), nn.BatchNorm2d(c), nn.SiLU())

    def forward(self, x):
        return self.cv(F.avg_pool2d(x, 2, 1, 0))


class Pair(nn.Module):
    """Returns two tensors: no single returned tensor."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.a, self.b = nn.Conv2d(c, c, 1), nn.Conv2d(c, c, 1)

    def forward(self, x):
        return self.a(x), torch.relu(self.b(x))


class Net(nn.Module):
    def __init__(self, c: int = 8) -> None:
        super().__init__()
        from sample_models.catalogue_reparam import RepVGGBlock

        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU())
        self.down = Down(c)
        self.pair = Pair(c)
        self.rep = RepVGGBlock(c, c)

    def forward(self, x):
        a, b = self.pair(self.down(self.stem(x)))
        return self.rep(a + b)


def _loaded():
    from inspector.frontends.pytorch import load_module
    from inspector.sources import randomize_bn

    torch.manual_seed(0)
    return load_module(randomize_bn(Net(), seed=2), input_shape=(1, 3, 16, 16), name="net")


def _pool_tensor(graph) -> str:
    return next(n.outputs[0] for n in graph.nodes if n.op == "pool_avg")


def test_a_module_call_returns_the_one_tensor_leaving_it():
    loaded = _loaded()
    graph, returns = loaded.graph, loaded.capture.returns
    silu = next(n for n in graph.nodes if n.scope == "down.cv.2")
    assert returns[("down", 1)] == silu.outputs[0] != _pool_tensor(graph)
    assert ("pair", 1) not in returns  # two tensors leave it


def test_eager_hooks_give_every_tensor_the_value_its_own_node_computes():
    from inspector.frontends.pytorch.runtime import _interpret, run_tensors

    loaded = _loaded()
    x = loaded.random_inputs(0)
    _, hooked = run_tensors(loaded.model, x, loaded)
    _, program = _interpret(loaded.capture.graph_module(), x, set(loaded.graph.tensors))
    assert len(hooked) >= 10
    for name, value in hooked.items():
        np.testing.assert_allclose(value, program[name], rtol=1e-5, atol=1e-6, err_msg=name)


def test_reparam_through_pytorch_verifies_a_model_with_functional_ops_beside_modules():
    result = fold(_loaded(), "reparam")
    v = result.verification
    assert result.analysis.merged_count >= 1 and v.passed
    assert v.tensors_compared >= 5 and v.not_compared == ()


def test_a_folded_graph_module_is_read_by_provenance_not_by_node_name():
    from inspector.frontends.pytorch.records import PROVENANCE
    from inspector.frontends.pytorch.runtime import _interpret

    class Two(nn.Module):
        def forward(self, x):
            return torch.relu(x) + 1.0

    gm = torch.fx.symbolic_trace(Two())
    nodes = {n.name: n for n in gm.graph.nodes}
    nodes["relu"].meta[PROVENANCE] = "add"  # a rewrite reused the name 'relu' for another value
    x = np.array([[-1.0, 2.0]], np.float32)
    _, found = _interpret(gm, [x], {"relu", "add"})
    assert list(found) == ["add"]  # the untagged node named 'add' is not matched by its name
    np.testing.assert_array_equal(found["add"], np.maximum(x, 0))


# -- shape mismatches: internal, never an infinite model error --------------------------
def _block():
    b = GraphBuilder(seed=6, name="block")
    x = b.input((1, 3, 6, 6))
    h = b.relu(b.bn(b.conv(x, 4, name="conv1"), name="bn1"), name="relu1")
    b.output(b.conv(h, 5, name="conv2"))
    return b.build()


def _folded_values(graph, change):
    """A correct 'folded model' (the IR run exactly) whose values ``change`` edits."""
    analysis = analyze(graph, "optimal")

    def folded(xs):
        values = run_ir(analysis.folded, xs)
        return change(values)

    return analysis, folded


def test_a_tensor_matched_to_a_value_of_another_shape_is_an_internal_error_not_a_failure():
    graph = _block()
    relu = graph.find("relu1").outputs[0]
    analysis, folded = _folded_values(graph, lambda v: {**v, relu: v[relu][:, :2]})
    loaded = function_model(graph, lambda xs: run_ir(graph, xs), folded)
    check = verify(loaded, folded, steps=analysis.steps)
    assert check.passed and np.isfinite(check.worst_tensor_rel_error)
    (left,) = check.not_compared
    assert left.tensor == relu and left.node == "relu1" and not left.output
    assert "internal matching error" in left.reason and "[1, 2, 6, 6]" in left.reason
    assert any("internal matching error" in note for note in check.notes)


def test_an_output_of_another_shape_still_fails_and_says_so():
    graph = _block()
    out = graph.find("conv2").outputs[0]
    analysis, folded = _folded_values(graph, lambda v: {**v, out: v[out][:, :3]})
    loaded = function_model(graph, lambda xs: run_ir(graph, xs), folded)
    check = verify(loaded, folded, steps=analysis.steps)
    assert check.state == "failed"
    assert "shape [1, 3, 6, 6], not [1, 5, 6, 6]" in check.worst_tensor
