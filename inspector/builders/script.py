"""How a builder records itself: every call as a line of Python, graphs that print as
the script that made them, and one-line-per-node summaries (short failure reports)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ..ir import Graph


def window_out(size: int, k: int, s: int, d: int, b: int, e: int, ceil: bool = False) -> int:
    """Output size of a window op along one axis (kernel k, stride s, dilation d, pads b, e)."""
    span = d * (k - 1) + 1
    if not ceil:
        return (size + b + e - span) // s + 1
    out = -(-(size + b + e - span) // s) + 1
    return out - 1 if (out - 1) * s >= size + b else out


def recorded(method: Callable) -> Callable:
    """Log the call as a line of Python so that ``script()`` can replay it."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        depth = self._depth
        self._depth += 1
        try:
            result = method(self, *args, **kwargs)
        finally:
            self._depth -= 1
        if depth == 0:
            parts = [self._fmt(a) for a in args] + [f"{k}={self._fmt(v)}" for k, v in kwargs.items()]
            call = f"b.{method.__name__}({', '.join(parts)})"
            if isinstance(result, str):
                call = f"{result} = {call}"
            elif isinstance(result, list):
                call = f"{', '.join(result)}, = {call}" if len(result) == 1 else \
                    f"{', '.join(result)} = {call}"
            self._log.append(call)
        return result

    return wrapper


class ScriptedGraph(Graph):
    """A Graph that prints as the builder script that made it (short failure reports)."""

    script: str = ""

    def __repr__(self) -> str:
        return f"<graph {self.name!r} ({len(self.nodes)} nodes) built by:\n{self.script}\n>"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # hypothesis' pretty printer
        p.text(repr(self))


def graph_summary(graph: Graph) -> str:
    """One line per node: id, op, inputs -> outputs with shapes (for messages)."""
    lines = []
    for n in graph.nodes:
        ins = ", ".join(f"{t}{list(graph.shape(t) or [])}" for t in n.inputs)
        outs = ", ".join(f"{t}{list(graph.shape(t) or [])}" for t in n.outputs)
        extra = {k: v for k, v in n.attrs.items() if k in ("groups", "padding", "kind", "sizes")}
        lines.append(f"{n.id:10s} {n.op:14s} {ins} -> {outs} {extra if extra else ''}")
    return "\n".join(lines)
