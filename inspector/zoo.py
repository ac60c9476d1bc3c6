"""Library architectures with random weights, built offline: ``timm:NAME``,
``torchvision:NAME`` and ``ultralytics:NAME`` (a YOLO / RT-DETR model YAML name).

Each builder returns ``(module, input shape, notes)``. Nothing is downloaded:
timm and torchvision get ``pretrained=False`` / ``weights=None`` (and
``weights_backbone=None`` for torchvision detection and segmentation, whose
``weights=None`` still fetches backbone weights); ultralytics builds from the
YAML files it ships. A timm pretrained tag (``resnet18.a1_in1k``) selects the
architecture and its input size; its weights are not downloaded either.

    >>> net, shape, notes = build("torchvision", "r3d_18")   # shape (1, 3, 16, 112, 112)
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import re
from pathlib import Path
from typing import Any

from .errors import MissingDependencyError, UnsupportedModelError

Shape = tuple[int, ...] | tuple[tuple[int, ...], ...]
#: ``pip install`` names of the packages behind each prefix.
PACKAGES = {"timm": "timm", "torchvision": "torchvision", "ultralytics": "ultralytics"}


def build(kind: str, model: str) -> tuple[Any, Shape, list[str]]:
    """The ``kind:model`` architecture with random weights (see the module doc)."""
    return _BUILDERS[kind](model)


def _import(package: str) -> Any:
    try:
        return importlib.import_module(package)
    except ImportError as e:
        raise MissingDependencyError(
            f"{package} is not installed. To fix this, run `pip install {PACKAGES.get(package, package)}`"
            " (or the project's extra: pip install 'bn-fold-inspector[models]').") from e


def unknown(kind: str, model: str, names: list[str]) -> UnsupportedModelError:
    close = difflib.get_close_matches(model, names, n=5, cutoff=0.5)
    hint = f" Close matches: {', '.join(close)}." if close else ""
    return UnsupportedModelError(f"unknown {kind} model {model!r}.{hint}", close_matches=close)


# -- timm -------------------------------------------------------------------------
def _timm(model: str) -> tuple[Any, Shape, list[str]]:
    timm = _import("timm")
    notes: list[str] = []
    if model not in timm.list_models():
        arch, _, tag = model.partition(".")
        tags = timm.list_pretrained(f"{arch}.*") if tag else []
        if model not in tags:
            raise unknown("timm", model, [*timm.list_models(), *tags])
        notes.append(f"timm:{model}: the {arch} architecture with random weights; the weights of "
                     f"the pretrained tag .{tag} are not downloaded (only its input size is used).")
    net = timm.create_model(model, pretrained=False)
    size = tuple(net.pretrained_cfg.get("input_size", (3, 224, 224)))
    return net, (1, *size), notes


# -- torchvision ------------------------------------------------------------------
#: Architectures whose constructor warns unless told how to initialise.
_INIT_WEIGHTS = ("inception_v3", "googlenet", "quantized_inception_v3", "quantized_googlenet")


def torchvision_kwargs(tv: Any, model: str) -> dict[str, Any]:
    """Constructor arguments that build ``model`` with no weights at all."""
    params = inspect.signature(tv.models.get_model_builder(model)).parameters
    kwargs: dict[str, Any] = {"weights": None}
    if "weights_backbone" in params:  # detection / segmentation: weights=None alone downloads
        kwargs["weights_backbone"] = None
    if "quantize" in params:  # quantizable architectures, in float
        kwargs["quantize"] = False
    if model in _INIT_WEIGHTS:
        kwargs["init_weights"] = True
    return kwargs


def torchvision_shape(tv: Any, model: str) -> Shape:
    """The input a torchvision architecture expects: video clips are 5-D
    (1, 3, 16, crop, crop), optical flow takes two frames, Inception 299 px."""
    if model in tv.models.list_models(module=tv.models.video):
        crop = tv.models.get_model_weights(model).DEFAULT.transforms().crop_size[0]
        return (1, 3, 16, crop, crop)
    if model in tv.models.list_models(module=tv.models.optical_flow):
        return ((1, 3, 224, 224), (1, 3, 224, 224))
    side = 299 if "inception_v3" in model else 224
    return (1, 3, side, side)


def _torchvision(model: str) -> tuple[Any, Shape, list[str]]:
    tv = _import("torchvision")
    names = tv.models.list_models()
    if model not in names:
        raise unknown("torchvision", model, names)
    net = tv.models.get_model(model, **torchvision_kwargs(tv, model))
    return net, torchvision_shape(tv, model), []


# -- ultralytics --------------------------------------------------------------------
#: Model YAMLs that need downloaded weights of another model (CLIP text encoders).
_NEEDS_DOWNLOAD = re.compile(r"world|yoloe")


def ultralytics_names() -> list[str]:
    """Every model YAML name ultralytics ships, with each scale spelled out
    (``yolov8.yaml`` with scales n/s/m/l/x -> ``yolov8n`` ... ``yolov8x``)."""
    ul = _import("ultralytics")
    from ultralytics.utils import YAML

    names = []
    for path in sorted((Path(ul.__file__).parent / "cfg" / "models").rglob("*.yaml")):
        if _NEEDS_DOWNLOAD.search(path.stem):
            continue
        scales = [s for s in (YAML.load(path) or {}).get("scales") or {} if s in "nslmx"]
        # ultralytics reads yolov8n-seg.yaml as yolov8-seg.yaml at scale n (yaml_model_load)
        unify = lambda stem: re.sub(r"(\d+)([nslmx])(.+)?$", r"\1\3", stem)  # noqa: E731
        scaled = [] if not path.stem.startswith("yolo") or unify(path.stem) != path.stem else [
            c for c in (re.sub(r"^(\D*\d+)", rf"\g<1>{s}", path.stem, count=1) for s in scales)
            if unify(c) == path.stem]
        names += scaled or [path.stem]
    return names


def _ultralytics(model: str) -> tuple[Any, Shape, list[str]]:
    _import("ultralytics")
    from ultralytics.nn import tasks

    stem = model[:-5] if model.endswith(".yaml") else model
    names = ultralytics_names()
    if stem not in names:
        raise unknown("ultralytics", model, names)
    cfg = tasks.yaml_model_load(f"{stem}.yaml")
    task = "rtdetr" if "rtdetr" in stem else tasks.guess_model_task(cfg)
    classes = {"detect": tasks.DetectionModel, "segment": tasks.SegmentationModel,
               "pose": tasks.PoseModel, "obb": tasks.OBBModel, "rtdetr": tasks.RTDETRDetectionModel,
               "classify": tasks.ClassificationModel}
    if task not in classes:
        raise UnsupportedModelError(
            f"ultralytics:{model} is a {task} model, which is not supported. To fix this, use a "
            "detect, segment, pose, obb, classify or RT-DETR model YAML name.")
    net = classes[task](cfg, verbose=False)
    side = 224 if task == "classify" else 640
    return net, (1, 3, side, side), []


_BUILDERS = {"timm": _timm, "torchvision": _torchvision, "ultralytics": _ultralytics}
PREFIXES = tuple(_BUILDERS)
