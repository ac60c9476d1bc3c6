"""Model zoo specs: timm:NAME, torchvision:NAME, package.module:callable."""

from __future__ import annotations

import sys
from dataclasses import replace

import numpy as np
import pytest
from torch import nn

from inspector.errors import MissingDependencyError, UnsupportedModelError
from inspector.frontends import pytorch
from inspector.ir import bypass
from inspector.sources import resolve_spec

pytestmark = pytest.mark.slow  # model zoo


def tiny() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU())


tiny.input_shape = (1, 3, 8, 8)


def no_shape() -> nn.Module:
    return tiny()


def not_a_module():
    return 42


def fold_adjacent(loaded):
    """Fold every BN that directly follows a conv used only by it."""
    g, new, removed, changed = loaded.graph, {}, [], []
    for bn in g.bn_nodes():
        (prod,) = g.predecessors(bn)
        if prod.op != "conv" or len(g.consumers(prod.outputs[0])) != 1:
            continue
        p = bn.params
        a = p["gamma"] / np.sqrt(p["var"] + bn.attrs["eps"])
        w = prod.params["weight"]
        b = prod.params.get("bias", np.zeros(w.shape[0]))
        new[prod.id] = replace(prod, params={"weight": w * a[:, None, None, None],
                                             "bias": (b - p["mean"]) * a + p["beta"]})
        new[bn.id] = bypass(bn)
        removed.append(bn.id)
        changed.append(prod.id)
    return g.with_nodes(new), removed, changed


@pytest.mark.parametrize("spec", ["timm:resnet18", "torchvision:resnet18"])
def test_zoo_resnet18_builds_with_randomised_bn_stats(spec):
    pytest.importorskip(spec.split(":")[0])
    lm = resolve_spec(spec)
    assert lm.name == spec and lm.inputs[0].shape == (1, 3, 224, 224)
    bns = lm.graph.bn_nodes()
    assert len(bns) == 20 and bns[0].name == "bn1" and lm.graph.find("layer1.0.bn1")
    assert not np.allclose(bns[0].params["var"], 1.0)


def test_zoo_folded_resnet18_matches_original():
    pytest.importorskip("torchvision")
    lm = resolve_spec("torchvision:resnet18", input_shape=(1, 3, 64, 64), seed=2)
    folded = pytorch.write_back(lm, *fold_adjacent(lm))
    x = lm.random_inputs()
    np.testing.assert_allclose(pytorch.run(folded, x)[0], pytorch.run(lm.model, x)[0],
                               rtol=1e-4, atol=1e-4)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())


@pytest.mark.parametrize("spec", ["timm:resnet1800", "torchvision:resnet1800"])
def test_zoo_unknown_name_lists_close_matches(spec):
    pytest.importorskip(spec.split(":")[0])
    with pytest.raises(UnsupportedModelError, match="unknown .*resnet1800.*resnet18"):
        resolve_spec(spec)


def test_zoo_missing_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "timm", None)
    with pytest.raises(MissingDependencyError, match="pip install timm"):
        resolve_spec("timm:resnet18")


def test_zoo_callable_with_declared_input_shape():
    lm = resolve_spec("tests.test_zoo:tiny")
    assert lm.inputs[0].shape == (1, 3, 8, 8)
    assert [n.op for n in lm.graph.nodes][1:4] == ["conv", "batch_norm", "activation"]


def test_zoo_callable_errors_are_clear():
    with pytest.raises(UnsupportedModelError, match="cannot import 'no_such_pkg.mod'"):
        resolve_spec("no_such_pkg.mod:fn")
    with pytest.raises(UnsupportedModelError, match="unknown .*'tinyy'.*tiny"):
        resolve_spec("tests.test_zoo:tinyy")
    with pytest.raises(UnsupportedModelError, match="--input-shape"):
        resolve_spec("tests.test_zoo:no_shape")
    with pytest.raises(UnsupportedModelError, match="not a torch.nn.Module"):
        resolve_spec("tests.test_zoo:not_a_module", input_shape=(1, 3))
    assert resolve_spec("tests.test_zoo:no_shape", input_shape=(2, 3, 5, 5)).inputs[0].shape == (
        2, 3, 5, 5)


# -- timm pretrained tags, torchvision without weights, ultralytics YAML names (issue 14) --
def test_timm_pretrained_tag_builds_its_architecture_with_random_weights_and_says_so():
    pytest.importorskip("timm")
    lm = resolve_spec("timm:resnet18.a1_in1k", input_shape=(1, 3, 32, 32))
    assert len(lm.graph.bn_nodes()) == 20
    assert any("not downloaded" in note and "a1_in1k" in note for note in lm.notes)


def test_timm_unknown_pretrained_tag_lists_the_known_tags():
    pytest.importorskip("timm")
    with pytest.raises(UnsupportedModelError, match=r"unknown timm model 'resnet18.a1_in1kk'.*resnet18.a1_in1k"):
        resolve_spec("timm:resnet18.a1_in1kk")


def _no_downloads(monkeypatch):
    import torch

    def refuse(*args, **kwargs):
        raise AssertionError(f"tried to download {args[:1]}")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)


def test_every_torchvision_detection_and_segmentation_name_is_built_without_backbone_weights():
    tv = pytest.importorskip("torchvision")
    from inspector.zoo import torchvision_kwargs

    names = [*tv.models.list_models(module=tv.models.detection),
             *tv.models.list_models(module=tv.models.segmentation)]
    assert len(names) >= 18
    for name in names:
        assert torchvision_kwargs(tv, name) == {"weights": None, "weights_backbone": None}, name


@pytest.mark.parametrize("name", ["fasterrcnn_mobilenet_v3_large_320_fpn", "lraspp_mobilenet_v3_large"])
def test_torchvision_detector_and_segmenter_build_offline(monkeypatch, name):
    pytest.importorskip("torchvision")
    from inspector.zoo import build

    _no_downloads(monkeypatch)
    net, shape, _ = build("torchvision", name)
    assert shape == (1, 3, 224, 224) and sum(p.numel() for p in net.parameters()) > 0


def test_torchvision_video_and_optical_flow_names_default_to_their_input_shapes():
    tv = pytest.importorskip("torchvision")
    from inspector.zoo import torchvision_shape

    assert torchvision_shape(tv, "r3d_18") == (1, 3, 16, 112, 112)
    assert torchvision_shape(tv, "s3d") == (1, 3, 16, 224, 224)
    assert torchvision_shape(tv, "raft_small") == ((1, 3, 224, 224), (1, 3, 224, 224))


def test_ultralytics_yaml_name_builds_offline_with_every_bn_counted(monkeypatch):
    pytest.importorskip("ultralytics")
    _no_downloads(monkeypatch)
    lm = resolve_spec("ultralytics:yolov8n", input_shape=(1, 3, 64, 64))
    modules = sum(isinstance(m, nn.BatchNorm2d) for m in lm.model.modules())
    assert len(lm.graph.bn_nodes()) == modules == 57
    assert not np.allclose(lm.graph.bn_nodes()[0].params["var"], 1.0)  # randomised statistics


def test_ultralytics_names_spell_out_the_scales_and_default_shapes_follow_the_task():
    pytest.importorskip("ultralytics")
    from inspector.zoo import build, ultralytics_names

    names = ultralytics_names()
    assert {"yolov8n", "yolov8x-seg", "yolo11n-pose", "yolov10n", "yolov9t", "rtdetr-l"} <= set(names)
    assert not any("world" in n or "yoloe" in n for n in names)  # they download CLIP weights
    assert build("ultralytics", "yolov8n-cls")[1] == (1, 3, 224, 224)


def test_ultralytics_unknown_name_lists_close_matches():
    pytest.importorskip("ultralytics")
    with pytest.raises(UnsupportedModelError, match=r"unknown ultralytics model 'yolov8q'.*yolov8"):
        resolve_spec("ultralytics:yolov8q")
