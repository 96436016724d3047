"""Which reference value each candidate value stands for, when the candidate is a rewrite of
the reference: quantized (Q/DQ pairs, dynamic quantization), converted to float16 (Casts
inserted, weights converted), or with values renamed by a fusion.

Matching by name misleads there. ``quantize_static`` folds a Relu into the quantization after
it and gives the Relu's value name to the pre-Relu tensor; the fp16 converter renames a graph
output's producer and adds a Cast that takes the name. So values are aligned by *producer*:

1. a candidate node with a *twin* in the reference (a node of the same id and op type — both
   the quantizer and the fp16 converter keep node names) stands for its twin: its outputs and
   its inputs are the twin's, position by position. The input side is what aligns the output of
   a ``DequantizeLinear`` with the fp32 value it stands for, wherever the pattern put it, and a
   dequantized weight with the fp32 weight;
2. a ``Cast`` between float types that the reference lacks passes its alignment through;
3. a value left is aligned by name, unless the reference's value of that name comes from
   another op and the candidate quantizes the value again (``relu_3`` above: its Q/DQ pair
   stands for the Relu's output, the raw value does not).

Values inside a rewrite (the int8 tensors, a fused node's insides) stand for nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import onnx

from ..model import Model
from ..model.internal import NodeScope
from ..runtime.internal import Value

_FLOATS = frozenset({onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16,
                     onnx.TensorProto.DOUBLE})
_FLOAT_NAMES = frozenset({"float32", "float16", "bfloat16", "float64"})


@dataclass
class Alignment:
    """The candidate's values mapped to the reference's (see the module's doc)."""

    #: candidate value → the reference value it stands for
    names: dict[str, str] = field(default_factory=dict)
    #: the candidate's nodes with a twin in the reference (a node of the same id and op type)
    twins: set[str] = field(default_factory=set)


def align(candidate: Model, reference: Model) -> Alignment:
    """Which reference value each candidate value (node output or weight) stands for."""
    found = Alignment()
    ref_producer = {o: r.node for r in reference.records for o in r.node.output if o}
    ref_records = reference.records_by_id
    names = found.names
    records = candidate.records
    for record in records:
        twin = ref_records.get(record.id)
        if twin is None or (twin.node.op_type, twin.node.domain) != (record.node.op_type, record.node.domain):
            continue
        found.twins.add(record.id)
        for mine, theirs in (*zip(record.node.output, twin.node.output), *zip(record.node.input, twin.node.input)):
            if mine and theirs and _alike(candidate.value_info(mine)[0], reference.value_info(theirs)[0]):
                names.setdefault(mine, theirs)
    ref_values = set(ref_producer) | set(reference.initializers) | {i.name for i in reference.proto.graph.input}
    requantized = {r.node.input[0] for r in records if r.node.op_type == "QuantizeLinear" and r.node.input}
    producer = {o: r.node for r in records for o in r.node.output if o}
    for record in records:  # in order: a Cast's input is aligned before it
        node = record.node
        if record.id in found.twins:
            continue
        if _float_cast(candidate, node) and node.input[0] in names:
            names.setdefault(node.output[0], names[node.input[0]])
        for name in node.output:
            if not name or name in names or name not in ref_values:
                continue
            theirs = ref_producer.get(name)
            if theirs is not None and theirs.op_type != node.op_type and name in requantized:
                continue  # a name given to another producer's value (a folded Relu's): its Q/DQ pair stands for it
            names[name] = name
    for name in [*candidate.initializers, *(i.name for i in candidate.proto.graph.input)]:
        if name not in names and name in ref_values and name not in producer:
            names[name] = name
    return found


def _alike(mine: str, theirs: str) -> bool:
    """Whether values of these types can stand for one another: the same type, or two float
    types (an int8 tensor in the candidate's Gather does not stand for the fp32 one it reads)."""
    return not mine or not theirs or mine == theirs or (mine in _FLOAT_NAMES and theirs in _FLOAT_NAMES)


def _float_cast(model: Model, node: onnx.NodeProto) -> bool:
    """A Cast from one float type to another: precision bookkeeping, transparent to alignment."""
    if node.op_type != "Cast" or node.domain not in ("", "ai.onnx") or not node.input or not node.input[0]:
        return False
    to = next((a.i for a in node.attribute if a.name == "to"), None)
    return to in _FLOATS and model.value_info(node.input[0])[0] in _FLOAT_NAMES


def reference_values(alignment: Alignment, values: Mapping[str, Value]) -> dict[str, Value]:
    """The reference's values keyed by the candidate's value names."""
    return {mine: values[theirs] for mine, theirs in alignment.names.items() if theirs in values}


def adopt_scopes(candidate: Model, reference: Model, alignment: Alignment) -> Model:
    """The candidate with the reference's scopes, where it has none of its own (a quantizer or
    optimizer stripped torch's metadata and renamed nodes): each node takes the scope of its twin,
    else of the reference node producing the value its first aligned output stands for, else of
    the one reading the value its first aligned input stands for. Nodes with nothing to go by
    (the inside of a rewrite) join their consumers' scope. ``candidate`` itself when it has
    scopes, or the reference has none to give."""
    ref_scopes = reference.node_scopes
    if any(s.path for s in candidate.node_scopes.values()) or not any(s.path for s in ref_scopes.values()):
        return candidate
    producer, readers = reference.producers, reference.consumers
    given: dict[str, NodeScope] = {}
    names = alignment.names
    for record in candidate.records:
        source = record.id if record.id in alignment.twins else (
            next((producer[names[o]] for o in record.node.output if names.get(o) in producer), None)
            or next((readers[names[i]][0] for i in record.node.input if names.get(i) in readers), None))
        if source is not None:
            scope = ref_scopes[source]
            given[record.id] = NodeScope(scope.path, "reference", scope.classes)
    return candidate.with_scopes(given) if given else candidate
