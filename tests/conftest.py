"""Hypothesis profiles for the property tests (select with HYPOTHESIS_PROFILE).

* ``default`` (Hypothesis' own): the example counts written in each test (a few
  hundred graphs).
* ``nightly``: every random-graph property runs at least ``NIGHTLY_EXAMPLES``
  graphs (10,000; override with HYPOTHESIS_NIGHTLY_EXAMPLES), e.g.
  ``HYPOTHESIS_PROFILE=nightly pytest tests/test_properties.py -k same_function``.
  ``scripts/reliability.py`` runs the same graphs and prints the count of wrong
  outputs and the worst error instead of stopping at the first failure.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

NIGHTLY_EXAMPLES = int(os.environ.get("HYPOTHESIS_NIGHTLY_EXAMPLES", "10000"))

settings.register_profile(
    "nightly", max_examples=NIGHTLY_EXAMPLES, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def examples(n: int) -> int:
    """``n`` examples, or the nightly profile's count when it is larger."""
    nightly = os.environ.get("HYPOTHESIS_PROFILE") == "nightly"
    return max(n, settings.default.max_examples) if nightly else n
