"""Fallback capture: ``torch.fx.symbolic_trace`` -> IR graph (module level).

Used when ``torch.export`` rejects a model (e.g. an op without a fake/meta
kernel). ``torch.nn`` layers (and FrozenBatchNorm2d) stay ``call_module``
nodes, mapped from their configuration; functions and methods go through the
same handler table as the export path. Shapes and constants come from running
the traced module once on the example inputs.
"""

from __future__ import annotations

import operator
from typing import Any

import torch
from torch import nn
from torch.fx.operator_schemas import normalize_function

from ...ir import Graph, Node
from ...model import InputSpec
from .capture import (
    _VIEWS,
    class_path,
    count_calls,
    dtype_name,
    is_bn_module,
    module_stacks,
    name_nodes,
    op_name,
    to_numpy,
)
from .ops import Call, Const, Data, Spec, map_op
from .records import ModuleRecord, TorchCapture, chain_nodes, module_returns

_ACTIVATIONS = {"ReLU": "relu", "ReLU6": "relu6", "SiLU": "silu", "GELU": "gelu",
                "Sigmoid": "sigmoid", "Tanh": "tanh", "Hardswish": "hardswish",
                "Hardsigmoid": "hardsigmoid", "LeakyReLU": "leaky_relu", "ELU": "elu",
                "Softmax": "softmax", "Mish": "mish", "Hardtanh": "hardtanh", "PReLU": "prelu",
                "Softplus": "softplus", "SELU": "selu", "GLU": "glu", "LogSoftmax": "log_softmax"}
_OPERATORS = {operator.add: "add", operator.sub: "sub", operator.mul: "mul",
              operator.truediv: "div", operator.matmul: "matmul", operator.iadd: "add",
              operator.imul: "mul"}


class _Tracer(torch.fx.Tracer):
    """Keeps FrozenBatchNorm2d modules as leaves (one BN node each)."""

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return is_bn_module(m) or super().is_leaf_module(m, qualname)


class _Recorder(torch.fx.Interpreter):
    def __init__(self, gm: torch.fx.GraphModule) -> None:
        super().__init__(gm)
        self.values: dict[str, Any] = {}

    def run_node(self, n: torch.fx.Node) -> Any:
        self.values[n.name] = out = super().run_node(n)
        return out


def _module_call(m: nn.Module, target: str, x: Any) -> tuple[str, dict[str, Any]] | list:
    """(aten-like op, kwargs) for a leaf module call; [] when unknown."""
    cls = type(m).__name__
    p = lambda attr: Const(to_numpy(getattr(m, attr)), f"{target}.{attr}") if isinstance(  # noqa: E731
        getattr(m, attr, None), torch.Tensor) else None
    if isinstance(m, nn.modules.conv._ConvNd):
        nd = m.weight.ndim - 2
        kw = {"input": x, "weight": p("weight"), "bias": p("bias"), "stride": m.stride,
              "padding": m.padding, "dilation": m.dilation, "groups": m.groups}
        if m.transposed:
            return f"conv_transpose{nd}d", kw | {"output_padding": m.output_padding}
        if m.padding_mode != "zeros":
            pad = {"input": x, "pad": list(m._reversed_padding_repeated_twice),
                   "mode": "reflect" if m.padding_mode == "reflect" else m.padding_mode}
            return [("pad", pad), (f"conv{nd}d", kw | {"padding": 0})]
        return f"conv{nd}d", kw
    if isinstance(m, nn.Linear):
        return "linear", {"input": x, "weight": p("weight"), "bias": p("bias")}
    if is_bn_module(m):
        return "batch_norm", {"input": x, "weight": p("weight"), "bias": p("bias"),
                              "running_mean": p("running_mean"), "running_var": p("running_var"),
                              "training": False, "eps": float(m.eps)}
    if cls in _ACTIVATIONS:
        return _ACTIVATIONS[cls], {"input": x}
    if isinstance(m, (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.Identity)):
        return "dropout", {"input": x}
    if isinstance(m, (nn.Flatten, nn.Unflatten)):
        return "flatten", {"input": x}
    if isinstance(m, nn.Upsample):
        return "interpolate", {"input": x, "mode": m.mode, "align_corners": m.align_corners}
    if isinstance(m, (nn.LayerNorm, nn.GroupNorm, nn.modules.instancenorm._InstanceNorm,
                      nn.LocalResponseNorm)):
        return {"LayerNorm": "layer_norm", "GroupNorm": "group_norm"}.get(
            cls, "instance_norm" if "Instance" in cls else "local_response_norm"), {"input": x}
    if "Pool" in cls:
        kw = {k: getattr(m, k) for k in ("kernel_size", "stride", "padding", "dilation",
                                         "ceil_mode", "count_include_pad", "divisor_override",
                                         "output_size") if hasattr(m, k)}
        return cls.replace("AdaptiveAvg", "adaptive_avg_").replace("AdaptiveMax", "adaptive_max_") \
            .replace("MaxPool", "max_pool").replace("AvgPool", "avg_pool").lower(), {"input": x} | kw
    return []


def _kwargs(n: torch.fx.Node, types: tuple) -> dict[str, Any]:
    if n.op == "call_function" and n.target in _OPERATORS:
        return {"self": n.args[0], "other": n.args[1]}
    if n.op == "call_method" and n.target in ("permute", "view", "reshape", "expand", "repeat"):
        dims = n.args[1] if len(n.args) == 2 and isinstance(n.args[1], (list, tuple)) else n.args[1:]
        return {"self": n.args[0], "dims": list(dims)}
    fn = n.target if n.op == "call_function" else getattr(torch, n.target, None)
    try:
        pair = normalize_function(fn, tuple(n.args), dict(n.kwargs), arg_types=types,
                                  normalize_to_only_use_kwargs=True) if fn else None
    except Exception:  # noqa: BLE001 - best effort
        pair = None
    if pair is not None:
        return dict(pair.kwargs)
    return {"self" if i == 0 else f"arg{i}": a for i, a in enumerate(n.args)} | dict(n.kwargs)


def graph_from_fx(module: nn.Module, inputs: tuple, name: str, notes: list[str] | None = None
                  ) -> tuple[Graph, TorchCapture, list[InputSpec]]:
    """Trace ``module`` (already an eval copy) with ``symbolic_trace`` semantics."""
    tracer = _Tracer()
    gm = torch.fx.GraphModule(module, tracer.trace(module), type(module).__name__)
    rec = _Recorder(gm)
    with torch.no_grad():
        rec.run(*inputs)
    vals = rec.values
    data: dict[str, Data] = {}
    src: dict[str, str] = {}
    nodes: list[Node] = []
    meta: dict[str, ModuleRecord] = {}
    specs_in: list[InputSpec] = []
    calls: dict[str, int] = {}
    transforms: dict[str, dict] = {}
    state = dict(gm.named_parameters(remove_duplicate=False)) | dict(
        gm.named_buffers(remove_duplicate=False))

    def resolve(v: Any) -> Any:
        if isinstance(v, torch.fx.Node):
            if v.name in data:
                return data[v.name]
            val = vals.get(v.name)
            return Const(to_numpy(val), src.get(v.name, f"const:{v.name}")) if isinstance(
                val, torch.Tensor) else val
        return type(v)(resolve(x) for x in v) if isinstance(v, (list, tuple)) else v

    def tensor_data(nm: str, val: Any) -> Data:
        data[nm] = Data(nm, tuple(val.shape), dtype_name(val.dtype))
        return data[nm]

    for n in gm.graph.nodes:
        val = vals.get(n.name)
        if n.op == "placeholder":
            d = tensor_data(n.name, val)
            nodes.append(Node(n.name, "input", outputs=(n.name,)))
            specs_in.append(InputSpec(n.name, d.shape, d.dtype))
            continue
        if n.op == "get_attr":
            src[n.name] = n.target if n.target in state else f"const:{n.target}"
            continue
        if n.op == "output":
            flat = torch.utils._pytree.tree_leaves(n.args[0])
            for i, v in enumerate(x for x in flat if isinstance(x, torch.fx.Node) and x.name in data):
                nodes.append(Node("output" if i == 0 else f"output_{i}", "output",
                                  inputs=(data[v.name].name,)))
            continue
        ins = n.all_input_nodes
        if not any(i.name in data for i in ins):
            base = [i for i in ins if isinstance(vals.get(i.name), torch.Tensor)]
            if len(base) == 1 and base[0].name in src and op_name(n.target) in _VIEWS:
                src[n.name] = src[base[0].name]
            continue  # constant or Python value
        if n.op == "call_function" and n.target is operator.getitem and isinstance(
                vals.get(n.args[0].name), (list, tuple)):
            continue  # a piece of a multi-output node (named below)
        outs_vals = list(val) if isinstance(val, (list, tuple)) else [val]
        if not all(isinstance(v, torch.Tensor) for v in outs_vals):
            continue  # sizes, shapes and other Python values
        got = {u.args[1]: u.name for u in n.users if u.target is operator.getitem}
        outs = [got.get(i, f"{n.name}:{i}") for i in range(len(outs_vals))] if isinstance(
            val, (list, tuple)) else [n.name]
        stack = list((n.meta.get("nn_module_stack") or {}).items())
        key, (fqn, cls) = stack[-1] if stack else ("", ("", ""))
        if n.op == "call_module":
            m = gm.get_submodule(n.target)
            calls[n.target] = calls.get(n.target, 0) + 1
            key, fqn, cls = f"{n.target}@{calls[n.target] - 1}", n.target, type(m)
            if calls[n.target] == 1:
                key = n.target
            mapped = _module_call(m, n.target, resolve(n.args[0]))
            chain = mapped if isinstance(mapped, list) else [mapped] if mapped else []
            label = type(m).__name__
        else:
            types = tuple(type(vals.get(a.name)) if isinstance(a, torch.fx.Node) else type(a)
                          for a in n.args)
            chain = [(_OPERATORS.get(n.target) or op_name(n.target), _kwargs(n, types))]
            label = chain[0][0]
        cls = class_path(cls)
        shapes = [tuple(v.shape) for v in outs_vals]
        specs: list[Spec] = []
        for op, kw in chain or [("module", {"input": resolve(n.args[0]) if n.args else None})]:
            kw = {k: resolve(v) for k, v in kw.items()}
            if specs:  # second op of a chain reads the first one's output
                kw["input"] = Data(f"{n.name}:0", specs[-1].out_shape)
            specs += map_op(Call(n.name, op, kw, shapes, [dtype_name(v.dtype) for v in outs_vals]),
                            label, notes)
            x = kw.get("input")
            if specs[-1].op == "pad" and isinstance(x, Data) and x.shape:
                specs[-1].out_shape = tuple(s + b + e for s, (b, e) in
                                            zip(x.shape, specs[-1].attrs["pads"]))
        for o, v in zip(outs, outs_vals):
            tensor_data(o, v)
        for nid, spec, tensors in chain_nodes(n.name, specs, tuple(outs)):
            if nid != n.name:
                data[nid] = Data(nid, spec.out_shape)
            nodes.append(Node(nid, spec.op, spec.inputs, tensors, attrs=spec.attrs,
                              params=spec.params, param_keys=spec.keys))
            meta[nid] = ModuleRecord(key, fqn, cls)
            if spec.transforms:
                transforms[nid] = spec.transforms
    owned = name_nodes(nodes, meta)
    shapes = {d.name: d.shape for d in data.values()}
    dtype = next((dtype_name(p.dtype) for p in gm.parameters() if p.is_floating_point()),
                 "float32")
    graph = Graph.from_nodes(nodes, shapes, name=name, framework="torch", dtype=dtype)
    record = TorchCapture("fx", fx_module=gm, modules=owned, transforms=transforms,
                          calls=count_calls(meta),
                          returns=module_returns(graph, module_stacks(gm.graph, graph)))
    return graph, record, specs_in
