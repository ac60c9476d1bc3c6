"""Typed records that capture hands to write-back (the PyTorch side of
``LoadedModel.capture``): which module every IR node belongs to, how its
params relate to their storage, and the captured graph to edit."""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .optypes import Spec, StorageTransform

#: FX node meta key naming the IR tensor a node of a folded GraphModule computes
#: (set by write-back's graph surgery, read by per-tensor verification: a rewrite
#: may give a new node a name the original used for another tensor).
PROVENANCE = "bnfold_tensor"


class ModuleRecord(NamedTuple):
    """The innermost module around an FX node (``nn_module_stack``'s last entry)."""

    key: str  # call key: the FQN, with ``@k`` for the k-th extra call
    fqn: str  # module path in the user's model ("" for the root)
    cls: str  # class path, e.g. ``torch.nn.modules.conv.Conv2d``

    @property
    def class_name(self) -> str:
        return self.cls.rsplit(".", 1)[-1]


#: A node outside any module.
NO_MODULE = ModuleRecord("", "", "")


class ModuleCall(NamedTuple):
    """The module an IR node is *the* op of (a conv node of a Conv2d ...)."""

    fqn: str
    cls: str
    call: int  # 1 for the first call of the module, 2 for the second ...
    size: int  # how many IR nodes the call produced (1 for a plain layer)


@dataclass(frozen=True)
class TorchCapture:
    """What write-back needs from a PyTorch capture.

    Attributes:
        method: ``"export"`` (``torch.export``) or ``"fx"`` (``symbolic_trace``).
        program: the ExportedProgram (export capture, and ``.pt2`` files).
        fx_module: the traced GraphModule (fx capture).
        modules: IR node id -> the module call it is the op of.
        transforms: IR node id -> param name -> how the param relates to its storage.
        calls: module FQN -> how many times the forward calls it.
        example_inputs: the tensors used for capture.
        returns: ``(module FQN, call number)`` -> the IR tensor that call returns,
            for the calls where that is provable (see :func:`module_returns`);
            per-tensor verification reads eager modules' outputs through it.
    """

    method: str
    program: Any = None
    fx_module: Any = None
    modules: dict[str, ModuleCall] = field(default_factory=dict)
    transforms: dict[str, dict[str, StorageTransform]] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    example_inputs: tuple = ()
    returns: dict[tuple[str, int], str] = field(default_factory=dict)

    def graph_module(self) -> Any:
        """A fresh GraphModule of the captured graph (for graph surgery)."""
        return self.program.module() if self.method == "export" else self.fx_module


def call_number(key: str) -> int:
    """1 for a module's first call (``key`` without ``@``), k + 1 for ``fqn@k``."""
    return int(key.rsplit("@", 1)[1]) + 1 if "@" in key else 1


def module_returns(graph: Any, stacks: dict[str, list[tuple[str, str]]]
                   ) -> dict[tuple[str, int], str]:
    """``(fqn, call)`` -> the IR tensor a module call returns, by provenance.

    ``stacks`` gives every IR node's module stack (``(call key, fqn)`` pairs,
    outermost first, from ``nn_module_stack``). A call's scope is every node
    whose stack holds its key; the tensor it returns is the one tensor produced
    inside the scope and read outside it (or by a graph output). A call whose
    scope lets no tensor or several escape (a tuple, an input passed through) is
    left out: its forward hook's value is no IR tensor that can be named.
    """
    scope: dict[str, set[str]] = {}
    fqns: dict[str, str] = {}
    for nid, stack in stacks.items():
        for key, fqn in stack:
            scope.setdefault(key, set()).add(nid)
            fqns[key] = fqn
    out: dict[tuple[str, int], str] = {}
    for key, nids in scope.items():
        if not fqns[key]:
            continue  # the root module: its outputs are the model's
        escaping = {t for nid in nids for t in graph.node(nid).outputs
                    if any(c.id not in nids for c in graph.consumers(t))}
        if len(escaping) == 1:
            out[(fqns[key], call_number(key))] = escaping.pop()
    return out


def chain_nodes(base: str, specs: list[Spec], outputs: tuple[str, ...]
                ) -> list[tuple[str, Spec, tuple[str, ...]]]:
    """(node id, spec, output tensors) for the IR nodes of one framework node.

    One framework node may map to a chain of specs (pad -> conv, pool ->
    reshape): every spec but the last gets id and output tensor ``base:i``, and
    each spec after the first reads the previous one's output. Params, storage
    keys and transforms stay on every spec of the chain.
    """
    out: list[tuple[str, Spec, tuple[str, ...]]] = []
    prev: tuple[str, ...] = ()
    for i, spec in enumerate(specs):
        last = i == len(specs) - 1
        nid = base if last else f"{base}:{i}"
        tensors = outputs if last else (nid,)
        if i:
            spec = Spec(spec.op, prev, spec.attrs, spec.params, spec.keys, spec.transforms,
                        spec.out_shape)
        out.append((nid, spec, tensors))
        prev = tensors
    return out


#: An fx node name's counter (``add_7``) or a chain part's index (``conv2d_3:0``).
_COUNTER = re.compile(r"(?:_\d+)?(?::\d+)?$")


def readable_names(nodes: list, keep: Container[str] = ()) -> None:
    """Name every node still named by its framework id (``add__7``, which is no name
    a user wrote) after its module and op: ``stage1.0.add``, then ``stage1.0.add_1``
    for the next one in that module; an op outside any module keeps its plain op name
    (``add``, ``add_1``). Input and output nodes, and the nodes in ``keep`` (named
    after their module), keep their names."""
    taken = {n.name for n in nodes if n.name != n.id or n.id in keep}
    for n in nodes:
        if n.name != n.id or n.id in keep or n.op in ("input", "output"):
            continue
        stem = n.op if ":" in n.id else _COUNTER.sub("", n.id).rstrip("_") or n.op
        base = f"{n.scope}.{stem}" if n.scope else stem
        name, k = base, 0
        while name in taken:
            k += 1
            name = f"{base}_{k}"
        n.name = name
        taken.add(name)
