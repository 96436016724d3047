"""The torch side of a comparison: every value torch computes, named as the ONNX export names it.

Two ways in, best first:

- a ``torch.onnx.ONNXProgram`` (dynamo export): its exported program runs through
  ``torch.fx.Interpreter``, and FX node names are the ONNX value names, so every value
  aligns;
- an ``nn.Module`` and its ONNX export made any way (TorchScript exports included): each
  submodule's output is caught by a forward hook and aligned with the value that leaves
  that module's scope in the ONNX graph (scopes from ``/enc/layers.0/...`` node names or
  the exporter's metadata). Values inside a module have no torch counterpart; the
  comparison lists them and names them as suspects of the module output they feed.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from ..errors import CompareWarning
from ..runtime.internal import Value

if TYPE_CHECKING:
    from ..model import Model


def is_torch_module(source: Any) -> bool:
    """Whether ``source`` is a ``torch.nn.Module`` (checked without importing torch)."""
    return any(c.__module__ == "torch.nn.modules.module" and c.__name__ == "Module" for c in type(source).__mro__)


def torch_values(program: Any, inputs: Mapping[str, Value],
                 input_names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Every tensor the exported program computes, by FX node name (= ONNX value name).

    ``input_names`` are the ONNX graph's input names in order (default: read from the
    program's model, which torch rebuilds on each read).
    """
    import torch

    program_ = program.exported_program
    if input_names is None:
        input_names = [i.name for i in program.model_proto.graph.input]
    values: dict[str, np.ndarray] = {}

    class _Capture(torch.fx.Interpreter):
        def run_node(self, node: Any) -> Any:
            result = super().run_node(node)
            if isinstance(result, torch.Tensor):
                values[node.name] = _numpy(result)
            return result

    with torch.no_grad():
        lifted = _lifted_arguments(program_, _arguments(inputs, input_names))
        if lifted is None:  # an input kind we do not feed ourselves: let torch unlift the program
            _Capture(program_.module()).run(*_arguments(inputs, input_names))
        else:
            _Capture(program_.graph_module).run(*lifted)
    return values


def _lifted_arguments(program: Any, user_inputs: Sequence[Any]) -> list[Any] | None:
    """Arguments for the exported program's own graph: weights, buffers and constants in
    signature order around the user's inputs (what ``.module()`` would do, without the
    re-tracing and recompiling it costs: 52 of 84 ms on a small encoder)."""
    from torch.export.graph_signature import InputKind

    state, constants = program.state_dict, program.constants
    user = iter(user_inputs)
    arguments: list[Any] = []
    for spec in program.graph_signature.input_specs:
        if spec.kind == InputKind.USER_INPUT:
            value = next(user, None)
            if value is None:
                return None
            arguments.append(value)
        elif spec.kind in (InputKind.PARAMETER, InputKind.BUFFER) and spec.target in state:
            arguments.append(state[spec.target])
        elif spec.target in constants:
            arguments.append(constants[spec.target])
        else:
            return None
    return arguments


def module_values(module: Any, inputs: Mapping[str, Value], model: "Model") -> dict[str, np.ndarray]:
    """Each submodule's output, keyed by the ONNX value leaving that module's scope in ``model``.

    A module's output aligns with the last value of the same shape that its scope hands to
    the rest of the graph. A module called more than once is a scope per call in a
    TorchScript export (``act``, ``act_1``, …): its calls align with those, in order. Modules
    whose output is not a tensor (or a tuple starting with one), and modules with no such
    value are left out. The graph's outputs align with the whole module's outputs, in order.
    A module left in training mode runs in eval mode (and is restored), with a
    :class:`~workbench.errors.CompareWarning`.
    """
    import torch

    inputs_in_order = [i.name for i in model.proto.graph.input if i.name not in model.initializers]
    outputs: dict[str, list[np.ndarray]] = {}

    def hook(name: str) -> Any:
        def record(_module: Any, _args: Any, result: Any) -> None:
            first = result[0] if isinstance(result, (tuple, list)) and result else result
            if isinstance(first, torch.Tensor):
                outputs.setdefault(name, []).append(_numpy(first))
        return record

    training = [sub for sub in module.modules() if sub.training]
    if training:
        warnings.warn(f"the module is in training mode ({len(training)} of its modules, dropout among them if it has "
                      "any): it is compared in eval mode, as torch.onnx.export exports it. Call module.eval() first "
                      "to silence this.", CompareWarning, stacklevel=3)
    handles = [sub.register_forward_hook(hook(name)) for name, sub in module.named_modules() if name]
    try:
        for sub in training:
            sub.training = False
        with torch.no_grad():
            result = module(*_arguments(inputs, inputs_in_order))
    finally:
        for sub in training:  # the caller's module is left as it was given
            sub.training = True
        for handle in handles:
            handle.remove()
    results = result if isinstance(result, (tuple, list)) else [result]
    values = {o.name: _numpy(r) for o, r in zip(model.proto.graph.output, results) if isinstance(r, torch.Tensor)}
    leaving = _values_leaving_scopes(model)
    modules = {name for name, _ in module.named_modules()}
    for name, caught in outputs.items():
        calls = [name] + [f"{name}_{i}" for i in range(1, len(caught))]
        if any(call in modules for call in calls[1:]):  # "act_1" is a module of its own: calls are ambiguous
            continue
        for call, output in zip(calls, caught):
            matches = [v for v in leaving.get(call, ()) if _fits(model.value_info(v)[1], output.shape)]
            if matches:
                values.setdefault(matches[-1], output)
    return values


def _values_leaving_scopes(model: "Model") -> dict[str, list[str]]:
    """For each module path ("layers.0.attn"), the values its nodes hand outside it, in order."""
    scope = {node_id: _module_name(model.node_scopes[node_id].path or ()) for node_id in model.nodes.index}
    graph_outputs = {o.name for o in model.proto.graph.output}
    consumers = model.consumers
    leaving: dict[str, list[str]] = {}
    main = model.nodes[model.nodes.graph == ""]
    for node_id, outputs in zip(main.index, main.outputs):
        path = scope[node_id]
        prefixes = [".".join(path.split(".")[:k]) for k in range(1, path.count(".") + 2)] if path else []
        for value in (o for o in outputs if o):
            users = [scope[c] for c in consumers.get(value, ()) if c in scope]
            for prefix in prefixes:
                outside = [u for u in users if u != prefix and not u.startswith(prefix + ".")]
                if outside or value in graph_outputs:
                    leaving.setdefault(prefix, []).append(value)
    return leaving


def _module_name(path: Sequence[str]) -> str:
    """A scope path as ``named_modules()`` spells it: ("layers.0", "mlp", "mlp.0") → "layers.0.mlp.0".

    Exporters name a container's child after the container ("mlp.0" inside "mlp").
    """
    parts: list[str] = []
    for segment in path:
        if parts and segment.startswith(parts[-1] + "."):
            segment = segment[len(parts[-1]) + 1:]
        parts.append(segment)
    return ".".join(parts)


def _fits(declared: tuple | None, shape: tuple) -> bool:
    """A declared ONNX shape (unknown, or with symbolic dims) admits ``shape``."""
    if declared is None:
        return True
    return len(declared) == len(shape) and all(not isinstance(d, int) or d == s for d, s in zip(declared, shape))


def _arguments(inputs: Mapping[str, Value], names: Sequence[str]) -> list[Any]:
    import torch

    return [torch.from_numpy(np.asarray(inputs[n])) for n in names if n in inputs]


def _numpy(tensor: Any) -> np.ndarray:
    import torch

    tensor = tensor.detach().cpu()
    return (tensor.float() if tensor.dtype == torch.bfloat16 else tensor).numpy()


#: The value metadata key where torch's exporter names the FX placeholder an initializer came from.
ORIGINAL_NODE_NAME = "pkg.torch.onnx.original_node_name"


#: Where onnxscript's optimizer names the initializers it folded a constant from.
FOLDED_FROM = "pkg.onnxscript.optimizer.folded_from"


def program_weights(program: Any, values: Mapping[str, np.ndarray], model: "Model") -> dict[str, np.ndarray]:
    """The torch side's value of each initializer of ``model`` that came from a parameter, buffer
    or constant of the exported program, by initializer name.

    torch's exporter names the FX placeholder of each initializer it kept in the value's
    metadata (``values`` are :func:`torch_values`); one that the optimizer folded (a Linear's
    weight transposed once, at export) names the parameter it came from, and is compared with
    it as it is, or transposed where its two dimensions are the parameter's swapped.
    """
    program_ = program.exported_program
    state = {**program_.state_dict, **program_.constants}
    shapes = {t.name: tuple(t.dims) for t in model.proto.graph.initializer}
    weights = {}
    for info in model.proto.graph.value_info:
        if info.name not in shapes:
            continue
        meta = {p.key: p.value for p in info.metadata_props}
        if meta.get(ORIGINAL_NODE_NAME) in values:
            weights[info.name] = values[meta[ORIGINAL_NODE_NAME]]
            continue
        sources = _literal_names(meta.get(FOLDED_FROM, ""))
        if len(sources) != 1 or sources[0] not in state:
            continue
        source = _numpy(state[sources[0]].detach())
        orientations = [a for a in (source, source.T if source.ndim == 2 else None)
                        if a is not None and a.shape == shapes[info.name]]
        if len(orientations) == 2:  # square: transposed or not, the one nearer the model's (a planted 1% stays 1%)
            mine = np.asarray(model.weight(info.name))
            orientations = [min(orientations, key=lambda a: float(np.abs(mine - a, dtype=np.float64).max()))]
        if orientations:  # a view: copied only if a local run feeds it to the runtime
            weights[info.name] = orientations[0]
    return weights


def _literal_names(text: str) -> list[str]:
    """The names in a Python-repr list of strings (``"['a.weight']"``), as the optimizer writes them."""
    import ast

    try:
        names = ast.literal_eval(text) if text else []
    except (ValueError, SyntaxError):
        return []
    return [str(n) for n in names] if isinstance(names, (list, tuple)) else []


def module_weights(module: Any, model: "Model") -> dict[str, np.ndarray]:
    """The module's parameters and buffers that are initializers of ``model`` under their own
    names (as both exporters name the weights they keep as they are)."""
    initializers = {t.name for t in model.proto.graph.initializer}
    state = dict(module.named_parameters())
    state.update(module.named_buffers())
    return {name: _numpy(tensor.detach()) for name, tensor in state.items() if name in initializers}


def finer_values(program: Any, values: Mapping[str, np.ndarray], name: str) -> list[np.ndarray]:
    """The tensors torch computes inside FX node ``name`` of the exported program when its op is
    traced down to core ATen ops, on the reference's own inputs (``values``, by FX name): the
    values an exporter's decomposition of that op computes, in torch's own words.

    Attention runs on torch's math backend, so scaled_dot_product_attention opens into its
    scale, matmuls, mask and softmax; a linear into its matmul and bias add. An op torch keeps
    whole gives its inputs and output only. Empty when the node is not found or cannot be
    traced on its own.
    """
    import torch
    from torch._decomp import core_aten_decompositions
    from torch.fx.experimental.proxy_tensor import make_fx
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils import _pytree as pytree

    node = next((n for n in program.exported_program.graph.nodes if n.name == name), None)
    if node is None or node.op != "call_function":
        return []
    leaves, spec = pytree.tree_flatten((node.args, node.kwargs))
    tensors = [i for i, leaf in enumerate(leaves) if isinstance(leaf, torch.fx.Node)]
    if any(leaves[i].name not in values for i in tensors):
        return []
    inputs = [torch.from_numpy(np.array(values[leaves[i].name])) for i in tensors]

    def call(*arguments: Any) -> Any:
        filled = list(leaves)
        for i, argument in zip(tensors, arguments):
            filled[i] = argument
        args, kwargs = pytree.tree_unflatten(filled, spec)
        return node.target(*args, **kwargs)

    found: list[np.ndarray] = []

    class _Capture(torch.fx.Interpreter):
        def run_node(self, inner: Any) -> Any:
            result = super().run_node(inner)
            found.extend(_numpy(t) for t in pytree.tree_leaves(result) if isinstance(t, torch.Tensor))
            return result

    try:
        with torch.no_grad(), sdpa_kernel(SDPBackend.MATH):
            # torch's CustomDecompTable is the Mapping make_fx reads, not one by its annotations
            traced = make_fx(call, decomposition_table=core_aten_decompositions())(*inputs)  # type: ignore[arg-type]
            _Capture(traced).run(*inputs)
    except Exception:  # noqa: BLE001 - an op that cannot be traced alone: no finer values, no refinement
        return []
    return found
