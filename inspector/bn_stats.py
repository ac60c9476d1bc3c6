"""Random BN statistics for models built with random weights (samples, zoo specs, lessons).

Kept apart from ``inspector.sources`` so that ``sample_models`` can use it
without importing the sources that load ``sample_models``.
"""

from __future__ import annotations


def randomize_bn(module, seed: int = 0, negative_fraction: float = 0.0):
    """Give every BN in ``module`` random running stats and affine params, in place.

    gamma ~ U(0.5, 1.5) (a ``negative_fraction`` of channels negated),
    beta ~ N(0, 0.5), mean ~ N(0, 0.5), var ~ U(0.5, 2.0): the per-channel
    map a, c is then far from the identity. Works on any module whose
    ``running_mean``/``running_var`` buffers exist (BatchNorm*, SyncBatchNorm,
    FrozenBatchNorm2d, timm BatchNormAct2d). Returns ``module`` in eval mode.
    """
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for sub in module.modules():
            mean = getattr(sub, "running_mean", None)
            var = getattr(sub, "running_var", None)
            if not isinstance(mean, torch.Tensor) or not isinstance(var, torch.Tensor):
                continue
            n = mean.numel()
            mean.copy_(torch.randn(n, generator=gen) * 0.5)
            var.copy_(torch.rand(n, generator=gen) * 1.5 + 0.5)
            weight = getattr(sub, "weight", None)
            bias = getattr(sub, "bias", None)
            if isinstance(weight, torch.Tensor):
                gamma = torch.rand(n, generator=gen) + 0.5
                if negative_fraction > 0:
                    flip = torch.rand(n, generator=gen) < negative_fraction
                    gamma[flip] = -gamma[flip]
                weight.copy_(gamma)
            if isinstance(bias, torch.Tensor):
                bias.copy_(torch.randn(n, generator=gen) * 0.5)
    return module.eval()
