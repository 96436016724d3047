"""What onnx's operator schemas say about a node, for the view: the role of each input and
output (``X``, ``W``, ``B`` of a Conv), the operator's documentation behind the details panel's
"?", and small constants written by value (``Y = 2``). Offline: ``onnx.defs`` ships the schemas.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import onnx
import onnx.defs
from onnx import numpy_helper

if TYPE_CHECKING:
    from ..model import Model

#: Constants of at most this many elements are written by value on their reader's chip.
SMALL_VALUE_ELEMENTS = 4
#: The operator summary is cut to this many characters (its first paragraph is usually shorter).
_SUMMARY_CHARS = 600
#: Each description of an input, output or attribute is cut to this many characters.
_DESCRIPTION_CHARS = 240


def opset_versions(model: "Model") -> dict[str, int]:
    """The opset version the model imports for each domain (``""`` for the default one)."""
    return {("" if entry.domain == "ai.onnx" else entry.domain): entry.version for entry in model.proto.opset_import}


@lru_cache(maxsize=2048)
def _schema(domain: str, op_type: str, version: int) -> onnx.defs.OpSchema | None:
    try:
        return onnx.defs.get_schema(op_type, version, domain)
    except onnx.defs.SchemaError:
        return None  # a custom domain, or an op onnx does not know at this version


def schema_of(node: onnx.NodeProto, versions: dict[str, int]) -> onnx.defs.OpSchema | None:
    """The schema of ``node`` at the model's opset, or None for ops onnx does not define."""
    domain = "" if node.domain == "ai.onnx" else node.domain
    return _schema(domain, node.op_type, versions.get(domain, onnx.defs.onnx_opset_version()))


def roles(schema: onnx.defs.OpSchema | None, count: int, outputs: bool = False) -> list[str]:
    """The formal names of ``count`` inputs (or outputs) in order; a variadic last parameter
    names every position it covers (``inputs`` of a Concat). Empty names where unknown."""
    if schema is None:
        return [""] * count
    formal = schema.outputs if outputs else schema.inputs
    names = [p.name for p in formal]
    if formal and formal[-1].option == onnx.defs.OpSchema.FormalParameterOption.Variadic:
        names += [names[-1]] * max(0, count - len(names))
    return (names + [""] * count)[:count]


def _cut(text: str, limit: int) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def operator_doc(schema: onnx.defs.OpSchema) -> dict:
    """An operator's documentation for the details panel: its summary (the doc's first
    paragraph), the version it dates from, and its inputs, outputs and attributes described."""
    paragraphs = [p for p in re.split(r"\n\s*\n", schema.doc or "") if p.strip()]
    return {
        "op": schema.name,
        "domain": schema.domain or "ai.onnx",
        "since": schema.since_version,
        "summary": _cut(paragraphs[0], _SUMMARY_CHARS) if paragraphs else "",
        "inputs": [[p.name, p.type_str, _cut(p.description, _DESCRIPTION_CHARS)] for p in schema.inputs],
        "outputs": [[p.name, p.type_str, _cut(p.description, _DESCRIPTION_CHARS)] for p in schema.outputs],
        "attributes": [[name, _cut(a.description, _DESCRIPTION_CHARS)] for name, a in schema.attributes.items()],
    }


def constant_value(node: onnx.NodeProto) -> np.ndarray | None:
    """The value a ``Constant`` node holds, or None (sparse and string constants, other ops)."""
    if node.op_type != "Constant":
        return None
    for attr in node.attribute:
        if attr.name == "value":
            return numpy_helper.to_array(attr.t)
        if attr.name in ("value_float", "value_floats", "value_int", "value_ints"):
            return np.asarray(onnx.helper.get_attribute_value(attr))
    return None


def value_text(array: np.ndarray | None) -> str | None:
    """A small numeric value as the chip writes it (``2``, ``9.99e-06``, ``[0, 2, 1, 3]``), or
    None for one too large to read at a glance."""
    if array is None or array.size > SMALL_VALUE_ELEMENTS or array.dtype.kind not in "biuf":
        return None
    numbers = [f"{v:.4g}" if array.dtype.kind == "f" else str(v) for v in array.ravel().tolist()]
    return numbers[0] if array.ndim == 0 else f"[{', '.join(numbers)}]"
