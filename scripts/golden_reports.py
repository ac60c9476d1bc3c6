"""Write the golden JSON reports that tests/test_report_identity.py compares against.

For every bundled sample (through PyTorch and through its pre-exported ONNX
file) and a few zoo models: the analysis report in mode ``reparam`` (it holds
the ``adjacent``, ``optimal`` and ``reparam`` analyses) and, for the samples,
the report of an ``optimal`` fold. Timings and the verification's measured
errors are left out (they are not behaviour); everything else is kept.

    python scripts/golden_reports.py                # all models -> tests/golden/reports.json
    python scripts/golden_reports.py sample:resnet  # print the entries of some models

Regenerate the file when a change of behaviour is intended (a rule folds more
BNs, a reason changes...) and say so in the commit message.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

GOLDEN = Path(__file__).resolve().parents[1] / "tests" / "golden" / "reports.json"
#: Zoo models compared too (random weights; never downloaded).
ZOO = ("torchvision:resnet18", "torchvision:mobilenet_v2", "torchvision:densenet121",
       "timm:repvgg_a2", "timm:mobileone_s0", "timm:mixnet_s")
#: Verification keys that are behaviour (the errors themselves are measurements).
VERIFICATION_KEYS = ("status", "passed")


def model_specs() -> list[str]:
    from sample_models import list_samples

    names = [s.name for s in list_samples()]
    return ([f"sample:{n}" for n in names] + [f"onnx:{n}" for n in names] + list(ZOO))


def _load(spec: str):
    import inspector
    from sample_models import onnx_path

    if spec.startswith("onnx:"):
        return inspector.load(str(onnx_path(spec[5:])))
    return inspector.load(spec)


def strip(report: dict) -> dict:
    """The report without timings and measured errors."""
    out = {k: v for k, v in report.items() if k not in ("timings",)}
    out["modes"] = {m: {k: v for k, v in s.items() if k != "analyze_s"}
                    for m, s in report["modes"].items()}
    out["verification"] = {k: report["verification"][k] for k in VERIFICATION_KEYS}
    return json.loads(json.dumps(out, default=str))


def entry(spec: str, *, fold: bool) -> dict:
    """The stripped reports of one model: ``analyze`` and (samples) ``fold``."""
    import inspector
    from inspector.report import build_report

    loaded = _load(spec)
    analyses = inspector.compare_modes(loaded.graph, ("adjacent", "optimal", "reparam"))
    out = {"analyze": strip(build_report(loaded, analyses, mode="reparam"))}
    if fold:
        result = inspector.fold(loaded, "optimal", analysis=analyses["optimal"])
        out["fold"] = strip(build_report(result, analyses))
    return out


def main(argv: list[str]) -> int:
    specs = argv or model_specs()
    found = {s: entry(s, fold=not s.startswith(("timm:", "torchvision:"))) for s in specs}
    if argv:
        print(json.dumps(found, indent=1))
        return 0
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN} ({len(found)} models)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
