"""Compact re-implementations of classic CNN families (small widths, real topology).

Module names follow the reference implementations (torchvision, the RepVGG and
pre-activation ResNet papers' code) so that FQNs look familiar.
"""

from __future__ import annotations

import torch
from torch import nn


def conv_bn_relu(cin: int, cout: int, k: int = 3, stride: int = 1) -> nn.Sequential:
    """conv (no bias) -> BN -> ReLU, torchvision ``Conv2dNormActivation`` layout (0, 1, 2)."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


# --- VGG-BN -------------------------------------------------------------------------------------
class VGGBN(nn.Module):
    """VGG with batch norm: features (conv-BN-ReLU, max pools) + MLP classifier."""

    def __init__(self, cfg: tuple = (8, "M", 16, "M", 32, 32, "M"), num_classes: int = 10):
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(cin, v, 3, padding=1), nn.BatchNorm2d(v), nn.ReLU(True)]
                cin = v
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((2, 2))
        self.classifier = nn.Sequential(
            nn.Linear(cin * 4, 32), nn.ReLU(True), nn.Dropout(), nn.Linear(32, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


# --- ResNet (post-activation) --------------------------------------------------------------------
class BasicBlock(nn.Module):
    """torchvision BasicBlock: conv-BN-ReLU-conv-BN (+ identity or conv1x1-BN downsample) -> ReLU."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """ResNet-18 topology at width 8/16/32, CIFAR-style 3x3 stem."""

    def __init__(self, widths: tuple[int, ...] = (8, 16, 32), num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        cin = widths[0]
        for i, w in enumerate(widths):
            stride = 1 if i == 0 else 2
            setattr(
                self, f"layer{i + 1}", nn.Sequential(BasicBlock(cin, w, stride), BasicBlock(w, w))
            )
            cin = w
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)
        self.num_stages = len(widths)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        for i in range(self.num_stages):
            x = getattr(self, f"layer{i + 1}")(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


# --- Pre-activation ResNet ------------------------------------------------------------------------
class PreActBlock(nn.Module):
    """He et al. 2016 pre-activation block; the conv shortcut reads relu(bn1(x))."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Conv2d(cin, cout, 1, stride=stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(x))
        shortcut = x if self.shortcut is None else self.shortcut(out)
        out = self.conv1(out)
        out = self.conv2(torch.relu(self.bn2(out)))
        return out + shortcut


class PreActResNet(nn.Module):
    """PreAct-ResNet-18 topology at width 8/16/32: BN -> ReLU -> conv, final BN -> ReLU."""

    def __init__(self, widths: tuple[int, ...] = (8, 16, 32), num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 3, padding=1, bias=False)
        blocks: list[nn.Module] = []
        cin = widths[0]
        for i, w in enumerate(widths):
            blocks += [PreActBlock(cin, w, 1 if i == 0 else 2), PreActBlock(w, w)]
            cin = w
        self.layers = nn.Sequential(*blocks)
        self.bn = nn.BatchNorm2d(cin)
        self.linear = nn.Linear(cin, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn(self.layers(self.conv1(x))))
        out = nn.functional.adaptive_avg_pool2d(out, 1)
        return self.linear(torch.flatten(out, 1))


# --- DenseNet --------------------------------------------------------------------------------------
class DenseLayer(nn.Module):
    """torchvision _DenseLayer: BN-ReLU-conv1x1 (bottleneck) -> BN-ReLU-conv3x3."""

    def __init__(self, cin: int, growth: int, bn_size: int) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(cin)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(cin, bn_size * growth, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth, growth, 3, padding=1, bias=False)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        x = torch.cat(features, 1)
        return self.conv2(self.relu2(self.norm2(self.conv1(self.relu1(self.norm1(x))))))


class DenseBlock(nn.ModuleDict):
    """torchvision _DenseBlock: every layer reads the concat of all previous features."""

    def __init__(self, num_layers: int, cin: int, growth: int, bn_size: int) -> None:
        super().__init__()
        for i in range(num_layers):
            self[f"denselayer{i + 1}"] = DenseLayer(cin + i * growth, growth, bn_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)


class DenseNet(nn.Module):
    """DenseNet-BC topology (growth 4, two blocks of 3 layers) with torchvision names."""

    def __init__(
        self,
        growth: int = 4,
        blocks: tuple[int, ...] = (3, 3),
        init_features: int = 8,
        bn_size: int = 2,
        num_classes: int = 10,
    ) -> None:
        super().__init__()
        feats = nn.Sequential()
        feats.add_module("conv0", nn.Conv2d(3, init_features, 3, padding=1, bias=False))
        feats.add_module("norm0", nn.BatchNorm2d(init_features))
        feats.add_module("relu0", nn.ReLU(inplace=True))
        feats.add_module("pool0", nn.MaxPool2d(3, stride=2, padding=1))
        c = init_features
        for i, n in enumerate(blocks):
            feats.add_module(f"denseblock{i + 1}", DenseBlock(n, c, growth, bn_size))
            c += n * growth
            if i != len(blocks) - 1:
                trans = nn.Sequential()
                trans.add_module("norm", nn.BatchNorm2d(c))
                trans.add_module("relu", nn.ReLU(inplace=True))
                trans.add_module("conv", nn.Conv2d(c, c // 2, 1, bias=False))
                trans.add_module("pool", nn.AvgPool2d(2, stride=2))
                feats.add_module(f"transition{i + 1}", trans)
                c //= 2
        feats.add_module("norm5", nn.BatchNorm2d(c))
        self.features = feats
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.features(x))
        out = nn.functional.adaptive_avg_pool2d(out, 1)
        return self.classifier(torch.flatten(out, 1))


# --- Inception ----------------------------------------------------------------------------------------
class BasicConv2d(nn.Module):
    """torchvision Inception BasicConv2d: conv (no bias) -> BN(eps=1e-3) -> ReLU."""

    def __init__(self, cin: int, cout: int, k: int = 1, **kwargs) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.conv(x)))


class InceptionA(nn.Module):
    """Inception-v3 InceptionA: 1x1 | 1x1-5x5 | 1x1-3x3-3x3 | avgpool-1x1, concatenated."""

    def __init__(self, cin: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 8)
        self.branch5x5_1 = BasicConv2d(cin, 6)
        self.branch5x5_2 = BasicConv2d(6, 8, 5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 8)
        self.branch3x3dbl_2 = BasicConv2d(8, 12, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(12, 12, 3, padding=1)
        self.branch_pool = BasicConv2d(cin, pool_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.branch1x1(x)
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = self.branch_pool(nn.functional.avg_pool2d(x, 3, stride=1, padding=1))
        return torch.cat([b1, b5, b3, bp], 1)


class Inception(nn.Module):
    """Inception-v3-like stem and two InceptionA modules, global pool, linear."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 8, 3, stride=2, padding=1)
        self.Conv2d_2a_3x3 = BasicConv2d(8, 16, 3, padding=1)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, padding=1)
        self.Mixed_5b = InceptionA(16, pool_features=4)
        self.Mixed_5c = InceptionA(32, pool_features=8)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(36, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool1(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = self.Mixed_5c(self.Mixed_5b(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))


# --- RepVGG (training-time form) ------------------------------------------------------------------
class RepVGGBlock(nn.Module):
    """3x3 conv+BN, 1x1 conv+BN and (same shape) an identity BN, summed, then ReLU."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.rbr_dense = nn.Sequential()
        self.rbr_dense.add_module("conv", nn.Conv2d(cin, cout, 3, stride, 1, bias=False))
        self.rbr_dense.add_module("bn", nn.BatchNorm2d(cout))
        self.rbr_1x1 = nn.Sequential()
        self.rbr_1x1.add_module("conv", nn.Conv2d(cin, cout, 1, stride, 0, bias=False))
        self.rbr_1x1.add_module("bn", nn.BatchNorm2d(cout))
        self.rbr_identity = nn.BatchNorm2d(cin) if cin == cout and stride == 1 else None
        self.nonlinearity = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.rbr_dense(x) + self.rbr_1x1(x)
        if self.rbr_identity is not None:
            out = out + self.rbr_identity(x)
        return self.nonlinearity(out)


class RepVGG(nn.Module):
    """RepVGG-A-like: stage0 + three stages (first block strided), GAP, linear."""

    def __init__(self, widths: tuple[int, ...] = (8, 16, 32), num_classes: int = 10) -> None:
        super().__init__()
        self.stage0 = RepVGGBlock(3, widths[0], stride=2)
        cin = widths[0]
        for i, w in enumerate(widths):
            blocks = [RepVGGBlock(cin, w, stride=1 if i == 0 else 2), RepVGGBlock(w, w)]
            setattr(self, f"stage{i + 1}", nn.Sequential(*blocks))
            cin = w
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.linear = nn.Linear(cin, num_classes)
        self.num_stages = len(widths)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stage0(x)
        for i in range(self.num_stages):
            x = getattr(self, f"stage{i + 1}")(x)
        return self.linear(torch.flatten(self.gap(x), 1))
