"""Resource caps shared by the frontends, the CLI (``--max-tensor-mb``) and the app.

A hostile or broken model can declare a billion-element input or compute a
constant of many gigabytes from a 2 KB file; every tensor the tool creates on
the model's behalf (computed constants, archive payloads, verification
inputs) is checked against one cap first.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .errors import ResourceLimitError

#: Default cap on one tensor (MB). The largest weight of common vision models
#: (VGG-16's first fully connected layer) is about 400 MB.
DEFAULT_MAX_TENSOR_MB = 1024.0


def cap_bytes(max_tensor_mb: float | None) -> int:
    """The cap in bytes (``None`` = the default)."""
    mb = DEFAULT_MAX_TENSOR_MB if max_tensor_mb is None else float(max_tensor_mb)
    if not mb > 0:
        raise ResourceLimitError(f"max_tensor_mb must be positive (got {max_tensor_mb}).")
    return int(mb * 2**20)


def check_tensor(what: str, shape: Iterable[int], dtype: str | np.dtype | int, cap: int) -> None:
    """Raise ResourceLimitError if a ``shape`` tensor of ``dtype`` (or of that many bytes
    per element) is larger than ``cap`` bytes."""
    n = 1
    for d in shape:
        n *= max(int(d), 0)
    size = n * (dtype if isinstance(dtype, int) else _itemsize(dtype))
    if size > cap:
        raise ResourceLimitError(
            f"{what} would take {mb(size)} MB, above the {mb(cap)} MB limit. "
            "To fix this, pass a smaller input shape or raise the cap (--max-tensor-mb, "
            "library: max_tensor_mb=...).")


def _itemsize(dtype: str | np.dtype) -> int:
    try:
        return np.dtype(dtype).itemsize
    except TypeError:  # bfloat16 and other names numpy does not know
        return 2 if "16" in str(dtype) else 4


def mb(nbytes: float) -> str:
    """``nbytes`` in MB for messages: ``15,259`` or ``0.000122``."""
    value = nbytes / 2**20
    return f"{value:,.0f}" if value >= 10 else f"{value:.3g}"
