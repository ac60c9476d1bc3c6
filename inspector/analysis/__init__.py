"""The folding condition (DESIGN §3.2–3.4), on the IR only.

``condition.find_fold`` and ``adjacent.find_adjacent`` decide one BN in one
direction / mode and return a ``result.Decision``: the ``FoldStep`` (the edits
a fold needs) or the ``verdict.Blocked`` reasons, plus the nodes the decision
read. ``transparency`` holds one small rule per transparent op; ``verdict``
the vocabularies (``Mode``, ``Reason``, ``Status``) and the per-BN ``Verdict``
record; ``sentences`` every sentence said about a BN.
Nothing here imports a frontend, ``folding``, ``render``, ``bench`` or ``ui``.
"""
