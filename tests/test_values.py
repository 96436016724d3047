"""Every kind of value the ONNX spec defines, through capture, debugger, inputs, compare,
analyses, the isolated worker and the inspector: sequences, maps, optionals, and the element
types numpy lacks (float8, bfloat16, int4), each compared in its own type."""

from __future__ import annotations

from pathlib import Path

import ml_dtypes
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from helpers import plain_run
from onnx import TensorProto as T
from onnx import helper
from onnx.reference import ReferenceEvaluator

import workbench as wb
from workbench.errors import InputError
from workbench.runtime._values import SPECIAL, run_session, to_ort

BACKENDS = ["cpu", "reference"]
SEQ_FLOAT = helper.make_sequence_type_proto(helper.make_tensor_type_proto(T.FLOAT, [None]))


def _model(nodes: list, inputs: list, outputs: list, opset: int = 18, initializers: list | None = None,
           domains: dict[str, int] | None = None) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializers or [])
    opsets = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v) for d, v in (domains or {}).items()]
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 10
    return model


def _split_concat(split: list[int]) -> onnx.ModelProto:
    """SplitToSequence(x, split) -> ConcatFromSequence: a sequence value in the middle."""
    return _model([helper.make_node("SplitToSequence", ["x", "split"], ["s"], axis=0),
                   helper.make_node("ConcatFromSequence", ["s"], ["y"], axis=0)],
                  [helper.make_tensor_value_info("x", T.FLOAT, [sum(split)])],
                  [helper.make_tensor_value_info("y", T.FLOAT, [sum(split)])],
                  initializers=[helper.make_tensor("split", T.INT64, [len(split)], split)])


@pytest.mark.parametrize("provider", BACKENDS)
def test_a_sequence_of_unequal_tensors_is_a_list(provider: str) -> None:
    x = np.arange(3, dtype=np.float32)
    dbg = wb.debug(_split_concat([1, 2]), {"x": x}, provider=provider)
    seq = dbg.tensor("s")
    assert isinstance(seq, list) and [a.tolist() for a in seq] == [[0.0], [1.0, 2.0]]
    np.testing.assert_array_equal(dbg.outputs["y"], x)
    step = dbg.step()
    assert "seq(2 × float32)" in repr(step)
    assert step.frame().loc["s", "shape"] == "seq(2 × float32)"


@pytest.mark.parametrize("provider", BACKENDS)
def test_a_sequence_of_equal_tensors_is_not_stacked(provider: str) -> None:
    x = np.arange(3, dtype=np.float32)
    dbg = wb.debug(_split_concat([1, 1, 1]), {"x": x}, provider=provider)
    seq = dbg.tensor("s")
    expected = plain_run(_split_concat([1, 1, 1]), {"x": x}, ["s"])["s"]
    assert isinstance(seq, list) and len(seq) == len(expected) == 3
    for got, want in zip(seq, expected):
        assert got.shape == want.shape == (1,)
        np.testing.assert_array_equal(got, want)


def _if_returning(then_value: onnx.GraphProto, else_value: onnx.GraphProto,
                  out_type: onnx.TypeProto) -> onnx.ModelProto:
    return _model([helper.make_node("If", ["c"], ["o"], then_branch=then_value, else_branch=else_value)],
                  [helper.make_tensor_value_info("c", T.BOOL, []), helper.make_tensor_value_info("x", T.FLOAT, [3])],
                  [helper.make_value_info("o", out_type)])


@pytest.mark.parametrize("provider", BACKENDS)
def test_control_flow_returning_a_sequence_or_an_empty_optional(provider: str) -> None:
    seq_body = helper.make_graph([helper.make_node("SequenceConstruct", ["x", "x"], ["s"])], "b", [],
                                 [helper.make_value_info("s", SEQ_FLOAT)])
    m = _if_returning(seq_body, seq_body, SEQ_FLOAT)
    x = np.array([1, 2, 3], np.float32)
    out = wb.debug(m, {"c": np.array(True), "x": x}, provider=provider).outputs["o"]
    assert isinstance(out, list) and len(out) == 2 and all(a.shape == (3,) for a in out)

    opt = helper.make_optional_type_proto(helper.make_tensor_type_proto(T.FLOAT, [3]))
    nothing = helper.make_node("Optional", [], ["e"], type=helper.make_tensor_type_proto(T.FLOAT, [3]))
    empty = helper.make_graph([nothing], "e", [], [helper.make_value_info("e", opt)])
    full = helper.make_graph([helper.make_node("Optional", ["x"], ["f"])], "f", [], [helper.make_value_info("f", opt)])
    m = _if_returning(full, empty, opt)
    dbg = wb.debug(m, {"c": np.array(False), "x": x}, provider=provider)
    assert dbg.outputs["o"] is None
    assert dbg.step().frame().loc["o", "shape"] == "empty optional"
    np.testing.assert_array_equal(wb.debug(m, {"c": np.array(True), "x": x}, provider=provider).outputs["o"], x)


def _sequence_and_optional_inputs() -> onnx.ModelProto:
    opt = helper.make_optional_type_proto(helper.make_tensor_type_proto(T.FLOAT, [2]))
    return _model([helper.make_node("SequenceAt", ["s", "i"], ["item"]),
                   helper.make_node("OptionalHasElement", ["o"], ["has"])],
                  [helper.make_value_info("s", SEQ_FLOAT), helper.make_tensor_value_info("i", T.INT64, []),
                   helper.make_value_info("o", opt)],
                  [helper.make_tensor_value_info("item", T.FLOAT, [None]),
                   helper.make_tensor_value_info("has", T.BOOL, [])])


@pytest.mark.parametrize("provider", BACKENDS)
def test_sequence_and_optional_inputs_are_accepted_checked_and_made(provider: str) -> None:
    m = wb.open(_sequence_and_optional_inputs())
    feeds = {"s": [np.ones(2, np.float32), np.arange(3, dtype=np.float32)], "i": np.array(1), "o": None}
    dbg = wb.debug(m, feeds, provider=provider)
    np.testing.assert_array_equal(dbg.outputs["item"], np.arange(3, dtype=np.float32))
    assert not dbg.outputs["has"]
    made = wb.random_inputs(m)
    assert isinstance(made["s"], list) and len(made["s"]) == 2 and made["o"].shape == (2,)
    assert bool(wb.debug(m, made, provider=provider).outputs["has"])
    with pytest.raises(InputError, match=r"'s' is a sequence \(seq\(float32\[\?\]\)\).*list of arrays.*o: optional"):
        wb.debug(m, {**feeds, "s": np.ones(3, np.float32)}, provider=provider)
    with pytest.raises(InputError, match=r"'s\[1\]' is int64, the model expects float32"):
        wb.runtime.check_inputs(m, {**feeds, "s": [np.ones(2, np.float32), np.ones(2, np.int64)]})


@pytest.mark.parametrize("isolate", [False, True])
def test_sequences_cross_the_isolated_worker(isolate: bool) -> None:
    feeds = {"s": [np.ones(2, np.float32), np.arange(3, dtype=np.float32)], "i": np.array(0), "o": None}
    dbg = wb.debug(_sequence_and_optional_inputs(), feeds, isolate=isolate)
    np.testing.assert_array_equal(dbg.outputs["item"], np.ones(2, np.float32))
    dbg = wb.debug(_split_concat([2, 1]), {"x": np.arange(3, dtype=np.float32)}, isolate=isolate)
    assert [a.shape for a in dbg.tensor("s")] == [(2,), (1,)]


# ---- element types numpy lacks ----------------------------------------------------------------

#: Each type onnxruntime's CPU provider casts to and from, with values it holds exactly.
CASTS = [(T.FLOAT8E4M3FN, [1.5, -2, 448]), (T.FLOAT8E4M3FNUZ, [1.5, -2, 240]), (T.FLOAT8E5M2, [1.5, -2, 57344]),
         (T.FLOAT8E5M2FNUZ, [1.5, -2, 57344]), (T.BFLOAT16, [1.5, -2, 2.0**100]), (T.INT4, [1, -2, 7, -8, 3]),
         (T.UINT4, [1, 2, 15, 0, 9])]


def _cast_model(elem: int, n: int) -> onnx.ModelProto:
    return _model([helper.make_node("Cast", ["x"], ["y"], to=elem), helper.make_node("Cast", ["y"], ["z"], to=T.FLOAT)],
                  [helper.make_tensor_value_info("x", T.FLOAT, [n])],
                  [helper.make_tensor_value_info("z", T.FLOAT, [n])], opset=21)


@pytest.mark.parametrize(("elem", "values"), CASTS, ids=[T.DataType.Name(e) for e, _ in CASTS])
def test_special_element_types_come_back_as_the_declared_dtype(elem: int, values: list) -> None:
    m = _cast_model(elem, len(values))
    x = np.array(values, np.float32)
    captured = {p: wb.debug(m, {"x": x}, provider=p).tensor("y") for p in BACKENDS}
    dtype = SPECIAL[elem]
    for got in captured.values():
        assert got.dtype == dtype
        np.testing.assert_array_equal(got.astype(np.float32), x)
    np.testing.assert_array_equal(captured["cpu"].view(np.uint8 if dtype.itemsize == 1 else np.uint16),
                                  captured["reference"].view(np.uint8 if dtype.itemsize == 1 else np.uint16))
    report = wb.compare(m, {"x": x}, reference="cpu", candidate="reference")
    assert report.first_divergence is None and report.table.ok.all(), report.table


def test_float8_compares_as_float8_and_names_real_differences() -> None:
    m = _cast_model(T.FLOAT8E4M3FN, 3)
    x = np.array([1.5, -2, 448], np.float32)
    clean = wb.compare(m, {"x": x}, reference="cpu", candidate="reference")
    assert clean.root_cause is None and clean.table.max_abs.max() == 0
    saved = {"y": np.array([1.5, -2, 416], ml_dtypes.float8_e4m3fn), "z": x}
    off = wb.compare(saved, {"x": x}, onnx=m)
    row = off.table.set_index("value").loc["y"]
    assert not row.ok and row.max_abs == 32 and off.root_cause.node == "Cast_0"


@pytest.mark.parametrize(("elem", "values"), CASTS[:1] + CASTS[4:6], ids=["float8", "bfloat16", "int4"])
def test_special_element_types_go_into_onnxruntime(elem: int, values: list) -> None:
    dtype = SPECIAL[elem]
    m = _model([helper.make_node("Cast", ["x"], ["z"], to=T.FLOAT)], [helper.make_tensor_value_info("x", elem, [5])],
               [helper.make_tensor_value_info("z", T.FLOAT, [5])], opset=21)
    x = np.array((values * 2)[:5], np.float32).astype(dtype)
    session = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_array_equal(run_session(session, ["z"], {"x": x})[0], x.astype(np.float32))
    np.testing.assert_array_equal(wb.debug(m, {"x": x}).outputs["z"], x.astype(np.float32))
    assert to_ort(x).data_type() == f"tensor({T.DataType.Name(elem).lower()})"


# ---- maps ------------------------------------------------------------------------------------


def _zipmap() -> onnx.ModelProto:
    scalar = helper.make_tensor_type_proto(T.FLOAT, [])
    out = helper.make_sequence_type_proto(helper.make_map_type_proto(T.INT64, scalar))
    return _model([helper.make_node("ZipMap", ["p"], ["z"], domain="ai.onnx.ml", classlabels_int64s=[3, 7])],
                  [helper.make_tensor_value_info("p", T.FLOAT, [2, 2])], [helper.make_value_info("z", out)],
                  domains={"ai.onnx.ml": 3})


def test_zipmap_outputs_are_lists_of_maps_and_compare_key_by_key() -> None:
    p = np.array([[0.25, 0.75], [0.5, 0.5]], np.float32)
    z = wb.debug(_zipmap(), {"p": p}).outputs["z"]
    assert [sorted(d) for d in z] == [[3, 7], [3, 7]] and float(z[0][7]) == 0.75
    expected = [{3: np.float32(0.25), 7: np.float32(0.75)}, {3: np.float32(0.5), 7: np.float32(0.5)}]
    report = wb.compare({"z": expected}, {"p": p}, onnx=_zipmap())
    assert list(report.table.value) == ["z[0][3]", "z[0][7]", "z[1][3]", "z[1][7]"] and report.table.ok.all()
    expected[1] = {3: np.float32(0.5)}
    row = wb.compare({"z": expected}, {"p": p}, onnx=_zipmap()).table.iloc[0]
    assert row.value == "z" and row.note == "item [1]: map keys differ: 1 vs 2 keys, 1 not in both"
    # the reference evaluator has no ZipMap: a typed error that says which backend lacks which op
    with pytest.raises(wb.errors.SessionError, match=r"reference evaluator could not load.*'ZipMap'.*Fix: the runtime "
                                                     r"has no implementation of an op"):
        wb.debug(_zipmap(), {"p": p}, provider="reference")


# ---- compare: structure and randomness -----------------------------------------------------------


def test_a_sequence_of_another_length_is_one_row_that_says_so() -> None:
    x = np.arange(3, dtype=np.float32)
    saved = {"s": [x[:1], x[1:2], x[2:]], "y": x}
    report = wb.compare(saved, {"x": x}, onnx=_split_concat([1, 2]))
    row = report.table.set_index("value").loc["s"]
    assert not row.ok and row.note == "sequence length differs: 3 vs 2"
    assert report.root_cause.node == "SplitToSequence_0"
    same = wb.compare({"s": [x[:1], x[1:] + 1], "y": x}, {"x": x}, onnx=_split_concat([1, 2]))
    assert list(same.table.value) == ["s[0]", "s[1]", "y"]
    assert same.table.set_index("value").ok.to_dict() == {"s[0]": True, "s[1]": False, "y": True}


def test_random_ops_are_said_random_never_causes() -> None:
    m = _model([helper.make_node("RandomNormalLike", ["x"], ["r"]), helper.make_node("Add", ["x", "r"], ["y"]),
                helper.make_node("Dropout", ["x", "ratio", "train"], ["d", "mask"]),
                helper.make_node("Relu", ["x"], ["z"])],
               [helper.make_tensor_value_info("x", T.FLOAT, [64])],
               [helper.make_tensor_value_info(n, T.FLOAT, [64]) for n in ("y", "d", "z")],
               initializers=[helper.make_tensor("ratio", T.FLOAT, [], [0.5]),
                             helper.make_tensor("train", T.BOOL, [], [True])])
    report = wb.compare(m, None, reference="cpu", candidate="reference")
    statuses = report.table.set_index("value").status.to_dict()
    assert statuses == {"r": "random", "y": "carried", "d": "random", "mask": "random", "z": "ok"}
    assert report.root_cause is None
    assert "come from random ops (RandomNormalLike, Dropout)" in report.summary()


def test_dropout_in_inference_mode_is_compared() -> None:
    m = _model([helper.make_node("Dropout", ["x"], ["d"])], [helper.make_tensor_value_info("x", T.FLOAT, [8])],
               [helper.make_tensor_value_info("d", T.FLOAT, [8])])
    report = wb.compare(m, None, reference="cpu", candidate="reference")
    assert list(report.table.status) == ["ok"]


# ---- analyses ---------------------------------------------------------------------------------


def test_analyses_store_sequences_and_special_types(tmp_path: Path) -> None:
    m = _model([helper.make_node("SplitToSequence", ["x", "split"], ["s"], axis=0),
                helper.make_node("Cast", ["x"], ["f8"], to=T.FLOAT8E4M3FN)],
               [helper.make_tensor_value_info("x", T.FLOAT, [3])],
               [helper.make_value_info("s", SEQ_FLOAT), helper.make_tensor_value_info("f8", T.FLOAT8E4M3FN, [3])],
               opset=21, initializers=[helper.make_tensor("split", T.INT64, [2], [1, 2])])
    x = np.array([1, 2, 448], np.float32)
    wb.save_analysis(tmp_path / "a", m, {"x": x})
    loaded = wb.load_analysis(tmp_path / "a")
    assert [a.tolist() for a in loaded.outputs["s"]] == [[1.0], [2.0, 448.0]]
    f8 = loaded.outputs["f8"]
    assert f8.dtype == ml_dtypes.float8_e4m3fn and f8.astype(float).tolist() == [1, 2, 448]
    assert "s: seq(float32[1], float32[2]); f8: float8_e4m3fn[3]" in repr(loaded)
    check = wb.verify_analysis(tmp_path / "a")
    assert check.ok and list(check.outputs.index) == ["s[0]", "s[1]", "f8"]
    check = wb.verify_analysis(tmp_path / "a", provider="reference")
    assert check.ok


# ---- against the runtimes themselves ---------------------------------------------------------------


@pytest.mark.parametrize("provider", BACKENDS)
def test_every_value_matches_the_runtime_itself(provider: str) -> None:
    m = _split_concat([2, 1, 3])
    x = np.arange(6, dtype=np.float32)
    dbg = wb.debug(m, {"x": x}, provider=provider)
    if provider == "cpu":
        expected = plain_run(m, {"x": x}, ["s", "y"])
    else:
        expected = ReferenceEvaluator(m).run(None, {"x": x}, intermediate=True)
    for name in ("s", "y"):
        got, want = dbg.tensor(name), expected[name]
        assert type(got) is type(want)
        for a, b in zip(got if isinstance(got, list) else [got], want if isinstance(want, list) else [want]):
            np.testing.assert_array_equal(a, b)
