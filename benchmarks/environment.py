"""The machine and library versions stored with every benchmark result."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any


def environment(threads: int) -> dict[str, Any]:
    """Versions and machine facts stored with the results."""
    import onnx
    import onnxruntime
    import torch

    info = {"python": platform.python_version(), "machine": platform.machine(), "processor": platform.processor(),
            "torch": torch.__version__, "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__,
            "threads": threads}
    for pkg in ("torchvision", "timm", "onnxoptimizer", "onnxscript"):
        try:
            info[pkg] = __import__(pkg).__version__
        except Exception:  # optional packages
            info[pkg] = None
    info["cpus"] = os.cpu_count()
    try:  # the engine version the numbers belong to (uncommitted edits are not captured)
        info["git_commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                            text=True, timeout=10, cwd=Path(__file__).parent).stdout.strip()
    except Exception:  # not a git checkout
        info["git_commit"] = None
    return info
