"""One onnxruntime run in a child process whose memory is bounded (``RLIMIT_AS``).

Sizes are refused before anything is allocated where they can be estimated
(``sizes``, ``inference``); where they cannot (a size computed by TopK or Cast,
Resize scales, a ``com.microsoft`` op, tensors inside If/Loop bodies),
onnxruntime would build the tensor before any check: a 2 KB file could take
gigabytes. :func:`probe_run` runs the model once in a fresh interpreter limited
to a memory budget, and returns only the shapes and dtypes of its outputs; the
caller checks them against the cap. The child reads the model and inputs from
a pipe (nothing is written to disk) and its log never reaches the terminal.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ...errors import ResourceLimitError
from ...limits import mb

#: Seconds the child may run before the model is refused.
TIMEOUT_S = 600.0
#: Address space the child may use beyond what it holds once onnxruntime is imported,
#: besides the model's size and the tensor cap (the allocator's and threads' overhead).
OVERHEAD = 512 * 2**20

_CHILD = r"""
import io, json, struct, sys
try:
    import resource
except ImportError:  # Windows
    resource = None
data = sys.stdin.buffer.read()
n = struct.unpack("<Q", data[:8])[0]
model, feed_bytes = data[8:8 + n], data[8 + n:]
del data
import numpy as np
import onnxruntime as ort
feed = dict(np.load(io.BytesIO(feed_bytes), allow_pickle=False))
try:  # Linux: the address space in use now, plus the budget
    vm = next(int(x.split()[1]) * 1024 for x in open("/proc/self/status") if x.startswith("VmSize:"))
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = vm + int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (limit if hard < 0 else min(limit, hard), hard))
except (OSError, ValueError, StopIteration, AttributeError):
    pass  # no /proc (macOS): RLIMIT_AS is not enforced there anyway
def memory(text):
    return any(k in text.lower() for k in ("alloc", "memory", "bad_array_new_length"))
try:
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.log_severity_level = 4
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    opts.enable_cpu_mem_arena = False  # freed tensors are given back: the limit is the peak
    opts.enable_mem_pattern = False
    session = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    del model
    values = session.run(None, feed)
    rows = [[o.name, list(v.shape), v.dtype.name] if isinstance(v, np.ndarray) else [o.name, None, None]
            for o, v in zip(session.get_outputs(), values)]
    out = {"outputs": rows}
except MemoryError:
    out = {"error": "out of memory", "memory": True}
except Exception as e:
    text = str(e).strip() or type(e).__name__
    out = {"error": text, "memory": memory(text)}
sys.stdout.write(json.dumps(out))
"""


@dataclass(frozen=True)
class ProbeResult:
    """Shapes and dtypes by output name (None for sequences/maps), or the reason the run failed."""

    shapes: dict[str, tuple[int, ...] | None]
    dtypes: dict[str, str]
    error: str = ""


def budget_for(model_bytes: int, cap: int) -> int:
    """The child's memory budget: three copies of the model (bytes, parsed, weights),
    two tensors at the cap, and :data:`OVERHEAD`."""
    return 3 * model_bytes + 2 * cap + OVERHEAD


def probe_run(model: bytes, feed: Mapping[str, np.ndarray], budget: int, label: str) -> ProbeResult:
    """Run serialised ONNX ``model`` on ``feed`` in a child limited to ``budget`` bytes
    more than it needs to start. Raises ResourceLimitError (one line) when the run
    needs more memory or more than :data:`TIMEOUT_S` seconds; any other failure is
    returned as ``error`` (its first line)."""
    feed_buf = io.BytesIO()
    np.savez(feed_buf, **{k: np.asarray(v) for k, v in feed.items()})
    payload = struct.pack("<Q", len(model)) + model + feed_buf.getvalue()
    env = {**os.environ, "MALLOC_ARENA_MAX": "2", "OMP_NUM_THREADS": "1"}
    try:
        r = subprocess.run([sys.executable, "-I", "-c", _CHILD, str(int(budget))], input=payload,
                           capture_output=True, timeout=TIMEOUT_S, env=env, check=False)
    except subprocess.TimeoutExpired as e:
        raise ResourceLimitError(
            f"'{label}': running the model once to find its tensor shapes took more than "
            f"{TIMEOUT_S:.0f} s; it is refused. To fix this, check its Loop/Scan nodes.") from e
    too_big = ResourceLimitError(
        f"'{label}': running the model once to find its tensor shapes needed more than "
        f"{mb(budget)} MB: a tensor whose size cannot be estimated before it is built (from "
        "TopK, Cast, Resize, a com.microsoft op or an If/Loop body) is too large. To fix "
        "this, check the model or raise --max-tensor-mb (library: max_tensor_mb=...).")
    try:
        out = json.loads(r.stdout.decode("utf-8", "replace") or "null")
    except ValueError:
        out = None
    if not isinstance(out, dict):  # killed or aborted: std::bad_alloc ends in abort()
        if r.returncode < 0 or b"alloc" in r.stderr or b"MemoryError" in r.stderr:
            raise too_big
        line = next((x for x in r.stderr.decode("utf-8", "replace").splitlines() if x.strip()), "")
        return ProbeResult({}, {}, line.strip()[:300] or f"exit status {r.returncode}")
    if out.get("memory"):
        raise too_big
    if "error" in out:
        return ProbeResult({}, {}, str(out["error"]).strip().splitlines()[0][:300])
    shapes = {n: (tuple(s) if s is not None else None) for n, s, _ in out["outputs"]}
    dtypes = {n: d for n, _, d in out["outputs"] if d}
    return ProbeResult(shapes, dtypes)
