"""Model inputs: generating them from the model's specs, and checking the ones users give."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Iterator, Mapping

import numpy as np
import onnx

from ..errors import InputError
from ..model.internal import type_name
from ._capture import default_budget
from ._values import Value, is_special

if TYPE_CHECKING:
    from ..model import Model

#: Integer inputs that are not indices of a Gather get values below this.
_INT_RANGE = 10


def input_types(model: "Model") -> dict[str, onnx.TypeProto]:
    """``{name: type}`` of the graph inputs users feed (initializers excluded), of every kind:
    tensors, sequences, maps and optionals. An input with no type is left out: the runtime
    refuses the model for it, with the fix (see the bad-input corpus)."""
    graph = model.proto.graph
    initializers = {t.name for t in graph.initializer}
    return {i.name: i.type for i in graph.input if i.name not in initializers and i.type.WhichOneof("value")}


def input_specs(model: "Model") -> dict[str, tuple[np.dtype, tuple]]:
    """``{name: (numpy dtype, shape)}`` of the tensor inputs users feed; a symbolic dimension
    is its name, an unknown one None."""
    return {name: _tensor_spec(t.tensor_type) for name, t in input_types(model).items()
            if t.WhichOneof("value") == "tensor_type"}


def _tensor_spec(tensor: onnx.TypeProto.Tensor) -> tuple[np.dtype, tuple]:
    """(dtype, shape) of a tensor type; a tensor of unknown rank is taken as 1-D."""
    dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type))
    if not tensor.HasField("shape"):
        return dtype, (None,)
    return dtype, tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in tensor.shape.dim)


def _describe(types: Mapping[str, onnx.TypeProto]) -> str:
    return ", ".join(f"{n}: {type_name(t, shapes=True)}" for n, t in types.items()) or "no inputs"


def _index_bound(model: "Model", name: str) -> int:
    """The size of the table an integer input indexes (a Gather's data, a sequence), else a small range."""
    bounds = []
    for node in model.proto.graph.node:
        if node.op_type in ("SequenceAt", "SequenceErase") and len(node.input) > 1 and node.input[1] == name:
            bounds.append(_ITEMS)  # a position in a sequence input, which random_inputs makes this long
        if node.op_type == "Gather" and len(node.input) > 1 and node.input[1] == name:
            table = model.initializers.get(node.input[0])  # read its dims: no shape inference needed
            shape = tuple(table.dims) if table is not None else model.value_info(node.input[0])[1]
            axis = next((a.i for a in node.attribute if a.name == "axis"), 0)
            if shape and isinstance(shape[axis], int):
                bounds.append(shape[axis])
    return min(bounds) if bounds else _INT_RANGE


#: How many items a random sequence or map holds.
_ITEMS = 2


def random_inputs(model: "Model", *, dims: Mapping[str, int] | None = None, seed: int = 0) -> dict[str, Value]:
    """Random inputs that fit the model: normal floats, in-range indices, random booleans.

    Symbolic dimensions take their size from ``dims`` (e.g. ``{"batch": 1, "sequence": 128}``);
    any not given there are 1. Integer inputs that index a table (``input_ids`` into an
    embedding) stay below its size. A sequence input gets two tensors, a map two entries and
    an optional its value (see :mod:`workbench.runtime._values` for how each is held).
    """
    dims = dict(dims or {})
    rng = np.random.default_rng(seed)
    types = input_types(model)
    shapes: dict[str, list[tuple[np.dtype, tuple[int, ...]]]] = {}
    total, limit = 0, default_budget()  # a quarter of the machine's memory
    for name, type_ in types.items():
        shapes[name] = [(dtype, _concrete(name, shape, dims)) for dtype, shape in _tensor_specs(name, type_)]
        for dtype, concrete in shapes[name]:
            # float64 first, then cast: twice the bytes of the input itself, counted before allocating.
            total += math.prod(concrete) * max(dtype.itemsize, 8)
        if total > limit:
            dtype, concrete = shapes[name][0]
            raise InputError(f"input {name!r} is declared {dtype}[{', '.join(map(str, concrete))}]: random inputs of "
                             f"{total / 2**30:,.1f} GiB, over the {limit / 2**30:,.1f} GiB allowed (a quarter of "
                             "memory). Pass dims= with smaller sizes for symbolic dimensions, pass inputs yourself, "
                             "or fix the shape the model declares.")
    return {name: _random(type_, iter(shapes[name]), rng, _index_bound(model, name)) for name, type_ in types.items()}


def _tensor_specs(name: str, type_: onnx.TypeProto) -> list[tuple[np.dtype, tuple]]:
    """The (dtype, declared shape) of each tensor a random value of ``type_`` holds, in order."""
    kind = type_.WhichOneof("value")
    if kind == "tensor_type":
        return [_tensor_spec(type_.tensor_type)]
    if kind == "sequence_type":
        return _tensor_specs(name, type_.sequence_type.elem_type) * _ITEMS
    if kind == "optional_type":
        return _tensor_specs(name, type_.optional_type.elem_type)
    if kind == "map_type":
        return _tensor_specs(name, type_.map_type.value_type) * _ITEMS
    raise InputError(f"input {name!r} has no type the workbench can make values of ({kind or 'none'}): pass "
                     "inputs yourself, or give the input a tensor, sequence, map or optional type.")


def _concrete(name: str, shape: tuple, dims: Mapping[str, int]) -> tuple[int, ...]:
    concrete = tuple(d if isinstance(d, int) else int(dims.get(d, 1)) if d else 1 for d in shape)
    if any(d < 0 for d in concrete):
        raise InputError(f"input {name!r} is declared with a negative dimension {list(shape)}, so no input can "
                         "fit it. Fix the model's input shape (onnx.tools.update_model_dims), or pass dims= "
                         "for its symbolic dimensions.")
    return concrete


def _random(type_: onnx.TypeProto, shapes: Iterator[tuple[np.dtype, tuple[int, ...]]], rng: np.random.Generator,
            bound: int) -> Value:
    """A random value of ``type_``, its tensors' shapes taken in order from ``shapes``."""
    kind = type_.WhichOneof("value")
    if kind == "sequence_type":
        return [_random(type_.sequence_type.elem_type, shapes, rng, bound) for _ in range(_ITEMS)]
    if kind == "optional_type":
        return _random(type_.optional_type.elem_type, shapes, rng, bound)
    if kind == "map_type":
        key = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(type_.map_type.key_type))
        keys = [f"key{i}" for i in range(_ITEMS)] if key.kind in "OUS" else [key.type(i) for i in range(_ITEMS)]
        return {k: _random(type_.map_type.value_type, shapes, rng, bound) for k in keys}
    dtype, concrete = next(shapes)
    if dtype == np.bool_:
        return rng.random(concrete) < 0.5
    if np.issubdtype(dtype, np.integer):
        return rng.integers(0, bound, concrete).astype(dtype)
    if dtype.kind in "OUS":
        return np.array([f"s{i}" for i in range(math.prod(concrete))], dtype=object).reshape(concrete)
    return rng.standard_normal(concrete).astype(dtype)


def make_feeds(model: "Model", inputs: Mapping[str, Any] | None = None, *, dims: Mapping[str, int] | None = None,
               seed: int = 0) -> dict[str, Value]:
    """``inputs`` checked against ``model`` (:func:`check_inputs`), or, when None, random inputs
    that fit it (:func:`random_inputs`)."""
    return check_inputs(model, random_inputs(model, dims=dims, seed=seed) if inputs is None else inputs)


def check_inputs(model: "Model", inputs: Mapping[str, Any]) -> dict[str, Value]:
    """The inputs checked against the model: names, kinds (tensor, sequence, map, optional),
    dtypes, ranks, static dims. Tensors become numpy arrays, sequences lists.

    Raises :class:`InputError` naming the problem and listing what the model expects.
    """
    types = input_types(model)
    expected = _describe(types)
    unknown = sorted(set(inputs) - set(types))
    missing = sorted(set(types) - set(inputs))
    if unknown or missing:
        parts = ([f"unknown input(s) {unknown}"] if unknown else []) + ([f"missing {missing}"] if missing else [])
        raise InputError(f"{'; '.join(parts)}. The model expects {expected}. "
                         "wb.random_inputs(model) makes a set that fits.")
    return {name: _checked(name, inputs[name], type_, expected) for name, type_ in types.items()}


def _checked(name: str, value: Any, type_: onnx.TypeProto, expected: str) -> Value:
    """``value`` as the input ``name`` of type ``type_`` takes it, or an InputError."""
    kind = type_.WhichOneof("value")
    if kind == "optional_type":
        return None if value is None else _checked(name, value, type_.optional_type.elem_type, expected)
    if kind == "sequence_type":
        if not isinstance(value, (list, tuple)):
            raise InputError(f"input {name!r} is a sequence ({type_name(type_, shapes=True)}): give a list of "
                             f"arrays, not a {type(value).__name__}. The model expects {expected}.")
        return [_checked(f"{name}[{i}]", v, type_.sequence_type.elem_type, expected) for i, v in enumerate(value)]
    if kind == "map_type":
        if not isinstance(value, Mapping):
            raise InputError(f"input {name!r} is a map ({type_name(type_, shapes=True)}): give a dict, not a "
                             f"{type(value).__name__}. The model expects {expected}.")
        return {k: _checked(f"{name}[{k!r}]", v, type_.map_type.value_type, expected) for k, v in value.items()}
    if kind != "tensor_type":
        raise InputError(f"input {name!r} has no type the workbench can check ({kind or 'none'}). Give the input "
                         "a tensor, sequence, map or optional type in the model.")
    if value is None or isinstance(value, Mapping):
        raise InputError(f"input {name!r} is a tensor ({type_name(type_, shapes=True)}), not a {type(value).__name__}. "
                         f"The model expects {expected}.")
    dtype, shape = _tensor_spec(type_.tensor_type)
    array = np.asarray(value)
    if array.dtype != dtype:
        raise InputError(f"input {name!r} is {array.dtype}, the model expects {dtype} "
                         f"(convert it with .astype({_astype(dtype)})). The model expects {expected}.")
    if type_.tensor_type.HasField("shape") and array.ndim != len(shape):
        raise InputError(f"input {name!r} has shape {array.shape} (rank {array.ndim}), the model expects "
                         f"rank {len(shape)}. The model expects {expected}.")
    for axis, (want, got) in enumerate(zip(shape, array.shape)):
        if isinstance(want, int) and want != got:
            raise InputError(f"input {name!r} has shape {array.shape}; axis {axis} must be {want}. "
                             f"The model expects {expected}.")
    return array


def _astype(dtype: np.dtype) -> str:
    """How to name ``dtype`` in an ``.astype(...)``: ``np.float32``, ``ml_dtypes.float8_e4m3fn``."""
    return f"ml_dtypes.{dtype.name}" if is_special(dtype) else f"np.{dtype.name}"
