"""``.pt2`` archives: refuse anything that is not a plain ``torch.export`` file.

``torch.export.load`` falls back to unpickling for some legacy entries, so the
archive is checked before torch ever sees it.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import torch

from ...errors import InvalidGraphError, UnsafeFileError
from .runtime import first_line


def check_pt2(path: Path) -> None:
    """Refuse archives that are not ``torch.export`` files or that hold pickles."""
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            if not any(n.endswith("archive_format") for n in names) or not any(
                    "/models/" in n or n.startswith("models/") for n in names):
                raise InvalidGraphError(
                    f"{path} is a zip file but not a torch.export archive. To fix this, save "
                    "the program with torch.export.save(ep, 'model.pt2').")
            for n in names:
                if n.endswith("_config.json") and "/data/" in f"/{n}":
                    for meta in json.loads(z.read(n)).get("config", {}).values():
                        if meta.get("use_pickle") or not str(meta.get("path_name", "")).startswith(
                                ("weight_", "tensor_")):
                            raise UnsafeFileError(f"{path} stores pickled objects ({n}).")
                elif "data/sample_inputs/" in n:
                    try:
                        torch.load(io.BytesIO(z.read(n)), weights_only=True)
                    except Exception as e:  # noqa: BLE001
                        raise UnsafeFileError(f"{path}: {n} needs unsafe unpickling.") from e
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise InvalidGraphError(
            f"{path} is not a valid .pt2 file ({first_line(e)}). To fix this, save the program "
            "with torch.export.save(ep, 'model.pt2').") from e


