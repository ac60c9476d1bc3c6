"""Compact mobile CNN families: MobileNetV2, EfficientNet, MixNet (small widths, real blocks)."""

from __future__ import annotations

import torch
from torch import nn


def conv_norm_act(
    cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1, act: type = nn.ReLU6
) -> nn.Sequential:
    """torchvision ``Conv2dNormActivation`` layout: 0 = conv (no bias), 1 = BN, 2 = activation."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        act(),
    )


# --- MobileNetV2 ---------------------------------------------------------------------------------
class InvertedResidual(nn.Module):
    """Expand 1x1 -> depthwise 3x3 (ReLU6) -> linear 1x1 projection + BN, residual if same shape."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = cin * expand
        self.use_res_connect = stride == 1 and cin == cout
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(conv_norm_act(cin, hidden, 1))
        layers += [
            conv_norm_act(hidden, hidden, 3, stride, groups=hidden),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    """MobileNetV2 topology at width ~1/4 with torchvision module names."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        setting = [(1, 8, 1, 1), (6, 12, 2, 2), (6, 16, 2, 2), (6, 24, 1, 1)]  # t, c, n, s
        layers: list[nn.Module] = [conv_norm_act(3, 8, stride=2)]
        cin = 8
        for t, c, n, s in setting:
            for i in range(n):
                layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        layers.append(conv_norm_act(cin, 64, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(64, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


# --- EfficientNet --------------------------------------------------------------------------------
class SqueezeExcitation(nn.Module):
    """x * sigmoid(fc2(silu(fc1(avgpool(x))))): a data-dependent per-channel gate."""

    def __init__(self, channels: int, squeeze: int) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.activation = nn.SiLU()
        self.scale_activation = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.fc2(self.activation(self.fc1(self.avgpool(x))))
        return x * self.scale_activation(s)


class MBConv(nn.Module):
    """EfficientNet MBConv: expand-BN-SiLU, depthwise-BN-SiLU, SE, project-BN, residual."""

    def __init__(self, cin: int, cout: int, k: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = cin * expand
        self.use_res_connect = stride == 1 and cin == cout
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(conv_norm_act(cin, hidden, 1, act=nn.SiLU))
        layers += [
            conv_norm_act(hidden, hidden, k, stride, groups=hidden, act=nn.SiLU),
            SqueezeExcitation(hidden, max(1, cin // 4)),
            nn.Sequential(nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)),
        ]
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x) if self.use_res_connect else self.block(x)


class EfficientNet(nn.Module):
    """EfficientNet-B0 topology (7 stages, 1 block each) at small width, SiLU + SE."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        setting = [  # expand, kernel, stride, cin, cout, repeats
            (1, 3, 1, 8, 8, 1),
            (6, 3, 2, 8, 12, 2),
            (6, 5, 2, 12, 16, 1),
            (6, 3, 2, 16, 24, 1),
            (6, 5, 1, 24, 32, 1),
        ]
        layers: list[nn.Module] = [conv_norm_act(3, 8, 3, 2, act=nn.SiLU)]
        for e, k, s, cin, cout, n in setting:
            stage = [
                MBConv(cin if i == 0 else cout, cout, k, s if i == 0 else 1, e) for i in range(n)
            ]
            layers.append(nn.Sequential(*stage))
        layers.append(conv_norm_act(32, 64, 1, act=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(64, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


# --- MixNet --------------------------------------------------------------------------------------
def _split(channels: int, parts: int) -> list[int]:
    sizes = [channels // parts] * parts
    sizes[0] += channels - sum(sizes)
    return sizes


class MixedConv2d(nn.Module):
    """timm MixedConv2d: split channels, one conv per kernel size, concatenate."""

    def __init__(
        self,
        cin: int,
        cout: int,
        kernels: tuple[int, ...],
        stride: int = 1,
        depthwise: bool = False,
    ) -> None:
        super().__init__()
        self.splits_in = _split(cin, len(kernels))
        splits_out = _split(cout, len(kernels))
        for i, (k, ci, co) in enumerate(zip(kernels, self.splits_in, splits_out)):
            groups = ci if depthwise else 1
            self.add_module(str(i), nn.Conv2d(ci, co, k, stride, k // 2, groups=groups, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = torch.split(x, self.splits_in, dim=1)
        return torch.cat([conv(p) for conv, p in zip(self._modules.values(), parts)], dim=1)


def create_conv2d(
    cin: int, cout: int, kernels: tuple[int, ...], stride: int = 1, depthwise: bool = False
) -> nn.Module:
    """A plain conv for one kernel size, a :class:`MixedConv2d` for several (as timm does)."""
    if len(kernels) > 1:
        return MixedConv2d(cin, cout, kernels, stride, depthwise)
    k = kernels[0]
    return nn.Conv2d(cin, cout, k, stride, k // 2, groups=cin if depthwise else 1, bias=False)


class MixBlock(nn.Module):
    """MixNet block: (grouped) pointwise expand -> mixed depthwise -> SE -> pointwise project.

    Each mixed conv is followed by a single BN over the concatenated output.
    """

    def __init__(
        self,
        cin: int,
        cout: int,
        kernels: tuple[int, ...],
        stride: int,
        expand: int,
        pw_groups: int = 1,
        act: type = nn.ReLU,
        se: bool = False,
    ) -> None:
        super().__init__()
        hidden = cin * expand
        self.has_residual = stride == 1 and cin == cout
        self.conv_pw = create_conv2d(cin, hidden, (1,) * pw_groups)
        self.bn1 = nn.BatchNorm2d(hidden)
        self.act1 = act()
        self.conv_dw = create_conv2d(hidden, hidden, kernels, stride, depthwise=True)
        self.bn2 = nn.BatchNorm2d(hidden)
        self.act2 = act()
        self.se = SqueezeExcitation(hidden, max(1, cin // 2)) if se else nn.Identity()
        self.conv_pwl = create_conv2d(hidden, cout, (1,) * pw_groups)
        self.bn3 = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act1(self.bn1(self.conv_pw(x)))
        y = self.se(self.act2(self.bn2(self.conv_dw(y))))
        y = self.bn3(self.conv_pwl(y))
        return x + y if self.has_residual else y


class MixNet(nn.Module):
    """MixNet-S-like: mixed 3x3/5x5/7x7 depthwise kernels and grouped pointwise convs."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv_stem = nn.Conv2d(3, 8, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.act1 = nn.ReLU()
        self.blocks = nn.Sequential(
            MixBlock(8, 8, (3,), 1, 1),
            MixBlock(8, 12, (3,), 2, 3, pw_groups=2),
            MixBlock(12, 12, (3,), 1, 3, pw_groups=2),
            MixBlock(12, 16, (3, 5, 7), 2, 6, act=nn.SiLU, se=True),
            MixBlock(16, 16, (3, 5), 1, 6, pw_groups=2, act=nn.SiLU, se=True),
        )
        self.conv_head = nn.Conv2d(16, 64, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        self.act2 = nn.ReLU()
        self.classifier = nn.Linear(64, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.act1(self.bn1(self.conv_stem(x))))
        x = self.act2(self.bn2(self.conv_head(x)))
        x = nn.functional.adaptive_avg_pool2d(x, 1)
        return self.classifier(torch.flatten(x, 1))
