"""Catalogue cases, part 1: straight-line graphs (one path into and out of each BN).

Every BN has a plain attribute name (``bn``, ``bn1`` ...): these FQNs are the
keys of the expected statuses in :mod:`sample_models.catalogue`.
"""

from __future__ import annotations

import torch
from torch import nn


class ConvBnRelu(nn.Module):
    """conv -> BN -> ReLU: the textbook fold."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(x)))


class LinearBn1d(nn.Module):
    """Linear -> BatchNorm1d -> ReLU on (N, F)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.bn = nn.BatchNorm1d(8)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.fc(x)))


class ConvTransposeBn(nn.Module):
    """ConvTranspose2d (weight layout: in-channels first) -> BN -> ReLU."""

    def __init__(self, groups: int = 1) -> None:
        super().__init__()
        self.convt = nn.ConvTranspose2d(
            4, 8, 3, stride=2, padding=1, output_padding=1, groups=groups
        )
        self.bn = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.convt(x)))


class DepthwiseBn(nn.Module):
    """Depthwise conv (groups = C) -> BN -> ReLU."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1, groups=4)
        self.bn = nn.BatchNorm2d(4)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(x)))


class InputBnConv(nn.Module):
    """input -> BN -> conv: only a forward fold is possible."""

    def __init__(self, padding: int = 0, padding_mode: str = "zeros", groups: int = 1) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(4)
        self.conv = nn.Conv2d(4, 8, 3, padding=padding, padding_mode=padding_mode, groups=groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.bn(x))


class ReluBnConv(nn.Module):
    """conv -> ReLU -> BN -> unpadded conv: backward blocked, forward free."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(4, 8, 3, padding=1)
        self.relu = nn.ReLU()
        self.bn = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.bn(self.relu(self.conv1(x))))


class BnBn(nn.Module):
    """conv -> ReLU -> BN1 -> BN2 -> ReLU: either BN absorbs the other, not both."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 8, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.bn1 = nn.BatchNorm2d(8)
        self.bn2 = nn.BatchNorm2d(8)
        self.relu2 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu2(self.bn2(self.bn1(self.relu1(self.conv(x)))))


class PoolBn(nn.Module):
    """conv -> pool -> BN -> ReLU (max pooling needs a_k > 0, average pooling does not)."""

    def __init__(self, pool: str = "max") -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 8, 3, padding=1)
        self.pool = nn.MaxPool2d(2) if pool == "max" else nn.AvgPool2d(2)
        self.bn = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.pool(self.conv(x))))


class SeMulBn(nn.Module):
    """conv -> x * sigmoid(fc(pool(x))) (squeeze-excitation gate) -> BN -> ReLU."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 8, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Conv2d(8, 8, 1)
        self.gate = nn.Sigmoid()
        self.bn = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        y = y * self.gate(self.fc(self.pool(y)))
        return self.relu(self.bn(y))


class FlattenBnLinear(nn.Module):
    """input (1, 4, 3, 3) -> Flatten -> BatchNorm1d(36) -> Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.flatten = nn.Flatten()
        self.bn = nn.BatchNorm1d(36)
        self.fc = nn.Linear(36, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.bn(self.flatten(x)))


class BnFlattenLinear(nn.Module):
    """input (1, 4, 3, 3) -> BatchNorm2d(4) -> Flatten -> Linear(36): index expansion."""

    def __init__(self) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(4)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(36, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.flatten(self.bn(x)))


class LevitTokens(nn.Module):
    """LeViT's Linear_BN on tokens: Linear -> flatten(0, 1) -> BatchNorm1d -> reshape -> ReLU."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8, bias=False)
        self.bn = nn.BatchNorm1d(8)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.fc(x)
        y = self.bn(y.flatten(0, 1)).reshape_as(y)
        return self.relu(y)


class LinearBnOutput(nn.Module):
    """Linear -> BatchNorm1d as the model output."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.bn = nn.BatchNorm1d(8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.fc(x))


class BnOnly(nn.Module):
    """input -> BN -> output: nothing to fold into."""

    def __init__(self) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(x)


class BatchStatsBn(nn.Module):
    """conv -> BatchNorm2d(track_running_stats=False) -> ReLU: batch statistics at inference."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8, track_running_stats=False)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(x)))


class NormalizationBn(nn.Module):
    """conv -> InstanceNorm2d -> BN -> LayerNorm: data-dependent normalisation on both sides."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 8, 3, padding=1)
        self.inorm = nn.InstanceNorm2d(8)
        self.bn = nn.BatchNorm2d(8)
        self.lnorm = nn.LayerNorm([8, 8, 8], elementwise_affine=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lnorm(self.bn(self.inorm(self.conv(x))))


class UnknownOpBn(nn.Module):
    """conv -> cumsum (not in the op vocabulary) -> BN -> cumsum."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.cumsum(self.conv(x), dim=3)
        return torch.cumsum(self.bn(y), dim=3)


def set_batch_stats_affine(model: nn.Module) -> None:
    """Non-trivial gamma/beta for BNs without running stats (``randomize_bn`` skips them)."""
    gen = torch.Generator().manual_seed(1)
    for mod in model.modules():
        if isinstance(mod, nn.modules.batchnorm._BatchNorm) and mod.running_mean is None:
            mod.weight.copy_(torch.rand(mod.num_features, generator=gen) + 0.5)
            mod.bias.copy_(torch.randn(mod.num_features, generator=gen) * 0.5)


def force_negative_gamma(model: nn.Module) -> None:
    """Make sure ``model.bn`` has at least one negative and one positive gamma."""
    gamma = model.bn.weight
    if not bool((gamma < 0).any()):
        gamma[0] = -gamma[0].abs()
    if not bool((gamma > 0).any()):
        gamma[-1] = gamma[-1].abs()


def zero_first_gamma(model: nn.Module) -> None:
    """Set gamma of channel 0 of ``model.bn`` to zero (a_0 = 0)."""
    model.bn.weight[0] = 0.0


class ZeroPlusBn(nn.Module):
    """conv -> ReLU -> 0 + BN -> ReLU: timm's MobileOneBlock without conv branches
    (FastViT's RepMixer norm) computes ``0 + bn(x)``; the ``+ 0`` is no layer."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(0 + self.bn(torch.relu(self.conv(x))))


class BnScalarMul(nn.Module):
    """conv -> ReLU -> BN -> x * 0.5 -> ReLU: the scalar multiply has no per-channel add."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(torch.relu(self.conv(x))) * 0.5)
