"""Catalogue cases, part 3: parallel linear branches that only merging removes (DESIGN §3.7).

Each block sums linear maps of one tensor before a non-linearity, the training
form of re-parameterizable networks (RepVGG, MobileOne, FastViT's RepMixer,
ACNet, DBB). The refusal cases each break exactly one condition of a merge.
"""

from __future__ import annotations

import torch
from torch import nn

C = 4


def conv_bn(cin: int, cout: int, kernel, stride: int = 1, padding=0, groups: int = 1,
            dilation: int = 1) -> nn.Sequential:
    """``conv`` (no bias) -> ``bn``, the branch every re-parameterizable block is made of."""
    seq = nn.Sequential()
    seq.add_module("conv", nn.Conv2d(cin, cout, kernel, stride, padding, dilation=dilation,
                                     groups=groups, bias=False))
    seq.add_module("bn", nn.BatchNorm2d(cout))
    return seq


class RepVGGBlock(nn.Module):
    """relu(bn(conv3x3(x)) + bn(conv1x1(x)) [+ bn(x)]): the RepVGG training block."""

    def __init__(self, cin: int = C, cout: int = C, stride: int = 1) -> None:
        super().__init__()
        self.dense = conv_bn(cin, cout, 3, stride, 1)
        self.one = conv_bn(cin, cout, 1, stride, 0)
        self.identity = nn.BatchNorm2d(cin) if cin == cout and stride == 1 else None
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.dense(x) + self.one(x)
        if self.identity is not None:
            out = out + self.identity(x)
        return self.relu(out)


class MobileOneDepthwise(nn.Module):
    """MobileOne depthwise block: k parallel 3x3 dw conv+BN, a 1x1 dw scale conv+BN, identity BN."""

    def __init__(self, channels: int = C, branches: int = 2) -> None:
        super().__init__()
        self.conv_kxk = nn.ModuleList(conv_bn(channels, channels, 3, padding=1, groups=channels)
                                      for _ in range(branches))
        self.conv_scale = conv_bn(channels, channels, 1, groups=channels)
        self.identity = nn.BatchNorm2d(channels)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.identity(x) + self.conv_scale(x)
        for branch in self.conv_kxk:
            out = out + branch(x)
        return self.act(out)


class RepMixer(nn.Module):
    """FastViT RepMixer: ``x + s * (bn(dwconv(x)) - bn(x))`` with a per-channel layer scale."""

    def __init__(self, channels: int = C) -> None:
        super().__init__()
        self.mixer = conv_bn(channels, channels, 3, padding=1, groups=channels)
        self.norm = nn.BatchNorm2d(channels)
        self.layer_scale = nn.Parameter(torch.linspace(0.5, 1.5, channels).reshape(channels, 1, 1))
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.layer_scale * (self.mixer(x) - self.norm(x)))


class ACBlock(nn.Module):
    """ACNet asymmetric block: bn(conv3x3(x)) + bn(conv1x3(x)) + bn(conv3x1(x)), then ReLU."""

    def __init__(self, channels: int = C) -> None:
        super().__init__()
        self.square = conv_bn(channels, channels, 3, padding=1)
        self.hor = conv_bn(channels, channels, (1, 3), padding=(0, 1))
        self.ver = conv_bn(channels, channels, (3, 1), padding=(1, 0))
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.square(x) + self.hor(x) + self.ver(x))


class DBBAvgBlock(nn.Module):
    """DBB branch with avg-pool: bn(conv3x3(x)) + bn(avgpool3x3(conv1x1(x))), counted padding.

    The 1x1 conv has no bias, so the zero-padded pool after it reads true zeros
    at the borders (a 1x1 -> padded k x k sequence is exact only with b1 = 0)."""

    def __init__(self, channels: int = C, count_include_pad: bool = True) -> None:
        super().__init__()
        self.dense = conv_bn(channels, channels, 3, padding=1)
        self.avg_conv = nn.Conv2d(channels, channels, 1, bias=False)
        self.avg = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=count_include_pad)
        self.avg_bn = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.dense(x) + self.avg_bn(self.avg(self.avg_conv(x))))


class MisalignedBranches(nn.Module):
    """bn(conv3x3 d=2 p=2) + bn(conv2x2 d=2 p=1) + bn(x): both dilated by 2, the 2x2 taps
    (offsets -1, +1) fall between the 3x3 taps (-2, 0, +2), so no kernel of that dilation
    holds both."""

    def __init__(self, channels: int = C) -> None:
        super().__init__()
        self.dense = conv_bn(channels, channels, 3, padding=2, dilation=2)
        self.even = conv_bn(channels, channels, 2, padding=1, dilation=2)
        self.identity = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.dense(x) + self.even(x) + self.identity(x))


class DilationMismatch(nn.Module):
    """bn(conv3x3 d=1 p=1) + bn(conv3x3 d=2 p=2) + bn(x): same centres, different dilations."""

    def __init__(self, channels: int = C) -> None:
        super().__init__()
        self.dense = conv_bn(channels, channels, 3, padding=1)
        self.dilated = conv_bn(channels, channels, 3, padding=2, dilation=2)
        self.identity = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.dense(x) + self.dilated(x) + self.identity(x))


class AvgPoolExcludePad(nn.Module):
    """bn(conv3x3(x)) + bn(avgpool3x3(x, padding=1, count_include_pad=False)): the border
    divisor changes with the position, so the pool is not a convolution."""

    def __init__(self, channels: int = C) -> None:
        super().__init__()
        self.dense = conv_bn(channels, channels, 3, padding=1)
        self.avg = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
        self.avg_bn = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.dense(x) + self.avg_bn(self.avg(x)))


class BiasedOneThenPadded(nn.Module):
    """relu(bn(x) + conv3x3(conv1x1(x))) with a biased 1x1: the padded 3x3 would read the
    1x1's bias at the borders where the real model reads zeros."""

    def __init__(self, channels: int = C) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(channels, channels, 1, bias=True)
        self.dense = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.identity = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.identity(x) + self.dense(self.reduce(x)))


class BranchReadOutside(nn.Module):
    """A RepVGG block whose 3x3 branch output is also returned: that tensor must survive,
    so the identity BN, summed last, cannot be merged with it."""

    def __init__(self, channels: int = C) -> None:
        super().__init__()
        self.dense = conv_bn(channels, channels, 3, padding=1)
        self.one = conv_bn(channels, channels, 1)
        self.identity = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        dense = self.dense(x)
        out = self.relu(dense + self.one(x) + self.identity(x))
        return out, self.relu(dense)
