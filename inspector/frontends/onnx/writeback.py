"""Write a folded IR back into a copy of an ONNX model.

Write-back contract (see ``Frontend.write_back``): parameters of the changed
nodes are written in the initializer's dtype; an initializer is edited in place
only when every reader gets the same new value, otherwise the changed node gets
a fresh initializer. Removed BNs disappear and their readers read the BN input;
a BN output that is a graph output keeps its name (the node producing the BN's
input is renamed to produce it, else an ``Identity`` stays). Identity arithmetic
(``x + 0``, ``x * 1``, renaming ``Identity`` nodes) is left out (``identities``).
A merged region (``merges``, mode ``reparam``) loses all its ONNX nodes and one
``Conv`` computes its output tensor (same name) from its input tensor.
Initializers and constant nodes that become unused are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ...errors import InspectorError
from ...ir import Graph, Node
from ...model import LoadedModel
from .capture import OnnxCapture, storage_name
from .identities import drop_identities

__all__ = ["write_back"]

_PARAM_INPUTS = {"conv": {"weight": 1, "bias": 2}, "conv_transpose": {"weight": 1, "bias": 2},
                 "batch_norm": {"gamma": 1, "beta": 2, "mean": 3, "var": 4}}


def write_back(loaded: LoadedModel, folded: Graph, removed: Sequence[str],
               changed: Sequence[str], merges: Sequence[Any] = ()) -> onnx.ModelProto:
    """A new ModelProto with the changed params written, the removed BNs bypassed and
    each merged region (``folding.merge.MergeStep``) replaced by one ``Conv`` whose
    params are ``folded.node(step.conv_id).params``. Ids of ``removed``/``changed``
    inside a merged region are skipped (the region's nodes are all dropped)."""
    merged = {nid for m in merges for nid in m.nodes}
    unknown = [i for i in (*changed, *removed, *merged) if not loaded.graph.has_node(i)]
    if unknown:
        raise InspectorError(f"write_back got node ids {unknown} that are not in the loaded "
                             "graph. To fix this, pass ids of nodes of loaded.graph.")
    ed = _Editor(loaded)
    gone = set(removed) | merged
    for nid in changed:
        if nid not in gone:
            ed.change(loaded.graph.node(nid), folded.node(nid))
    for nid in removed:
        if nid not in merged:
            ed.remove(loaded.graph.node(nid))
    for m in merges:
        ed.merge(m, folded.node(m.conv_id))
    return ed.finish()


class _Editor:
    """Collects edits on a deep copy of ``loaded.model`` and applies them at once."""

    def __init__(self, loaded: LoadedModel) -> None:
        self.loaded = loaded
        self.model = onnx.ModelProto()
        self.model.CopyFrom(loaded.model)
        self.g = self.model.graph
        self.nodes = list(self.g.node)
        if not isinstance(loaded.capture, OnnxCapture):
            raise InspectorError(f"{loaded.name}: not captured by the ONNX frontend. To fix "
                                 "this, load it with inspector.frontends.onnx.")
        self.node_map: dict[str, list[int]] = loaded.capture.node_map
        self.inits = {t.name: t for t in self.g.initializer}
        self.names = _all_names(self.g)
        self.used_before = _readers(self.nodes, self.g)
        self.dropped: set[int] = set()
        self.after: dict[int, list[onnx.NodeProto]] = {}
        self.writes: list[tuple[int, int, np.ndarray, str]] = []
        self.subst: dict[str, str] = {}

    def fresh(self, base: str) -> str:
        name, k = base, 0
        while name in self.names:
            k += 1
            name = f"{base}_{k}"
        self.names.add(name)
        return name

    def new_init(self, base: str, value: np.ndarray) -> str:
        name = self.fresh(base)
        self.g.initializer.append(numpy_helper.from_array(value, name))
        return name

    # -- parameter edits ------------------------------------------------------
    def change(self, before: Node, after: Node) -> None:
        idx = self.node_map[before.id]
        if before.op == "affine":
            return self._rebuild_affine(before, after, idx)
        dtype = next(iter(before.params.values())).dtype if before.params else np.dtype(
            self.loaded.graph.dtype)
        new = {k: np.asarray(v).astype(before.params[k].dtype if k in before.params else dtype)
               for k, v in after.params.items()}
        new = {k: v for k, v in new.items()
               if k not in before.param_keys or not np.array_equal(v, before.params[k])}
        node = self.nodes[idx[0]]
        if before.op in _PARAM_INPUTS:
            for k, v in new.items():
                self.writes.append((idx[0], _PARAM_INPUTS[before.op][k], v, k))
        elif before.op == "linear" and node.op_type == "Gemm":
            if "weight" in new:
                trans_b = any(a.name == "transB" and a.i for a in node.attribute)
                weight = new["weight"] if trans_b else np.ascontiguousarray(new["weight"].T)
                self.writes.append((idx[0], 1, weight, "weight"))
                _set_attr(node, "alpha", 1.0)
            if "bias" in new:
                self.writes.append((idx[0], 2, new["bias"], "bias"))
                _set_attr(node, "beta", 1.0)
        elif before.op == "linear" and node.op_type == "MatMul":
            if "weight" in new:
                self.writes.append((idx[0], 1, np.ascontiguousarray(new["weight"].T), "weight"))
            if "bias" in new and len(idx) == 2:
                add = self.nodes[idx[1]]
                pos = list(add.input).index(storage_name(before, before.param_keys["bias"]))
                self.writes.append((idx[1], pos, new["bias"], "bias"))
            elif "bias" in new:
                out = node.output[0]
                node.output[0] = self.fresh(out + "_nobias")
                bias = self.new_init((node.name or out) + ".bias", new["bias"])
                self.after.setdefault(idx[0], []).append(helper.make_node(
                    "Add", [node.output[0], bias], [out], name=self.fresh((node.name or out) + "_bias")))
        else:
            raise InspectorError(f"cannot write parameters of '{before.name}' ({before.op}, ONNX "
                                 f"{node.op_type}) back to ONNX. To fix this, change only linear layers, BNs and affines.")

    def _rebuild_affine(self, before: Node, after: Node, idx: list[int]) -> None:
        """Replace the Mul/Add(/Sub/Div) nodes of an affine by a fresh Mul -> Add."""
        ops = [self.nodes[i].op_type for i in idx]
        dtype = before.params["scale"].dtype
        rank = len(self.loaded.graph.shape(before.inputs[0]) or ())
        shape = (-1,) + (1,) * (rank - 1 - before.attrs["axis"])
        scale = np.asarray(after.params["scale"]).astype(dtype).reshape(shape)
        shift = np.asarray(after.params["shift"]).astype(dtype).reshape(shape)
        use_mul = bool({"Mul", "Div"} & set(ops)) or bool(np.any(scale != 1))
        use_add = bool({"Add", "Sub"} & set(ops)) or bool(np.any(shift != 0))
        x, y = before.inputs[0], before.outputs[0]
        base = before.name or y
        new = []
        mid = self.fresh(y + "_scaled") if use_mul and use_add else y
        if use_mul:
            new.append(helper.make_node("Mul", [x, self.new_init(base + ".scale", scale)], [mid],
                                        name=self.fresh(self.nodes[idx[0]].name or base + "_mul")))
        if use_add:
            new.append(helper.make_node("Add", [mid if use_mul else x, self.new_init(base + ".shift", shift)],
                                        [y], name=self.fresh(self.nodes[idx[-1]].name or base + "_add")))
        if not new:
            new.append(helper.make_node("Identity", [x], [y], name=self.fresh(base)))
        self.dropped.update(idx)
        self.after.setdefault(idx[-1], []).extend(new)

    # -- BN removal -----------------------------------------------------------
    def remove(self, bn: Node) -> None:
        idx = self.node_map[bn.id]
        extra = [o for o in bn.outputs[1:] if self.used_before.get(o)]
        if extra:
            raise InspectorError(f"cannot remove '{bn.name}': its statistics outputs {extra} are "
                                 "used. To fix this, export the model in inference mode.")
        x, y = bn.inputs[0], bn.outputs[0]
        self.dropped.update(idx)
        self.subst[y] = x
        if y in {o.name for o in self.g.output}:
            self.after.setdefault(idx[-1], []).append(
                helper.make_node("Identity", [x], [y], name=self.fresh(bn.name or y)))

    # -- merged regions ---------------------------------------------------------
    def merge(self, step: Any, conv: Node) -> None:
        """Drop the region's ONNX nodes; one ``Conv`` (a ``Gemm`` for a merged ``linear``)
        computes ``step.output`` from ``step.input``."""
        idx = sorted({i for nid in step.nodes for i in self.node_map[nid]})
        dtype = _onnx_dtype(self.loaded, step)
        base = conv.name  # the name the report and the CLI give the merged conv
        weight = self.new_init(base + ".weight", np.asarray(conv.params["weight"]).astype(dtype))
        bias = self.new_init(base + ".bias", np.asarray(conv.params["bias"]).astype(dtype))
        at = conv.attrs
        if conv.op == "linear":  # parallel heads on an (N, C) tensor: one Gemm, weight (out, in)
            node = helper.make_node("Gemm", [step.input, weight, bias], [step.output],
                                    name=self.fresh(base), transB=1)
            self.dropped.update(idx)
            self.after.setdefault(idx[-1], []).append(node)
            return
        pads = [int(b) for b, _ in at["padding"]] + [int(e) for _, e in at["padding"]]
        node = helper.make_node(
            "Conv", [step.input, weight, bias], [step.output], name=self.fresh(base),
            kernel_shape=list(conv.params["weight"].shape[2:]), strides=[int(v) for v in at["stride"]],
            dilations=[int(v) for v in at["dilation"]], pads=pads, group=int(at["groups"]))
        self.dropped.update(idx)
        self.after.setdefault(idx[-1], []).append(node)

    # -- apply ------------------------------------------------------------------
    def _resolve_writes(self) -> None:
        live = [n for i, n in enumerate(self.nodes) if i not in self.dropped]
        readers = _readers(live, self.g, index={id(n): i for i, n in enumerate(self.nodes)})
        graph_inputs = {vi.name for vi in self.g.input}
        by_name: dict[str, list[tuple[int, int, np.ndarray, str]]] = {}
        for write in self.writes:
            node, pos = self.nodes[write[0]], write[1]
            by_name.setdefault(node.input[pos] if pos < len(node.input) else "", []).append(write)
        for name, group in by_name.items():
            first = group[0][2]
            in_place = (name in self.inits and name not in graph_inputs
                        and set(readers.get(name, [])) == {(i, p) for i, p, *_ in group}
                        and all(v.shape == first.shape and np.array_equal(v, first) for _, _, v, _ in group))
            if in_place:
                self.inits[name].CopyFrom(numpy_helper.from_array(first, name))
                continue
            for i, pos, value, pname in group:
                node = self.nodes[i]
                base = name or f"{node.name or node.output[0]}.{pname}"
                new_name = self.new_init(base, value)
                while len(node.input) <= pos:
                    node.input.append("")
                node.input[pos] = new_name

    def finish(self) -> onnx.ModelProto:
        self._resolve_writes()
        nodes = []
        for i, n in enumerate(self.nodes):
            if i not in self.dropped:
                nodes.append(n)
            nodes.extend(self.after.get(i, []))
        for n in nodes:
            _rename_inputs(n, self._resolve)
        tensors = self.loaded.graph.tensors
        nodes = drop_identities(nodes, self.g, {k: t.shape for k, t in tensors.items() if t.shape is not None})
        _prune(nodes, self.g, self.used_before)
        del self.g.node[:]
        self.g.node.extend(nodes)
        return self.model

    def _resolve(self, name: str) -> str:
        while name in self.subst:
            name = self.subst[name]
        return name


def _onnx_dtype(loaded: LoadedModel, step: Any) -> np.dtype:
    """The float dtype of the region's weights (else the model's)."""
    for nid in step.nodes:
        for v in loaded.graph.node(nid).params.values():
            if np.asarray(v).dtype.kind == "f":
                return np.asarray(v).dtype
    return np.dtype(loaded.graph.dtype)


def _all_names(g: onnx.GraphProto) -> set[str]:
    """Every tensor name used anywhere in ``g`` and its subgraphs (for fresh names)."""
    names = {t.name for t in g.initializer} | {
        vi.name for vi in (*g.input, *g.output, *g.value_info)}
    for n in g.node:
        names.update(n.input, n.output)
        for sub in _subgraphs(n):
            names |= _all_names(sub)
    return names


def _set_attr(node: onnx.NodeProto, name: str, value: float) -> None:
    for a in node.attribute:
        if a.name == name:
            a.f = value
            return
    node.attribute.append(helper.make_attribute(name, value))


def _subgraphs(node: onnx.NodeProto) -> list[onnx.GraphProto]:
    return [g for a in node.attribute for g in ([a.g] if a.type == onnx.AttributeProto.GRAPH
                                                  else list(a.graphs))]


def _readers(nodes: Sequence[onnx.NodeProto], g: onnx.GraphProto,
             index: dict[int, int] | None = None) -> dict[str, list[Any]]:
    """Tensor name -> reader locations: (node index, input position), subgraph or output."""
    out: dict[str, list[Any]] = {}
    for k, n in enumerate(nodes):
        i = index[id(n)] if index is not None else k
        for pos, name in enumerate(n.input):
            if name:
                out.setdefault(name, []).append((i, pos))
        for sub in _subgraphs(n):
            for inner in sub.node:
                for name in (*inner.input, *_readers([inner], sub)):
                    out.setdefault(name, []).append(("subgraph", i))
    for vi in g.output:
        out.setdefault(vi.name, []).append(("output",))
    return out


def _rename_inputs(node: onnx.NodeProto, resolve: Any) -> None:
    for pos, name in enumerate(node.input):
        if name:
            node.input[pos] = resolve(name)
    for sub in _subgraphs(node):
        for inner in sub.node:
            _rename_inputs(inner, resolve)


def _prune(nodes: list[onnx.NodeProto], g: onnx.GraphProto, used_before: dict) -> None:
    """Drop nodes, initializers and value_info that the edits left without readers."""
    inits = {t.name for t in g.initializer}
    while True:
        readers = _readers(nodes, g)
        dead = [n for n in nodes if n.output and all(not readers.get(o) for o in n.output)
                and any(used_before.get(o) for o in n.output)]
        if not dead:
            break
        gone = {id(n) for n in dead}
        nodes[:] = [n for n in nodes if id(n) not in gone]
    unused = {t.name for t in g.initializer if not readers.get(t.name) and used_before.get(t.name)}
    kept = [t for t in g.initializer if t.name not in unused]
    del g.initializer[:]
    g.initializer.extend(kept)
    inputs = [vi for vi in g.input if vi.name not in unused]
    del g.input[:]
    g.input.extend(inputs)
    alive = {o for n in nodes for o in n.output} | {vi.name for vi in g.input} | (inits - unused)
    info = [vi for vi in g.value_info if vi.name in alive]
    del g.value_info[:]
    g.value_info.extend(info)

