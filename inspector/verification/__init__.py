"""Verification: a float64 NumPy reference executor for the IR."""

from .numpy_exec import random_inputs, run_graph, run_tensors

__all__ = ["random_inputs", "run_graph", "run_tensors"]
