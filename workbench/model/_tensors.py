"""Reading initializers — inline or external — and their statistics, without loading more than needed.

External tensors are memory-mapped, and statistics are computed in chunks, so the
peak memory for a statistic is one chunk, not the tensor (nor the model).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from ..errors import ExternalDataError, TensorDataError
from ._load import resolve_external

_CHUNK = 1 << 22  # elements per chunk when computing statistics


@lru_cache(maxsize=None)
def tensor_dtype(elem_type: int) -> str:
    """A numpy-style dtype name for an ONNX element type (``float32``, ``int64``, ``bfloat16``…)."""
    try:
        return str(np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem_type)))
    except (KeyError, TypeError, ValueError):
        return onnx.TensorProto.DataType.Name(elem_type).lower() if elem_type else "undefined"


def tensor_nbytes(tensor: onnx.TensorProto) -> int:
    """Bytes of a tensor's data, from its dims and type (no data read)."""
    count = int(np.prod(tensor.dims, dtype=np.int64)) if tensor.dims else 1
    if tensor.data_type == onnx.TensorProto.STRING:
        return sum(len(s) for s in tensor.string_data)
    try:
        itemsize = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type)).itemsize
    except (KeyError, TypeError, ValueError):
        return 0
    bits = {onnx.TensorProto.INT4: 4, onnx.TensorProto.UINT4: 4}.get(tensor.data_type)
    return (count * bits + 7) // 8 if bits else count * itemsize


def read_tensor(tensor: onnx.TensorProto, base: Path | None) -> np.ndarray:
    """The tensor as a numpy array; external data is memory-mapped read-only, not loaded."""
    if tensor.data_location != onnx.TensorProto.EXTERNAL:
        try:
            return numpy_helper.to_array(tensor)
        except (ValueError, TypeError) as exc:
            raise TensorDataError(
                f"Initializer {tensor.name!r} cannot be read as {tensor_dtype(tensor.data_type)}"
                f"{list(tensor.dims)}: {exc}. The model is corrupted: export it again.") from exc
    if base is None:
        raise ValueError(f"Tensor {tensor.name!r} is stored externally, and the model has no folder.")
    target, offset, _ = resolve_external(tensor, base)
    dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type))
    shape = tuple(tensor.dims)
    if int(np.prod(shape, dtype=np.int64)) == 0:
        return np.zeros(shape, dtype)
    try:
        return np.memmap(target, dtype=dtype, mode="r", offset=offset, shape=shape)
    except (ValueError, OSError) as exc:
        raise ExternalDataError(f"Tensor {tensor.name!r} ({tensor_dtype(tensor.data_type)}{list(shape)}) cannot be "
                                f"mapped from {target.name!r} at offset {offset:,}: {exc}. The external data file is "
                                "truncated or does not belong to this model: copy it again.") from exc


def tensor_stats(array: np.ndarray) -> dict[str, float]:
    """min, max, mean, std, fraction of zeros and count of NaN/Inf, in chunks."""
    flat = array.reshape(-1)
    n = flat.size
    # kind "b": booleans (masks, conditions) count as 0/1; kind "V": ml_dtypes' bfloat16 / float8,
    # which convert to float64 like numbers do.
    if n == 0 or not (np.issubdtype(flat.dtype, np.number) or flat.dtype.kind in "bV"):
        return {}
    lo, hi, total, total_sq, zeros, nonfinite = np.inf, -np.inf, 0.0, 0.0, 0, 0
    for start in range(0, n, _CHUNK):
        chunk = np.asarray(flat[start:start + _CHUNK]).astype(np.float64)
        finite = np.isfinite(chunk)
        nonfinite += int(chunk.size - finite.sum())
        good = chunk[finite] if nonfinite else chunk
        if good.size:
            lo, hi = min(lo, float(good.min())), max(hi, float(good.max()))
            total += float(good.sum())
            total_sq += float(np.square(good).sum())
        zeros += int((chunk == 0).sum())
    count = n - nonfinite
    mean = total / count if count else float("nan")
    var = max(total_sq / count - mean * mean, 0.0) if count else float("nan")
    return {
        "min": lo if count else float("nan"),
        "max": hi if count else float("nan"),
        "mean": mean,
        "std": float(np.sqrt(var)),
        "zeros": zeros / n,
        "nonfinite": nonfinite,
    }
