"""Model sources: ``sample:NAME``, ``timm:NAME``, ``torchvision:NAME``,
``ultralytics:NAME`` and ``package.module:callable`` (these are where models come
from, not file formats; the format adapters are in ``inspector.frontends``).

Zoo (``inspector.zoo``) and sample weights are random (never downloaded) and their
BN statistics are randomised (:func:`randomize_bn`) so that folding is really
exercised.
A user's ``package.module:callable`` model (like a ``.pt2`` or ONNX file) is
folded exactly as given: its statistics are never touched.

    >>> loaded = resolve_spec("torchvision:resnet18")   # input (1, 3, 224, 224)
"""

from __future__ import annotations

import importlib
from typing import Any

from .bn_stats import randomize_bn
from .errors import UnsupportedModelError, first_line
from .model import LoadedModel
from .zoo import PREFIXES, build, unknown

__all__ = ["load_sample", "randomize_bn", "resolve_spec"]


def _callable(spec: str) -> tuple[Any, tuple[int, ...] | None]:
    """Import ``package.module`` and call ``callable()``: this runs that code, by design
    (CLI and library only; the app never accepts such names). Every failure of the
    user's code is one line (its exception type and first line), never a traceback."""
    import inspect


    path, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(path)
    except ImportError as e:
        raise UnsupportedModelError(
            f"cannot import {path!r} for model spec {spec!r} ({e}). To fix this, check the "
            "module path (package.module:callable) and that it is on PYTHONPATH.") from e
    except Exception as e:  # noqa: BLE001 - the module's own code failed on import
        raise UnsupportedModelError(
            f"importing {path!r} for {spec!r} raised {first_line(e, with_type=True)}. To fix this, run "
            f"`python -c 'import {path}'` to see the full error.") from e
    fn = getattr(module, attr, None)
    if not callable(fn):
        names = [n for n in dir(module) if not n.startswith("_")]
        raise unknown(f"{path}", attr, names)
    import torch

    try:
        needed = [p.name for p in inspect.signature(fn).parameters.values()
                  if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY,
                                                          p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    except (TypeError, ValueError):  # builtins without a signature: just call them
        needed = []
    if needed:
        raise UnsupportedModelError(
            f"{spec} needs arguments ({', '.join(needed)}); it must be callable with none. "
            "To fix this, give them defaults or wrap the call in a function without "
            "parameters.")
    try:
        net = fn()
    except Exception as e:  # noqa: BLE001 - the user's code failed
        raise UnsupportedModelError(
            f"{spec}() raised {first_line(e, with_type=True)}. To fix this, run it in Python to see the "
            "full error.") from e
    if not isinstance(net, torch.nn.Module):
        raise UnsupportedModelError(
            f"{spec} returned {type(net).__name__}, not a torch.nn.Module. To fix this, "
            "return the model instance (e.g. `return MyNet()`).")
    shape = next((getattr(o, "input_shape", None) or getattr(o, "INPUT_SHAPE", None)
                  for o in (net, fn, module) if getattr(o, "input_shape", None)
                  or getattr(o, "INPUT_SHAPE", None)), None)
    return net, tuple(shape) if shape is not None else None


def resolve_spec(spec: str, input_shape: tuple[int, ...] | None = None,
                 seed: int = 0, max_tensor_mb: float | None = None) -> LoadedModel:
    """Load ``timm:NAME`` / ``torchvision:NAME`` / ``ultralytics:NAME`` /
    ``package.module:callable``.

    Args:
        spec: the model spec.
        input_shape: overrides the model's default input size (batch included).
        seed: seed of the random weights and randomised BN statistics of
            zoo models (a callable's model is used as given).

    Raises:
        MissingDependencyError: timm / torchvision / ultralytics is not installed.
        UnsupportedModelError: unknown model name (close matches listed), bad
            callable, or no input shape known for a callable.
    """
    from .frontends import pytorch

    kind, sep, rest = spec.partition(":")
    if not sep or not rest:
        raise UnsupportedModelError(
            f"bad model spec {spec!r}. To fix this, use timm:NAME, torchvision:NAME, "
            "ultralytics:NAME or package.module:callable.")
    import torch

    notes: list[str] = []
    with torch.random.fork_rng(devices=[]):  # seeded weights, caller's RNG untouched
        torch.manual_seed(seed)
        if kind in PREFIXES:
            net, default, notes = build(kind, rest)
        else:
            net, default = _callable(spec)
    shape = tuple(input_shape) if input_shape is not None else default
    if shape is None:
        raise UnsupportedModelError(
            f"{spec} does not declare an input shape. To fix this, pass --input-shape "
            "(e.g. 1,3,224,224) or give the returned module an `input_shape` attribute "
            "(a tuple of shapes for several inputs).")
    if kind in PREFIXES:  # random weights: make the BN maps non-trivial
        randomize_bn(net, seed)
    loaded = pytorch.load_module(net, input_shape=shape, name=spec, max_tensor_mb=max_tensor_mb)
    loaded.notes[:0] = notes
    return loaded


def load_sample(sample: str, *, input_shape: tuple[int, ...] | None = None,
                max_tensor_mb: float | None = None) -> LoadedModel:
    """A bundled sample model (``sample_models``) as a LoadedModel (PyTorch)."""
    from sample_models import get_sample

    from .frontends.pytorch import load_module

    try:
        spec = get_sample(sample)
    except KeyError as e:
        raise UnsupportedModelError(str(e.args[0]) if e.args else str(e)) from e
    return load_module(spec.build(), input_shape=input_shape or spec.input_shape,
                       name=f"sample:{sample}", max_tensor_mb=max_tensor_mb)
