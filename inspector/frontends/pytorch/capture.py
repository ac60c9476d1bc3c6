"""``torch.export`` program -> IR graph.

One IR node per FX node that carries data (depends on a user input); constant
sub-graphs (parameter reshapes, ``torch.ones`` ...) are evaluated and become
node params. ``Node.id`` is the FX node name, so write-back can find the node
again in ``ExportedProgram.module()``. A torchvision/timm ``FrozenBatchNorm2d``
(plain mul/add of buffers) is collapsed into one ``batch_norm`` node.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.export import ExportedProgram
from torch.export.graph_signature import InputKind, OutputKind
from torch.fx.operator_schemas import normalize_function

from ...ir import Graph, Node, Tensor
from ...model import InputSpec
from .ops import MULTI_FIRST, Call, Const, Data, Spec, map_op
from .optypes import StorageTransform
from .records import (
    NO_MODULE,
    ModuleCall,
    ModuleRecord,
    TorchCapture,
    chain_nodes,
    module_returns,
    readable_names,
)

#: Ops through which a constant still *is* its storage (up to a reshape).
_VIEWS = frozenset("view reshape _unsafe_view flatten unflatten squeeze unsqueeze alias detach "
                   "clone contiguous lift_fresh_copy to _to_copy".split())
_TRANSPOSES = frozenset({"t", "transpose", "permute", "numpy_T"})


def op_name(target: Any) -> str:
    """Canonical aten name of an FX target (``aten.relu_.default`` -> ``relu``)."""
    packet = getattr(target, "_overloadpacket", None)
    name = getattr(packet, "__name__", None) or getattr(target, "__name__", str(target))
    name = name.split(".")[-1]
    return name[:-1] if name.endswith("_") and not name.endswith("__") else name


def to_numpy(t: torch.Tensor) -> np.ndarray:
    """Read-only numpy view of a tensor (no copy for float32/float64)."""
    t = t.detach().cpu()
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()
    arr = t.numpy().view()
    arr.flags.writeable = False
    return arr


def is_bn_module(module: Any) -> bool:
    """A torch BN layer: any ``_BatchNorm`` subclass or a ``FrozenBatchNorm2d``."""
    return isinstance(module, torch.nn.modules.batchnorm._BatchNorm) or (
        "FrozenBatchNorm" in type(module).__name__)


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


def module_info(node: torch.fx.Node) -> ModuleRecord:
    """The innermost module around ``node``."""
    stack = node.meta.get("nn_module_stack") or {}
    if not stack:
        return NO_MODULE
    key, (fqn, cls) = list(stack.items())[-1]
    return ModuleRecord(key, fqn, class_path(cls))


def module_stacks(fx_graph: torch.fx.Graph, graph: Graph) -> dict[str, list[tuple[str, str]]]:
    """Every IR node's module stack ``[(call key, fqn), ...]``, outermost first, read from
    the ``nn_module_stack`` of the FX node it comes from (``conv:0`` comes from ``conv``)."""
    fx = {n.name: n for n in fx_graph.nodes}
    out = {}
    for node in graph.nodes:
        src = fx.get(node.id.split(":", 1)[0])
        stack = (src.meta.get("nn_module_stack") or {}) if src is not None else {}
        out[node.id] = [(key, fqn) for key, (fqn, _) in stack.items()]
    return out


def class_path(cls: Any) -> str:
    """``module.QualName`` of a class (or the string already given)."""
    return cls if isinstance(cls, str) else f"{cls.__module__}.{cls.__qualname__}"


def _shape(val: Any) -> tuple[int, ...] | None:
    """Concrete shape; a symbolic size (a program saved with dynamic dimensions) is
    read at the size it was traced with (its hint). None if unknown or not a tensor."""
    try:
        return tuple(_size(s) for s in val.shape)
    except (AttributeError, TypeError):  # not a tensor, or a size without a hint
        return None


def _size(s: Any) -> int:
    if isinstance(s, torch.SymInt):
        hint = s.node.hint if s.node.has_hint() else None
        if not isinstance(hint, int):
            raise TypeError("symbolic size without a hint")
        return hint
    return int(s)


def _kwargs(n: torch.fx.Node) -> dict[str, Any]:
    schema = getattr(n.target, "_schema", None)
    if schema is None:
        return {f"arg{i}": a for i, a in enumerate(n.args)} | dict(n.kwargs)
    try:
        pair = normalize_function(n.target, n.args, n.kwargs, normalize_to_only_use_kwargs=True)
    except Exception:  # noqa: BLE001 - schema matching is best effort
        pair = None
    if pair is not None:
        return dict(pair.kwargs)
    names = [a.name for a in schema.arguments]
    return dict(zip(names, n.args)) | dict(n.kwargs)


class _Capture:
    """State of one program -> IR translation."""

    def __init__(self, ep: ExportedProgram, notes: list[str]) -> None:
        self.ep = ep
        self.notes = notes
        self.real: dict[str, Any] = {}  # fx name -> concrete constant value
        self.src: dict[str, tuple[str, StorageTransform]] = {}  # fx name -> (storage key, transform)
        self.data: dict[str, Data] = {}  # fx name -> IR data tensor
        self.alias: dict[str, str] = {}  # fx name -> fx name of its in-place update
        self.nodes: list[Node] = []
        self.inputs: list[InputSpec] = []
        self.meta: dict[str, ModuleRecord] = {}  # IR id -> module info
        self.transforms: dict[str, dict[str, StorageTransform]] = {}
        self.skip: set[str] = set()
        self.groups: dict[str, tuple[Spec, ModuleRecord]] = {}

    # -- values ------------------------------------------------------------
    def resolve(self, v: Any) -> Any:
        if isinstance(v, torch.fx.Node):
            if v.name in self.data:
                return self.data[self.alias.get(v.name, v.name)]
            val = self.real.get(v.name)
            if isinstance(val, torch.Tensor):
                key, tr = self.src.get(v.name, (f"const:{v.name}", StorageTransform.SAME))
                return Const(to_numpy(val), key, tr)
            return val
        if isinstance(v, (list, tuple)):
            return type(v)(self.resolve(x) for x in v)
        return v

    def add_placeholders(self) -> None:
        state, consts = self.ep.state_dict, self.ep.constants
        by_name = {n.name: n for n in self.ep.graph.nodes if n.op == "placeholder"}
        for spec in self.ep.graph_signature.input_specs:
            name = getattr(spec.arg, "name", None)
            if name not in by_name:
                continue
            val = by_name[name].meta.get("val")
            if spec.kind == InputKind.USER_INPUT and isinstance(val, torch.Tensor):
                shape, dt = _shape(val), dtype_name(val.dtype)
                self.data[name] = Data(name, shape, dt)
                self.nodes.append(Node(name, "input", outputs=(name,), name=name))
                self.inputs.append(InputSpec(name, shape or (), dt))
            elif spec.kind in (InputKind.PARAMETER, InputKind.BUFFER):
                self.real[name] = state[spec.target] if spec.target in state else consts[spec.target]
                self.src[name] = (spec.target, StorageTransform.SAME)
            elif spec.kind == InputKind.CONSTANT_TENSOR:
                self.real[name] = consts[spec.target]
                self.src[name] = (f"const:{spec.target}", StorageTransform.SAME)

    def evaluate(self, n: torch.fx.Node) -> bool:
        """Evaluate a node whose inputs are all constants; False if it is data."""
        ins = n.all_input_nodes
        if any(i.name in self.data or i.name not in self.real for i in ins):
            return False
        fetch = lambda v: self.real[v.name]  # noqa: E731
        try:
            with torch.no_grad():
                self.real[n.name] = n.target(*torch.fx.node.map_arg(n.args, fetch),
                                             **torch.fx.node.map_arg(n.kwargs, fetch))
        except Exception:  # noqa: BLE001 - opaque constant: keep it as data
            return False
        tensor_ins = [i for i in ins if isinstance(self.real[i.name], torch.Tensor)]
        base = self.src.get(tensor_ins[0].name) if len(tensor_ins) == 1 else None
        name = op_name(n.target)
        if base and name in _VIEWS:
            self.src[n.name] = base
        elif base and name in _TRANSPOSES and base[1] is StorageTransform.SAME and self.real[n.name].ndim == 2 \
                and tuple(self.real[n.name].shape) == tuple(self.real[tensor_ins[0].name].shape)[::-1]:
            self.src[n.name] = (base[0], StorageTransform.TRANSPOSE)
        return True

    # -- FrozenBatchNorm2d --------------------------------------------------
    def find_frozen_bn(self, data_nodes: list[torch.fx.Node]) -> None:
        members: dict[str, list[torch.fx.Node]] = {}
        for n in data_nodes:
            info = module_info(n)
            if "FrozenBatchNorm" in info.class_name:
                members.setdefault(info.key, []).append(n)
        for key, group in members.items():
            names = {n.name for n in group}
            ext = {i.name for n in group for i in n.all_input_nodes
                   if i.name in self.data and i.name not in names}
            outs = [n for n in group if any(u.name not in names for u in n.users)]
            info = module_info(group[0])
            prefix = info.fqn + "." if info.fqn else ""
            keys = {p: prefix + s for p, s in (("gamma", "weight"), ("beta", "bias"),
                                               ("mean", "running_mean"), ("var", "running_var"))}
            state = self.ep.state_dict | dict(self.ep.constants)
            if len(ext) != 1 or len(outs) != 1 or not all(k in state for k in keys.values()):
                continue
            eps = next((a for n in self.ep.graph.nodes if module_info(n).key == key
                        and op_name(n.target) == "add" for a in n.args
                        if isinstance(a, float)), 1e-5)
            spec = Spec("batch_norm", (ext.pop(),), {"eps": float(eps), "axis": 1,
                                                     "uses_batch_stats": False})
            for p, k in keys.items():
                spec.params[p] = to_numpy(state[k]).reshape(-1)
                spec.keys[p] = k
            self.skip |= names - {outs[0].name}
            self.groups[outs[0].name] = (spec, info)

    # -- data nodes ---------------------------------------------------------
    def out_names(self, n: torch.fx.Node) -> list[str]:
        val = n.meta.get("val")
        if not isinstance(val, (list, tuple)):
            return [n.name]
        got = {u.args[1]: u.name for u in n.users if op_name(u.target) == "getitem"}
        return [got.get(i, f"{n.name}:{i}") for i in range(len(val))]

    def add_data_node(self, n: torch.fx.Node) -> None:
        val = n.meta.get("val")
        vals = list(val) if isinstance(val, (list, tuple)) else [val]
        outs = self.out_names(n)
        for o, v in zip(outs, vals):
            self.data[o] = Data(o, _shape(v), dtype_name(v.dtype) if hasattr(v, "dtype") else "")
        name = op_name(n.target)
        if n.name in self.groups:
            spec, info = self.groups[n.name]
            specs = [spec]
        else:
            info = module_info(n)
            call = Call(n.name, name, {k: self.resolve(v) for k, v in _kwargs(n).items()},
                        [_shape(v) for v in vals], [dtype_name(v.dtype) if hasattr(v, "dtype")
                                                    else "" for v in vals])
            specs = map_op(call, f"aten.{name}", self.notes)
        if isinstance(val, (list, tuple)) and name in MULTI_FIRST and specs[-1].op != "other":
            for i, o in enumerate(outs[1:], 1):  # side results (indices, saved stats)
                if o in {u.name for u in n.users if u.users}:
                    self.emit(o, Spec("other", specs[-1].inputs, {"op_type": f"aten.{name}[{i}]"}),
                              (o,), info)
            outs = outs[:1]
        for nid, spec, tensors in chain_nodes(n.name, specs, tuple(outs)):
            if nid != n.name:
                self.data[nid] = Data(nid, spec.out_shape)
            self.emit(nid, spec, tensors, info)
        schema = getattr(n.target, "_schema", None)
        if schema and schema.arguments and schema.arguments[0].alias_info is not None \
                and schema.arguments[0].alias_info.is_write and n.all_input_nodes:
            self.alias[n.all_input_nodes[0].name] = outs[0]  # later reads see the update

    def emit(self, nid: str, spec: Spec, outputs: tuple[str, ...], info: ModuleRecord) -> None:
        self.nodes.append(Node(nid, spec.op, inputs=spec.inputs, outputs=outputs, attrs=spec.attrs,
                               params=spec.params, param_keys=spec.keys))
        self.meta[nid] = info
        if spec.transforms:
            self.transforms[nid] = spec.transforms

    def add_outputs(self) -> None:
        out_node = next(n for n in self.ep.graph.nodes if n.op == "output")
        flat = list(out_node.args[0]) if isinstance(out_node.args[0], (list, tuple)) else [
            out_node.args[0]]
        used = {n.id for n in self.nodes}
        count = 0
        for spec, v in zip(self.ep.graph_signature.output_specs, flat):
            if spec.kind != OutputKind.USER_OUTPUT or not isinstance(v, torch.fx.Node):
                continue
            if v.name not in self.data:  # a constant output: keep it visible
                self.data[v.name] = Data(v.name, _shape(self.real.get(v.name)))
                self.emit(v.name, Spec("other", (), {"op_type": "constant"}), (v.name,), NO_MODULE)
            oid = "output" if count == 0 else f"output_{count}"
            while oid in used:
                oid += "_"
            used.add(oid)
            count += 1
            src = self.data[self.alias.get(v.name, v.name)].name
            self.nodes.append(Node(oid, "output", inputs=(src,), name=oid))


def _main_op(cls: str) -> str:
    short = cls.rsplit(".", 1)[-1]
    if "ConvTranspose" in short:
        return "conv_transpose"
    if "Conv" in short:
        return "conv"
    if "Linear" in short:
        return "linear"
    return "batch_norm" if "BatchNorm" in short else ""


def _is_layer(cls: str) -> bool:
    return cls.startswith("torch.nn.modules.") or "BatchNorm" in cls.rsplit(".", 1)[-1]


def name_nodes(nodes: list[Node], meta: dict[str, ModuleRecord]) -> dict[str, ModuleCall]:
    """Set ``name``/``scope`` from module info; returns {node id: module call}."""
    by_key: dict[str, list[Node]] = {}
    for n in nodes:
        key, fqn, cls = meta.get(n.id, NO_MODULE)
        if key and (fqn or _is_layer(cls)):  # the root counts only if it is itself a layer
            by_key.setdefault(key, []).append(n)
    owned: dict[str, ModuleCall] = {}
    for key, group in by_key.items():
        _, fqn, cls = meta[group[0].id]
        main = _main_op(cls)
        own = [n for n in group if n.op == main][:1] or (group if len(group) == 1 else [])
        call = int(key.rsplit("@", 1)[1]) + 1 if "@" in key else 1
        for n in group:
            n.scope = fqn
        for n in own:
            n.name = (fqn or n.id) if call == 1 else f"{fqn or n.id}#{call}"
            owned[n.id] = ModuleCall(fqn, cls, call, len(group))
    readable_names(nodes, keep=owned)
    return owned


def count_calls(meta: dict[str, ModuleRecord]) -> dict[str, int]:
    """Module FQN -> number of distinct calls seen in ``meta``."""
    keys: dict[str, set[str]] = {}
    for rec in meta.values():
        if rec.key:
            keys.setdefault(rec.fqn, set()).add(rec.key)
    return {fqn: len(k) for fqn, k in keys.items()}


def graph_from_program(ep: ExportedProgram, name: str, notes: list[str] | None = None
                       ) -> tuple[Graph, TorchCapture, list[InputSpec]]:
    """Translate an exported program; returns (graph, capture record, input specs).

    Ops kept as ``other`` because their mapping failed are listed in ``notes``."""
    cap = _Capture(ep, notes if notes is not None else [])
    cap.add_placeholders()
    data_nodes = []
    for n in ep.graph.nodes:
        if n.op != "call_function":
            continue
        if op_name(n.target) == "getitem" and n.args[0].name in cap.data:
            continue  # an output of a multi-output data node
        if not cap.evaluate(n):
            if not isinstance(n.meta.get("val"), (torch.Tensor, list, tuple)) and not n.users:
                continue  # runtime assertions and other side-effect-only nodes
            data_nodes.append(n)
            cap.data[n.name] = Data(n.name, _shape(n.meta.get("val")))
    cap.find_frozen_bn(data_nodes)
    for n in data_nodes:
        if n.name not in cap.skip:
            cap.add_data_node(n)
    cap.add_outputs()
    owned = name_nodes(cap.nodes, cap.meta)
    shapes = {d.name: d.shape for d in cap.data.values()}
    params = [p for p in ep.state_dict.values() if p.is_floating_point()]
    dtype = dtype_name(params[0].dtype) if params else "float32"
    graph = Graph.from_nodes(cap.nodes, shapes, name=name, framework="torch", dtype=dtype)
    for t, tensor in list(graph.tensors.items()):
        d = cap.data.get(t)
        if d is not None and d.dtype:
            graph.tensors[t] = Tensor(t, tensor.shape, d.dtype)
    record = TorchCapture("export", program=ep, modules=owned, transforms=cap.transforms,
                          calls=count_calls(cap.meta),
                          returns=module_returns(graph, module_stacks(ep.graph, graph)))
    return graph, record, cap.inputs
