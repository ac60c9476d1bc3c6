"""The catalogue: one tiny model per folding rule and per failure reason (DESIGN §3, §4, §6).

Each case carries its expected result in both modes. ``adjacent`` is what
PyTorch fx ``fuse`` / onnxruntime / onnxoptimizer do (BN directly after a
Conv/ConvTranspose/Linear used only by that BN, weights not shared);
``optimal`` is the roots/leaves closure with the exactness rules.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

from torch import nn

from sample_models import catalogue_branch as br
from sample_models import catalogue_chain as ch
from sample_models import catalogue_reparam as rp
from sample_models._build import builder
from sample_models.types import FOLDED, MERGED, NOT_FOLDABLE, Expected, Sample

F, N = FOLDED, NOT_FOLDABLE
IMG = (1, 4, 8, 8)


def _case(
    name: str,
    factory: Callable[[], nn.Module],
    description: str,
    rule: str,
    expected: Expected,
    input_shape: tuple[int, ...] = IMG,
    negative_fraction: float = 0.0,
    post: Callable[[nn.Module], None] | None = None,
) -> Sample:
    seed = zlib.crc32(name.encode()) % 10_000
    return Sample(
        name=name,
        kind="case",
        description=description,
        input_shape=input_shape,
        build=builder(factory, seed=seed, negative_fraction=negative_fraction, post=post),
        expected=expected,
        rule=rule,
    )


def _one(adjacent: str | None, optimal: str | None, reason: str | None = None, bn: str = "bn"):
    """Expected for a single-BN case."""
    return Expected(
        adjacent=int(adjacent == F),
        optimal=int(optimal == F),
        status={bn: (adjacent, optimal)},
        reasons={bn: reason} if reason else {},
    )


# fmt: off
CASES: list[Sample] = [
    # --- the usual adjacent fold and its variants -------------------------------------------
    _case("conv_bn_relu", ch.ConvBnRelu,
          "conv -> BN -> ReLU: the textbook fold every tool does.",
          "§3.3 special case R = {conv}, L = {BN}; §3.4 backward root update.",
          _one(F, F)),
    _case("linear_bn1d", ch.LinearBn1d,
          "Linear -> BatchNorm1d on (N, F): the fold scales weight rows.",
          "§3.2 Linear is expressive; §3.4 backward root update.",
          _one(F, F), input_shape=(1, 8)),
    _case("convtranspose_bn", lambda: ch.ConvTransposeBn(groups=1),
          "ConvTranspose2d -> BN: output channels sit on weight axis 1 (in-channels first).",
          "§3.2 ConvTranspose: mind the weight layout.",
          _one(F, F)),
    _case("convtranspose_grouped_bn", lambda: ch.ConvTransposeBn(groups=2),
          "Grouped ConvTranspose2d (groups=2) -> BN: output channel k lives in group k // 4.",
          "§3.2 ConvTranspose weight layout with groups.",
          _one(F, F)),
    _case("depthwise_bn", ch.DepthwiseBn,
          "Depthwise conv (groups = C) -> BN -> ReLU: one filter per channel absorbs a_k.",
          "§3.2 grouped/depthwise convs are expressive.",
          _one(F, F)),
    _case("linear_bn_output", ch.LinearBnOutput,
          "Linear -> BatchNorm1d as the model output: a backward fold needs nothing after the BN.",
          "§3.3 only End_backward must be unblocked for a backward fold.",
          _one(F, F), input_shape=(1, 8)),
    # --- forward folds --------------------------------------------------------------------------
    _case("input_bn_conv", ch.InputBnConv,
          "BN on the graph input -> unpadded conv: only a forward fold works.",
          "§3.4 forward root: W' = W*a, b' = b + sum W*c.",
          _one(N, F)),
    _case("input_bn_padded_conv", lambda: ch.InputBnConv(padding=1),
          "BN on the input -> zero-padded conv: the shift c is wrong at the borders.",
          "§3.4 forward: zero padding breaks a non-zero shift.",
          _one(N, N, "zero_padding")),
    _case("input_bn_reflect_conv", lambda: ch.InputBnConv(padding=1, padding_mode="reflect"),
          "BN on the input -> reflect-padded conv: reflect padding commutes with the whole map.",
          "§3.2 reflect/replicate/circular padding is transparent.",
          _one(N, F)),
    _case("input_bn_depthwise", lambda: ch.InputBnConv(groups=4),
          "BN on the input -> unpadded grouped conv (4 -> 8, groups=4): input channel k is group k.",
          "§3.4 forward root, grouped: input channel k belongs to group k // (C_in/groups).",
          _one(N, F)),
    _case("relu_bn_conv", ch.ReluBnConv,
          "conv -> ReLU -> BN -> unpadded conv: backward is blocked, forward is free.",
          "§3.3 direction forward: End_forward(BN) = {conv2}.",
          _one(N, F)),
    _case("flatten_bn_linear", ch.FlattenBnLinear,
          "input -> Flatten -> BatchNorm1d(36) -> Linear: BN on features folds forward.",
          "§3.4 forward root into a Linear.",
          _one(N, F), input_shape=(1, 4, 3, 3)),
    _case("bn_flatten_linear", ch.BnFlattenLinear,
          "input -> BatchNorm2d(4) -> Flatten -> Linear(36): channel k owns features 9k..9k+8.",
          "§3.2 Flatten: a per-channel vector expands to a per-feature vector.",
          _one(N, F), input_shape=(1, 4, 3, 3)),
    _case("forward_add_leaf", br.ForwardAddLeaf,
          "ReLU -> BN, summed with conv_b(x), -> unpadded conv: conv_b is a forward leaf.",
          "§3.4 forward leaf: divide the other producer's output channels by a_k.",
          _one(N, F)),
    # --- transparent ops --------------------------------------------------------------------------
    _case("add_two_roots", br.AddTwoRoots,
          "conv_a(x) + conv_b(x) -> BN: two roots, the shift must be added once.",
          "§3.2 Add is transparent; §3.4 shift once per summed path.",
          _one(N, F)),
    _case("concat_bn", br.ConcatBn,
          "cat(conv_a(x), conv_b(x)) -> BN: each conv gets its slice of a and c.",
          "§3.2 Concat on the channel axis: slice a, c per operand.",
          _one(N, F)),
    _case("maxpool_positive", lambda: ch.PoolBn("max"),
          "conv -> MaxPool -> BN with all gammas > 0: max commutes with a positive scale.",
          "§3.2 max pooling: only if every a_k > 0.",
          _one(N, F)),
    _case("maxpool_negative", lambda: ch.PoolBn("max"),
          "conv -> MaxPool -> BN with some gammas < 0: max turns into min on those channels.",
          "§3.2 max pooling with a negative a_k blocks.",
          _one(N, N, "negative_scale"), negative_fraction=0.5, post=ch.force_negative_gamma),
    _case("avgpool_bn", lambda: ch.PoolBn("avg"),
          "conv -> AvgPool2d(2) -> BN: average pooling commutes with any per-channel affine map.",
          "§3.2 average pooling without zero padding is transparent.",
          _one(N, F)),
    _case("zero_plus_bn", ch.ZeroPlusBn,
          "conv -> ReLU -> 0 + BN -> ReLU: the `+ 0` has no arithmetic to take the BN's.",
          "§3.8 moving a BN into an `x + 0` is a rename, not a fold: `+ 0` is an identity.",
          _one(N, N, "nonlinearity")),
    _case("bn_scalar_mul", ch.BnScalarMul,
          "conv -> ReLU -> BN -> x * 0.5 -> ReLU: folding into the scalar multiply needs a new add.",
          "§3.8 a fold that adds a per-channel Mul/Add back moves the BN's arithmetic: refused.",
          _one(N, N, "rename_not_fold")),
    _case("levit_tokens", ch.LevitTokens,
          "LeViT Linear_BN: Linear -> flatten(0, 1) -> BatchNorm1d -> reshape back -> ReLU.",
          "§3.2 Reshape/Flatten with a trackable channel axis (last dim) is transparent.",
          _one(N, F), input_shape=(1, 6, 8)),
    # --- leaves --------------------------------------------------------------------------------
    _case("leaf_conv", lambda: br.LeafConv(1),
          "conv feeds BN and a 1x1 conv (another output): the 1x1 conv is a leaf that undoes the map.",
          "§3.3 step 2 leaves; §3.4 backward leaf: W' = W/a, b' = b - sum W*d/a.",
          _one(N, F)),
    _case("leaf_padded_conv", lambda: br.LeafConv(3),
          "conv feeds BN and a zero-padded 3x3 conv: the leaf cannot undo the shift at the borders.",
          "§3.4 backward leaf: exact only without zero padding (or d = 0).",
          _one(N, N, "zero_padding")),
    _case("zero_scale_leaf", lambda: br.LeafConv(1),
          "leaf_conv with gamma_0 = 0: the leaf would have to divide by a_0 = 0.",
          "§3.4 any a_k = 0 makes a leaf inverse impossible.",
          _one(N, N, "zero_scale"), post=ch.zero_first_gamma),
    _case("overlap_add", br.OverlapAdd,
          "y = conv1(x); BN(y + conv2(y)): conv2 is both a root and a leaf.",
          "§3.3 R and L must be disjoint.",
          _one(N, N, "roots_leaves_overlap")),
    # --- groups of BNs ----------------------------------------------------------------------------
    _case("bn_bn", ch.BnBn,
          "conv -> ReLU -> BN1 -> BN2: either BN absorbs the other, then the survivor is stuck.",
          "§3.4 BN into BN; §3.5 re-analyse after each fold.",
          Expected(0, 1, {"bn1": (N, None), "bn2": (N, None)})),
    _case("dense_block", br.DenseBlock,
          "DenseNet block: four BNs read the stem output x0; exactly one of them can fold.",
          "§3.5 a group of BNs reading the same tensors: only one folds.",
          Expected(0, 1, {
              "layer1.norm": (N, None), "layer2.norm": (N, None),
              "layer3.norm": (N, None), "transition.norm": (N, None),
          })),
    _case("preact_residual", br.PreactResidual,
          "Pre-activation ResNet: BN2s fold adjacently; one of the three stream BNs folds too.",
          "§3.5 residual stream: the BNs on the stream form one group.",
          Expected(2, 3, {
              "block1.bn2": (F, F), "block2.bn2": (F, F),
              "block1.bn1": (N, None), "block2.bn1": (N, None), "bn": (N, None),
          })),
    # --- blocked ----------------------------------------------------------------------------------
    _case("se_mul_bn", ch.SeMulBn,
          "conv -> squeeze-excitation gate (x * sigmoid(...)) -> BN: the gate is data-dependent.",
          "§3.2 multiplication by a data-dependent tensor blocks.",
          _one(N, N, "data_dependent_mul")),
    _case("bn_only", ch.BnOnly,
          "input -> BN -> output: graph boundaries on both sides.",
          "§3.2 graph inputs and outputs block.",
          _one(N, N, "boundary")),
    _case("batch_stats_bn", ch.BatchStatsBn,
          "conv -> BatchNorm2d(track_running_stats=False): batch statistics are not an affine map.",
          "§3.1 a BN using batch statistics at inference is never foldable.",
          _one(N, N, "batch_stats"), post=ch.set_batch_stats_affine),
    _case("shared_conv", br.SharedConv,
          "One conv module called twice: scaling its weights for the BN would change the other call.",
          "§3.2 expressive nodes need their own parameters.",
          _one(N, N, "shared_params")),
    _case("normalization_bn", ch.NormalizationBn,
          "conv -> InstanceNorm -> BN -> LayerNorm: data-dependent normalisation on both sides.",
          "§3.2 LayerNorm/GroupNorm/InstanceNorm block.",
          _one(N, N, "normalization")),
    _case("unknown_op_bn", ch.UnknownOpBn,
          "conv -> cumsum -> BN -> cumsum: an op outside the vocabulary blocks both directions.",
          "§2 unknown ops are kept as `other`, which blocks folding.",
          _one(N, N, "unknown_op")),
]
# fmt: on


# --- merging parallel branches (reparam mode, DESIGN §3.7) ----------------------------------------
M = MERGED


def _rep(adjacent: dict[str, str | None], optimal: int, reparam: dict[str, str | None],
         convs: int, reasons: dict[str, str] | None = None) -> Expected:
    """Expected for a re-parameterization case: ``adjacent`` statuses (the BNs directly after
    a conv; ``optimal`` folds the same ones unless ``optimal`` says more), ``reparam``
    statuses (``None``: folded or merged), the convs left after a ``reparam`` fold."""
    removed = sum(s != N for s in reparam.values())
    return Expected(
        adjacent=sum(s == F for s in adjacent.values()),
        optimal=optimal,
        status={bn: (s, s if s == F else None) for bn, s in adjacent.items()},
        reparam=removed,
        reparam_status=reparam,
        reparam_reasons=reasons or {},
        reparam_convs=convs,
    )


_BRANCHES = {"dense.bn": F, "one.bn": F, "identity": N}

# fmt: off
REPARAM_CASES: list[Sample] = [
    _case("repvgg_block", rp.RepVGGBlock,
          "RepVGG block: relu(bn(conv3x3 x) + bn(conv1x1 x) + bn(x)); the identity BN only merges.",
          "§3.7 parallel sum: 1x1 zero-padded to 3x3 (centred), identity as a centre tap.",
          _rep(_BRANCHES, 2, {"dense.bn": None, "one.bn": None, "identity": M}, 1)),
    _case("repvgg_stride2", lambda: rp.RepVGGBlock(4, 8, stride=2),
          "Stride-2 RepVGG block (4 -> 8, no identity): both BNs fold, the two convs merge into one.",
          "§3.7 parallel sum with equal stride: W = W1 + W2, b = b1 + b2.",
          _rep({"dense.bn": F, "one.bn": F}, 2, {"dense.bn": None, "one.bn": None}, 1)),
    _case("mobileone_dw", rp.MobileOneDepthwise,
          "MobileOne depthwise block: two 3x3 dw conv+BN, a 1x1 dw scale conv+BN and an identity BN.",
          "§3.7 groups: identity and depthwise taps fit any grouping with C_in = C_out.",
          _rep({"conv_kxk.0.bn": F, "conv_kxk.1.bn": F, "conv_scale.bn": F, "identity": N}, 3,
               {"conv_kxk.0.bn": None, "conv_kxk.1.bn": None, "conv_scale.bn": None,
                "identity": M}, 1)),
    _case("repmixer", rp.RepMixer,
          "FastViT RepMixer: x + s * (bn(dwconv x) - bn(x)) with a per-channel layer scale s.",
          "§3.7 sub of branches, per-channel affine absorption W <- a W, b <- a b + c, identity tap.",
          _rep({"mixer.bn": F, "norm": N}, 1, {"mixer.bn": None, "norm": M}, 1)),
    _case("acnet_block", rp.ACBlock,
          "ACNet block: bn(conv3x3) + bn(conv1x3) + bn(conv3x1); asymmetric kernels merge per axis.",
          "§3.7 centre offsets (k-1)d/2 - p agree on every spatial axis.",
          _rep({"square.bn": F, "hor.bn": F, "ver.bn": F}, 3,
               {"square.bn": None, "hor.bn": None, "ver.bn": None}, 1)),
    _case("dbb_avgpool", rp.DBBAvgBlock,
          "DBB block: bn(conv3x3 x) + bn(avgpool3x3(conv1x1 x)) with counted zero padding.",
          "§3.7 avg-pool k x k with counted padding = depthwise taps 1/k^2; unbiased 1x1 -> k x k.",
          _rep({"dense.bn": F, "avg_bn": N}, 1, {"dense.bn": None, "avg_bn": M}, 1)),
    # --- refusals: one per reason --------------------------------------------------------------
    _case("misaligned_centres", rp.MisalignedBranches,
          "Dilated (d=2) conv3x3 + conv2x2 + identity BN: the 2x2 taps fall between the 3x3 taps.",
          "§3.7 refuse branches whose tap grids do not coincide (centres misaligned).",
          _rep({"dense.bn": F, "even.bn": F, "identity": N}, 2,
               {"dense.bn": F, "even.bn": F, "identity": N}, 2,
               {"identity": "merge_misaligned"})),
    _case("dilation_mismatch", rp.DilationMismatch,
          "conv3x3 + dilated conv3x3 (d=2, padding 2) + identity BN: same centre, different dilation.",
          "§3.7 refuse branches whose stride or dilation differ.",
          _rep({"dense.bn": F, "dilated.bn": F, "identity": N}, 2,
               {"dense.bn": F, "dilated.bn": F, "identity": N}, 2,
               {"identity": "merge_dilation_mismatch"})),
    _case("avgpool_exclude_pad", rp.AvgPoolExcludePad,
          "conv3x3+BN + avgpool3x3(padding 1, count_include_pad=False)+BN: the border divisor varies.",
          "§3.7 count_include_pad=False with padding is not a convolution: refuse.",
          _rep({"dense.bn": F, "avg_bn": N}, 1, {"dense.bn": F, "avg_bn": N}, 1,
               {"avg_bn": "merge_pool_uncounted_padding"})),
    _case("biased_1x1_padded", rp.BiasedOneThenPadded,
          "identity BN + conv3x3(padding 1) after a biased conv1x1: the border would read the bias.",
          "§3.7 1x1 -> zero-padded k x k only when the first bias is 0.",
          _rep({"identity": N}, 0, {"identity": N}, 2, {"identity": "merge_biased_pointwise"})),
    _case("branch_read_outside", rp.BranchReadOutside,
          "RepVGG block whose 3x3 branch output is also returned: it must survive, so no merge.",
          "§3.7 no intermediate tensor of a region may be read outside it.",
          _rep(_BRANCHES, 2, {"dense.bn": F, "one.bn": F, "identity": N}, 2,
               {"identity": "merge_outside_use"})),
]
# fmt: on
CASES += REPARAM_CASES
