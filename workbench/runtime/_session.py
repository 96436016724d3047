"""Building onnxruntime sessions and reference evaluators that expose intermediate values.

The model given to the backend is a *light* copy of one graph (the main graph or a
control-flow body): its nodes, with its large initializers turned into graph inputs and
fed as arrays at run time (small ones — shapes, axes — stay, for shape inference). The
weights are never serialized a second time, and any value can be marked as an output
without copying the model's bytes.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper

from ..errors import GraphError, WorkbenchError
from ..model.internal import add_bare, iter_graphs, may_hold_graphs, subgraphs
from ._errors import mixed_types, session_error
from ._optimize import session_options
from ._values import Value, from_reference, output_sizes, output_types, run_session

if TYPE_CHECKING:
    from ..model import Model

Runner = Callable[[Sequence[str], Mapping[str, Value]], list[Value]]


#: Initializers up to this many elements stay in the light model (they are shapes and constants).
SMALL_INITIALIZER = 1024


def _is_small(tensor: onnx.TensorProto) -> bool:
    return tensor.data_location != onnx.TensorProto.EXTERNAL and math.prod(tensor.dims) <= SMALL_INITIALIZER


def fed_weights(graph: onnx.GraphProto) -> list[str]:
    """The initializers of ``graph`` that ``light_model`` turns into inputs (fed at run time)."""
    return [t.name for t in graph.initializer if not _is_small(t)]


def concrete_inputs(light: onnx.ModelProto, feeds: Mapping[str, Any]) -> None:
    """Gives ``light``'s tensor inputs the sizes of the arrays fed to them where the model leaves a
    dimension symbolic or unknown (declared sizes stay: a runtime checks the feeds against them)."""
    for info in light.graph.input:
        value = feeds.get(info.name)
        if not isinstance(value, np.ndarray) or not info.type.HasField("tensor_type"):
            continue
        shape = info.type.tensor_type.shape
        if not info.type.tensor_type.HasField("shape"):
            shape.dim.extend(onnx.TensorShapeProto.Dimension(dim_value=int(size)) for size in value.shape)
        elif len(shape.dim) == value.ndim:
            for dim, size in zip(shape.dim, value.shape):
                if not dim.HasField("dim_value"):
                    dim.dim_value = int(size)


def infer_values(light: onnx.ModelProto,
                 feeds: Mapping[str, Any]) -> tuple[dict[str, float], dict[str, onnx.TypeProto]]:
    """What shape inference knows of ``light``'s values for these inputs' concrete shapes: the
    bytes of each tensor whose shape it knows, and the type of every value it typed.

    Inference runs on the weightless light model: fast, whatever the weights weigh.
    """
    fixed = onnx.ModelProto()
    fixed.CopyFrom(light)
    concrete_inputs(fixed, feeds)
    del fixed.graph.output[:]
    try:
        inferred = onnx.shape_inference.infer_shapes(fixed, strict_mode=False, data_prop=True)
    except Exception:  # noqa: BLE001 - best effort: the capture then sizes windows from the values it sees
        return {}, {}
    sizes, types, itemsizes = {}, {}, {}
    for info in [*inferred.graph.input, *inferred.graph.value_info]:
        if info.type.WhichOneof("value") is not None:
            types[info.name] = info.type
        tensor = info.type.tensor_type
        if not info.type.HasField("tensor_type") or not tensor.HasField("shape"):
            continue
        dims = [d.dim_value for d in tensor.shape.dim if d.HasField("dim_value")]
        if len(dims) == len(tensor.shape.dim) and tensor.elem_type != onnx.TensorProto.STRING:
            if tensor.elem_type not in itemsizes:
                itemsizes[tensor.elem_type] = np.dtype(helper.tensor_dtype_to_np_dtype(tensor.elem_type)).itemsize
            sizes[info.name] = float(math.prod(dims) * itemsizes[tensor.elem_type])
    return sizes, types


def value_sizes(runner: "Runner", light: onnx.ModelProto, feeds: Mapping[str, Any]) -> dict[str, float]:
    """Bytes of each value ``runner`` (made from ``light``) outputs whose shape is known before it
    runs: from the shapes onnxruntime inferred when it loaded the model, where the runner holds
    its session, else from onnx's shape inference (the reference evaluator, a worker process).

    onnxruntime's are free; onnx's cost a second inference (0.3 s at 10,000 nodes)."""
    if isinstance(runner, SessionRunner):
        return runner.sizes
    return infer_values(light, feeds)[0]


def light_model(model: "Model", graph: onnx.GraphProto, outputs: Iterable[str],
                inputs: Iterable[tuple[str, onnx.TypeProto]] = (),
                feeds: Mapping[str, Any] | None = None, nodes: int | None = None) -> onnx.ModelProto:
    """A model of ``graph``'s nodes whose initializers are inputs, with ``outputs`` as outputs,
    and without the nodes' metadata and doc strings.

    ``inputs`` are extra ``(name, type)`` inputs (values from outside ``graph``; see
    :func:`workbench.runtime._values.typed`). ``feeds``, the arrays the model will run on, make
    the inputs' symbolic sizes concrete (see :func:`concrete_inputs`), so that the runtime
    knows every value's shape when it loads the model. ``nodes`` keeps only the graph's first
    ``nodes`` nodes: all that outputs produced up to there need (graphs are in topological order).
    """
    light = onnx.ModelProto()
    light.ir_version = model.proto.ir_version
    light.opset_import.extend(model.proto.opset_import)
    light.functions.extend(model.proto.functions)
    g = light.graph
    g.name = graph.name or "graph"
    if graph is model.proto.graph:
        g.node.extend(model.bare_graph.node[:nodes])
    else:  # a body's nodes (see Model.bare_graph)
        add_bare(g.node, graph.node[:nodes])
    g.input.extend(graph.input)
    declared = {i.name for i in graph.input}
    for tensor in graph.initializer:
        if _is_small(tensor):
            g.initializer.append(tensor)  # shapes, axes, scalars: kept, so shape inference can read them
        elif tensor.name not in declared:  # (old models also list initializers as inputs)
            g.input.append(helper.make_tensor_value_info(tensor.name, tensor.data_type, list(tensor.dims)))
            declared.add(tensor.name)
    for name, type_ in inputs:
        if name not in declared:
            g.input.append(helper.make_value_info(name, type_))
            declared.add(name)
    g.output.extend(helper.make_empty_tensor_value_info(name) for name in dict.fromkeys(outputs))
    if feeds:
        concrete_inputs(light, feeds)
    return light


def check_runnable(graph: onnx.GraphProto) -> None:
    """Raises :class:`GraphError` for what a run by value names cannot represent, or no runtime says
    clearly: a value written twice, in the graph or in an If/Loop/Scan body (the capture would keep one
    of the writes, silently); a graph output produced by nothing (the capture asks for node outputs only,
    so no runtime would notice); an If or Loop whose bodies take or return other counts of values than
    the node passes and expects (the reference evaluator fails on it with an IndexError, or not at all)."""
    twice = list(dict.fromkeys(_written_twice(graph)))
    if twice:
        raise GraphError(f"The value(s) {twice[:5]} are written more than once (by two nodes, by a node and a "
                         "graph input or initializer, or in an If/Loop/Scan body by a node and a value of the "
                         "enclosing graph): ONNX graphs assign each value once, and a run would show only one of "
                         "the writes. Fix: rename the outputs so each is written once (see Model.problems).")
    produced = {i.name for i in graph.input} | {t.name for t in graph.initializer}
    produced.update(name for node in graph.node for name in node.output)
    missing = [o.name for o in graph.output if o.name not in produced]
    if missing:
        raise GraphError(f"The graph output(s) {missing} are produced by no node, graph input or initializer, so "
                         "the model cannot run. Fix: connect them to the node that should compute them, or remove "
                         "them from graph.output (see Model.problems for what onnx.checker found).")
    mismatch = next((m for g in iter_graphs(graph) for node in g.node
                     if node.op_type in ("If", "Loop") and (m := _body_mismatch(node))), None)
    if mismatch:
        raise GraphError(f"{mismatch}, so no runtime can run it. Fix: make the bodies fit their node: an If's two "
                         "branches return one value per output of the If; a Loop body takes the iteration number, "
                         "the condition and one value per Loop input after the first two, and returns the condition, "
                         "the carried values and any scan outputs: one more value than the Loop has outputs.")


def _written_twice(graph: onnx.GraphProto, enclosing: tuple[set[str], ...] = ()) -> Iterator[str]:
    """The values written more than once in ``graph`` and its bodies: by two nodes, by a node and an input
    or initializer, or in a body by a node and a value its enclosing graphs define before it (as
    ``onnx.checker`` rules: a body reads the values around it, and assigns none of them)."""
    produced = {i.name for i in graph.input} | {t.name for t in graph.initializer}
    scopes = (*enclosing, produced)
    for node in graph.node:
        if may_hold_graphs(node):
            for _, body in subgraphs(node):
                yield from _written_twice(body, scopes)
        for name in node.output:
            if name and (name in produced or (enclosing and any(name in scope for scope in enclosing))):
                yield name
            produced.add(name)


def _body_mismatch(node: onnx.NodeProto) -> str | None:
    """How an If's or a Loop's bodies differ from the node in the counts of values they take and
    return (onnx's shape inference rules), in words; None when they fit, or for other nodes."""
    bodies = dict(subgraphs(node)) if node.domain in ("", "ai.onnx") else {}
    label = f"{node.op_type} {node.name!r}" if node.name else f"unnamed {node.op_type}"
    if node.op_type == "If" and {"then_branch", "else_branch"} <= bodies.keys():
        counts = [len(node.output), len(bodies["then_branch"].output), len(bodies["else_branch"].output)]
        if len(set(counts)) > 1:
            return (f"The {label} has {counts[0]} output(s), but its then_branch returns {counts[1]} value(s) and "
                    f"its else_branch {counts[2]}")
    if node.op_type == "Loop" and "body" in bodies:
        body = bodies["body"]
        initialized = {t.name for t in body.initializer}  # inputs with a default: the body may go without them
        takes = {len(body.input), sum(i.name not in initialized for i in body.input)}
        if len(node.input) not in takes or len(body.output) != len(node.output) + 1:
            return (f"The {label} passes {len(node.input)} value(s) to its body and has {len(node.output)} "
                    f"output(s), but its body takes {len(body.input)} input(s) and returns {len(body.output)}")
    return None


def make_runner(light: onnx.ModelProto, providers: list[str], threads: int = 0,
                problems: Sequence[str] = (), isolate: bool = False,
                types: Mapping[str, onnx.TypeProto] | None = None) -> Runner:
    """A function ``run(output_names, feeds) -> arrays`` over onnxruntime, or the reference evaluator.

    onnxruntime runs at ``ORT_DISABLE_ALL``: the values are those of the graph as authored.
    Failures to load or run raise :class:`SessionError` (with the checker's ``problems``),
    never the runtime's own exception types. With ``isolate``, each run happens in a worker
    process, so that a native crash of the runtime raises :class:`SessionError` too.
    ``types`` are the values' declared types, where the caller has inferred them already (the
    reference evaluator needs them: it keeps optionals as one-item lists); else they are
    inferred on the first run.
    """
    if isolate:
        from ._isolate import IsolatedRunner

        return IsolatedRunner(light, providers, threads, problems)
    if not providers:
        from onnx.reference import ReferenceEvaluator

        try:
            evaluator = ReferenceEvaluator(light)
        except Exception as exc:  # noqa: BLE001 - any failure of the evaluator becomes one typed error
            raise session_error(exc, "The ONNX reference evaluator could not load the model", problems,
                                checker_first=True) from exc
        accepted = set(evaluator.input_names)
        declared = types

        def run_reference(names: Sequence[str], feeds: Mapping[str, Value]) -> list[Value]:
            nonlocal declared
            if declared is None:
                declared = infer_values(light, feeds)[1]
            try:
                values = evaluator.run(list(names), {k: v for k, v in feeds.items() if k in accepted})
                return [from_reference(v, declared.get(n)) for n, v in zip(names, values)]
            except WorkbenchError:
                raise
            except Exception as exc:  # noqa: BLE001
                raise session_error(exc, "The ONNX reference evaluator could not run the model", problems,
                                    checker_first=True) from exc

        return run_reference
    options = session_options("disabled", threads)
    # No arena: it would keep the run's peak working memory allocated after the run,
    # on top of the captured values the budget accounts for.
    options.enable_cpu_mem_arena = False
    try:
        session = ort.InferenceSession(light.SerializeToString(), options, providers=providers)
    except Exception as exc:  # noqa: BLE001 - Fail, InvalidGraph, NotImplemented, …: one typed error
        action = "onnxruntime could not load the model" + mixed_types(light, str(exc))
        raise session_error(exc, action, problems) from exc
    return SessionRunner(session, problems)


class SessionRunner:
    """A :data:`Runner` over an onnxruntime session in this process (see :func:`make_runner`)."""

    def __init__(self, session: ort.InferenceSession, problems: Sequence[str] = ()) -> None:
        self.session = session
        self._problems = problems
        self._wanted = {i.name for i in session.get_inputs()}
        outputs = session.get_outputs()  # 0.05 s at 10,000 outputs: asked once
        self._types = output_types(outputs)
        #: Bytes of each output whose size onnxruntime inferred (see :func:`output_sizes`).
        self.sizes = output_sizes(outputs)

    def __call__(self, names: Sequence[str], feeds: Mapping[str, Value]) -> list[Value]:
        try:
            # OrtValues wrap the arrays: onnxruntime would otherwise copy every weight on every run.
            return run_session(self.session, list(names), {k: v for k, v in feeds.items() if k in self._wanted},
                               self._types)
        except Exception as exc:  # noqa: BLE001
            raise session_error(exc, "onnxruntime could not run the model", self._problems) from exc


def onnx_dtype(array: np.ndarray) -> int:
    """The ONNX element type of a numpy array."""
    return helper.np_dtype_to_tensor_dtype(array.dtype)
