"""Which authored nodes each node onnxruntime ran stands for.

At ``ORT_ENABLE_ALL`` most profiled names are nodes that onnxruntime made: fusions
(``node_MatMul_65/MatMulAddFusion``), layout conversions (``r2_nchwc``), helpers
(``gemm_input_reshape_token_3``). Tensor names are the reliable link: a fused node ends
in the value the last node it replaced produced, so the authored nodes it covers are
those between its output and the values that still exist in the graph onnxruntime ran.
Each profiled node gets one of:

- ``exact``: it is an authored node (same name, same outputs);
- ``tensors``: its outputs (or, for a helper with new output names, those of the nearest
  nodes downstream of it) are authored values; it covers the authored nodes on the way
  back from them to values that survive in the optimized graph;
- ``name``: onnxruntime's name for it derives from an authored node or value
  (``fused X``, ``X/…Fusion``, ``X_token_N``, ``<value>_nchwc``);
- ``compiled``: a subgraph a provider compiled into one node (OpenVINO's
  ``OpenVINO-EP-subgraph_1``): it covers the nodes onnxruntime's assignment record gave that
  subgraph (mapped by ``Profile``, which holds the record);
- ``unmapped``: none of these.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Iterable, Sequence

import pandas as pd

from ..model.internal import iter_graphs, walk_nodes

if TYPE_CHECKING:
    import onnx

    from ..model import Model

#: How a profiled node was tied to the authored graph, from most to least direct.
MAPPINGS = ("exact", "tensors", "name", "compiled", "unmapped")

_TOKEN = re.compile(r"_token_\d+$")


class _Wiring:
    """Who produces and who consumes each value, over a model's graphs (subgraphs included)."""

    def __init__(self, proto: "onnx.ModelProto") -> None:
        records = walk_nodes(proto.graph)
        self.order = {r.id: i for i, r in enumerate(records)}
        self.nodes = {r.id: r.node for r in records}
        self.producer: dict[str, str] = {}
        self.consumers: dict[str, list[str]] = {}
        for r in records:
            for name in r.node.output:
                if name:
                    self.producer[name] = r.id
            for name in r.node.input:
                if name:
                    self.consumers.setdefault(name, []).append(r.id)
        self.values = set(self.producer) | set(self.consumers)
        for graph in iter_graphs(proto.graph):
            self.values.update(v.name for v in graph.input)
            self.values.update(t.name for t in graph.initializer)
        self.named = {r.node.name: r.id for r in records if r.node.name}  # name → id, named nodes only


def _candidates(name: str) -> Iterable[str]:
    """Names an onnxruntime-made node may derive from, most specific first."""
    base = _TOKEN.sub("", name.removeprefix("fused ")).removesuffix("_nchwc").rstrip("/")
    parts = base.split("/")
    for end in range(len(parts), 0, -1):
        candidate = "/".join(parts[:end])
        if candidate:
            yield candidate


def map_nodes(model: "Model", optimized: "Model | None", names: Sequence[str]) -> pd.DataFrame:
    """For each profiled node name: the authored node ids it covers, and how that was found.

    ``optimized`` is the graph onnxruntime ran (saved with ``optimized_model_filepath``);
    without it only names can be matched. Returns a DataFrame indexed by ``names`` with
    columns ``authored`` (list of authored node ids, in graph order), ``mapping`` (one of
    :data:`MAPPINGS`) and ``inputs`` (the values the node reads, as onnxruntime ran it;
    None when the node is in neither graph).
    """
    mapper = _Mapper(_Wiring(model.proto), None if optimized is None else optimized.proto)
    rows = [(*mapper.resolve(name), mapper.inputs(name)) for name in names]
    return pd.DataFrame(rows, index=pd.Index(list(names), name="node"), columns=["authored", "mapping", "inputs"])


class _Mapper:
    """Maps profiled names through the optimized graph (when there is one) to authored nodes."""

    def __init__(self, authored: _Wiring, optimized: "onnx.ModelProto | None") -> None:
        self.authored = authored
        self.graph = None if optimized is None else _Wiring(optimized)
        self.keys: dict[str, str] = {}  # profiled name → optimized node id
        self.anchors: dict[str, list[str]] = {}  # optimized node id → its outputs that are authored values
        self.named: dict[str, list[str]] = {}  # optimized node id → authored values its name points at
        self.computes: set[str] = set()  # optimized nodes that compute the authored values they name
        self.stops: set[str] = set()  # values a walk back through the authored graph does not cross
        if self.graph is not None:
            for node_id, node in self.graph.nodes.items():
                self.keys[self._profiled_name(node_id, node)] = node_id
                self.anchors[node_id] = [o for o in node.output if o in authored.producer]
                self.named[node_id], is_value = self._from_name(node.name)
                self.stops.update(self.anchors[node_id])
                # "<value>_nchwc" computes that value, and a node keeping its authored name computes
                # that node's outputs, under new names: walks from other nodes stop there.
                if is_value or (node.name in authored.named and not self.anchors[node_id]):
                    self.computes.add(node_id)
                    self.stops.update(self.named[node_id])
            self.stops |= self.graph.values
        self._cache: dict[str, tuple[list[str], str]] = {}

    def _profiled_name(self, node_id: str, node: "onnx.NodeProto") -> str:
        """The name onnxruntime reports: the node's name, or for an unnamed node kept from the
        authored graph, the authored id (``<op>_<index>``, as onnxruntime names it)."""
        if node.name:
            return node.name
        first = next((o for o in node.output if o), "")
        source = self.authored.producer.get(first)
        if source is not None and self.authored.nodes[source].op_type == node.op_type:
            return source
        return node_id

    def _from_name(self, name: str) -> tuple[list[str], bool]:
        """The authored values the name of an onnxruntime-made node points at: an authored
        node's outputs, or one value (then True); none when it points at nothing."""
        for candidate in _candidates(name):
            if candidate in self.authored.named:
                node = self.authored.nodes[self.authored.named[candidate]]
                return [o for o in node.output if o], False
            if candidate in self.authored.producer:
                return [candidate], True
        return [], False

    def region(self, values: Sequence[str]) -> list[str]:
        """The authored nodes computing ``values`` from values that survive in the optimized graph."""
        producer, found = self.authored.producer, set()
        stack = [producer[v] for v in values if v in producer]
        while stack:
            node_id = stack.pop()
            if node_id in found:
                continue
            found.add(node_id)
            stack.extend(producer[v] for v in self.authored.nodes[node_id].input
                         if v and v not in self.stops and v in producer)
        return sorted(found, key=self.authored.order.__getitem__)

    def resolve(self, name: str) -> tuple[list[str], str]:
        """``(authored node ids, mapping)`` for one profiled node name."""
        if name not in self._cache:
            node_id = self.keys.get(name)
            self._cache[name] = self._by_graph(node_id) if node_id is not None else self._by_name(name)
        return self._cache[name]

    def inputs(self, name: str) -> list[str] | None:
        """The values a profiled node reads, in order (its event's input shapes follow them)."""
        node_id = self.keys.get(name)
        if node_id is not None and self.graph is not None:
            return list(self.graph.nodes[node_id].input)
        node = self.authored.nodes.get(name)
        return None if node is None else list(node.input)

    def _by_name(self, name: str) -> tuple[list[str], str]:
        """Without the node in an optimized graph: its name alone."""
        if name in self.authored.nodes:
            return [name], "exact"
        values, _ = self._from_name(name)
        return (self.region(values), "name") if values else ([], "unmapped")

    def _by_graph(self, node_id: str) -> tuple[list[str], str]:
        """By its outputs; else as the authored node it is named after; else through its
        neighbours in the optimized graph (a helper of a fusion) or its name; else upstream."""
        assert self.graph is not None  # node_id is one of its nodes
        node = self.graph.nodes[node_id]
        own = self.authored.named.get(node.name) if node.name else self._profiled_name(node_id, node)
        if self.anchors[node_id]:
            covered = self.region(self.anchors[node_id])
            return covered, "exact" if covered == [own] else "tensors"
        if node.name and own is not None:
            return [own], "exact"  # kept, its outputs renamed (e.g. by the transpose optimizer)
        named = self.region(self.named[node_id])
        downstream, how = self._nearest(node_id, forward=True)
        if how == "tensors" and set(named) <= set(downstream):
            return downstream, how  # a helper of a fusion that ends in authored values
        if named:
            return named, "name"
        if downstream:
            return downstream, how
        upstream, how = self._nearest(node_id, forward=False)
        return (upstream, how) if upstream else ([], "unmapped")

    def _nearest(self, node_id: str, forward: bool) -> tuple[list[str], str]:
        """What the nearest nodes downstream (or upstream) that map to authored values cover:
        by ``"tensors"`` when some have authored outputs, else by ``"name"``."""
        graph = self.graph
        assert graph is not None  # node_id is one of its nodes
        seen, by_tensors, by_name = {node_id}, set(), set()
        stack = [node_id]
        while stack:
            node = graph.nodes[stack.pop()]
            if forward:
                nearby = [c for v in node.output if v for c in graph.consumers.get(v, ())]
            else:
                nearby = [graph.producer[v] for v in node.input if v in graph.producer]
            for other in nearby:
                if other in seen:
                    continue
                seen.add(other)
                if self.anchors[other]:
                    by_tensors.update(self.region(self.anchors[other]))
                    continue
                by_name.update(self.region(self.named[other]))
                if other not in self.computes:  # a fusion named after a node it absorbed: look past it
                    stack.append(other)
        found = sorted(by_tensors | by_name, key=self.authored.order.__getitem__)
        return found, "tensors" if by_tensors else "name"
