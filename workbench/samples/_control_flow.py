"""``control_flow``: an If with two branches and a Loop, for subgraph handling."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ._builder import OPSET


def build() -> onnx.ModelProto:
    """``y = loop_3_times(x + 1) if sum(x) > 0 else -x`` on a float vector ``x``."""
    vec = ["n"]
    then_branch = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["then_out"], name="then_relu")],
        "then_branch", [], [helper.make_tensor_value_info("then_out", TensorProto.FLOAT, vec)],
    )
    else_branch = helper.make_graph(
        [helper.make_node("Neg", ["x"], ["else_out"], name="else_neg")],
        "else_branch", [], [helper.make_tensor_value_info("else_out", TensorProto.FLOAT, vec)],
    )
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"], name="body_cond"),
            helper.make_node("Add", ["acc_in", "one"], ["acc_out"], name="body_add"),
        ],
        "loop_body",
        [
            helper.make_tensor_value_info("iteration", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("acc_in", TensorProto.FLOAT, vec),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("acc_out", TensorProto.FLOAT, vec),
        ],
    )
    nodes = [
        helper.make_node("ReduceSum", ["x"], ["total"], name="sum", keepdims=0),
        helper.make_node("Greater", ["total", "zero"], ["positive"], name="is_positive"),
        helper.make_node("If", ["positive"], ["branch_out"], name="branch",
                         then_branch=then_branch, else_branch=else_branch),
        helper.make_node("Loop", ["trip_count", "", "branch_out"], ["y"], name="repeat", body=body),
    ]
    initializers = [
        numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
        numpy_helper.from_array(np.array(1.0, np.float32), "one"),
        numpy_helper.from_array(np.array(3, np.int64), "trip_count"),
    ]
    graph = helper.make_graph(
        nodes, "control_flow",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, vec)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, vec)],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="onnx-workbench samples", producer_version="1")
    model.ir_version = 9
    onnx.checker.check_model(model, full_check=True)
    return model
