"""Catalogue cases, part 2: graphs with branches, sums, concatenations and groups of BNs."""

from __future__ import annotations

import torch
from torch import nn


class AddTwoRoots(nn.Module):
    """conv_a(x) + conv_b(x) -> BN -> ReLU: two roots, the shift goes on one only."""

    def __init__(self) -> None:
        super().__init__()
        self.conv_a = nn.Conv2d(4, 8, 3, padding=1)
        self.conv_b = nn.Conv2d(4, 8, 1)
        self.bn = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv_a(x) + self.conv_b(x)))


class LeafConv(nn.Module):
    """conv(x) feeds BN -> ReLU and a second conv (a leaf); both results are returned."""

    def __init__(self, leaf_kernel: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.leaf = nn.Conv2d(8, 4, leaf_kernel, padding=leaf_kernel // 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = self.conv(x)
        return self.relu(self.bn(y)), self.leaf(y)


class ConcatBn(nn.Module):
    """cat(conv_a(x), conv_b(x)) -> BN -> ReLU: the map is sliced per operand."""

    def __init__(self) -> None:
        super().__init__()
        self.conv_a = nn.Conv2d(4, 4, 3, padding=1)
        self.conv_b = nn.Conv2d(4, 4, 1)
        self.bn = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(torch.cat([self.conv_a(x), self.conv_b(x)], dim=1)))


class SharedConv(nn.Module):
    """One conv module called twice: relu(bn(conv(x))) + conv(relu(x))."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.relu1 = nn.ReLU()
        self.relu2 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu1(self.bn(self.conv(x))) + self.conv(self.relu2(x))


class ForwardAddLeaf(nn.Module):
    """relu -> BN, summed with conv_b(x) (a leaf), -> unpadded conv (the root)."""

    def __init__(self) -> None:
        super().__init__()
        self.relu = nn.ReLU()
        self.bn = nn.BatchNorm2d(4)
        self.conv_b = nn.Conv2d(4, 4, 1)
        self.conv = nn.Conv2d(4, 8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.bn(self.relu(x)) + self.conv_b(x))


class OverlapAdd(nn.Module):
    """y = conv1(x); BN(y + conv2(y)) -> ReLU: conv2 is both a root and a leaf."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(4, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 8, 1)
        self.bn = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv1(x)
        return self.relu(self.bn(y + self.conv2(y)))


class DenseLayer(nn.Module):
    """DenseNet layer without bottleneck: BN -> ReLU -> conv1x1."""

    def __init__(self, cin: int, growth: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(cin)
        self.relu = nn.ReLU()
        self.conv = nn.Conv2d(cin, growth, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.relu(self.norm(x)))


class Transition(nn.Module):
    """DenseNet transition: BN -> ReLU -> conv1x1 -> AvgPool2d(2)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(cin)
        self.relu = nn.ReLU()
        self.conv = nn.Conv2d(cin, cout, 1)
        self.pool = nn.AvgPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.conv(self.relu(self.norm(x))))


class DenseBlock(nn.Module):
    """stem conv; 3 dense layers on the concat of all previous features; transition.

    x0 = stem(x); x1 = layer1(x0); x2 = layer2(cat[x0, x1]);
    x3 = layer3(cat[x0, x1, x2]); out = transition(cat[x0, x1, x2, x3]).
    The four BNs (layer1-3 and transition norms) all read x0.
    """

    def __init__(self, growth: int = 4) -> None:
        super().__init__()
        self.stem = nn.Conv2d(4, 4, 3, padding=1)
        self.layer1 = DenseLayer(4, growth)
        self.layer2 = DenseLayer(4 + growth, growth)
        self.layer3 = DenseLayer(4 + 2 * growth, growth)
        self.transition = Transition(4 + 3 * growth, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x0 = self.stem(x)
        x1 = self.layer1(x0)
        x2 = self.layer2(torch.cat([x0, x1], dim=1))
        x3 = self.layer3(torch.cat([x0, x1, x2], dim=1))
        return self.transition(torch.cat([x0, x1, x2, x3], dim=1))


class PreactBlock(nn.Module):
    """Pre-activation residual block: x + conv2(relu(bn2(conv1(relu(bn1(x))))))."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu1 = nn.ReLU()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu2 = nn.ReLU()
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(self.relu1(self.bn1(x)))
        out = self.conv2(self.relu2(self.bn2(out)))
        return x + out


class PreactResidual(nn.Module):
    """stem conv; two pre-activation blocks; final BN -> ReLU -> avgpool -> linear."""

    def __init__(self, channels: int = 8) -> None:
        super().__init__()
        self.stem = nn.Conv2d(4, channels, 3, padding=1)
        self.block1 = PreactBlock(channels)
        self.block2 = PreactBlock(channels)
        self.bn = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(channels, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.block2(self.block1(self.stem(x)))
        return self.fc(self.flatten(self.pool(self.relu(self.bn(x)))))
