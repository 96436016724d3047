"""Rounding is not a fault: a node of a lower-precision candidate that rounds — a
``DequantizeLinear`` (the end of a Q/DQ pair, or a stored int8 weight), the end of a
dynamically quantized op, a node computing in float16 — is judged on the reference's inputs
against its own format, not against fp32 tolerances. Only a node that does worse than its
format allows is a cause: a scale that does not fit its values, a range that clips, a float16
overflow.

- A dequantized value is within its format when every element is within half a quantization
  step (its scale, per axis where the scale is) of the reference's, bar :data:`CLIPPED` of them
  (values past the range the scale and zero point cover), or bar a few past it by at most
  :data:`SHORT_RANGE` of that range.
- A float16 op, or an int8 op (a chain of ``DynamicQuantizeLinear``, ``MatMulInteger``…), is
  within its format when its relative L2 error is at most :data:`FORMAT_REL_L2` and it has no
  Inf or NaN the reference lacks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..runtime import Debugger
from ._metrics import error_metrics

#: Ops that compute on integers inside a quantized op (quantize_dynamic's chains, QOperator models).
INTEGER_OPS = frozenset({"DynamicQuantizeLinear", "MatMulInteger", "ConvInteger", "QLinearMatMul", "QLinearConv",
                         "DynamicQuantizeMatMul", "MatMulIntegerToFloat", "QGemm", "QLinearAdd", "QLinearMul",
                         "QAttention", "DynamicQuantizeLSTM"})
#: Relative L2 error an op may add on the reference's inputs when it computes in this format: a
#: few float16 rounding steps (2**-11), however many terms it sums; for an int8 op, the rounding
#: of its inputs and weights to 256 levels (1–3 % on BERT-style matmuls).
FORMAT_REL_L2 = {"float16": 1e-2, "bfloat16": 8e-2, "int8": 0.1}
#: Share of a dequantized value's elements that may sit past half a quantization step from the
#: reference (outside the range its scale covers: clipped, at the range's end; any other element
#: past it makes the dequantization a cause) before the quantization is a cause…
CLIPPED = 0.01
#: …unless none of them is past it by more than this share of the range (a range calibrated on
#: other inputs, a little short for these).
SHORT_RANGE = 0.05
_LOW_FLOATS = {np.dtype(np.float16): "float16"}


@dataclass
class Rounding:
    """How a node of the candidate rounds: its format, and for a dequantization its scale."""

    format: str  # "int8", "uint8", "int32"… for a dequantization; "int8" for an int8 op; "float16"
    scale: np.ndarray | None = None  # a dequantization's, broadcast to its output
    zero_point: np.ndarray | None = None
    #: the share of its elements past rounding, once judged
    beyond: float = math.nan

    def judge(self, reference: np.ndarray, local: np.ndarray) -> tuple[bool, float]:
        """Whether ``local`` (the node's output on the reference's inputs) is within the format,
        and the share of its elements that are not (for a dequantization; else 0 or 1)."""
        metrics = error_metrics(reference, local)
        if metrics["shape_mismatch"] or metrics["nonfinite_mismatch"]:
            return False, 1.0
        if self.scale is None:
            ok = metrics["rel_l2"] <= FORMAT_REL_L2.get(self.format, FORMAT_REL_L2["int8"])
            return ok, 0.0 if ok else 1.0
        ref = np.asarray(reference, dtype=np.float64)
        out = np.asarray(local, dtype=np.float64)
        error = np.abs(out - ref)
        bound = 0.5 * self.scale * (1 + 1e-3) + 1e-6 * np.abs(ref)
        past = error > bound
        beyond = float(np.mean(past)) if error.size else 0.0
        if not beyond:
            return True, beyond
        # Only clipping puts an element past half a step: the reference lies outside the range,
        # and the element sits at the range's end (its channel's largest or smallest value). One
        # inside the range, or whose reference lies inside it, was changed: not the format's doing.
        channels = tuple(i for i in range(out.ndim) if np.ndim(self.scale) == 0 or np.shape(self.scale)[i] == 1)
        top, bottom = out.max(axis=channels, keepdims=True), out.min(axis=channels, keepdims=True)
        clipped = ((out >= top) & (ref > out)) | ((out <= bottom) & (ref < out))
        if np.any(past & ~clipped):
            return False, beyond
        # a range calibrated a little short clips a few values by a little: still the format's
        span = self.scale * _levels(self.zero_point)
        return beyond <= CLIPPED or bool(np.all(error - bound <= SHORT_RANGE * span)), beyond

    def describe(self) -> str:
        """The format in words: ``uint8, scale 0.0213, zero point 0``."""
        if self.scale is None:
            return f"computes in {self.format}"
        return f"{self.format}, scale {_summary(self.scale)}, zero point {_summary(self.zero_point)}"


def rounding(run: Debugger, node_id: str, suspects: Sequence[str], reference: Any) -> Rounding | None:
    """How node ``node_id`` of ``run`` rounds (None: it does not; tolerances judge it).
    ``suspects`` are the nodes feeding it through values the reference lacks (inside the
    rewrite it ends); ``reference`` is the reference's value for its output."""
    model = run.model
    node = model.node(node_id)
    output = next((o for o in node.output if o), None)
    if output is None:
        return None
    value = run.tensor(output)
    if not isinstance(value, np.ndarray):
        return None
    if node.op_type == "DequantizeLinear" and node.domain in ("", "ai.onnx", "com.microsoft"):
        return _dequantization(run, node, value)
    if any(model.node(s).op_type in INTEGER_OPS for s in suspects):
        return Rounding("int8")
    ref_dtype = getattr(reference, "dtype", None)
    if value.dtype in _LOW_FLOATS and ref_dtype is not None and np.dtype(ref_dtype).itemsize > value.dtype.itemsize:
        return Rounding(_LOW_FLOATS[value.dtype])
    if str(value.dtype) == "bfloat16" and ref_dtype is not None and np.dtype(ref_dtype).itemsize > 2:
        return Rounding("bfloat16")
    return None


def stored_within(reference: Any, value: Any) -> bool:
    """Whether ``value`` is ``reference`` stored in a narrower float type (a weight converted to
    float16), as close as that format holds it."""
    if not (isinstance(reference, np.ndarray) and isinstance(value, np.ndarray)):
        return False
    fmt = _LOW_FLOATS.get(value.dtype) or ("bfloat16" if str(value.dtype) == "bfloat16" else None)
    if fmt is None or reference.dtype.itemsize <= value.dtype.itemsize:
        return False
    return Rounding(fmt).judge(reference, value)[0]


def _dequantization(run: Debugger, node: Any, value: np.ndarray) -> Rounding:
    quantized = np.asarray(run.tensor(node.input[0]))
    scale = np.asarray(run.tensor(node.input[1]), dtype=np.float64)
    zero = (np.asarray(run.tensor(node.input[2])) if len(node.input) > 2 and node.input[2]
            else np.zeros((), quantized.dtype))
    attrs = {a.name: a.i for a in node.attribute}
    fmt = str(quantized.dtype)
    if attrs.get("block_size"):  # blocked scales: judged as an int8 op
        return Rounding("int8")
    if scale.ndim == 1 and scale.size > 1:
        axis = attrs.get("axis", 1) % value.ndim
        shape = [1] * value.ndim
        shape[axis] = scale.size
        return Rounding(fmt, scale.reshape(shape), zero)
    return Rounding(fmt, scale.reshape(()), zero)


def _levels(zero_point: np.ndarray | None) -> float:
    """How many steps the quantized type spans (255 for int8 and uint8), at most 255: an int32
    bias spans 2**32 steps but uses a few."""
    dtype = np.asarray(zero_point).dtype if zero_point is not None else np.dtype(np.int8)
    if dtype.kind not in "iu":
        return 255.0
    info = np.iinfo(dtype)
    return min(255.0, float(info.max) - float(info.min))


def _summary(values: np.ndarray | None) -> str:
    """One number, or the range of a per-axis array."""
    if values is None:
        return "0"
    flat = np.asarray(values, dtype=np.float64).reshape(-1)
    if flat.size == 1 or np.all(flat == flat[0]):
        return f"{flat[0]:.3g}"
    return f"{flat.min():.3g}…{flat.max():.3g} (per axis)"


def sqnr_db(rel_l2: float) -> float:
    """Signal-to-quantization-noise ratio in dB from a relative L2 error: ``-20·log10(rel_l2)``."""
    if rel_l2 != rel_l2:  # NaN
        return math.nan
    return math.inf if rel_l2 == 0 else -20 * math.log10(rel_l2)
