"""Numerical verification: original vs folded on the same inputs, tensor by tensor.

What is checked (and how it cannot be fooled):

* **Every shared tensor**, not only the outputs: when the frontend can return
  intermediate tensors (``run_tensors``), each tensor that exists in both
  models and that no fold is meant to change (:func:`~.scope.changed_tensors`)
  is compared with its own relative error (on the first input set; the
  outputs on every set). A wrong fold behind a damped branch (layer-scale
  1e-4) shows up there even when the final output hardly moves. Tensors are
  matched by provenance: the frontend names each value after the IR tensor
  whose node produced it, never after a name a rewrite may reuse; a value
  whose shape is not its tensor's is an internal matching error, reported and
  not compared (never an infinite model error).
* **Float32 noise**: a tensor whose error exceeds the tolerance of its own
  magnitude is judged against its noise floor, measured on the original model
  itself (:mod:`~.metrics`): a sigmoid of very negative logits holds absolute
  noise, not relative precision. A wrong fold moves tensors far beyond it.
* **Discrete choices**: outputs of TopK, ArgMax, NonMaxSuppression, comparisons
  ... (:func:`~.scope.discrete_tensors`) are compared exactly; when one flipped
  (float32 noise decided differently) the tensors computed from it are not
  compared and the report says so (``Verification.not_compared``): the
  continuous tensors up to the choice are.
* **Non-finite values**: NaN / +Inf / -Inf must sit at exactly the same
  places; the error is measured over the finite entries. When the reference
  outputs are non-finite for N(0, 1) inputs, other ranges are tried
  (:data:`~.inputs.INPUT_RANGES`); if they all give non-finite outputs the
  result is ``unverified`` ("could not verify"), never ``passed``.
* **Dynamic sizes**: each dynamic input axis is also checked at a second size;
  without dynamic axes, at the other sizes the format's adapter offers
  (:func:`~.inputs.shape_sets`). What was really run is listed in
  ``input_shapes`` and ``notes``.
* **Precision**: the tolerance follows the lowest precision among the I/O
  and the weights (:func:`~.metrics.tolerance_for`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np

from ..errors import first_line
from ..model import LoadedModel
from .inputs import INPUT_RANGES, draw_inputs, shape_sets
from .metrics import (
    TOLERANCE,
    TensorError,
    judge,
    model_dtypes,
    noise_floor,
    nudge,
    output_errors,
    scale_floor_for,
    tensor_error,
    tolerance_for,
)
from .result import FAILED, PASSED, UNVERIFIED, NotCompared, Verification
from .scope import behind, changed_tensors, discrete_tensors

__all__ = ["FAILED", "INPUT_RANGES", "PASSED", "TOLERANCE", "UNVERIFIED", "NotCompared",
           "TensorError", "Verification", "changed_tensors", "model_dtypes", "output_errors",
           "tensor_error", "tolerance_for", "verify"]

Run = tuple[list[np.ndarray], dict[str, np.ndarray]]
#: Above this many IR nodes a second runtime session per model (outputs only) costs
#: more than exposing every tensor on each run: onnxruntime needs ~9 s of CPU to
#: create a session for a 50,000-node chain, growing faster than the graph.
ONE_SESSION_NODES = 5000


def _run_all(loaded: LoadedModel, model: Any, inputs: list[np.ndarray], per_tensor: bool,
             problems: list[str] | None = None) -> Run:
    """Outputs and, when asked and the frontend can, every IR tensor it computes. A
    failure to capture the tensors falls back to the outputs and is told in ``problems``.
    Graphs over ``ONE_SESSION_NODES`` nodes run every input set through the capturing
    run (the tensors then dropped when not asked for): one runtime session per model."""
    capture = per_tensor or len(loaded.graph) > ONE_SESSION_NODES
    run_tensors = loaded.frontend.run_tensors if capture else None
    if run_tensors is not None:
        try:
            outs, tensors = run_tensors(model, inputs, loaded)
            return list(outs), dict(tensors) if per_tensor else {}
        except Exception as e:  # noqa: BLE001 - e.g. a non-tensor value exposed: outputs only
            if problems is not None and per_tensor:
                problems.append(f"intermediate tensors could not be captured "
                                f"({first_line(e, 160, with_type=True)}): only the outputs "
                                "were compared on that input set.")
    return list(loaded.frontend.run(model, inputs)), {}


class _Tally:
    """Errors, worst tensor and what was left out, over every run compared."""

    def __init__(self, loaded: LoadedModel, tol: float, scale_floor: float,
                 skip: set[str]) -> None:
        self.loaded, self.graph, self.tol, self.scale_floor = loaded, loaded.graph, tol, scale_floor
        self.skip = skip
        outs = [n for n in self.graph.nodes if n.op == "output"]
        self.out_tensors = [n.inputs[0] for n in outs]
        self.out_names = [n.name for n in outs]
        self.discrete = {t: n for t, n in discrete_tensors(self.graph).items() if t not in skip}
        self.abs_err = self.rel_err = self.worst_rel = 0.0
        self.worst: str | None = None
        self.compared: set[str] = set()
        self.outputs_compared: set[str] = set()
        self.unverified = False
        self.left_out: dict[str, NotCompared] = {}
        self.flipped_inside: set[str] = set()
        self.floored: dict[str, tuple[float, float, float]] = {}
        self.notes: list[str] = []

    # -- discrete choices ---------------------------------------------------
    def flips(self, ref: dict[str, np.ndarray], other: dict[str, np.ndarray]
              ) -> tuple[dict[str, str], dict[str, str]]:
        """(tensors behind a choice that flipped, tensors behind one not observed)."""
        flipped, unseen = [], []
        for t in self.discrete:
            if t not in ref or t not in other:
                unseen.append(t)
            elif ref[t].shape != other[t].shape or not np.array_equal(ref[t], other[t]):
                flipped.append(t)
        return behind(self.graph, flipped), behind(self.graph, unseen)

    def _with_outputs(self, run: Run) -> dict[str, np.ndarray]:
        """A run's tensors, its outputs included (a frontend may not repeat them)."""
        outs, tensors = run
        if len(outs) != len(self.out_tensors):
            return tensors
        return {**dict(zip(self.out_tensors, (np.asarray(o) for o in outs))), **tensors}

    def _leave_out(self, tensor: str, source: str, observed: bool, output: bool) -> None:
        node = self.discrete[source]
        why = ("its choice flipped between the original and the folded model"
               if observed else "its choice may have flipped (not observable)")
        if not output:
            self.flipped_inside.add(tensor)
            return
        self.left_out.setdefault(tensor, NotCompared(
            tensor, f"computed from {_label(node)}, a discontinuous op: {why} under float32 "
                    "noise", node.name, output=True))

    # -- one run ------------------------------------------------------------
    def compare(self, ref: Run, got: Run, nudged: Any, say: Any = None) -> None:
        """Compare one run; ``nudged()`` runs the original on nudged inputs (lazily);
        ``say(message, fraction)`` hears which tensor is being compared."""
        ref_out, ref_t = ref
        out, tensors = got
        if len(out) != len(ref_out):
            self._fail("outputs (their number differs)")
            return
        flipped, unseen = self.flips(self._with_outputs(ref), self._with_outputs(got))
        floors = _Floors(self, ref, nudged)
        for j, (y, z) in enumerate(zip(ref_out, out)):
            name = self.out_names[j] if len(self.out_names) == len(out) else f"output {j}"
            t = self.out_tensors[j] if len(self.out_tensors) == len(out) else None
            if t in flipped:
                self._leave_out(name, flipped[t], True, output=True)
                continue
            if np.shape(y) != np.shape(z):
                self.notes.append(f"output '{name}' has shape {list(np.shape(z))} in the folded "
                                  f"model, {list(np.shape(y))} in the original.")
                self._fail(f"{name} (shape {list(np.shape(z))}, not {list(np.shape(y))})")
                continue
            e = tensor_error(y, z, self.scale_floor)
            rel = self._judged(name, e, partial(floors.output, j, t))
            if rel > self.tol and t in unseen:
                self._leave_out(name, unseen[t], False, output=True)
                continue
            self.outputs_compared.add(name)
            self.unverified |= e.nonfinite
            self.abs_err, self.rel_err = max(self.abs_err, e.abs_error), max(self.rel_err, rel)
            if self.worst is None or rel > self.worst_rel:
                self.worst_rel, self.worst = rel, name
        every = max(len(ref_t) // 50, 1)
        for k, (t, y) in enumerate(ref_t.items()):
            if say is not None and k % every == 0:
                say(f"comparing tensor {k + 1} of {len(ref_t)}: {t}", k / len(ref_t))
            if t in self.skip or t not in tensors:
                continue
            if t in flipped:
                self._leave_out(t, flipped[t], True, output=False)
                continue
            if y.shape != tensors[t].shape:
                self._mismatch(t, y.shape, tensors[t].shape)
                continue
            e = tensor_error(y, tensors[t], self.scale_floor)
            rel = self._judged(t, e, partial(floors.tensor, t))
            if rel > self.tol and t in unseen:
                self._leave_out(t, unseen[t], False, output=False)
                continue
            self.compared.add(t)
            if rel > self.worst_rel:
                self.worst_rel, self.worst = rel, t

    def _judged(self, name: str, e: TensorError, floor: Any) -> float:
        if e.rel_error <= self.tol or not np.isfinite(e.rel_error):
            return e.rel_error
        f = floor()
        rel = judge(e, f, self.tol)
        if rel < e.rel_error:
            self.floored[name] = (e.abs_error, f, e.scale)
        return rel

    def _mismatch(self, t: str, ref_shape: tuple, got_shape: tuple) -> None:
        producer = self.graph.producer(t)
        recorded = self.graph.shape(t)
        self.left_out.setdefault(t, NotCompared(
            t, f"internal matching error: the values captured for it have shape "
               f"{list(ref_shape)} in the original and {list(got_shape)} in the folded model "
               f"(the graph records {list(recorded) if recorded else 'no shape'}); please report "
               "this", producer.name if producer is not None else None))

    def _fail(self, what: str) -> None:
        self.abs_err = self.rel_err = self.worst_rel = float("inf")
        self.worst = what

    # -- summary ------------------------------------------------------------
    def summary_notes(self) -> list[str]:
        notes = list(dict.fromkeys(self.notes))
        if self.floored:
            names = sorted(self.floored, key=lambda n: -self.floored[n][0] / self.floored[n][2])
            shown = ", ".join(f"'{n}' (error {a:.1e}, noise floor {f:.1e}, largest value {s:.1e})"
                              for n in names[:3] for a, f, s in [self.floored[n]])
            more = f" and {len(names) - 3} more" if len(names) > 3 else ""
            notes.append(f"{len(names)} tensor(s) judged against the float32 noise floor measured "
                         f"on the original (inputs nudged by a few epsilons), their values being small "
                         f"next to the rounding noise they carry: {shown}{more}.")
        if self.flipped_inside:
            notes.append(f"{len(self.flipped_inside)} intermediate tensor(s) not compared: they are "
                         "computed from a discrete choice (TopK, ArgMax, a comparison ...) that "
                         "flipped under float32 noise; the continuous tensors before it were.")
        for item in self.left_out.values():
            what = "output" if item.output else "tensor"
            notes.append(f"{what} '{item.tensor}' not compared: {item.reason}.")
        return notes


class _Floors:
    """Noise floors of one run's tensors, from one lazy run of the original on nudged
    inputs. A tensor computed from a discrete choice that flipped (or may have) in
    that run gets no floor: its change there is not rounding noise."""

    def __init__(self, tally: _Tally, ref: Run, nudged: Any) -> None:
        self.tally, self.ref, self.nudged = tally, ref, nudged
        self.run: Run | None = None
        self.invalid: set[str] = set()

    def _get(self) -> Run:
        if self.run is None:
            try:
                self.run = self.nudged()
            except Exception:  # noqa: BLE001 - no floor then: every tensor judged on its own
                self.run = ([], {})
            flipped, unseen = self.tally.flips(self.tally._with_outputs(self.ref),
                                               self.tally._with_outputs(self.run))
            self.invalid = set(flipped) | set(unseen)
        return self.run

    def output(self, j: int, tensor: str | None) -> float:
        outs, _ = self._get()
        if tensor in self.invalid or j >= len(outs):
            return 0.0
        return noise_floor(self.ref[0][j], outs[j])

    def tensor(self, t: str) -> float:
        _, tensors = self._get()
        if t in self.invalid or t not in tensors:
            return 0.0
        return noise_floor(self.ref[1][t], tensors[t])


def _label(node: Any) -> str:
    kind = node.attrs.get("op_type") or node.op
    return f"`{node.name}` ({kind})"


def verify(loaded: LoadedModel, folded_model: Any, trials: int = 2, seed: int = 0, *,
           steps: Sequence[Any] | None = None, merges: Sequence[Any] = (),
           per_tensor: bool = True, progress: Any = None) -> Verification:
    """Compare ``loaded.model`` and ``folded_model`` on ``trials`` input sets.

    Args:
        steps: the fold steps applied (``Analysis.steps``); the tensors they are
            meant to change are left out of the per-tensor comparison. When
            None, only the outputs are compared.
        merges: the merges applied (``Analysis.merge_log``); tensors inside
            merged regions are not compared.
        per_tensor: compare every shared intermediate tensor (when the
            frontend can return them and ``steps`` is given).
        progress: ``progress(message, fraction)``, told each run and, tensor by
            tensor, what is being compared (fraction 0..1 of the verification).

    Inputs are N(0, 1) unless the reference outputs are non-finite on them
    (then U(0.5, 1.5), then U(0.01, 0.1)). Dynamic axes are also run at a
    second size (see the module docstring).
    """
    per_tensor = per_tensor and steps is not None
    skip = changed_tensors(loaded.graph, steps, merges) if per_tensor else set()
    dtypes = model_dtypes(loaded)
    tally = _Tally(loaded, tolerance_for(dtypes), scale_floor_for(dtypes), skip)
    sets = shape_sets(loaded, folded_model)
    used_shapes: list[tuple[tuple[int, ...], ...]] = []
    range_name = INPUT_RANGES[0][0]
    say = progress or (lambda msg, frac: None)
    for k, shapes in enumerate(sets):
        if k > 0 and len(used_shapes) >= 2:
            break  # one extra size per dynamic axis is enough
        size = "" if k == 0 else f" at input shapes {[list(s) for s in shapes]}"
        say(f"running the original model{size}", 0.0 if k == 0 else 0.9)
        found = _reference(loaded, shapes, seed, per_tensor, trials if k == 0 else 1,
                           strict=k == 0, problems=tally.notes)
        if found is None:  # an extra size the original does not run at
            continue
        name, runs = found
        if k == 0:
            range_name = name
        for i, (inputs, ref) in enumerate(runs):
            start, width = (0.1 + 0.8 * i / len(runs), 0.8 / len(runs)) if k == 0 else (0.9, 0.1)
            say(f"running the folded model on input set {i + 1} of {len(runs)}{size}", start)
            try:
                got = _run_all(loaded, folded_model, inputs, bool(ref[1]), tally.notes)
            except Exception as e:  # noqa: BLE001
                if k == 0:
                    raise
                # The original runs at this size and the folded model does not.
                what = f"the folded model fails at input shapes {[list(s) for s in shapes]}"
                tally._fail(what)
                tally.notes.append(f"{what}: {first_line(e, 120, with_type=True)}")
                continue

            def nudged(inputs=inputs, ref=ref, i=i) -> Run:
                dtypes = [s.dtype for s in loaded.inputs]
                return _run_all(loaded, loaded.model, nudge(inputs, seed + i, dtypes),
                                bool(ref[1]))

            tally.compare(ref, got, nudged, lambda m, f, s=start, w=width: say(m, s + w * f))
        used_shapes.append(tuple(tuple(s) for s in shapes))
    return _verdict(loaded, tally, sets, used_shapes, trials, range_name)


def _verdict(loaded: LoadedModel, tally: _Tally, sets: list, used_shapes: list, trials: int,
             range_name: str) -> Verification:
    notes = tally.summary_notes()
    if len(sets) > 1 and len(used_shapes) < 2:
        notes.append("the original model does not run at a second input size: checked at "
                     f"{[list(s) for s in used_shapes[0]] if used_shapes else 'the loaded size'} "
                     "only.")
    elif len(sets) == 1 and loaded.frontend.single_size_note:
        notes.append(loaded.frontend.single_size_note)
    if not used_shapes:
        notes.append("the original model could not be run on any input tried.")
    worst_all = max(tally.rel_err, tally.worst_rel)
    nothing = used_shapes and not tally.outputs_compared and not tally.compared
    failed = not np.isfinite(worst_all) or worst_all > tally.tol
    status = FAILED if failed else (
        UNVERIFIED if tally.unverified or not used_shapes or nothing else PASSED)
    if status == UNVERIFIED and nothing:
        notes.append("nothing could be compared: every output is computed from a discrete "
                     "choice that flipped under float32 noise.")
    elif status == UNVERIFIED and used_shapes:
        notes.append("the original model's outputs hold NaN/Inf for every input range tried "
                     f"({', '.join(n for n, _ in INPUT_RANGES)}): could not verify.")
    graph = loaded.graph
    producer = graph.producer(tally.worst) if tally.worst in graph.tensors else None
    return Verification(
        tally.abs_err, tally.rel_err, tally.tol,
        trials + len(used_shapes) - 1 if used_shapes else 0, status, tally.worst,
        tally.worst_rel if tally.worst else 0.0, len(tally.compared),
        producer.name if producer is not None else None, range_name, tuple(used_shapes),
        tuple(notes), tuple(tally.left_out.values()), len(tally.outputs_compared))


def _reference(loaded: LoadedModel, shapes: Sequence[tuple[int, ...]], seed: int,
               per_tensor: bool, trials: int, strict: bool, problems: list[str]):
    """(range name, [(inputs, (outputs, tensors))] per trial) from the first input range
    whose reference outputs are all finite (else the last range tried); None if an
    extra size does not run."""
    last = None
    for name, draw in INPUT_RANGES:
        runs = []
        for i in range(trials):
            inputs = draw_inputs(loaded, shapes, draw, seed + i)
            try:
                # Intermediate tensors on the first input set of the loaded size only:
                # a wrong fold is systematic, and exposing every tensor costs ~3x a run.
                tensors = per_tensor and strict and i == 0
                runs.append((inputs, _run_all(loaded, loaded.model, inputs, tensors, problems)))
            except Exception:  # noqa: BLE001 - an extra size the model rejects is skipped
                if strict:
                    raise
                return None
        last = (name, runs)
        if all(np.isfinite(np.asarray(y, np.float64)).all() for _, (outs, _) in runs for y in outs):
            return last
    return last
