"""A tiny framework-neutral graph IR: nodes, tensors, numpy parameters.

Conventions every frontend must follow (the analysis relies on them):

* Tensors are named edges. ``Tensor.shape`` is the concrete shape seen with the
  example input (batch included) or ``None`` when unknown.
* Graph inputs are ``input`` nodes (no inputs, one output) and graph outputs are
  ``output`` nodes (one input, no outputs). Reaching either blocks folding.
* ``Node.inputs`` lists *data* tensors only. Constant parameters live in
  ``Node.params`` as numpy arrays (any float dtype; folding computes in float64).
* ``Node.param_keys`` maps a param name to the framework's storage key
  (state-dict key, ONNX initializer name). Two nodes with the same key share
  storage; folding never edits shared storage.
* Layouts (all axes non-negative, channel axis given explicitly):

  ========================  ==========================================  =============================
  op                        params                                      attrs
  ========================  ==========================================  =============================
  conv                      weight (C_out, C_in/groups, *k), bias?       groups, stride, padding
                                                                        (list of (begin, end) per
                                                                        spatial dim), dilation,
                                                                        padding_mode: zeros|reflect|
                                                                        replicate|circular
  conv_transpose            weight (C_in, C_out/groups, *k), bias?       groups, stride, padding,
                                                                        output_padding, dilation
  linear                    weight (out, in), bias?                     (input features on last axis)
  batch_norm                gamma, beta, mean, var                      eps, axis (channel axis),
                                                                        uses_batch_stats
  affine                    scale (C,), shift (C,)                      axis
  add / sub / mul           -                                           (elementwise, two data inputs
                                                                        of one shape; sub = a - b)
  concat                    -                                           axis
  split                     -                                           axis, sizes (one per output)
  slice                     -                                           axis, start, end, step
                                                                        (Python slice semantics;
                                                                        end None = to the edge)
  pool_max / pool_avg       -                                           kernel, stride, padding,
                                                                        count_include_pad, global_pool
  reshape                   -                                           (uses input/output shapes)
  transpose                 -                                           perm
  pad                       -                                           mode: constant|reflect|
                                                                        replicate|circular, pads
                                                                        [(begin, end) per axis],
                                                                        value
  resize                    -                                           mode: nearest|linear|cubic,
                                                                        extrapolates (some samples
                                                                        fall outside the input and
                                                                        get extrapolation_value)
  identity                  -                                           -
  activation                -                                           kind (relu, silu, ...)
  norm                      -                                           kind (layer_norm, ...)
  other                     -                                           op_type (original op name);
                                                                        a BN layer that cannot be a
                                                                        batch_norm: bn_layer (reason
                                                                        code), bn_why (sentence)
  ========================  ==========================================  =============================

  ``add`` / ``mul`` with a constant operand are ``affine`` when the constant is
  per-channel; otherwise ``other``. ``mul`` always means data-dependent.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

#: Linear layers with a weight and an optional bias (what a fold gives a bias).
LINEAR_OPS = frozenset({"conv", "conv_transpose", "linear"})
#: Ops that can absorb a per-channel affine map into constant parameters.
EXPRESSIVE_OPS = LINEAR_OPS | {"batch_norm", "affine"}
#: Ops the analysis may walk through, each under its own rule.
TRANSPARENT_OPS = frozenset({"identity", "add", "sub", "concat", "split", "slice", "pool_max", "pool_avg",
                             "reshape", "transpose", "pad", "resize"})
#: Ops that always block folding.
BLOCKING_OPS = frozenset({"activation", "mul", "norm", "other", "input", "output"})
OP_KINDS = EXPRESSIVE_OPS | TRANSPARENT_OPS | BLOCKING_OPS
#: Ops that count as a batch-normalization layer (candidates for removal).
#: An ``affine`` node counts only with ``attrs["bn_like"]`` (a decomposed BN).
BN_OPS = frozenset({"batch_norm", "affine"})


def is_bn(node: Node) -> bool:
    """True for a batch-norm layer or a BN-like affine op (a removal candidate).

    A BN layer the frontend cannot map to ``batch_norm`` (its scale is computed at
    run time, per-element statistics) stays ``other`` with ``attrs["bn_layer"]``
    set to the reason code: it counts as a BN that cannot fold.
    """
    return (node.op == "batch_norm" or (node.op == "affine" and bool(node.attrs.get("bn_like")))
            or (node.op == "other" and bool(node.attrs.get("bn_layer"))))


# -- attribute normalisation (one reading of kernel/stride/dilation/padding) -----
def as_tuple(value: Any, n: int, default: int) -> tuple[int, ...]:
    """An int or a sequence of ints as an ``n``-tuple."""
    if value is None:
        return (default,) * n
    if isinstance(value, (int, np.integer)):
        return (int(value),) * n
    vals = tuple(int(v) for v in value)
    if len(vals) == 1 and n > 1:
        return vals * n
    if len(vals) != n:
        raise ValueError(f"expected {n} values, got {value!r}")
    return vals


def as_pairs(value: Any, n: int) -> tuple[tuple[int, int], ...]:
    """Padding as ``n`` (begin, end) pairs; accepts an int, n ints or n pairs."""
    if value is None:
        return ((0, 0),) * n
    if isinstance(value, (int, np.integer)):
        return ((int(value), int(value)),) * n
    vals = list(value)
    if vals and all(isinstance(v, (int, np.integer)) for v in vals):
        if len(vals) == n:
            return tuple((int(v), int(v)) for v in vals)
        if len(vals) == 1:
            return ((int(vals[0]), int(vals[0])),) * n
        if len(vals) == 2 * n:  # ONNX style: all begins then all ends
            return tuple((int(vals[i]), int(vals[i + n])) for i in range(n))
        raise ValueError(f"cannot read padding {value!r} for {n} spatial dims")
    pairs = tuple((int(b), int(e)) for b, e in vals)
    if len(pairs) != n:
        raise ValueError(f"expected {n} padding pairs, got {value!r}")
    return pairs


@dataclass(frozen=True)
class Tensor:
    """A named edge; ``shape`` is concrete (example input) or None if unknown."""

    name: str
    shape: tuple[int, ...] | None = None
    dtype: str = "float32"


@dataclass
class Node:
    """One operation. ``id`` is stable and unique; ``name`` is for display."""

    id: str
    op: str
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    name: str = ""
    attrs: dict[str, Any] = field(default_factory=dict)
    params: dict[str, np.ndarray] = field(default_factory=dict)
    param_keys: dict[str, str] = field(default_factory=dict)
    #: Module path (torch) or ONNX node name, used to group nodes for display.
    scope: str = ""

    def __post_init__(self) -> None:
        if self.op not in OP_KINDS:
            raise ValueError(f"unknown op kind {self.op!r}; use 'other' with attrs['op_type']")
        if not self.name:
            self.name = self.id

    @property
    def kind(self) -> str:
        """The op shown to users: the original op type when known, else the
        activation/norm kind, else the IR op."""
        return str(self.attrs.get("op_type") or self.attrs.get("kind") or self.op)

    @property
    def label(self) -> str:
        """Short human label: the original name and the op type."""
        return f"{self.name} ({self.kind})"


@dataclass
class Graph:
    """A DAG of nodes in topological order plus its tensors.

    Build one with :meth:`from_nodes`; treat it as immutable and use
    :meth:`copy` / :meth:`with_nodes` to derive new graphs.
    """

    nodes: list[Node]
    tensors: dict[str, Tensor]
    name: str = "model"
    #: Framework name ("torch", "onnx", "synthetic") and the model dtype.
    framework: str = "synthetic"
    dtype: str = "float32"
    _producer: dict[str, str] = field(default_factory=dict, repr=False)
    _consumers: dict[str, list[str]] = field(default_factory=dict, repr=False)
    _by_id: dict[str, Node] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._reindex()

    @classmethod
    def from_nodes(
        cls,
        nodes: Iterable[Node],
        shapes: dict[str, tuple[int, ...] | None] | None = None,
        **kwargs: Any,
    ) -> Graph:
        """Build a graph; tensors are created from node inputs/outputs."""
        nodes = list(nodes)
        shapes = shapes or {}
        tensors: dict[str, Tensor] = {}
        for n in nodes:
            for t in (*n.inputs, *n.outputs):
                if t not in tensors:
                    shape = shapes.get(t)
                    tensors[t] = Tensor(t, tuple(shape) if shape is not None else None)
        return cls(nodes=_toposort(nodes), tensors=tensors, **kwargs)

    def _reindex(self) -> None:
        self._by_id = {}
        self._producer = {}
        self._consumers = {t: [] for t in self.tensors}
        for n in self.nodes:
            if n.id in self._by_id:
                raise ValueError(f"duplicate node id {n.id!r}")
            self._by_id[n.id] = n
            for t in n.outputs:
                if t in self._producer:
                    raise ValueError(f"tensor {t!r} has two producers")
                self._producer[t] = n.id
            for t in n.inputs:
                self._consumers.setdefault(t, []).append(n.id)

    # -- queries -----------------------------------------------------------
    def node(self, node_id: str) -> Node:
        return self._by_id[node_id]

    def has_node(self, node_id: str) -> bool:
        return node_id in self._by_id

    def producer(self, tensor: str) -> Node | None:
        nid = self._producer.get(tensor)
        return self._by_id[nid] if nid is not None else None

    def consumers(self, tensor: str) -> list[Node]:
        return [self._by_id[i] for i in self._consumers.get(tensor, [])]

    def producer_id(self, tensor: str) -> str | None:  # no node lookup
        return self._producer.get(tensor)

    def consumer_ids(self, tensor: str) -> list[str]:  # no node lookup; do not mutate the list
        return self._consumers.get(tensor, [])

    def shape(self, tensor: str) -> tuple[int, ...] | None:
        t = self.tensors.get(tensor)
        return t.shape if t is not None else None

    def predecessors(self, node: Node) -> list[Node]:
        return [p for t in node.inputs if (p := self.producer(t)) is not None]

    def successors(self, node: Node) -> list[Node]:
        return [c for t in node.outputs for c in self.consumers(t)]

    def bn_nodes(self) -> list[Node]:
        return [n for n in self.nodes if is_bn(n)]

    def find(self, text: str) -> Node:
        """Node whose id or name equals ``text`` (KeyError if none)."""
        if text in self._by_id:
            return self._by_id[text]
        for n in self.nodes:
            if n.name == text:
                return n
        raise KeyError(text)

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    # -- derivation (never mutate a graph others may hold) -----------------
    def copy(self) -> Graph:
        """Deep copy (parameters included)."""
        return Graph(
            nodes=[copy.deepcopy(n) for n in self.nodes],
            tensors=dict(self.tensors),
            name=self.name,
            framework=self.framework,
            dtype=self.dtype,
        )

    def with_nodes(self, replaced: dict[str, Node]) -> Graph:
        """A new graph where nodes with the given ids are replaced (shallow).

        When the edges stay the same (the usual fold step), the new graph shares
        this one's edge indexes and keeps the replacements as an overlay: O(changes),
        not O(nodes), so folding thousands of BNs one by one stays linear
        (:class:`_Derived`; its node list is built on first use).
        """
        same_edges = all(
            n.inputs == self._by_id[i].inputs and n.outputs == self._by_id[i].outputs
            for i, n in replaced.items()
        )
        if not same_edges:
            return Graph(nodes=[replaced.get(n.id, n) for n in self.nodes], tensors=dict(self.tensors),
                         name=self.name, framework=self.framework, dtype=self.dtype)
        g = object.__new__(_Derived)
        if isinstance(self, _Derived) and hasattr(self, "_src"):  # not one rebuilt by dataclasses.replace
            g._src, base, over = self._src, self._base, {**self._over, **replaced}
        else:
            g._src, base, over = self.nodes, self._by_id, dict(replaced)
        if len(over) > 16 and len(over) ** 2 > len(g._src):  # amortised O(sqrt(N)) per step
            base, over = {**base, **over}, {}
        g._base, g._over, g._nodes = base, over, None
        g._by_id = _Overlay(over, base) if over else base
        g.tensors, g.name, g.framework, g.dtype = self.tensors, self.name, self.framework, self.dtype
        g._producer, g._consumers = self._producer, self._consumers  # never mutated: shared
        return g


class _Overlay(dict):
    """A :class:`_Derived` graph's replaced nodes over its base dict (faster than a ChainMap)."""

    __slots__ = ("base",)

    def __init__(self, over: dict[str, Node], base: dict[str, Node]) -> None:
        super().__init__(over)
        self.base = base

    def __missing__(self, key: str) -> Node:
        return self.base[key]

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key) or key in self.base

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default


class _Derived(Graph):
    """A graph with the node order of ``_src`` (the original graph's node list) and
    the nodes ``_base`` updated by ``_over`` (same edges); made only by
    :meth:`Graph.with_nodes`. ``nodes`` is materialised on first use."""

    @property  # type: ignore[override]
    def nodes(self) -> list[Node]:
        if self._nodes is None:
            by_id = {**self._base, **self._over}
            self._nodes = [by_id[n.id] for n in self._src]
        return self._nodes

    @nodes.setter
    def nodes(self, value: list[Node]) -> None:
        self._nodes = value

    def __len__(self) -> int:
        return len(self._nodes if self._nodes is not None else self._src)


def bypass(node: Node) -> Node:
    """The node turned into an identity (how a folded BN stays in the IR)."""
    return replace(node, op="identity", params={}, param_keys={},
                   attrs={"folded_from": node.op, **node.attrs}, inputs=node.inputs[:1])


def _toposort(nodes: list[Node]) -> list[Node]:
    """Stable topological order (Kahn); raises on cycles."""
    producer = {t: n.id for n in nodes for t in n.outputs}
    indeg = {n.id: 0 for n in nodes}
    users: dict[str, list[str]] = {n.id: [] for n in nodes}
    for n in nodes:
        for t in n.inputs:
            p = producer.get(t)
            if p is not None:
                indeg[n.id] += 1
                users[p].append(n.id)
    by_id = {n.id: n for n in nodes}
    order_index = {n.id: i for i, n in enumerate(nodes)}
    import heapq

    ready = [(order_index[i], i) for i, d in indeg.items() if d == 0]
    heapq.heapify(ready)
    out: list[Node] = []
    while ready:
        _, nid = heapq.heappop(ready)
        out.append(by_id[nid])
        for u in users[nid]:
            indeg[u] -= 1
            if indeg[u] == 0:
                heapq.heappush(ready, (order_index[u], u))
    if len(out) != len(nodes):
        raise ValueError("graph has a cycle")
    return out
