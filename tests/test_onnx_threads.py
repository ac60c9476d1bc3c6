"""The shared onnxruntime session cache is safe under concurrent folds (issue 19.5)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from onnx import numpy_helper

import inspector
from inspector.frontends.onnx import runtime
from tests.bad_inputs import corpus as C


def test_eight_threads_folding_at_once_all_verify():
    """Before the cache was guarded, 8 threads folding at once raised raw KeyErrors
    (42 of 200 folds); every fold must now verify."""
    models = [inspector.load(C.conv_bn(), name=f"m{i}") for i in range(8)]

    def fold(i: int) -> str:
        return inspector.fold(models[i % len(models)], mode="adjacent").verification.state

    with ThreadPoolExecutor(max_workers=8) as pool:
        states = list(pool.map(fold, range(32)))
    assert states == ["passed"] * 32


def test_concurrent_runs_of_many_models_never_mix_sessions():
    """12 models (twice the cache size) run from 8 threads: each run gets its own
    model's output, whatever the eviction order."""
    protos = [C.conv_bn() for _ in range(12)]
    for i, p in enumerate(protos):  # model i adds i to its conv bias
        p.graph.initializer[1].CopyFrom(numpy_helper.from_array(np.full(4, float(i), np.float32), "cb"))
    x = np.random.default_rng(0).standard_normal((1, 3, 8, 8)).astype(np.float32)
    expected = [runtime.make_session(p).run(None, {"x": x})[0] for p in protos]

    def run(i: int) -> bool:
        return np.array_equal(runtime.run(protos[i % 12], [x])[0], expected[i % 12])

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(run, range(120)))
