"""BN Fold Inspector: find, explain, apply and verify batch-norm folding.

Typical use::

    import inspector
    model = inspector.load("sample:conv_bn_relu")
    result = inspector.analyze(model.graph, mode="optimal")
    folded = inspector.fold(model, mode="optimal")
"""

from .errors import InspectorError
from .ir import Graph, Node, Tensor

__all__ = ["Graph", "Node", "Tensor", "InspectorError", "load", "analyze", "fold"]


def load(source, **kwargs):
    """Load a model (path, ``sample:``/``timm:``/``torchvision:`` name, module)."""
    from .frontends import load as _load

    return _load(source, **kwargs)


def analyze(graph, mode: str = "optimal"):
    """Analyse every BN of ``graph`` (an IR Graph or a LoadedModel)."""
    from .folding.driver import analyze as _analyze

    return _analyze(getattr(graph, "graph", graph), mode=mode)


def fold(loaded, mode: str = "optimal", **kwargs):
    """Fold a LoadedModel; returns a FoldResult with a verified folded model."""
    from .folding.pipeline import fold as _fold

    return _fold(loaded, mode=mode, **kwargs)
