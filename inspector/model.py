"""LoadedModel: what a frontend returns, and the contract every frontend meets."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

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
        frontend: the adapter of the format that loaded it (has
            ``write_back``, ``run``, ``save``).
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
    frontend: Frontend
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


class Frontend(Protocol):
    """Adapter for one framework (see ``inspector/frontends``)."""

    name: str
    extensions: tuple[str, ...]

    def write_back(
        self, loaded: LoadedModel, folded: Graph, removed: Sequence[str], changed: Sequence[str]
    ) -> Any:
        """Return a new framework model: for every node id in ``changed`` write
        ``folded.node(id).params`` (float64; cast to the model dtype; a ``bias``
        with no entry in ``param_keys`` is new and must be created), and bypass
        the BN nodes whose ids are in ``removed``. ``loaded.model`` is untouched."""

    def run(self, model: Any, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Run a framework model (original or folded) on numpy inputs."""

    def save(self, model: Any, path: str, loaded: LoadedModel) -> None:
        """Save a (folded) model; the format follows the path suffix."""


@dataclass(frozen=True)
class Adapter:
    """One input format's entry points (satisfies :class:`Frontend`).

    Each frontend package (``inspector.frontends.pytorch`` / ``.onnx``) defines
    one ``ADAPTER`` and every LoadedModel it creates holds it as ``frontend``.
    """

    name: str
    extensions: tuple[str, ...]
    write_back: Callable[..., Any]
    run: Callable[..., list[np.ndarray]]
    save: Callable[..., None]
    #: ``run_tensors(model, inputs, loaded) -> (outputs, {IR tensor name: value})``:
    #: the outputs plus every intermediate tensor the model computes that the IR
    #: names (for per-tensor verification). None: outputs only.
    run_tensors: Callable[..., tuple[list[np.ndarray], dict[str, np.ndarray]]] | None = None


def unmapped_note(node: str, op_type: str, error: BaseException) -> str:
    """The load note for a node whose mapping rule raised: it stays ``other``."""
    return (f"`{node}` ({op_type}) is kept as an unknown op (it blocks folding): its mapping "
            f"failed with {first_line(error, 200, with_type=True)}.")


RunFn = Callable[[Sequence[np.ndarray]], list[np.ndarray]]
