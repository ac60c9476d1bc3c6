"""Write a folded IR back into a PyTorch model (always on a copy).

Two strategies, chosen per call:

* **module surgery** (``nn.Module`` input, the common case): deep-copy the
  user's module, copy every changed parameter into its state-dict entry (in the
  model dtype), create missing ``bias`` / BN affine parameters on their owning
  ``Conv*`` / ``Linear`` / ``_BatchNorm`` module, and swap each removed BN
  module for ``nn.Identity`` (timm ``BatchNormAct2d`` for
  ``nn.Sequential(drop, act)``). The result keeps the user's classes.
* **graph surgery** (``.pt2`` input, functional ``F.batch_norm``, parameters
  that are computed constants, a BN module called several times but not removed
  at every call): work on a copy of the captured ``GraphModule``
  (``ExportedProgram.module()`` or the ``symbolic_trace`` fallback), rewire the
  users of each removed BN to its input and point rewritten ops at fresh
  attributes. The result is a ``GraphModule`` that ``torch.export`` can
  re-export (this is how a folded ``.pt2`` is saved).

Merged regions (``reparam`` mode, DESIGN §3.7) always take the graph-surgery
path: replacing several parallel branches by one convolution changes the
topology of the network, and a module's ``forward`` is Python code that cannot
be rewired, so module surgery is impossible there. Each region's FX nodes are
dropped and one ``aten.convolution`` call on fresh buffers computes the
region's output from its input (preceded by ``aten.constant_pad_nd`` when the
merged padding is asymmetric). The result is a ``GraphModule``; it runs, saves
as ``.pt2`` and exports to ONNX like any other folded model, but it no longer
has the user's module classes.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ...errors import UnsupportedModelError
from ...ir import Graph
from ...model import LoadedModel
from .capture import is_bn_module, op_name
from .identities import drop_identities
from .ops import BATCH_NORMS
from .optypes import StorageTransform
from .records import PROVENANCE, TorchCapture

#: A ``folding.merge.MergeStep`` (typed loosely: frontends do not import the folding layer).
MergeStep = Any

_ARG_POS = {
    **{k: {"weight": 1, "bias": 2} for k in ("conv1d", "conv2d", "conv3d", "convolution",
                                            "_convolution", "conv_transpose1d",
                                            "conv_transpose2d", "conv_transpose3d", "linear")},
    **{k: {"gamma": 1, "beta": 2, "mean": 3, "var": 4} for k in BATCH_NORMS},
}


@dataclass
class _Write:
    """One param to write: IR node, param name, new value, storage key, transform."""

    node: str
    param: str
    value: np.ndarray
    key: str | None
    transform: StorageTransform


def _record(loaded: LoadedModel) -> TorchCapture:
    rec = loaded.capture
    if not isinstance(rec, TorchCapture):
        raise UnsupportedModelError(f"{loaded.name}: not captured by the PyTorch frontend. "
                                    "To fix this, load it with inspector.frontends.pytorch.")
    return rec


def collect_writes(loaded: LoadedModel, folded: Graph, changed: Sequence[str]) -> list[_Write]:
    """The params of ``changed`` nodes that differ from the loaded graph."""
    transforms = _record(loaded).transforms
    out = []
    for nid in changed:
        orig, new = loaded.graph.node(nid), folded.node(nid)
        for pname, value in new.params.items():
            old = orig.params.get(pname)
            if old is not None and old.shape == np.shape(value) and np.array_equal(old, value):
                continue
            key = orig.param_keys.get(pname) or new.param_keys.get(pname)
            out.append(_Write(nid, pname, np.asarray(value, np.float64), key,
                              transforms.get(nid, {}).get(pname, StorageTransform.SAME)))
    return out


def _to_storage(value: np.ndarray, transform: StorageTransform, shape: torch.Size) -> np.ndarray:
    return np.ascontiguousarray(transform.apply(value)).reshape(tuple(shape))


def _state_tensor(model: nn.Module, key: str) -> torch.Tensor | None:
    owner, _, leaf = key.rpartition(".")
    try:
        value = getattr(model.get_submodule(owner), leaf)
    except AttributeError:
        return None
    return value if isinstance(value, torch.Tensor) else None


def _owner(loaded: LoadedModel, model: nn.Module, nid: str) -> nn.Module | None:
    rec = _record(loaded).modules.get(nid)
    if rec is None:
        return None
    try:
        return model.get_submodule(rec.fqn)
    except AttributeError:
        return None


def _can_create(module: nn.Module | None, param: str) -> bool:
    if param == "bias":
        if isinstance(module, (nn.modules.conv._ConvNd, nn.Linear)):
            return module.bias is None
    if param in ("gamma", "beta") and isinstance(module, nn.modules.batchnorm._BatchNorm):
        return module.weight is None
    return False


def _create(module: nn.Module, w: _Write) -> None:
    if w.param == "bias" and not isinstance(module, nn.modules.batchnorm._BatchNorm):
        module.bias = nn.Parameter(torch.as_tensor(w.value, dtype=module.weight.dtype))
        return
    if module.weight is None:  # BN with affine=False: give it affine parameters
        n = module.num_features
        module.weight = nn.Parameter(torch.ones(n, dtype=module.running_mean.dtype))
        module.bias = nn.Parameter(torch.zeros(n, dtype=module.running_mean.dtype))
        module.affine = True
    target = module.weight if w.param == "gamma" else module.bias
    with torch.no_grad():
        target.copy_(torch.as_tensor(w.value, dtype=target.dtype))


def _assign(model: nn.Module, w: _Write) -> bool:
    """Copy a write into existing storage; False if there is none."""
    if not w.key or w.key.startswith("const:"):
        return False
    t = _state_tensor(model, w.key)
    if t is None or t.numel() != w.value.size:
        return False
    with torch.no_grad():
        t.copy_(torch.as_tensor(_to_storage(w.value, w.transform, t.shape), dtype=t.dtype))
    return True


def _bn_replacement(loaded: LoadedModel, model: nn.Module, nid: str,
                    removed: set[str]) -> nn.Module | None:
    """Module replacing a removed BN module, or None when module surgery cannot."""
    capture = _record(loaded)
    rec = capture.modules.get(nid)
    module = _owner(loaded, model, nid)
    if rec is None or module is None or loaded.graph.node(nid).op != "batch_norm":
        return None
    calls = [i for i, r in capture.modules.items() if r.fqn == rec.fqn]
    if not set(calls) <= removed or len(calls) != capture.calls.get(rec.fqn, 0):
        return None
    if not is_bn_module(module) or rec.size != 1:  # a subclass doing more than BN: keep it
        return None
    children = set(dict(module.named_children()))
    if children == {"drop", "act"}:
        return nn.Sequential(module.drop, module.act)  # timm BatchNormAct2d & co
    return None if children else nn.Identity()


def _has_storage(model: nn.Module, w: _Write) -> bool:
    t = _state_tensor(model, w.key) if w.key and not w.key.startswith("const:") else None
    return t is not None and t.numel() == w.value.size


def _module_surgery_ok(loaded: LoadedModel, writes: list[_Write], removed: set[str]) -> bool:
    model = loaded.model
    if not isinstance(model, nn.Module):
        return False
    for w in writes:
        if not _has_storage(model, w) and not _can_create(_owner(loaded, model, w.node), w.param):
            return False
    return all(_bn_replacement(loaded, model, nid, removed) is not None for nid in removed)


def _module_surgery(loaded: LoadedModel, writes: list[_Write], removed: set[str]) -> nn.Module:
    model = copy.deepcopy(loaded.model).eval()
    for w in writes:
        if not _assign(model, w):
            _create(_owner(loaded, model, w.node), w)
    modules = _record(loaded).modules
    replacements = {modules[nid].fqn: _bn_replacement(loaded, model, nid, removed)
                    for nid in removed}
    for fqn, replacement in replacements.items():
        if not fqn:
            return replacement
        parent, _, child = fqn.rpartition(".")
        setattr(model.get_submodule(parent), child, replacement)
    if _input_is_shared(loaded, removed):
        _disable_inplace(model)
    return model


def _input_is_shared(loaded: LoadedModel, removed: set[str]) -> bool:
    """Does a removed BN read a tensor that something else reads too?"""
    graph = loaded.graph
    return any(len(graph.consumers(graph.node(nid).inputs[0])) > 1 for nid in removed)


def _disable_inplace(model: nn.Module) -> None:
    """A BN made a fresh tensor, so an in-place op after it was safe; once the BN
    is an identity that op would overwrite the BN's input, which another consumer
    (a pre-activation shortcut, a leaf) still reads. In-place is only an
    optimisation, so switch it off."""
    for sub in model.modules():
        if isinstance(getattr(sub, "inplace", None), bool):
            sub.inplace = False


# -- graph surgery -------------------------------------------------------------
class _GraphEditor:
    def __init__(self, loaded: LoadedModel) -> None:
        self.gm = copy.deepcopy(_record(loaded).graph_module())
        self.loaded = loaded
        self.dtype = getattr(torch, loaded.graph.dtype, torch.float32)
        self.fx = {n.name: n for n in self.gm.graph.nodes}
        for n in self.gm.graph.nodes:  # provenance for verification: new nodes get their own
            n.meta[PROVENANCE] = n.name
        # ``ExportedProgram.module()`` may rename placeholders: match inputs by position.
        placeholders = [n for n in self.gm.graph.nodes if n.op == "placeholder"]
        graph_inputs = [n.id for n in loaded.graph.nodes if n.op == "input"]
        if len(placeholders) == len(graph_inputs):
            self.fx.update(zip(graph_inputs, placeholders))
        self.count = 0
        self.bypassed: dict[str, str] = {}

    def attr(self, value: np.ndarray, before: torch.fx.Node) -> torch.fx.Node:
        self.count += 1
        name = f"_bnfold_{self.count}"
        while hasattr(self.gm, name):
            name += "_"
        self.gm.register_buffer(name, torch.as_tensor(np.ascontiguousarray(value), dtype=self.dtype))
        with self.gm.graph.inserting_before(before):
            return self.gm.graph.get_attr(name)

    def rewrite(self, nid: str, writes: list[_Write]) -> None:
        fxn = self.node(nid)
        ir = self.loaded.graph.node(nid)
        if fxn.op == "call_module":
            module = self.gm.get_submodule(fxn.target)
            if not all(_can_create(module, w.param) for w in writes):
                raise self.error(nid)
            for w in writes:
                _create(module, w)
            return
        pos = _ARG_POS.get(op_name(fxn.target))
        if pos is not None and all(w.param in pos for w in writes):
            args = list(fxn.args)
            for w in writes:
                args += [None] * (pos[w.param] + 1 - len(args))
                args[pos[w.param]] = self.attr(w.value, fxn)
            fxn.args = tuple(args)
            return
        params = {**ir.params, **{w.param: w.value for w in writes}}
        x = self.node(ir.inputs[0])
        aten = torch.ops.aten
        with self.gm.graph.inserting_after(fxn):
            if ir.op == "linear":
                bias = params.get("bias")
                new = self.gm.graph.call_function(aten.linear.default, (
                    x, self.attr(params["weight"], fxn),
                    self.attr(bias, fxn) if bias is not None else None))
            elif ir.op == "affine":
                rank = len(self.loaded.graph.shape(ir.inputs[0]))
                shape = (-1,) + (1,) * (rank - 2)
                scale = self.attr(params["scale"].reshape(shape), fxn)
                shift = self.attr(params["shift"].reshape(shape), fxn)
                mul = self.gm.graph.call_function(aten.mul.Tensor, (x, scale))
                with self.gm.graph.inserting_after(mul):
                    new = self.gm.graph.call_function(aten.add.Tensor, (mul, shift))
            else:
                raise self.error(nid)
        new.meta[PROVENANCE] = fxn.meta.pop(PROVENANCE, fxn.name)
        fxn.replace_all_uses_with(new, delete_user_cb=lambda u: u is not new)

    def bypass(self, nid: str) -> None:
        """Users of the BN's output read its input (through earlier bypasses)."""
        ir = self.loaded.graph.node(nid)
        src = ir.inputs[0]
        while src in self.bypassed:
            src = self.bypassed[src]
        self.node(ir.outputs[0]).replace_all_uses_with(self.node(src))
        self.bypassed[ir.outputs[0]] = src

    def merge(self, step: MergeStep, folded: Graph) -> None:
        """Replace a merged region by one convolution reading its (bypass-resolved) input."""
        conv = folded.node(step.conv_id)
        src = step.input
        while src in self.bypassed:
            src = self.bypassed[src]
        x, y = self.node(src), self.node(step.output)
        if conv.op == "linear":  # parallel heads on an (N, C) tensor: one linear
            return self._replace(step, y, torch.ops.aten.linear.default,
                                 (x, self.attr(conv.params["weight"], y), self.attr(conv.params["bias"], y)))
        attrs = conv.attrs
        nd = len(attrs["padding"])
        stride = [int(v) for v in attrs.get("stride", [1] * nd)]
        dilation = [int(v) for v in attrs.get("dilation", [1] * nd)]
        pads = _symmetric_padding(attrs["padding"], self.loaded.graph.shape(step.input),
                                  conv.params["weight"].shape[2:], stride, dilation)
        aten = torch.ops.aten
        graph = self.gm.graph
        weight = self.attr(conv.params["weight"], y)
        bias = conv.params.get("bias")
        bias_node = self.attr(bias, y) if bias is not None else None
        with graph.inserting_before(y):
            if any(b != e for b, e in pads):
                # F.pad order: last spatial axis first, (begin, end) per axis.
                flat = [v for b, e in reversed(pads) for v in (b, e)]
                x = graph.call_function(aten.constant_pad_nd.default, (x, flat, 0.0))
                padding = [0] * nd
            else:
                padding = [b for b, _ in pads]
            new = graph.call_function(aten.convolution.default, (
                x, weight, bias_node, stride, padding, dilation, False, [0] * nd,
                int(attrs.get("groups", 1))))
        self._replace(step, y, new)

    def _replace(self, step: MergeStep, y: torch.fx.Node, new: Any, args: tuple = ()) -> None:
        """``new`` (a node, or an op to call on ``args`` before ``y``) takes ``y``'s users;
        the region's nodes go."""
        if args:
            with self.gm.graph.inserting_before(y):
                new = self.gm.graph.call_function(new, args)
        new.meta[PROVENANCE] = step.output  # the region's output, computed by one op
        y.meta.pop(PROVENANCE, None)
        y.replace_all_uses_with(new)
        self.drop(step)

    def drop(self, step: MergeStep) -> None:
        """Erase the region's FX nodes (in-place adds count as side effects for
        ``eliminate_dead_code``, so they are removed explicitly once unused)."""
        ir = self.loaded.graph
        names = {t for nid in step.nodes for t in (nid, *ir.node(nid).outputs)}
        doomed = [self.fx[n] for n in names if n in self.fx]
        while doomed:
            unused = [n for n in doomed if not n.users]
            if not unused:
                break
            for n in unused:
                self.gm.graph.erase_node(n)
            doomed = [n for n in doomed if n not in unused]

    def node(self, name: str) -> torch.fx.Node:
        if name not in self.fx:
            raise UnsupportedModelError(
                f"{self.loaded.name}: node {name!r} is not in the captured graph module. "
                "To fix this, reload the model and fold again.")
        return self.fx[name]

    def error(self, nid: str) -> UnsupportedModelError:
        return UnsupportedModelError(
            f"cannot write folded parameters of {self.loaded.graph.node(nid).label} back "
            "into the PyTorch model. To fix this, register the parameter on a module "
            "(nn.Parameter / buffer) instead of computing it in forward().")

    def finish(self) -> torch.fx.GraphModule:
        self.gm.graph.eliminate_dead_code()
        self.gm.graph.lint()
        self.gm.recompile()
        self.gm.training = False
        return self.gm


def _symmetric_padding(padding: Sequence[Sequence[int]], in_shape: Sequence[int] | None,
                       kernel: Sequence[int], stride: Sequence[int],
                       dilation: Sequence[int]) -> list[tuple[int, int]]:
    """``padding`` with each axis's end set to its begin when that keeps the output size.

    The begin padding fixes which inputs every window reads; the end padding only
    decides how many windows fit. With the same output size the last window reads
    the same positions, so the conv is the same and needs no separate pad op (a
    strided merge often gets an end padding one short of its begin)."""
    pads = [(int(b), int(e)) for b, e in padding]
    if in_shape is None or len(in_shape) != len(pads) + 2:
        return pads
    out = []
    for (b, e), size, k, s, d in zip(pads, in_shape[2:], kernel, stride, dilation):
        span = size + b - d * (k - 1) - 1  # output size is (span + end) // s + 1
        out.append((b, b) if (span + b) // s == (span + e) // s else (b, e))
    return out


def _graph_surgery(loaded: LoadedModel, writes: list[_Write], removed: set[str],
                   merges: Sequence[MergeStep] = (), folded: Graph | None = None) -> nn.Module:
    if _record(loaded).graph_module() is None:
        raise UnsupportedModelError(f"{loaded.name}: no captured graph to edit.")
    ed = _GraphEditor(loaded)
    pending: dict[str, list[_Write]] = {}
    for w in writes:
        if not _assign(ed.gm, w):
            pending.setdefault(w.node, []).append(w)
    for nid, ws in pending.items():
        ed.rewrite(nid, ws)
    for node in loaded.graph.nodes:  # topological order, so chains of BNs resolve
        if node.id in removed:
            ed.bypass(node.id)
    # After the bypasses: a region may read a bypassed BN's output, and a bypassed
    # BN's users may read the region's output (replaced below, users included).
    for step in merges:
        ed.merge(step, folded)
    gm = ed.finish()
    if drop_identities(gm):  # x + 0, x * 1 ...: nothing to deploy (issue 15.2)
        gm.graph.lint()
        gm.recompile()
    if merges:  # the merged branches' own weights are unused now: do not carry them
        gm.delete_all_unused_submodules()
        _drop_unused_params(gm)
    return gm


def _drop_unused_params(gm: torch.fx.GraphModule) -> None:
    """Delete parameters and buffers that no ``get_attr`` node reads and no called
    submodule owns."""
    used = {n.target for n in gm.graph.nodes if n.op == "get_attr"}
    called = tuple(f"{n.target}." for n in gm.graph.nodes if n.op == "call_module")
    for name in [k for k, _ in (*gm.named_parameters(), *gm.named_buffers())]:
        if name not in used and not name.startswith(called):
            owner, _, leaf = name.rpartition(".")
            delattr(gm.get_submodule(owner) if owner else gm, leaf)


def write_back(loaded: LoadedModel, folded: Graph, removed: Sequence[str],
               changed: Sequence[str], merges: Sequence[MergeStep] = ()) -> nn.Module:
    """New model with ``changed`` params written, ``removed`` BNs bypassed and each
    merged region replaced by one convolution (``folded.node(step.conv_id)``).

    Nodes inside merged regions are skipped in ``removed``/``changed``: the region
    disappears as a whole. With merges the result is always a ``GraphModule``."""
    inside = {nid for step in merges for nid in step.nodes}
    changed = [nid for nid in changed if nid not in inside]
    writes = collect_writes(loaded, folded, changed)
    removed_set = set(removed) - inside
    if not merges and _module_surgery_ok(loaded, writes, removed_set):
        return _module_surgery(loaded, writes, removed_set)
    return _graph_surgery(loaded, writes, removed_set, merges, folded)

