"""The coverage benchmark's models: one or more of every family people bring.

Every model is built offline with random weights and randomised BN statistics
(``inspector.sources.randomize_bn``, seed 0), and named the way a user names it:
``ultralytics:NAME`` / ``torchvision:NAME`` (bnfold's own sources) or a
``package.module:callable`` in this module (``benchmarks.coverage_models:hf_resnet``),
which is exactly the route README "Your own model" describes. Each callable sets
``input_shape`` on the module it returns. Families needing an optional library
(``pip install 'bn-fold-inspector[models]'``) are skipped without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inspector.sources import randomize_bn


@dataclass(frozen=True)
class Case:
    """One model of the benchmark.

    Attributes:
        family: the table's group (``ultralytics``, ``transformers`` ...).
        spec: what ``bnfold`` is given (a source name or ``package.module:callable``).
        shape: input shape for zoo names (None: the source's default or the
            callable's ``input_shape``); smaller than the default where the
            default makes the run slow (the table prints the shape used).
        needs: the optional package the family needs.
    """

    family: str
    spec: str
    shape: tuple | None = None
    needs: str | None = None


def _ready(net: Any, shape: tuple) -> Any:
    """Random BN statistics (seed 0), eval mode and the input shape, as a user would."""
    randomize_bn(net, 0)
    net.input_shape = shape
    return net.eval()


# -- Hugging Face transformers (from their configs, random weights) -------------------
def _hf(config_name: str, model_name: str, shape=(1, 3, 224, 224), **config: Any) -> Any:
    import torch
    import transformers

    torch.manual_seed(0)
    cfg = getattr(transformers, config_name)(**config)
    return _ready(getattr(transformers, model_name)(cfg), shape)


def hf_resnet():
    return _hf("ResNetConfig", "ResNetForImageClassification")


def hf_mobilenet_v1():
    return _hf("MobileNetV1Config", "MobileNetV1ForImageClassification")


def hf_mobilenet_v2():
    return _hf("MobileNetV2Config", "MobileNetV2ForImageClassification")


def hf_efficientnet():  # B0 (the config's default is B7 at 600 px)
    return _hf("EfficientNetConfig", "EfficientNetForImageClassification", image_size=224,
               width_coefficient=1.0, depth_coefficient=1.0, dropout_rate=0.2, hidden_dim=1280)


def hf_regnet():
    return _hf("RegNetConfig", "RegNetForImageClassification")


def hf_mobilevit():
    return _hf("MobileViTConfig", "MobileViTForImageClassification", shape=(1, 3, 256, 256))


def hf_mobilevitv2():
    return _hf("MobileViTV2Config", "MobileViTV2ForImageClassification", shape=(1, 3, 256, 256))


def hf_levit():
    return _hf("LevitConfig", "LevitForImageClassification")


def hf_swiftformer():
    return _hf("SwiftFormerConfig", "SwiftFormerForImageClassification")


def hf_textnet():
    return _hf("TextNetConfig", "TextNetForImageClassification")


def hf_bit():
    return _hf("BitConfig", "BitForImageClassification")


def hf_convnext():
    return _hf("ConvNextConfig", "ConvNextForImageClassification")


# -- segmentation-models-pytorch ---------------------------------------------------------
def _smp(arch: str, encoder: str, shape=(1, 3, 256, 256)) -> Any:
    import segmentation_models_pytorch as smp
    import torch

    torch.manual_seed(0)
    return _ready(getattr(smp, arch)(encoder, encoder_weights=None, classes=3), shape)


def smp_unet_resnet34():
    return _smp("Unet", "resnet34")


def smp_fpn_efficientnet_b0():
    return _smp("FPN", "efficientnet-b0")


def smp_deeplabv3plus_mobilenet_v2():
    return _smp("DeepLabV3Plus", "mobilenet_v2")


def smp_unetplusplus_mobileone_s0():
    return _smp("UnetPlusPlus", "mobileone_s0")


def smp_unet_mobileone_s0():
    return _smp("Unet", "mobileone_s0")


# -- torchvision detectors: the backbone (the full detector is refused, see the table) --
def _tv_backbone(name: str, shape=(1, 3, 320, 320)) -> Any:
    import torch
    import torchvision

    torch.manual_seed(0)
    model = torchvision.models.get_model(name, weights=None, weights_backbone=None)
    return _ready(model.backbone, shape)


def fasterrcnn_mobilenet_backbone():
    return _tv_backbone("fasterrcnn_mobilenet_v3_large_320_fpn")


def retinanet_resnet50_backbone():
    return _tv_backbone("retinanet_resnet50_fpn")


def ssdlite_backbone():
    return _tv_backbone("ssdlite320_mobilenet_v3_large")


def maskrcnn_resnet50_backbone():
    return _tv_backbone("maskrcnn_resnet50_fpn")


# -- pytorchcv ---------------------------------------------------------------------------
def _ptcv(name: str, shape=(1, 3, 224, 224)) -> Any:
    import torch
    from pytorchcv.model_provider import get_model

    torch.manual_seed(0)
    return _ready(get_model(name, pretrained=False), shape)


def ptcv_resnet18():
    return _ptcv("resnet18")


def ptcv_preresnet18():
    return _ptcv("preresnet18")


def ptcv_ibn_resnet50():
    return _ptcv("ibn_resnet50")


def ptcv_mobilenetv2():
    return _ptcv("mobilenetv2_w1")


# -- 1-D and tabular ------------------------------------------------------------------
def tabular_mlp():
    """Linear -> BatchNorm1d -> ReLU (x3) -> Linear on 32 features, batch 8."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    layers: list[nn.Module] = []
    width = 32
    for out in (64, 64, 32):
        layers += [nn.Linear(width, out), nn.BatchNorm1d(out), nn.ReLU()]
        width = out
    return _ready(nn.Sequential(*layers, nn.Linear(width, 1)), (8, 32))


def audio_conv1d():
    """An M5-style raw-audio classifier: Conv1d -> BatchNorm1d -> ReLU -> MaxPool1d (x4)."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    layers: list[nn.Module] = []
    width = 1
    for i, out in enumerate((32, 32, 64, 64)):
        layers += [nn.Conv1d(width, out, 80 if i == 0 else 3, stride=4 if i == 0 else 1),
                   nn.BatchNorm1d(out), nn.ReLU(), nn.MaxPool1d(4)]
        width = out
    return _ready(nn.Sequential(*layers, nn.AdaptiveAvgPool1d(1), nn.Flatten(),
                                nn.Linear(width, 10)), (1, 1, 8000))


HERE = "benchmarks.coverage_models"
YOLO = (320, 320)


def cases() -> list[Case]:
    """Every model of the full run, grouped by family."""
    ul = [Case("ultralytics", f"ultralytics:{n}", (1, 3, *YOLO), "ultralytics")
          for n in ("yolov5n", "yolov8n", "yolov8n-seg", "yolov8n-pose", "yolov9t", "yolov10n",
                    "yolo11n", "yolo11n-obb", "yolo12n", "yolo26n", "rtdetr-l")]
    ul.append(Case("ultralytics", "ultralytics:yolov8n-cls", None, "ultralytics"))
    hf = [Case("transformers", f"{HERE}:hf_{n}", None, "transformers")
          for n in ("resnet", "mobilenet_v1", "mobilenet_v2", "efficientnet", "regnet", "mobilevit",
                    "mobilevitv2", "levit", "swiftformer", "textnet", "bit", "convnext")]
    smp = [Case("segmentation-models-pytorch", f"{HERE}:smp_{n}", None,
                "segmentation_models_pytorch")
           for n in ("unet_resnet34", "fpn_efficientnet_b0", "deeplabv3plus_mobilenet_v2",
                     "unetplusplus_mobileone_s0", "unet_mobileone_s0")]
    tv = [
        Case("torchvision detection", "torchvision:fasterrcnn_mobilenet_v3_large_320_fpn",
             (1, 3, 320, 320), "torchvision"),
        Case("torchvision detection", "torchvision:ssdlite320_mobilenet_v3_large",
             (1, 3, 320, 320), "torchvision"),
        *(Case("torchvision detection", f"{HERE}:{n}", None, "torchvision")
          for n in ("fasterrcnn_mobilenet_backbone", "retinanet_resnet50_backbone",
                    "ssdlite_backbone", "maskrcnn_resnet50_backbone")),
        *(Case("torchvision segmentation", f"torchvision:{n}", None, "torchvision")
          for n in ("deeplabv3_mobilenet_v3_large", "fcn_resnet50", "lraspp_mobilenet_v3_large")),
        *(Case("torchvision video", f"torchvision:{n}", (1, 3, 8, 112, 112), "torchvision")
          for n in ("r3d_18", "mc3_18", "r2plus1d_18")),
        Case("torchvision video", "torchvision:s3d", None, "torchvision"),
        Case("torchvision optical flow", "torchvision:raft_large",
             ((1, 3, 128, 128), (1, 3, 128, 128)), "torchvision"),
        *(Case("torchvision quantizable", f"torchvision:{n}", None, "torchvision")
          for n in ("quantized_mobilenet_v2", "quantized_resnet18", "quantized_googlenet")),
    ]
    cv = [Case("pytorchcv", f"{HERE}:ptcv_{n}", None, "pytorchcv")
          for n in ("resnet18", "preresnet18", "ibn_resnet50", "mobilenetv2")]
    flat = [Case("1-D / tabular", f"{HERE}:{n}") for n in ("tabular_mlp", "audio_conv1d")]
    return [*ul, *hf, *smp, *tv, *cv, *flat]


#: A few cheap models, one per family, for CI-sized smoke runs (``--quick``).
QUICK = ("ultralytics:yolov8n", f"{HERE}:hf_mobilenet_v2", f"{HERE}:smp_unet_mobileone_s0",
         "torchvision:r3d_18", f"{HERE}:fasterrcnn_mobilenet_backbone", f"{HERE}:ptcv_resnet18",
         f"{HERE}:tabular_mlp")
