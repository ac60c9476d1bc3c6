"""Benchmarking: latency of the original, folded and no-BN-floor models."""

from .timing import BACKENDS, build_variants, input_arrays, summarize, time_variants

__all__ = ["BACKENDS", "build_variants", "input_arrays", "summarize", "time_variants"]
