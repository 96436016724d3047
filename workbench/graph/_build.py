"""Turns a model into the groups of the graph view (``docs/view-schema.md``).

What makes a 40,000-node model drawable a few hundred boxes at a time:

1. nodes are grouped by scope (unscoped nodes already sit with their consumers, see
   ``workbench.model._scopes``), and only the items of expanded groups are laid out;
2. Constant nodes and initializers are not boxes: they are listed as weights of the
   node that consumes them;
3. a node (or graph input) feeding more than ``FAN_OUT`` nodes is drawn once, with a
   small *ref* copy next to each consumer outside its own group, instead of one long
   edge per consumer;
4. sibling blocks with the same structure (``layer.0`` … ``layer.11``) fold into one
   *repeat* group, and a level with more than ``MAX_ITEMS`` boxes is split into
   consecutive *split* groups.

Every edge between two nodes is drawn at exactly one level: in the deepest group that
contains both ends, between the two items of that group that contain them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

import onnx

from ..errors import WorkbenchError
from ..model.internal import NodeRecord, NodeScope, Scope, assign_scopes, build_tree, subgraphs
from ._schema import SMALL_VALUE_ELEMENTS, constant_value, opset_versions, roles, schema_of, value_text
from ._structure import derived_tree, op_summary

if TYPE_CHECKING:
    from ..model import Model

#: The most boxes one level may hold before it is split.
MAX_ITEMS = 200
#: Producers with more consumers than this get a ref copy per consumer group.
FAN_OUT = 8
#: Default-domain ops whose output is not fixed by their inputs: never drawn as weights.
_NOT_FIXED = frozenset({"RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli", "Dropout"})


@dataclass
class _Body:
    """One graph being built: its nodes, which are hidden, and per-scope visible nodes."""

    prefix: str
    by_id: dict[str, NodeRecord]
    hidden: set[str]
    order: dict[str, int]  # node id → position in its graph (topological)
    # id(scope) → (visible nodes in the subtree, the first one's position, the first one)
    visible: dict[int, tuple[int, int, str]] = field(default_factory=dict)

    def count(self, scope: Scope) -> tuple[int, int, str]:
        """Fills ``visible`` for ``scope`` and everything under it."""
        total, first, first_id = 0, 1 << 62, ""
        for node_id in scope.nodes:
            if node_id not in self.hidden:
                total += 1
                if self.order[node_id] < first:
                    first, first_id = self.order[node_id], node_id
        for child in scope.children.values():
            n, position, node_id = self.count(child)
            total += n
            if n and position < first:
                first, first_id = position, node_id
        self.visible[id(scope)] = (total, first, first_id)
        return total, first, first_id


@dataclass
class Group:
    """One group of the view: its items (boxes) and the edges between them."""

    id: str
    label: str
    kind: str  # graph, scope, repeat, split, subgraph, function
    parent: str | None
    path: str
    nodes: int = 0
    items: list[dict] = field(default_factory=list)
    edges: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def to_json(self) -> dict:
        """The group as schema-1 JSON (edges as item indices)."""
        index = {item["id"]: i for i, item in enumerate(self.items)}
        edges = [
            [index[a], index[b], labels[0] if len(set(labels)) == 1 else f"{len(labels)} tensors"]
            for (a, b), labels in self.edges.items()
        ]
        return {
            "id": self.id, "label": self.label, "kind": self.kind, "parent": self.parent,
            "path": self.path, "nodes": self.nodes, "items": self.items, "edges": edges,
        }


def format_shape(shape: Sequence | None) -> str:
    """``(1, 'seq', 768)`` → ``1×seq×768``; unknown → ``""``. Dims that onnx's shape inference
    named itself (``unk__92``, no meaning to the reader) show as ``?``."""
    if shape is None:
        return ""
    return "×".join("?" if d is None or (isinstance(d, str) and d.startswith("unk__")) else str(d)
                    for d in shape) or "scalar"


def _constant_nodes(records: Sequence[NodeRecord], initializers: set[str]) -> set[str]:
    """The nodes drawn as weights of their readers, not as boxes: Constants, and default-domain
    nodes computed from weights alone (``ConstantOfShape`` of a constant shape, an
    ``Unsqueeze`` of a weight): they hold values fixed before the model runs."""
    hidden: set[str] = set()
    fixed = set(initializers)
    for r in records:
        node = r.node
        if node.domain not in ("", "ai.onnx") or any(subgraphs(node)):
            continue
        if (node.op_type == "Constant" and not node.input) or \
                (node.input and node.op_type not in _NOT_FIXED and all(n in fixed for n in node.input if n)):
            hidden.add(r.id)
            fixed.update(o for o in node.output if o)
    return hidden


class GraphBuilder:
    """Builds every group of a model's view: main graph, subgraph bodies, local functions."""

    def __init__(self, model: "Model") -> None:
        self.model = model
        self.groups: dict[str, Group] = {}
        self.owner: dict[str, str] = {}  # item id → id of the group holding it
        self.items: dict[str, dict] = {}  # item id → item
        self._shapes: dict[str, str] = {}  # value name → formatted shape
        self._values: dict[str, str | None] = {}  # weight name → its value as text, if small
        self._versions = opset_versions(model)
        self._role_names: dict[tuple[str, str, int], list[str]] = {}
        #: Nodes of local function bodies (not in the model's node table), by view id.
        self.function_nodes: dict[str, tuple[onnx.NodeProto, str]] = {}
        functions = {(f.domain, f.name): f for f in model.proto.functions}
        self._function_ids = {key: f"fn:{key[0]}.{key[1]}" if key[0] else f"fn:{key[1]}" for key in functions}

        by_graph: dict[str, list[NodeRecord]] = {}
        for record in model.records:
            by_graph.setdefault(record.graph, []).append(record)
        graph = model.proto.graph
        # Subgraph bodies may use the main graph's initializers: weights there too.
        initializers = set(model.initializers)
        self.root = self._add_graph(
            "g:", "graph", model.name or "main graph", by_graph.get("", []), model.node_scopes,
            [i.name for i in graph.input if i.name not in initializers], [o.name for o in graph.output],
            initializers,
        )
        for record in model.records:
            for label, body in subgraphs(record.node):
                key = f"{record.id}/{label}"
                self._add_graph(
                    f"sg:{key}:", "subgraph", key, by_graph.get(key, []), model.node_scopes,
                    [i.name for i in body.input], [o.name for o in body.output], initializers,
                )
        for domain_name, function in functions.items():
            prefix = self._function_ids[domain_name]
            records = [
                NodeRecord(f"{prefix}/{n.name or f'{n.op_type}_{i}'}", n, prefix, None, i)
                for i, n in enumerate(function.node)
            ]
            for r in records:
                self.function_nodes[r.id] = (r.node, prefix)
            self._add_graph(
                f"{prefix}:", "function", f"{domain_name[0]}.{domain_name[1]}" if domain_name[0] else domain_name[1],
                records,
                assign_scopes(records), list(function.input), list(function.output), set(),
            )

    # ---- one graph -------------------------------------------------------------------
    def _add_graph(self, prefix: str, kind: str, label: str, records: list[NodeRecord],
                   scopes: dict[str, NodeScope], inputs: list[str], outputs: list[str],
                   initializers: set[str]) -> str:
        own_scopes = {r.id: scopes.get(r.id, NodeScope((), "none")) for r in records}
        tree = build_tree(records, own_scopes)
        hidden = _constant_nodes(records, initializers)
        top = tree.root
        if tree.source == "none":
            weights = initializers | {o for r in records if r.id in hidden for o in r.node.output}
            top = derived_tree(records, hidden, weights, outputs,
                               lambda name: self.model.value_info(name)[1], FAN_OUT) or top
        body = _Body(prefix, {r.id: r for r in records}, hidden, {r.id: r.index for r in records})
        body.count(top)
        root = self._add_scope(top, body, kind, label, None)
        root_group = self.groups[root]
        root_group.path = ""
        inputs_items = [self._value_item("input", name) for name in inputs]
        output_items = [self._value_item("output", name) for name in outputs]
        root_group.items[:0] = inputs_items
        root_group.items.extend(output_items)
        for item in (*inputs_items, *output_items):
            self._place(item, root)
        self._add_edges(root, records, hidden, inputs, outputs, initializers)
        return root

    def _shape(self, name: str) -> str:
        if name not in self._shapes:
            self._shapes[name] = format_shape(self.model.value_info(name)[1])
        return self._shapes[name]

    def _value_item(self, kind: str, name: str) -> dict:
        return {"kind": kind, "id": f"{'in' if kind == 'input' else 'out'}:{name}", "label": name,
                "dtype": self.model.value_info(name)[0], "shape": self._shape(name)}

    def _add_scope(self, scope: Scope, body: _Body, kind: str, label: str, parent: str | None) -> str:
        gid = body.prefix + scope.key if scope.path else body.prefix
        group = Group(gid, label, kind, parent, scope.key, nodes=scope.node_count())
        self.groups[gid] = group
        entries: list[tuple[int, dict]] = []  # (topological position, item)
        repeats: dict[str, list[Scope]] = {}
        for child in scope.children.values():
            if child.repeat:
                repeats.setdefault(child.repeat, []).append(child)
        folded = {id(c) for members in repeats.values() if len(members) > 1 for c in members}
        for child in scope.children.values():
            if id(child) not in folded:
                entry = self._child_entry(child, body, gid)
                if entry:
                    entries.append(entry)
        for repeat_label, members in repeats.items():
            if len(members) < 2:
                continue
            rid = f"r:{gid}/{repeat_label}"
            repeat = Group(rid, repeat_label, "repeat", gid, scope.key)
            self.groups[rid] = repeat
            member_entries = [e for m in members if (e := self._child_entry(m, body, rid))]
            member_entries.sort(key=lambda e: e[0])
            repeat.nodes = sum(m.node_count() for m in members)
            self._fill(repeat, member_entries)
            if member_entries:
                entries.append((member_entries[0][0], {"kind": "group", "id": rid, "group": rid, "label": repeat_label,
                                                       "nodes": repeat.nodes, "repeat": len(member_entries)}))
        entries += [(body.order[n], self._node_item(body.by_id[n])) for n in scope.nodes if n not in body.hidden]
        entries.sort(key=lambda e: e[0])
        self._fill(group, entries)
        return gid

    def _child_entry(self, child: Scope, body: _Body, parent: str) -> tuple[int, dict] | None:
        count, first, first_id = body.visible[id(child)]
        if not count:
            # Only constants: they are drawn as weights of their consumers.
            return None
        if count == 1:
            # A scope around one node (a Linear's MatMul, a LayerNorm) adds a frame, not information.
            return first, self._node_item(body.by_id[first_id])
        label = child.name + (f" ({child.class_name})" if child.class_name else "")
        cid = self._add_scope(child, body, "scope", label, parent)
        return first, {"kind": "group", "id": cid, "group": cid, "label": child.name, "nodes": self.groups[cid].nodes}

    def _fill(self, group: Group, entries: list[tuple[int, dict]]) -> None:
        """Puts the items into the group, splitting it when there are too many."""
        items = [item for _, item in entries]
        while len(items) > MAX_ITEMS:
            items = self._split(group, items)
        group.items = items
        for item in items:
            self._place(item, group.id)

    def _place(self, item: dict, group_id: str) -> None:
        self.owner[item["id"]] = group_id
        self.items[item["id"]] = item
        if item["kind"] == "group":
            self.groups[item["group"]].parent = group_id

    def _split(self, group: Group, items: list[dict]) -> list[dict]:
        """Cuts a level into consecutive slices of ``MAX_ITEMS``, each labelled by what it holds:
        its first and last group, or its op types (``Conv·BN·Relu``, then ``part k of n`` where
        slices hold the same ops)."""
        chunks = [items[i:i + MAX_ITEMS] for i in range(0, len(items), MAX_ITEMS)]
        labels = [f"{chunk[0]['label']} – {chunk[-1]['label']}" if all(i["kind"] == "group" for i in chunk)
                  else op_summary([i.get("op") or i["label"] for i in chunk if i["kind"] in ("node", "group")])
                  for chunk in chunks]
        split_items = []
        for k, (chunk, label) in enumerate(zip(chunks, labels), 1):
            sid = f"s:{group.id}:{len(self.groups)}"
            if labels.count(label) > 1:
                label = f"{label}, part {k} of {len(chunks)}"
            split = Group(sid, label, "split", group.id, group.path, items=chunk)
            split.nodes = sum(i.get("nodes", 1) for i in chunk)
            self.groups[sid] = split
            for item in chunk:
                self._place(item, sid)
            split_items.append({"kind": "group", "id": sid, "group": sid, "label": label, "nodes": split.nodes})
        return split_items

    def _node_item(self, record: NodeRecord) -> dict:
        node = record.node
        item: dict = {"kind": "node", "id": record.id, "node": record.id, "label": node.op_type,
                      "op": node.op_type, "domain": node.domain}
        graphs = [[label, f"sg:{record.id}/{label}:"] for label, _ in subgraphs(node)]
        function = self._function_ids.get((node.domain, node.op_type))
        if function:
            graphs.append(["function", f"{function}:"])
        if graphs:
            item["graphs"] = graphs
        return item

    # ---- edges ---------------------------------------------------------------------------
    def _chain(self, item_id: str) -> list[str]:
        chain = [item_id]
        while chain[-1] in self.owner:
            chain.append(self.owner[chain[-1]])
        chain.reverse()
        return chain

    def _add_edges(self, root: str, records: list[NodeRecord], hidden: set[str], inputs: list[str],
                   outputs: list[str], initializers: set[str]) -> None:
        producer: dict[str, str] = {f"{name}": f"in:{name}" for name in inputs}
        constants: dict[str, onnx.NodeProto] = {}  # value name → the hidden node that makes it
        for r in records:
            for name in r.node.output:
                if r.id in hidden:
                    constants[name] = r.node
                elif name:
                    producer[name] = r.id
        consumers: dict[str, set[str]] = {}
        for r in records:
            if r.id in hidden:
                continue
            for name in r.node.input:
                if name in producer:
                    consumers.setdefault(producer[name], set()).add(r.id)
        chains: dict[str, list[str]] = {}

        def chain(item_id: str) -> list[str]:
            if item_id not in chains:
                chains[item_id] = self._chain(item_id)
            return chains[item_id]

        def connect(source: str, target: str, label: str) -> None:
            a, b = chain(source), chain(target)
            k = 0
            while k < min(len(a), len(b)) and a[k] == b[k]:
                k += 1
            if k == 0 or k >= min(len(a), len(b)):
                return  # different graphs, or one end contains the other
            self.groups[a[k - 1]].edges.setdefault((a[k], b[k]), []).append(label)

        outer_inputs: dict[str, dict] = {}
        for r in records:
            if r.id in hidden:
                continue
            item = self.items[r.id]
            input_roles: list[str] | None = None
            for position, name in enumerate(r.node.input):
                if not name:
                    continue
                if name in initializers or name in constants:
                    if input_roles is None:
                        input_roles = self._roles(r.node)
                    weight = [name, self._shape(name), input_roles[position]]
                    value = self._small_value(name, constants.get(name))
                    item.setdefault("weights", []).append(weight if value is None else [*weight, value])
                    continue
                label = self._shape(name)
                source = producer.get(name)
                if source is None:  # a value from an enclosing graph: an input of this body
                    if name not in outer_inputs:
                        outer_inputs[name] = self._value_item("input", name)
                        outer_inputs[name]["label"] = f"{name} (outer)"
                        self.groups[root].items.insert(0, outer_inputs[name])
                        self._place(outer_inputs[name], root)
                    source = outer_inputs[name]["id"]
                elif len(consumers.get(source, ())) > FAN_OUT and self.owner.get(source) != self.owner[r.id]:
                    source = self._ref(source, self.owner[r.id])
                connect(source, r.id, label)
        for name in outputs:
            source = producer.get(name)
            if source is not None:
                connect(source, f"out:{name}", self._shape(name))

    def _roles(self, node: onnx.NodeProto) -> list[str]:
        """The schema's names of a node's inputs, looked up once per op and input count."""
        key = (node.domain, node.op_type, len(node.input))
        if key not in self._role_names:
            self._role_names[key] = roles(schema_of(node, self._versions), len(node.input))
        return self._role_names[key]

    def _small_value(self, name: str, maker: onnx.NodeProto | None) -> str | None:
        """A weight's value as text where it is small (``2``, ``[0, 2, 1, 3]``): read from the
        initializer or the Constant node that holds it; None otherwise."""
        if name not in self._values:
            tensor = self.model.initializers.get(name)
            array = None
            if maker is not None:
                array = constant_value(maker)
            elif tensor is not None and math.prod(tensor.dims) <= SMALL_VALUE_ELEMENTS:
                try:
                    array = self.model.weight(name)
                except WorkbenchError:  # unreadable data: Model.problems names it
                    array = None
            self._values[name] = value_text(array)
        return self._values[name]

    def _ref(self, source: str, group_id: str) -> str:
        ref_id = f"ref:{source}@{group_id}"
        if ref_id not in self.owner:
            node = source[3:] if source.startswith("in:") else source
            ref = {"kind": "ref", "id": ref_id, "node": node, "label": self.items[source]["label"]}
            self.groups[group_id].items.insert(0, ref)
            self._place(ref, group_id)
        return ref_id

