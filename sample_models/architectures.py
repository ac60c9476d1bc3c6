"""The bundled architectures: compact, faithful re-implementations of real model families.

Small widths keep every forward well under 0.5 s on CPU, but the topology
(where the BNs sit relative to convs, sums, concats and non-linearities) is the
real one, which is what decides foldability. ``expected`` is ``None``: the
analysis itself is the reference here.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

from torch import nn

from sample_models import arch_classic as cl
from sample_models import arch_mobile as mb
from sample_models import arch_other as ot
from sample_models import arch_reparam as rp
from sample_models._build import builder
from sample_models.types import Sample

IMG = (1, 3, 32, 32)


def _arch(
    name: str,
    factory: Callable[[], nn.Module],
    description: str,
    input_shape: tuple[int, ...] = IMG,
) -> Sample:
    seed = zlib.crc32(name.encode()) % 10_000
    return Sample(
        name=name,
        kind="architecture",
        description=description,
        input_shape=input_shape,
        build=builder(factory, seed=seed),
    )


# fmt: off
ARCHITECTURES: list[Sample] = [
    _arch("showcase", ot.Showcase,
          "Every status in one small network: BNs both modes fold, a pre-activation BN only "
          "`optimal` folds, DenseNet BNs nothing folds (with reasons), and a RepVGG identity BN "
          "that only `reparam` removes, by merging. The app opens on it."),
    _arch("vgg_bn", cl.VGGBN,
          "VGG with BN: every BN sits directly after its conv, so `adjacent` already folds all."),
    _arch("resnet", cl.ResNet,
          "Post-activation ResNet: conv->BN everywhere, incl. the conv1x1+BN downsample shortcuts."),
    _arch("preact_resnet", cl.PreActResNet,
          "Pre-activation ResNet: BN1s read the residual stream (one per stream can fold), BN2s follow convs."),
    _arch("densenet", cl.DenseNet,
          "DenseNet: BN1s read concatenated features shared by many BNs; after a conv->avgpool transition one can fold."),
    _arch("mobilenet_v2", mb.MobileNetV2,
          "MobileNetV2: inverted residuals with ReLU6; depthwise conv->BN and linear-bottleneck BNs."),
    _arch("efficientnet", mb.EfficientNet,
          "EfficientNet: SiLU and squeeze-excitation gates between the depthwise BN and the projection."),
    _arch("mixnet", mb.MixNet,
          "MixNet: channel split -> mixed-kernel depthwise convs -> concat -> BN: only the closure sees through the concat."),
    _arch("levit", ot.LeViT,
          "LeViT: Linear->BatchNorm1d over flattened tokens (a reshape in between) and a BN->Linear head that folds forward."),
    _arch("inception", cl.Inception,
          "Inception: parallel conv->BN->ReLU branches (one after an avgpool) concatenated."),
    _arch("repvgg", cl.RepVGG,
          "RepVGG (training form): 3x3 and 1x1 conv+BN branches fold; the identity-branch BN has no linear neighbour."),
    _arch("mobileone", rp.MobileOne,
          "MobileOne (training form): depthwise/pointwise blocks of parallel conv+BN branches and identity BNs; only merging removes those."),
    _arch("unet", ot.UNet,
          "U-Net: encoder/decoder with ConvTranspose2d up-sampling and skip concats; conv->BN->ReLU throughout."),
    _arch("audio1d", ot.Audio1d,
          "1-D audio CNN: a BatchNorm1d on the raw waveform folds only forward, into the unpadded first Conv1d.",
          input_shape=(1, 1, 1600)),
]
# fmt: on
