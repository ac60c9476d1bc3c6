"""Other tools' batch-norm folding, counted: how many BN layers each one leaves.

Peers (what was measured with torch 2.14, onnxscript 0.7, onnxruntime 1.32):

* ``torch.fx.experimental.optimization.fuse``: symbolic trace, then fuses
  ``Conv{1,2,3}d -> BatchNorm{1,2,3}d`` and ``Linear -> BatchNorm1d`` when the
  conv/linear output has no other user (exact class match: subclasses such as
  timm's ``BatchNormAct2d`` are skipped). Fails on graphs fx cannot trace.
  It does not check that the conv's weights are used elsewhere: a conv module
  called twice is rescaled for both calls (wrong output, caught by ``check``).
* ``torch.onnx.export``: the default (``dynamo=True``) exporter runs the
  onnxscript optimizer, whose rewrite rules fuse BN into a preceding
  Conv / ConvTranspose / Gemm. The legacy TorchScript exporter
  (``dynamo=False``, deprecated but still present) fuses Conv+BN in eval mode
  when ``do_constant_folding=True`` (its default).
* ``onnxoptimizer`` ``fuse_bn_into_conv``: Conv -> BN only; the folded
  parameters are emitted as arithmetic nodes (a later constant folding pass
  would fold them), so only BatchNormalization nodes are counted.
* onnxruntime at ``ORT_ENABLE_EXTENDED``: the optimized graph is saved
  (``optimized_model_filepath``) and its BatchNormalization nodes counted. At
  ``ORT_ENABLE_ALL`` the NCHWc transformer turns a BN it cannot fuse into an
  ``nchwc`` Conv (a 1x1 depthwise conv) rather than removing it.

The ONNX peers receive a model with every BN still present
(:func:`export_onnx_unfolded`: the dynamo exporter's optimizer minus its BN
fusion rules). :func:`run_peers` returns, per tool, a :class:`PeerCount`: the
number of BN layers left (``None`` when the tool failed, with the reason), the
seconds taken and the error of the tool's output model against the original.
"""

from __future__ import annotations

import copy
import io
import os
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from ..errors import first_line

#: Column names used by the benchmarks, in display order.
PEERS = ("fx_fuse", "onnx_dynamo", "onnx_legacy", "onnxoptimizer", "onnxruntime")
ORT_LEVELS = ("basic", "extended", "all")


@dataclass(frozen=True)
class PeerCount:
    """BN layers ``left`` by ``tool`` (None: the tool failed, see ``reason``) and,
    when checked, the max relative error of the tool's output model."""

    tool: str
    left: int | None
    reason: str = ""
    seconds: float = 0.0
    rel_error: float | None = None


# -- counting ----------------------------------------------------------------
def count_bn_torch(module: Any) -> int:
    """BN layers in a torch module. For an ``fx.GraphModule``: the BN calls in
    its graph (module calls plus ``batch_norm`` functions); otherwise the BN
    submodules."""
    import torch

    from ..frontends.pytorch.capture import is_bn_module

    if isinstance(module, torch.fx.GraphModule):
        mods = dict(module.named_modules())
        n = 0
        for node in module.graph.nodes:
            if node.op == "call_module" and is_bn_module(mods.get(node.target)):
                n += 1
            elif node.op == "call_function" and "batch_norm" in getattr(node.target, "__name__", ""):
                n += 1
        return n
    return sum(is_bn_module(m) for m in module.modules())


def count_bn_onnx(model: Any) -> int:
    """BatchNormalization nodes in an ONNX ``ModelProto`` (graph and functions)."""
    graphs = [model.graph, *model.functions]
    return sum(n.op_type == "BatchNormalization" for g in graphs for n in g.node)


# -- PyTorch peers -------------------------------------------------------------
def export_onnx(module: Any, example: Any, *, dynamo: bool = True, optimize: bool = True) -> Any:
    """``torch.onnx.export`` of ``module`` on ``example`` -> ``onnx.ModelProto``.

    ``dynamo=False`` uses the legacy TorchScript exporter (constant folding on:
    its eval-mode Conv+BN fusion applies); ``optimize`` only affects dynamo.
    """
    import onnx
    import torch

    args = example if isinstance(example, tuple) else (example,)
    module = copy.deepcopy(module).eval() if module.training else module
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if dynamo:
            prog = torch.onnx.export(module, args, dynamo=True, optimize=optimize, verbose=False)
            return prog.model_proto
        buf = io.BytesIO()
        torch.onnx.export(module, args, buf, dynamo=False, do_constant_folding=True)
        return onnx.load_from_string(buf.getvalue())


def unfold_optimize(raw: Any) -> Any:
    """The dynamo exporter's optimizer (constant folding + default rewrite rules)
    without its BN fusion rules, on an unoptimized export; returns a new proto.

    The rule list is private onnxscript API (0.7); if it moves, only constant
    folding runs (BNs are kept either way).
    """
    import onnx_ir as ir
    import onnx_ir.passes.common as passes
    import onnxscript.optimizer as oo
    from onnxscript import rewriter

    try:
        from onnxscript.rewriter.rules.common import _fuse_batchnorm

        bn_rules = set(_fuse_batchnorm.rules.rules)
        keep = [r for r in rewriter._DEFAULT_REWRITE_RULES if r not in bn_rules]
    except (ImportError, AttributeError):
        keep = []
    model = ir.serde.deserialize_model(raw)
    passes.InlinePass()(model)
    for _ in range(2):
        oo.fold_constants(model)
        if keep:
            rewriter.RewritePass(keep)(model)
    ir.passes.Sequential(
        passes.RemoveUnusedNodesPass(),
        passes.LiftConstantsToInitializersPass(lift_all_constants=True, size_limit=0),
        passes.DeduplicateInitializersPass(),
    )(model)
    return ir.serde.serialize_model(model)


def export_onnx_unfolded(module: Any, example: Any) -> Any:
    """An ONNX export that keeps every BN (clean otherwise: constants folded)."""
    return unfold_optimize(export_onnx(module, example, optimize=False))


# -- ONNX peers ----------------------------------------------------------------
def ort_optimized(model: Any, level: str = "extended") -> Any:
    """The graph onnxruntime (CPU) runs at ``level``, read back from
    ``optimized_model_filepath``."""
    import onnx

    from ..frontends.onnx.runtime import make_session

    if level not in ORT_LEVELS:
        raise ValueError(f"unknown onnxruntime level {level!r}; use one of {ORT_LEVELS}")
    with tempfile.TemporaryDirectory(prefix="bnfold-ort-") as tmp:
        out = os.path.join(tmp, "optimized.onnx")
        make_session(model, level, threads=1, optimized_path=out)
        if not os.path.exists(out):
            raise RuntimeError("onnxruntime did not save the optimized model")
        return onnx.load(out)


# -- all peers at once ---------------------------------------------------------
def run_peers(module: Any, example: Any, *, legacy: bool = True, ort_all: bool = False,
              check: bool = True) -> dict[str, PeerCount]:
    """Every peer on one torch model, exporting to ONNX once.

    Keys: :data:`PEERS` plus ``"onnx_input"`` (the model the ONNX peers
    receive: its BN count must equal the torch count) and, with ``ort_all``,
    ``"onnxruntime_all"`` (BNs left at ``ORT_ENABLE_ALL``; the reason says how
    many the NCHWc transformer turned into convs instead). With ``check``,
    each tool's output model is run on ``example`` and ``rel_error`` is its
    max error relative to the original module's output range.
    """
    import onnxscript.optimizer as oo

    args = example if isinstance(example, tuple) else (example,)
    ref = run_model(module, args) if check else None
    m = partial(_measure, ref=ref, args=args)
    out = {"fx_fuse": m("fx_fuse", lambda: fuse_fx(module))[0]}
    out["onnx_dynamo"], raw = m("onnx_dynamo", lambda: export_onnx(module, example, optimize=False),
                                after=lambda r: oo.optimize(copy.deepcopy(r)))
    out["onnx_legacy"] = (m("onnx_legacy", lambda: export_onnx(module, example, dynamo=False))[0] if legacy
                          else PeerCount("onnx_legacy", None, "not run"))
    if raw is None:
        why = f"no ONNX export: {out['onnx_dynamo'].reason}"
        return {**out, **{t: PeerCount(t, None, why) for t in ("onnx_input", "onnxoptimizer", "onnxruntime")}}
    out["onnx_input"], proto = m("onnx_input", lambda: unfold_optimize(raw))
    if proto is None:
        why = f"no unfolded ONNX: {out['onnx_input'].reason}"
        return {**out, **{t: PeerCount(t, None, why) for t in ("onnxoptimizer", "onnxruntime")}}
    import onnxoptimizer

    out["onnxoptimizer"] = m("onnxoptimizer", lambda: onnxoptimizer.optimize(proto, ["fuse_bn_into_conv"]))[0]
    out["onnxruntime"] = m("onnxruntime", lambda: ort_optimized(proto))[0]
    if ort_all:
        full = _measure("onnxruntime_all", lambda: ort_optimized(proto, "all"))[0]
        ext = out["onnxruntime"].left
        if full.left is not None and ext is not None:
            full = replace(full, reason=f"{ext - full.left} BN turned into NCHWc Conv")
        out["onnxruntime_all"] = full
    return out


def fuse_fx(module: Any) -> Any:
    """``torch.fx.experimental.optimization.fuse`` on an eval-mode copy."""
    from torch.fx.experimental.optimization import fuse

    return fuse(copy.deepcopy(module).eval(), inplace=True)


def run_model(model: Any, args: tuple) -> list[Any]:
    """Outputs (numpy) of a torch module, or of an ONNX proto with onnxruntime
    at ``ORT_DISABLE_ALL`` (so the graph runs as given)."""
    import numpy as np

    arrays = [np.ascontiguousarray(a.detach().cpu().numpy()) if hasattr(a, "detach") else a for a in args]
    if hasattr(model, "SerializeToString"):
        from ..frontends.onnx.runtime import make_session

        sess = make_session(model)
        return sess.run(None, {i.name: a for i, a in zip(sess.get_inputs(), arrays)})
    import torch

    with torch.no_grad():
        out = model(*[torch.from_numpy(a) for a in arrays])
    return [t.detach().cpu().numpy() for t in torch.utils._pytree.tree_leaves(out) if isinstance(t, torch.Tensor)]


def rel_error(reference: list[Any], outputs: list[Any]) -> float:
    """max |y - y'| / max |y| over paired outputs (inf on a shape mismatch)."""
    import numpy as np

    if len(reference) != len(outputs):
        return float("inf")
    worst = 0.0
    for y, z in zip(reference, outputs):
        y, z = np.asarray(y, np.float64), np.asarray(z, np.float64)
        if y.shape != z.shape:
            return float("inf")
        if y.size:
            worst = max(worst, float(np.max(np.abs(y - z))) / max(float(np.max(np.abs(y))), 1e-12))
    return worst


def _measure(tool: str, make: Callable[[], Any], *, after: Callable[[Any], Any] | None = None,
             ref: list[Any] | None = None, args: tuple = ()) -> tuple[PeerCount, Any]:
    """Run one peer: ``make()`` builds a model, ``after`` (optional) derives the
    tool's output from it. Returns the count record and ``make()``'s model;
    any exception becomes ``left=None`` with a one-line reason."""
    t0 = time.perf_counter()
    try:
        built = make()
        result = after(built) if after else built
        left = count_bn_onnx(result) if hasattr(result, "graph") and hasattr(result, "opset_import") \
            else count_bn_torch(result)
    except Exception as e:  # a peer failing is a measured result, not a crash
        return PeerCount(tool, None, first_line(e, 200, with_type=True), time.perf_counter() - t0), None
    seconds = time.perf_counter() - t0
    err = None
    if ref is not None:
        try:
            err = rel_error(ref, run_model(result, args))
        except Exception as e:  # the tool's output does not even run
            return PeerCount(tool, left, f"output does not run: {first_line(e, 200, with_type=True)}", seconds, float("inf")), built
    return PeerCount(tool, left, "", seconds, err), built


