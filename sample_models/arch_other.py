"""Compact families beyond image classifiers: U-Net, LeViT (token Linear->BN), 1-D audio CNN."""

from __future__ import annotations

import torch
from torch import nn

from sample_models.arch_classic import conv_bn_relu


# --- LeViT ----------------------------------------------------------------------------------------
class ConvNorm(nn.Module):
    """LeViT Conv2d_BN: conv (no bias) -> BN."""

    def __init__(self, cin: int, cout: int, k: int = 3, stride: int = 2) -> None:
        super().__init__()
        self.c = nn.Conv2d(cin, cout, k, stride, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.c(x))


class LinearNorm(nn.Module):
    """LeViT Linear_BN: Linear (no bias) on (B, N, C) tokens, BatchNorm1d over flatten(0, 1)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.c = nn.Linear(cin, cout, bias=False)
        self.bn = nn.BatchNorm1d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.c(x)
        return self.bn(x.flatten(0, 1)).reshape_as(x)


class NormLinear(nn.Module):
    """LeViT BN_Linear classifier head: BatchNorm1d -> Linear (the BN can only fold forward)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm1d(cin)
        self.drop = nn.Dropout(0.0)
        self.linear = nn.Linear(cin, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.drop(self.bn(x)))


class Attention(nn.Module):
    """LeViT attention: qkv Linear_BN, softmax(q k^T * scale + bias) v, Hardswish, proj Linear_BN."""

    def __init__(self, dim: int, key_dim: int, num_heads: int, attn_ratio: int, tokens: int):
        super().__init__()
        self.num_heads, self.key_dim = num_heads, key_dim
        self.d = attn_ratio * key_dim
        self.dh = self.d * num_heads
        self.scale = key_dim**-0.5
        self.qkv = LinearNorm(dim, self.dh + 2 * key_dim * num_heads)
        self.proj = nn.Sequential(nn.Hardswish(), LinearNorm(self.dh, dim))
        self.attention_biases = nn.Parameter(torch.randn(num_heads, tokens, tokens) * 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        qkv = self.qkv(x).view(b, n, self.num_heads, -1)
        q, k, v = qkv.split([self.key_dim, self.key_dim, self.d], dim=3)
        q, k, v = q.permute(0, 2, 1, 3), k.permute(0, 2, 1, 3), v.permute(0, 2, 1, 3)
        attn = (q @ k.transpose(-2, -1)) * self.scale + self.attention_biases
        x = (attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, n, self.dh)
        return self.proj(x)


class LevitMlp(nn.Module):
    """Linear_BN -> Hardswish -> Linear_BN."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.ln1 = LinearNorm(dim, hidden)
        self.act = nn.Hardswish()
        self.ln2 = LinearNorm(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ln2(self.act(self.ln1(x)))


class Residual(nn.Module):
    """x + m(x) (drop-path is a no-op at inference)."""

    def __init__(self, m: nn.Module) -> None:
        super().__init__()
        self.m = m

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.m(x)


class LeViT(nn.Module):
    """LeViT-like: conv-BN patch embedding (/8), 2 x (attention + MLP) residual blocks, BN_Linear head."""

    def __init__(self, dim: int = 32, num_classes: int = 10, img: int = 32) -> None:
        super().__init__()
        tokens = (img // 8) ** 2
        self.patch_embed = nn.Sequential(
            ConvNorm(3, dim // 4),
            nn.Hardswish(),
            ConvNorm(dim // 4, dim // 2),
            nn.Hardswish(),
            ConvNorm(dim // 2, dim),
        )
        blocks: list[nn.Module] = []
        for _ in range(2):
            blocks.append(Residual(Attention(dim, 8, 2, 2, tokens)))
            blocks.append(Residual(LevitMlp(dim, 2 * dim)))
        self.blocks = nn.Sequential(*blocks)
        self.head = NormLinear(dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        x = self.blocks(x)
        return self.head(x.mean(1))


# --- 1-D audio CNN ---------------------------------------------------------------------------------
class Audio1d(nn.Module):
    """M5-style waveform classifier with a BatchNorm1d on the raw input."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.bn0 = nn.BatchNorm1d(1)
        self.conv1 = nn.Conv1d(1, 8, 80, stride=4)
        self.bn1 = nn.BatchNorm1d(8)
        self.pool1 = nn.MaxPool1d(4)
        self.conv2 = nn.Conv1d(8, 8, 3, padding=1)
        self.bn2 = nn.BatchNorm1d(8)
        self.pool2 = nn.MaxPool1d(4)
        self.conv3 = nn.Conv1d(8, 16, 3, padding=1)
        self.bn3 = nn.BatchNorm1d(16)
        self.pool3 = nn.MaxPool1d(4)
        self.conv4 = nn.Conv1d(16, 16, 3, padding=1)
        self.bn4 = nn.BatchNorm1d(16)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(16, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn0(x)
        x = self.pool1(self.relu(self.bn1(self.conv1(x))))
        x = self.pool2(self.relu(self.bn2(self.conv2(x))))
        x = self.pool3(self.relu(self.bn3(self.conv3(x))))
        x = self.relu(self.bn4(self.conv4(x)))
        x = nn.functional.adaptive_avg_pool1d(x, 1)
        return self.fc(torch.flatten(x, 1))


# --- U-Net --------------------------------------------------------------------------------------------
class DoubleConv(nn.Module):
    """(conv3x3 -> BN -> ReLU) x 2."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.double_conv = nn.Sequential(*conv_bn_relu(cin, cout), *conv_bn_relu(cout, cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.double_conv(x)


class Up(nn.Module):
    """ConvTranspose2d x2 up-sampling, concat with the skip, DoubleConv."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(cin, cin // 2, 2, stride=2)
        self.conv = DoubleConv(cin, cout)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.cat([skip, self.up(x)], dim=1))


class UNet(nn.Module):
    """Two-level U-Net (8/16/32 channels) with skip concats and a 1x1 output conv."""

    def __init__(self, n_classes: int = 2) -> None:
        super().__init__()
        self.inc = DoubleConv(3, 8)
        self.down1 = nn.Sequential(nn.MaxPool2d(2), DoubleConv(8, 16))
        self.down2 = nn.Sequential(nn.MaxPool2d(2), DoubleConv(16, 32))
        self.up1 = Up(32, 16)
        self.up2 = Up(16, 8)
        self.outc = nn.Conv2d(8, n_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        return self.outc(self.up2(self.up1(x3, x2), x1))


# --- The app's first screen: every status in one small network ------------------------------------
class Showcase(nn.Module):
    """conv stem, a pre-activation block, two DenseNet layers and a RepVGG block.

    Shows what the inspector is about on one screen: BNs that ``adjacent`` folds,
    BNs only ``optimal`` folds (the pre-activation BN reading the residual stream),
    BNs nothing folds, with their reasons (DenseNet BNs sharing a concat, then a
    ReLU), and a RepVGG identity BN that only ``reparam`` removes, by merging.
    """

    def __init__(self, width: int = 8, num_classes: int = 10) -> None:
        super().__init__()
        from sample_models.arch_classic import DenseBlock, PreActBlock, RepVGGBlock

        self.stem = nn.Conv2d(3, width, 3, padding=1, bias=False)
        self.preact = PreActBlock(width, width)
        self.dense = DenseBlock(2, width, growth=4, bn_size=2)
        self.transition = nn.Conv2d(width + 8, width, 1, bias=False)
        self.repvgg = RepVGGBlock(width, width)
        self.linear = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.repvgg(self.transition(self.dense(self.preact(self.stem(x)))))
        return self.linear(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))
