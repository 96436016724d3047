"""A hierarchy for graphs that carry no scopes: stages, blocks and repeats read off the graph.

Classic models (onnx's densenet121, inception, resnet50), converted or simplified ones have no
module scopes and no path-like names. Drawn flat, a few hundred nodes make a drawing nobody can
read; cut by node order they make meaningless chunks. This module derives what a person would
draw by hand instead:

1. **Units** between *single-tensor cuts*: places in the node order where one value alone
   carries everything computed so far to what comes next (in a CNN, between blocks). Values
   read by more than ``fan_out`` nodes (a mask, rotary tables) are drawn as refs and do not
   count, so a transformer's layers are cut at their residual stream too. A branching unit is a
   *block*; consecutive one-node units form a *chain*, drawn as plain nodes. A chain of one or
   two nodes right after a block (the Relu after a residual Sum) belongs to that block.
2. **Repeats**: consecutive blocks of the same structure fold into one group labelled by what
   they hold, ``BN·Relu·Conv·Concat × 6``, the way torch scopes fold into ``layer × 12``.
3. **Stages**: where activations are images (rank 4), consecutive units with the same spatial
   size form a stage, ``stage 3: 14×14``, when the graph's top level would otherwise be long.

Graphs of up to ``FLAT_NODES`` drawn nodes stay flat: they are readable as they are.

"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from ..model.internal import NodeRecord, Scope

#: A value's shape as ``Model.value_info`` gives it: int, str (symbolic) or None per dimension.
Shape = tuple

#: Graphs with at most this many drawn nodes are drawn flat (resnet50's 176 already make a
#: column about 7,000 px tall: it gets stages).
FLAT_NODES = 150
#: The longest run of units (in units) tried as the period of a repeat.
_MAX_PERIOD = 6
#: A top level with more boxes than this is grouped into stages, where there are stages.
_STAGE_BOXES = 12
#: At most this many activations right after a block end it (the Relu after a residual Sum).
_TAIL_NODES = 2
_ACTIVATIONS = frozenset({"Relu", "LeakyRelu", "PRelu", "Sigmoid", "Tanh", "Clip", "HardSigmoid", "HardSwish",
                          "Gelu", "Elu", "Selu", "Softplus", "Mish", "Swish"})
#: At most this many op types name a group; more end in "…".
_LABEL_OPS = 4
#: Short names for long op types in labels (the details panel keeps the full ones).
_SHORT_OPS = {
    "BatchNormalization": "BN",
    "InstanceNormalization": "InstanceNorm",
    "LayerNormalization": "LayerNorm",
    "GlobalAveragePool": "GlobalAvgPool",
    "AveragePool": "AvgPool",
    "ConstantOfShape": "ConstOfShape",
    "SimplifiedLayerNormalization": "RMSNorm",
}
#: Ops left out of a label that names more than four: they say little about what a block is.
_MINOR_OPS = frozenset({"Mul", "Add", "Sub", "Div", "Cast", "Reshape", "Unsqueeze", "Squeeze", "Shape",
                        "Gather", "Identity", "Transpose", "Flatten", "Expand", "Slice"})


def op_summary(ops: Sequence[str]) -> str:
    """A label for what a group holds: its distinct op types in order, shortened and joined by
    ``·`` (``Conv·BN·Relu·Sum``). With more than four, elementwise arithmetic and reshaping go
    first, then the label keeps three and the op that ends the group (``Conv·BN·Relu…Concat``)."""
    distinct = list(dict.fromkeys(_SHORT_OPS.get(op, op) for op in ops))
    if len(distinct) > _LABEL_OPS:
        distinct = [op for op in distinct if op not in _MINOR_OPS] or distinct
    if len(distinct) <= _LABEL_OPS:
        return "·".join(distinct)
    last = _SHORT_OPS.get(ops[-1], ops[-1])
    return "·".join(distinct[:_LABEL_OPS - 1]) + "…" + (last if last not in distinct[:_LABEL_OPS - 1] else "")


@dataclass
class _Unit:
    """A stretch of the node order between two single-tensor cuts."""

    nodes: list[str]
    ops: tuple[str, ...]
    chain: bool  # one-node units run together: drawn as plain nodes
    output: str | None  # the one value crossing the cut after it
    firsts: list[str]  # each node's first output (a chain is split where image sizes change)


@dataclass
class _Repeat:
    """Consecutive runs of units with the same structure."""

    members: list[list[_Unit]]


def derived_tree(records: Sequence[NodeRecord], hidden: set[str], weights: set[str], outputs: Sequence[str],
                 shape_of: Callable[[str], Shape | None], fan_out: int) -> Scope | None:
    """The root of a derived hierarchy for one scope-less graph, or None where the graph is
    small enough to draw flat. ``hidden`` are the nodes drawn as weights (constants) and
    ``weights`` the values drawn so (initializers, hidden nodes' outputs)."""
    drawn = [r for r in records if r.id not in hidden]
    if len(drawn) <= FLAT_NODES:
        return None
    units = _attach_tails(_units(drawn, weights, outputs, fan_out))
    sizes = _SpatialSizes(shape_of)
    stages = [("", units)]
    if sum(len(u.nodes) if u.chain else 1 for u in units) > _STAGE_BOXES:
        stages = _stages(_split_chains(units, sizes), sizes) or stages
    root = Scope("", ())
    number = 0
    for size, members in stages:
        items = _fold(members)
        parent = root
        if len(stages) > 1 and (len(items) > 1 or isinstance(items[0], _Repeat)):
            number += 1
            parent = _child(root, f"stage {number}: {size}" if size else op_summary(_ops(items)))
        for item in items:
            _place(item, parent)
    _attach_hidden(records, hidden, root)
    return root


def _units(drawn: Sequence[NodeRecord], weights: set[str], outputs: Sequence[str], fan_out: int) -> list[_Unit]:
    """Cuts the drawn nodes, in graph order, where at most one value crosses."""
    position: dict[str, int] = {}
    for k, r in enumerate(drawn):
        for name in r.node.output:
            if name:
                position[name] = k
    last: dict[str, int] = {}
    readers: dict[str, int] = {}
    for k, r in enumerate(drawn):
        for name in r.node.input:
            if name:
                last[name] = k
                readers[name] = readers.get(name, 0) + 1
    for name in outputs:
        last[name] = len(drawn)
    # A value is live across the cuts after nodes start … end-1. Values read by many nodes are
    # drawn as refs next to each reader, and weights (never produced here) are not edges.
    starts: dict[int, list[str]] = {}
    ends: dict[int, list[str]] = {}
    for name, end in last.items():
        if readers.get(name, 0) > fan_out or name in weights:
            continue
        start = position.get(name, 0)  # a graph input is live from the start
        if end > start:
            starts.setdefault(start, []).append(name)
            ends.setdefault(end, []).append(name)
    live: set[str] = set()
    segments: list[tuple[list[NodeRecord], str | None]] = []
    current: list[NodeRecord] = []
    for k, r in enumerate(drawn):
        live.update(starts.get(k, ()))
        live.difference_update(ends.get(k, ()))
        current.append(r)
        if len(live) <= 1 and k < len(drawn) - 1:
            segments.append((current, next(iter(live), None)))
            current = []
    segments.append((current, None))
    units: list[_Unit] = []
    for nodes, crossing in segments:
        ops = tuple(r.node.op_type for r in nodes)
        ids = [r.id for r in nodes]
        firsts = [r.node.output[0] if r.node.output else "" for r in nodes]
        if len(nodes) == 1 and units and units[-1].chain:
            units[-1].nodes += ids
            units[-1].ops += ops
            units[-1].firsts += firsts
            units[-1].output = crossing
        else:
            units.append(_Unit(ids, ops, len(nodes) == 1, crossing, firsts))
    return units


def _attach_tails(units: list[_Unit]) -> list[_Unit]:
    """Moves the activations that open a chain (at most two) into the block before it: the
    Relu after a residual Sum ends its block."""
    merged: list[_Unit] = []
    for unit in units:
        previous = merged[-1] if merged else None
        if unit.chain and previous is not None and not previous.chain:
            k = 0
            while k < min(_TAIL_NODES, len(unit.nodes)) and unit.ops[k] in _ACTIVATIONS:
                k += 1
            if k:
                previous.nodes += unit.nodes[:k]
                previous.ops += unit.ops[:k]
                previous.firsts += unit.firsts[:k]
                previous.output = unit.output if k == len(unit.nodes) else unit.firsts[k - 1]
                unit = _Unit(unit.nodes[k:], unit.ops[k:], True, unit.output, unit.firsts[k:])
        if unit.nodes:
            merged.append(unit)
    return merged


def _fold(units: list[_Unit]) -> list[_Unit | _Repeat]:
    """Folds runs of consecutive units with the same structure into repeats, greedily from the
    start, preferring the period that covers the most units (then the shortest)."""
    items: list[_Unit | _Repeat] = []
    i = 0
    while i < len(units):
        best_period, best_count = 1, 1
        for period in range(1, _MAX_PERIOD + 1):
            pattern = [u.ops for u in units[i:i + period]]
            if len(pattern) < period or all(u.chain for u in units[i:i + period]):
                continue
            count = 1
            while [u.ops for u in units[i + count * period:i + (count + 1) * period]] == pattern:
                count += 1
            if count >= 2 and count * period > best_count * best_period:
                best_period, best_count = period, count
        if best_count >= 2:
            members = [units[i + k * best_period:i + (k + 1) * best_period] for k in range(best_count)]
            items.append(_Repeat(members))
            i += best_count * best_period
        else:
            items.append(units[i])
            i += 1
    return items


def _ops(items: Sequence[_Unit | _Repeat]) -> list[str]:
    ops: list[str] = []
    for item in items:
        for unit in item.members[0] if isinstance(item, _Repeat) else [item]:
            ops.extend(unit.ops)
    return ops


class _SpatialSizes:
    """``H×W`` of a value that is an image (rank 4, static spatial dims), else ``""``."""

    def __init__(self, shape_of: Callable[[str], Shape | None]) -> None:
        self._shape_of = shape_of

    def __call__(self, name: str | None) -> str:
        shape = self._shape_of(name) if name else None
        if shape is not None and len(shape) == 4 and all(isinstance(d, int) for d in shape[2:]):
            return f"{shape[2]}×{shape[3]}"
        return ""


def _split_chains(units: list[_Unit], size_of: _SpatialSizes) -> list[_Unit]:
    """Splits chains where the image size changes (a stem's Conv and its MaxPool belong to
    different stages); blocks stay whole."""
    result: list[_Unit] = []
    for unit in units:
        if not unit.chain:
            result.append(unit)
            continue
        start = 0
        sizes = [size_of(name) for name in unit.firsts]
        for k in range(1, len(unit.nodes) + 1):
            if k == len(unit.nodes) or (sizes[k] and sizes[k] != sizes[k - 1]):
                result.append(_Unit(unit.nodes[start:k], unit.ops[start:k], True,
                                    unit.firsts[k - 1] if k < len(unit.nodes) else unit.output,
                                    unit.firsts[start:k]))
                start = k
    return result


def _stages(units: list[_Unit], size_of: _SpatialSizes) -> list[tuple[str, list[_Unit]]]:
    """Consecutive units whose outputs have the same image size, with that size; units with
    other outputs (a classifier head) join the stage before them. Empty where the graph has
    fewer than two image sizes."""
    stages: list[tuple[str, list[_Unit]]] = []
    for unit in units:
        size = size_of(unit.output)
        if stages and (not size or stages[-1][0] == size):
            stages[-1][1].append(unit)
        else:
            stages.append((size, [unit]))
    return stages if sum(1 for size, _ in stages if size) >= 2 else []


def _segment(parent: Scope, label: str) -> str:
    """A child's path segment: its label, told apart from a sibling's with `` (2)``, so that a
    derived group's id and path read like its label (``g:stage 2: 28×28/Conv·BN·Relu·Sum``)."""
    base = label.replace("/", "∕")  # a slash would read as a deeper scope
    segment, n = base, 2
    while segment in parent.children:
        segment, n = f"{base} ({n})", n + 1
    return segment


def _child(parent: Scope, label: str) -> Scope:
    segment = _segment(parent, label)
    child = parent.children[segment] = Scope(label, parent.path + (segment,))
    return child


def _place(item: _Unit | _Repeat, parent: Scope) -> None:
    """Puts an item into ``parent``: a chain's nodes directly, a block as a child scope, a
    repeat as member scopes marked with the repeat's label."""
    if isinstance(item, _Repeat):
        label = op_summary(_ops([item]))
        taken = {c.repeat for c in parent.children.values()}
        repeat = f"{label} × {len(item.members)}"
        n = 2
        while repeat in taken:  # two runs of one block in one stage: told apart
            repeat, n = f"{label} × {len(item.members)} ({n})", n + 1
        for k, member in enumerate(item.members, 1):
            scope = _child(parent, f"{label} #{k}")
            scope.repeat = repeat
            for unit in member:
                if len(member) == 1 or unit.chain:
                    scope.nodes += unit.nodes
                else:
                    _child(scope, op_summary(unit.ops)).nodes += unit.nodes
    elif item.chain:
        parent.nodes += item.nodes
    else:
        _child(parent, op_summary(item.ops)).nodes += item.nodes


def _attach_hidden(records: Sequence[NodeRecord], hidden: set[str], root: Scope) -> None:
    """Puts each hidden node (a constant) in the scope of the first node that reads it, so group
    node counts include the weights' makers."""
    home: dict[str, Scope] = {}
    for scope in root.walk():
        for node_id in scope.nodes:
            home[node_id] = scope
    readers: dict[str, str] = {}
    for r in records:
        for name in r.node.input:
            if name:
                readers.setdefault(name, r.id)
    for r in reversed(records):
        if r.id not in hidden:
            continue
        reader = next((readers[o] for o in r.node.output if o in readers), None)
        scope = home.get(reader, root) if reader else root
        scope.nodes.append(r.id)
        home[r.id] = scope
