"""Compact re-parameterizable architectures (training form), next to ``arch_classic.RepVGG``.

Module names follow timm's ``mobileone`` (``stem``, ``stages.N.M``, ``conv_kxk``,
``conv_scale``, ``identity``) so the graph reads like the real model.
"""

from __future__ import annotations

import torch
from torch import nn

from sample_models.catalogue_reparam import conv_bn


class MobileOneBlock(nn.Module):
    """``num_conv_branches`` k x k conv+BN, a 1x1 conv+BN scale branch (k > 1) and an
    identity BN (same shape, stride 1), summed, then ReLU: MobileOne's training block."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1,
                 num_conv_branches: int = 2) -> None:
        super().__init__()
        self.identity = nn.BatchNorm2d(cin) if cin == cout and stride == 1 else None
        self.conv_kxk = nn.ModuleList(conv_bn(cin, cout, kernel, stride, kernel // 2, groups)
                                      for _ in range(num_conv_branches))
        self.conv_scale = conv_bn(cin, cout, 1, stride, 0, groups) if kernel > 1 else None
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [b for b in (self.conv_scale, self.identity) if b is not None]
        out = self.conv_kxk[0](x)
        for branch in [*self.conv_kxk[1:], *branches]:
            out = out + branch(x)
        return self.act(out)


class MobileOne(nn.Module):
    """MobileOne-S0-like: a strided 3x3 stem, stages of (depthwise 3x3, pointwise 1x1)
    block pairs, the first pair of each stage strided, GAP, linear."""

    def __init__(self, widths: tuple[int, ...] = (8, 16, 32), depth: int = 2,
                 num_classes: int = 10) -> None:
        super().__init__()
        self.stem = MobileOneBlock(3, widths[0], 3, stride=2, num_conv_branches=1)
        stages, cin = [], widths[0]
        for i, w in enumerate(widths):
            blocks = []
            for j in range(depth):
                stride = 2 if j == 0 and i > 0 else 1
                blocks.append(MobileOneBlock(cin, cin, 3, stride, groups=cin))
                blocks.append(MobileOneBlock(cin, w, 1))
                cin = w
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.linear = nn.Linear(cin, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stages(self.stem(x))
        return self.linear(torch.flatten(self.gap(x), 1))
