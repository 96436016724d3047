"""Comparing ONNX runs with each other: models, backends, optimization levels, precisions, metrics."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import workbench as wb
from workbench.comparison import error_metrics, within

HAS_CUDA = "CUDAExecutionProvider" in ort.get_available_providers()


def test_onnx_vs_onnx_and_backend_vs_backend() -> None:
    m = wb.samples.open("tiny_cnn")
    feeds = wb.random_inputs(m)
    same = wb.compare(m, feeds, reference="cpu", candidate="reference")
    assert same.root_cause is None, same.summary()
    assert "CPUExecutionProvider" in same.reference and "reference" in same.candidate
    proto = wb.samples.proto("tiny_cnn")
    conv = [n for n in proto.graph.node if n.op_type == "Conv"][3]
    weight = next(t for t in proto.graph.initializer if t.name == conv.input[1])
    array = onnx.numpy_helper.to_array(weight) * np.float32(1.01)
    weight.CopyFrom(onnx.numpy_helper.from_array(array, weight.name))
    report = wb.compare(m, feeds, candidate=wb.open(proto))
    assert report.root_cause.node == conv.name
    with pytest.raises(ValueError, match="needs a candidate"):
        wb.compare(m, feeds)
    with pytest.raises(ValueError, match="reference= picks the reference side"):
        wb.compare({"x": np.zeros(1)}, feeds, onnx=m, reference="cpu")


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_CUDA, reason="needs onnxruntime-gpu and a CUDA GPU (run on a GPU machine, see docs/gpu.md)")
@pytest.mark.parametrize("sample", ["tiny_cnn", "tiny_bert"])
def test_cpu_against_cuda(sample: str) -> None:
    m = wb.samples.open(sample)
    feeds = wb.random_inputs(m, dims={"batch": 2, "sequence": 16})
    report = wb.compare(m, feeds, reference="cpu", candidate="cuda")
    assert "CUDAExecutionProvider" in report.candidate and "CPUExecutionProvider" in report.reference
    assert len(report.table) == sum(len([o for o in outs if o]) for outs in m.nodes.outputs)
    print(report.summary())
    print(report.table[["node", "op_type", "max_abs", "max_rel", "cosine"]].sort_values("max_abs").tail(5))
    # TF32 convolutions and matmuls round at ~1e-3: loose tolerances pass, cosine stays ~1
    loose = wb.compare(m, feeds, reference="cpu", candidate="cuda", rtol=1e-2, atol=1e-2)
    assert loose.root_cause is None, loose.summary()
    assert report.table.cosine.min() > 0.999


def test_metrics_catch_what_cosine_misses() -> None:
    rng = np.random.default_rng(0)
    reference = rng.standard_normal(10_000).astype(np.float32)
    candidate = reference.copy()
    candidate[:10] += 0.05  # a few values off: cosine still ~1
    metrics = error_metrics(reference, candidate)
    assert metrics["cosine"] > 0.9999
    assert metrics["max_abs"] == pytest.approx(0.05, rel=1e-3)
    assert metrics["min_atol"] == pytest.approx(0.05, rel=1e-3)
    assert not within(reference, candidate, 1e-4, 1e-5)
    assert within(reference, candidate, 0, metrics["min_atol"] * 1.001)
    mismatch = error_metrics(reference, reference[:5])
    assert mismatch["shape_mismatch"] and np.isnan(mismatch["max_abs"])
    special = error_metrics(np.array([np.nan, 1.0]), np.array([np.nan, np.inf]))
    assert (special["nan_ref"], special["inf_cand"]) == (1, 1) and special["max_abs"] == np.inf
    assert error_metrics(np.array([1e5], np.float32), np.array([7e4], np.float32))["fp16_overflow"]


def test_optimized_graph_against_the_graph_as_authored() -> None:
    m = wb.samples.open("tiny_bert")
    feeds = wb.random_inputs(m, dims={"batch": 1, "sequence": 16})
    report = wb.compare(m, feeds, candidate=wb.Run(m, optimization="all"))
    assert report.root_cause is None and report.first_divergence is None, report.summary()
    assert "(all)" in report.candidate
    fused = report.table[report.table.op_type.isin(["FusedMatMul", "SkipLayerNormalization"]) |
                         report.table.node.str.contains("Fusion")]
    assert not fused.empty  # fused nodes align with the authored values they end in
    assert len(report.table) < len(m.nodes)  # values inside fusions have no counterpart
    with pytest.raises(ValueError, match="optimization must be one of"):
        wb.compare(m, feeds, candidate=wb.Run(m, optimization="max"))


def test_an_overflow_to_inf_never_reads_as_close() -> None:
    reference = np.array([1.0, 2.0, 7e4, 3.0], np.float32)
    with np.errstate(over="ignore"):
        candidate = reference.astype(np.float16).astype(np.float32)  # 7e4 → inf
    metrics = error_metrics(reference, candidate, rtol=1e-2, atol=1e-2)
    assert metrics["nonfinite_mismatch"] == 1 and metrics["inf_cand"] == 1
    assert metrics["rel_l2"] == np.inf and np.isnan(metrics["cosine"]) and not metrics["ok"]
    matching = error_metrics(np.array([np.inf, np.nan, 1.0]), np.array([np.inf, np.nan, 1.0]), rtol=0, atol=0)
    assert matching["ok"] and matching["max_abs"] == 0 and matching["nonfinite_mismatch"] == 0
    opposite = error_metrics(np.array([np.inf]), np.array([-np.inf]), rtol=1, atol=1)
    assert opposite["nonfinite_mismatch"] == 1 and not opposite["ok"]


def test_float32_metrics_agree_with_float64() -> None:
    rng = np.random.default_rng(1)
    reference = rng.standard_normal(300_000).astype(np.float32)
    candidate = reference + np.float32(3e-6) * rng.standard_normal(reference.size).astype(np.float32)
    single = error_metrics(reference, candidate, rtol=1e-4, atol=1e-5)
    double = error_metrics(reference.astype(np.float64), candidate.astype(np.float64), rtol=1e-4, atol=1e-5)
    assert single["max_abs"] == double["max_abs"] and single["p99_abs"] == double["p99_abs"]
    assert single["rel_l2"] == pytest.approx(double["rel_l2"], rel=1e-4)
    # 1 - cosine is ~5e-12 here: a float32 dot product could not tell it from 1 or from 1 - 1e-7
    assert 1 - single["cosine"] == pytest.approx(1 - double["cosine"], rel=1e-2)
    assert single["ok"] == double["ok"] and single["min_rtol"] == pytest.approx(double["min_rtol"], rel=1e-5)
    huge = error_metrics(reference * np.float32(1e25), candidate * np.float32(1e25))  # squares overflow float32
    assert huge["rel_l2"] == pytest.approx(double["rel_l2"], rel=1e-3)
    assert 1 - huge["cosine"] == pytest.approx(1 - double["cosine"], rel=1e-2)
    strings = error_metrics(np.array(["a", "b"]), np.array(["a", "c"]), rtol=0, atol=0)
    assert not strings["ok"] and strings["max_abs"] == np.inf


def test_fp32_model_against_its_fp16_and_int8_versions(tmp_path) -> None:
    from onnxruntime.quantization import quantize_dynamic
    from onnxruntime.transformers.float16 import convert_float_to_float16

    m = wb.samples.open("tiny_bert")
    feeds = wb.random_inputs(m, dims={"batch": 1, "sequence": 16})
    half = wb.open(convert_float_to_float16(wb.samples.proto("tiny_bert"), keep_io_types=True))
    strict = wb.compare(m, feeds, candidate=half)
    assert strict.first_divergence is not None  # fp16 rounding is over the fp32 default tolerance
    assert wb.compare(m, feeds, candidate=half, rtol=2e-2, atol=2e-2).root_cause is None
    source = tmp_path / "fp32.onnx"
    onnx.save(wb.samples.proto("tiny_bert"), source)
    quantize_dynamic(source, tmp_path / "int8.onnx")
    int8 = wb.compare(m, feeds, candidate=wb.open(tmp_path / "int8.onnx"))
    # the quantized embedding table is where int8 first parts from fp32, traced through the
    # dequantization that ends in the authored value name; it rounds as its scale says, so it is
    # no cause; the quantized values are listed
    first = int8.first_divergence
    assert first.op_type == "DequantizeLinear" and first.value == "gather_1" and first.status == "rounding"
    assert int8.root_cause is None and "gather_1_quantized" in int8.unaligned


def test_a_candidate_path_is_a_model_not_a_provider(tmp_path) -> None:
    proto = wb.samples.proto("tiny_cnn")
    conv = [n for n in proto.graph.node if n.op_type == "Conv"][2]
    weight = next(t for t in proto.graph.initializer if t.name == conv.input[1])
    weight.CopyFrom(onnx.numpy_helper.from_array(onnx.numpy_helper.to_array(weight) * np.float32(1.01), weight.name))
    onnx.save(wb.samples.proto("tiny_cnn"), tmp_path / "a.onnx")
    onnx.save(proto, tmp_path / "b.onnx")
    report = wb.compare(str(tmp_path / "a.onnx"), None, candidate=str(tmp_path / "b.onnx"))
    assert report.root_cause.node == conv.name and report.candidate == "b.onnx on CPUExecutionProvider"
    with pytest.raises(wb.errors.ModelFileError, match="missing.onnx"):
        wb.compare(str(tmp_path / "a.onnx"), None, candidate="missing.onnx")


def test_cosine_of_float32_min_masks_warns_nothing() -> None:
    mask = np.full((4, 64), np.finfo(np.float32).min, np.float32)
    mask[:, :3] = 0
    shifted = mask.copy()
    shifted[0, 5] = 0
    with np.errstate(all="raise"):
        assert error_metrics(mask, mask.copy())["cosine"] == 1.0
        assert error_metrics(mask, shifted)["cosine"] == pytest.approx(np.sqrt(243 / 244), rel=1e-6)
