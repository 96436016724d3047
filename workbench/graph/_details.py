"""What the view's side panel shows for one node (``Details`` in ``docs/view-schema.md``)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import onnx

from ..errors import TensorDataError
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
