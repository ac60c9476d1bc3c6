"""LoadedModel: what a frontend returns, and the Adapter contract every frontend meets."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import first_line
from .ir import Graph


@dataclass
class InputSpec:
    """One model input: name, concrete example shape and numpy dtype name."""

    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"


@dataclass
class LoadedModel:
    """A model ready for analysis.

    Attributes:
        name: display name (file stem, ``sample:NAME`` ...).
        graph: the IR; never mutated.
        framework: "torch" or "onnx".
        model: the framework object (``nn.Module``, ``ExportedProgram`` or
            ``onnx.ModelProto``). Never mutated: write-back works on copies.
        inputs: example input specs used for tracing, verification and timing.
        frontend: the :class:`Adapter` of the format that loaded it.
        notes: warnings gathered while loading (e.g. fallbacks).
        capture: the frontend's typed capture record, read by its write-back
            (``frontends.pytorch.records.TorchCapture`` /
            ``frontends.onnx.capture.OnnxCapture``); opaque to everything else.
    """

    name: str
    graph: Graph
    framework: str
    model: Any
    inputs: list[InputSpec]
    frontend: Adapter
    notes: list[str] = field(default_factory=list)
    capture: Any = None
    #: Dynamic input axes (ONNX): input index -> axes; verification also runs
    #: other sizes along them.
    dynamic_axes: dict[int, list[int]] = field(default_factory=dict)

    def random_inputs(self, seed: int = 0, batch: int | None = None) -> list[np.ndarray]:
        """Seeded random inputs matching ``inputs`` (optionally re-batched)."""
        rng = np.random.default_rng(seed)
        out = []
        for spec in self.inputs:
            shape = spec.shape if batch is None else (batch, *spec.shape[1:])
            # numpy has no bfloat16: such inputs are float32 (the torch runtime casts them)
            dtype = "float32" if spec.dtype == "bfloat16" else spec.dtype
            out.append(rng.standard_normal(shape).astype(dtype))
        return out


#: ``(loaded, folded_model) -> shape sets``: other input sizes a model may be verified at.
OtherSizes = Callable[["LoadedModel", Any], list[list[tuple[int, ...]]]]


@dataclass(frozen=True, kw_only=True)
class Adapter:
    """Everything the tool asks of one input format: the only frontend contract.

    Each frontend package (``inspector.frontends.pytorch`` / ``.onnx``) defines
    one ``ADAPTER``, registered by one line of ``inspector.frontends.FRONTENDS``;
    every LoadedModel it creates holds it as ``frontend``. Code outside
    ``frontends/`` never asks which format a model came from: it asks this.

    Attributes:
        name: the format's name, also ``LoadedModel.framework`` (``torch``, ``onnx``).
        label: the name in sentences (``PyTorch``).
        extensions: file suffixes it reads (``.onnx``).
        save_formats: file suffixes ``save`` writes, the format's own first.
        write_back: ``(loaded, folded, removed, changed[, merges=]) -> model``: a new
            framework model: for every node id in ``changed`` write
            ``folded.node(id).params`` (float64; cast to the model dtype; a ``bias``
            with no entry in ``param_keys`` is new and must be created), bypass the
            BN nodes whose ids are in ``removed`` and, when ``supports_merges``,
            replace each merged region (``MergeStep``) by its conv. ``loaded.model``
            is untouched.
        run: ``(model, inputs) -> outputs``: run a model (original or folded) on numpy inputs.
        save: ``(model, path, loaded)``: save a model as ``path``'s suffix (one of
            ``save_formats``).
        run_tensors: ``(model, inputs, loaded) -> (outputs, {IR tensor name: value})``:
            the outputs plus every intermediate tensor the IR names (per-tensor
            verification), each named by provenance: after the IR tensor whose node
            produced it, never after a name a rewrite may reuse. None: outputs only.
        load_file: ``(path, *, name, input_shape, max_tensor_mb) -> LoadedModel``.
        load_bytes: ``(data, filename, *, input_shape, max_tensor_mb) -> LoadedModel``
            for untrusted uploads (nothing in the bytes may run code or read files).
        load_object: ``(obj, *, name, input_shape, max_tensor_mb) -> LoadedModel`` for
            in-memory models that ``accepts(obj)``.
        supports_merges: ``write_back`` takes ``merges`` (mode ``reparam``).
        other_sizes: other input sizes the models may run at, checked by
            verification besides the loaded one (dynamic axes are handled for
            every format); None or ``[]``: none.
        single_size_note: said by verification when ``other_sizes`` gives none.
        timing_backends: the timing backends that run its models (``bench.timing``);
            ``onnxruntime`` runs any format through ``save(..., ".onnx")``.
        runtime_check: ``(loaded, folded_model) -> dict`` comparing what the runtime
            makes of ``loaded.model`` and ``folded_model`` (optimised node counts and
            ``fusions_lost``: ``{fused op: [before, after]}``); the pipeline refuses a
            fold or merge that loses a fusion. It raises ``InspectorError`` when it
            cannot run (the fold goes on). None: no such check.
        time_runners: ``(variants, inputs, threads)`` -> a context manager giving
            ``{variant: zero-argument runner}`` for the format's own backend
            (the first of ``timing_backends`` when it is not ``onnxruntime``).
        node_unit: what the node counts of its models count, as the CLI and the report
            (``node_unit``) name it: ``nodes`` (the nodes of the loaded and of the
            written-back file) or ``graph nodes`` (the framework graph's operations,
            when the saved file is an export whose count differs).
        release: ``() -> None``: drop what the frontend caches to run models (e.g.
            onnxruntime sessions); ``fold`` calls it once its verification is done.
    """

    name: str
    label: str = ""
    extensions: tuple[str, ...] = ()
    save_formats: tuple[str, ...] = ()
    write_back: Callable[..., Any]
    run: Callable[..., list[np.ndarray]]
    save: Callable[..., None] | None = None
    run_tensors: Callable[..., tuple[list[np.ndarray], dict[str, np.ndarray]]] | None = None
    load_file: Callable[..., LoadedModel] | None = None
    load_bytes: Callable[..., LoadedModel] | None = None
    load_object: Callable[..., LoadedModel] | None = None
    accepts: Callable[[Any], bool] = field(default=lambda obj: False)
    supports_merges: bool = False
    other_sizes: OtherSizes | None = None
    single_size_note: str | None = None
    timing_backends: tuple[str, ...] = ("onnxruntime",)
    time_runners: Callable[..., AbstractContextManager[dict[str, Callable[[], Any]]]] | None = None
    runtime_check: Callable[[LoadedModel, Any], dict[str, Any]] | None = None
    release: Callable[[], None] | None = None
    node_unit: str = "nodes"

    @property
    def display(self) -> str:
        """The name used in sentences (``label``, else ``name``)."""
        return self.label or self.name


def unmapped_note(node: str, op_type: str, error: BaseException) -> str:
    """The load note for a node whose mapping rule raised: it stays ``other``."""
    return (f"`{node}` ({op_type}) is kept as an unknown op (it blocks folding): its mapping "
            f"failed with {first_line(error, 200, with_type=True)}.")


RunFn = Callable[[Sequence[np.ndarray]], list[np.ndarray]]
