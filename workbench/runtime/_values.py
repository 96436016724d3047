"""Values as the ONNX spec defines them: tensors of every element type, sequences, maps, optionals.

One representation everywhere a value is captured, compared, stored or shown:

- a tensor is a ``numpy.ndarray`` whose dtype is the one the model declares; the element
  types numpy lacks (bfloat16, the float8 kinds, float4e2m1, int4/uint4, int2/uint2) are the
  ``ml_dtypes`` types, as onnx itself uses them (one element per byte);
- a sequence is a ``list`` of values, a map a ``dict``, an optional ``None`` when empty and
  its value otherwise.

onnxruntime's Python API cannot hand most of those element types to numpy (float8e4m3fn
comes back as its ``uint8`` bits, the others raise), nor take them in: here they cross as
OrtValues whose bytes are copied, packed and unpacked by bit width.
"""

from __future__ import annotations

import ctypes
import math
import pickle
from typing import Any, Iterator, Mapping, Sequence, Union

import numpy as np
import onnx
from onnx import TensorProto, helper

from ..errors import InputError
from ..model.internal import SUB_BYTE_BITS, tensor_dtype

#: A value of any type ONNX defines (see the module's docstring).
Value = Union[np.ndarray, list, dict, None]



def _element_dtypes() -> dict[int, np.dtype]:
    """``{onnx element type: numpy dtype}`` of every tensor element type but strings."""
    found = {}
    for code in TensorProto.DataType.values():
        try:
            dtype = np.dtype(helper.tensor_dtype_to_np_dtype(code))
        except (KeyError, TypeError, ValueError):  # UNDEFINED
            continue
        if dtype.kind != "O":  # STRING's object type: no fixed size
            found[code] = dtype
    return found


_ELEMENT_DTYPES = _element_dtypes()
#: ``{onnx element type: ml_dtypes dtype}`` for the types numpy has not.
SPECIAL = {code: dtype for code, dtype in _ELEMENT_DTYPES.items() if dtype.type.__module__.startswith("ml_dtypes")}
#: onnxruntime's type strings for them (``"tensor(float8e4m3fn)"``): ``{string: onnx element type}``.
_ORT_SPECIAL = {f"tensor({TensorProto.DataType.Name(code).lower()})": code for code in SPECIAL}
#: Bytes per element of a captured tensor, by onnxruntime's type string (``"tensor(float)"``: 4).
_ORT_ITEMSIZES = {f"tensor({TensorProto.DataType.Name(code).lower()})": dtype.itemsize
                  for code, dtype in _ELEMENT_DTYPES.items()}


_SPECIAL_DTYPES = frozenset(np.dtype(d) for d in SPECIAL.values())


def is_special(dtype: np.dtype) -> bool:
    """True for an ml_dtypes element type (one onnxruntime's Python API cannot take or give)."""
    return dtype in _SPECIAL_DTYPES


def element_type(dtype: np.dtype) -> int:
    """The ONNX element type of a numpy (or ml_dtypes) dtype."""
    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def dtype_name(dtype: np.dtype) -> str:
    """A dtype as the model's tables name it (``float32``, ``float8e4m3fn``, ``string``), not as
    ml_dtypes spells it (``float8_e4m3fn``)."""
    try:
        return tensor_dtype(element_type(dtype))
    except (KeyError, TypeError, ValueError):
        return str(dtype)


# ---- what a value is -------------------------------------------------------------------------


def type_proto(value: Value, shaped: bool = True) -> onnx.TypeProto:
    """The ONNX type of ``value`` (a tensor's shape too, when ``shaped``; a sequence's or
    map's tensors are typed without one, since theirs may differ). Raises TypeError for what a
    value cannot tell: an empty sequence's element type, an empty optional's type."""
    if isinstance(value, list):
        if not value:
            raise TypeError("an empty sequence has no element type to tell")  # internal: typed() catches it
        return helper.make_sequence_type_proto(type_proto(value[0], shaped=False))
    if isinstance(value, dict):
        key = next(iter(value), None)
        if key is None:
            raise TypeError("an empty map has no key type to tell")  # internal: typed() catches it
        return helper.make_map_type_proto(element_type(np.asarray(key).dtype), type_proto(value[key], shaped=False))
    if value is None:
        raise TypeError("an empty optional has no type to tell")  # internal: typed() catches it
    array = np.asarray(value)
    return helper.make_tensor_type_proto(element_type(array.dtype), list(array.shape) if shaped else None)


def typed(values: Mapping[str, Value], declared: Mapping[str, onnx.TypeProto]) -> list[tuple[str, onnx.TypeProto]]:
    """``(name, type)`` of each value, for a model that takes them as inputs: the value's own
    type, else (an empty sequence or optional) the ``declared`` one."""
    found = []
    for name, value in values.items():
        try:
            found.append((name, type_proto(value)))
        except TypeError as exc:
            if name not in declared:
                raise InputError(f"{name!r} is {describe(value)}, and {exc}: the model declares no type for it "
                                 "either. Give the value a declared type in the model (graph.value_info), or "
                                 "a non-empty value.") from None
            found.append((name, declared[name]))
    return found


def describe(value: Value) -> str:
    """A short type and shape: ``float32[2, 3]``, ``seq(3 × float32)``, ``map(int64 → float32, 2)``,
    ``empty optional``."""
    if value is None:
        return "empty optional"
    if isinstance(value, list):
        kinds = list(dict.fromkeys(describe_dtype(v) for v in value))
        return f"seq({len(value)} × {kinds[0] if len(kinds) == 1 else ' | '.join(kinds)})" if value else "seq(empty)"
    if isinstance(value, dict):
        first = next(iter(value.items()), None)
        if first is None:
            return "map(empty)"
        return f"map({dtype_name(np.asarray(first[0]).dtype)} → {describe_dtype(first[1])}, {len(value)})"
    array = np.asarray(value)
    return f"{dtype_name(array.dtype)}{list(array.shape)}"


def describe_dtype(value: Value) -> str:
    """The dtype of a tensor, or the :func:`describe` of anything else."""
    return dtype_name(value.dtype) if isinstance(value, np.ndarray) else describe(value)


def tensors(value: Value, label: str = "") -> Iterator[tuple[str, np.ndarray]]:
    """Every tensor inside ``value`` with where it sits: ``("", t)`` for a tensor,
    ``("[1]", t)`` for a sequence's second element, ``("[key]", t)`` in a map."""
    if value is None:
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            yield from tensors(item, f"{label}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from tensors(item, f"{label}[{key!r}]")
    else:
        yield label, np.asarray(value)


def nbytes(value: Value) -> int:
    """Bytes held by the tensors inside ``value``."""
    if isinstance(value, np.ndarray):  # nearly every value: no walk
        return value.nbytes
    return sum(t.nbytes for _, t in tensors(value))


def as_value(value: Any) -> Value:
    """A user's or a framework's value in the representation above: lists stay lists, dicts
    dicts, None None; anything else becomes an array."""
    if value is None or isinstance(value, (list, dict)):
        return value
    if isinstance(value, tuple):
        return [as_value(v) for v in value]
    return np.asarray(value)


def same_structure(a: Value, b: Value) -> str | None:
    """How two values differ in kind or length, in words; None when their structure agrees."""
    if (a is None) != (b is None):
        return "one side is an empty optional"
    if isinstance(a, list) != isinstance(b, list) or isinstance(a, dict) != isinstance(b, dict):
        return f"{describe(a)} vs {describe(b)}"
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"sequence length differs: {len(a)} vs {len(b)}"
        return next((f"item [{k!r}]: {inner}" for k in range(len(a)) if (inner := same_structure(a[k], b[k]))), None)
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return f"map keys differ: {len(a)} vs {len(b)} keys, {len(set(a) ^ set(b))} not in both"
        return next((f"item [{k!r}]: {inner}" for k in a if (inner := same_structure(a[k], b[k]))), None)
    return None


def numeric(array: np.ndarray) -> np.ndarray:
    """``array`` in a numpy type that arithmetic works in: ml_dtypes floats as float32,
    their integers as int8/uint8; other arrays unchanged."""
    if not is_special(array.dtype):
        return array
    if np.dtype(array.dtype).name.startswith(("int", "uint")):
        return array.astype(np.int8 if array.dtype.name.startswith("int") else np.uint8)
    return array.astype(np.float32)


# ---- onnxruntime: in and out -----------------------------------------------------------------


def to_ort(value: Value) -> Any:
    """What onnxruntime's ``run`` takes for ``value``: an OrtValue for tensors (numpy types are
    wrapped without a copy; ml_dtypes types are packed into one), the value itself otherwise
    (sequences as lists, maps as dicts, empty optionals as None, strings as arrays)."""
    import onnxruntime as ort

    if value is None or isinstance(value, (list, dict)):
        return value
    array = np.asarray(value, order="C")
    if array.dtype.kind in "OUS":
        return array
    if not is_special(array.dtype):
        return ort.OrtValue.ortvalue_from_numpy(array)
    code = element_type(array.dtype)
    packed = _pack(array, SUB_BYTE_BITS.get(code, 0))
    ort_value = ort.OrtValue.ortvalue_from_shape_and_type(list(array.shape), code)
    ctypes.memmove(ort_value.data_ptr(), packed.ctypes.data, packed.nbytes)
    return ort_value


def output_types(outputs: Sequence[Any]) -> dict[str, str]:
    """onnxruntime's type string (``"tensor(float)"``, ``"seq(…)"``) of each of a session's
    ``outputs`` (``session.get_outputs()``)."""
    return {o.name: o.type for o in outputs}


def output_sizes(outputs: Sequence[Any]) -> dict[str, float]:
    """Bytes of each tensor of a session's ``outputs`` (``session.get_outputs()``) whose shape
    onnxruntime inferred in full when it loaded the model (every one, in a model whose input shapes
    are concrete and whose shapes do not depend on values): what it will take once captured."""
    sizes = {}
    for output in outputs:
        itemsize = _ORT_ITEMSIZES.get(output.type)
        shape = output.shape
        if itemsize and shape is not None and all(isinstance(d, int) and d >= 0 for d in shape):
            sizes[output.name] = float(math.prod(shape) * itemsize)
    return sizes


def run_session(session: Any, names: list[str], feeds: dict[str, Value],
                types: Mapping[str, str] | None = None) -> list[Value]:
    """``session.run(names, feeds)`` for values of every type (see the module's docstring).

    Outputs of an ml_dtypes element type come through OrtValues, read byte by byte; when
    outputs of other kinds (sequences, maps, optionals) are asked for beside them, those take
    a second, ordinary run. ``types`` are :func:`output_types` (pass them for repeated runs).
    """
    types = output_types(session.get_outputs()) if types is None else types
    special = [n for n in names if types.get(n) in _ORT_SPECIAL]
    inputs = {k: to_ort(v) for k, v in feeds.items()}
    if not special:
        return [from_ort(v) for v in session.run(names, inputs)]
    tensors_ = [n for n in names if types.get(n, "").startswith("tensor(")]
    others = [n for n in names if n not in tensors_]
    got: dict[str, Value] = {}
    for name, ort_value in zip(tensors_, session.run_with_ort_values(tensors_, inputs)):
        code = _ORT_SPECIAL.get(types[name])
        got[name] = ort_value.numpy() if code is None else _read_bytes(ort_value, code)
    if others:
        got.update(zip(others, (from_ort(v) for v in session.run(others, inputs))))
    return [got[n] for n in names]


def from_ort(value: Any) -> Value:
    """onnxruntime's plain output in the representation above (lists of arrays stay lists)."""
    if value is None or isinstance(value, dict):
        return value
    if isinstance(value, list):
        return [from_ort(v) for v in value]
    return np.asarray(value)


def _read_bytes(ort_value: Any, code: int) -> np.ndarray:
    """A tensor OrtValue of an ml_dtypes type, copied out of its buffer."""
    shape = tuple(ort_value.shape())
    raw = np.frombuffer(ctypes.string_at(ort_value.data_ptr(), ort_value.tensor_size_in_bytes()), np.uint8)
    dtype = SPECIAL[code]
    bits = SUB_BYTE_BITS.get(code, 0)
    if bits:
        return _unpack(raw, bits, math.prod(shape)).view(dtype).reshape(shape)
    return raw.view(dtype).reshape(shape).copy()


def _pack(array: np.ndarray, bits: int) -> np.ndarray:
    """The bytes onnxruntime stores: sub-byte elements packed low bits first."""
    flat = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
    if not bits:
        return flat
    per_byte = 8 // bits
    padded = np.zeros(-(-flat.size // per_byte) * per_byte, np.uint8)
    padded[: flat.size] = flat & ((1 << bits) - 1)
    lanes = padded.reshape(-1, per_byte).astype(np.uint16) << (np.arange(per_byte, dtype=np.uint16) * bits)
    return np.bitwise_or.reduce(lanes, axis=1).astype(np.uint8)


def _unpack(raw: np.ndarray, bits: int, count: int) -> np.ndarray:
    """One byte per element from packed ``raw``, sign bits left to the ml_dtypes view."""
    per_byte = 8 // bits
    shifts = np.arange(per_byte, dtype=np.uint8) * bits
    return ((raw[:, None] >> shifts) & ((1 << bits) - 1)).astype(np.uint8).reshape(-1)[:count]


# ---- the reference evaluator ------------------------------------------------------------------


def from_reference(value: Any, declared: onnx.TypeProto | None) -> Value:
    """The reference evaluator's value in the representation above.

    The evaluator keeps an optional as a one-item list (``[x]``, ``[None]``), and passes that
    list on through OptionalGetElement: with the declared type, the item is taken out.
    """
    if declared is None:
        return from_ort(value)
    kind = declared.WhichOneof("value")
    if kind == "optional_type":
        if isinstance(value, list) and len(value) == 1 and \
                declared.optional_type.elem_type.WhichOneof("value") != "sequence_type":
            value = value[0]
        return None if value is None else from_reference(value, declared.optional_type.elem_type)
    if kind == "tensor_type" and isinstance(value, list) and len(value) == 1:
        return np.asarray(value[0])
    if kind == "sequence_type" and isinstance(value, list):
        return [from_reference(v, declared.sequence_type.elem_type) for v in value]
    return from_ort(value)


# ---- files (the isolated worker) ----------------------------------------------------------


def save(path: str, value: Value) -> None:
    """Writes ``value`` to ``path``: a plain array as ``.npy`` (memory-mappable), anything else
    pickled (lists, maps, optionals, ml_dtypes arrays, strings)."""
    if isinstance(value, np.ndarray) and value.dtype.kind not in "OV" and not is_special(value.dtype):
        np.save(path, value, allow_pickle=False)
        return
    with open(path, "wb") as file:
        file.write(b"PICKLE")
        pickle.dump(value, file, protocol=pickle.HIGHEST_PROTOCOL)


def load(path: str, mmap: bool = False) -> Value:
    """Reads what :func:`save` wrote, memory-mapped with ``mmap`` where it can be (our own
    files only: pickles are loaded)."""
    with open(path, "rb") as file:
        if file.read(6) == b"PICKLE":
            return pickle.load(file)  # noqa: S301 - written by this process or its worker, in a private folder
    return np.load(path, mmap_mode="r" if mmap else None)
