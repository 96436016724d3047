"""Reading initializers — inline or external — and their statistics, without loading more than needed.

External tensors are memory-mapped, and statistics are computed in chunks, so the
peak memory for a statistic is one chunk, not the tensor (nor the model).
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from ..errors import ExternalDataError, TensorDataError
from ._load import resolve_external

_CHUNK = 1 << 22  # elements per chunk when computing statistics


#: The element types whose numpy name differs from ONNX's (``FLOAT`` is numpy's ``float32``).
_NUMPY_NAMES: dict[int, str] = {onnx.TensorProto.FLOAT: "float32", onnx.TensorProto.DOUBLE: "float64"}
#: Element types stored with fewer bits than a byte (packed, low bits first): bits per element.
SUB_BYTE_BITS = {getattr(onnx.TensorProto, name): bits
                  for name, bits in (("INT4", 4), ("UINT4", 4), ("FLOAT4E2M1", 4), ("INT2", 2), ("UINT2", 2))
                  if hasattr(onnx.TensorProto, name)}


@lru_cache(maxsize=None)
def tensor_dtype(elem_type: int) -> str:
    """The name of an ONNX element type as tables, cards and the view show it: numpy's name where
    numpy has the type (``float32``, ``float64``, ``int64``, ``bool``, ``complex64``), ONNX's own
    in lower case for the rest (``bfloat16``, ``float8e4m3fn``, ``int4``, ``float4e2m1``, ``string``).

    Not ``str(numpy dtype)``: that spells onnx's ml_dtypes types their own way
    (``float8_e4m3fn``, ``float4_e2m1fn``) and strings as ``object``.
    """
    if elem_type in _NUMPY_NAMES:
        return _NUMPY_NAMES[elem_type]
    try:
        return onnx.TensorProto.DataType.Name(elem_type).lower()
    except ValueError:  # a type newer than the installed onnx
        return f"element type {elem_type}"


def type_name(type_proto: onnx.TypeProto, shapes: bool = False) -> str:
    """The name of any ONNX type: a tensor's element type (:func:`tensor_dtype`), and around it
    ``seq(...)``, ``optional(...)``, ``map(key,value)`` or ``sparse(...)``; ``""`` when untyped.
    With ``shapes``, a tensor's declared shape follows its type (``float32[batch, ?, 3]``)."""
    kind = type_proto.WhichOneof("value")
    if kind == "tensor_type":
        tensor = type_proto.tensor_type
        if not shapes or not tensor.HasField("shape"):
            return tensor_dtype(tensor.elem_type)
        dims = [str(d.dim_value) if d.HasField("dim_value") else (d.dim_param or "?") for d in tensor.shape.dim]
        return f"{tensor_dtype(tensor.elem_type)}[{', '.join(dims)}]"
    if kind == "sparse_tensor_type":
        return f"sparse({tensor_dtype(type_proto.sparse_tensor_type.elem_type)})"
    if kind == "sequence_type":
        return f"seq({type_name(type_proto.sequence_type.elem_type, shapes)})"
    if kind == "optional_type":
        return f"optional({type_name(type_proto.optional_type.elem_type, shapes)})"
    if kind == "map_type":
        return f"map({tensor_dtype(type_proto.map_type.key_type)},{type_name(type_proto.map_type.value_type, shapes)})"
    return ""


def tensor_nbytes(tensor: onnx.TensorProto) -> int:
    """Bytes of a tensor's data, from its dims and type (no data read)."""
    count = int(np.prod(tensor.dims, dtype=np.int64)) if tensor.dims else 1
    if tensor.data_type == onnx.TensorProto.STRING:
        return sum(len(s) for s in tensor.string_data)
    bits = SUB_BYTE_BITS.get(tensor.data_type)
    if bits:
        return (count * bits + 7) // 8
    try:
        itemsize = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type)).itemsize
    except (KeyError, TypeError, ValueError):
        return 0
    return count * itemsize


def read_tensor(tensor: onnx.TensorProto, base: Path | None, files: dict[Path, np.ndarray]) -> np.ndarray:
    """The tensor as a numpy array; external data is memory-mapped read-only, not loaded.

    ``files`` keeps each external file's mapping for the next tensor read from it (the
    caller's to hold: a model keeps the maps of its own files, see ``Model.weight``)."""
    if tensor.data_location != onnx.TensorProto.EXTERNAL:
        try:
            return numpy_helper.to_array(tensor)
        except (ValueError, TypeError) as exc:
            raise TensorDataError(
                f"Initializer {tensor.name!r} cannot be read as {tensor_dtype(tensor.data_type)}"
                f"{list(tensor.dims)}: {exc}. The model is corrupted: export it again.") from exc
    if base is None:
        raise ExternalDataError(f"Tensor {tensor.name!r} is stored externally, and the model was not opened from a "
                                "file: open it by its path, so that its external data can be found.")
    target, offset, _ = resolve_external(tensor, base)
    dtype = _numpy_dtype(tensor.data_type)
    shape = tuple(tensor.dims)
    count = math.prod(shape)
    if count == 0:
        return np.zeros(shape, dtype)
    if tensor.data_type in SUB_BYTE_BITS:  # packed in the file: no memory map gives one element per byte
        return _read_packed(tensor, target, offset, shape)
    try:
        if target not in files:
            files[target] = np.memmap(target, dtype=np.uint8, mode="r")
        size = count * dtype.itemsize
        if offset + size > len(files[target]):
            # internal: the except below words it as an ExternalDataError
            raise ValueError(f"the file holds {len(files[target]):,} bytes, fewer than the {offset + size:,} needed")
        return files[target][offset : offset + size].view(dtype).reshape(shape)
    except (ValueError, OSError) as exc:
        raise ExternalDataError(f"Tensor {tensor.name!r} ({tensor_dtype(tensor.data_type)}{list(shape)}) cannot be "
                                f"mapped from {target.name!r} at offset {offset:,}: {exc}. The external data file is "
                                "truncated or does not belong to this model: copy it again.") from exc


@lru_cache(maxsize=None)
def _numpy_dtype(data_type: int) -> np.dtype:
    return np.dtype(onnx.helper.tensor_dtype_to_np_dtype(data_type))


def _read_packed(tensor: onnx.TensorProto, target: Path, offset: int, shape: tuple) -> np.ndarray:
    """An external tensor of a sub-byte type, read and unpacked by onnx (one element per byte)."""
    size = tensor_nbytes(tensor)
    with target.open("rb") as file:
        file.seek(offset)
        raw = file.read(size)
    if len(raw) != size:
        raise ExternalDataError(f"Tensor {tensor.name!r} ({tensor_dtype(tensor.data_type)}{list(shape)}) needs "
                                f"{size:,} bytes of {target.name!r} at offset {offset:,}, which holds fewer: the "
                                "external data file is truncated or does not belong to this model: copy it again.")
    inline = onnx.helper.make_tensor(tensor.name, tensor.data_type, shape, raw, raw=True)
    return numpy_helper.to_array(inline)


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
