"""Static cost estimates: FLOPs and multiply-accumulates per node, from inferred shapes.

Conventions (the ones fvcore, ptflops and the roofline literature use): one MAC is a
multiply and an add, counted as 2 FLOPs; a bias add is one FLOP per output element;
elementwise ops cost one FLOP per output element; data movement (Reshape, Transpose,
Gather, …) costs 0. When a needed shape is unknown or symbolic, the estimate is NaN —
never a guess.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence, TypeGuard

import onnx

Shape = tuple  # of int | str | None
Cost = tuple[float, float]  # (flops, macs)

NAN: Cost = (math.nan, math.nan)

_ELEMENTWISE = {
    "Abs", "Acos", "Acosh", "Add", "And", "Asin", "Asinh", "Atan", "Atanh", "BitShift",
    "Ceil", "Celu", "Clip", "Cos", "Cosh", "Div", "Elu", "Equal", "Erf", "Exp", "Floor",
    "Gelu", "Greater", "GreaterOrEqual", "HardSigmoid", "HardSwish", "IsInf", "IsNaN",
    "LeakyRelu", "Less", "LessOrEqual", "Log", "Max", "Mean", "Min", "Mish", "Mod", "Mul",
    "Neg", "Not", "Or", "PRelu", "Pow", "Reciprocal", "Relu", "Round", "Selu", "Sigmoid",
    "Sign", "Sin", "Sinh", "Softplus", "Softsign", "Sqrt", "Sub", "Sum", "Tan", "Tanh",
    "ThresholdedRelu", "Where", "Xor", "FastGelu", "BiasGelu", "QuickGelu",
}
_REDUCE = {
    "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean",
    "ReduceMin", "ReduceProd", "ReduceSum", "ReduceSumSquare", "ArgMax", "ArgMin",
}
_MOVEMENT = {
    "Cast", "CastLike", "Compress", "Concat", "Constant", "ConstantOfShape", "DepthToSpace",
    "Dropout", "Expand", "Flatten", "Gather", "GatherElements", "GatherND", "Identity",
    "NonZero", "OneHot", "Pad", "Range", "Reshape", "Resize", "ScatterElements", "ScatterND",
    "Shape", "Size", "Slice", "SpaceToDepth", "Split", "Squeeze", "Tile", "Transpose",
    "Trilu", "Unsqueeze", "Upsample",
}
# Approximate FLOPs per element: mean, variance, normalise, scale and shift.
_NORMALIZATION = {
    "BatchNormalization": 2, "InstanceNormalization": 5, "GroupNormalization": 5,
    "LayerNormalization": 5, "SimplifiedLayerNormalization": 4, "SkipLayerNormalization": 6,
    "RMSNormalization": 4, "LpNormalization": 3, "MeanVarianceNormalization": 5,
}
_SOFTMAX = {"Softmax": 3, "LogSoftmax": 4, "Hardmax": 1}


def _known(shape: Shape | None) -> TypeGuard[Shape]:
    return shape is not None and all(isinstance(d, int) for d in shape)


def _numel(shape: Shape) -> int:
    return math.prod(shape)


def _conv(ins: Sequence[Shape | None], outs: Sequence[Shape | None], _: dict) -> Cost:
    if len(ins) < 2 or not (_known(ins[1]) and outs and _known(outs[0])):
        return NAN
    macs = _numel(outs[0]) * _numel(ins[1][1:])
    bias = _numel(outs[0]) if len(ins) > 2 and ins[2] is not None else 0
    return 2.0 * macs + bias, float(macs)


def _conv_transpose(ins: Sequence[Shape | None], outs: Sequence[Shape | None], _: dict) -> Cost:
    if len(ins) < 2 or not (_known(ins[0]) and _known(ins[1])):
        return NAN
    macs = _numel(ins[0]) * _numel(ins[1][1:])
    bias = _numel(outs[0]) if len(ins) > 2 and outs and _known(outs[0]) else 0
    return 2.0 * macs + bias, float(macs)


def _matmul(ins: Sequence[Shape | None], outs: Sequence[Shape | None], _: dict) -> Cost:
    # Covers batched, attention-style MatMuls: every output element is a K-long dot product.
    if len(ins) < 2 or not (_known(ins[0]) and outs and _known(outs[0])) or not ins[0]:
        return NAN
    macs = _numel(outs[0]) * ins[0][-1]
    return 2.0 * macs, float(macs)


def _gemm(ins: Sequence[Shape | None], outs: Sequence[Shape | None], attrs: dict) -> Cost:
    if len(ins) < 2 or not (_known(ins[0]) and outs and _known(outs[0])) or len(ins[0]) != 2:
        return NAN
    k = ins[0][0] if attrs.get("transA", 0) else ins[0][1]
    macs = _numel(outs[0]) * k
    bias = _numel(outs[0]) if len(ins) > 2 and ins[2] is not None else 0
    return 2.0 * macs + bias, float(macs)


def _pool(ins: Sequence[Shape | None], outs: Sequence[Shape | None], attrs: dict) -> Cost:
    kernel = attrs.get("kernel_shape")
    if not (outs and _known(outs[0])) or not kernel:
        return NAN
    return float(_numel(outs[0]) * math.prod(kernel)), 0.0


def _global_pool(ins: Sequence[Shape | None], outs: Sequence[Shape | None], _: dict) -> Cost:
    return (float(_numel(ins[0])), 0.0) if ins and _known(ins[0]) else NAN


def _per_output(factor: float) -> Callable[..., Cost]:
    def cost(ins: Sequence[Shape | None], outs: Sequence[Shape | None], _: dict) -> Cost:
        return (factor * _numel(outs[0]), 0.0) if outs and _known(outs[0]) else NAN

    return cost


def _per_input(factor: float) -> Callable[..., Cost]:
    def cost(ins: Sequence[Shape | None], outs: Sequence[Shape | None], _: dict) -> Cost:
        return (factor * _numel(ins[0]), 0.0) if ins and _known(ins[0]) else NAN

    return cost


_RULES: dict[str, Callable[..., Cost]] = {
    "Conv": _conv, "ConvInteger": _conv, "QLinearConv": _conv, "FusedConv": _conv,
    "ConvTranspose": _conv_transpose,
    "MatMul": _matmul, "MatMulInteger": _matmul, "QLinearMatMul": _matmul,
    "FusedMatMul": _matmul,
    "Gemm": _gemm, "FusedGemm": _gemm,
    "MaxPool": _pool, "AveragePool": _pool, "LpPool": _pool,
    "GlobalAveragePool": _global_pool, "GlobalMaxPool": _global_pool,
    "GlobalLpPool": _global_pool,
    "LRN": _per_output(5.0),
}
_RULES.update({op: _per_output(1.0) for op in _ELEMENTWISE})
_RULES.update({op: _per_input(1.0) for op in _REDUCE})
_RULES.update({op: _per_output(0.0) for op in _MOVEMENT})
_RULES.update({op: _per_output(float(f)) for op, f in _NORMALIZATION.items()})
_RULES.update({op: _per_output(float(f)) for op, f in _SOFTMAX.items()})


def attribute_values(node: onnx.NodeProto) -> dict:
    """The node's scalar and list attributes as Python values (graphs and tensors left out)."""
    values = {}
    for attr in node.attribute:
        if attr.type in (onnx.AttributeProto.INT, onnx.AttributeProto.FLOAT,
                         onnx.AttributeProto.STRING, onnx.AttributeProto.INTS,
                         onnx.AttributeProto.FLOATS):
            values[attr.name] = onnx.helper.get_attribute_value(attr)
    return values


def node_cost(node: onnx.NodeProto, ins: Sequence[Shape | None], outs: Sequence[Shape | None],
              attrs: dict) -> Cost:
    """``(flops, macs)`` of one node; NaN where the op or a needed shape is unknown.

    ``attrs`` are the node's :func:`attribute_values`.
    """
    rule = _RULES.get(node.op_type)
    if rule is None:
        return NAN
    return rule(ins, outs, attrs)
