"""Plain-words explanations (``inspector.explain``), shared by the app's BN
panel and table and by the CLI summary."""

from __future__ import annotations

from inspector.analysis.verdict import Reason, Status
from inspector.explain import bn_rows, explain, summary_lines
from inspector.folding.driver import compare_modes
from inspector.render.status import compute_statuses
from tests.graph_factory import GraphBuilder

X = (1, 3, 6, 6)


def leaf_and_padded():
    """bn1 folds only in optimal mode (a leaf conv shares its input); bn2 sits
    between a ReLU and a zero-padded conv: not foldable."""
    b = GraphBuilder(seed=0)
    c1 = b.conv(b.input(X), 4, k=1, name="conv1")
    y = b.bn(c1, name="bn1")
    b.output(b.conv(c1, 4, k=1, name="conv2"))
    z = b.bn(b.relu(b.conv(y, 4, k=3, pad=1, name="conv3")), name="bn2")
    b.output(b.conv(z, 4, k=3, pad=1, name="conv4"))
    return b.build()


def test_rows_give_status_words_and_reason_titles():
    g = leaf_and_padded()
    a = compare_modes(g)
    rows = {r["name"]: r for r in bn_rows(g, compute_statuses(g, a["optimal"], a["adjacent"]))}
    assert rows["bn1"]["status"] == Status.OPTIMAL_ONLY.words and rows["bn1"]["reason"] == ""
    v = a["optimal"].verdicts["bn2"]
    assert rows["bn2"]["status"] == Status.NOT_FOLDABLE.words
    assert rows["bn2"]["reason"] == v.reason_code.title


def test_explanation_of_a_kept_bn_names_the_reason_and_its_help():
    g = leaf_and_padded()
    a = compare_modes(g)
    status = compute_statuses(g, a["optimal"], a["adjacent"])["bn2"]
    text = "\n".join(explain(g, status, a["adjacent"].verdicts["bn2"]))
    code = status.reason_code
    assert code is not None and code.title in text and code.help in text


def test_cli_summary_lines_carry_the_code_title_and_sentence_of_every_bn():
    g = leaf_and_padded()
    a = compare_modes(g)
    lines = summary_lines(g, a["optimal"], a["adjacent"])
    statuses = compute_statuses(g, a["optimal"], a["adjacent"])
    assert len(lines) == len(statuses) == 2
    kept = next(line for line in lines if " bn2 [" in line)
    code = statuses["bn2"].reason_code
    assert isinstance(code, Reason) and f"[{code.value}: {code.title}]" in kept
    assert statuses["bn2"].sentence in kept
    assert lines[0].startswith(Status.OPTIMAL_ONLY.words)


def test_reparam_summary_says_merged_for_bns_of_merged_branches():
    b = GraphBuilder(seed=0)
    x = b.relu(b.input((1, 4, 7, 7)))
    y = b.add(b.add(b.bn(b.conv(x, 4, 3, 1, bias=False)), b.bn(b.conv(x, 4, 1, 0, bias=False))),
              b.bn(x))
    b.output(b.relu(y))
    g = b.build()
    a = compare_modes(g, ("adjacent", "optimal", "reparam"))
    lines = summary_lines(g, a["reparam"], a["adjacent"])
    merged = [line for line in lines if line.startswith(Status.MERGED.words)]
    assert merged and len(merged) == a["reparam"].merged_count
    assert all("merged with the parallel branches into" in line for line in merged)
