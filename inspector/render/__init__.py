"""Annotated graph views: DOT text for the app, SVG files via Graphviz ``dot``."""

from .dot import build_view, group_of, to_dot
from .status import STATUS_COLORS, legend_items
from .svg import dot_available, render_svg, render_view
from .views import default_view

__all__ = ["to_dot", "render_svg", "dot_available", "legend_items", "STATUS_COLORS",
           "default_view", "render_view", "build_view", "group_of"]
