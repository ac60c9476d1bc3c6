"""The folding theorem on one screen: clauses in plain words and the paper's notation.

No Streamlit here: the Learn page renders :data:`CLAUSES`, each linked to the
lesson that shows it (``lesson`` is a key of ``lessons.BY_KEY`` or None).
"""

from __future__ import annotations

from dataclasses import dataclass

#: Full citation, used wherever the page refers to the paper.
CITATION = (
    "E. Yvinec, A. Dapogny, K. Bailly, *To Fold or Not to Fold: a Necessary and Sufficient "
    "Condition on Batch-Normalization Layers Folding*, IJCAI 2022 "
    "([arXiv:2203.14646](https://arxiv.org/abs/2203.14646))"
)
#: The authors' implementation, named wherever the page mentions it.
REFERENCE_IMPL = ("the authors' Keras package "
                  "[`tensorflow-batchnorm-folding`](https://pypi.org/project/tensorflow-batchnorm-folding/)")


@dataclass(frozen=True)
class Clause:
    """One statement of the theorem and the lesson that illustrates it."""

    key: str
    title: str
    text: str  # markdown, may contain LaTeX between $…$
    lesson: str | None = None


CLAUSES: tuple[Clause, ...] = (
    Clause(
        "affine", "A BN is an affine map per channel",
        r"At inference, channel $k$ of a BN computes "
        r"$\mathrm{BN}(x)_k = a_k x_k + c_k$ with $a_k = \gamma_k/\sqrt{\sigma_k^2+\varepsilon}$ and "
        r"$c_k = \beta_k - a_k\mu_k$. Folding writes $(a, c)$ into linear layers next to it so "
        r"the BN can be deleted and the network computes **exactly** the same function.",
        "backward"),
    Clause(
        "directions", "Two directions",
        "**Backward**: into the layers that *produce* the BN's input (they now output "
        r"$a\,y + c$). **Forward**: into the layers that *consume* its output (they now receive "
        r"$x$ and compute what they computed on $a\,x + c$).",
        "forward"),
    Clause(
        "roots", "Roots, leaves and the closure",
        "Walk from the BN in the chosen direction through ops that commute with a per-channel "
        "affine map (Add, Concat, pooling, reshapes…) to the first linear layers: these are the "
        "**roots**, which absorb the map. Every other layer that shares a root's tensor must "
        "undo the map: these are the **leaves**. Leaves can add roots, roots add leaves — repeat "
        "until nothing changes (a fixed point). **The BN folds iff that closure exists without "
        "crossing anything below** and roots and leaves are disjoint.",
        "leaf"),
    Clause(
        "shift_once", "Sums and concatenations",
        r"Through an Add, every branch's root takes the scale $a$ but the shift $c$ is added "
        r"**once**; through a Concat each root takes its own slice of $a$ and $c$.",
        "add"),
    Clause(
        "nonlinearity", "What breaks it: a non-linearity",
        r"ReLU, SiLU, sigmoid, LayerNorm, a data-dependent multiply… do not commute with "
        r"$a\,x + c$. A path that meets one before a linear layer blocks that direction.",
        "nonlinearity"),
    Clause(
        "padding", "What breaks it: zero padding with a shift",
        r"A zero-padded conv pads *after* the BN's shift in the original, *before* it in the "
        r"folded model: the borders see $0$ instead of $c$. Exact only if $c = 0$ on the padded "
        r"channels (reflect/replicate padding is fine).",
        "zero_padding"),
    Clause(
        "maxpool", "What breaks it: a negative scale at max-pool",
        r"$\max(a\,x) = a\max(x)$ only when $a > 0$: a channel with $a_k < 0$ turns max into min "
        r"and cannot cross a max-pool. (A zero scale, $a_k = 0$, cannot be undone by a leaf.)",
        "maxpool"),
    Clause(
        "boundary", "What breaks it: the graph boundary and shared or batch parameters",
        "A path that reaches the graph input or output has no layer to absorb the map. Weights "
        "shared with another layer cannot change for one use only. A BN that uses batch "
        "statistics at inference is not a fixed affine map at all.",
        "zero_padding"),
    Clause(
        "reanalysis", "Why re-analyse after each fold",
        "Folding deletes a BN and edits its roots and leaves, so the next BN sees a different "
        "graph: a BN that was a neighbour's root may be gone, or two BNs may compete for the same "
        "layers. The engine folds one BN, re-analyses, and repeats to a fixed point, searching "
        "fold orders in small competing groups for the most BNs removed.",
        "bn_bn"),
)
