"""Export every sample to ONNX *without* folding its batch norms.

Run ``python -m sample_models.export_onnx [OUT_DIR]`` to (re)write
``sample_models/onnx/<name>.onnx``.

Why this path: the legacy TorchScript exporter (``dynamo=False``) fuses
Conv+BN of eval-mode models during export, and the dynamo exporter's default
``optimize=True`` runs onnxscript's rewrite rules, which include
``fuse_batchnorm_into_conv/conv_transpose/gemm``. Both would hide exactly what
this project inspects. We therefore export with ``dynamo=True,
optimize=False`` and run only onnxscript's constant folding (told never to
touch ``BatchNormalization``) and dead-node removal. Every BN module then
stays a ``BatchNormalization`` node; a ``track_running_stats=False`` BN
becomes ``ReduceMean``/``Sub``/``Mul`` nodes computing the batch statistics,
feeding a ``BatchNormalization`` whose mean/var inputs are tensors, not
initializers.

Node names keep module paths: the main node of a leaf module call (the
``BatchNormalization`` of a BN, the ``Conv`` of a conv, the ``Gemm``/``MatMul``
of a Linear) is named exactly after the module FQN (``layer1.0.bn1``); its
helper nodes are ``<fqn>/<OpType>`` (e.g. ``conv/Pad`` for a reflect-padded
conv); a second call of the same module is ``<fqn>@1``; functional ops are
``<owner fqn>/<fx name>`` (``layer1.0/add``, or ``add`` at the root). So the
BN node names equal the keys of ``Expected.status``.
"""

from __future__ import annotations

import ast
import contextlib
import io
import sys
from collections import defaultdict
from pathlib import Path

import onnx
import torch
from torch import nn

from sample_models.registry import ONNX_DIR, list_samples
from sample_models.types import Sample

OPSET = 18
#: Node metadata kept in the files (stack traces and fx dumps are dropped: size, local paths).
KEEP_METADATA = ("pkg.torch.onnx.name_scopes", "pkg.torch.onnx.class_hierarchy")
#: Op types that carry a leaf module's name when the module emits several nodes.
PRINCIPAL_OPS = ("BatchNormalization", "Conv", "ConvTranspose", "Gemm", "MatMul")
_SCOPES = "pkg.torch.onnx.name_scopes"


def _scopes(node: onnx.NodeProto) -> list[str] | None:
    for prop in node.metadata_props:
        if prop.key == _SCOPES:
            try:
                value = ast.literal_eval(prop.value)
            except (ValueError, SyntaxError):
                return None
            return [str(v) for v in value] if isinstance(value, list) and value else None
    return None


def _base_name(scopes: list[str], leaf_modules: set[str]) -> str:
    """Module FQN for a leaf-module op, ``owner/fx_name`` for a functional op."""
    owner = scopes[-2] if len(scopes) >= 2 else ""
    if owner and owner in leaf_modules:
        return owner
    return f"{owner}/{scopes[-1]}" if owner else scopes[-1]


def _infer_scopes(proto: onnx.ModelProto) -> dict[int, list[str]]:
    """Scopes per node (by index); nodes the optimiser created without metadata (e.g. a
    ``Split`` replacing ``SplitToSequence``) get the common owner of their consumers."""
    nodes = list(proto.graph.node)
    consumers: dict[str, list[int]] = defaultdict(list)
    for i, node in enumerate(nodes):
        for name in node.input:
            consumers[name].append(i)
    scopes: dict[int, list[str]] = {}
    for i in range(len(nodes) - 1, -1, -1):  # reverse topological order
        node = nodes[i]
        own = _scopes(node)
        if own is not None:
            scopes[i] = own
            continue
        owners = [scopes[j][:-1] for out in node.output for j in consumers[out] if j in scopes]
        if not owners:
            continue
        prefix = owners[0]
        for other in owners[1:]:
            n = 0
            while n < min(len(prefix), len(other)) and prefix[n] == other[n]:
                n += 1
            prefix = prefix[:n]
        scopes[i] = [*prefix, node.op_type.lower()]
        node.metadata_props.add(key=_SCOPES, value=repr(scopes[i]))
    return scopes


def name_nodes(proto: onnx.ModelProto, model: nn.Module) -> None:
    """Rename graph nodes after the module paths recorded by the exporter (in place)."""
    leaf_modules = {n for n, m in model.named_modules() if n and not any(m.children())}
    inferred = _infer_scopes(proto)
    runs: list[tuple[str, list[onnx.NodeProto]]] = []
    for i, node in enumerate(proto.graph.node):
        scopes = inferred.get(i)
        if scopes is None:
            continue
        base = _base_name(scopes, leaf_modules)
        if runs and runs[-1][0] == base:
            runs[-1][1].append(node)
        else:
            runs.append((base, [node]))

    calls: dict[str, int] = defaultdict(int)
    for base, nodes in runs:
        k = calls[base]
        calls[base] += 1
        run_name = base if k == 0 else f"{base}@{k}"
        principal = next((n for n in nodes if n.op_type in PRINCIPAL_OPS), nodes[-1])
        counts: dict[str, int] = defaultdict(int)
        for node in nodes:
            if node is principal:
                node.name = run_name
                continue
            i = counts[node.op_type]
            counts[node.op_type] += 1
            node.name = f"{run_name}/{node.op_type}" + (f"_{i}" if i else "")

    seen: set[str] = set()
    for node in proto.graph.node:  # guarantee uniqueness whatever happened above
        name, i = node.name, 1
        while name in seen:
            name, i = f"{node.name}_{i}", i + 1
        node.name = name
        seen.add(name)


def _strip_metadata(proto: onnx.ModelProto) -> None:
    for node in proto.graph.node:
        kept = [(p.key, p.value) for p in node.metadata_props if p.key in KEEP_METADATA]
        del node.metadata_props[:]
        for key, value in kept:
            node.metadata_props.add(key=key, value=value)
        node.doc_string = ""


def to_onnx(model: nn.Module, example: torch.Tensor) -> onnx.ModelProto:
    """Export ``model`` (eval mode) to an ONNX ModelProto keeping every BatchNormalization."""
    from onnxscript import optimizer

    with contextlib.redirect_stdout(io.StringIO()):  # the exporter prints progress lines
        program = torch.onnx.export(
            model, (example,), dynamo=True, opset_version=OPSET, optimize=False, verbose=False
        )
    proto = program.model_proto
    optimizer.fold_constants(
        proto,
        input_size_limit=1 << 20,
        output_size_limit=1 << 22,
        should_fold=lambda n: False if n.op_type == "BatchNormalization" else None,
    )
    optimizer.remove_unused_nodes(proto)
    name_nodes(proto, model)
    _strip_metadata(proto)
    onnx.checker.check_model(proto)
    return proto


def export_sample(sample: Sample, out_dir: Path = ONNX_DIR) -> Path:
    """Build ``sample``, export it and write ``<out_dir>/<name>.onnx``."""
    model = sample.build()
    proto = to_onnx(model, sample.example_input())
    meta = {
        "sample_models.name": sample.name,
        "sample_models.kind": sample.kind,
        "sample_models.description": sample.description,
    }
    for key, value in meta.items():
        proto.metadata_props.add(key=key, value=value)
    proto.producer_name = "bn-fold-inspector sample_models"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{sample.name}.onnx"
    onnx.save(proto, path)
    return path


def export_all(out_dir: Path = ONNX_DIR) -> list[Path]:
    """Export every registered sample; returns the written paths."""
    return [export_sample(s, Path(out_dir)) for s in list_samples()]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out_dir = Path(args[0]) if args else ONNX_DIR
    total = 0
    for path in export_all(out_dir):
        size = path.stat().st_size
        total += size
        print(f"{path}  {size / 1024:.1f} KiB")
    print(f"total {total / 1024:.1f} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
