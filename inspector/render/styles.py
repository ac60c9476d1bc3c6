"""DOT statements for single nodes, collapsed boxes and legend rows."""

from __future__ import annotations

from collections import Counter

from ..analysis.verdict import Status
from ..ir import EXPRESSIVE_OPS, Node
from .dotfmt import attrs, q_id, shorten
from .status import (
    NODE_COLORS,
    NOT_FOLDABLE,
    STATUS_COLORS,
    BNStatus,
    Colors,
    LegendItem,
    legend_items,
    short_status,
    worst_color_key,
)

#: Border of the node that blocks the selected BN.
BLOCKING_COLOR = "#D00000"
#: Outline of selected BN, its roots and leaves, and of search matches.
HIGHLIGHT_COLOR = "#000000"
#: Outline of layers whose weights a fold changed (not a status colour).
CHANGED_COLOR = "#6A3D9A"



def op_kind(node: Node) -> str:
    """The op name shown to users (original op type when known)."""
    return node.kind


def _role_style(roles: set[str], colors: Colors) -> dict[str, object]:
    style = ["filled", "rounded"]
    out: dict[str, object] = {"color": colors.edge, "penwidth": "1"}
    if "match" in roles:
        out.update(peripheries="2", color=HIGHLIGHT_COLOR, penwidth="2")
    if roles & {"root", "leaf", "selected"}:
        out.update(color=HIGHLIGHT_COLOR, penwidth="3")
        style.append("dashed" if roles == {"leaf"} or roles == {"leaf", "match"} else "bold")
    if "selected" in roles:
        out["penwidth"] = "4"
    if "changed" in roles:
        out.update(color=CHANGED_COLOR, penwidth="4")
    if "blocking" in roles:
        out.update(color=BLOCKING_COLOR, penwidth="5")
        style.append("bold")
    out["style"] = ",".join(style)
    return out


_ROLE_TEXT = {
    "selected": "selected", "root": "root of the selected BN's fold",
    "leaf": "leaf of the selected BN's fold", "blocking": "blocks the selected BN's fold",
    "match": "matches the search", "changed": "parameters changed by the fold",
}


def node_statement(
    name: str, node: Node, status: BNStatus | None, roles: set[str], note: str | None = None
) -> str:
    """The DOT statement of one IR node (``name`` is its quoted-to-be DOT name).

    ``note`` is an extra label line (e.g. which parameters a fold changed).
    """
    kind = op_kind(node)
    lines = [shorten(node.name)]
    if kind != node.name:
        lines.append(kind)
    tooltip = f"{node.name} ({kind})"
    shape, size = "box", "11"
    if status is not None:
        colors = STATUS_COLORS[status.color_key]
        classes = [status.css_class]
        lines.append(short_status(status))
        tooltip += "\n" + status.sentence
    elif node.op in ("input", "output"):
        colors, classes, shape, size = NODE_COLORS["io"], ["op io"], "ellipse", "9"
    elif node.op in EXPRESSIVE_OPS:
        colors, classes = NODE_COLORS["expressive"], ["op expressive"]
    else:
        colors, classes = NODE_COLORS["op"], ["op"]
    if status is None:
        classes.append(f"op-{node.op}")
    if "blocking" in roles:
        lines.append("✗ blocks the fold")
    if note:
        lines.append(note)
    classes.extend(sorted(roles))
    tooltip += "".join(f"\n{_ROLE_TEXT[r]}" for r in sorted(roles))
    extra = {} if shape == "box" else {"height": "0.3"}
    return f"{q_id(name)} " + attrs(
        id=node.id, class_=" ".join(classes), label="\n".join(lines), tooltip=tooltip,
        shape=shape, fontsize=size, fillcolor=colors.fill, fontcolor=colors.font,
        **_role_style(roles, colors), **extra,
    )


def count_phrase(counts: Counter[str]) -> str:
    """E.g. ``6 both, 1 optimal-only, 2 not foldable`` (non-zero counts only)."""
    return ", ".join(f"{counts[s]} {s.short}" for s in Status if counts[s])


def box_statement(
    name: str, prefix: str, members: list[str], statuses: dict[str, BNStatus], n_matches: int
) -> str:
    """A collapsed box: prefix, node count, per-status BN counts, worst colour."""
    bns = [statuses[m] for m in members if m in statuses]
    head = f"{prefix} — {len(members)} nodes"
    text = head
    if bns:
        text += "\nBN: " + count_phrase(Counter(s.status for s in bns))
    if n_matches:
        text += f"\n{n_matches} search matches"
    key = worst_color_key(s.color_key for s in bns)
    colors = STATUS_COLORS[key] if key else NODE_COLORS["group"]
    status = next((s.status for s in bns if s.color_key == key), None)
    classes = ["group"] + ([f"status-{status}"] if status else []) + (
        ["match"] if n_matches else [])
    roles = {"match"} if n_matches else set()
    style = _role_style(roles, colors)
    style["style"] = "filled"
    return f"{q_id(name)} " + attrs(
        id=name, class_=" ".join(classes), label=text, tooltip=text.replace("\n", " — "),
        shape="box3d", fillcolor=colors.fill, fontcolor=colors.font, **style,
    )


def legend_statement(name: str, item: LegendItem, count: int) -> str:
    """One legend row drawn as a small node in the status colours."""
    status = NOT_FOLDABLE if item.key.startswith(NOT_FOLDABLE) else item.key
    return f"{q_id(name)} " + attrs(
        id=name, class_=f"legend-item status-{status}", label=f"{item.label} ({count})",
        tooltip=f"{count} BN: {item.label}", shape="box", style="filled,rounded",
        fillcolor=item.colors.fill, fontcolor=item.colors.font, color=item.colors.edge,
        fontsize="10",
    )


def stub_statement(name: str, count: int, upstream: bool) -> str:
    """A ``…`` node standing for edges that leave the focus view."""
    side = "inputs from" if upstream else "outputs to"
    c = NODE_COLORS["stub"]
    return f"{q_id(name)} " + attrs(
        id=name, class_="stub", label="…", tooltip=f"{side} {count} node(s) outside the view",
        shape="plaintext", fontcolor=c.font, fontsize="14",
    )


def legend_block(
    statuses: dict[str, BNStatus], with_adjacent: bool, taken: set[str], rankdir: str
) -> list[str]:
    """The status legend as a DOT cluster: one compact column, one row per colour.

    A column (never a row) so that the legend is never wider than a narrow graph:
    top-down layouts chain the rows over successive ranks, left-right layouts
    put them on one rank (which ``dot`` stacks vertically). ``taken`` holds the
    DOT names in use; the legend's names are added to it.
    """
    counts = Counter(s.color_key for s in statuses.values())
    items = legend_items({k for k, c in counts.items() if c}, with_adjacent=with_adjacent)
    names = [fresh_name(f"legend:{it.key}", taken) for it in items]
    out = [f"  subgraph {q_id(fresh_name('cluster:legend', taken))} {{", "    graph " + attrs(
        id="legend", class_="legend", label="BN status", style="rounded", color="#BBBBBB",
        fontcolor="#222222", fontsize="11",
    )]
    if rankdir in ("LR", "RL"):
        out.append("    { rank=same; " + " ".join(q_id(n) for n in names) + " }")
    order = names[::-1] if rankdir in ("LR", "RL", "BT") else names  # LR stacks upwards
    out += [f"    {q_id(a)} -> {q_id(b)} [style=invis]" for a, b in zip(order, order[1:])]
    out += ["    " + legend_statement(n, it, counts[it.key]) for n, it in zip(names, items)]
    out.append("  }")
    return out


def fresh_name(base: str, taken: set[str]) -> str:
    """``base`` made unique against ``taken`` (by appending ``#``); recorded in it."""
    name = base
    while name in taken:
        name += "#"
    taken.add(name)
    return name
