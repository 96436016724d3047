"""Model diff (``wb.diff``): matching by structure, the tables, the union's view, the numbers."""

from __future__ import annotations

import io
from collections import defaultdict
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, quantize_static

import workbench as wb
from workbench.errors import UsageError

_RNG = np.random.default_rng(0)
_WEIGHTS = {name: _RNG.normal(size=shape).astype(np.float32) * 0.3 for name, shape in
            {"W1": (16, 8), "b1": (16,), "W2": (16, 16), "b2": (16,), "W3": (4, 16), "b3": (4,)}.items()}


def _mlp(*, alpha: float = 0.1, perturb: float = 0.0, insert: bool = False, remove: bool = False,
         rename: bool = False) -> onnx.ModelProto:
    """x → Gemm → LeakyRelu → Gemm → Tanh → Relu → Gemm → Softmax, and its edits: LeakyRelu's
    ``alpha``, one element of W2 moved by ``perturb``, a Sigmoid inserted after the Relu, the Tanh
    removed; ``rename`` renames every node and value (as another exporter would)."""
    weights = dict(_WEIGHTS)
    weights["W2"] = weights["W2"].copy()
    weights["W2"][3, 5] += perturb
    steps = [("Gemm", ["x", "W1", "b1"], {"transB": 1}), ("LeakyRelu", [], {"alpha": alpha}),
             ("Gemm", ["W2", "b2"], {"transB": 1}), ("Tanh", [], {}), ("Relu", [], {}),
             ("Sigmoid", [], {}), ("Gemm", ["W3", "b3"], {"transB": 1}), ("Softmax", [], {"axis": -1})]
    if not insert:
        steps = [s for s in steps if s[0] != "Sigmoid"]
    if remove:
        steps = [s for s in steps if s[0] != "Tanh"]
    prefix = "renamed_" if rename else ""
    nodes, previous = [], "x"
    for i, (op, extra, attrs) in enumerate(steps):
        inputs = extra if op == "Gemm" and extra[0] == "x" else ([previous, *extra] if op == "Gemm" else [previous])
        inputs = [prefix + n if n in weights else n for n in inputs]
        output = "y" if i == len(steps) - 1 else f"{prefix}{op.lower()}_{i}"
        nodes.append(helper.make_node(op, inputs, [output], name=f"{prefix}{op}_{i}", **attrs))
        previous = output
    graph = helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])],
        [numpy_helper.from_array(v, prefix + k) for k, v in weights.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _by_status(d: wb.Diff) -> dict[str, list[tuple[str | None, str | None]]]:
    found = defaultdict(list)
    for row in d.nodes.itertuples():
        found[row.status].append((row.op_a if pd.notna(row.op_a) else None, row.op_b if pd.notna(row.op_b) else None))
    return dict(found)


def test_a_model_diffed_with_itself_has_no_changes() -> None:
    for proto in (_mlp(), wb.samples.proto("tiny_cnn"), wb.samples.proto("tiny_bert")):
        d = wb.diff(proto, proto)
        assert d.identical
        assert set(d.nodes.status) == {"same"}
        assert d.to_frame().empty
        assert (d.nodes.a_id == d.nodes.b_id).all()


@pytest.mark.parametrize("rename", [False, True], ids=["names kept", "every name changed"])
def test_each_edit_is_reported_and_nothing_else(rename: bool) -> None:
    d = wb.diff(_mlp(), _mlp(alpha=0.2, perturb=0.05, insert=True, remove=True, rename=rename))
    statuses = _by_status(d)
    assert statuses["added"] == [(None, "Sigmoid")]
    assert statuses["removed"] == [("Tanh", None)]
    changed = d.nodes[d.nodes.status == "changed"].set_index("op_b")
    assert sorted(changed.index) == ["Gemm", "LeakyRelu"]
    assert changed.loc["LeakyRelu", "changes"] == ("attributes",)
    assert "alpha: 0.1 → 0.2" in changed.loc["LeakyRelu", "details"]
    assert changed.loc["Gemm", "changes"] == ("weights",)
    assert len(statuses["same"]) == 4  # two Gemms, the Relu, the Softmax
    weights = d.weights.set_index("a_name")
    assert weights.loc["W2", "status"] == "changed"
    assert weights.loc["W2", "max_abs_diff"] == pytest.approx(0.05, rel=1e-5)
    assert (weights.drop("W2").status == "same").all()
    if rename:
        assert (d.nodes.matched_by.dropna() != "name").all()


def test_removed_nodes_of_a_are_drawn_in_the_union_and_statuses_colour_every_node() -> None:
    d = wb.diff(_mlp(), _mlp(alpha=0.2, insert=True, remove=True))
    index = d.view_index
    payload = index.payload()
    overlay = payload["overlay"]
    assert overlay["kind"] == "diff"
    drawn = {item["node"] for g in payload["groups"].values() for item in g["items"] if item["kind"] == "node"}
    assert drawn == set(overlay["values"])
    assert overlay["values"]["a:Tanh_3"] == "removed"
    assert overlay["values"]["Sigmoid_4"] == "added"
    assert overlay["values"]["LeakyRelu_1"] == "changed"
    details = payload["details"]["LeakyRelu_1"]["diff"]
    assert details["status"] == "changed" and details["a"] == details["b"] == "LeakyRelu_1"
    assert details["changes"] == [["attributes", "alpha: 0.1 → 0.2"]]
    assert [a for a in details["sides"]["a"]["attributes"]] == [["alpha", "0.1"]]
    assert [a for a in details["sides"]["b"]["attributes"]] == [["alpha", "0.2"]]
    removed = payload["details"]["a:Tanh_3"]
    assert removed["diff"]["sides"]["b"] is None and removed["inputs"][0]["name"] == "gemm_2"
    assert payload["title"] == "a ↔ b"
    moved = wb.diff(_mlp(), _mlp(perturb=1.0)).view_index  # each side's weights, from its own model
    assert moved.tensor("a:W2", "3, 5")["text"] != moved.tensor("W2", "3, 5")["text"]
    assert moved.tensor("a:W2", "3, 5")["text"] == wb.open(_mlp()).view_index.tensor("W2", "3, 5")["text"]


def test_folded_groups_count_the_changes_inside_them() -> None:
    proto = wb.samples.proto("tiny_cnn")
    edited = onnx.ModelProto()
    edited.CopyFrom(proto)
    target = next(n for n in edited.graph.node if n.op_type == "Relu" and "layer2" in n.name)
    edited.graph.node.remove(target)
    for node in edited.graph.node:
        node.input[:] = [target.input[0] if i == target.output[0] else i for i in node.input]
    d = wb.diff(proto, edited)
    assert _by_status(d)["removed"] == [("Relu", None)]
    overlay = d.view_index.status_overlay()
    holders = [gid for gid, counts in overlay["counts"].items() if counts == {"removed": 1}]
    assert holders and all("layer2" in gid for gid in holders)
    assert not any("layer1" in gid for gid in overlay["counts"])


class _Block(torch.nn.Module):
    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.ln = torch.nn.LayerNorm(width)
        self.q, self.k = torch.nn.Linear(width, width), torch.nn.Linear(width, width)
        self.fc1, self.fc2, self.act = torch.nn.Linear(width, 4 * width), torch.nn.Linear(4 * width, width), \
            torch.nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.ln(x)
        attention = torch.softmax(self.q(h) @ self.k(h).transpose(-1, -2) / 4.0, -1) @ h
        return x + attention + self.fc2(self.act(self.fc1(h)))


class _Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = torch.nn.Linear(8, 32)
        self.blocks = torch.nn.ModuleList([_Block() for _ in range(3)])
        self.head = torch.nn.Linear(32, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.emb(x)
        for block in self.blocks:
            h = block(h)
        return self.head(h)


def _correspondence(a: wb.Model, b: wb.Model) -> list[tuple[str, str]]:
    """The known pairs: the k-th node of an op type in a scope, in both exports, where both have
    as many of them there."""
    def groups(model: wb.Model) -> dict[tuple[str, str], list[str]]:
        found = defaultdict(list)
        for record in model.records:
            found[(model.scope_path(record.id), record.node.op_type)].append(record.id)
        return found

    ga, gb = groups(a), groups(b)
    return [pair for key in ga.keys() & gb.keys() if len(ga[key]) == len(gb[key]) for pair in zip(ga[key], gb[key])]


def test_dynamo_and_torchscript_exports_of_one_module_match_by_structure() -> None:
    torch.manual_seed(0)
    module, x = _Net().eval(), torch.randn(1, 5, 8)
    buffer = io.BytesIO()
    torch.onnx.export(module, (x,), buffer, dynamo=False, input_names=["x"], output_names=["y"])
    program = torch.onnx.export(module, (x,), dynamo=True, input_names=["x"], output_names=["y"], verbose=False)
    d = wb.diff(onnx.load_from_string(buffer.getvalue()), program)
    known = _correspondence(d.a, d.b)
    assert len(known) >= 0.9 * len(d.matching.a.order)  # the nodes that compute (not TorchScript's weight copies)
    assert not {a for a, _ in known} & {r.id for r in d.a.records if r.node.name in {s.node.name for s in
                                                                                      d.b.records}}
    matched = d.matching.a_to_b
    right = sum(matched.get(a) == b for a, b in known)
    assert right >= 0.9 * len(known), (right, len(known))
    assert set(d.nodes.status) == {"same"}  # TorchScript's weight copies (Identity, Constant) are data
    assert (d.weights.status == "same").all()


class _Calibration(CalibrationDataReader):
    def __init__(self, model: wb.Model) -> None:
        self.batches = iter([wb.random_inputs(model, seed=100 + i) for i in range(4)])

    def get_next(self) -> dict | None:
        return next(self.batches, None)


def _optimized(source: Path, level: ort.GraphOptimizationLevel) -> Path:
    options = ort.SessionOptions()
    options.graph_optimization_level = level
    options.optimized_model_filepath = str(source.with_name(f"optimized_{int(level)}.onnx"))
    ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
    return Path(options.optimized_model_filepath)


@pytest.mark.parametrize(("sample", "level"), [
    ("tiny_cnn", ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED),
    ("tiny_bert", ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED),
    ("tiny_bert", ort.GraphOptimizationLevel.ORT_ENABLE_ALL),
])
def test_every_fused_node_maps_to_the_authored_nodes_it_replaced(tmp_path: Path, sample: str,
                                                                  level: ort.GraphOptimizationLevel) -> None:
    source = tmp_path / "authored.onnx"
    onnx.save(wb.samples.proto(sample), source)
    d = wb.diff(source, _optimized(source, level))
    nodes = d.nodes
    assert d.fused
    assert not (nodes.status == "removed").any()
    assert not (nodes.status == "added").any()
    authored_ops = {r.node.op_type for r in d.a.records}
    for fused, replaced in d.fused.items():
        assert replaced, fused
        assert set(nodes[nodes.a_id.isin(replaced)].b_id) == {fused}
    # every node of b that is no authored node is a fused node, or a helper made for one
    made = [y for y in d.matching.b.order if y not in d.matching.b_to_a]
    assert all(y in d.fused or y in d.matching.helpers for y in made)
    if sample == "tiny_bert":
        bias_gelu = next(y for y in d.fused if d.b.node(y).op_type == "BiasGelu")
        assert sorted(d.a.node(x).op_type for x in d.fused[bias_gelu]) == ["Add", "Add", "Div", "Erf", "Mul", "Mul"]
    assert authored_ops  # the authored graph's ops stay as they were


def test_qdq_insertions_are_grouped_and_no_compute_node_is_added_or_removed(tmp_path: Path) -> None:
    source, quantized = tmp_path / "fp32.onnx", tmp_path / "qdq.onnx"
    onnx.save(wb.samples.proto("tiny_cnn"), source)
    quantize_static(str(source), str(quantized), _Calibration(wb.open(source)), quant_format=QuantFormat.QDQ)
    d = wb.diff(source, quantized)
    nodes = d.nodes
    assert not nodes.status.isin(["added", "removed"]).any()
    qdq = nodes[nodes.status == "qdq"]
    assert len(qdq) == sum(r.node.op_type in ("QuantizeLinear", "DequantizeLinear") for r in d.b.records)
    assert set(qdq.op_b) == {"QuantizeLinear", "DequantizeLinear"}
    # quantize_static folds a Relu into the quantization after the BatchNormalization before it
    folded = nodes[nodes.status == "fused"]
    assert "Relu" in set(folded.op_a)
    conv = d.weights.set_index("a_name").loc["stem.conv.weight"]
    assert conv.b_dtype == "int8" and conv.status == "changed"
    assert 0 < conv.max_abs_diff < 0.01  # the rounding of an int8 weight, dequantized


def test_model_fields_differences(tmp_path: Path) -> None:
    a = _mlp()
    b = _mlp()
    b.producer_name, b.ir_version = "another", 9
    onnx.helper.set_model_props(b, {"author": "me"})
    b.opset_import[0].version = 18
    path = tmp_path / "b.onnx"
    onnx.save(b, path, save_as_external_data=True, all_tensors_to_one_file=True, location="b.data",
              size_threshold=0)
    d = wb.diff(a, path)
    fields = d.metadata.set_index("field")
    changed = set(fields.index[~fields.same])
    assert changed == {"ir_version", "opset ai.onnx", "producer", "metadata author", "external data"}
    assert fields.loc["external data", "b"] == "6 tensors in b.data"
    assert fields.loc["opset ai.onnx", "a"] == 17 and fields.loc["opset ai.onnx", "b"] == 18
    assert set(d.nodes.status) == {"same"}  # the weights read from b.data are the same
    assert "metadata" in set(d.to_frame().kind)
    assert "ir_version" in d.summary()


def test_numeric_names_the_structural_change_that_moved_the_numbers() -> None:
    d = wb.diff(_mlp(), _mlp(perturb=2.0))
    report = d.numeric({"x": _RNG.normal(size=(2, 8)).astype(np.float32)})
    cause = report.root_cause
    assert cause is not None and cause.node == "Gemm_2"
    assert cause.diff_status == "changed" and "W2" in cause["diff_details"]
    same = report.table[report.table.node == "LeakyRelu_1"].iloc[0]
    assert same.ok and same.diff_status == "same"


def test_numeric_refuses_inputs_that_name_nothing_the_models_read() -> None:
    with pytest.raises(UsageError, match="No input for a's 'x'"):
        wb.diff(_mlp(), _mlp()).numeric({"image": np.zeros((2, 8), np.float32)})


def test_diff_takes_paths_models_protos_and_the_card_names_the_files(tmp_path: Path) -> None:
    onnx.save(_mlp(), tmp_path / "before.onnx")
    onnx.save(_mlp(alpha=0.3), tmp_path / "after.onnx")
    for a in (tmp_path / "before.onnx", str(tmp_path / "before.onnx"), wb.open(tmp_path / "before.onnx")):
        d = wb.diff(a, tmp_path / "after.onnx")
        assert d.counts["changed"] == 1
    assert d.labels == ("before.onnx", "after.onnx")
    card = d._repr_html_()
    assert "before.onnx → after.onnx" in card and "LeakyRelu" in card
    assert d.summary().startswith("before.onnx → after.onnx: 7 nodes matched (6 same, 1 changed)")


def test_untrusted_names_are_escaped_on_the_card() -> None:
    b = _mlp(alpha=0.3)
    b.graph.node[1].name = "<img src=x onerror=alert(1)>"
    card = wb.diff(_mlp(), b)._repr_html_()
    assert "<img" not in card


def test_a_file_that_is_no_model_is_refused_by_name(tmp_path: Path) -> None:
    bad = tmp_path / "notes.onnx"
    bad.write_text("not a model")
    with pytest.raises(wb.errors.WorkbenchError, match="notes.onnx"):
        wb.diff(_mlp(), bad)


def _squeeze(axis: int) -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("Squeeze", ["x", "axes"], ["s"], name="squeeze"), helper.make_node("Relu", ["s"], ["y"])],
        "squeeze", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 1, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 8])],
        [numpy_helper.from_array(np.array([axis], np.int64), "axes")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_axes_counted_from_the_end_are_the_same_axes() -> None:
    same = wb.diff(_squeeze(1), _squeeze(-2))
    assert set(same.nodes.status) == {"same"} and set(same.weights.status) == {"same"}
    other = wb.diff(_squeeze(1), _squeeze(0))
    assert other.nodes.set_index("op_b").loc["Squeeze", "changes"] == ("weights",)
