"""Building onnxruntime sessions and reference evaluators that expose intermediate values.

The model given to the backend is a *light* copy: the main graph's nodes, with its
initializers turned into graph inputs and fed as arrays at run time. The weights are
never serialized a second time, and any value of the main graph can be marked as an
output without copying the model's bytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterable, Mapping, Sequence

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper

if TYPE_CHECKING:
    from ..model import Model

Runner = Callable[[Sequence[str], Mapping[str, np.ndarray]], list[np.ndarray]]


def light_model(model: "Model", graph: onnx.GraphProto, outputs: Iterable[str],
                inputs: Iterable[tuple[str, int, Sequence]] = ()) -> onnx.ModelProto:
    """A model of ``graph``'s nodes whose initializers are inputs, with ``outputs`` as outputs.

    ``inputs`` are extra ``(name, onnx dtype, shape)`` inputs (values from outside ``graph``).
    """
    light = onnx.ModelProto()
    light.ir_version = model.proto.ir_version
    light.opset_import.extend(model.proto.opset_import)
    light.functions.extend(model.proto.functions)
    g = light.graph
    g.name = graph.name or "graph"
    g.node.extend(graph.node)
    g.input.extend(graph.input)
    declared = {i.name for i in graph.input}
    for tensor in graph.initializer:
        if tensor.name not in declared:
            g.input.append(helper.make_tensor_value_info(tensor.name, tensor.data_type, list(tensor.dims)))
            declared.add(tensor.name)
    for name, dtype, shape in inputs:
        if name not in declared:
            g.input.append(helper.make_tensor_value_info(name, dtype, list(shape)))
            declared.add(name)
    g.output.extend(helper.make_empty_tensor_value_info(name) for name in dict.fromkeys(outputs))
    return light


def make_runner(light: onnx.ModelProto, providers: list[str], threads: int = 0) -> Runner:
    """A function ``run(output_names, feeds) -> arrays`` over onnxruntime, or the reference evaluator.

    onnxruntime runs at ``ORT_DISABLE_ALL``: the values are those of the graph as authored.
    """
    if not providers:
        from onnx.reference import ReferenceEvaluator

        evaluator = ReferenceEvaluator(light)
        return lambda names, feeds: evaluator.run(list(names), dict(feeds))
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    session = ort.InferenceSession(light.SerializeToString(), options, providers=providers)
    wanted = {i.name for i in session.get_inputs()}
    return lambda names, feeds: session.run(list(names), {k: v for k, v in feeds.items() if k in wanted})


def onnx_dtype(array: np.ndarray) -> int:
    """The ONNX element type of a numpy array."""
    return helper.np_dtype_to_tensor_dtype(array.dtype)
