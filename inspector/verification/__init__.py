"""Verification: the original and the folded model compared tensor by tensor
(``compare.verify`` -> ``Verification``), and a float64 NumPy reference executor
for the IR (``numpy_exec``)."""

from .compare import Verification, verify
from .numpy_exec import random_inputs, run_graph, run_tensors

__all__ = ["Verification", "verify", "random_inputs", "run_graph", "run_tensors"]
