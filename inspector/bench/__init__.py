"""Benchmarking: latency of the original, folded and no-BN-floor models."""

from .stats import StoppingRule, median_ci
from .timing import (
           BACKENDS,
           build_variants,
           input_arrays,
           summarize,
           time_variants,
           time_variants_adaptive,
)

__all__ = ["BACKENDS", "StoppingRule", "build_variants", "input_arrays", "median_ci", "summarize",
           "time_variants", "time_variants_adaptive"]
