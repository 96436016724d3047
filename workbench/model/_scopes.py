"""The module/scope hierarchy of a model, built once and shared by every view.

Where a node's scope comes from, in order of preference:

1. torch dynamo metadata: ``pkg.torch.onnx.name_scopes`` (module paths, the last item
   the FX node name) with ``pkg.torch.onnx.class_hierarchy`` for the module classes;
2. scoped names: ``/encoder/layer.0/attention/MatMul`` → ``encoder/layer.0/attention``
   (TorchScript), ``model/dense_1/MatMul`` → ``model/dense_1`` (TensorFlow via tf2onnx);
3. nothing: the model is flat.

Nodes with no scope of their own in a scoped model are attached where they belong: a node an
exporter generated (tf2onnx's ``MatMul__468``, writing out an Einsum or a layout) joins the
deepest scope the nodes feeding it all sit in, if any; others (mostly Constants) the deepest
scope shared by their consumers, so they sit next to what uses them. A node
that an exporter wrote once in the first of several repeated blocks and shares with the
others (BERT's attention-mask ``Where``, read by every layer) belongs to their common
parent, with the nodes that only feed it.

Sibling scopes of the same module class, with the same structure and names that differ only
by a ``.``-separated index (``layer.0``, ``layer.1``, … as torch names the items of a
``ModuleList``) are recognised as repeats of one block; ``ln_1``/``ln_2`` or ``fc1``/``fc2``
are different modules and keep their names. Scopes are in the model's forward order: a
scope comes where its first computing node (one that reads a graph input or another node's
output, not only weights) does, whatever order the exporter wrote nodes in.
"""

from __future__ import annotations

import ast
import difflib
import html
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Iterator, Mapping, Sequence

import onnx

from ..errors import NotFoundError
from ._walk import NodeRecord, node_metadata

if TYPE_CHECKING:
    import pandas as pd

NAME_SCOPES_KEY = "pkg.torch.onnx.name_scopes"
CLASS_HIERARCHY_KEY = "pkg.torch.onnx.class_hierarchy"

ScopePath = tuple[str, ...]
#: A ModuleList/Sequential item: ``layer.0`` (dynamo, TorchScript) or a bare ``0`` (nested Sequential).
_INDEXED = re.compile(r"^(?:(.+)\.)?(\d+)$")


@dataclass
class NodeScope:
    """Where one node sits: its scope path, where that came from, and module classes."""

    path: ScopePath | None  # None: the node carries no scope information
    #: "metadata", "name", "producers", "consumers", "reference" (another model's: see Model.with_scopes) or "none"
    source: str
    classes: tuple[str, ...] = ()  # module class per path segment (metadata only)


_QUOTED = re.compile(r"'([^'\\]*)'|\"([^\"\\]*)\"")


def _literal_list(text: str) -> list[str] | None:
    """Parses a Python-repr list of strings, as the torch exporter writes them."""
    if text.startswith("[") and text.endswith("]") and "\\" not in text:
        # Fast path (10x faster than literal_eval on the usual ['', 'a', 'a.b', 'op']).
        return [a or b for a, b in _QUOTED.findall(text)]
    try:
        value = ast.literal_eval(text)  # literal_eval evaluates literals only: safe on model strings
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else None


#: Class hierarchies repeat from node to node (every node of a block has its block's): parsed once each.
_cached_list = lru_cache(maxsize=4096)(_literal_list)


#: What torch's exporter writes as the module of nodes that have none (shape arithmetic).
_NO_MODULE = "_empty_nn_module_stack"


_SCOPE_KEYS = frozenset({NAME_SCOPES_KEY, CLASS_HIERARCHY_KEY})


def scope_of(node: onnx.NodeProto) -> NodeScope:
    """The scope a node declares itself, from metadata or from its name."""
    meta = node_metadata(node, _SCOPE_KEYS)
    scopes_text, classes_text = meta.get(NAME_SCOPES_KEY), meta.get(CLASS_HIERARCHY_KEY)
    if scopes_text is not None:
        items = _literal_list(scopes_text)
        if items is not None:
            # drop the root '', the FX node name, and torch's stand-in for "no module"
            modules = [m for m in items[:-1] if m and not m.startswith(_NO_MODULE)]
            segments: list[str] = []
            previous = ""
            for module in modules:
                nested = previous and module.startswith(previous + ".")
                segments.append(module[len(previous) + 1:] if nested else module)
                previous = module
            classes = _cached_list(classes_text or "[]") or []
            return NodeScope(tuple(segments), "metadata", tuple(classes[1:1 + len(segments)]))
    named = tuple(s for s in node.name.split("/")[:-1] if s)  # "/enc/layer.0/MatMul", "model/dense/MatMul"
    while named and _is_node_name(named[-1]):  # an optimizer's fused node: "node_MatMul_77/MatMulAddFusion"
        named = named[:-1]
    if named:
        return NodeScope(named, "name")
    return NodeScope(None, "none")


#: How exporters name nodes: ``node_MatMul_77`` (torch dynamo), ``MatMul_3`` (TorchScript's last segment),
#: ``MatMul__468`` (tf2onnx).
_NODE_NAME = re.compile(r"^(?:node_)?([A-Z][A-Za-z0-9]*)__?\d+$")
#: A node a converter generated with no scope: tf2onnx's ``Transpose__20`` or ``const_fold_opt__15``.
_GENERATED = re.compile(r"^[A-Za-z][A-Za-z0-9_]*__\d+$")


def _is_node_name(segment: str) -> bool:
    """Whether a name segment is a node's name (an op type and a number), not a module's: the
    part an optimizer keeps of the node it fused, which would make a scope of one node."""
    found = _NODE_NAME.match(segment)
    return found is not None and onnx.defs.has(found[1])


def assign_scopes(records: Sequence[NodeRecord], given: Mapping[str, NodeScope] | None = None) -> dict[str, NodeScope]:
    """Scopes for every node id, with unscoped nodes attached to their consumers' scope.

    ``given`` scopes (by node id) take the place of what those nodes declare themselves."""
    given = given or {}
    scopes = {r.id: given.get(r.id) or scope_of(r.node) for r in records}
    if not any(s.path is not None for s in scopes.values()):
        return {node_id: NodeScope((), "none") for node_id in scopes}
    consumers: dict[str, list[str]] = {}
    for r in records:
        for name in r.node.input:
            if name:
                consumers.setdefault(name, []).append(r.id)
    _join_producers(records, scopes)
    # Reverse order: a Constant feeding a Constant-fed node resolves after its consumer.
    for r in reversed(records):
        scope = scopes[r.id]
        if scope.path is not None:
            continue
        paths = [p for out in r.node.output for c in consumers.get(out, []) if (p := scopes[c].path) is not None]
        scopes[r.id] = NodeScope(_common_prefix(paths) if paths else (), "consumers")
    _lift_shared(records, scopes, consumers)
    return scopes


def _join_producers(records: Sequence[NodeRecord], scopes: dict[str, NodeScope]) -> None:
    """Puts each unscoped generated node in the scope of the nodes feeding it, the deepest they
    all sit in, if any (in graph order, so a chain of them follows its head): the 49
    nodes tf2onnx writes for an attention's Einsums belong to the attention, not to the residual
    Add that reads its end."""
    producer = {o: r.id for r in records for o in r.node.output if o}
    for r in records:
        if scopes[r.id].path is not None or not _GENERATED.match(r.node.name):
            continue
        # the scoped ones: a Constant feeding it has none of its own yet (it goes to its consumers)
        paths = [p for name in r.node.input if name in producer and (p := scopes[producer[name]].path) is not None]
        if not paths:
            continue
        common = _common_prefix(paths)
        if common:  # they agree: all in one scope, or in scopes inside one (an attention's query and key)
            scopes[r.id] = NodeScope(common, "producers")


def _lift_shared(records: Sequence[NodeRecord], scopes: dict[str, NodeScope],
                 consumers: dict[str, list[str]]) -> None:
    """Moves a node read by its own repeated block and by its indexed siblings (``layer.0`` and
    ``layer.1``…) to their common parent, with the nodes of its block that only feed it: the
    exporter wrote it once, in the first block, but it belongs to none of them."""
    lifted: set[str] = set()
    for r in reversed(records):
        own = scopes[r.id].path
        readers = [c for out in r.node.output for c in consumers.get(out, [])]
        if not own or not readers:
            continue
        if all(c in lifted for c in readers):  # feeds only what was lifted: goes along
            parent = _common_prefix([scopes[c].path or () for c in readers])
            if len(parent) < len(own) and own[:len(parent)] == parent:
                scopes[r.id] = NodeScope(parent, scopes[r.id].source, scopes[r.id].classes[:len(parent)])
                lifted.add(r.id)
            continue
        paths = [scopes[c].path or () for c in readers]
        parent = _common_prefix(paths + [own])
        if len(parent) >= len(own):
            continue
        blocks = {p[len(parent)] for p in paths if len(p) > len(parent)}
        stems = {m.group(1) or "" for b in blocks if (m := _INDEXED.match(b))}
        # read in its own block and in others of the same ModuleList (not only in the next one,
        # as a block's output is)
        indexed = len(blocks) >= 2 and len(stems) == 1 and all(_INDEXED.match(b) for b in blocks)
        if own[len(parent)] in blocks and indexed:
            scopes[r.id] = NodeScope(parent, scopes[r.id].source, scopes[r.id].classes[:len(parent)])
            lifted.add(r.id)


def _common_prefix(paths: list[ScopePath]) -> ScopePath:
    prefix = paths[0]
    for path in paths[1:]:
        n = 0
        while n < min(len(prefix), len(path)) and prefix[n] == path[n]:
            n += 1
        prefix = prefix[:n]
    return prefix


@dataclass
class Scope:
    """One module or name scope, with the nodes directly in it and its child scopes."""

    name: str
    path: ScopePath
    class_name: str = ""
    nodes: list[str] = field(default_factory=list)  # ids of the nodes directly in this scope
    children: dict[str, "Scope"] = field(default_factory=dict)
    signature: int = 0  # equal for scopes of identical structure
    repeat: str = ""  # e.g. "layer × 12" for each member of a repeated block

    @property
    def key(self) -> str:
        """The path as one string, e.g. ``encoder/layer.0``; ``""`` for the root."""
        return "/".join(self.path)

    def walk(self) -> Iterator["Scope"]:
        """This scope and every scope under it, depth first."""
        yield self
        for child in self.children.values():
            yield from child.walk()

    def node_count(self) -> int:
        """Nodes in this scope and all scopes under it."""
        return sum(len(s.nodes) for s in self.walk())


class ScopeTree:
    """The scope hierarchy of a model; ``Model.scopes`` builds it once.

    ``tree.root`` is the top scope; ``tree.find("encoder/layer.0")`` looks one up;
    ``tree.repeats`` lists repeated blocks; ``tree.to_frame()`` is one row per scope.
    """

    def __init__(self, scopes: dict[str, NodeScope], source: str) -> None:
        #: Where the scopes came from: "metadata", "name" or "none" (a flat model).
        self.source = source
        self.root = Scope("", ())
        for node_id, node_scope in scopes.items():
            scope = self.root
            for depth, segment in enumerate(node_scope.path or ()):
                child = scope.children.get(segment)
                if child is None:
                    class_name = node_scope.classes[depth] if depth < len(node_scope.classes) else ""
                    child = scope.children[segment] = Scope(segment, scope.path + (segment,), class_name)
                scope = child
            scope.nodes.append(node_id)
        self._by_key = {s.key: s for s in self.root.walk()}

    def find(self, key: str) -> Scope:
        """The scope at ``key`` (segments joined by ``/``); raises ``KeyError`` naming near misses."""
        try:
            return self._by_key[key]
        except KeyError:
            close = difflib.get_close_matches(key, list(self._by_key), n=5)
            raise NotFoundError(f"No scope {key!r}." + (f" Did you mean one of {close}?" if close else "")) from None

    def __iter__(self) -> Iterator[Scope]:
        return self.root.walk()

    def __len__(self) -> int:
        return len(self._by_key)

    @property
    def repeats(self) -> list[tuple[str, int]]:
        """``(label, count)`` for each repeated block, e.g. ``("encoder/layer × 12", 12)``."""
        seen: dict[str, int] = {}
        for scope in self:
            if scope.repeat:
                label = "/".join(scope.path[:-1] + (scope.repeat,))
                seen[label] = seen.get(label, 0) + 1
        return list(seen.items())

    def to_frame(self) -> pd.DataFrame:
        """One row per scope: path, depth, class, direct and total node counts, repeat label."""
        rows = [
            {
                "scope": s.key,
                "depth": len(s.path),
                "name": s.name,
                "class": s.class_name,
                "nodes": len(s.nodes),
                "total_nodes": s.node_count(),
                "children": len(s.children),
                "repeat": s.repeat,
            }
            for s in self
        ]
        import pandas as pd

        return pd.DataFrame(rows).set_index("scope")

    def _lines(self, max_lines: int = 60) -> list[tuple[int, str]]:
        lines: list[tuple[int, str]] = []

        def visit(scope: Scope, depth: int) -> None:
            shown_repeats: set[str] = set()
            for child in scope.children.values():
                if len(lines) >= max_lines:
                    return
                if child.repeat:
                    if child.repeat in shown_repeats:
                        continue
                    shown_repeats.add(child.repeat)
                    each = f"{child.repeat}  [{child.node_count()} nodes each] {child.class_name}"
                    lines.append((depth, each.rstrip()))
                    visit(child, depth + 1)
                else:
                    lines.append((depth, f"{child.name}  [{child.node_count()} nodes] {child.class_name}".rstrip()))
                    visit(child, depth + 1)

        visit(self.root, 0)
        return lines

    def __repr__(self) -> str:
        head = f"ScopeTree({len(self) - 1} scopes from {self.source}, {self.root.node_count()} nodes)"
        return "\n".join([head] + ["  " * (d + 1) + text for d, text in self._lines()])

    def _repr_html_(self) -> str:
        head = html.escape(f"{len(self) - 1} scopes (from {self.source}), {self.root.node_count()} nodes")
        body = "".join(
            f'<div style="padding-left:{1.2 * d:.1f}em;font-family:monospace">{html.escape(t)}</div>'
            for d, t in self._lines()
        )
        return f"<div><b>{head}</b>{body}</div>"


def _sign(scope: Scope, op_types: dict[str, str]) -> int:
    for child in scope.children.values():
        _sign(child, op_types)
    structure = (
        tuple(op_types[n] for n in scope.nodes),
        tuple((_INDEXED.sub(r"\1#", c.name), c.signature) for c in scope.children.values()),
    )
    scope.signature = hash(structure)
    return scope.signature


def _mark_repeats(scope: Scope) -> None:
    groups: dict[tuple[str, str, int], list[Scope]] = {}
    for child in scope.children.values():
        match = _INDEXED.match(child.name)
        if match and child.node_count() > 0:
            groups.setdefault((match.group(1) or "", child.class_name, child.signature), []).append(child)
        _mark_repeats(child)
    for (stem, _, _), members in groups.items():
        if len(members) >= 2:
            label = stem or f"{members[0].name}…{members[-1].name}"
            for member in members:
                member.repeat = f"{label} × {len(members)}"


def _forward_order(scope: Scope, first: dict[str, int]) -> int:
    """Orders ``scope``'s children by where their first computing node runs; returns that place
    for ``scope`` itself (its own nodes' and its children's earliest)."""
    places = {name: _forward_order(child, first) for name, child in scope.children.items()}
    scope.children = dict(sorted(scope.children.items(), key=lambda item: places[item[0]]))
    own = [first[n] for n in scope.nodes if n in first]
    return min([*own, *places.values()], default=len(first))


def build_tree(records: Sequence[NodeRecord], scopes: dict[str, NodeScope]) -> ScopeTree:
    """Builds the :class:`ScopeTree` and marks repeated blocks."""
    sources = {s.source for s in scopes.values()}
    source = "metadata" if "metadata" in sources else "name" if "name" in sources else "none"
    tree = ScopeTree(scopes, source)
    produced = {o for r in records for o in r.node.output if o}
    # An exporter may hoist Constants and Identity copies of weights to the top, in any order
    # (TorchScript writes them reversed): they do not set where a scope comes.
    first = {r.id: i for i, r in enumerate(records)
             if not (r.node.op_type in ("Constant", "Identity") and not produced.intersection(r.node.input))}
    _forward_order(tree.root, first)
    tree._by_key = {s.key: s for s in tree.root.walk()}
    _sign(tree.root, {r.id: r.node.op_type for r in records})
    _mark_repeats(tree.root)
    return tree
