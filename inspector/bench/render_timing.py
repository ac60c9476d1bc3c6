"""How long the app's graph views take on a model: load, analyse, DOT, SVG layout.

Prints one line per view, e.g.::

    python -m inspector.bench.render_timing torchvision:densenet121 \
        inspector.bench.render_timing:wide_densenet

Views: the default (collapsed when large), default with a BN selected, focus
views at 2 and 4 hops, a search, and the full graph in both layouts (skipped
above ``--full-max`` nodes). Each line gives wall time and Graphviz CPU time
(the fair figure on a shared machine).
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Iterator

from ..errors import InspectorError


def wide_densenet():
    """A ~1,500-node DenseNet (torchvision class, 208 dense layers, growth 8).

    Usable as the model spec ``inspector.bench.render_timing:wide_densenet``. Callables
    are folded as given, so it randomises its own BN statistics like the zoo does (with
    untrained statistics every shift is 0 and folds that are normally blocked become exact).
    """
    from torchvision.models import DenseNet

    from ..bn_stats import randomize_bn

    net = DenseNet(growth_rate=8, block_config=(6, 12, 96, 94), num_init_features=16,
                   num_classes=10)
    return randomize_bn(net, seed=0)


wide_densenet.input_shape = (1, 3, 64, 64)


def _child_cpu() -> float:
    """CPU seconds used by finished child processes (Graphviz): unlike wall time,
    not inflated when other jobs share the machine."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def views(graph, selected: str | None, full_max: int) -> Iterator[tuple[str, dict]]:
    """(label, ``to_dot`` kwargs) of the views the app offers."""
    from ..render import default_view

    base = default_view(graph)
    yield "default view", base
    if selected is not None:
        yield "default view + selected BN", {**base, "selected": selected}
        for hops in (2, 4):
            yield f"focus {hops} hops + selected", {"focus": selected, "hops": hops,
                                                     "selected": selected}
    yield "search 'conv'", {**base, "search": "conv"}
    if len(graph) <= full_max:
        yield "full graph TB", {"collapse": False}
        yield "full graph LR", {"collapse": False, "rankdir": "LR"}


def measure(spec: str, *, full_max: int = 2500, timeout: float = 120.0) -> list[str]:
    """Lines of figures for one model spec (path, sample:, timm:, torchvision:)."""
    from ..folding.driver import compare_modes
    from ..frontends import load
    from ..render import build_view, render_view

    t0 = time.perf_counter()
    loaded = load(spec)
    t1 = time.perf_counter()
    analyses = compare_modes(loaded.graph)
    t2 = time.perf_counter()
    g, opt, adj = loaded.graph, analyses["optimal"], analyses["adjacent"]
    lines = [f"{spec}: {len(g)} nodes, {len(g.bn_nodes())} BN (adjacent folds "
             f"{adj.folded_count}, optimal {opt.folded_count}); load {t1 - t0:.2f} s, "
             f"analyse both modes {t2 - t1:.2f} s"]
    bns = sorted(opt.verdicts.values(), key=lambda v: -len(v.leaves))
    selected = bns[0].bn if bns else None  # the BN with most leaves: the hardest highlight
    for label, kwargs in views(g, selected, full_max):
        a = time.perf_counter()
        view = build_view(g, opt, adj, title=loaded.name, legend=False, **kwargs)
        b = time.perf_counter()
        cpu0 = _child_cpu()
        try:
            svg = render_view(view, timeout=timeout)
            c = time.perf_counter()
            cpu = _child_cpu() - cpu0
            how = "skeleton+neato" if view.skeleton else "dot -Tsvg"
            drawn = svg.count('class="node')
            lines.append(f"  {label:30s} to_dot {b - a:6.3f} s   layout {c - b:6.2f} s "
                         f"(Graphviz CPU {cpu:6.2f} s)  {len(svg) // 1024:5d} KB  ({how}, "
                         f"{drawn:4d} nodes)")
        except InspectorError as e:
            lines.append(f"  {label:30s} to_dot {b - a:6.3f} s   dot -Tsvg failed: {e}")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+", help="model specs (as for bnfold)")
    p.add_argument("--full-max", type=int, default=2500, help="skip full views above N nodes")
    p.add_argument("--timeout", type=float, default=120.0, help="Graphviz time limit (s)")
    args = p.parse_args(argv)
    for spec in args.models:
        for line in measure(spec, full_max=args.full_max, timeout=args.timeout):
            print(line, flush=True)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
