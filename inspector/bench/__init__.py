"""Benchmarking: latency of the original, folded and no-BN-floor models (the
floor is an ordinary edit, `floor.floor_plan`, written back by the frontend)."""

from .floor import FloorPlan, build_floor, floor_plan
from .timing import BACKENDS, build_variants, input_arrays, summarize, time_variants

__all__ = ["FloorPlan", "build_floor", "floor_plan", "BACKENDS", "build_variants", "input_arrays",
           "summarize", "time_variants"]
