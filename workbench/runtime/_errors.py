"""Typed errors for what a runtime says: onnxruntime's or the reference evaluator's words, cleaned
of what tells the user nothing, with what ``onnx.checker`` found and a fix chosen by the words."""

from __future__ import annotations

import re
from typing import Sequence

import onnx

from ..errors import SessionError

#: What leads onnxruntime's words and says nothing to the user: its prefix ("[ONNXRuntimeError] :
#: 1 : FAIL : ") and the path it loaded (the user knows it).
_ORT_PREFIX = re.compile(r"^(?:\[ONNXRuntimeError\] : \d+ : \w+ : |Load model from .*? failed: ?)+")
#: The C++ source line and function that raised, wherever in the words, and the prefix after it:
#: "/onnxruntime_src/…/bfc_arena.cc:360 void* onnxruntime::BFCArena::AllocateRawInternal(…) ".
_ORT_SOURCE = re.compile(r"(?:/\S*/)?\w+\.(?:cc|h):\d+ (?:(?:[\w:<>*&]+ )?[\w:~<>]+\([^)]*\) |\w+ )"
                         r"(?:\[ONNXRuntimeError\] : \d+ : \w+ : )?")
#: What to do, by what the runtime or the checker said (first match wins). Each pattern is one
#: that a case of the bad-input corpus (tests/data/make_bad.py) produces; the case names its fix.
_FIXES = [
    (r"same node name", "give every node a unique name, e.g. for i, node in enumerate(model.graph.node): "
     "node.name = f'{node.op_type}_{i}'"),
    (r"not acyclic|is not a graph input, initializer, or output of a previous node"
     r"|is (?:not|neither) output of any previous",
     "every node must read only graph inputs, initializers and outputs of the nodes before it: connect a "
     "dangling value to its producer, add the missing initializer or graph input, sort the nodes "
     "topologically, and remove any cycle"),
    (r"must not be recursive", "a model-local function must not call itself, directly or through other functions: "
     "replace the recursion by a Loop, or unroll it into nodes"),
    (r"does not have type information|Field 'type' of 'value_info' is required",
     "give every graph input a type and shape (onnx.helper.make_tensor_value_info(name, elem_type, shape))"),
    (r"Deserialize tensor|buffer size mismatch|raw_data size|cannot reshape array of size",
     "a weight's stored data does not fill its declared shape and type: the file is corrupted, export it again"),
    (r"No Op registered for (?:Erfc|Erfinv|Lgamma)\b",
     "tf2onnx (which Keras 3's model.export(format='onnx') uses too) copies a TensorFlow op that ONNX has no op for "
     "into the graph (Keras's exact gelu becomes Erfc, in Keras 3 and tf_keras alike): use "
     "gelu(approximate=True) in the model, or write the exact gelu as 0.5 * x * (1 + erf(x / sqrt(2)))"),
    (r"No Op registered|No registered schema|No registered implementation|is unknown, known functions"
     r"|not a registered function|Fatal error",
     "the runtime has no implementation of an op the model uses: check its op type and domain "
     "(Model.ops), upgrade onnxruntime, or register the custom-op library that provides it "
     "(SessionOptions.register_custom_ops_library)"),
    (r"Could not find an implementation",
     "the runtime has no kernel for this op at these input types: cast the inputs to a type the op's kernels "
     "take (Model.nodes shows each node's input types), or run on a provider that has one"),
    (r"Cannot parse data from external tensors",
     "onnxruntime reads the shapes, axes and other small constants an op needs at load time only from inside "
     "the .onnx file, not from external data: save the model again with small tensors inline "
     "(onnx.save(model, path, save_as_external_data=True, size_threshold=1024)); wb.debug and wb.compare "
     "run it as it is"),
    (r"bound to different types|Input type mismatch",
     "an op that needs one type for these inputs reads two (a float16 conversion left the node half-converted, "
     "as onnxconverter-common's converter does to some MatMuls): cast the odd input to the other's type, or "
     "convert again keeping this node in float32 (the converter's node_block_list)"),
    (r"[Ff]ailed to allocate|[Uu]nable to allocate|[Aa]llocation fail|bad_alloc",  # not std::allocator
     "a value is too large for this machine: check the shapes the model declares and computes "
     "(Model.nodes.output_shapes), or use smaller inputs"),
    (r"[Aa]ttribute", "fix the node's attributes (their names and types must match the op's schema)"),
    (r"[Ss]hape|[Dd]imension", "fix the shapes: the inputs' or weights' shapes do not fit the op"),
]


#: onnxruntime's words for a node whose inputs bind one type parameter to two types.
_MIXED_TYPES = re.compile(r"bound to different types.*? in node \((?P<node>[^)]*)\)")


def mixed_types(model: onnx.ModelProto, words: str) -> str:
    """Where onnxruntime says a node binds one type parameter to two types, which of its inputs
    has which type (``" (node_MatMul_8 reads x as float32, w as float16)"``); else ``""``."""
    found = _MIXED_TYPES.search(words)
    node = found and next((n for n in model.graph.node if n.name == found["node"]), None)
    if not node:
        return ""
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=False)
    graph = inferred.graph
    types = {i.name: i.type.tensor_type.elem_type for i in (*graph.input, *graph.value_info, *graph.output)}
    types.update({t.name: t.data_type for t in graph.initializer})
    read = ", ".join(f"{name} as {onnx.helper.tensor_dtype_to_np_dtype(types[name])}" for name in node.input
                     if types.get(name))
    return f" ({node.name} reads {read})" if read else ""


#: Fixes for what a provider that compiles subgraphs (OpenVINO) says: the bad-input corpus runs on
#: the CPU provider, so these are tested where such a provider is (tests/test_openvino.py).
_PROVIDER_FIXES = [
    (r"contains compiled nodes",
     "this provider compiles the subgraphs it takes into nodes of its own, which no ONNX file holds, so there is "
     "no optimized graph to save or capture: compare or debug the graph as authored on that provider "
     "(wb.Run(model, provider): its optimizations happen inside its compiled nodes); wb.profile maps its "
     "compiled subgraphs to the authored nodes"),
    (r"names mismatch between OpenVINO and ONNX",
     "the provider's compiler fuses away values this run asks for as outputs (the debugger asks for every one): "
     "profile the model on this provider (wb.profile runs it with its own outputs only), and debug it on the CPU "
     "provider"),
    (r"does not support the following ONNX operations",
     "the provider's compiler cannot take this graph, or the pieces it was split into: run it on the CPU provider"),
]


def session_error(exc: BaseException, action: str, problems: Sequence[str] = (),
                  checker_first: bool = False) -> SessionError:
    """A :class:`SessionError` for ``exc`` raised by a runtime while it ``action``:
    the runtime's words, what ``onnx.checker`` said (``problems``), and a fix.

    The fix is chosen by the runtime's words, then the checker's; ``checker_first`` turns
    that round, for a runtime whose words name the symptom rather than the cause.
    """
    said = _ORT_PREFIX.sub("", " ".join(str(exc).split()))
    said = " ".join(_ORT_SOURCE.sub(" ", said).split()) or type(exc).__name__
    inner = exc.__cause__ or exc.__context__  # the reference evaluator wraps numpy's words in its own
    if inner is not None and str(inner).strip() and str(inner).strip() not in said:
        said = f"{said.rstrip('.')}: {' '.join(str(inner).split())}"
    if len(said) > 600:  # the head says what failed, the tail often why ("… doesn't exist")
        said = said[:400] + " … " + said[-200:]
    found = "; ".join(" ".join(p.split()).rstrip(".") for p in problems)
    checker = f" onnx.checker found: {found}." if problems else " onnx.checker found no problem with the model."
    texts = (found, said) if checker_first else (said, found)
    fix = next((text for words in texts for pattern, text in [*_PROVIDER_FIXES, *_FIXES]
                if words and re.search(pattern, words)),
               "correct the model and export it again, or run it on another provider to see whether that "
               "runtime accepts it")
    return SessionError(f"{action}: {said.rstrip('.')}.{checker} Fix: {fix}.")
