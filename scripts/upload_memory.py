"""Memory the app holds after two large uploads in two sessions (issue 19.4).

    PYTHONPATH=$PWD python scripts/upload_memory.py [--mb 260] [--root OTHER_CHECKOUT]

Two Streamlit sessions (``AppTest``, the app's own code in this process) each
upload a different ONNX model of about ``--mb`` MB of weights (a chain of
512-channel 3x3 convs, each followed by a BN); the first also folds it. Printed
after each step: the process's resident memory (after ``gc`` and
``malloc_trim``, i.e. what is really held) and the peak so far. Then session 1
opens a bundled sample (its upload must be evicted) and session 2 ends (its
model must be freed). Memory is judged against the baseline after the app
started and folded its default sample (every library a fold needs imported).
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def big_model(mb: float, seed: int) -> bytes:
    """A conv -> BN chain with about ``mb`` MB of float32 weights, serialised."""
    from onnx import TensorProto, helper, numpy_helper

    c = 512
    per_conv = c * c * 9 * 4
    n = max(1, int(mb * 2**20 // per_conv))
    rng = np.random.default_rng(seed)
    nodes, inits, x = [], [], "x"
    for i in range(n):
        w = (rng.standard_normal((c, c, 3, 3), dtype=np.float32) * (1 / 48)).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"w{i}"),
                  numpy_helper.from_array(rng.uniform(0.5, 1.5, c).astype(np.float32), f"g{i}"),
                  numpy_helper.from_array(rng.standard_normal(c).astype(np.float32), f"b{i}"),
                  numpy_helper.from_array(rng.standard_normal(c).astype(np.float32) * 0.1, f"m{i}"),
                  numpy_helper.from_array(rng.uniform(0.5, 2, c).astype(np.float32), f"v{i}")]
        nodes += [helper.make_node("Conv", [x, f"w{i}"], [f"c{i}"], name=f"conv{i}", pads=[1] * 4),
                  helper.make_node("BatchNormalization", [f"c{i}", f"g{i}", f"b{i}", f"m{i}",
                                                          f"v{i}"], [f"y{i}"], name=f"bn{i}")]
        x = f"y{i}"
    vi = [helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, c, 4, 4]) for name in ("x", x)]
    model = helper.make_model(helper.make_graph(nodes, "big", vi[:1], vi[1:], inits),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def held_mb() -> float:
    """Resident memory after freeing what can be freed (gc, then glibc's malloc_trim)."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:  # not glibc
        pass
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mb", type=float, default=260.0, help="weights per upload, MB")
    p.add_argument("--root", default=str(ROOT), help="the project tree whose app.py runs "
                   "(e.g. an older checkout, with its folder first on PYTHONPATH)")
    args = p.parse_args(argv)
    app = str(Path(args.root) / "app.py")
    from streamlit.testing.v1 import AppTest

    rows: list[tuple[str, float, float, float]] = []
    t0 = time.perf_counter()

    def step(what: str) -> None:
        rows.append((what, held_mb(), peak_mb(), time.perf_counter() - t0))
        print(f"{what:<48} held {rows[-1][1]:7.0f} MB   peak {rows[-1][2]:7.0f} MB   "
              f"{rows[-1][3]:6.1f} s", flush=True)

    def check(at) -> None:
        assert not at.exception, [e.message for e in at.exception]
        assert not at.error, [e.value for e in at.error]

    one = AppTest.from_file(app, default_timeout=900).run()
    check(one)
    one.switch_page("inspector/ui/pages/fold.py").run()
    one.button(key="fold_apply").click().run()  # warm: every library a fold needs is imported
    check(one)
    step("session 1 started, default sample folded (warm)")
    data = [big_model(args.mb, seed) for seed in (1, 2)]
    sizes = ", ".join(f"{len(d) / 2**20:.0f} MB" for d in data)
    step(f"two models built in memory ({sizes})")
    one.radio(key="model_source").set_value("Upload").run()
    one.file_uploader(key="upload").set_value(("big1.onnx", data[0], "application/octet-stream")).run()
    check(one)
    step("session 1: big1.onnx uploaded and analysed")
    one.switch_page("inspector/ui/pages/fold.py").run()
    one.button(key="fold_apply").click().run()
    check(one)
    step("session 1: folded and verified")
    two = AppTest.from_file(app, default_timeout=900).run()
    two.radio(key="model_source").set_value("Upload").run()
    two.file_uploader(key="upload").set_value(("big2.onnx", data[1], "application/octet-stream")).run()
    check(two)
    two.switch_page("inspector/ui/pages/fold.py").run()
    two.button(key="fold_apply").click().run()
    check(two)
    assert two.success and "Verification passed" in two.success[0].value
    step("session 2: big2.onnx uploaded, folded, verified")
    one.radio(key="model_source").set_value("Sample").run()
    one.button(key="open_choice::Sample").click().run()
    check(one)
    step("session 1: opened a sample (big1 evicted)")
    del two
    step("session 2 ended")
    del data
    step("models' bytes dropped by the benchmark")
    base, moved_on = rows[0][1], rows[-1][1]
    # Diagnostics: what the process-wide caches still hold once no session needs it.
    from inspector.frontends.onnx import runtime

    sessions = len(runtime._SESSIONS)
    runtime._SESSIONS.clear()
    step(f"diagnostic: onnxruntime session cache cleared ({sessions} sessions)")
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    step("diagnostic: Streamlit caches cleared")
    print(f"\nheld after both sessions moved on: {moved_on - base:+.0f} MB over the start; "
          f"after the diagnostics: {rows[-1][1] - base:+.0f} MB; "
          f"peak {max(r[2] for r in rows):.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
