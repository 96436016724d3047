"""What the view's side panel shows for one node (``Details`` in ``docs/view-schema.md``)."""

from __future__ import annotations

import base64
import io
import math
import re
from typing import TYPE_CHECKING

import numpy as np
import onnx

from ..errors import TensorDataError, UsageError
from ..model.internal import attribute_values, format_attribute, node_cost, node_metadata, tensor_stats
from ._build import format_shape
from ._schema import operator_doc, opset_versions, roles, schema_of

if TYPE_CHECKING:
    from ..model import Model

STACK_TRACE_KEY = "pkg.torch.onnx.stack_trace"
#: Attribute values longer than this are cut (a 10,000-element ``ints`` is not readable).
_MAX_ATTRIBUTE_CHARS = 400
#: Weights above this many elements get no statistics in the panel (reading them is slow).
_MAX_STATS_ELEMENTS = 50_000_000


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def weight_stats(model: "Model", tensor: onnx.TensorProto) -> dict:
    """min, max, mean and std of one weight for the panel (JSON-ready: non-finite as None);
    empty for a weight too large to read quickly, or corrupted (Model.problems names it)."""
    if math.prod(tensor.dims) > _MAX_STATS_ELEMENTS:
        return {}
    try:
        stats = tensor_stats(model.weight(tensor.name))
    except TensorDataError:
        return {}
    return _stats_json(stats)


def _stats_json(stats: dict | None) -> dict:
    """min, max, mean and std from ``tensor_stats`` for the panel: non-finite as None; empty
    where there are none."""
    return {k: _finite(stats[k]) for k in ("min", "max", "mean", "std")} if stats else {}


def node_details(model: "Model", node_id: str, node: onnx.NodeProto, scope: str) -> dict:
    """The details of one node: attributes, typed inputs/outputs, cost, trace. Nothing is read:
    the view index adds each weight's statistics (:func:`weight_stats`) when it sends them."""
    values = attribute_values(node)
    attributes = []
    for attr in node.attribute:
        text = format_attribute(attr, values, node)
        if len(text) > _MAX_ATTRIBUTE_CHARS:
            text = text[: _MAX_ATTRIBUTE_CHARS - 1] + "…"
        attributes.append([attr.name, text])
    schema = schema_of(node, opset_versions(model))
    inputs = []
    for name, role in zip(node.input, roles(schema, len(node.input))):
        if not name:
            continue
        dtype, shape = model.value_info(name)
        entry: dict = {"name": name, "role": role, "dtype": dtype, "shape": format_shape(shape), "kind": "value"}
        tensor = model.initializers.get(name)
        if tensor is not None:
            entry["kind"] = "initializer"
        inputs.append(entry)
    outputs = []
    for name, role in zip(node.output, roles(schema, len(node.output), outputs=True)):
        dtype, shape = model.value_info(name)
        outputs.append({"name": name, "role": role, "dtype": dtype, "shape": format_shape(shape), "kind": "value"})
    shapes_in = [model.value_info(n)[1] if n else None for n in node.input]
    flops, _ = node_cost(node, shapes_in, [model.value_info(n)[1] for n in node.output], values)
    meta = node_metadata(node, (STACK_TRACE_KEY,))
    return {
        "id": node_id,
        "name": node.name,
        "op": node.op_type,
        "domain": node.domain or "ai.onnx",
        "scope": scope,
        "attributes": attributes,
        "inputs": inputs,
        "outputs": outputs,
        "flops": _finite(flops),
        "params": model.param_count(node.input),
        "doc": node.doc_string or None,
        "stack": meta.get(STACK_TRACE_KEY) or None,
        "operator": operator_doc(schema) if schema is not None else None,
    }


#: A tensor preview prints at most this many values (numpy's summarised print beyond it).
PREVIEW_VALUES = 1000
#: The largest slice sent back as a ``.npy`` file through the view's messages.
MAX_NPY_BYTES = 64 * 2**20
_INDEX_PART = re.compile(r"^(?:(-?\d+)|(-?\d+)?:(-?\d+)?(?::(-?\d+)?)?|\.\.\.)$")


def parse_index(text: str) -> tuple:
    """A numpy index from text such as ``0, :, 1:3`` or ``..., -1`` (integers, slices and one
    ``...`` only: nothing is evaluated)."""
    parts = [p.replace(" ", "") for p in text.split(",")] if text.strip() else []
    index: list = []
    for part in parts:
        match = _INDEX_PART.match(part)
        if match is None:
            raise UsageError(f"Cannot read {part!r} in the index {text!r}: write integers, slices and "
                             "at most one ..., separated by commas, such as 0, :, 1:3.")
        if part == "...":
            index.append(Ellipsis)
        elif match[1] is not None:
            index.append(int(match[1]))
        else:
            start, stop, step = (int(v) if v else None for v in part.split(":") + [""] * (3 - part.count(":") - 1))
            index.append(slice(start, stop, step))
    return tuple(index)


def tensor_view(array: np.ndarray, name: str, index_text: str = "", npy: bool = False) -> dict:
    """A weight (or a slice of it) for the tensor viewer: numpy's print of its values (summarised
    beyond ``PREVIEW_VALUES``), its statistics and, with ``npy``, the slice as a base64 ``.npy``."""
    try:
        view = np.asarray(array[parse_index(index_text)])
    except IndexError as error:
        raise UsageError(f"The index {index_text!r} does not fit {name!r} of shape "
                         f"{format_shape(array.shape)}: {error}.") from None
    text = np.array2string(view, threshold=PREVIEW_VALUES, edgeitems=4, precision=6, max_line_width=96)
    result: dict = {"name": name, "dtype": str(array.dtype), "shape": format_shape(array.shape),
                    "index": index_text.strip(), "view_shape": format_shape(view.shape), "text": text}
    stats = _stats_json(tensor_stats(view)) if view.dtype.kind in "biuf" and view.size else {}
    if stats:
        result["stats"] = stats
    if npy:
        if view.nbytes > MAX_NPY_BYTES:
            raise UsageError(f"The slice of {name!r} is {view.nbytes / 2**20:,.0f} MiB, over the "
                             f"{MAX_NPY_BYTES // 2**20} MiB a view sends: save a smaller slice, or in Python "
                             "np.save(path, model.weight(name)).")
        buffer = io.BytesIO()
        np.save(buffer, view, allow_pickle=False)
        result["npy"] = base64.b64encode(buffer.getvalue()).decode("ascii")
    return result
