"""The benchmark's model list and how each model is loaded.

A model is named ``sample:NAME`` (bundled samples), ``torchvision:NAME`` or
``timm:NAME`` (random weights, randomised BN statistics; never downloaded),
exactly as the CLI and the app accept them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: torchvision architectures (input size chosen by the zoo frontend).
TORCHVISION = (
    "resnet18", "resnet50", "resnext50_32x4d", "mobilenet_v2", "mobilenet_v3_large",
    "mobilenet_v3_small", "efficientnet_b0", "densenet121", "regnet_y_400mf", "regnet_x_400mf",
    "inception_v3", "googlenet", "shufflenet_v2_x1_0", "mnasnet1_0",
)
#: timm architectures (input size from the model's pretrained config).
TIMM = (
    "mixnet_s", "levit_128s", "resnetv2_50", "dpn68", "repvgg_a2", "fastvit_t8", "nasnetalarge",
    "efficientnet_b0", "rexnet_100", "ghostnet_100", "cspresnet50", "dla34", "mobileone_s0",
    "hrnet_w18_small", "res2net50_14w_8s", "ese_vovnet19b_dw", "xception41",
)
#: A few models for ``--quick`` smoke runs (small and fast to export).
QUICK = ("sample:resnet", "sample:densenet", "sample:mixnet", "torchvision:mobilenet_v2")
#: Models timed for latency (representative; all BNs fold in the first ones).
LATENCY = (
    "torchvision:resnet50", "torchvision:mobilenet_v2", "torchvision:efficientnet_b0",
    "torchvision:densenet121", "sample:resnet", "sample:mixnet",
)
QUICK_LATENCY = ("sample:resnet", "sample:mixnet")


def sample_names() -> list[str]:
    """Every bundled sample (catalogue cases and architectures) as ``sample:NAME``."""
    from sample_models import list_samples

    return [f"sample:{s.name}" for s in list_samples()]


def all_models() -> list[str]:
    """Samples, then torchvision, then timm."""
    return [*sample_names(), *(f"torchvision:{n}" for n in TORCHVISION), *(f"timm:{n}" for n in TIMM)]


@dataclass
class Built:
    """A loaded model: the ``nn.Module``, an example input and the IR.

    ``load_s`` covers building the module and capturing it (``torch.export``).
    """

    spec: str
    module: Any
    example: Any
    loaded: Any
    load_s: float


def build(spec: str, seed: int = 0) -> Built:
    """Build and load ``spec`` with ``inspector.frontends.load`` (timed).

    The global torch seed is set first, so random weights are reproducible;
    BN statistics are randomised by the frontend (``randomize_bn``).
    """
    import time

    import torch

    from inspector.frontends import load

    torch.manual_seed(seed)
    t0 = time.perf_counter()
    loaded = load(spec, seed=seed)
    load_s = time.perf_counter() - t0
    gen = torch.Generator().manual_seed(seed)
    tensors = tuple(torch.randn(spec_.shape, generator=gen) for spec_ in loaded.inputs)
    example = tensors[0] if len(tensors) == 1 else tensors
    return Built(spec, loaded.model, example, loaded, load_s)
