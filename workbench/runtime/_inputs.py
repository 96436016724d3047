"""Model inputs: generating them from the model's specs, and checking the ones users give."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np
import onnx

from ..errors import InputError
from ._capture import default_budget

if TYPE_CHECKING:
    from ..model import Model

#: Integer inputs that are not indices of a Gather get values below this.
_INT_RANGE = 10


def input_specs(model: "Model") -> dict[str, tuple[np.dtype, tuple]]:
    """``{name: (numpy dtype, shape)}`` of the graph inputs users feed (initializers excluded)."""
    graph = model.proto.graph
    initializers = {t.name for t in graph.initializer}
    specs = {}
    for info in graph.input:
        if info.name in initializers or not info.type.HasField("tensor_type"):
            continue
        tensor = info.type.tensor_type
        dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type))
        shape = tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in tensor.shape.dim)
        specs[info.name] = (dtype, shape)
    return specs


def _describe(specs: Mapping[str, tuple[np.dtype, tuple]]) -> str:
    return ", ".join(f"{n}: {d}[{', '.join('?' if s is None else str(s) for s in shape)}]"
                     for n, (d, shape) in specs.items())


def _index_bound(model: "Model", name: str) -> int:
    """The size of the table an integer input indexes (a Gather's data), else a small range."""
    bounds = []
    for node in model.proto.graph.node:
        if node.op_type == "Gather" and len(node.input) > 1 and node.input[1] == name:
            table = model._initializers.get(node.input[0])  # read its dims: no shape inference needed
            shape = tuple(table.dims) if table is not None else model.value_info(node.input[0])[1]
            axis = next((a.i for a in node.attribute if a.name == "axis"), 0)
            if shape and isinstance(shape[axis], int):
                bounds.append(shape[axis])
    return min(bounds) if bounds else _INT_RANGE


def random_inputs(model: "Model", *, dims: Mapping[str, int] | None = None, seed: int = 0) -> dict[str, np.ndarray]:
    """Random inputs that fit the model: normal floats, in-range indices, random booleans.

    Symbolic dimensions take their size from ``dims`` (e.g. ``{"batch": 1, "sequence": 128}``);
    any not given there are 1. Integer inputs that index a table (``input_ids`` into an
    embedding) stay below its size.
    """
    dims = dict(dims or {})
    rng = np.random.default_rng(seed)
    specs = input_specs(model)
    shapes: dict[str, tuple[int, ...]] = {}
    total, limit = 0, default_budget()  # a quarter of the machine's memory
    for name, (dtype, shape) in specs.items():
        concrete = shapes[name] = tuple(d if isinstance(d, int) else int(dims.get(d, 1)) if d else 1 for d in shape)
        if any(d < 0 for d in concrete):
            raise InputError(f"input {name!r} is declared with a negative dimension {list(shape)}, so no input can "
                             "fit it. Fix the model's input shape (onnx.tools.update_model_dims), or pass dims= "
                             "for its symbolic dimensions.")
        # float64 first, then cast: twice the bytes of the input itself, counted before allocating.
        total += math.prod(concrete) * max(dtype.itemsize, 8)
        if total > limit:
            raise InputError(f"input {name!r} is declared {dtype}[{', '.join(map(str, concrete))}]: random inputs of "
                             f"{total / 2**30:,.1f} GiB, over the {limit / 2**30:,.1f} GiB allowed (a quarter of "
                             "memory). Pass dims= with smaller sizes for symbolic dimensions, pass inputs yourself, "
                             "or fix the shape the model declares.")
    feeds = {}
    for name, (dtype, _) in specs.items():
        concrete = shapes[name]
        if dtype == np.bool_:
            feeds[name] = rng.random(concrete) < 0.5
        elif np.issubdtype(dtype, np.integer):
            feeds[name] = rng.integers(0, _index_bound(model, name), concrete).astype(dtype)
        else:
            feeds[name] = rng.standard_normal(concrete).astype(dtype)
    return feeds


def make_feeds(model: "Model", inputs: Mapping[str, Any] | None = None, *, dims: Mapping[str, int] | None = None,
               seed: int = 0) -> dict[str, np.ndarray]:
    """``inputs`` checked against ``model`` (:func:`check_inputs`), or, when None, random inputs
    that fit it (:func:`random_inputs`)."""
    return check_inputs(model, random_inputs(model, dims=dims, seed=seed) if inputs is None else inputs)


def check_inputs(model: "Model", inputs: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The inputs as numpy arrays, checked against the model: names, dtypes, ranks, static dims.

    Raises :class:`InputError` naming the problem and listing what the model expects.
    """
    specs = input_specs(model)
    expected = _describe(specs)
    unknown = sorted(set(inputs) - set(specs))
    missing = sorted(set(specs) - set(inputs))
    if unknown or missing:
        parts = ([f"unknown input(s) {unknown}"] if unknown else []) + ([f"missing {missing}"] if missing else [])
        raise InputError(f"{'; '.join(parts)}. The model expects {expected}. "
                         "wb.random_inputs(model) makes a set that fits.")
    feeds = {}
    for name, (dtype, shape) in specs.items():
        value = np.asarray(inputs[name])
        if value.dtype != dtype:
            raise InputError(f"input {name!r} is {value.dtype}, the model expects {dtype} "
                             f"(convert it with .astype(np.{dtype.name})). The model expects {expected}.")
        if shape and value.ndim != len(shape):
            raise InputError(f"input {name!r} has shape {value.shape} (rank {value.ndim}), the model expects "
                             f"rank {len(shape)}. The model expects {expected}.")
        for axis, (want, got) in enumerate(zip(shape, value.shape)):
            if isinstance(want, int) and want != got:
                raise InputError(f"input {name!r} has shape {value.shape}; axis {axis} must be {want}. "
                                 f"The model expects {expected}.")
        feeds[name] = value
    return feeds
