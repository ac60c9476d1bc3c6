"""Identity arithmetic left out of a folded ``GraphModule`` (issue 15, DESIGN §3.8).

The PyTorch counterpart of ``frontends/onnx/identities.py``: ``x + 0``,
``x - 0``, ``x * 1``, ``x / 1`` (a Python number, so no broadcast) and
``aten.alias`` / ``aten.clone`` calls compute nothing; timm's MobileOne writes
``0 + branch`` when a block has no scale branch. Only the graph-surgery path
(a ``GraphModule``) can drop them: module surgery keeps the user's ``forward``.
A call is dropped only when its output has the input's shape and dtype (from
the traced ``meta["val"]``), and, but for a neutral in-place call (``out += 0``),
not when an in-place write could reach it and its input has another reader: YOLO's pose head clones its keypoints and writes the decoded values into
the clone (``copy_`` on slices), so without the clone it would overwrite the
raw keypoints it also returns.
"""

from __future__ import annotations

import operator

import torch

__all__ = ["drop_identities"]

_aten = torch.ops.aten
#: Call target -> (neutral number, whether the number may come first).
_NEUTRAL = {
    _aten.add.Tensor: (0, True), _aten.add.Scalar: (0, True), operator.add: (0, True),
    _aten.sub.Tensor: (0, False), _aten.sub.Scalar: (0, False), operator.sub: (0, False),
    _aten.mul.Tensor: (1, True), _aten.mul.Scalar: (1, True), operator.mul: (1, True),
    _aten.div.Tensor: (1, False), _aten.div.Scalar: (1, False), operator.truediv: (1, False),
    # in place (``out += 0``: timm's MobileOne with no scale branch): self is the data input
    _aten.add_.Tensor: (0, False), _aten.add_.Scalar: (0, False),
    _aten.sub_.Tensor: (0, False), _aten.sub_.Scalar: (0, False),
    _aten.mul_.Tensor: (1, False), _aten.mul_.Scalar: (1, False),
    _aten.div_.Tensor: (1, False), _aten.div_.Scalar: (1, False),
}
_COPIES = {_aten.alias.default, _aten.clone.default}
_IN_PLACE_NEUTRAL = {_aten.add_.Tensor, _aten.add_.Scalar, _aten.sub_.Tensor, _aten.sub_.Scalar,
                     _aten.mul_.Tensor, _aten.mul_.Scalar, _aten.div_.Tensor, _aten.div_.Scalar}
_IN_PLACE_OPERATORS = {operator.iadd, operator.isub, operator.imul, operator.itruediv,
                       operator.ifloordiv, operator.imod, operator.ipow, operator.imatmul,
                       operator.iand, operator.ior, operator.ixor, operator.ilshift, operator.irshift}


def _data_input(node: torch.fx.Node) -> torch.fx.Node | None:
    """The input ``node`` returns unchanged, else None."""
    if node.op != "call_function":
        return None
    if node.target in _COPIES:
        x = node.args[0] if node.args else None
        return x if isinstance(x, torch.fx.Node) and set(node.kwargs) <= {"memory_format"} else None
    if node.target not in _NEUTRAL or len(node.args) != 2 or node.kwargs:
        return None
    neutral, either = _NEUTRAL[node.target]
    a, b = node.args
    if isinstance(a, torch.fx.Node) and _is_number(b, neutral):
        return a
    if either and isinstance(b, torch.fx.Node) and _is_number(a, neutral):
        return b
    return None


def _is_number(value: object, neutral: int) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == neutral


def _same_tensor(x: torch.fx.Node, y: torch.fx.Node) -> bool:
    vx, vy = x.meta.get("val"), y.meta.get("val")
    return (isinstance(vx, torch.Tensor) and isinstance(vy, torch.Tensor)
            and vx.shape == vy.shape and vx.dtype == vy.dtype)


def _writes_in_place(node: torch.fx.Node) -> bool:
    schema = getattr(node.target, "_schema", None)
    if node.op == "call_function" and schema is not None:
        return schema.is_mutable
    if node.op == "call_method":
        return str(node.target).endswith("_") and not str(node.target).startswith("_")
    return node.op == "call_function" and node.target in _IN_PLACE_OPERATORS


def _mutated(node: torch.fx.Node) -> list[torch.fx.Node]:
    """The tensors ``node`` writes into in place (empty: none)."""
    if not _writes_in_place(node):
        return []
    schema = getattr(node.target, "_schema", None)
    if node.op == "call_function" and schema is not None:
        written = [a for a, arg in zip(node.args, schema.arguments)
                   if arg.alias_info is not None and arg.alias_info.is_write]
        return [a for a in written if isinstance(a, torch.fx.Node)]
    first = node.args[0] if node.args else None
    return [first] if isinstance(first, torch.fx.Node) else []


def _views(node: torch.fx.Node) -> set[torch.fx.Node]:
    """``node`` and every node that may share its memory (an aten op whose schema says it
    returns an alias; any call without a schema, to be safe)."""
    out: set[torch.fx.Node] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if n in out:
            continue
        out.add(n)
        for u in n.users:
            schema = getattr(u.target, "_schema", None)
            if u.op == "output":
                continue
            if schema is None or any(r.alias_info is not None for r in schema.returns):
                stack.append(u)
    return out


def _aliasing_is_safe(node: torch.fx.Node, x: torch.fx.Node, written: set[torch.fx.Node]) -> bool:
    """Whether ``node`` (a copy of ``x``) may become ``x`` itself: no in-place write reaches
    either, or ``x`` has no other reader (and is no graph input or attribute) to see it."""
    if not written & (_views(x) | _views(node)):
        return True
    return x.op not in ("placeholder", "get_attr") and set(x.users) == {node}


def drop_identities(gm: torch.fx.GraphModule) -> int:
    """Remove identity arithmetic from ``gm`` in place (its users read the input); the
    number of calls removed. A neutral in-place call (``x += 0``) always goes: it returns
    ``x`` itself and changes nothing. Another stays when an in-place write (``relu_``,
    ``copy_`` into a slice) could reach its input or output and the input has another
    reader that would see it. Graph outputs keep their position (the output node is
    re-pointed, FX outputs have no names to keep)."""
    def dropped(node: torch.fx.Node) -> torch.fx.Node | None:  # the input it returns, if an identity
        x = _data_input(node)
        return x if x is not None and _same_tensor(x, node) else None

    neutral_writes = {n for n in gm.graph.nodes if n.target in _IN_PLACE_NEUTRAL and dropped(n) is not None}
    removed = 0
    for node in list(gm.graph.nodes):
        x = dropped(node)  # read now: an earlier removal may have re-pointed its input
        if x is None:
            continue
        if node not in neutral_writes:
            written = {t for n in gm.graph.nodes if n not in neutral_writes for t in _mutated(n)}
            if not _aliasing_is_safe(node, x, written):
                continue
        node.replace_all_uses_with(x)
        gm.graph.erase_node(node)
        removed += 1
    return removed
