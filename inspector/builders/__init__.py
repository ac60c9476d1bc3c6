"""IR builders: write small graphs tersely (tests, the sample catalogue of IR cases, the
Learn page's quiz) and draw random small DAGs (property tests, the quiz). Numpy only.

``graph.GraphBuilder`` writes graphs; ``script`` records every builder call so a
graph prints as the script that rebuilds it; ``random_dags.random_dag`` draws a
random DAG from a ``Draw`` (a seeded generator, or a hypothesis ``draw``).
"""

from .graph import GraphBuilder
from .random_dags import MAX_CHANNELS, MAX_SPATIAL, Draw, RngDraw, random_dag
from .script import ScriptedGraph, graph_summary

__all__ = ["GraphBuilder", "ScriptedGraph", "graph_summary", "Draw", "RngDraw", "random_dag",
           "MAX_CHANNELS", "MAX_SPATIAL"]
