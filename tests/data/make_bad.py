"""Writes the bad-input corpus into ``tests/data/bad/`` (issue 8): ``python tests/data/make_bad.py``.

Deterministic and re-runnable: the folder is emptied and written again, byte for byte the
same (fixed seeds, fixed zip timestamps, no paths of this machine inside any file). Every
file is small (the whole corpus is a few kB); "huge" models only *declare* huge shapes.

``cases.json`` lists every case: the file, what is wrong with it, and the typed error
(a ``workbench.errors`` class name) each public entry point (open, view, debug, reference —
``wb.debug(path, provider="reference")`` —, compare, profile; read_profile for profiles) must raise — or ``"ok"`` where
the entry point legitimately succeeds (a model that opens with checker problems opens and
views, and fails typed only when it is run). ``tests/test_bad_inputs.py`` runs them all.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import random
import shutil
import zipfile
from pathlib import Path

import numpy as np
import onnx
from google.protobuf.message import Message
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent
BAD = HERE / "bad"

MODEL_ENTRY_POINTS = ("open", "view", "diff", "debug", "reference", "compare", "profile")
#: The external data file of external_shape.onnx, and the shape it holds.
EXTERNAL_SHAPE = "external_shape.bin"
_SHAPE = np.array([6, 4], np.int64)
OPSET = 17
IR = 8


def _model(nodes, inputs, outputs, initializers=(), opset=OPSET, extra_opsets=(), ir=IR, name="bad", functions=()):
    graph = helper.make_graph(list(nodes), name, list(inputs), list(outputs), list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset), *extra_opsets],
                              producer_name="make_bad.py", functions=list(functions))
    model.ir_version = ir
    return model


def _vi(name, shape=(1, 4), dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, list(shape) if shape is not None else None)


def good_model() -> onnx.ModelProto:
    """x[1,4] -> Add(W) -> Relu -> y: the model the broken ones are made from."""
    import numpy as np

    w = numpy_helper.from_array(np.arange(4, dtype=np.float32).reshape(1, 4), "W")
    return _model([helper.make_node("Add", ["x", "W"], ["h"], name="add"),
                   helper.make_node("Relu", ["h"], ["y"], name="relu")],
                  [_vi("x")], [_vi("y")], [w], name="good")


def _bytes(message: Message) -> bytes:
    return message.SerializeToString(deterministic=True)


def _zip() -> bytes:
    """A zip laid out like a PyTorch checkpoint (``torch.save`` writes a zip of ``archive/...``)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in (("archive/data.pkl", pickle.dumps({"weight": [0.0] * 4}, protocol=2)),
                           ("archive/version", b"3\n")):
            archive.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()


def _external(model: onnx.ModelProto, location: str, length: int = 16) -> onnx.ModelProto:
    """``model`` with its initializer W marked as stored at ``location`` (no data written)."""
    w = model.graph.initializer[0]
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", str(length))):
        w.external_data.add(key=key, value=value)
    return model


LOCAL = helper.make_opsetid("local", 1)  # the domain of the model-local functions below


def _body(nodes, inputs, outputs, name="body"):
    """An If/Loop/Scan body: a graph of its own (``inputs`` and ``outputs`` are value infos)."""
    return helper.make_graph(list(nodes), name, list(inputs), list(outputs))


def _calls_function(body_nodes) -> onnx.ModelProto:
    """x -> f(x) -> y, where f is a model-local function (domain 'local') of body ``body_nodes`` (a -> b)."""
    function = helper.make_function("local", "f", ["a"], ["b"], list(body_nodes),
                                    [helper.make_opsetid("", OPSET), LOCAL])
    return _model([helper.make_node("f", ["x"], ["y"], name="call", domain="local")], [_vi("x")], [_vi("y")],
                  extra_opsets=[LOCAL], functions=[function])


def _runs_if(then_nodes, then_outputs=("t",), else_outputs=("e",)) -> onnx.ModelProto:
    """x -> If(true) -> y: the then_branch is ``then_nodes``, the else_branch negates x once per output."""
    else_branch = _body([helper.make_node("Neg", ["x"], [name], name=f"neg_{name}") for name in else_outputs],
                        [], [_vi(name) for name in else_outputs], "else")
    node = helper.make_node("If", ["go"], ["y"], name="if", else_branch=else_branch,
                            then_branch=_body(then_nodes, [], [_vi(name) for name in then_outputs], "then"))
    return _model([node], [_vi("x")], [_vi("y")], [helper.make_tensor("go", TensorProto.BOOL, [], [True])])


def _runs_loop(body_nodes, inputs=("i", "cond", "v"), outputs=("cond_out", "v_out")) -> onnx.ModelProto:
    """x -> Loop(3 times, carrying x) -> y over a body of ``body_nodes``, whose values are named by
    role: i (iteration number), cond/cond_out (the condition), others float[1,4]."""
    def info(name):
        return _vi(name, (), TensorProto.INT64 if name == "i" else TensorProto.BOOL) if name[0] in "ic" else _vi(name)

    body = _body(body_nodes, [info(n) for n in inputs], [info(n) for n in outputs], "loop_body")
    return _model([helper.make_node("Loop", ["trips", "go", "x"], ["y"], name="loop", body=body)], [_vi("x")],
                  [_vi("y")], [helper.make_tensor("trips", TensorProto.INT64, [], [3]),
                               helper.make_tensor("go", TensorProto.BOOL, [], [True])])


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field: its key, its length and ``payload``."""
    def varint(n: int) -> bytes:
        out = bytearray()
        while n > 0x7F:
            out.append(n & 0x7F | 0x80)
            n >>= 7
        return bytes(out + bytes([n]))

    return varint(number << 3 | 2) + varint(len(payload)) + payload


def nested_ifs(depth: int) -> bytes:
    """x -> If(c) nested ``depth`` deep -> y: each level's then_branch holds the next If, its
    else_branch returns x. Serialized by hand, level by level: protobuf refuses to copy (and so to
    build) a message nested deeper than it parses."""
    def identity(level: int) -> onnx.GraphProto:
        return _body([helper.make_node("Identity", ["x"], [f"e{level}"], name=f"keep{level}")], [],
                     [_vi(f"e{level}")], f"else{level}")

    graph = _bytes(identity(0))
    for level in range(1, depth + 1):
        node = helper.make_node("If", ["c"], [f"y{level}"], name=f"if{level}", else_branch=identity(level))
        then = onnx.AttributeProto(name="then_branch", type=onnx.AttributeProto.GRAPH)
        node_bytes = _bytes(node) + _field(5, _bytes(then) + _field(6, graph))  # NodeProto.attribute, its .g
        graph = _bytes(_body([], [], [_vi(f"y{level}")], f"then{level}")) + _field(1, node_bytes)  # .node
    main = _model([], [_vi("c", (), TensorProto.BOOL), _vi("x")], [_vi(f"y{depth}")], name="nested")
    return _bytes(main) + _field(7, _field(1, node_bytes))  # merged into ModelProto.graph: its one node


def _profile_lines() -> str:
    """A small profile in onnxruntime's own layout: one run, two kernels."""
    events = [
        {"cat": "Session", "pid": 1, "tid": 1, "dur": 50, "ts": 1, "ph": "X", "name": "model_loading_array",
         "args": {}},
        {"cat": "Session", "pid": 1, "tid": 1, "dur": 30, "ts": 60, "ph": "X", "name": "session_initialization",
         "args": {}},
        {"cat": "Session", "pid": 1, "tid": 1, "dur": 20, "ts": 100, "ph": "X", "name": "SequentialExecutor::Execute",
         "args": {}},
        {"cat": "Node", "pid": 1, "tid": 1, "dur": 5, "ts": 101, "ph": "X", "name": "add_kernel_time",
         "args": {"op_name": "Add", "provider": "CPUExecutionProvider"}},
        {"cat": "Node", "pid": 1, "tid": 1, "dur": 4, "ts": 107, "ph": "X", "name": "relu_kernel_time",
         "args": {"op_name": "Relu", "provider": "CPUExecutionProvider"}},
        {"cat": "Session", "pid": 1, "tid": 1, "dur": 22, "ts": 99, "ph": "X", "name": "model_run", "args": {}},
    ]
    return "[\n" + ",\n".join(json.dumps(e, separators=(",", ":")) for e in events) + "\n]\n"


def model_cases() -> list[dict]:
    """(file, problem, expectations, content) of every model case. Content: bytes, a
    ModelProto, or ("symlink", target)."""
    import numpy as np

    good = good_model()
    data = _bytes(good)
    rng = random.Random(8)
    cases: list[dict] = []

    def add(file, problem, content, fix=None, **expected):
        expected.setdefault("reference", expected["debug"])  # the reference evaluator fails where ORT does,
        expected.setdefault("diff", expected["view"])  # a model diffed with itself: its union is viewed
        expected = {e: expected[e] for e in MODEL_ENTRY_POINTS}  # unless told otherwise
        assert (fix is None) == ("SessionError" not in expected.values()), file
        cases.append({"file": file, "problem": problem, "content": content, "expected": expected,
                      **({"fix": fix} if fix else {})})

    def refused(error):  # refused at open: every entry point that takes a model refuses it the same way
        return {e: error for e in MODEL_ENTRY_POINTS}

    def runs_fail(error="SessionError", **overrides):  # opens (with checker problems) and views; fails when run
        return {"open": "ok", "view": "ok", "debug": error, "compare": error, "profile": error, **overrides}

    # ---- not a model at all ------------------------------------------------------------
    add("empty.onnx", "an empty file (0 bytes)", b"", **refused("NotOnnxError"))
    add("random_bytes.onnx", "4 kB of random bytes", bytes(rng.randrange(256) for _ in range(4096)),
        **refused("NotOnnxError"))
    add("truncated_half.onnx", "a valid model cut in half", data[: len(data) // 2], **refused("TruncatedModelError"))
    add("truncated_tail.onnx", "a valid model missing its last 3 bytes", data[:-3], **refused("TruncatedModelError"))
    add("zeros.onnx", "4 kB of zero bytes", b"\0" * 4096, **refused("NotOnnxError"))
    add("pytorch_checkpoint.onnx", "a PyTorch checkpoint (zip of archive/data.pkl), renamed .onnx", _zip(),
        **refused("NotOnnxError"))
    add("pickle.onnx", "a legacy torch.save pickle (protocol 2)", pickle.dumps({"state_dict": {"w": [1.0, 2.0]}}, 2),
        **refused("NotOnnxError"))
    add("json.onnx", "a JSON document (e.g. a model config) named .onnx",
        json.dumps({"architectures": ["BertModel"], "hidden_size": 768}).encode(), **refused("NotOnnxError"))
    add("html.onnx", "an HTML page (a 'download' that saved GitHub's web page, not the raw file)",
        b"<!DOCTYPE html>\n<html><head><title>model.onnx</title></head><body>Sign in</body></html>\n",
        **refused("NotOnnxError"))
    add("git_lfs_pointer.onnx", "a Git LFS pointer instead of the model",
        b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"0" * 64 + b"\nsize 1234\n",
        **refused("NotOnnxError"))
    add("hdf5.onnx", "a Keras HDF5 header", b"\x89HDF\r\n\x1a\n" + b"\0" * 56, **refused("NotOnnxError"))
    add("no_graph.onnx", "a ModelProto with an IR version but no graph",
        onnx.ModelProto(ir_version=IR).SerializeToString(), **refused("NotOnnxError"))
    add("invalid_utf8_name.onnx", "a node name whose bytes are not UTF-8 ('rel\\x80'): one byte of the file changed",
        data.replace(b"relu", b"rel\x80", 1), **refused("NotOnnxError"))

    # ---- versions ----------------------------------------------------------------------
    m = good_model()
    m.opset_import[0].version = onnx.defs.onnx_opset_version() + 5
    add("opset_too_new.onnx", "imports an opset of the default domain newer than onnx knows", m,
        **refused("UnsupportedVersionError"))
    m = good_model()
    m.ir_version = onnx.IR_VERSION + 5
    add("ir_too_new.onnx", "IR version newer than onnx knows", m, **refused("UnsupportedVersionError"))

    # ---- broken graphs that still open (checker problems) -------------------------------
    add("cycle.onnx", "two nodes feed each other (a -> b -> a): not a DAG",
        _model([helper.make_node("Add", ["x", "b"], ["a"], name="node_a"),
                helper.make_node("Relu", ["a"], ["b"], name="node_b")], [_vi("x")], [_vi("b")]),
        fix="remove any cycle", **runs_fail())
    add("self_loop.onnx", "a node reads its own output",
        _model([helper.make_node("Add", ["x", "y"], ["y"], name="self")], [_vi("x")], [_vi("y")]),
        fix="remove any cycle", **runs_fail())
    add("dangling_input.onnx", "a node reads 'ghost', which no node, input or initializer produces",
        _model([helper.make_node("Add", ["x", "ghost"], ["y"], name="add")], [_vi("x")], [_vi("y")]),
        **runs_fail(), fix="connect a dangling value")
    add("dangling_output.onnx", "the graph output 'z' is produced by no node",
        _model([helper.make_node("Relu", ["x"], ["y"], name="relu")], [_vi("x")], [_vi("z")]),
        open="ok", view="ok", debug="GraphError", compare="GraphError", profile="GraphError")
    add("duplicate_output.onnx", "two nodes write the same value 'y'",
        _model([helper.make_node("Relu", ["x"], ["y"], name="relu"),
                helper.make_node("Neg", ["x"], ["y"], name="neg")], [_vi("x")], [_vi("y")]),
        open="ok", view="ok", debug="GraphError", compare="GraphError", profile="GraphError")
    add("duplicate_node_names.onnx", "two nodes share the name 'n' (the checker allows it; onnxruntime does not)",
        _model([helper.make_node("Relu", ["x"], ["h"], name="n"),
                helper.make_node("Neg", ["h"], ["y"], name="n")], [_vi("x")], [_vi("y")]),
        **runs_fail(reference="ok"), fix="unique name")
    m = good_model()
    del m.graph.initializer[:]
    add("missing_initializer.onnx", "the weight 'W' that Add reads is not stored (initializer dropped)", m,
        **runs_fail(), fix="add the missing initializer")
    m = good_model()
    m.graph.initializer[0].raw_data = m.graph.initializer[0].raw_data[:8]
    add("short_initializer.onnx", "the weight 'W' is declared [1,4] float but holds 8 bytes, not 16", m,
        **runs_fail("SessionError"), fix="does not fill its declared shape")
    add("unknown_op.onnx", "an op 'Frobnicate' the default domain does not have",
        _model([helper.make_node("Frobnicate", ["x"], ["y"], name="frob")], [_vi("x")], [_vi("y")]),
        **runs_fail(), fix="custom-op library")
    add("unknown_domain.onnx", "an op of the custom domain 'com.example.secret' no runtime registers",
        _model([helper.make_node("Secret", ["x"], ["y"], name="secret", domain="com.example.secret")],
               [_vi("x")], [_vi("y")], extra_opsets=[helper.make_opsetid("com.example.secret", 1)]),
        **runs_fail(), fix="custom-op library")
    add("op_needs_newer_opset.onnx", "uses Gelu (opset 20) while importing opset 13",
        _model([helper.make_node("Gelu", ["x"], ["y"], name="gelu")], [_vi("x")], [_vi("y")], opset=13),
        **runs_fail(), fix="upgrade onnxruntime")
    add("wrong_attribute_type.onnx", "Transpose's 'perm' is a string, not a list of ints",
        _model([helper.make_node("Transpose", ["x"], ["y"], name="transpose", perm="1,0")],
               [_vi("x")], [_vi("y", (4, 1))]), **runs_fail(), fix="node's attributes")
    add("unknown_attribute.onnx", "Relu with an attribute 'bogus' it does not have",
        _model([helper.make_node("Relu", ["x"], ["y"], name="relu", bogus=3)], [_vi("x")], [_vi("y")]),
        **runs_fail(reference="ok"), fix="node's attributes")
    add("missing_required_attribute.onnx", "Cast without its required 'to' attribute",
        _model([helper.make_node("Cast", ["x"], ["y"], name="cast")], [_vi("x")], [_vi("y")]),
        fix="node's attributes", **runs_fail())
    add("shape_mismatch.onnx", "Add of [1,4] and [1,3]: shapes cannot broadcast",
        _model([helper.make_node("Add", ["x", "W"], ["y"], name="add")], [_vi("x")], [_vi("y")],
               [numpy_helper.from_array(np.ones((1, 3), np.float32), "W")]), **runs_fail(), fix="fix the shapes")
    add("no_nodes.onnx", "a graph with no nodes whose output is produced by nothing",
        _model([], [_vi("x")], [_vi("y")]),
        open="ok", view="ok", debug="GraphError", compare="GraphError", profile="GraphError")
    add("no_kernel_for_type.onnx", "Erf on float64: valid ONNX, but onnxruntime's CPU provider has no float64 Erf",
        _model([helper.make_node("Erf", ["x"], ["y"], name="erf")], [_vi("x", (2,), TensorProto.DOUBLE)],
               [_vi("y", (2,), TensorProto.DOUBLE)]), **runs_fail(reference="ok"), fix="cast the inputs")
    add("half_converted.onnx", "a MatMul reading float32 and float16: a float16 converter left it half-converted",
        _model([helper.make_node("MatMul", ["x", "w"], ["y"], name="node_MatMul_8")], [_vi("x", (2, 4))],
               [_vi("y", (2, 3), TensorProto.FLOAT16)], [numpy_helper.from_array(np.ones((4, 3), np.float16), "w")]),
        **runs_fail(), fix="node_block_list")
    add("tf2onnx_erfc.onnx", "an Erfc copied from TensorFlow by tf2onnx (Keras's exact gelu): no ONNX op of that name",
        _model([helper.make_node("Erfc", ["x"], ["y"], name="functional_1/dense_1/Gelu/Erfc")], [_vi("x")],
               [_vi("y")]), **runs_fail(), fix="gelu(approximate=True)")
    add("untyped_input.onnx", "the graph input 'x' has no type", _model(
        [helper.make_node("Relu", ["x"], ["y"], name="relu")], [onnx.ValueInfoProto(name="x")], [_vi("y")]),
        **runs_fail(), fix="give every graph input a type")

    # ---- subgraphs (If/Loop/Scan bodies) and model-local functions -------------------------
    add("nested_if_31.onnx", "If inside If, 31 levels deep: the deepest nesting protobuf parses",
        nested_ifs(31), open="ok", view="ok", debug="ok", compare="ok", profile="ok")
    add("nested_if_100.onnx", "If inside If, 100 levels deep: deeper than protobuf parses (100 nested messages)",
        nested_ifs(100), **refused("NotOnnxError"))
    add("function_cycle.onnx", "a model-local function whose body has a cycle (p -> q -> p)",
        _calls_function([helper.make_node("Add", ["a", "q"], ["p"], name="p"),
                         helper.make_node("Relu", ["p"], ["q"], name="q"),
                         helper.make_node("Identity", ["q"], ["b"], name="out")]),
        **runs_fail(), fix="remove any cycle")
    add("function_recursive.onnx", "a model-local function that calls itself",
        _calls_function([helper.make_node("f", ["a"], ["b"], name="again", domain="local")]),
        **runs_fail(), fix="must not call itself")
    add("function_dangling.onnx", "a model-local function whose body reads 'ghost', which nothing produces",
        _calls_function([helper.make_node("Add", ["a", "ghost"], ["b"], name="add")]),
        **runs_fail(), fix="connect a dangling value")
    add("if_body_dangling.onnx", "an If's then_branch reads 'ghost', which no node outside or inside it produces",
        _runs_if([helper.make_node("Add", ["x", "ghost"], ["t"], name="add")]),
        **runs_fail(), fix="connect a dangling value")
    add("loop_body_dangling.onnx", "a Loop body reads 'ghost', which no node outside or inside it produces",
        _runs_loop([helper.make_node("Identity", ["cond"], ["cond_out"], name="keep"),
                    helper.make_node("Add", ["v", "ghost"], ["v_out"], name="add")]),
        **runs_fail(), fix="connect a dangling value")
    scan_body = _body([helper.make_node("Add", ["s", "ghost"], ["s_out"], name="add"),
                       helper.make_node("Identity", ["xi"], ["yi"], name="keep")],
                      [_vi("s", (4,)), _vi("xi", (4,))], [_vi("s_out", (4,)), _vi("yi", (4,))], "scan_body")
    add("scan_body_dangling.onnx", "a Scan body reads 'ghost', which no node outside or inside it produces",
        _model([helper.make_node("Scan", ["s0", "x"], ["s_final", "y"], name="scan", body=scan_body,
                                 num_scan_inputs=1)],
               [_vi("s0", (4,)), _vi("x", (3, 4))], [_vi("s_final", (4,)), _vi("y", (3, 4))]),
        **runs_fail(), fix="connect a dangling value")
    add("loop_body_duplicate_output.onnx", "two nodes of a Loop body write the same value 'v_out'",
        _runs_loop([helper.make_node("Identity", ["cond"], ["cond_out"], name="keep"),
                    helper.make_node("Relu", ["v"], ["v_out"], name="relu"),
                    helper.make_node("Neg", ["v"], ["v_out"], name="neg")]),
        **runs_fail("GraphError"))
    m = _runs_if([helper.make_node("Neg", ["x"], ["h"], name="neg")], then_outputs=("h",))
    m.graph.node.insert(0, helper.make_node("Relu", ["x"], ["h"], name="relu"))
    add("if_body_writes_outer.onnx", "an If's then_branch writes 'h', a value the main graph computed before it",
        m, **runs_fail("GraphError"))
    add("loop_body_wrong_arity.onnx", "a Loop passes 3 values (iteration, condition, x) to a body that takes 1 "
        "and returns 1", _runs_loop([helper.make_node("Relu", ["v"], ["v_out"], name="relu")], ("v",), ("v_out",)),
        **runs_fail("GraphError"))
    add("if_branch_output_count.onnx", "an If whose then_branch returns 1 value and else_branch 2",
        _runs_if([helper.make_node("Relu", ["x"], ["t"], name="relu")], else_outputs=("e", "e2")),
        **runs_fail("GraphError"))

    # ---- huge declared shapes: nothing may allocate them ---------------------------------
    add("huge_input_shape.onnx", "an input declared [1000000, 1000000] (10^12 floats, 4 TB)",
        _model([helper.make_node("Relu", ["x"], ["y"], name="relu")], [_vi("x", (10**6, 10**6))],
               [_vi("y", (10**6, 10**6))]), open="ok", view="ok", debug="InputError", compare="InputError",
        profile="InputError")
    add("negative_input_dim.onnx", "an input declared with dimension -3",
        _model([helper.make_node("Relu", ["x"], ["y"], name="relu")], [_vi("x", (1, -3))], [_vi("y", (1, -3))]),
        open="ok", view="ok", debug="InputError", compare="InputError", profile="InputError")
    huge_w = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[10**6, 10**6])
    add("huge_initializer.onnx", "an initializer declared [1000000, 1000000] with no data",
        _model([helper.make_node("Add", ["x", "W"], ["y"], name="add")], [_vi("x")], [_vi("y")], [huge_w]),
        open="ok", view="ok", debug="TensorDataError", compare="TensorDataError", profile="SessionError",
        fix="fix the shapes")
    add("huge_constant_of_shape.onnx", "ConstantOfShape asked for a [10^7, 10^7] float tensor (364 TiB) at run time",
        _model([helper.make_node("ConstantOfShape", ["s"], ["big"], name="fill"),
                helper.make_node("ReduceMax", ["big"], ["y"], name="max", keepdims=0)], [_vi("x")],
               [_vi("y", (), TensorProto.FLOAT)],
               [numpy_helper.from_array(np.array([10**7, 10**7], np.int64), "s")]),
        open="ok", view="ok", debug="SessionError", compare="SessionError", profile="SessionError",
        fix="too large for this machine")

    # ---- external data ------------------------------------------------------------------
    for file, problem, location in [
        ("external_missing.onnx", "weights in 'missing.bin', which is not there", "missing.bin"),
        ("external_parent.onnx", "weights at '../x.bin': outside the model's folder", "../x.bin"),
        ("external_absolute.onnx", "weights at the absolute path '/etc/passwd'", "/etc/passwd"),
        ("external_dev_zero.onnx", "weights at '/dev/zero' (a device: endless zeros)", "/dev/zero"),
        ("external_symlink_out.onnx", "weights in 'external_zero.bin', a symlink in the folder to /dev/zero",
         "external_zero.bin"),
        ("external_truncated.onnx", "weights claim 16 bytes of 'external_short.bin', which holds 3",
         "external_short.bin"),
        ("external_folder.onnx", "weights at '.', the model's folder itself", "."),
    ]:
        add(file, problem, _external(good_model(), location), **refused("ExternalDataError"))

    # A valid model that onnxruntime cannot load as a file: it reads an op's shape at load time
    # only from inside the .onnx (the debugger feeds it, and runs the model).
    shape = numpy_helper.from_array(_SHAPE, "shape")
    shape.ClearField("raw_data")
    shape.data_location = TensorProto.EXTERNAL
    for key, value in (("location", EXTERNAL_SHAPE), ("offset", "0"), ("length", "16")):
        shape.external_data.add(key=key, value=value)
    add("external_shape.onnx", f"a Reshape's shape stored as external data (in {EXTERNAL_SHAPE!r})",
        _model([helper.make_node("Reshape", ["x", "shape"], ["y"])], [_vi("x", (2, 3, 4))], [_vi("y", (6, 4))],
               [shape]),
        open="ok", view="ok", debug="ok", compare="ok", profile="SessionError",
        fix="small tensors inline")

    # ---- symlinks -----------------------------------------------------------------------
    add("symlink_outside_dangling.onnx", "a symlink to '../../outside/model.onnx', which does not exist",
        ("symlink", "../../outside/model.onnx"), **refused("ModelFileError"))
    add("symlink_to_device.onnx", "a symlink to /dev/zero", ("symlink", "/dev/zero"), **refused("ModelFileError"))
    add("symlink_to_etc_passwd.onnx", "a symlink to /etc/passwd (a text file outside the folder)",
        ("symlink", "/etc/passwd"), **refused("NotOnnxError"))
    add("symlink_loop.onnx", "a symlink to itself", ("symlink", "symlink_loop.onnx"), **refused("ModelFileError"))
    return cases


def profile_cases() -> list[dict]:
    good = _profile_lines()
    rng = random.Random(80)
    cases: list[dict] = []

    def add(file, problem, content, error="ProfileError"):
        cases.append({"file": file, "problem": problem, "content": content, "expected": {"read_profile": error}})

    add("profile_empty.json", "an empty profile file", b"")
    add("profile_whitespace.json", "a profile of blank lines", b"\n \n\t\n")
    add("profile_not_json.json", "text that is not JSON", b"onnxruntime profile: see the attached log\n")
    add("profile_binary.json", "binary bytes", bytes(rng.randrange(256) for _ in range(512)))
    add("profile_truncated.json", "an onnxruntime profile cut off mid-event", good[: len(good) * 2 // 3].encode())
    add("profile_object.json", "a JSON object that is not a trace", json.dumps({"runs": 1, "latency_ms": 3.2}).encode())
    add("profile_numbers.json", "a JSON list of numbers", b"[1, 2, 3]\n")
    add("profile_no_node_events.json", "trace events with no Node (kernel) events",
        json.dumps([{"cat": "Session", "name": "model_run", "ts": 0, "dur": 10, "ph": "X"}]).encode())
    add("profile_bad_field_types.json", "Node events whose 'dur' and 'ts' are words, not numbers",
        json.dumps([{"cat": "Node", "name": "a_kernel_time", "ts": "soon", "dur": "long", "ph": "X",
                     "args": {"op_name": "Add"}}]).encode())
    add("profile_args_not_object.json", "Node events whose 'args' is a list",
        json.dumps([{"cat": "Node", "name": "a_kernel_time", "ts": 1, "dur": 2, "ph": "X", "args": [1, 2]}]).encode())
    add("profile_null.json", "the JSON literal null", b"null\n")
    add("profile_deep_nesting.json", "JSON nested 20000 levels deep", b"[" * 20000 + b"]" * 20000)
    return cases


def links() -> dict[str, str]:
    """The corpus's symbolic links, by file name: target. They are not committed (git would
    carry links to /dev/zero into every clone and archive); :func:`make_links` makes them."""
    found = {c["file"]: c["content"][1] for c in model_cases() if isinstance(c["content"], tuple)}
    return {**found, "external_zero.bin": "/dev/zero"}


def make_links(folder: Path = BAD) -> None:
    """Creates the corpus's symbolic links in ``folder`` where they are missing."""
    for name, target in links().items():
        if not os.path.islink(folder / name):
            os.symlink(target, folder / name)


def write(folder: Path = BAD) -> list[dict]:
    """(Re)writes the corpus into ``folder`` and returns the manifest entries."""
    if folder.is_symlink() or folder.is_file():
        folder.unlink()
    elif folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    entries = []
    for kind, cases in (("model", model_cases()), ("profile", profile_cases())):
        for case in cases:
            target = folder / case["file"]
            content = case["content"]
            if not isinstance(content, tuple):  # links: make_links, below
                target.write_bytes(_bytes(content) if isinstance(content, onnx.ModelProto) else content)
            entries.append({"file": case["file"], "kind": kind, "problem": case["problem"],
                            "expected": case["expected"], **({"fix": case["fix"]} if "fix" in case else {})})
    make_links(folder)
    (folder / "external_short.bin").write_bytes(b"\0\0\0")  # a companion of the external-data cases
    (folder / EXTERNAL_SHAPE).write_bytes(numpy_helper.from_array(_SHAPE).raw_data)  # external_shape.onnx's data
    manifest = {"about": "Bad-input corpus of issue 8, written by tests/data/make_bad.py; run by "
                         "tests/test_bad_inputs.py. 'expected' maps each entry point to the "
                         "workbench.errors class it must raise, or 'ok'; 'fix', where a run "
                         "fails, is what every SessionError's 'Fix:' for that case says.",
                "entry_points": {"open": "wb.open(path)", "view": "wb.open(path).view_index.payload()",
                                 "diff": "wb.diff(path, path).view_index.payload()",
                                 "debug": "wb.debug(path)", "reference": "wb.debug(path, provider='reference')",
                                 "compare": "wb.compare(path, None, candidate='reference')",
                                 "profile": "wb.profile(path, runs=1, warmup=0)",
                                 "read_profile": "wb.read_profile(path)"},
                "cases": entries}
    (folder / "cases.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return entries


if __name__ == "__main__":
    written = write()
    total = sum(p.lstat().st_size for p in BAD.iterdir())
    print(f"{len(written)} cases, {total:,} bytes in {BAD}")
