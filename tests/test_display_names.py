"""Nodes are shown by name, never by an internal id (issue 16.11).

A torch graph's ops that no module owns (``x + y`` inside a block, a functional
``relu``) used to be named by their fx id (``add__7``), which the explanations,
tables and the CLI then showed. They are now named after their module and op
(``stages.0.0.add_1``); every text the app and the CLI build from a model names
nodes by those names, and no synthesised id (``add_9``, ``conv2d_3``,
``batch_norm_4``) appears in any of them.
"""

from __future__ import annotations

import re

import pytest

import inspector
from inspector.diffs import diff_rows, layer_diffs, region_centres
from inspector.explain import bn_rows, explain, summary_lines
from inspector.quant import quant_impact
from inspector.statuses import compute_statuses

#: A RepVGG/MobileOne-like torch model (adds inside blocks, merged in reparam) and
#: the opening sample (functional relu and adds inside modules).
SAMPLES = ("mobileone", "repvgg", "showcase")
#: An id the frontends synthesise: an op name with a counter.
SYNTHESISED = re.compile(r"_\d+$")


@pytest.fixture(scope="module", params=SAMPLES)
def model(request):
    return request.param, inspector.load(f"sample:{request.param}")


def _synthesised_ids(graph) -> list[str]:
    """Ids the frontend made up (an op name with a counter); shown, they would be
    developer noise whatever the node's name is."""
    return [n.id for n in graph.nodes if SYNTHESISED.search(n.id)]


def _shown_ids(texts: list[str], ids: list[str]) -> list[str]:
    """``id in text`` for each id that stands alone in a text (``stages.0.add_1`` is a
    name that ends like the id ``add_1``: not a hit)."""
    out = []
    for text in texts:
        for nid in ids:
            if re.search(rf"(?<![\w.]){re.escape(nid)}(?![\w])", text):
                out.append(f"{nid} in {text[:120]!r}")
    return out


def test_every_op_inside_a_module_is_named_after_the_module(model):
    _name, loaded = model
    nodes = [n for n in loaded.graph.nodes if n.op not in ("input", "output")]
    unnamed = [(n.id, n.scope) for n in nodes if n.scope and not n.name.startswith(n.scope)]
    assert not unnamed, unnamed
    names = [n.name for n in loaded.graph.nodes]
    assert len(names) == len(set(names)), "two nodes share a name"


def test_an_add_in_a_block_reads_as_the_block_and_its_op():
    g = inspector.load("sample:repvgg").graph
    adds = [n.name for n in g.nodes if n.op == "add" and n.scope == "stage1.0"]
    assert adds == ["stage1.0.add", "stage1.0.add_1"]


def test_explanations_tables_and_cli_lines_never_show_a_synthesised_id(model):
    name, loaded = model
    g = loaded.graph
    ids = _synthesised_ids(g)
    assert ids, "the model has no synthesised ids: the check would find nothing"
    modes = inspector.compare_modes(g, ("adjacent", "optimal", "reparam"))
    texts: list[str] = []
    for mode in ("optimal", "reparam"):
        statuses = compute_statuses(g, modes[mode], modes["adjacent"])
        for s in statuses.values():
            texts += explain(g, s, modes["adjacent"].verdicts.get(s.bn))
        texts += [str(v) for row in bn_rows(g, statuses) for k, v in row.items() if k != "id"]
        texts += summary_lines(g, modes[mode], modes["adjacent"])
        diffs = layer_diffs(modes[mode])
        texts += [str(v) for row in diff_rows(diffs) for v in row.values()]
        texts += [d.name for d in diffs] + list(region_centres(modes[mode]).values())
        texts += [q.name for q in quant_impact(modes[mode])]
    assert not _shown_ids(texts, ids), _shown_ids(texts, ids)[:10]


def test_the_cli_analyze_output_never_shows_a_synthesised_id(model, capsys):
    from inspector.cli import main

    name, loaded = model
    assert main(["analyze", f"sample:{name}", "--mode", "reparam"]) == 0
    out = capsys.readouterr().out
    assert not _shown_ids(out.splitlines(), _synthesised_ids(loaded.graph))
