"""Sweeps: many models × variants × inputs in worker processes or on Ray, as one tidy table."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import onnx
import pandas as pd
import pytest
from onnx import TensorProto, helper, numpy_helper

import workbench as wb
from workbench.errors import ProviderError, UsageError
from workbench.runtime._optimize import THREADS_VARIABLE, session_options
from workbench.sweeps._executors import run_local

pytestmark = pytest.mark.slow

#: Tolerances a float16 model of these MLPs meets (its rounding), and the fp32 model exactly.
TOLERANCES = {"atol": {"fp32": 1e-5, "fp16": 1e-2}, "rtol": {"fp32": 1e-4, "fp16": 1e-2}}


def _mlp(name: str, width: int, seed: int) -> onnx.ModelProto:
    """x[1,8] → fc1 (MatMul) → add1 → relu → fc2 (MatMul) → y[1,4], with weights from ``seed``."""
    rng = np.random.default_rng(seed)
    weights = [numpy_helper.from_array(rng.normal(0, 0.5, shape).astype(np.float32), n)
               for n, shape in (("w1", (8, width)), ("b1", (width,)), ("w2", (width, 4)))]
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"], name="fc1"),
             helper.make_node("Add", ["h", "b1"], ["hb"], name="add1"),
             helper.make_node("Relu", ["hb"], ["r"], name="relu"),
             helper.make_node("MatMul", ["r", "w2"], ["y"], name="fc2")]
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], weights)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _planted(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of ``model`` whose fc2 weight is off by half: a new export that diverges at fc2."""
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    w2 = copy.graph.initializer[2]
    w2.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(w2) * 1.5, "w2"))
    return copy


@pytest.fixture(scope="module")
def zoo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """Six models, each a (reference, candidate) pair of files; m3's candidate diverges at fc2."""
    folder = tmp_path_factory.mktemp("zoo")
    pairs = {}
    for i in range(6):
        name = f"m{i}"
        reference = _mlp(name, width=16 + 4 * i, seed=i)
        paths = folder / f"{name}.onnx", folder / f"{name}-new.onnx"
        onnx.save(reference, paths[0])
        onnx.save(_planted(reference) if name == "m3" else reference, paths[1])
        pairs[name] = paths
    return pairs


@pytest.fixture(scope="module")
def local(zoo: dict[str, tuple[Path, Path]], tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    return wb.sweep(zoo, inputs=3, variants=["fp32", "fp16"], workers=2, save=tmp_path_factory.mktemp("cases"),
                    **TOLERANCES)


@pytest.fixture(scope="module")
def ray_cluster() -> object:
    """Ray, started by the first sweep that asks for it (a local cluster of 2 CPUs), then shut down."""
    ray = pytest.importorskip("ray", reason="the ray extra is in the test extra; this runs where it is installed")
    assert not ray.is_initialized()
    yield ray
    ray.shutdown()


# ---- the table -------------------------------------------------------------------------------------
def test_a_planted_divergence_in_one_of_six_models_is_the_only_failing_case_with_its_root_cause(
        local: pd.DataFrame) -> None:
    assert list(local.columns) == ["model", "variant", "provider", "input", "check", "metric", "value", "verdict",
                                   "root_cause", "detail", "case"]
    assert len(local) == 6 * 2 * 3 * 3  # models × variants × inputs × metrics
    failing = local[local.verdict != "pass"]
    assert set(failing.model) == {"m3"} and set(failing.verdict) == {"fail"}
    assert len(failing) == 2 * 3 * 3  # every input of both variants
    assert set(failing.root_cause) == {"fc2"}  # the MatMul whose weight changed, off on the reference's inputs
    assert failing.detail.str.startswith("cause: MatMul fc2").all()
    assert (failing.value > 0.01).all()
    passing = local[local.model != "m3"]
    assert (passing[passing.variant == "fp32"].value == 0).all()  # the same model, the same runtime: exact
    assert ((passing.variant == "fp16") & (passing.value > 0)).any()  # float16 rounds


def test_the_table_keeps_the_sweeps_order(local: pd.DataFrame) -> None:
    assert list(dict.fromkeys(local.model)) == [f"m{i}" for i in range(6)]
    first = local[local.model == "m0"]
    assert list(first.variant) == ["fp32"] * 9 + ["fp16"] * 9
    assert list(first.input[:9]) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert list(first.metric[:3]) == ["max_abs", "max_rel", "rel_l2"]


def test_a_failing_input_is_saved_as_an_analysis_folder_that_reproduces(local: pd.DataFrame) -> None:
    cases = local.dropna(subset=["case"])
    assert set(cases.model) == {"m3"} and cases.case.nunique() == 6  # per variant and input
    folder = Path(cases[(cases.variant == "fp32") & (cases.input == 1)].case.iloc[0])
    assert folder.name == "m3-fp32-cpu-input1"
    analysis = wb.load_analysis(folder)
    table = analysis.results["compare"]
    assert table[table.status == "cause"].node.tolist() == ["fc2"]
    assert wb.verify_analysis(folder).ok
    # the inputs saved are the sweep's input 1: random inputs of seed 1
    np.testing.assert_array_equal(analysis.inputs["x"], wb.random_inputs(wb.open(folder / "model.onnx"), seed=1)["x"])


def test_given_inputs_are_what_every_case_runs_on(zoo: dict[str, tuple[Path, Path]]) -> None:
    x = np.full((1, 8), 0.5, np.float32)
    table = wb.sweep({"m3": zoo["m3"]}, inputs=[{"x": x}, {"x": -x}], workers=1)
    assert list(table.input.unique()) == [0, 1]
    reference, candidate = (onnx.load(p) for p in zoo["m3"])
    ran = [wb.debug(candidate, {"x": v}).tensor("y") - wb.debug(reference, {"x": v}).tensor("y") for v in (x, -x)]
    assert table[table.metric == "max_abs"].value.tolist() == pytest.approx([float(np.abs(d).max()) for d in ran])


def test_variants_with_an_optimization_level_and_int8_run_and_profile_names_the_slowest_op(
        zoo: dict[str, tuple[Path, Path]]) -> None:
    table = wb.sweep([zoo["m0"][0]], inputs=2, variants=["fp32+all", "int8"], checks=["compare", "profile"],
                     runs=3, atol={"fp32+all": 1e-5, "int8": 0.2}, rtol=0.1)
    assert set(table.verdict) == {"pass"}, table[table.verdict != "pass"].detail.tolist()
    assert table.model.unique().tolist() == ["m0"]  # the file's name
    profiled = table[table.check == "profile"]
    assert sorted(profiled.metric.unique()) == ["latency_median_ms", "latency_p90_ms"]
    assert (profiled.value > 0).all() and profiled.input.isna().all()
    # the op type onnxruntime spent most on, as it ran it (fused by the optimizer: FusedGemm, QLinearMatMul…)
    assert (profiled.detail == profiled.root_cause + profiled.detail.str.extract(r"(: \d+% of kernel time)")[0]).all()
    int8 = table[(table.variant == "int8") & (table.check == "compare") & (table.metric == "max_abs")]
    assert (int8.value > 0).all()  # it really ran quantized


def test_a_variant_on_the_reference_evaluator_runs_there(zoo: dict[str, tuple[Path, Path]],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from onnx.reference import ReferenceEvaluator

    from workbench.sweeps import _case

    calls = []
    run = ReferenceEvaluator.run
    monkeypatch.setattr(ReferenceEvaluator, "run", lambda self, *a, **k: calls.append(1) or run(self, *a, **k))
    model = wb.open(zoo["m0"][0])
    runner = _case._session(("m0-reference-test", "fp32"), model, "reference", "disabled", 1)
    (y,) = runner(["y"], wb.random_inputs(model))
    assert calls == [1] and y.shape == (1, 4)  # onnx's evaluator ran it, not onnxruntime's CPU provider
    table = wb.sweep([zoo["m0"][0]], inputs=2, providers=["reference"], workers=1)
    assert set(table.provider) == {"reference"} and set(table.verdict) == {"pass"}, table.detail.tolist()


# ---- workers -------------------------------------------------------------------------------------
def threads_seen(reference: wb.Model, candidate: wb.Model, inputs: dict, provider: str) -> dict[str, float]:
    """A custom check: the intra-op threads the worker's sessions were given."""
    options = session_options("disabled")
    return {"threads": float(os.environ[THREADS_VARIABLE]), "session_threads": float(options.intra_op_num_threads)}


def crash_in_m3(reference: wb.Model, candidate: wb.Model, inputs: dict, provider: str) -> dict[str, float]:
    """A custom check that kills its worker on model m3, as a native crash of the runtime would."""
    if candidate.name == "m3":
        os.abort()
    return {"ran": 1.0}


def must_be_small(reference: wb.Model, candidate: wb.Model, inputs: dict, provider: str) -> dict[str, float]:
    """A custom check that fails (an assertion) on inputs past 1 in size."""
    size = float(np.abs(inputs["x"]).max())
    assert size <= 1, f"input too large: {size:.2f}"
    return {"size": size}


@pytest.mark.parametrize("threads", [None, 2])
def test_each_workers_sessions_are_pinned_to_a_thread_count(zoo: dict[str, tuple[Path, Path]],
                                                           threads: int | None) -> None:
    table = wb.sweep({n: zoo[n] for n in ("m0", "m1")}, checks=[threads_seen], workers=2,
                     **({} if threads is None else {"threads": threads}))
    assert set(table.value) == {float(threads or 1)}  # one by default: values then do not depend on the machine
    assert set(table.check) == {"threads_seen"}


def test_a_worker_crash_fails_its_case_not_the_sweep(zoo: dict[str, tuple[Path, Path]]) -> None:
    table = wb.sweep(zoo, inputs=2, checks=[crash_in_m3, "compare"], workers=2)
    crashed = table[table.verdict == "error"]
    assert crashed.model.tolist() == ["m3"] and crashed.check.tolist() == ["case"]
    assert "crashed (signal SIGABRT)" in crashed.detail.iloc[0]
    others = table[table.model != "m3"]
    assert set(others.verdict) == {"pass"} and len(others) == 5 * 2 * (1 + 3)


def slow(reference: wb.Model, candidate: wb.Model, inputs: dict, provider: str) -> dict[str, float]:
    """A custom check that takes its time."""
    time.sleep(0.5)
    return {"slept": 0.5}


def test_a_sweep_stopped_early_runs_no_more_cases_and_leaves_no_worker(zoo: dict[str, tuple[Path, Path]],
                                                                       tmp_path: Path) -> None:
    import psutil

    spec = {"checks": ["test_sweeps:slow"], "inputs": {"random": 4, "dims": {}}, "runs": 1, "threads": 1,
            "reference_provider": "cpu", "save": None, "variant": "fp32", "provider": "cpu", "rtol": 0.0, "atol": 0.0}
    specs = [dict(spec, model=name, reference=str(ref), candidate=str(ref)) for name, (ref, _) in zoo.items()]
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    started = time.perf_counter()
    cases = run_local(specs, 2)
    _, rows = next(cases)  # the first case done (2 s of checks): then the caller stops
    cases.close()
    assert time.perf_counter() - started < 5  # not the 6 cases × 2 s that 2 workers take 6 s for
    assert [r["value"] for r in rows] == [0.5] * 4
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= before


def test_a_custom_checks_assertion_is_a_fail_with_its_words(zoo: dict[str, tuple[Path, Path]]) -> None:
    x = np.full((1, 8), 0.5, np.float32)
    table = wb.sweep([zoo["m0"][0]], inputs=[{"x": x}, {"x": 4 * x}], checks=[must_be_small], workers=1)
    assert table.verdict.tolist() == ["pass", "fail"]
    assert table.detail.iloc[1] == "input too large: 2.00" and table.value.iloc[0] == 0.5


def test_a_case_that_cannot_start_is_its_error_row(zoo: dict[str, tuple[Path, Path]], tmp_path: Path) -> None:
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    table = wb.sweep([zoo["m0"][0], broken], workers=1)
    error = table[table.model == "broken"]
    assert error.verdict.tolist() == ["error"] and error.check.tolist() == ["setup"]
    assert "broken.onnx" in error.detail.iloc[0]
    assert set(table[table.model == "m0"].verdict) == {"pass"}


def test_the_thread_count_of_a_process_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(THREADS_VARIABLE, "3")
    assert session_options("disabled").intra_op_num_threads == 3
    assert session_options("disabled", 2).intra_op_num_threads == 2  # a call's own count wins
    monkeypatch.setenv(THREADS_VARIABLE, "many")
    with pytest.raises(UsageError, match="whole number of threads"):
        session_options("disabled")


# ---- Ray -----------------------------------------------------------------------------------------
def test_ray_gives_the_same_table_as_local_workers(ray_cluster: object, zoo: dict[str, tuple[Path, Path]],
                                                   local: pd.DataFrame, tmp_path: Path) -> None:
    on_ray = wb.sweep(zoo, inputs=3, variants=["fp32", "fp16"], executor="ray", workers=2, save=tmp_path,
                      **TOLERANCES)
    assert ray_cluster.cluster_resources()["CPU"] == 2  # type: ignore[attr-defined]  # the sweep started it
    assert on_ray.case.notna().sum() == local.case.notna().sum() == 18
    pd.testing.assert_frame_equal(on_ray.drop(columns="case"), local.drop(columns="case"))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({Path(c).name for c in local.case.dropna()})


def test_ray_ships_given_inputs_and_a_dead_actor_fails_its_case_alone(ray_cluster: object,
                                                                      zoo: dict[str, tuple[Path, Path]]) -> None:
    x = np.full((1, 8), 0.5, np.float32)
    inputs = [{"x": x}, {"x": -x}]
    on_ray = wb.sweep(zoo, inputs=inputs, checks=[crash_in_m3, "compare"], executor="ray", workers=2)
    crashed = on_ray[on_ray.verdict == "error"]
    assert crashed.model.tolist() == ["m3"] and "died" in crashed.detail.iloc[0]
    here = wb.sweep(zoo, inputs=inputs, checks=[crash_in_m3, "compare"], workers=2)
    assert here.verdict.ne("error").sum() == on_ray.verdict.ne("error").sum() == 5 * 2 * 4
    pd.testing.assert_frame_equal(on_ray[on_ray.model != "m3"].reset_index(drop=True),
                                  here[here.model != "m3"].reset_index(drop=True))


# ---- history -------------------------------------------------------------------------------------
def test_runs_append_to_a_store_and_the_next_nights_regression_is_flagged(zoo: dict[str, tuple[Path, Path]],
                                                                        tmp_path: Path) -> None:
    store = tmp_path / "sweeps"
    models = {n: zoo[n][0] for n in ("m2", "m3")}
    first = wb.sweep(models, inputs=2, workers=1, store=store, run="night1")
    assert first.attrs["run"] == "night1"
    models["m3"] = zoo["m3"]  # tonight, m3's new export
    wb.sweep(models, inputs=2, workers=1, store=store)
    history = wb.read_sweeps(store)
    assert history.run.nunique() == 2 and history.run.iloc[0] == "night1"
    assert len(history) == 2 * len(first)
    changes = wb.sweep_compare(store)  # the last two runs
    flagged = changes[changes.regression]
    assert set(flagged.model) == {"m3"} and len(flagged) == 2 * 3
    assert set(flagged.why) == {"pass → fail"}
    assert not changes.regression.iloc[len(flagged):].any()  # regressions first
    with pytest.raises(UsageError, match="has a run 'night1' already"):
        wb.sweep(models, workers=1, store=store, run="night1")


def test_sweep_compare_flags_slower_lost_and_worse_measurements() -> None:
    keys = {"variant": "fp32", "provider": "cpu", "root_cause": None, "detail": None, "case": None}
    old = pd.DataFrame([
        {**keys, "model": "a", "input": None, "check": "profile", "metric": "latency_median_ms", "value": 1.0,
         "verdict": "pass"},
        {**keys, "model": "b", "input": None, "check": "profile", "metric": "latency_median_ms", "value": 1.0,
         "verdict": "pass"},
        {**keys, "model": "c", "input": 0, "check": "compare", "metric": "max_abs", "value": 0.5, "verdict": "fail"},
        {**keys, "model": "d", "input": 0, "check": "compare", "metric": "max_abs", "value": 0.0, "verdict": "pass"},
    ]).astype({"input": "Int64"})
    new = old.copy()
    new.loc[0, "value"] = 1.5  # +50%
    new.loc[1, "value"] = 1.1  # +10%: noise
    new.loc[2, ["value", "verdict"]] = [0.0, "pass"]  # fixed
    new = new[new.model != "d"]  # lost
    changes = wb.sweep_compare(old, new).set_index("model")
    assert changes.regression.to_dict() == {"a": True, "d": True, "b": False, "c": False}
    assert changes.why.to_dict() == {"a": "latency +50%", "d": "not in the new sweep", "b": "",
                                     "c": "fail → pass"}
    assert changes.loc["b", "change"] == pytest.approx(1.1)


# ---- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("kwargs", "error", "words"), [
    ({"variants": ["fp8"]}, UsageError, "variant 'fp8'"),
    ({"variants": ["fp16+fast"]}, UsageError, "optimization level"),
    ({"checks": ["accuracy"]}, UsageError, "check 'accuracy'"),
    ({"checks": [lambda *a: {}]}, UsageError, "top of an importable module"),
    ({"executor": "dask"}, UsageError, "'local'"),
    ({"workers": 0}, UsageError, "at least 1"),
    ({"threads": 0}, UsageError, "at least 1"),
    ({"inputs": 0}, UsageError, "at least one input set"),
    ({"providers": ["tensorrt"]}, ProviderError, "no TensorrtExecutionProvider"),
    ({"atol": {"fp16": 1e-2}}, UsageError, r"no tolerance for the variant\(s\) \['fp32'\]"),
    ({"rtol": -1}, UsageError, "at least 0"),
    ({"run": "../up"}, UsageError, "letters, digits"),
])
def test_bad_arguments_are_refused_before_any_work(zoo: dict[str, tuple[Path, Path]], tmp_path: Path,
                                                   kwargs: dict, error: type, words: str) -> None:
    with pytest.raises(error, match=words):
        wb.sweep([zoo["m0"][0]], store=tmp_path / "store", **kwargs)
    assert not (tmp_path / "store").exists()


def test_models_that_cannot_be_named_apart_or_found_are_refused(zoo: dict[str, tuple[Path, Path]],
                                                                 tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="Two models are named 'm0'"):
        wb.sweep([zoo["m0"][0], zoo["m0"][0]])
    with pytest.raises(UsageError, match="No model file at"):
        wb.sweep([tmp_path / "missing.onnx"])
    with pytest.raises(UsageError, match="read_sweeps|No sweep run"):
        wb.read_sweeps(tmp_path)
    wb.sweep([zoo["m0"][0]], workers=1, store=tmp_path / "one")
    with pytest.raises(UsageError, match="needs two"):
        wb.sweep_compare(tmp_path / "one")
