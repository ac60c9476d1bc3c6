"""Benchmarking: latency of the original, folded and no-BN-floor models (the
floor is an ordinary edit, `floor.floor_plan`, written back by the frontend)."""

from .floor import FloorPlan, build_floor, floor_plan
from .stats import StoppingRule, median_ci
from .timing import (
    BACKENDS,
    build_variants,
    input_arrays,
    summarize,
    time_variants,
    time_variants_adaptive,
)

__all__ = ["BACKENDS", "FloorPlan", "StoppingRule", "build_floor", "build_variants", "floor_plan",
           "input_arrays", "median_ci", "summarize", "time_variants", "time_variants_adaptive"]
