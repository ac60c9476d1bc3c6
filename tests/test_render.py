"""inspector.render: annotated DOT views and SVG export (hand-made graphs and verdicts)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest

from inspector.analysis.verdict import Reason, Status, Verdict
from inspector.errors import InvalidGraphError, MissingDependencyError
from inspector.folding.plan import Analysis
from inspector.ir import Graph, Node
from inspector.render import (
    STATUS_COLORS,
    default_view,
    dot_available,
    group_of,
    legend_items,
    render_svg,
    to_dot,
)
from inspector.render.dotfmt import q_id
from inspector.render.status import compute_statuses
from inspector.render.views import count_boxes

SVG = "{http://www.w3.org/2000/svg}"
XLINK_TITLE = "{http://www.w3.org/1999/xlink}title"
needs_dot = pytest.mark.skipif(not dot_available(), reason="Graphviz 'dot' not installed")


# -- hand-made graphs -------------------------------------------------------------
def _n(nid: str, op: str, ins: list[str], outs: list[str], scope: str = "", **attrs) -> Node:
    return Node(nid, op, tuple(ins), tuple(outs), scope=scope, attrs=attrs)


def tiny_graph() -> Graph:
    """stem (conv1, bn1, relu) -> layer1.0 (conv2, bn2, bn3, relu2, conv3, bn4, add)."""
    return Graph.from_nodes([
        _n("inp", "input", [], ["x"]),
        _n("conv1", "conv", ["x"], ["t1"], "stem.conv1"),
        _n("bn1", "batch_norm", ["t1"], ["t2"], "stem.bn1"),
        _n("relu", "activation", ["t2"], ["t3"], "stem.relu", kind="relu"),
        _n("conv2", "conv", ["t3"], ["t4"], "layer1.0.conv1"),
        _n("bn2", "batch_norm", ["t4"], ["t5"], "layer1.0.bn1"),
        _n("bn3", "batch_norm", ["t5"], ["t6"], "layer1.0.bn2"),
        _n("relu2", "activation", ["t6"], ["t7"], "layer1.0.relu", kind="relu"),
        _n("conv3", "conv", ["t7"], ["t8"], "layer1.0.conv2"),
        _n("bn4", "batch_norm", ["t8"], ["t9"], "layer1.0.bn3"),
        _n("add", "add", ["t9", "t3"], ["t10"], "layer1.0"),
        _n("out", "output", ["t10"], []),
    ], shapes={"x": (1, 3, 8, 8)}, name="tiny")


PAD_REASON = "forward: reaches `layer1.0.conv2` which zero-pads (padding=1) while the shift is non-zero"
RELU_REASON = "backward: reaches non-linearity `layer1.0.relu` (ReLU)"


def tiny_analyses(g: Graph) -> tuple[Analysis, Analysis]:
    opt = {
        "bn1": Verdict("bn1", "bn1", "folded", "backward", ("conv1",), ("bn1",)),
        "bn2": Verdict("bn2", "bn2", "folded", "backward", ("conv2",), ("bn2", "conv3")),
        "bn3": Verdict("bn3", "bn3", "not_foldable", reason_code=Reason.ZERO_PADDING,
                       reason=PAD_REASON, blocking_node="conv3"),
        "bn4": Verdict("bn4", "bn4", "not_foldable", roots=("conv3",), leaves=("bn4", "conv2"),
                       reason_code=Reason.NONLINEARITY, reason=RELU_REASON, blocking_node="relu2"),
    }
    adj = dict(opt)
    adj["bn2"] = Verdict("bn2", "bn2", "not_foldable", reason_code=Reason.NOT_ADJACENT,
                         reason="its producer feeds another layer")
    return Analysis("optimal", g, g, opt), Analysis("adjacent", g, g, adj)


@pytest.fixture()
def tiny() -> tuple[Graph, Analysis, Analysis]:
    g = tiny_graph()
    return (g, *tiny_analyses(g))


def chain_graph(stages: int = 5, blocks: int = 10, layers: int = 10) -> Graph:
    """conv -> bn -> relu repeated; scopes ``stages.S.blocks.B.<op>K`` (1,502 nodes)."""
    nodes = [_n("input", "input", [], ["x"])]
    t = "x"
    for s in range(stages):
        for b in range(blocks):
            for k in range(layers):
                for op in ("conv", "batch_norm", "activation"):
                    sc = f"stages.{s}.blocks.{b}.{op}{k}"
                    nodes.append(_n(sc, op, [t], [sc + ":0"], sc))
                    t = sc + ":0"
    nodes.append(_n("output", "output", [t], []))
    return Graph.from_nodes(nodes, name="chain")


def densenet_graph() -> Graph:
    """DenseNet-121-shaped: 429 nodes, 121 BNs, concat of all previous features."""
    nodes = [_n("input", "input", [], ["x"])]

    def add(nid: str, op: str, ins: list[str], scope: str) -> str:
        nodes.append(_n(nid, op, ins, [nid + ":0"], scope))
        return nid + ":0"

    t = add("features.conv0", "conv", ["x"], "features.conv0")
    t = add("features.norm0", "batch_norm", [t], "features.norm0")
    t = add("features.pool0", "pool_max", [add("features.relu0", "activation", [t],
                                                 "features.relu0")], "features.pool0")
    for b, count in enumerate([6, 12, 24, 16], 1):
        feats = [t]
        for i in range(1, count + 1):
            s = f"features.denseblock{b}.denselayer{i}"
            c = add(s + ".cat", "concat", feats, s) if len(feats) > 1 else feats[0]
            for name, op in (("norm1", "batch_norm"), ("relu1", "activation"), ("conv1", "conv"),
                             ("norm2", "batch_norm"), ("relu2", "activation"), ("conv2", "conv")):
                c = add(f"{s}.{name}", op, [c], f"{s}.{name}")
            feats.append(c)
        t = add(f"features.denseblock{b}.cat", "concat", feats, f"features.denseblock{b}")
        if b < 4:
            for name, op in (("norm", "batch_norm"), ("relu", "activation"), ("conv", "conv"),
                             ("pool", "pool_avg")):
                t = add(f"features.transition{b}.{name}", op, [t], f"features.transition{b}.{name}")
    t = add("features.norm5", "batch_norm", [t], "features.norm5")
    t = add("classifier", "linear", [add("pool", "pool_avg", [t], "")], "classifier")
    nodes.append(_n("output", "output", [t], []))
    return Graph.from_nodes(nodes, name="densenet121")


def all_folded(g: Graph) -> Analysis:
    verdicts = {n.id: Verdict(n.id, n.name, "folded", "backward", (g.predecessors(n)[0].id,),
                              (n.id,)) for n in g.bn_nodes()}
    return Analysis("optimal", g, g, verdicts)


# -- helpers ----------------------------------------------------------------------
def dot_attrs(dot: str, name: str) -> dict[str, str] | None:
    """Attributes of the DOT node statement named ``name`` (None if absent)."""
    head = q_id(name) + " ["
    for line in dot.splitlines():
        if line.strip().startswith(head):
            return dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', line))
    return None


def edges(dot: str) -> list[tuple[str, str, dict[str, str]]]:
    out = []
    for line in dot.splitlines():
        m = re.match(r'\s*"((?:[^"\\]|\\.)*)" -> "((?:[^"\\]|\\.)*)" (\[.*\])$', line)
        if m:
            out.append((m[1], m[2], dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m[3]))))
    return out


def svg_root(dot: str) -> ET.Element:
    return ET.fromstring(render_svg(dot))


def svg_groups(root: ET.Element) -> dict[str, ET.Element]:
    return {g.get("id"): g for g in root.iter(f"{SVG}g") if g.get("id")}


# -- status colours and classes ---------------------------------------------------
@pytest.mark.parametrize("bn, key, cls", [
    ("bn1", "both", "bn status-both"),
    ("bn2", "optimal_only", "bn status-optimal_only"),
    ("bn3", "not_foldable_padding", "bn status-not_foldable reason-zero_padding"),
    ("bn4", "not_foldable", "bn status-not_foldable reason-nonlinearity"),
])
def test_bn_colour_and_class_follow_status(tiny, bn, key, cls):
    g, opt, adj = tiny
    a = dot_attrs(to_dot(g, opt, adj), bn)
    assert a["fillcolor"] == STATUS_COLORS[key].fill
    assert a["fontcolor"] == STATUS_COLORS[key].font
    assert a["class"] == cls


def test_bn_without_adjacent_analysis_is_folded_or_not_foldable(tiny):
    g, opt, _ = tiny
    statuses = compute_statuses(g, opt)
    assert {s.status for s in statuses.values()} == {"folded", "not_foldable"}


def test_bn_folded_only_by_adjacent_is_shown_not_hidden(tiny):
    g, opt, adj = tiny
    folded = Verdict("bn3", "bn3", Status.FOLDED, "backward", ("bn2",), ("bn3",))
    adj = replace(adj, verdicts={**adj.verdicts, "bn3": folded})  # a copy: fixtures stay as built
    assert dot_attrs(to_dot(g, opt, adj), "bn3")["class"].startswith("bn status-adjacent_only")


def test_non_bn_nodes_are_neutral_and_io_small_ellipses(tiny):
    g, opt, adj = tiny
    dot = to_dot(g, opt, adj)
    assert dot_attrs(dot, "relu")["fillcolor"] == "#FFFFFF"
    assert "expressive" in dot_attrs(dot, "conv1")["class"]
    assert dot_attrs(dot, "inp")["shape"] == "ellipse"


@needs_dot
def test_reason_sentence_is_svg_title_and_tooltip(tiny):
    g, opt, adj = tiny
    node = svg_groups(svg_root(to_dot(g, opt, adj)))["bn3"]
    assert node.get("class") == "node bn status-not_foldable reason-zero_padding"
    assert "not foldable: " + PAD_REASON in node.find(f"{SVG}title").text
    assert "not foldable: " + PAD_REASON in node.find(f".//{SVG}a").get(XLINK_TITLE)


def test_folded_tooltips_name_direction_roots_and_modes(tiny):
    g, opt, adj = tiny
    dot = to_dot(g, opt, adj)
    assert "folded (backward) into conv1 — by adjacent and optimal" in dot_attrs(dot, "bn1")["tooltip"]
    tip = dot_attrs(dot, "bn2")["tooltip"]
    assert "folded (backward) into conv2" in tip
    assert "by optimal only; adjacent: not foldable: its producer feeds another layer" in tip


# -- legend and caption -----------------------------------------------------------
def test_legend_lists_main_statuses_even_when_absent():
    g = tiny_graph()
    dot = to_dot(g, all_folded(g), all_folded(g))
    for key in ("both", "optimal_only", "not_foldable"):
        assert dot_attrs(dot, f"legend:{key}") is not None
    assert dot_attrs(dot, "legend:not_foldable_padding") is None
    assert dot_attrs(dot, "legend:both")["label"] == "folded by adjacent and optimal (4)"


def test_legend_adds_reason_groups_present(tiny):
    g, opt, adj = tiny
    assert "zero padding (1)" in dot_attrs(to_dot(g, opt, adj), "legend:not_foldable_padding")["label"]
    keys = [it.key for it in legend_items({"not_foldable_scale"})]
    assert keys == ["both", "optimal_only", "not_foldable", "not_foldable_scale"]


def test_caption_gives_model_name_and_counts(tiny):
    g, opt, adj = tiny
    assert "tiny — 4 BN: 1 folded by adjacent, 2 by optimal, 2 not foldable" in to_dot(g, opt, adj)
    assert "resnet — 4 BN: 2 folded by optimal, 2 not foldable" in to_dot(g, opt, title="resnet")


@needs_dot
def test_svg_desc_carries_caption(tiny):
    g, opt, adj = tiny
    desc = svg_root(to_dot(g, opt, adj)).find(f"{SVG}desc")
    assert desc.text == "tiny — 4 BN: 1 folded by adjacent, 2 by optimal, 2 not foldable"


# -- selected BN: roots, leaves, blocking node ------------------------------------
def test_selected_bn_links_to_each_root_and_leaf_with_dashed_edges(tiny):
    g, opt, adj = tiny
    links = [(a, b, e) for a, b, e in edges(to_dot(g, opt, adj, selected="bn4"))
             if "fold-link" in e.get("class", "")]
    assert {(a, b) for a, b, _ in links} == {("bn4", "conv3"), ("bn4", "conv2")}
    assert all(e["style"] == "dashed" and e["constraint"] == "false" for _, _, e in links)
    dot = to_dot(g, opt, adj, selected="bn4")
    assert "root" in dot_attrs(dot, "conv3")["class"].split()
    assert "leaf" in dot_attrs(dot, "conv2")["class"].split()


def test_selected_bn_marks_blocking_node(tiny):
    g, opt, adj = tiny
    a = dot_attrs(to_dot(g, opt, adj, selected="bn4"), "relu2")
    assert "blocking" in a["class"].split()
    assert a["label"].endswith("blocks the fold")
    assert float(a["penwidth"]) >= 4


def test_unknown_selected_or_focus_id_raises(tiny):
    g, opt, adj = tiny
    with pytest.raises(ValueError, match="nope"):
        to_dot(g, opt, adj, selected="nope")
    with pytest.raises(ValueError, match="rankdir"):
        to_dot(g, opt, adj, rankdir="UP")


# -- collapse, expand, focus, search ----------------------------------------------
def test_collapse_draws_group_boxes_with_counts(tiny):
    g, opt, adj = tiny
    dot = to_dot(g, opt, adj, collapse=1)
    box = dot_attrs(dot, "group:layer1")
    assert box["label"] == "layer1 — 7 nodes\\nBN: 1 optimal-only, 2 not foldable"
    assert box["fillcolor"] == STATUS_COLORS["not_foldable"].fill  # the worst status inside
    assert dot_attrs(dot, "bn2") is None and dot_attrs(dot, "group:stem") is not None
    full = to_dot(g, opt, adj, legend=False)
    assert to_dot(g, opt, adj, collapse=1, legend=False).count(" [id=") < full.count(" [id=")


def test_a_box_id_decodes_to_the_scope_it_collapses(tiny):
    g, opt, adj = tiny
    dot = to_dot(g, opt, adj, collapse=1)
    boxes = re.findall(r'^\s*"(group:[^"]*)" \[', dot, re.M)
    assert {group_of(b) for b in boxes} == {"stem", "layer1"}
    assert group_of("bn2") is None and group_of("group:layer1##") == "layer1"


def test_collapse_deduplicates_edges_between_boxes(tiny):
    g, opt, adj = tiny
    pairs = [(a, b) for a, b, _ in edges(to_dot(g, opt, adj, collapse=1, legend=False))]
    assert pairs.count(("group:stem", "group:layer1")) == 1
    assert len(pairs) == 3


def test_expand_keeps_a_group_open(tiny):
    g, opt, adj = tiny
    dot = to_dot(g, opt, adj, collapse=1, expand=["layer1.0"])
    assert 'subgraph "cluster:layer1.0"' in dot
    assert dot_attrs(dot, "group:layer1") is None
    assert dot_attrs(dot, "add") is not None  # direct member of the opened scope


def test_collapse_keeps_selected_bn_and_its_roots_visible(tiny):
    g, opt, adj = tiny
    dot = to_dot(g, opt, adj, collapse=1, selected="bn4")
    for nid in ("bn4", "conv3", "relu2", "conv2"):
        assert dot_attrs(dot, nid) is not None


def test_focus_keeps_only_n_hop_neighbourhood_with_stubs(tiny):
    g, opt, adj = tiny
    dot = to_dot(g, opt, adj, focus="bn2", hops=1, legend=False)
    drawn = {nid for nid in (n.id for n in g.nodes) if dot_attrs(dot, nid)}
    assert drawn == {"conv2", "bn2", "bn3"}
    stubs = {(a, b) for a, b, e in edges(dot) if e["class"] == "stub-edge"}
    assert stubs == {("stub:in:conv2", "conv2"), ("bn3", "stub:out:bn3")}
    assert {n for n in ("relu", "relu2") if dot_attrs(to_dot(g, opt, adj, focus="bn2"), n)} == {
        "relu", "relu2"}


def test_search_highlights_name_id_and_op_type(tiny):
    g, opt, adj = tiny
    dot = to_dot(g, opt, adj, search="CONV")
    hits = {n.id for n in g.nodes if "match" in dot_attrs(dot, n.id)["class"].split()}
    assert hits == {"conv1", "conv2", "conv3"}
    dot = to_dot(g, opt, adj, search="relu")  # activation kind
    assert {n.id for n in g.nodes if "match" in dot_attrs(dot, n.id)["class"]} == {"relu", "relu2"}


# -- escaping, layout options, SVG ------------------------------------------------
HOSTILE = ['a"b', "<script>alert(1)</script>", "line1\nline2", "{x}; ] -> y [", "back\\N\\slash",
           "amp&#0;&lt;"]


@needs_dot
def test_hostile_names_give_valid_svg_with_exact_ids_and_escaped_text():
    nodes = [_n("inp", "input", [], ["t0"])]
    for i, name in enumerate(HOSTILE):
        nodes.append(_n(name, "batch_norm", [f"t{i}"], [f"t{i + 1}"], scope=name))
    nodes.append(_n("out", "output", [f"t{len(HOSTILE)}"], []))
    g = Graph.from_nodes(nodes, name='evil"<model>')
    opt = Analysis("optimal", g, g, {n: Verdict(n, n, "not_foldable", reason_code=Reason.CONFLICT,
                                                  reason=f"blocked by <b>{n}</b>") for n in HOSTILE})
    for kwargs in ({}, {"collapse": 1}, {"selected": HOSTILE[1], "search": "<"}):
        root = svg_root(to_dot(g, opt, **kwargs))
        assert not list(root.iter(f"{SVG}script"))
    groups = svg_groups(svg_root(to_dot(g, opt)))
    assert set(HOSTILE) <= set(groups)
    assert "blocked by <b><script>alert(1)</script></b>" in groups[HOSTILE[1]].find(f"{SVG}title").text
    texts = [t.text for t in groups[HOSTILE[0]].iter(f"{SVG}text")]
    assert 'a"b' in texts


def test_rankdir_lr_is_written(tiny):
    g, opt, adj = tiny
    assert 'rankdir="LR"' in to_dot(g, opt, adj, rankdir="LR")


@needs_dot
def test_svg_parses_and_keeps_every_node_id(tiny):
    g, opt, adj = tiny
    groups = svg_groups(svg_root(to_dot(g, opt, adj, selected="bn2")))
    assert {n.id for n in g.nodes} <= set(groups)
    assert "fold-link" in groups["fold:root:bn2->conv2"].get("class")


def test_missing_dot_raises_with_install_hint(tiny, monkeypatch, tmp_path):
    g, opt, adj = tiny
    monkeypatch.setenv("PATH", str(tmp_path))
    assert not dot_available()
    with pytest.raises(MissingDependencyError, match="apt-get install graphviz"):
        render_svg(to_dot(g, opt, adj))


@needs_dot
def test_invalid_dot_text_raises_invalid_graph_error():
    with pytest.raises(InvalidGraphError, match="Graphviz could not lay out"):
        render_svg("digraph { a -> }")


# -- large graphs and default views -----------------------------------------------
def test_small_graph_default_view_is_uncollapsed(tiny):
    assert default_view(tiny[0]) == {"collapse": False}


def test_long_chain_renders_and_collapses_to_few_boxes():
    g = chain_graph()
    opt = all_folded(g)
    assert len(g) == 1502 and dot_attrs(to_dot(g, opt), g.nodes[700].id) is not None
    view = default_view(g)
    assert view["collapse"] and count_boxes(g, view["collapse"]) < 80
    assert to_dot(g, opt, **view).count("class=\"group") < 80


@needs_dot
def test_densenet_sized_graph_default_view_renders_small_svg():
    g = densenet_graph()
    assert len(g) > 400 and len(g.bn_nodes()) == 121
    view = default_view(g)
    assert count_boxes(g, view["collapse"]) <= 60
    root = svg_root(to_dot(g, all_folded(g), **view))
    assert "121 BN: 121 folded by optimal" in root.find(f"{SVG}desc").text


# -- readable at real scale (issue 8) ---------------------------------------------
def dense_block_graph(layers: int) -> Graph:
    """One dense block of ``layers`` (bn, relu, conv) layers, each reading the concat
    of every earlier output: ~layers²/2 edges."""
    nodes = [_n("input", "input", [], ["x"])]
    feats = ["x"]
    for i in range(layers):
        s = f"block.layer{i}"
        cat = feats[0]
        if len(feats) > 1:
            nodes.append(_n(f"{s}.cat", "concat", list(feats), [f"{s}.cat:0"], s))
            cat = f"{s}.cat:0"
        t = cat
        for name, op in (("norm", "batch_norm"), ("relu", "activation"), ("conv", "conv")):
            nodes.append(_n(f"{s}.{name}", op, [t], [f"{s}.{name}:0"], f"{s}.{name}"))
            t = f"{s}.{name}:0"
        feats.append(t)
    nodes.append(_n("output", "output", [feats[-1]], []))
    return Graph.from_nodes(nodes, name="dense_block")


def test_long_names_keep_their_distinguishing_end():
    from inspector.render.dotfmt import shorten

    name = "/features/denseblock1/denselayer12/norm1/BatchNormalization"
    short = shorten(name)
    assert short.endswith("/denselayer12/norm1/BatchNormalization") and len(short) <= 40
    assert short.startswith("…") and shorten("layer1.conv") == "layer1.conv"


def test_node_labels_have_no_emoji(tiny):
    g, opt, adj = tiny
    for sel in ("bn3", "bn4"):
        labels = [a["label"] for nid in ("relu2", "conv3", "bn3", "bn4")
                  if (a := dot_attrs(to_dot(g, opt, adj, selected=sel), nid))]
        for label in labels:
            assert not any(0x2600 <= ord(ch) <= 0x26FF or ord(ch) >= 0x1F000 for ch in label)


@needs_dot
@pytest.mark.parametrize("rankdir", ["TB", "LR"])
def test_svg_legend_is_one_column_beside_the_graph(tiny, rankdir):
    g, opt, adj = tiny
    root = svg_root(to_dot(g, opt, adj, rankdir=rankdir))
    xs = []
    for grp in root.iter(f"{SVG}g"):
        if "legend-item" in (grp.get("class") or ""):
            text = grp.find(f".//{SVG}text")
            xs.append(round(float(text.get("x"))))
    assert len(xs) >= 3 and len(set(xs)) == 1  # a column, never a row wider than the graph


def test_highlight_map_gives_each_bn_its_drawn_roles(tiny):
    from inspector.render.dot import build_view
    from inspector.render.highlight import highlight_map

    g, opt, adj = tiny
    statuses = compute_statuses(g, opt, adj)
    full = build_view(g, opt, adj)
    roles = highlight_map(g, statuses, full.units)
    assert roles["bn4"] == {"selected": ["bn4"], "root": ["conv3"], "leaf": ["conv2"],
                            "blocking": ["relu2"]}
    collapsed = build_view(g, opt, adj, collapse=1)
    boxed = highlight_map(g, statuses, collapsed.units)
    assert boxed["bn4"]["root"] == [collapsed.units["conv3"]]
    assert collapsed.units["conv3"].startswith("group:layer1")


def test_edges_can_show_tensor_shapes(tiny):
    g, opt, adj = tiny
    labelled = [a.get("label") for _u, _v, a in edges(to_dot(g, opt, adj, edge_shapes=True))]
    assert "1×3×8×8" in labelled
    assert all("label" not in a for _u, _v, a in edges(to_dot(g, opt, adj)))


def test_changed_layers_are_outlined_and_labelled(tiny):
    g, opt, adj = tiny
    a = dot_attrs(to_dot(g, opt, adj, changed={"conv2": "changed: weights, bias"}), "conv2")
    assert "changed" in a["class"].split() and a["label"].endswith("changed: weights, bias")


def test_properties_of_any_node_list_tensors_attributes_and_parameter_stats():
    import numpy as np

    from inspector.render.properties import node_properties

    w = np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2)
    g = Graph.from_nodes([
        _n("inp", "input", [], ["x"]),
        Node("conv", "conv", ("x",), ("y",), name="stem.conv", attrs={"stride": (2, 2)},
             params={"weight": w}),
        _n("out", "output", ["y"], []),
    ], shapes={"x": (1, 3, 8, 8), "y": (1, 2, 4, 4)}, name="p")
    p = node_properties(g, "conv")
    assert p["op"] == "conv" and p["name"] == "stem.conv"
    assert p["inputs"] == [{"tensor": "x", "shape": "1×3×8×8", "from": "inp"}]
    assert p["outputs"][0]["shape"] == "1×2×4×4"
    assert {"attribute": "stride", "value": "(2, 2)"} in p["attributes"]
    (param,) = p["parameters"]
    assert param["shape"] == "2×3×2×2" and param["min"] == 0 and param["max"] == 23
    assert param["mean"] == pytest.approx(float(w.mean()))


def test_very_large_views_get_a_short_edge_skeleton():
    from inspector.render.dot import build_view
    from inspector.render.layout import SKELETON_EDGES, SKELETON_SPAN

    g = dense_block_graph(80)
    view = build_view(g, all_folded(g), legend=False)
    assert len(edges(view.dot)) > SKELETON_EDGES and view.skeleton is not None
    kept = edges(view.skeleton)
    assert len(kept) < len(edges(view.dot)) / 4
    order = {n.id: i for i, n in enumerate(g.nodes)}
    long_kept = [(u, v) for u, v, _a in kept if order[v] - order[u] > SKELETON_SPAN]
    heads = [v for _u, v in long_kept]
    assert len(heads) == len(set(heads))  # a long edge only as a node's latest producer
    assert {v for _u, v, _a in kept} == {v for _u, v, _a in edges(view.dot)}  # all connected
    small = dense_block_graph(10)
    assert build_view(small, all_folded(small)).skeleton is None


@needs_dot
def test_skeleton_layout_draws_every_node_and_edge():
    from inspector.render import render_view
    from inspector.render.dot import build_view

    g = dense_block_graph(80)
    view = build_view(g, all_folded(g), legend=False)
    root = ET.fromstring(render_view(view))
    groups = svg_groups(root)
    assert all(n.id in groups for n in g.nodes)
    drawn = [grp for grp in root.iter(f"{SVG}g") if (grp.get("class") or "") == "edge data"]
    assert len(drawn) == len(edges(view.dot))
