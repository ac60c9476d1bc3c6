"""Small IR builders for tests, the Learn page's quiz and the random-DAG generator.

    from inspector.builders import GraphBuilder

    b = GraphBuilder(seed=0)
    x = b.input((1, 3, 8, 8))
    y = b.bn(b.conv(x, 4, k=3, pad=1))
    b.output(b.relu(y))
    graph = b.build()

Parameters are seeded random arrays; BN statistics are far from identity
(gamma ~ U(0.5, 1.5), beta ~ N(0, 0.5), mean ~ N(0, 0.5), var ~ U(0.5, 2)).
Every node gets its own ``param_keys`` (nothing shared) unless ``share_with=``
names a node whose parameters (and storage keys) it should reuse.

Every builder call is recorded: ``b.script()`` returns Python source that
rebuilds the same graph (same seed, same calls, hence the same parameters);
the hypothesis strategy ``tests.graph_factory.random_dags`` attaches it to
failing examples with ``note``. Numpy only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..ir import Graph, Node, as_pairs, as_tuple
from .script import ScriptedGraph, recorded, window_out

Pairs = Sequence[tuple[int, int]]


class GraphBuilder:
    """Write IR graphs tersely; methods take and return tensor names."""

    def __init__(self, seed: int = 0, name: str = "test") -> None:
        self.seed = seed
        self.name = name
        self.rng = np.random.default_rng(seed)
        self.nodes: list[Node] = []
        self.shapes: dict[str, tuple[int, ...]] = {}
        self._counts: Counter[str] = Counter()
        self._by_id: dict[str, Node] = {}
        self._log: list[str] = []
        self._depth = 0

    # -- plumbing ------------------------------------------------------------
    def _fmt(self, v: Any) -> str:
        if isinstance(v, str) and v in self.shapes:
            return v
        if isinstance(v, list) and v and all(isinstance(i, str) and i in self.shapes for i in v):
            return f"[{', '.join(v)}]"
        return repr(v)

    def script(self) -> str:
        """Python source that rebuilds this graph with a fresh builder ``b``."""
        head = f"b = GraphBuilder(seed={self.seed!r}, name={self.name!r})"
        return "\n".join([head, *self._log, "graph = b.build()"])

    def shape(self, t: str) -> tuple[int, ...]:
        return self.shapes[t]

    def _new_id(self, prefix: str) -> str:
        self._counts[prefix] += 1
        return f"{prefix}{self._counts[prefix]}"

    def _add(self, op: str, prefix: str, inputs: Sequence[str], out_shapes: Sequence[tuple],
             attrs: dict | None = None, params: dict[str, np.ndarray] | None = None,
             share_with: str | None = None, name: str | None = None) -> list[str]:
        for t in inputs:
            assert t in self.shapes, f"unknown tensor {t!r}"
        nid = self._new_id(prefix)
        outs = []
        for shape in out_shapes:
            self._counts["__tensor"] += 1
            t = f"t{self._counts['__tensor']}"
            self.shapes[t] = tuple(int(s) for s in shape)
            outs.append(t)
        params = dict(params or {})
        keys = {k: f"{nid}.{k}" for k in params}
        if share_with is not None:
            other = self._by_id[share_with]
            assert other.op == op, f"cannot share params of {other.op} with {op}"
            for k, v in params.items():
                assert other.params[k].shape == v.shape, f"{k}: shape mismatch with {share_with}"
            params = dict(other.params)
            keys = dict(other.param_keys)
        node = Node(id=nid, op=op, inputs=tuple(inputs), outputs=tuple(outs), name=name or nid,
                    attrs=dict(attrs or {}), params=params, param_keys=keys)
        self.nodes.append(node)
        self._by_id[nid] = node
        return outs

    def _one(self, *args: Any, **kwargs: Any) -> str:
        return self._add(*args, **kwargs)[0]

    def _weight(self, shape: tuple[int, ...], fan_in: int) -> np.ndarray:
        return self.rng.standard_normal(shape) / np.sqrt(max(fan_in, 1))

    def _bias(self, n: int) -> np.ndarray:
        return self.rng.normal(0.0, 0.5, n)

    # -- graph boundary --------------------------------------------------------
    @recorded
    def input(self, shape: Sequence[int], name: str | None = None) -> str:
        return self._one("input", "input", [], [tuple(shape)], name=name)

    @recorded
    def output(self, x: str, name: str | None = None) -> None:
        self._add("output", "output", [x], [], name=name)

    def build(self) -> Graph:
        """The graph (tensors and shapes filled in); the builder stays usable."""
        nodes = [Node(id=n.id, op=n.op, inputs=n.inputs, outputs=n.outputs, name=n.name,
                      attrs=dict(n.attrs), params={k: v.copy() for k, v in n.params.items()},
                      param_keys=dict(n.param_keys)) for n in self.nodes]
        graph = ScriptedGraph.from_nodes(nodes, shapes=dict(self.shapes), name=self.name,
                                         framework="synthetic", dtype="float64")
        graph.script = self.script()
        return graph

    def dangling(self) -> list[str]:
        """Tensors no node consumes (each would need an output)."""
        used = {t for n in self.nodes for t in n.inputs}
        return [t for n in self.nodes for t in n.outputs if t not in used]

    # -- linear layers -----------------------------------------------------------
    @recorded
    def conv(self, x: str, c_out: int, k: int | Sequence[int] = 1, pad: int | Pairs = 0,
             groups: int = 1, bias: bool = True, stride: int | Sequence[int] = 1,
             dilation: int | Sequence[int] = 1, padding_mode: str = "zeros",
             share_with: str | None = None, name: str | None = None) -> str:
        n, c_in, *spatial = self.shape(x)
        nsp = len(spatial)
        k, s, d = as_tuple(k, nsp, 1), as_tuple(stride, nsp, 1), as_tuple(dilation, nsp, 1)
        pads = as_pairs(pad, nsp)
        assert c_in % groups == 0 and c_out % groups == 0
        out = [window_out(L, kk, ss, dd, b, e)
               for L, kk, ss, dd, (b, e) in zip(spatial, k, s, d, pads)]
        params = {"weight": self._weight((c_out, c_in // groups, *k),
                                         c_in // groups * int(np.prod(k)))}
        if bias:
            params["bias"] = self._bias(c_out)
        attrs = {"groups": groups, "stride": s, "padding": pads, "dilation": d,
                 "padding_mode": padding_mode}
        return self._one("conv", "conv", [x], [(n, c_out, *out)], attrs, params,
                         share_with, name)

    @recorded
    def conv_transpose(self, x: str, c_out: int, k: int | Sequence[int] = 1,
                       stride: int | Sequence[int] = 1, pad: int | Pairs = 0,
                       output_padding: int | Sequence[int] = 0, groups: int = 1,
                       dilation: int | Sequence[int] = 1, bias: bool = True,
                       share_with: str | None = None, name: str | None = None) -> str:
        n, c_in, *spatial = self.shape(x)
        nsp = len(spatial)
        k, s, d = as_tuple(k, nsp, 1), as_tuple(stride, nsp, 1), as_tuple(dilation, nsp, 1)
        op, pads = as_tuple(output_padding, nsp, 1), as_pairs(pad, nsp)
        assert c_in % groups == 0 and c_out % groups == 0
        out = [(L - 1) * ss - b - e + dd * (kk - 1) + oo + 1
               for L, kk, ss, dd, oo, (b, e) in zip(spatial, k, s, d, op, pads)]
        params = {"weight": self._weight((c_in, c_out // groups, *k), c_in // groups)}
        if bias:
            params["bias"] = self._bias(c_out)
        attrs = {"groups": groups, "stride": s, "padding": pads, "output_padding": op,
                 "dilation": d}
        return self._one("conv_transpose", "convT", [x], [(n, c_out, *out)], attrs, params,
                         share_with, name)

    @recorded
    def linear(self, x: str, out: int, bias: bool = True, share_with: str | None = None,
               name: str | None = None) -> str:
        *lead, f_in = self.shape(x)
        params = {"weight": self._weight((out, f_in), f_in)}
        if bias:
            params["bias"] = self._bias(out)
        return self._one("linear", "fc", [x], [(*lead, out)], {}, params, share_with, name)

    @recorded
    def bn(self, x: str, negative: bool = False, batch_stats: bool = False, axis: int = 1,
           eps: float = 1e-5, share_with: str | None = None, name: str | None = None) -> str:
        c = self.shape(x)[axis]
        gamma = self.rng.uniform(0.5, 1.5, c)
        if negative:
            flip = self.rng.random(c) < 0.5
            flip[self.rng.integers(c)] = True
            gamma[flip] *= -1
        params = {"gamma": gamma, "beta": self.rng.normal(0, 0.5, c),
                  "mean": self.rng.normal(0, 0.5, c), "var": self.rng.uniform(0.5, 2.0, c)}
        attrs = {"eps": eps, "axis": axis, "uses_batch_stats": batch_stats}
        return self._one("batch_norm", "bn", [x], [self.shape(x)], attrs, params,
                         share_with, name)

    @recorded
    def affine(self, x: str, axis: int = 1, bn_like: bool = False, negative: bool = False,
               name: str | None = None, scalar: float | None = None) -> str:
        """A random per-channel ``scale·x + shift``; ``scalar``: ``x · scalar`` instead
        (``(a + b) / 2`` is ``scalar=0.5``)."""
        c = self.shape(x)[axis]
        scale = self.rng.uniform(0.5, 1.5, c) * (-1 if negative else 1)
        params = {"scale": scale, "shift": self.rng.normal(0, 0.5, c)}
        attrs = {"axis": axis, "bn_like": bn_like}
        if scalar is not None:
            params = {"scale": np.full(c, float(scalar)), "shift": np.zeros(c)}
            attrs["scalar"] = True
        return self._one("affine", "affine", [x], [self.shape(x)], attrs, params, None, name)

    # -- structure -----------------------------------------------------------------
    @recorded
    def add(self, x: str, y: str, name: str | None = None) -> str:
        assert self.shape(x) == self.shape(y), (self.shape(x), self.shape(y))
        return self._one("add", "add", [x, y], [self.shape(x)], name=name)

    @recorded
    def sub(self, x: str, y: str, name: str | None = None) -> str:
        assert self.shape(x) == self.shape(y), (self.shape(x), self.shape(y))
        return self._one("sub", "sub", [x, y], [self.shape(x)], name=name)

    @recorded
    def mul(self, x: str, y: str, name: str | None = None) -> str:
        assert self.shape(x) == self.shape(y)
        return self._one("mul", "mul", [x, y], [self.shape(x)], name=name)

    @recorded
    def concat(self, xs: Sequence[str], axis: int = 1, name: str | None = None) -> str:
        shapes = [list(self.shape(x)) for x in xs]
        out = list(shapes[0])
        out[axis] = sum(s[axis] for s in shapes)
        for s in shapes:
            s[axis] = out[axis]
            assert s == out, f"concat shapes differ off axis {axis}: {shapes}"
        return self._one("concat", "concat", list(xs), [tuple(out)], {"axis": axis}, name=name)

    @recorded
    def split(self, x: str, sizes: Sequence[int], axis: int = 1,
              name: str | None = None) -> list[str]:
        shape = list(self.shape(x))
        assert sum(sizes) == shape[axis]
        outs = [tuple(shape[:axis] + [s] + shape[axis + 1:]) for s in sizes]
        return self._add("split", "split", [x], outs, {"axis": axis, "sizes": list(sizes)},
                         name=name)

    @recorded
    def slice(self, x: str, start: int, end: int | None, step: int = 1, axis: int = 1,
              name: str | None = None) -> str:
        shape = list(self.shape(x))
        shape[axis] = len(range(*slice(start, end, step).indices(shape[axis])))
        attrs = {"axis": axis, "start": start, "end": end, "step": step}
        return self._one("slice", "slice", [x], [tuple(shape)], attrs, name=name)

    @recorded
    def identity(self, x: str, name: str | None = None) -> str:
        return self._one("identity", "id", [x], [self.shape(x)], name=name)

    @recorded
    def flatten(self, x: str, name: str | None = None) -> str:
        n, *rest = self.shape(x)
        return self._one("reshape", "flatten", [x], [(n, int(np.prod(rest)))], name=name)

    @recorded
    def reshape(self, x: str, shape: Sequence[int], name: str | None = None) -> str:
        assert int(np.prod(shape)) == int(np.prod(self.shape(x)))
        return self._one("reshape", "reshape", [x], [tuple(shape)], name=name)

    @recorded
    def transpose(self, x: str, perm: Sequence[int], name: str | None = None) -> str:
        shape = tuple(self.shape(x)[p] for p in perm)
        return self._one("transpose", "transpose", [x], [shape], {"perm": tuple(perm)},
                         name=name)

    @recorded
    def pad(self, x: str, pads: Pairs, mode: str = "constant", value: float = 0.0,
            name: str | None = None) -> str:
        shape = self.shape(x)
        full = [(0, 0)] * (len(shape) - len(pads)) + [tuple(p) for p in pads]
        out = tuple(s + b + e for s, (b, e) in zip(shape, full))
        attrs = {"mode": mode, "pads": full, "value": value}
        return self._one("pad", "pad", [x], [out], attrs, name=name)

    @recorded
    def resize(self, x: str, scale: int | Sequence[int] = 2, mode: str = "nearest",
               name: str | None = None) -> str:
        n, c, *spatial = self.shape(x)
        sc = as_tuple(scale, len(spatial), 1)
        out = (n, c, *(s * f for s, f in zip(spatial, sc)))
        return self._one("resize", "resize", [x], [out], {"mode": mode}, name=name)

    # -- pooling -------------------------------------------------------------------------
    def _pool(self, op: str, x: str, k: int, stride: int | None, pad: int | Pairs,
              attrs: dict, name: str | None) -> str:
        n, c, *spatial = self.shape(x)
        nsp = len(spatial)
        kk, s = as_tuple(k, nsp, 1), as_tuple(stride if stride is not None else k, nsp, 1)
        pads = as_pairs(pad, nsp)
        ceil = bool(attrs.get("ceil_mode"))
        d = as_tuple(attrs.get("dilation", 1), nsp, 1)
        out = [window_out(L, a, b_, dd, b, e, ceil)
               for L, a, b_, dd, (b, e) in zip(spatial, kk, s, d, pads)]
        attrs = {"kernel": kk, "stride": s, "padding": pads, "global_pool": False, **attrs}
        return self._one(op, op.replace("pool_", "") + "pool", [x], [(n, c, *out)], attrs,
                         name=name)

    @recorded
    def maxpool(self, x: str, k: int = 2, stride: int | None = None, pad: int | Pairs = 0,
                ceil_mode: bool = False, dilation: int = 1, name: str | None = None) -> str:
        attrs = {"ceil_mode": ceil_mode}
        if dilation != 1:
            attrs["dilation"] = dilation
        return self._pool("pool_max", x, k, stride, pad, attrs, name)

    @recorded
    def avgpool(self, x: str, k: int = 2, stride: int | None = None, pad: int | Pairs = 0,
                count_include_pad: bool = True, ceil_mode: bool = False,
                name: str | None = None) -> str:
        attrs = {"count_include_pad": count_include_pad, "ceil_mode": ceil_mode}
        return self._pool("pool_avg", x, k, stride, pad, attrs, name)

    @recorded
    def global_avgpool(self, x: str, name: str | None = None) -> str:
        n, c, *spatial = self.shape(x)
        attrs = {"global_pool": True, "kernel": tuple(spatial), "count_include_pad": False}
        return self._one("pool_avg", "gap", [x], [(n, c, *[1] * len(spatial))], attrs,
                         name=name)

    # -- blocking ops ----------------------------------------------------------------------
    @recorded
    def act(self, x: str, kind: str = "relu", name: str | None = None, **attrs: Any) -> str:
        return self._one("activation", kind, [x], [self.shape(x)], {"kind": kind, **attrs},
                         name=name)

    @recorded
    def relu(self, x: str, name: str | None = None) -> str:
        return self.act(x, "relu", name=name)

    @recorded
    def layer_norm(self, x: str, name: str | None = None) -> str:
        return self._one("norm", "ln", [x], [self.shape(x)], {"kind": "layer_norm"}, name=name)

    @recorded
    def other(self, x: str, op_type: str = "Custom", name: str | None = None) -> str:
        return self._one("other", "other", [x], [self.shape(x)], {"op_type": op_type},
                         name=name)
