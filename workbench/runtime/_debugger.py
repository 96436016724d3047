"""The step-through debugger: a cursor over one captured run (see ``docs/debugger.md``)."""

from __future__ import annotations

import time
import warnings
import weakref
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np
import onnx

from .. import _hooks
from ..errors import DebuggerError, DebuggerWarning, InputError, SessionError
from ..model.internal import subgraphs, tensor_stats
from ._capture import Store, capture, default_budget, refused
from ._inputs import make_feeds
from ._providers import COMPILING, REFERENCE, resolve
from ._session import Runner, check_runnable, fed_weights, infer_values, light_model, make_runner, value_sizes
from ._values import Value, as_value, describe, dtype_name, same_structure, tensors, typed

if TYPE_CHECKING:
    import pandas as pd

    from ..model import Model
    from ..model.internal import NodeRecord

Condition = Callable[["Step"], bool]


def _stats(value: Value) -> dict[str, Any]:
    """Shape, dtype and value statistics (min, max, mean, std, zeros, NaN/Inf) of one value; of a
    sequence, map or optional, its type in words and the statistics over all its tensors."""
    if isinstance(value, np.ndarray):
        return {"shape": tuple(value.shape), "dtype": dtype_name(value.dtype), **tensor_stats(value)}
    parts = [t.reshape(-1) for _, t in tensors(value)]
    dtypes = {dtype_name(p.dtype) for p in parts}
    stats = tensor_stats(np.concatenate(parts)) if parts and len(dtypes) == 1 else {}
    return {"shape": describe(value), "dtype": dtypes.pop() if len(dtypes) == 1 else "", **stats}


@dataclass
class Step:
    """One executed node: where it is in the run, and its input and output values."""

    index: int
    node: str
    op_type: str
    inputs: dict[str, Value]
    outputs: dict[str, Value]
    model: Model = field(repr=False, compare=False)

    @property
    def scope(self) -> str:
        """The node's module path, "" at the top. Read on demand: the model's scopes are worked
        out on first use (0.3 s at 10,000 nodes), which a run stepped to its end never needs."""
        return self.model.scope_path(self.node)

    def frame(self) -> pd.DataFrame:
        """One row per input and output value: role, shape, dtype, min, max, mean, std, NaN/Inf."""
        rows = [{"value": n, "role": "input", **_stats(a)} for n, a in self.inputs.items()]
        rows += [{"value": n, "role": "output", **_stats(a)} for n, a in self.outputs.items()]
        import pandas as pd  # on first use: stepping never pays for it

        return pd.DataFrame(rows).set_index("value")

    def __repr__(self) -> str:
        outs = ", ".join(f"{n}: {describe(a)}" for n, a in self.outputs.items())
        return f"Step {self.index}: {self.op_type} {self.node!r} → {outs}"


@dataclass
class Breakpoint:
    """Where ``continue_()`` stops: a node, an op type, a scope (prefix) or a condition."""

    node: str | None = None
    op_type: str | None = None
    scope: str | None = None
    condition: Condition | None = field(default=None, repr=False)

    def matches(self, step: Step) -> bool:
        """True when every criterion given matches ``step``."""
        if self.node is not None and step.node != self.node:
            return False
        if self.op_type is not None and step.op_type != self.op_type:
            return False
        if self.scope is not None and not (step.scope == self.scope or step.scope.startswith(self.scope + "/")):
            return False
        return self.condition is None or bool(self.condition(step))


class Debugger:
    """Steps through one run of a model, node by node; make one with :func:`workbench.debug`."""

    def __init__(self, model: "Model", inputs: Mapping[str, Any] | None = None, *,
                 provider: str | Sequence[str] = "cpu", budget: int | None = None,
                 dims: Mapping[str, int] | None = None, body: tuple[str, onnx.GraphProto] | None = None,
                 isolate: bool | None = None, declared: Mapping[str, onnx.TypeProto] | None = None) -> None:
        self.model = model
        self._providers = resolve(provider)
        #: Whether onnxruntime runs in a worker process (see :func:`debug`).
        self.isolate = bool(self._providers) and (bool(model.problems) if isolate is None else isolate)
        #: The backend: onnxruntime providers joined by "+", or "reference".
        self.provider = "+".join(self._providers) if self._providers else REFERENCE
        #: Which graph the values come from.
        self.optimization = ("reference evaluator: the graph as authored" if not self._providers else
                             "ORT_DISABLE_ALL: the graph as authored (no fusions)")
        if body is None:
            label, graph = "", model.proto.graph
            feeds = make_feeds(model, inputs, dims=dims)
        else:  # a control-flow body (see step_into): its inputs and the outer values it reads
            (label, graph), feeds = body, dict(inputs or {})
        #: The graph stepped through: "" for the main graph, else "<node id>/<attribute>".
        self.graph = label
        self._graph = graph
        graph_inputs = {i.name for i in graph.input}
        # a body's outer values are typed by what they hold, else by the enclosing run's types
        self._outer = typed({n: a for n, a in feeds.items() if n not in graph_inputs}, declared or {})
        self._records: list[NodeRecord] = [r for r in model.records if r.graph == label]
        self._by_id = {r.id: i for i, r in enumerate(self._records)}
        self._initializers = {t.name for t in graph.initializer}
        names = [o for r in self._records for o in r.node.output if o]
        self._store = Store(default_budget() if budget is None else int(budget))
        for name, value in feeds.items():
            self._store.put(name, value)
        self._weights: dict[str, np.ndarray] = {}
        self._edited: set[str] = set()
        self._node_runners: dict[str, Runner] = {}
        self.breakpoints: list[Breakpoint] = []
        self._listeners: list[weakref.WeakMethod] = []

        if body is None:
            check_runnable(graph)
        started = time.perf_counter()
        run_feeds = {**feeds, **{n: self._weight(n) for n in fed_weights(graph)}}
        # The run of every value (the usual case: one window), made first for the sizes its
        # runtime inferred; dropped once the capture needs windows. (No node: nothing to run.)
        whole: Runner | None = None
        sizes: dict[str, float] = {}
        producer = {o: r.index for r in self._records for o in r.node.output if o}
        #: Values the provider would not give as outputs (a compiling provider's compiler fused
        #: them away): not captured; :meth:`tensor` says so. Empty on the CPU.
        self.unexposed: list[str] = []
        if names:
            light = light_model(model, graph, names, self._outer, feeds)
            try:
                whole = self._runner(light)
            except SessionError as exc:
                self.unexposed = self._refused(names, producer, feeds, exc)
                names = [n for n in names if n not in self.unexposed]
                light = light_model(model, graph, names, self._outer, feeds)
                whole = self._runner(light)
            sizes = value_sizes(whole, light, feeds)
            del light

        def runner(window: Sequence[str]) -> Runner:
            nonlocal whole
            if whole is not None and len(window) == len(names):
                return whole
            whole = None
            needed = 1 + max(producer[name] for name in window)  # the nodes after it compute nothing asked
            return self._runner(light_model(model, graph, window, self._outer, feeds, nodes=needed))

        runs = capture(runner, names, run_feeds, self._store, sizes, progress=not label)
        del whole, runner
        self._memory = {"budget": self._store.budget, "runs": runs,
                        "capture_seconds": round(time.perf_counter() - started, 3)}
        self._position = -1

    def _refused(self, names: Sequence[str], producer: Mapping[str, int], feeds: Mapping[str, Value],
                 error: SessionError) -> list[str]:
        """On a provider that compiles subgraphs, the values it refuses as outputs (found by
        halving the list: see :func:`refused`); ``error`` again where it refuses the graph's own
        outputs too, or is no such provider (then the fault is not the values asked for)."""
        if not COMPILING.intersection(self._providers):
            raise error

        def loads(window: Sequence[str]) -> bool:  # the whole graph each time: what the provider compiles
            try:
                self._runner(light_model(self.model, self._graph, window, self._outer, feeds))
            except SessionError:
                return False
            return True

        own = [o.name for o in self._graph.output if o.name in producer]
        if own and not loads(own):
            raise error
        found = refused(loads, names)
        if len(found) == len(names):
            raise error
        warnings.warn(f"{self.provider} will not give {len(found)} of the {len(names)} values as outputs (its "
                      f"compiler fuses them away): {found[:8]}{' …' if len(found) > 8 else ''}. They are not "
                      "captured; the others are. Debug on provider='cpu' to see every value.", DebuggerWarning,
                      stacklevel=4)
        return found

    def _runner(self, light: onnx.ModelProto, threads: int = 0) -> Runner:
        # the reference evaluator needs the values' declared types: inferred once, kept
        return make_runner(light, self._providers, threads=threads, problems=self.model.problems,
                           isolate=self.isolate, types=None if self._providers else self._types)

    @cached_property
    def _types(self) -> dict[str, onnx.TypeProto]:
        """The declared type of every value of the graph stepped through, from onnx's shape inference:
        made on first use (the reference evaluator, a body, a node run alone), which a capture on
        onnxruntime never is."""
        feeds = {i.name: self._store[i.name] for i in self._graph.input if i.name in self._store}
        return infer_values(light_model(self.model, self._graph, [], self._outer), feeds)[1]

    # ---- listeners (the widget) ----------------------------------------------------------
    def on_change(self, method: Callable[[], Any]) -> None:
        """Calls the bound ``method`` after every move, breakpoint change or re-run.

        Held weakly: a widget that is gone stops being called.
        """
        self._listeners.append(weakref.WeakMethod(method))

    def _changed(self) -> None:
        alive = [ref for ref in self._listeners if ref() is not None]
        self._listeners = alive
        for ref in alive:
            method = ref()
            if method is not None:
                method()

    @property
    def position(self) -> int:
        """Index in :attr:`steps` of the node just executed; -1 before the first."""
        return self._position

    @position.setter
    def position(self, value: int) -> None:
        self._position = value
        self._changed()

    # ---- what there is --------------------------------------------------------------------
    @property
    def steps(self) -> list[str]:
        """Node ids in execution order (the main graph's authored order)."""
        return [r.id for r in self._records]

    @property
    def memory(self) -> dict:
        """What the capture did: budget, runs (windows), bytes in memory and spilled to disk."""
        return {**self._memory, "in_memory": self._store.in_memory, "spilled": self._store.spilled}

    def _weight(self, name: str) -> np.ndarray:
        if name not in self._weights:
            self._weights[name] = np.asarray(self.model.weight(name))
        return self._weights[name]

    def tensor(self, name: str) -> Value:
        """A value by name: an input, a weight or any captured intermediate.

        A tensor is an array of the dtype the model declares (float8, int4, bfloat16 as
        ``ml_dtypes`` types); a sequence is a list, a map a dict, an empty optional None.
        """
        if name in self._store:
            return self._store[name]
        if name in self._initializers:
            return self._weight(name)
        if name in self.unexposed:
            raise DebuggerError(f"{self.provider} does not give {name!r} as an output (its compiler fuses it away), "
                                "so this run has no value for it. Debug on provider='cpu' to see it.")
        raise DebuggerError(f"No value named {name!r} in this run; values are the graph's inputs, weights and "
                            "node outputs (see Model.nodes.outputs).")

    def get(self, name: str, default: Any = None) -> Value | Any:
        """Value ``name`` as :meth:`tensor` gives it, or ``default`` where this run has none (no
        such value, or one the provider does not give)."""
        if name in self._store:
            return self._store[name]
        return self._weight(name) if name in self._initializers else default

    def step_at(self, index: int) -> Step:
        """The step at ``index`` of :attr:`steps`, as captured, wherever the cursor is."""
        record = self._records[index]
        node = record.node
        inputs = {n: self.tensor(n) for n in node.input if n and n not in self.unexposed}
        outputs = {n: self.tensor(n) for n in node.output if n and n not in self.unexposed}
        return Step(index, record.id, node.op_type, inputs, outputs, self.model)

    @property
    def current(self) -> Step | None:
        """The node just executed, with its inputs and outputs; None before the first step."""
        return None if self.position < 0 else self.step_at(self.position)

    @property
    def outputs(self) -> dict[str, Value]:
        """The graph's outputs from this run (after any edits and ``rerun()``)."""
        return {o.name: self.tensor(o.name) for o in self.model.proto.graph.output}

    @property
    def trace(self) -> pd.DataFrame:
        """One row per executed node so far: op, scope and its first output's statistics."""
        rows = []
        for index in range(self.position + 1):
            record = self._records[index]
            first = next((o for o in record.node.output if o), None)
            row = {"step": index, "node": record.id, "op_type": record.node.op_type,
                   "scope": self.model.scope_path(record.id), "output": first}
            if first is not None and first not in self.unexposed:
                row.update(_stats(self.tensor(first)))
            rows.append(row)
        columns = ["step", "node", "op_type", "scope", "output", "shape", "dtype", "min", "max", "mean", "std",
                   "nonfinite"]
        import pandas as pd

        return pd.DataFrame(rows, columns=columns).set_index("step")

    # ---- moving -------------------------------------------------------------------------
    def _index(self, node_id: str) -> int:
        try:
            return self._by_id[node_id]
        except KeyError:
            raise DebuggerError(f"No node {node_id!r} in the main graph; step targets are Debugger.steps "
                                "(If/Loop/Scan bodies run as one step).") from None

    def step(self, n: int = 1) -> Step | None:
        """Executes the next ``n`` nodes; stops at the last node."""
        if self.position >= len(self._records) - 1 and n > 0:
            raise DebuggerError("The run is at its last node; back() or reset() to go again.")
        self.position = max(-1, min(self.position + n, len(self._records) - 1))
        return self.current

    def back(self, n: int = 1) -> Step | None:
        """Goes back ``n`` nodes (to before the first one at most)."""
        return self.step(-n) if self.position > -1 else None

    def reset(self) -> None:
        """Back to before the first node."""
        self.position = -1

    def run_to(self, node_id: str) -> Step | None:
        """Moves to ``node_id`` (forward or back), which becomes ``current``."""
        self.position = self._index(node_id)
        return self.current

    def continue_(self) -> Step | None:
        """Runs to the next breakpoint (which becomes ``current``), or to the last node.

        When there are breakpoints and none matched, it says so (a :class:`DebuggerWarning`):
        a condition that never holds should not read as one that stopped at the end.
        """
        start = self.position
        for index in range(self.position + 1, len(self._records)):
            if self.breakpoints and any(b.matches(self.step_at(index)) for b in self.breakpoints):
                self.position = index
                return self.current
        self.position = len(self._records) - 1
        if self.breakpoints and self.position > start:
            warnings.warn(f"No breakpoint matched in the {self.position - start} node(s) run "
                          f"({len(self.breakpoints)} breakpoint(s) set): stopped at the last node, "
                          f"{self._records[-1].id!r}.", DebuggerWarning, stacklevel=2)
        return self.current

    # ---- control flow ---------------------------------------------------------------------
    def step_into(self, iteration: int = 0) -> "Debugger":
        """A debugger over the body the current If or Loop node ran, positioned before its first node.

        For an If, the branch its condition chose; for a Loop, the body at ``iteration``
        (0-based; earlier iterations are re-run to get its inputs). The body runs on this
        debugger's backend, with the values it reads from enclosing graphs.
        """
        step = self.current
        if step is None or step.op_type not in ("If", "Loop"):
            raise DebuggerError("step_into() needs an If or Loop node as the current step "
                                f"(now: {'none' if step is None else step.op_type}).")
        node = self._records[self.position].node
        bodies = dict(subgraphs(node))
        outer = {n: self.tensor(n) for n in _outer_names(node)}
        if node.op_type == "If":
            branch = "then_branch" if bool(np.asarray(step.inputs[node.input[0]]).reshape(-1)[0]) else "else_branch"
            return Debugger(self.model, outer, provider=self._provider_arg(),
                            body=(f"{step.node}/{branch}", bodies[branch]), isolate=self.isolate, declared=self._types)
        body = bodies["body"]
        feeds = self._loop_inputs(node, body, outer, iteration)
        return Debugger(self.model, {**outer, **feeds}, provider=self._provider_arg(),
                        body=(f"{step.node}/body", body), isolate=self.isolate, declared=self._types)

    def _provider_arg(self) -> str | list[str]:
        return self._providers if self._providers else REFERENCE

    def _loop_inputs(self, node: onnx.NodeProto, body: onnx.GraphProto, outer: Mapping[str, Value],
                     iteration: int) -> dict[str, Value]:
        """The body's formal inputs at ``iteration``: the Loop's semantics, driven from here."""
        trip = self.tensor(node.input[0]) if node.input[0] else None
        cond = self.tensor(node.input[1]) if len(node.input) > 1 and node.input[1] else np.array(True)
        carried = [self.tensor(n) for n in node.input[2:]]
        names = [i.name for i in body.input]
        outputs = [o.name for o in body.output][: 1 + len(carried)]
        run = make_runner(light_model(self.model, body, outputs, typed(outer, self._types)), self._providers,
                          problems=self.model.problems, isolate=self.isolate)
        for i in range(iteration + 1):
            over = trip is not None and i >= int(np.asarray(trip).reshape(-1)[0])
            if over or not bool(np.asarray(cond).reshape(-1)[0]):
                raise DebuggerError(f"The Loop {node.name or node.op_type!r} ran {i} iteration(s); "
                                    f"iteration {iteration} does not exist.")
            feeds = dict(zip(names, [np.array(i, dtype=np.int64), np.asarray(cond, dtype=np.bool_), *carried]))
            if i == iteration:
                return feeds
            cond, *carried = run(outputs, {**outer, **feeds, **{n: self._weight(n) for n in fed_weights(body)}})
        raise AssertionError("unreachable")

    # ---- breakpoints ----------------------------------------------------------------------
    def break_on(self, *, node: str | None = None, op_type: str | None = None,
                 scope: str | None = None) -> Breakpoint:
        """Adds a breakpoint at a node, any node of an op type, or any node in a scope."""
        if node is None and op_type is None and scope is None:
            raise DebuggerError("break_on needs node=, op_type= or scope=.")
        if node is not None:
            self._index(node)
        breakpoint_ = Breakpoint(node=node, op_type=op_type, scope=scope)
        self.breakpoints.append(breakpoint_)
        self._changed()
        return breakpoint_

    def break_when(self, condition: Condition) -> Breakpoint:
        """Adds a breakpoint on a condition over a step, e.g. ``wb.conditions.nonfinite``."""
        breakpoint_ = Breakpoint(condition=condition)
        self.breakpoints.append(breakpoint_)
        self._changed()
        return breakpoint_

    def remove_breakpoint(self, breakpoint_: Breakpoint) -> None:
        """Removes one breakpoint."""
        self.breakpoints.remove(breakpoint_)
        self._changed()

    def clear_breakpoints(self) -> None:
        """Removes every breakpoint."""
        self.breakpoints.clear()
        self._changed()

    # ---- edits ----------------------------------------------------------------------------
    def set_tensor(self, name: str, array: Any) -> None:
        """Replaces a value (input, weight or intermediate); ``rerun()`` recomputes what depends on it."""
        old = self.tensor(name)
        new = as_value(array)
        differs = same_structure(old, new) or (isinstance(old, np.ndarray) and isinstance(new, np.ndarray)
                                               and (new.dtype, new.shape) != (old.dtype, old.shape))
        if differs:
            raise InputError(f"{name!r} is {describe(old)}; the new value is {describe(new)}. "
                             "Give a value of the same kind, with the same dtype and shape.")
        if name in self._initializers and name not in self._store and isinstance(new, np.ndarray):
            self._weights[name] = new  # a weight, an array like the one it replaces
        else:
            self._store.put(name, new)
        self._edited.add(name)

    def rerun(self) -> list[str]:
        """Recomputes every node downstream of the edited values; returns their ids.

        Each recomputed node runs alone (one small session per node, built on first use
        and cached) on the debugger's backend; values upstream of the edits stay as they were.
        """
        dirty = set(self._edited)
        done = []
        for record in self._records:
            if not dirty & _values_read(record.node):
                continue
            for name, value in self.run_node(record.id).items():
                self._store.put(name, value)
            dirty.update(o for o in record.node.output if o)
            done.append(record.id)
        self._edited.clear()
        self._changed()
        return done

    def node_inputs(self, node_id: str, values: Mapping[str, Value] | None = None) -> dict[str, Value]:
        """What the node reads (its inputs, and outer values its bodies read): from ``values``
        where given there, else from this run."""
        values = values or {}
        node = self._records[self._index(node_id)].node
        return {n: as_value(values[n]) if n in values else self.tensor(n) for n in _values_read(node)}

    def run_node(self, node_id: str, values: Mapping[str, Value] | None = None) -> dict[str, Value]:
        """Runs one node alone on this backend and returns its outputs by name.

        Its inputs come from ``values`` where given there (another run's values, to
        measure the node's own error), else from this run. Nothing captured changes.
        """
        record = self._records[self._index(node_id)]
        feeds = self.node_inputs(node_id, values)
        outputs = [o for o in record.node.output if o]
        return {name: as_value(v) for name, v in zip(outputs, self._node_runner(record, feeds)(outputs, feeds))}

    def _node_runner(self, record: "NodeRecord", feeds: Mapping[str, Value]) -> Runner:
        if record.id not in self._node_runners:
            graph = onnx.helper.make_graph([record.node], record.id, [], [])
            light = light_model(self.model, graph, [o for o in record.node.output if o], typed(feeds, self._types))
            self._node_runners[record.id] = self._runner(light, threads=1)
        return self._node_runners[record.id]

    def _ipython_display_(self) -> None:
        """Shows the debugger's widget in a notebook: controls, the graph, a tensor inspector."""
        _hooks.call("show_debugger", self)

    def __repr__(self) -> str:
        where = "before the first node" if self.position < 0 else repr(self.current)
        memory = self.memory
        spilled = (f"; over the {memory['budget'] / 2**20:,.0f} MiB budget: captured in {memory['runs']} runs, "
                   f"{memory['spilled'] / 2**20:,.0f} MiB spilled to disk" if memory["spilled"] else "")
        unexposed = f"; {len(self.unexposed)} value(s) the provider does not give" if self.unexposed else ""
        return (f"Debugger({len(self._records)} nodes on {self.provider}, {self.optimization}{spilled}{unexposed}; "
                f"at {self.position + 1}/{len(self._records)}: {where})")


def _values_read(node: onnx.NodeProto) -> set[str]:
    """Every value a node reads: its inputs and what its subgraphs read from outside."""
    return (set(node.input) | _outer_names(node)) - {""}


def _outer_names(node: onnx.NodeProto) -> set[str]:
    """Values a node's subgraphs read from the enclosing graph."""
    names: set[str] = set()
    for attr in node.attribute:
        graphs = [attr.g] if attr.type == onnx.AttributeProto.GRAPH else list(attr.graphs)
        for g in graphs:
            defined = {i.name for i in g.input} | {t.name for t in g.initializer}
            for inner in g.node:
                names.update(n for n in inner.input if n and n not in defined)
                names.update(_outer_names(inner) - defined)
                defined.update(inner.output)
    return names


def debug(model: "Model | Any", inputs: Mapping[str, Any] | None = None, *, provider: str | Sequence[str] = "cpu",
          budget: int | None = None, dims: Mapping[str, int] | None = None, isolate: bool | None = None) -> Debugger:
    """Captures one run of ``model`` and returns a :class:`Debugger` positioned before its first node.

    ``model`` is a :class:`workbench.Model` or anything :func:`workbench.open` accepts;
    ``inputs`` a dict of arrays (default: :func:`workbench.random_inputs` with ``dims``);
    ``provider`` ``"cpu"``, ``"cuda"``, ``"reference"`` or a list of onnxruntime providers;
    ``budget`` the bytes of captured values kept in memory (default a quarter of RAM).
    ``isolate=True`` runs onnxruntime in a worker process, so that a native crash raises
    :class:`~workbench.errors.SessionError` instead of killing this process (the kernel);
    by default models that fail ``onnx.checker`` are isolated, others are not (a worker
    costs an interpreter start and a copy of the feeds per run).
    """
    from ..model import as_model

    model = as_model(model)
    return Debugger(model, inputs, provider=provider, budget=budget, dims=dims, isolate=isolate)
