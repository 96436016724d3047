"""Which node of model ``b`` each node of model ``a`` became.

Names are not enough: two exports of one module (dynamo's ``node_MatMul_70``, TorchScript's
``/encoder/layer.0/attention/MatMul``) rename every node, and a re-export after a small change
shifts dynamo's counters so that one name now sits on another node. So nodes are matched by
structure first, names only for what structure leaves open:

1. *cones*: a node's hash covers its op, its attributes and, recursively, everything upstream
   of it down to the graph inputs and the weights' contents. Nodes with one hash in both models
   compute the same thing from the same inputs, and match;
2. *propagation*: from each matched pair, and from the graph inputs and outputs, the
   neighbours at the same place (the producer of input ``i``; the readers of output ``j`` at
   input ``k``) match when they have the same op and no other candidate (several candidates:
   the ones whose attributes and weights agree, else in graph order when as many on each side);
3. *names*: nodes left with one name and one op in both models;
4. *signatures*: nodes left with an op, attributes and weights found once on each side.

Nodes computed from weights alone (``Constant``, an ``Identity`` of a weight) are not matched:
they are data, compared as the values their readers read. When one model is quantized with
Q/DQ pairs and the other has none, the pairs are looked through (a Conv reading
``DequantizeLinear(QuantizeLinear(x))`` reads ``x``), and belong to no match. Nodes of ``b``
that onnxruntime fused out of several nodes of ``a`` map to the set they replaced (the map the
profile uses, :func:`workbench.profiling.internal.map_nodes`).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np
import onnx
from onnx import numpy_helper

from ..errors import ExternalDataError, TensorDataError
from ..model.internal import attribute_values
from ..profiling.internal import map_nodes

if TYPE_CHECKING:
    from ..model import Model

_QDQ = frozenset({"QuantizeLinear", "DequantizeLinear"})
#: Ops whose two inputs may trade places (exporters write ``x + bias`` and ``bias + x``).
_COMMUTATIVE = frozenset({"Add", "Mul", "Sum", "Max", "Min", "Mean", "And", "Or", "Xor", "Equal", "BitwiseAnd",
                          "BitwiseOr", "BitwiseXor"})
#: A fused node maps to its authored set when it replaced at least this many nodes (or is of a
#: domain the authored graph does not use): one node in place of one is an edit, not a fusion.
_FUSED_AT_LEAST = 2

#: Where a node input comes from: ("node", (id, output index)), ("input", position),
#: ("weight", content key), ("outer", name) for a name from an enclosing scope, or ("none", "").
Source = tuple[str, Any]


def _default(domain: str) -> str:
    return "" if domain == "ai.onnx" else domain


def op_key(node: onnx.NodeProto) -> tuple[str, str]:
    """``(domain, op_type)``, the default domain written ``""``."""
    return _default(node.domain), node.op_type


@lru_cache(maxsize=4096)
def _defaults(domain: str, op_type: str, version: int) -> dict[str, onnx.AttributeProto]:
    """The attributes the op's schema gives a default, at this opset: one written with its default
    value is the same as one left out."""
    try:
        schema = onnx.defs.get_schema(op_type, version, domain)
    except onnx.defs.SchemaError:
        return {}
    return {name: a.default_value for name, a in schema.attributes.items() if a.default_value.name}


def with_defaults(node: onnx.NodeProto, opsets: dict[str, int]) -> list[onnx.AttributeProto]:
    """The node's attributes, and those its schema defaults that it leaves out, by name."""
    domain = _default(node.domain)
    defaults = _defaults(domain, node.op_type, opsets.get(domain, 1)) if domain in ("", "ai.onnx.ml") else {}
    written = {a.name for a in node.attribute}
    return sorted([*node.attribute, *(a for name, a in defaults.items() if name not in written)], key=lambda a: a.name)


def attribute_key(node: onnx.NodeProto, opsets: dict[str, int]) -> tuple:
    """The node's attributes, defaults filled in, as a hashable value (graphs and tensors by their
    bytes' digest)."""
    items = []
    for attr in with_defaults(node, opsets):
        if attr.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS, onnx.AttributeProto.TENSOR,
                         onnx.AttributeProto.SPARSE_TENSOR, onnx.AttributeProto.TYPE_PROTO):
            value: object = hashlib.blake2b(attr.SerializeToString(), digest_size=16).hexdigest()
        else:
            raw = onnx.helper.get_attribute_value(attr)
            value = tuple(raw) if isinstance(raw, list) else raw
        items.append((attr.name, value))
    return tuple(items)


class Side:
    """One model's main graph as the matcher reads it."""

    def __init__(self, model: "Model", see_through_qdq: bool) -> None:
        self.model = model
        self.opsets = {_default(o.domain): o.version for o in model.proto.opset_import}
        self.nodes: dict[str, onnx.NodeProto] = {}
        self.order: list[str] = []  # matchable nodes, in graph order
        #: values fixed before the model runs: initializers, and outputs of nodes computed from them alone
        self.fixed: dict[str, onnx.NodeProto | None] = {t.name: None for t in model.proto.graph.initializer}
        self.qdq: set[str] = set()  # Q/DQ nodes looked through
        self.producer: dict[str, tuple[str, int]] = {}
        self.readers: dict[str, list[tuple[str, int]]] = defaultdict(list)
        graph = model.proto.graph
        self.inputs = {v.name: i for i, v in enumerate(i for i in graph.input if i.name not in self.fixed)}
        self.outputs = [v.name for v in graph.output]
        for record in model.records:
            if record.parent is not None:
                continue  # bodies of If/Loop/Scan belong to their owner: compared as its attributes
            node = record.node
            if _computed_from_weights(node, self.fixed):
                self.fixed.update((o, node) for o in node.output if o)
                continue
            self.nodes[record.id] = node
            if see_through_qdq and node.op_type in _QDQ and _default(node.domain) == "":
                self.qdq.add(record.id)
            else:
                self.order.append(record.id)
            for index, name in enumerate(node.output):
                if name:
                    self.producer[name] = (record.id, index)
            for slot, name in enumerate(node.input):
                if name:
                    self.readers[name].append((record.id, slot))
        self.by_name = {node.name: node_id for node_id, node in self.nodes.items() if node.name}
        self._weight_keys: dict[str, object] = {}
        self._attribute_keys: dict[str, tuple] = {}
        self._sources: dict[str, Source] = {}

    # ---- where values come from and go --------------------------------------------------
    def through(self, value: str) -> str:
        """The value behind a looked-through Q/DQ chain (``value`` itself when there is none)."""
        while value in self.producer and self.producer[value][0] in self.qdq:
            node = self.nodes[self.producer[value][0]]
            value = node.input[0] if node.input else ""
        return value

    def source(self, value: str) -> Source:
        """Where ``value`` comes from, through looked-through Q/DQ pairs (found once per value)."""
        found = self._sources.get(value)
        if found is None:
            behind = self.through(value)
            if not behind:
                found = ("none", "")
            elif behind in self.producer:
                found = ("node", self.producer[behind])
            elif behind in self.inputs:
                found = ("input", self.inputs[behind])
            elif behind in self.fixed:
                found = ("weight", self.weight_key(behind))
            else:
                found = ("outer", behind)
            self._sources[value] = found
        return found

    def readers_of(self, value: str) -> list[tuple[str, int]]:
        """The nodes reading ``value`` and at which input, through looked-through Q/DQ pairs."""
        found: list[tuple[str, int]] = []
        for node_id, slot in self.readers.get(value, ()):
            if node_id in self.qdq:
                if slot == 0:
                    found.extend(r for o in self.nodes[node_id].output if o for r in self.readers_of(o))
            else:
                found.append((node_id, slot))
        return found

    # ---- weights ------------------------------------------------------------------------
    def weight_key(self, value: str) -> object:
        """A key equal for two weights of the same content: the digest of an initializer's or a
        Constant's type, shape and bytes; for a node computed from weights, its op, attributes and
        its inputs' keys (an ``Identity`` is its input)."""
        if value not in self._weight_keys:
            maker = self.fixed.get(value)
            key: object
            tensor = self.model.initializers.get(value) if maker is None else None
            array = self.weight_array(value) if maker is None or maker.op_type == "Constant" else None
            if array is not None and not array.size and tensor is not None and 0 not in tensor.dims:
                # unreadable (corrupt, or its file missing): its bytes as stored stand for it
                key = ("unreadable", hashlib.blake2b(tensor.SerializeToString(), digest_size=16).hexdigest())
            elif array is not None:
                digest = hashlib.blake2b(np.ascontiguousarray(array).view(np.uint8).tobytes() if array.size else b"",
                                         digest_size=16)
                key = ("array", str(array.dtype), array.shape, digest.hexdigest())
            elif maker is not None and maker.op_type == "Identity":
                key = self.weight_key(maker.input[0])
            else:
                assert maker is not None  # initializers have arrays
                key = ("computed", op_key(maker), attribute_key(maker, self.opsets),
                       tuple(self.weight_key(i) if i else "" for i in maker.input))
            self._weight_keys[value] = key
        return self._weight_keys[value]

    def weight_type(self, value: str) -> tuple[str | None, tuple | None]:
        """A weight's stored dtype and shape (None for one computed from other weights)."""
        key = self.weight_key(value)
        if isinstance(key, tuple) and key[0] == "array":
            return key[1], key[2]
        return None, None

    def weight_array(self, value: str) -> np.ndarray:
        """An initializer's or a Constant's values; an empty array for a value computed otherwise,
        or one whose data cannot be read (a corrupt or missing weight: the diff goes on without it)."""
        maker = self.fixed.get(value)
        if maker is None:
            if value not in self.model.initializers:
                return np.zeros(0)
            try:
                return self.model.weight(value)
            except (TensorDataError, ExternalDataError):
                return np.zeros(0)
        if maker.op_type == "Identity":
            return self.weight_array(maker.input[0])
        if maker.op_type == "Constant":
            attr = next((a for a in maker.attribute if a.name.startswith("value")), None)
            if attr is not None and attr.type == onnx.AttributeProto.TENSOR:
                return numpy_helper.to_array(attr.t)
            if attr is not None and attr.type != onnx.AttributeProto.SPARSE_TENSOR:
                return np.asarray(onnx.helper.get_attribute_value(attr))
        return np.zeros(0)

    def dequantized(self, value: str) -> np.ndarray | None:
        """The float values a node input stands for when it is a (looked-through) dequantized
        weight, a weight itself otherwise; None when it is neither."""
        source = self.through(value)
        if source not in self.fixed:
            return None
        producer = self.producer.get(value)
        node = self.nodes[producer[0]] if producer else None
        if node is None or node.op_type != "DequantizeLinear" or node.input[0] not in self.fixed:
            return self.weight_array(source)
        quantized = self.weight_array(node.input[0]).astype(np.float64)
        scale = self.weight_array(node.input[1]).astype(np.float64)
        zero = self.weight_array(node.input[2]).astype(np.float64) if len(node.input) > 2 and node.input[2] else 0.0
        if np.ndim(scale) == 1 and quantized.ndim > 1:  # per axis
            axis = int(attribute_values(node).get("axis", 1)) % quantized.ndim
            shape = [1] * quantized.ndim
            shape[axis] = -1
            scale = np.reshape(scale, shape)
            zero = np.reshape(zero, shape) if np.ndim(zero) == 1 else zero
        return (quantized - zero) * scale

    # ---- per-node keys ---------------------------------------------------------------------
    def attributes(self, node_id: str) -> tuple:
        """The node's :func:`attribute_key`, made once."""
        key = self._attribute_keys.get(node_id)
        if key is None:
            key = self._attribute_keys[node_id] = attribute_key(self.nodes[node_id], self.opsets)
        return key

    @cached_property
    def cones(self) -> dict[str, int]:
        """Each matchable node's cone hash (see the module's doc), in one pass in graph order."""
        found: dict[str, int] = {}
        for node_id in self.order:
            node = self.nodes[node_id]
            tokens: list[tuple] = []
            for name in node.input:
                kind, where = self.source(name)
                if kind == "node":
                    producer, index = where
                    tokens.append(("node", found.get(producer, 0), index))
                else:
                    tokens.append((kind, where))
            if _swappable(node):
                tokens.sort(key=repr)
            found[node_id] = hash((op_key(node), self.attributes(node_id), tuple(tokens)))
        return found

    def signature(self, node_id: str) -> tuple:
        """A node's op, attributes and weight inputs, without where its other inputs come from."""
        node = self.nodes[node_id]
        weights = tuple(self.weight_key(self.through(n)) if self.through(n) in self.fixed else None
                        for n in node.input)
        return op_key(node), self.attributes(node_id), tuple(sorted(weights, key=repr)) if _swappable(node) \
            else weights


def _swappable(node: onnx.NodeProto) -> bool:
    return node.op_type in _COMMUTATIVE and _default(node.domain) == "" and len(node.input) == 2


def _computed_from_weights(node: onnx.NodeProto, fixed: dict) -> bool:
    """Whether a main-graph node holds a value fixed before the model runs: a Constant, or an
    Identity/Cast/Reshape-like default-domain node whose inputs are all fixed."""
    if _default(node.domain) != "" or node.op_type in _QDQ or node.op_type in _NOT_FIXED:
        return False
    if node.op_type == "Constant":
        return not node.input
    return bool(node.input) and all(not n or n in fixed for n in node.input) and \
        not any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for a in node.attribute)


#: Ops whose output is not fixed by fixed inputs (random draws), or that are compute worth showing.
_NOT_FIXED = frozenset({"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial",
                        "Bernoulli", "If", "Loop", "Scan"})


@dataclass
class Matching:
    """Pairs of main-graph nodes, and what the unpaired ones are."""

    a: Side
    b: Side
    a_to_b: dict[str, str] = field(default_factory=dict)
    b_to_a: dict[str, str] = field(default_factory=dict)
    #: how each pair was found: "structure", "neighbours", "name" or "signature", by a's id
    how: dict[str, str] = field(default_factory=dict)
    #: b's fused nodes → the nodes of a they replaced, in a's order
    fused: dict[str, list[str]] = field(default_factory=dict)
    #: a's nodes folded into one of b's (fused, or a Relu folded into a quantization): a id → b id
    folded: dict[str, str] = field(default_factory=dict)
    #: b's nodes onnxruntime made to serve fused nodes (a Reshape before a Gemm): id → those fused nodes
    helpers: dict[str, list[str]] = field(default_factory=dict)

    def inputs(self, x: str, y: str) -> list[tuple[str, str]]:
        """The inputs of a's ``x`` and b's ``y`` paired by position; for a commutative op, the
        other way round where that pairs them better (``bias + x`` against ``x + bias``)."""
        straight = list(zip(self.a.nodes[x].input, self.b.nodes[y].input))
        if not _swappable(self.a.nodes[x]) or len(straight) != 2:
            return straight
        crossed = [(straight[0][0], straight[1][1]), (straight[1][0], straight[0][1])]
        return crossed if self._fit(crossed) > self._fit(straight) else straight

    def _fit(self, pairs: list[tuple[str, str]]) -> int:
        """How many pairs read the same kind of thing: matched producers, one weight, one graph input."""
        score = 0
        for va, vb in pairs:
            sa, sb = self.a.source(va), self.b.source(vb)
            if sa[0] != sb[0]:
                continue
            if sa[0] == "node":
                (px, _), (py, _) = sa[1], sb[1]
                mate = self.a_to_b.get(px)
                score += 2 if mate == py else 1 if mate is None and op_key(self.a.nodes[px]) == op_key(
                    self.b.nodes[py]) else 0
            else:
                score += 2 if sa[1] == sb[1] else 1
        return score


def match(a_model: "Model", b_model: "Model") -> Matching:
    """Matches the nodes of two models' main graphs (see the module's doc)."""
    a_has = any(r.node.op_type in _QDQ for r in a_model.records)
    b_has = any(r.node.op_type in _QDQ for r in b_model.records)
    a, b = Side(a_model, a_has and not b_has), Side(b_model, b_has and not a_has)
    return _Matcher(a, b).run()


class _Matcher:
    def __init__(self, a: Side, b: Side) -> None:
        self.a, self.b = a, b
        self.found = Matching(a, b)
        self.queue: list[tuple[str, str]] = []

    def pair(self, x: str, y: str, how: str) -> None:
        found = self.found
        if x in found.a_to_b or y in found.b_to_a:
            return
        found.a_to_b[x], found.b_to_a[y], found.how[x] = y, x, how
        self.queue.append((x, y))

    def run(self) -> Matching:
        a, b = self.a, self.b
        by_cone: dict[int, list[str]] = defaultdict(list)
        for node_id in b.order:
            by_cone[b.cones[node_id]].append(node_id)
        for node_id in a.order:
            mates = by_cone.get(a.cones[node_id])
            if mates:
                self.pair(node_id, mates.pop(0), "structure")
        self.seed_ends()
        self.propagate()
        for node_id in a.order:
            mate = b.by_name.get(a.nodes[node_id].name)
            if mate is not None and op_key(a.nodes[node_id]) == op_key(b.nodes[mate]) and mate not in b.qdq:
                self.pair(node_id, mate, "name")
        self.propagate()
        self.pair_signatures()
        self.propagate()
        self.map_fusions()
        return self.found

    def seed_ends(self) -> None:
        """Graph inputs (by name, else position) pass their readers on; graph outputs (by name,
        else position) pair their producers."""
        a, b = self.a, self.b
        for name, position in a.inputs.items():
            mate = name if name in b.inputs else next((n for n, p in b.inputs.items() if p == position), None)
            if mate is not None:
                self.pair_readers(a.readers_of(name), b.readers_of(mate))
        b_outputs = {name: i for i, name in enumerate(b.outputs)}
        for position, name in enumerate(a.outputs):
            mate = name if name in b_outputs else (b.outputs[position] if position < len(b.outputs) else None)
            if mate is None:
                continue
            sa, sb = a.source(name), b.source(mate)
            if sa[0] == sb[0] == "node":
                self.pair_nodes(sa[1][0], sb[1][0], "neighbours")

    def pair_nodes(self, x: str, y: str, how: str) -> None:
        if op_key(self.a.nodes[x]) == op_key(self.b.nodes[y]):
            self.pair(x, y, how)

    def propagate(self) -> None:
        a, b, found = self.a, self.b, self.found
        while self.queue:
            x, y = self.queue.pop()
            nx, ny = a.nodes[x], b.nodes[y]
            for name_a, name_b in found.inputs(x, y):
                sa, sb = a.source(name_a), b.source(name_b)
                if sa[0] == sb[0] == "node" and sa[1][1] == sb[1][1]:
                    px, py = sa[1][0], sb[1][0]
                    if px not in found.a_to_b and py not in found.b_to_a:
                        self.pair_nodes(px, py, "neighbours")
            for name_a, name_b in zip(nx.output, ny.output):
                if name_a and name_b:
                    self.pair_readers(a.readers_of(name_a), b.readers_of(name_b))

    def pair_readers(self, readers_a: Iterable[tuple[str, int]], readers_b: Iterable[tuple[str, int]]) -> None:
        """Pairs the unmatched readers of one value on each side, reading it at the same input
        with the same op: alone on each side; else those whose signatures agree once on each side;
        else in graph order when as many are left on each side."""
        a, b, found = self.a, self.b, self.found
        groups_a: dict[tuple, list[str]] = defaultdict(list)
        groups_b: dict[tuple, list[str]] = defaultdict(list)
        for node_id, slot in readers_a:
            if node_id not in found.a_to_b and node_id not in groups_a[(op_key(a.nodes[node_id]), slot)]:
                groups_a[(op_key(a.nodes[node_id]), slot)].append(node_id)
        for node_id, slot in readers_b:
            if node_id not in found.b_to_a and node_id not in groups_b[(op_key(b.nodes[node_id]), slot)]:
                groups_b[(op_key(b.nodes[node_id]), slot)].append(node_id)
        for key, xs in groups_a.items():
            ys = groups_b.get(key)
            if not ys:
                continue
            if len(xs) > 1 or len(ys) > 1:
                by_signature: dict[tuple, list[str]] = defaultdict(list)
                for y in ys:
                    by_signature[b.signature(y)].append(y)
                for x in list(xs):
                    mates = by_signature.get(a.signature(x), [])
                    if len(mates) == 1 and sum(a.signature(o) == a.signature(x) for o in xs) == 1:
                        self.pair(x, mates[0], "neighbours")
                xs = [x for x in xs if x not in found.a_to_b]
                ys = [y for y in ys if y not in found.b_to_a]
                if len(xs) != len(ys):
                    continue
            for x, y in zip(xs, ys):
                self.pair(x, y, "neighbours")

    def pair_signatures(self) -> None:
        a, b, found = self.a, self.b, self.found
        left_b: dict[tuple, list[str]] = defaultdict(list)
        for node_id in b.order:
            if node_id not in found.b_to_a:
                left_b[b.signature(node_id)].append(node_id)
        left_a: dict[tuple, list[str]] = defaultdict(list)
        for node_id in a.order:
            if node_id not in found.a_to_b:
                left_a[a.signature(node_id)].append(node_id)
        for signature, xs in left_a.items():
            ys = left_b.get(signature, [])
            if len(xs) == 1 and len(ys) == 1:
                self.pair(xs[0], ys[0], "signature")

    def map_fusions(self) -> None:
        """Which of b's nodes replace a's unmatched ones, as onnxruntime's fusions do: first the
        node of b that now writes an unmatched node's output (a Conv taking the output of the
        BatchNormalization folded into it; a fused node ends in the value its last node wrote);
        then, for those and b's other unmatched nodes, the authored nodes the profile's map says
        they cover (``map_nodes``), kept when they are several or the node is of a domain ``a``
        does not use."""
        a, b, found = self.a, self.b, self.found
        left_a = [x for x in a.order if x not in found.a_to_b]
        if not left_a:
            return
        claimed: dict[str, str] = {}
        fused: dict[str, list[str]] = {}
        for x in left_a:
            writer = next((b.producer[o][0] for o in a.nodes[x].output if o in b.producer), None)
            if writer is not None and writer not in b.qdq:
                fused.setdefault(writer, []).append(x)
                claimed[x] = writer
        candidates = [*fused, *(y for y in b.order if y not in found.b_to_a and y not in fused)]
        names = {y: b.nodes[y].name or y for y in candidates}
        mapped = map_nodes(a.model, b.model, list(dict.fromkeys(names.values())))
        a_domains = {op_key(a.nodes[x])[0] for x in a.order}
        for y in candidates:
            if mapped.loc[names[y], "mapping"] == "unmapped":
                continue
            covers = [x for x in mapped.loc[names[y], "authored"] if x in a.nodes and x not in found.a_to_b
                      and x not in claimed]
            if y in fused or len(covers) >= _FUSED_AT_LEAST or (covers and op_key(b.nodes[y])[0] not in a_domains):
                fused.setdefault(y, []).extend(covers)
                claimed.update((x, y) for x in covers)
            elif not covers and y not in found.b_to_a:  # a helper onnxruntime made for a fusion mapped already?
                served = sorted({claimed[x] for x in mapped.loc[names[y], "authored"] if x in claimed})
                if served:
                    found.helpers[y] = served
        order = {x: i for i, x in enumerate(a.order)}
        for y, covered in fused.items():
            mate = found.b_to_a.get(y)
            if mate is not None:  # a matched node that took others in: it is fused too
                covered.append(mate)
                claimed[mate] = y
            found.fused[y] = sorted(covered, key=order.__getitem__)
        found.folded.update(claimed)
