"""Numerical verification: original vs folded on the same inputs, tensor by tensor.

What is checked (and how it cannot be fooled):

* **Every shared tensor**, not only the outputs: when the frontend can return
  intermediate tensors (``run_tensors``), each tensor that exists in both
  models and that no fold is meant to change is compared with its own
  relative error (on the first input set; the outputs on every set). A wrong fold behind a damped branch (layer-scale 1e-4)
  shows up there even when the final output hardly moves.
* **Non-finite values**: NaN / +Inf / -Inf must sit at exactly the same
  places; the error is measured over the finite entries. When the reference
  outputs are non-finite for N(0, 1) inputs, inputs in a valid range are
  tried (U(0.5, 1.5), then U(0.01, 0.1)); if they all give non-finite outputs
  the result is ``unverified`` ("could not verify"), never ``passed``.
* **Dynamic sizes**: each dynamic input axis (``LoadedModel.dynamic_axes``) is
  also checked at a second size; without dynamic axes, at the other sizes the
  format's adapter offers (a PyTorch module that is not a traced graph: every
  non-channel axis + 1, else the batch + 1) when the original accepts them. What was really run is
  listed in ``input_shapes`` and ``notes``.
* **Precision**: the tolerance follows the lowest precision among the I/O
  and the weights (:func:`tolerance_for`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..ir import Graph
from ..model import LoadedModel

#: Largest accepted error relative to each tensor's range, per dtype.
TOLERANCE = {"float64": 1e-9, "float32": 1e-4, "float16": 1e-2, "bfloat16": 5e-2}
#: Reference magnitude below which a tensor's error is measured absolutely.
_SCALE_FLOOR = {"float64": 1e-12, "float32": 1e-6, "float16": 1e-3, "bfloat16": 1e-2}
#: Input distributions tried in turn while the reference outputs are non-finite.
INPUT_RANGES: tuple[tuple[str, Callable[[np.random.Generator, tuple], np.ndarray]], ...] = (
    ("N(0, 1)", lambda rng, shape: rng.standard_normal(shape)),
    ("U(0.5, 1.5)", lambda rng, shape: rng.uniform(0.5, 1.5, shape)),
    ("U(0.01, 0.1)", lambda rng, shape: rng.uniform(0.01, 0.1, shape)),
)

PASSED, FAILED, UNVERIFIED = "passed", "failed", "unverified"


@dataclass(frozen=True)
class Verification:
    """Errors of the folded model against the original.

    ``max_abs_error`` / ``max_rel_error`` are over the outputs (relative to
    each output's largest finite magnitude); ``worst_tensor`` is the shared
    tensor (outputs included) with the largest relative error. ``status`` is
    ``passed``, ``failed`` or ``unverified`` (the reference itself is
    non-finite for every input range tried, so nothing could be compared).
    """

    max_abs_error: float
    max_rel_error: float
    tolerance: float
    trials: int
    status: str = ""
    worst_tensor: str | None = None
    worst_tensor_rel_error: float = 0.0
    tensors_compared: int = 0
    #: Display name of the node producing ``worst_tensor`` (None for outputs / unknown).
    worst_node: str | None = None
    input_range: str = "N(0, 1)"
    input_shapes: tuple[tuple[tuple[int, ...], ...], ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def state(self) -> str:
        """``passed`` | ``failed`` | ``unverified``."""
        if self.status:
            return self.status
        ok = np.isfinite(self.max_rel_error) and self.max_rel_error <= self.tolerance
        return PASSED if ok else FAILED

    @property
    def passed(self) -> bool:
        return self.state == PASSED

    @property
    def verified(self) -> bool:
        """False when the comparison could not be made (``unverified``)."""
        return self.state != UNVERIFIED

    def as_dict(self) -> dict[str, Any]:
        return {
            "max_abs_error": self.max_abs_error,
            "max_rel_error": self.max_rel_error,
            "tolerance": self.tolerance,
            "passed": self.passed,
            "status": self.state,
            "trials": self.trials,
            "worst_tensor": self.worst_tensor,
            "worst_tensor_rel_error": self.worst_tensor_rel_error,
            "tensors_compared": self.tensors_compared,
            "worst_node": self.worst_node,
            "input_range": self.input_range,
            "input_shapes": [[list(s) for s in shapes] for shapes in self.input_shapes],
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class TensorError:
    """The error of one tensor: ``inf`` when shapes or non-finite patterns differ."""

    abs_error: float
    rel_error: float
    nonfinite: bool  # the reference holds NaN/Inf


def tensor_error(reference: Any, candidate: Any, floor: float = 1e-12) -> TensorError:
    """max |y - z| over the finite entries, and that error relative to max |y|.

    NaN, +Inf and -Inf must occur at the same positions in both (else the
    error is infinite); an all-zero reference is measured against ``floor``.
    """
    y, z = np.asarray(reference, np.float64), np.asarray(candidate, np.float64)
    if y.shape != z.shape:
        return TensorError(float("inf"), float("inf"), False)
    finite = np.isfinite(y)
    nonfinite = not bool(finite.all())
    if nonfinite and not (np.array_equal(np.isnan(y), np.isnan(z))
                          and np.array_equal(np.isposinf(y), np.isposinf(z))
                          and np.array_equal(np.isneginf(y), np.isneginf(z))):
        return TensorError(float("inf"), float("inf"), True)
    if not nonfinite and not np.isfinite(z).all():
        return TensorError(float("inf"), float("inf"), False)
    if y.size == 0 or not finite.any():
        return TensorError(0.0, 0.0, nonfinite)
    yf, zf = (y[finite], z[finite]) if nonfinite else (y, z)
    err = float(np.max(np.abs(yf - zf)))
    scale = max(float(np.max(np.abs(yf))), floor)
    return TensorError(err, err / scale, nonfinite)


def output_errors(reference: list[np.ndarray], candidate: list[np.ndarray]) -> tuple[float, float]:
    """(max abs error, max relative error) across paired outputs (non-finite aware)."""
    if len(reference) != len(candidate):
        return float("inf"), float("inf")
    abs_err, rel_err = 0.0, 0.0
    for y, z in zip(reference, candidate):
        e = tensor_error(y, z)
        abs_err, rel_err = max(abs_err, e.abs_error), max(rel_err, e.rel_error)
    return abs_err, rel_err


def tolerance_for(dtypes: Iterable[str]) -> float:
    """The tolerance of the least precise of ``dtypes`` (I/O and weight dtypes)."""
    tols = [TOLERANCE[d] for d in dtypes if d in TOLERANCE]
    return max(tols) if tols else TOLERANCE["float32"]


def model_dtypes(loaded: LoadedModel) -> set[str]:
    """Float dtypes of the model's inputs, outputs, tensors and parameters."""
    graph = loaded.graph
    found = {graph.dtype, *(s.dtype for s in loaded.inputs)}
    found |= {t.dtype for t in graph.tensors.values() if t.dtype}
    for node in graph.nodes:
        found |= {np.asarray(v).dtype.name for v in node.params.values()}
    return {d for d in found if d in TOLERANCE}


def changed_tensors(graph: Graph, steps: Sequence[Any], merges: Sequence[Any] = ()) -> set[str]:
    """Tensors that the folds are *meant* to change (never compared).

    For every step: the outputs of its emitters and of its BN, and every tensor
    downstream of them up to (not including) the outputs of the absorbers,
    which undo the transform. Removed BN outputs are in the set too. For every
    merge (``MergeStep``): the tensors inside the region (its output is kept;
    a merged conv that a later fold edits stands for the region output).
    """
    out: set[str] = set()
    merged_output = {m.conv_id: m.output for m in merges}
    for m in merges:
        inside = [t for nid in m.nodes if graph.has_node(nid) for t in graph.node(nid).outputs]
        inside += [merged_output[nid] for nid in m.nodes if nid in merged_output]  # nested
        out.update(t for t in inside if t != m.output)
    for step in steps:
        if not graph.has_node(step.bn):
            continue
        bn_outputs = graph.node(step.bn).outputs
        # Backward: the BN undoes nothing but is bypassed, so its output takes the
        # emitters' (already mapped) value: downstream of it nothing changes.
        stop = (set(step.absorbers) - set(step.emitters)) | (
            {step.bn} if step.direction == "backward" else set())
        out.update(bn_outputs)
        seeds = [t for nid in step.emitters if graph.has_node(nid) for t in graph.node(nid).outputs]
        seeds += [merged_output[nid] for nid in step.emitters if nid in merged_output]
        if step.direction != "backward":
            seeds += list(bn_outputs)
        queue, seen = deque(seeds), set()
        while queue:
            t = queue.popleft()
            if t in seen:
                continue
            seen.add(t)
            out.add(t)
            for consumer in graph.consumers(t):
                if consumer.id not in stop and consumer.op != "output":
                    queue.extend(consumer.outputs)
    return out


def _inputs(loaded: LoadedModel, shapes: Sequence[tuple[int, ...]], draw: Callable,
            seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for spec, shape in zip(loaded.inputs, shapes):
        dt = _np_dtype(spec.dtype)
        if dt.kind == "f":
            out.append(draw(rng, tuple(shape)).astype(dt))
        else:
            out.append(rng.standard_normal(tuple(shape)).astype(dt))
    return out


def _np_dtype(name: str) -> np.dtype:
    """The numpy dtype of an input; bfloat16 (unknown to numpy, or an ml_dtypes type
    that torch cannot read) and other exotic floats are fed as float32."""
    if name == "bfloat16":
        return np.dtype("float32")
    try:
        return np.dtype(name)
    except TypeError:
        return np.dtype("float32")


def _shape_sets(loaded: LoadedModel, folded_model: Any) -> list[list[tuple[int, ...]]]:
    """The loaded input shapes, then candidates with every dynamic axis at another
    size (d + 1, else 2d: the first the original runs at is used), or without
    dynamic axes the other sizes the format's adapter offers (``Adapter.other_sizes``)."""
    base = [tuple(s.shape) for s in loaded.inputs]
    dynamic: dict[int, list[int]] = loaded.dynamic_axes
    if not dynamic:
        other = loaded.frontend.other_sizes
        return [base, *(other(loaded, folded_model) if other is not None else [])]
    candidates = []
    for grow in (lambda d: d + 1, lambda d: 2 * d):
        alt = [tuple(grow(d) if ax in dynamic.get(i, ()) else d for ax, d in enumerate(s))
               for i, s in enumerate(base)]
        if alt != base and alt not in candidates:
            candidates.append(alt)
    return [base, *candidates]


def _run_all(loaded: LoadedModel, model: Any, inputs: list[np.ndarray],
             per_tensor: bool) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
    run_tensors = loaded.frontend.run_tensors if per_tensor else None
    if run_tensors is not None:
        try:
            outs, tensors = run_tensors(model, inputs, loaded)
            return list(outs), dict(tensors)
        except Exception:  # noqa: BLE001 - e.g. a non-tensor value exposed: outputs only
            pass
    return list(loaded.frontend.run(model, inputs)), {}


def verify(loaded: LoadedModel, folded_model: Any, trials: int = 2, seed: int = 0, *,
           steps: Sequence[Any] | None = None, merges: Sequence[Any] = (),
           per_tensor: bool = True) -> Verification:
    """Compare ``loaded.model`` and ``folded_model`` on ``trials`` input sets.

    Args:
        steps: the fold steps applied (``Analysis.steps``); the tensors they are
            meant to change are left out of the per-tensor comparison. When
            None, only the outputs are compared.
        merges: the merges applied (``Analysis.merge_log``); tensors inside
            merged regions are not compared.
        per_tensor: compare every shared intermediate tensor (when the
            frontend can return them and ``steps`` is given).

    Inputs are N(0, 1) unless the reference outputs are non-finite on them
    (then U(0.5, 1.5), then U(0.01, 0.1)). Dynamic axes are also run at a
    second size (see the module docstring).
    """
    per_tensor = per_tensor and steps is not None
    skip = changed_tensors(loaded.graph, steps, merges) if per_tensor else set()
    dtypes = model_dtypes(loaded)
    tol = tolerance_for(dtypes)
    floor = max((_SCALE_FLOOR[d] for d in dtypes), default=_SCALE_FLOOR["float32"])
    shape_sets, notes = _shape_sets(loaded, folded_model), []

    out_names = [n.name for n in loaded.graph.nodes if n.op == "output"]
    abs_err = rel_err = worst_rel = 0.0
    worst: str | None = None
    compared: set[str] = set()
    used_shapes: list[tuple[tuple[int, ...], ...]] = []
    range_name = INPUT_RANGES[0][0]
    unverified = False
    for k, shapes in enumerate(shape_sets):
        if k > 0 and len(used_shapes) >= 2:
            break  # one extra size per dynamic axis is enough
        found = _reference(loaded, shapes, seed, per_tensor, trials if k == 0 else 1, strict=k == 0)
        if found is None:  # an extra size the original does not run at
            continue
        name, runs = found
        if k == 0:
            range_name = name
        for inputs, (ref_out, ref_t) in runs:
            try:
                out, tensors = _run_all(loaded, folded_model, inputs, bool(ref_t))
            except Exception as e:  # noqa: BLE001
                if k == 0:
                    raise
                # The original runs at this size and the folded model does not.
                abs_err = rel_err = worst_rel = float("inf")
                worst = f"the folded model fails at input shapes {[list(s) for s in shapes]}"
                first = (str(e).strip().splitlines() or [""])[0][:120]
                notes.append(f"{worst}: {type(e).__name__}: {first}")
                continue
            if len(out) != len(ref_out):
                abs_err = rel_err = worst_rel = float("inf")
                worst = "outputs (their number differs)"
                continue
            for j, (y, z) in enumerate(zip(ref_out, out)):
                e = tensor_error(y, z, floor)
                unverified |= e.nonfinite
                abs_err, rel_err = max(abs_err, e.abs_error), max(rel_err, e.rel_error)
                if worst is None or e.rel_error > worst_rel:
                    worst_rel = e.rel_error
                    worst = out_names[j] if len(out_names) == len(out) else f"output {j}"
            for t, y in ref_t.items():
                if t in skip or t not in tensors:
                    continue
                compared.add(t)
                e = tensor_error(y, tensors[t], floor)
                if e.rel_error > worst_rel:
                    worst_rel, worst = e.rel_error, t
        used_shapes.append(tuple(tuple(s) for s in shapes))
    if len(shape_sets) > 1 and len(used_shapes) < 2:
        notes.append("the original model does not run at a second input size: checked at "
                     f"{[list(s) for s in used_shapes[0]] if used_shapes else 'the loaded size'} "
                     "only.")
    elif len(shape_sets) == 1 and loaded.frontend.single_size_note:
        notes.append(loaded.frontend.single_size_note)
    if not used_shapes:
        notes.append("the original model could not be run on any input tried.")
    worst_all = max(rel_err, worst_rel)
    failed = not np.isfinite(worst_all) or worst_all > tol
    status = FAILED if failed else (UNVERIFIED if unverified or not used_shapes else PASSED)
    if status == UNVERIFIED and used_shapes:
        notes.append("the original model's outputs hold NaN/Inf for every input range tried "
                     f"({', '.join(n for n, _ in INPUT_RANGES)}): could not verify.")
    producer = loaded.graph.producer(worst) if worst in loaded.graph.tensors else None
    return Verification(abs_err, rel_err, tol, trials + len(used_shapes) - 1 if used_shapes else 0,
                        status, worst, worst_rel if worst else 0.0, len(compared),
                        producer.name if producer is not None else None, range_name,
                        tuple(used_shapes), tuple(notes))


def _reference(loaded: LoadedModel, shapes: Sequence[tuple[int, ...]], seed: int,
               per_tensor: bool, trials: int, strict: bool):
    """(range name, [(inputs, (outputs, tensors))] per trial) from the first input range
    whose reference outputs are all finite (else the last range tried); None if an
    extra size does not run."""
    last = None
    for name, draw in INPUT_RANGES:
        runs = []
        for i in range(trials):
            inputs = _inputs(loaded, shapes, draw, seed + i)
            try:
                # Intermediate tensors on the first input set of the loaded size only:
                # a wrong fold is systematic, and exposing every tensor costs ~3x a run.
                tensors = per_tensor and strict and i == 0
                runs.append((inputs, _run_all(loaded, loaded.model, inputs, tensors)))
            except Exception:  # noqa: BLE001 - an extra size the model rejects is skipped
                if strict:
                    raise
                return None
        last = (name, runs)
        if all(np.isfinite(np.asarray(y, np.float64)).all() for _, (outs, _) in runs for y in outs):
            return last
    return last
