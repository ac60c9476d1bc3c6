"""Verification of real YOLO models (issue 14 items 1-3): fold and verify ultralytics
models built from their YAML (random weights, ``randomize_bn``, seed 0; nothing is
downloaded) through the ONNX and the PyTorch frontends, and print one table row per
case and mode.

    python scripts/verify_yolo.py [--size 640] [--cases v8n-onnx,v9t-torch,...]
                                  [--modes optimal,reparam] [--verify-only]

``--verify-only``: one write-back and one ``verify`` per mode, no roll-back search
(a refused fold otherwise re-verifies every step to find the culprit: slow).

Cases: ``v8n-onnx``, ``v9t-onnx`` (torch.onnx.export, dynamo, BN kept), ``v9t-torch``,
``v10n-torch`` (``package.module:callable`` route), ``v10n-e2e-onnx``,
``v10n-e2e-torch`` (the end-to-end head: TopK over the class scores), ``unet-mobileone``
(segmentation-models-pytorch Unet, MobileOne-S0 encoder, 128x128). Needs the
``ultralytics`` and ``segmentation-models-pytorch`` packages.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from inspector.bn_stats import randomize_bn  # noqa: E402
from inspector.errors import InspectorError  # noqa: E402
from inspector.folding.pipeline import fold  # noqa: E402

MODES = {"onnx": ("adjacent", "optimal", "reparam"), "torch": ("optimal", "reparam")}


def yolo(config: str, end2end: bool = False) -> torch.nn.Module:
    from ultralytics import YOLO

    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = randomize_bn(YOLO(config).model.eval())
    if end2end:
        head = model.model[-1]
        head.end2end, head.export = True, True
    return model


def unet_mobileone() -> torch.nn.Module:
    import segmentation_models_pytorch as smp

    torch.manual_seed(0)
    return randomize_bn(smp.Unet("mobileone_s0", encoder_weights=None, classes=2).eval())


def load(module: torch.nn.Module, frontend: str, size: int, name: str):
    shape = (1, 3, size, size)
    if frontend == "torch":
        from inspector.frontends.pytorch import load_module

        return load_module(module, input_shape=shape, name=name)
    from onnxscript import ir

    from inspector.frontends.onnx import load_onnx

    with contextlib.redirect_stdout(io.StringIO()):
        program = torch.onnx.export(module, (torch.randn(*shape),), dynamo=True, optimize=False,
                                    verbose=False)
    proto = ir.serde.serialize_model(program.model)
    seen: set[str] = set()  # YOLOv10 lists some outputs twice (issue 14 item 4)
    keep = [o for o in proto.graph.output if not (o.name in seen or seen.add(o.name))]
    del proto.graph.output[:]
    proto.graph.output.extend(keep)
    return load_onnx(proto, name=name)


CASES = {
    "v8n-onnx": (lambda: yolo("yolov8n.yaml"), "onnx", None),
    "v9t-onnx": (lambda: yolo("yolov9t.yaml"), "onnx", None),
    "v9t-torch": (lambda: yolo("yolov9t.yaml"), "torch", None),
    "v10n-torch": (lambda: yolo("yolov10n.yaml"), "torch", None),
    "v10n-e2e-onnx": (lambda: yolo("yolov10n.yaml", end2end=True), "onnx", None),
    "v10n-e2e-torch": (lambda: yolo("yolov10n.yaml", end2end=True), "torch", None),
    "unet-mobileone": (unet_mobileone, "torch", 128),
}


def verify_once(loaded, mode: str) -> SimpleNamespace:
    """A fold's result without roll-backs: one write-back, one verification."""
    from inspector.folding.driver import analyze
    from inspector.folding.pipeline import write_back
    from inspector.verification.compare import verify

    analysis = analyze(loaded.graph, mode)
    model = write_back(loaded, analysis)
    check = verify(loaded, model, steps=analysis.steps, merges=analysis.merge_log)
    return SimpleNamespace(analysis=analysis, verification=check, rolled_back=[])


def row(case: str, mode: str, loaded, once: bool) -> str:
    t0 = time.perf_counter()
    try:
        result = verify_once(loaded, mode) if once else fold(loaded, mode)
    except InspectorError as e:
        return (f"| {case} | {mode} | refused | {time.perf_counter() - t0:.0f} s | "
                f"{str(e)[:160]} |")
    v = result.verification
    left = ", ".join(n.tensor for n in getattr(v, "outputs_not_compared", ()))
    floored = next((n for n in v.notes if "noise floor" in n), "")
    extra = "; ".join(x for x in (
        f"rolled back {len(result.rolled_back)}" if result.rolled_back else "",
        f"outputs not compared: {left}" if left else "",
        floored.split(":", 1)[0] if floored else "") if x)
    return (f"| {case} | {mode} | {v.state}, {result.analysis.folded_count}/"
            f"{result.analysis.bn_total} BN folded | {time.perf_counter() - t0:.0f} s | worst "
            f"{v.worst_tensor} {v.worst_tensor_rel_error:.1e}, {v.tensors_compared} tensors"
            f"{'; ' + extra if extra else ''} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=640)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--modes", default="", help="default: every mode the frontend folds")
    parser.add_argument("--verify-only", action="store_true")
    args = parser.parse_args()
    print("| case | mode | verification | fold time | details |\n|---|---|---|---|---|", flush=True)
    for case in args.cases.split(","):
        build, frontend, size = CASES[case]
        loaded = load(build(), frontend, size or args.size, case)
        for mode in args.modes.split(",") if args.modes else MODES[frontend]:
            print(row(case, mode, loaded, args.verify_only), flush=True)


if __name__ == "__main__":
    main()
