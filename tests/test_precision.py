"""Lower-precision candidates against their fp32 model: int8 (static Q/DQ and dynamic) and
float16 versions of a torch CNN and of a small transformer, each clean and with a planted bug.

A clean variant rounds everywhere and is wrong nowhere: no cause, and the error enters at the
quantized ops. A planted bug (a weight's scale ×4, a float16 overflow) is the root cause, named
exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, quantize_dynamic, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process
from onnxruntime.transformers.float16 import convert_float_to_float16

import workbench as wb
from workbench.errors import SessionError

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.slow  # the corpus: a torch export, six conversions, two calibrations (about 15 s)

DIMS = {"batch": 1, "sequence": 16}
#: Ops that only move, reshape or round values: never where a quantized model goes wrong.
BOOKKEEPING = {"Reshape", "Transpose", "Flatten", "QuantizeLinear", "DequantizeLinear", "Cast", "Squeeze",
               "Unsqueeze", "Concat", "Gather", "Shape"}


class _Net(torch.nn.Module):
    """Conv-BN-ReLU stem, a residual block, pooling and a classifier."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.stem = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU())
        self.block = torch.nn.Sequential(torch.nn.Conv2d(8, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
                                         torch.nn.Conv2d(8, 8, 3, padding=1))
        self.head = torch.nn.Linear(8, 10)

    def forward(self, x: "torch.Tensor") -> "torch.Tensor":
        y = self.stem(x)
        y = torch.relu(y + self.block(y))
        return self.head(y.mean(dim=(2, 3)))


class _Reader(CalibrationDataReader):
    """Calibration batches: random inputs of other seeds than the ones compared."""

    def __init__(self, model: wb.Model) -> None:
        self.batches = iter([wb.random_inputs(model, seed=100 + i, dims=DIMS) for i in range(8)])

    def get_next(self) -> dict | None:
        return next(self.batches, None)


def _variants(fp32: Path) -> dict[str, Path]:
    """The model quantized (static Q/DQ, dynamic) and converted to float16, next to it."""
    model = wb.open(fp32)
    out = {"fp32": fp32, "qdq": fp32.with_name("qdq.onnx"), "dynamic": fp32.with_name("dynamic.onnx"),
           "fp16": fp32.with_name("fp16.onnx")}
    quantize_static(fp32, out["qdq"], _Reader(model), quant_format=QuantFormat.QDQ)
    quantize_dynamic(fp32, out["dynamic"])
    onnx.save(convert_float_to_float16(onnx.load(fp32), keep_io_types=True), out["fp16"])
    return out


@pytest.fixture(scope="module")
def cnn(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    path = tmp_path_factory.mktemp("cnn") / "fp32.onnx"
    program = torch.onnx.export(_Net().eval(), (torch.randn(1, 3, 16, 16),), dynamo=True, verbose=False,
                                input_names=["image"])
    program.save(str(path))
    return _variants(path)


@pytest.fixture(scope="module")
def tiny_cnn(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The bundled sample (TorchScript-style names, BatchNormalization kept): where the Relu fold
    of quantize_static was first seen."""
    path = tmp_path_factory.mktemp("tiny_cnn") / "fp32.onnx"
    onnx.save(wb.samples.proto("tiny_cnn"), path)
    return _variants(path)


@pytest.fixture(scope="module")
def transformer(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    path = tmp_path_factory.mktemp("transformer") / "fp32.onnx"
    onnx.save(wb.samples.proto("tiny_bert"), path)
    return _variants(path)


def _compare(variants: dict[str, Path], candidate: object) -> wb.Report:
    fp32 = wb.open(variants["fp32"])
    return wb.compare(fp32, wb.random_inputs(fp32, seed=7, dims=DIMS), candidate=candidate)


def _with_scaled(model: Path | onnx.ModelProto, name: str, factor: float) -> onnx.ModelProto:
    """The model (a path: loaded; a proto: changed in place) with initializer ``name`` multiplied by ``factor``."""
    proto = onnx.load(model) if isinstance(model, Path) else model
    tensor = next(t for t in proto.graph.initializer if t.name == name)
    tensor.CopyFrom(onnx.numpy_helper.from_array(onnx.numpy_helper.to_array(tensor) * factor, name))
    return proto


def _dequantizer_of(path: Path, op_type: str, index: int = 0) -> onnx.NodeProto:
    """The DequantizeLinear of the weight of the ``index``-th node of ``op_type``."""
    proto = onnx.load(path)
    producers = {o: n for n in proto.graph.node for o in n.output}
    node = [n for n in proto.graph.node if n.op_type == op_type][index]
    return producers[node.input[1]]


@pytest.mark.parametrize("kind", ["qdq", "dynamic", "fp16"])
@pytest.mark.parametrize("corpus", ["cnn", "tiny_cnn", "transformer"])
def test_a_clean_lower_precision_model_rounds_everywhere_and_is_wrong_nowhere(corpus: str, kind: str,
                                                                              request: pytest.FixtureRequest) -> None:
    variants = request.getfixturevalue(corpus)
    report = _compare(variants, variants[kind])
    table = report.table
    assert report.root_cause is None, report.summary()
    assert not table[table.status == "cause"].op_type.isin(BOOKKEEPING).any()
    # the error enters where the candidate rounds, and only there: every other node off is off
    # by what it was given (carried), never on the reference's own inputs
    assert (table.status == "rounding").sum() == len(report.precision) > 0
    assert set(table.status) <= {"ok", "carried", "rounding"}
    moving = table[table.op_type.isin({"Reshape", "Transpose", "Flatten"})]
    assert (moving.status != "rounding").all(), moving[["node", "status"]]
    worst = report.worst_rounding
    assert worst is not None and worst.node in report.summary()
    assert worst.local_sqnr == report.precision.local_sqnr.min()
    assert {"qdq": "DequantizeLinear", "dynamic": None, "fp16": None}[kind] in (None, worst.op_type)
    expected = {"qdq": {"int8", "uint8", "int32"}, "dynamic": {"int8", "uint8"}, "fp16": {"float16"}}[kind]
    assert set(report.precision.format) <= expected


def test_a_q_dq_pair_stands_for_the_value_it_quantizes_not_for_its_name(cnn: dict[str, Path]) -> None:
    """quantize_static folds the stem's Relu into the quantization after it and gives the Relu's
    value name to the BatchNormalization's (here: Conv's, BN folded) output. The raw value is
    compared with what produces it in fp32; the Q/DQ pair's output with the Relu's output."""
    report = _compare(cnn, cnn["qdq"])
    fp32, qdq = wb.open(cnn["fp32"]), wb.open(cnn["qdq"])
    relu = next(r.node for r in fp32.records if r.node.op_type == "Relu")
    value = relu.output[0]
    producer = next(r.node for r in qdq.records if value in r.node.output)
    assert producer.op_type != "Relu"  # the fold happened
    raw = report.table[report.table.value == value].iloc[0]
    assert f"stands for the reference's {relu.input[0]!r}" in raw.note and raw.status == "carried"
    quantizer = next(r.node for r in qdq.records if r.node.op_type == "QuantizeLinear" and r.node.input[0] == value)
    dequantizer = next(r.node for r in qdq.records if r.node.op_type == "DequantizeLinear"
                       and r.node.input[0] == quantizer.output[0])
    row = report.table[report.table.node == dequantizer.name].iloc[0]
    # by hand: DequantizeLinear(QuantizeLinear(v)) of the fp32 run's v, against v
    inputs = wb.random_inputs(fp32, seed=7, dims=DIMS)
    reference = wb.debug(fp32, inputs).tensor(value)
    scale = float(qdq.weight(quantizer.input[1]))
    zero = qdq.weight(quantizer.input[2])
    info = np.iinfo(zero.dtype)
    by_hand = (np.clip(np.round(reference / scale) + zero, info.min, info.max) - zero) * scale
    assert row.local_max_abs == pytest.approx(np.abs(by_hand - reference).max(), rel=1e-4, abs=1e-7)
    assert row.local_max_abs <= scale / 2 * 1.001
    assert row.status == "rounding" and row.cosine > 0.999
    precision = report.precision.set_index("node").loc[dequantizer.name]
    assert precision.scale == pytest.approx(scale) and precision.zero_point == float(zero)
    assert f"scale {scale:.3g}" in precision.rounding


def test_a_weight_scale_four_times_too_large_is_the_root_cause(cnn: dict[str, Path]) -> None:
    dequantizer = _dequantizer_of(cnn["qdq"], "Conv", index=1)
    report = _compare(cnn, _with_scaled(cnn["qdq"], dequantizer.input[1], 4.0))
    cause = report.root_cause
    assert cause is not None and cause.node == dequantizer.name, report.summary()
    assert (report.table.status == "cause").sum() == 1
    assert dequantizer.name in report.summary() and "root cause" in report.summary()


def test_one_changed_weight_inside_the_range_is_a_cause_not_rounding(transformer: dict[str, Path]) -> None:
    """One element of a weight moved far (about 130 steps) but inside the quantized range: a share
    of elements far under the clipping allowance, yet no clipping can put it there."""
    fp32 = wb.open(transformer["fp32"])
    name = "encoder.layer.1.intermediate.dense.weight"
    changed = onnx.load(transformer["fp32"])
    tensor = next(t for t in changed.graph.initializer if t.name == name)
    values = onnx.numpy_helper.to_array(tensor).copy()
    values[5, 7] += 2.0
    tensor.CopyFrom(onnx.numpy_helper.from_array(values, name))
    feeds = [wb.random_inputs(fp32, seed=i, dims=DIMS) for i in range(3)]
    report = wb.compare(fp32, feeds[0], candidate=wb.precision.Recipe("int8").apply(changed, calibration=feeds),
                        rtol=1e-3, atol=0.25)
    cause = report.root_cause
    assert cause is not None and cause.op_type == "DequantizeLinear" and cause.reference == name, report.summary()
    assert cause.local_max_abs == pytest.approx(2.0, rel=0.05)


def test_a_dynamically_quantized_matmul_with_a_wrong_weight_scale_is_the_root_cause(
        transformer: dict[str, Path]) -> None:
    proto = onnx.load(transformer["dynamic"])
    integer = [n for n in proto.graph.node if n.op_type == "MatMulInteger"][2]
    weight_scale = integer.input[1].replace("_quantized", "_scale")
    report = _compare(transformer, _with_scaled(transformer["dynamic"], weight_scale, 4.0))
    cause = report.root_cause
    assert cause is not None, report.summary()
    # the quantized matmul's chain ends in the value the fp32 MatMul wrote
    fp32 = wb.open(transformer["fp32"])
    original = fp32.node(integer.name.removesuffix("_quant"))
    assert cause.value == original.output[0] and cause.local_rel_l2 > 1
    assert (report.table.status == "cause").sum() == 1


def test_the_coarsest_activation_quantization_is_named_as_the_worst_rounding(cnn: dict[str, Path]) -> None:
    """An activation's scale ×16 (Q and DQ share it): the pair still rounds as its scale says,
    so it is no cause, but it loses 24 dB, and the report names it."""
    proto = onnx.load(cnn["qdq"])
    pair = [n for n in proto.graph.node if n.op_type == "QuantizeLinear"][2]
    report = _compare(cnn, _with_scaled(cnn["qdq"], pair.input[1], 16.0))
    dequantizer = next(n for n in proto.graph.node if n.op_type == "DequantizeLinear" and n.input[0] == pair.output[0])
    assert report.root_cause is None, report.summary()
    assert report.worst_rounding.node == dequantizer.name
    assert dequantizer.name in report.summary()


def test_a_float16_overflow_is_the_root_cause(transformer: dict[str, Path]) -> None:
    """The last layer's output projection ×1e5: fp32 holds its 1e5-sized values and the LayerNorm
    after it undoes the scale; float16 (at most 65504) overflows to Inf there."""
    weight, bias = "encoder.layer.1.output.dense.weight", "encoder.layer.1.output.dense.bias"
    fp32 = _with_scaled(_with_scaled(transformer["fp32"], weight, 1e5), bias, 1e5)
    half = convert_float_to_float16(fp32, keep_io_types=True)
    model = wb.open(fp32)
    report = wb.compare(model, wb.random_inputs(model, seed=7, dims=DIMS), candidate=half)
    cause = report.root_cause
    reader = next(n for n in fp32.graph.node if weight in n.input)
    assert cause is not None and cause.node == reader.name, report.summary()
    assert cause.inf_cand > 0 and cause.inf_ref == 0
    assert "overflow" in cause.note


def test_a_candidate_that_lost_its_scopes_takes_the_reference_s(transformer: dict[str, Path],
                                                               tmp_path: Path) -> None:
    """quant_pre_process strips torch's metadata and fuses the pooler's MatMul and Add into one
    node named ``node_MatMul_77/MatMulAddFusion``: that name is no scope, and the comparison
    takes each node's scope from the fp32 model."""
    pre = tmp_path / "pre.onnx"
    quant_pre_process(str(transformer["fp32"]), str(pre), skip_symbolic_shape=True)
    processed = wb.open(pre)
    fused = [r.id for r in processed.records if "/" in r.id]
    assert fused and not any(s.path for s in processed.node_scopes.values())
    report = _compare(transformer, processed)
    fp32 = wb.open(transformer["fp32"])
    twins = report.table[report.table.node.isin(fp32.records_by_id)]
    assert len(twins) > 50
    assert list(twins.scope) == [fp32.scope_path(n) for n in twins.node]
    for node_id in fused:
        assert report.model is not None and report.model.scope_path(node_id) == "pooler/dense"
    assert "node_MatMul_77" not in {s.name for s in report.model.scopes.root.walk()}


def test_a_half_converted_node_names_its_inputs_types() -> None:
    """What onnxconverter-common's fp16 converter leaves in tiny_bert: a MatMul reading float32
    and float16. The error says which node reads which input as what, and how to fix it."""
    h = onnx.helper
    graph = h.make_graph([h.make_node("MatMul", ["x", "w"], ["y"], name="node_MatMul_8")], "half",
                         [h.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2, 4])],
                         [h.make_tensor_value_info("y", onnx.TensorProto.FLOAT16, [2, 3])],
                         [onnx.numpy_helper.from_array(np.ones((4, 3), np.float16), "w")])
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", 17)])
    with pytest.raises(SessionError, match=r"node_MatMul_8 reads x as float32, w as float16.*node_block_list"):
        wb.debug(model, {"x": np.ones((2, 4), np.float32)})


# ---- the fix loop: wb.precision.search -------------------------------------------------------

@pytest.fixture(scope="module")
def outlier_cnn(cnn: dict[str, Path]) -> wb.Model:
    """The torch CNN with one weight of the block's first conv ×100: per-tensor int8 rounds the
    rest of that weight to a few levels, and the conv loses 13 dB (the classic outlier)."""
    proto = onnx.load(cnn["fp32"])
    conv = [n for n in proto.graph.node if n.op_type == "Conv"][1]
    weight = next(t for t in proto.graph.initializer if t.name == conv.input[1])
    values = onnx.numpy_helper.to_array(weight).copy()
    values.flat[5] *= 100
    weight.CopyFrom(onnx.numpy_helper.from_array(values, weight.name))
    return wb.open(proto)


def _output_error(fp32: wb.Model, candidate: onnx.ModelProto, feeds: dict) -> float:
    expected = wb.debug(fp32, feeds)
    got = wb.debug(wb.open(candidate), feeds)
    return max(float(np.abs(np.asarray(got.tensor(o.name)) - np.asarray(expected.tensor(o.name))).max())
               for o in fp32.proto.graph.output)


@pytest.mark.parametrize("method", ["bisection", "greedy"])
def test_the_search_keeps_fewer_nodes_than_the_local_errors_flag(outlier_cnn: wb.Model, method: str) -> None:
    feeds = wb.random_inputs(outlier_cnn, seed=7)
    calibration = [wb.random_inputs(outlier_cnn, seed=100 + i) for i in range(8)]
    converted = wb.precision.Recipe("int8").apply(outlier_cnn, calibration)
    tolerance = _output_error(outlier_cnn, converted, feeds) / 2  # quantized whole, twice too far off
    found = wb.precision.search(outlier_cnn, feeds, target="int8", tolerance=tolerance, calibration=calibration,
                                method=method)
    assert found.reached and found.error <= tolerance, found.summary()
    # every node whose rounding is off the fp32 tolerances is flagged locally: all of them rank
    flagged = set(found.ranking.node)
    assert 0 < len(found.kept) < len(flagged) and set(found.kept) <= flagged
    assert found.curve.error.iloc[0] > tolerance and found.curve.ok.iloc[-1]
    assert found.report.root_cause is None
    # the recipe makes the same model again, with the same error
    again = found.recipe.apply(outlier_cnn, calibration)
    assert onnx.printer.to_text(again.graph) == onnx.printer.to_text(found.model.graph)
    assert _output_error(outlier_cnn, again, feeds) == pytest.approx(found.error, rel=1e-6, abs=1e-9)
    assert "nodes_to_exclude=" in found.recipe.code() and found.kept[0] in found.recipe.code()
    figure = found.plot()
    assert figure.axes[0].get_yscale() == "log" and len(figure.axes[0].lines) >= 3  # curve, tolerance, choice


def test_the_search_fixes_a_float16_overflow(transformer: dict[str, Path]) -> None:
    """The overflow plant of above: the projection's output overflows float16, and so does every
    value after it until the LayerNorm brings them back. The search keeps exactly that chain,
    and the comparison of its model finds no cause."""
    weight, bias = "encoder.layer.1.output.dense.weight", "encoder.layer.1.output.dense.bias"
    fp32 = wb.open(_with_scaled(_with_scaled(transformer["fp32"], weight, 1e5), bias, 1e5))
    found = wb.precision.search(fp32, wb.random_inputs(fp32, seed=7, dims=DIMS), target="fp16", metric="rel_l2",
                                tolerance=1e-2)
    chain = [n for n in fp32.nodes.index if fp32.scope_path(n).startswith("encoder/layer.1/output")]
    assert [fp32.node(n).op_type for n in chain] == ["MatMul", "Add", "Add", "LayerNormalization"]
    assert found.curve.error.iloc[0] == np.inf  # all in float16, the outputs overflow
    assert found.reached and sorted(found.kept) == sorted(chain), found.summary()
    assert set(found.ranking.node[found.ranking.cause]) == set(chain)  # each is past float16 on fp32's inputs
    assert found.report.root_cause is None


def test_a_search_asked_for_what_it_cannot_do_says_what_it_can() -> None:
    model = wb.samples.open("tiny_cnn")
    with pytest.raises(wb.errors.UsageError, match="target='int4' is not one of"):
        wb.precision.search(model, target="int4")
    with pytest.raises(wb.errors.UsageError, match="metric='cosine' is not one of"):
        wb.precision.search(model, metric="cosine")
    with pytest.raises(wb.errors.UsageError, match="calibration"):
        wb.precision.Recipe("int8").apply(model)
