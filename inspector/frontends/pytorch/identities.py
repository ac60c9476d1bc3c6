"""Identity arithmetic left out of a folded ``GraphModule`` (issue 15, DESIGN §3.8).

The PyTorch counterpart of ``frontends/onnx/identities.py``: ``x + 0``,
``x - 0``, ``x * 1``, ``x / 1`` (a Python number, so no broadcast) and
``aten.alias`` / ``aten.clone`` calls compute nothing; timm's MobileOne writes
``0 + branch`` when a block has no scale branch. Only the graph-surgery path
(a ``GraphModule``) can drop them: module surgery keeps the user's ``forward``.
A call is dropped only when its output has the input's shape and dtype (from
the traced ``meta["val"]``).
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


def drop_identities(gm: torch.fx.GraphModule) -> int:
    """Remove identity arithmetic from ``gm`` in place (its users read the input); the
    number of calls removed. Graph outputs keep their position (the output node is
    re-pointed, FX outputs have no names to keep)."""
    removed = 0
    for node in list(gm.graph.nodes):
        x = _data_input(node)
        if x is None or not _same_tensor(x, node):
            continue
        node.replace_all_uses_with(x)
        gm.graph.erase_node(node)
        removed += 1
    return removed
