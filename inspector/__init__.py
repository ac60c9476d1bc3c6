"""BN Fold Inspector: find, explain, apply and verify batch-norm folding.

Typical use::

    import inspector
    model = inspector.load("sample:leaf_conv")        # or a path, timm:NAME, an nn.Module
    analyses = inspector.compare_modes(model.graph)   # {"adjacent": ..., "optimal": ...}
    result = inspector.fold(model, mode="optimal")    # verified; model.model is untouched
    result.save("leaf_conv-folded.onnx")              # .onnx, or .pt2 for PyTorch models
    report = inspector.build_report(result)           # the JSON report (inspector.report.to_json)
    svg = inspector.render_svg(inspector.to_dot(model.graph, analyses["optimal"], analyses["adjacent"]))

Heavy modules (torch, onnx, the renderer) are imported on first use.
"""

from .errors import InspectorError
from .ir import Graph, Node, Tensor

__all__ = [
    "Graph", "Node", "Tensor", "InspectorError",
    "load", "analyze", "compare_modes", "fold", "verify", "build_report", "to_dot", "render_svg",
]


def load(source, **kwargs):
    """Load a model: ``.onnx``/``.pt2`` path, ``sample:``/``timm:``/``torchvision:``/
    ``ultralytics:`` name, ``package.module:callable``, module (a pickled checkpoint only
    with ``trust_pickle=True``; see ``inspector.frontends.load``)."""
    from .frontends import load as _load

    return _load(source, **kwargs)


def analyze(graph, mode: str = "optimal"):
    """Analyse every BN of ``graph`` (an IR Graph or a LoadedModel) in one mode."""
    from .folding.driver import analyze as _analyze

    return _analyze(getattr(graph, "graph", graph), mode=mode)


def compare_modes(graph, modes: tuple[str, ...] = ("adjacent", "optimal")):
    """Analyses per mode: ``{"adjacent": Analysis, "optimal": Analysis}`` by default
    (add ``"reparam"`` to ``modes`` for branch merging)."""
    from .folding.driver import compare_modes as _compare

    return _compare(getattr(graph, "graph", graph), modes)


def fold(loaded, mode: str = "optimal", **kwargs):
    """Fold a LoadedModel; returns a FoldResult holding a verified folded model."""
    from .folding.pipeline import fold as _fold

    return _fold(loaded, mode=mode, **kwargs)


def verify(loaded, folded_model, **kwargs):
    """Max abs/rel error of ``folded_model`` against ``loaded.model`` on random inputs."""
    from .verification.compare import verify as _verify

    return _verify(loaded, folded_model, **kwargs)


def build_report(*args, **kwargs):
    """The JSON-ready report dict of a fold (``build_report(result)``) or of a model's
    analyses (``build_report(loaded, analyses)``); see ``inspector.report.build_report``."""
    from .report import build_report as _build

    return _build(*args, **kwargs)


def to_dot(*args, **kwargs):
    """Annotated DOT text of a graph (see ``inspector.render.to_dot``)."""
    from .render import to_dot as _to_dot

    return _to_dot(*args, **kwargs)


def render_svg(dot_text: str, **kwargs):
    """SVG from DOT text with Graphviz ``dot`` (clear error if it is missing)."""
    from .render import render_svg as _render

    return _render(dot_text, **kwargs)
