"""Reproducible analyses: save a folder, load it back, re-run it and explain what differs."""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
import pytest
from helpers import plain_run

import workbench as wb
from workbench.analysis import (
    Analysis,
    AnalysisError,
    Verification,
    _environment,
    _tables,
    load_analysis,
    save_analysis,
    verify_analysis,
)
from workbench.comparison import Report
from workbench.errors import ProviderError, WorkbenchError

SEQUENCE = {"batch": 1, "sequence": 16}
HAS_PYARROW = _tables.default_format() == "parquet"
FORMATS = ["csv", pytest.param("parquet", marks=pytest.mark.skipif(not HAS_PYARROW, reason="needs pyarrow"))]


@pytest.fixture(scope="module")
def report(cnn: wb.Model) -> Report:
    return wb.compare(cnn, wb.random_inputs(cnn), candidate="reference")


@pytest.fixture
def saved(tmp_path: Path, cnn: wb.Model) -> Path:
    """A tiny_cnn analysis with one result table, in a fresh folder."""
    save_analysis(tmp_path / "cnn", model=cnn, results={"ops": cnn.ops})
    return tmp_path / "cnn"


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _external(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tiny_bert.onnx"
    onnx.save(wb.samples.proto("tiny_bert"), path, save_as_external_data=True, all_tensors_to_one_file=True,
              location="weights.bin", size_threshold=1024)
    return path


# ---- save and load ---------------------------------------------------------------------


def test_round_trip(tmp_path: Path, cnn: wb.Model, report: Report) -> None:
    feeds = wb.random_inputs(cnn, seed=3)
    results = {"compare": report.table, "ops": cnn.ops, "nodes": cnn.nodes}
    assert report.table.suspects.map(type).eq(tuple).all()  # the tuple column that must come back as tuples
    a = save_analysis(tmp_path / "analyses" / "cnn-check", model=cnn, inputs=feeds, rtol=1e-3, atol=1e-6,
                      results=results, notes="CPU baseline <b>not bold</b>")
    assert isinstance(a, Analysis)
    b = load_analysis(tmp_path / "analyses" / "cnn-check")
    expected = plain_run(cnn, feeds)  # optimization="disabled"
    for loaded in (a, b):
        assert list(loaded.inputs) == ["image"]
        np.testing.assert_array_equal(loaded.inputs["image"], feeds["image"])
        np.testing.assert_array_equal(loaded.outputs["logits"], expected["logits"])
        assert set(loaded.results) == set(results)
        for name, table in results.items():
            pd.testing.assert_frame_equal(loaded.results[name], table)
    assert isinstance(b.results["compare"].suspects.iloc[0], tuple)
    assert isinstance(b.results["nodes"].output_shapes.iloc[0][0], tuple)  # a list of tuples stays one

    m = b.manifest
    assert m["format"] == "onnx-workbench-analysis" and m["version"] == 1 and m["created"]
    assert m["recipe"] == {"provider": "cpu", "providers": ["CPUExecutionProvider"], "optimization": "disabled",
                           "rtol": 1e-3, "atol": 1e-6}
    assert m["model"]["sha256"] == hashlib.sha256(cnn.proto.SerializeToString()).hexdigest()
    assert m["model"]["file"] == "model.onnx" and m["model"]["source"] is None and m["model"]["name"] == "tiny_cnn"
    assert m["inputs"]["values"] == [{"name": "image", "dtype": "float32", "shape": [1, 3, 32, 32]}]
    assert m["inputs"]["generated"] is None
    assert m["outputs"]["values"] == [{"name": "logits", "dtype": "float32", "shape": [1, 10]}]
    assert m["results_format"] == _tables.default_format()
    assert m["results"]["compare"]["file"] == f"results/compare.{m['results_format']}"
    assert m["results"]["compare"]["rows"] == len(report.table)
    assert m["notes"] == b.notes == "CPU baseline <b>not bold</b>"
    env = b.environment
    assert env["packages"]["onnxruntime"] == ort.__version__ and env["packages"]["onnx"] == onnx.__version__
    assert env["packages"]["numpy"] == np.__version__ and "torch" in env["packages"]
    assert env["python"] and env["platform"] and env["cpu"] and env["cpu_count"] == os.cpu_count()
    assert env["onnxruntime_providers"] == ort.get_available_providers() and isinstance(env["gpu"], list)
    assert b.model.name == "tiny_cnn" and len(b.model.nodes) == len(cnn.nodes)
    assert "tiny_cnn" in repr(b) and "compare (35 rows" in repr(b)
    assert "&lt;b&gt;not bold" in b._repr_html_() and "<b>not bold" not in b._repr_html_()


def test_default_inputs_are_seeded_random_inputs(tmp_path: Path) -> None:
    bert = wb.samples.open("tiny_bert")
    a = save_analysis(tmp_path / "bert", model=bert, dims=SEQUENCE)
    expected = wb.random_inputs(bert, dims=SEQUENCE, seed=0)
    assert list(a.inputs) == list(expected)
    for name, value in expected.items():
        np.testing.assert_array_equal(a.inputs[name], value)
    assert a.manifest["inputs"]["generated"] == {"seed": 0, "dims": SEQUENCE}
    assert [o["name"] for o in a.manifest["outputs"]["values"]] == ["last_hidden_state", "pooler_output"]
    assert a.results == {}


def test_a_model_path_is_copied_byte_for_byte(tmp_path: Path, sample_path) -> None:
    path = sample_path("tiny_cnn")
    a = save_analysis(tmp_path / "a", model=path)
    assert a.model_path.read_bytes() == path.read_bytes()
    assert a.manifest["model"]["source"] == str(path.resolve())
    assert a.manifest["model"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_external_data_round_trips(tmp_path: Path) -> None:
    source = _external(tmp_path / "src")
    m = wb.open(source)
    feeds = wb.random_inputs(m, dims=SEQUENCE)
    a = save_analysis(tmp_path / "bert", model=m, inputs=feeds)
    assert sorted(_files(tmp_path / "bert")) == ["inputs.npz", "manifest.json", "model.onnx", "outputs.npz",
                                                 "weights.bin"]
    data = a.manifest["model"]["external_data"]
    assert [d["file"] for d in data] == ["weights.bin"]
    assert data[0]["sha256"] == hashlib.sha256((tmp_path / "src" / "weights.bin").read_bytes()).hexdigest()
    shutil.rmtree(tmp_path / "src")  # the analysis needs nothing from where the model came from
    b = load_analysis(tmp_path / "bert")
    name = "encoder.layer.0.attention.query.weight"
    expected = {t.name: t for t in wb.samples.proto("tiny_bert").graph.initializer}[name]
    np.testing.assert_array_equal(b.model.weight(name), onnx.numpy_helper.to_array(expected))
    assert verify_analysis(tmp_path / "bert").ok
    with open(tmp_path / "bert" / "weights.bin", "r+b") as f:
        f.seek(100)
        f.write(b"\xff\xff\xff\xff")
    with pytest.raises(AnalysisError, match=r"weights\.bin.*external data.*changed since the analysis was saved"):
        load_analysis(tmp_path / "bert")


@pytest.mark.parametrize("fmt", FORMATS)
def test_tables_keep_index_dtypes_and_objects(tmp_path: Path, cnn: wb.Model, fmt: str) -> None:
    table = pd.DataFrame({
        "name": ["a", "b", ""],
        "maybe": ["x", None, "z"],
        "f32": np.array([0.1, np.nan, -np.inf], dtype=np.float32),
        "f64": [1 / 3, math.pi, np.nan],
        "count": np.array([1, 2, 3], dtype=np.int64),
        "flag": [True, False, True],
        "nullable": pd.array([1, None, 3], dtype="Int64"),
        "shape": [(1, 3), (), (2,)],
        "shapes": [[(1, 2), (3,)], [], [()]],
        "attrs": [{"axis": 1}, {}, None],
        "mixed": [1, "one", None],
    }, index=pd.Index(["n1", "n2", "n3"], name="id"))
    unnamed = pd.DataFrame({"v": [1.5, 2.5]}, index=[10, 20])
    multi = cnn.ops.set_index(["domain", "op_type"])
    empty = pd.DataFrame({"x": pd.Series([], dtype=float)})
    tables = {"table": table, "unnamed-index": unnamed, "multi": multi, "empty": empty, "series": cnn.ops["count"]}
    a = save_analysis(tmp_path / "t", model=cnn, results=tables, results_format=fmt)
    assert a.manifest["results_format"] == fmt and (tmp_path / "t" / "results" / f"table.{fmt}").is_file()
    loaded = load_analysis(tmp_path / "t").results
    for name in ("table", "unnamed-index", "multi", "empty"):
        pd.testing.assert_frame_equal(loaded[name], tables[name])
    pd.testing.assert_frame_equal(loaded["series"], cnn.ops[["count"]])
    assert loaded["table"]["shape"].tolist() == [(1, 3), (), (2,)]
    assert loaded["table"]["shapes"].tolist() == [[(1, 2), (3,)], [], [()]]


# ---- verify ------------------------------------------------------------------------------


def test_verify_in_the_same_environment_is_ok(saved: Path) -> None:
    v = verify_analysis(saved)
    assert isinstance(v, Verification)
    assert v.ok and not v.model_changed and v.environment.empty, v
    assert list(v.outputs.index) == ["logits"] and v.outputs.loc["logits", "max_abs"] == 0
    assert v.rtol == 1e-4 and v.atol == 1e-5 and v.provider == ["CPUExecutionProvider"]
    assert "match" in v.explanation and "same environment" in v.explanation
    assert "OK" in repr(v) and "OK" in v._repr_html_()
    assert load_analysis(saved).verify().ok


def test_verify_on_another_provider_at_zero_tolerance_names_the_provider(saved: Path) -> None:
    v = verify_analysis(saved, provider="reference", rtol=0, atol=0)
    assert not v.ok
    assert v.outputs.loc["logits", "max_abs"] > 0 and not v.outputs.loc["logits", "ok"]
    assert v.environment.loc["provider", "kind"] == "recipe"
    assert v.environment.loc["provider", "saved"] == ["CPUExecutionProvider"]
    assert v.environment.loc["provider", "now"] == ["reference"]
    assert "differ beyond rtol=0, atol=0" in v.explanation
    assert "provider CPU → reference, which can explain it" in v.explanation, v.explanation
    assert "DIFFERS" in repr(v) and "provider" in v._repr_html_()
    # at the recipe's tolerances the reference evaluator agrees, and says the provider differed
    loose = verify_analysis(saved, provider="reference")
    assert loose.ok and "although the environment differs in provider" in loose.explanation


def _noisy(monkeypatch: pytest.MonkeyPatch) -> None:
    from workbench.analysis import _verify

    real = _verify.run_recipe

    def run(*args, **kwargs):
        return {k: v + np.float32(0.5) for k, v in real(*args, **kwargs).items()}

    monkeypatch.setattr(_verify, "run_recipe", run)


def test_a_difference_in_the_same_environment_reads_as_nondeterminism(saved: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    _noisy(monkeypatch)
    v = verify_analysis(saved)
    assert not v.ok and v.environment.empty
    assert "although the environment is the same: the model or inputs may be nondeterministic" in v.explanation


def test_an_environment_difference_is_named(saved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _noisy(monkeypatch)
    now = _environment.environment()
    now["packages"]["onnxruntime"] = "99.0"
    now["gpu"] = ["Test GPU 9000 (driver 1.0)"]
    monkeypatch.setattr(_environment, "environment", lambda: now)
    v = verify_analysis(saved)
    assert not v.ok
    assert list(v.environment.index) == ["onnxruntime", "gpu"]  # the most telling first
    assert v.environment.loc["onnxruntime", "now"] == "99.0"
    gpu_then = _environment.describe(load_analysis(saved).environment["gpu"])  # "none" on a machine without one
    assert (f"the environment differs in onnxruntime {ort.__version__} → 99.0 and gpu {gpu_then} → Test GPU 9000 "
            "(driver 1.0), which can explain it" in v.explanation), v.explanation


def test_a_changed_model_is_refused_by_load_and_reported_by_verify(saved: Path) -> None:
    loaded = load_analysis(saved)  # before the change: verifying it later still sees the change
    proto = onnx.load(saved / "model.onnx")
    weight = proto.graph.initializer[0]
    weight.CopyFrom(onnx.numpy_helper.from_array(onnx.numpy_helper.to_array(weight) * np.float32(1.5), weight.name))
    onnx.save(proto, saved / "model.onnx")
    with pytest.raises(AnalysisError, match=r"model\.onnx.*the model copy.*changed since the analysis was saved"):
        load_analysis(saved)
    v = verify_analysis(saved)
    assert not v.ok and v.model_changed
    assert loaded.verify().model_changed
    assert v.environment.loc["model.onnx sha256", "kind"] == "model"
    assert "the model copy changed since the analysis was saved" in v.explanation
    (saved / "model.onnx").write_bytes(b"\x08\x07garbage")
    with pytest.raises(AnalysisError, match="model.onnx changed since the analysis was saved.*no longer runs"):
        verify_analysis(saved)


def test_a_missing_provider_says_how_to_verify_elsewhere(saved: Path) -> None:
    manifest = json.loads((saved / "manifest.json").read_text())
    manifest["recipe"].update(provider="NoSuchExecutionProvider", providers=["NoSuchExecutionProvider"])
    (saved / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ProviderError,
                       match="has no NoSuchExecutionProvider.*verify_analysis\\(path, provider='cpu'\\)"):
        verify_analysis(saved)
    assert verify_analysis(saved, provider="cpu").environment.loc["provider", "kind"] == "recipe"


# ---- damage ------------------------------------------------------------------------------


def _damage(folder: Path, how: str) -> None:
    manifest = folder / "manifest.json"
    if how == "no folder":
        shutil.rmtree(folder)
    elif how == "no manifest":
        manifest.unlink()
    elif how == "truncated manifest":
        manifest.write_text(manifest.read_text()[:200])
    elif how == "foreign manifest":
        manifest.write_text('{"format": "something else"}')
    elif how == "manifest missing a key":
        data = json.loads(manifest.read_text())
        del data["recipe"]["rtol"]
        manifest.write_text(json.dumps(data))
    elif how == "manifest with an unknown level":
        data = json.loads(manifest.read_text())
        data["recipe"]["optimization"] = "max"
        manifest.write_text(json.dumps(data))
    elif how == "manifest escapes the folder":
        data = json.loads(manifest.read_text())
        data["inputs"]["file"] = "../../etc/passwd"
        manifest.write_text(json.dumps(data))
    elif how == "no model":
        (folder / "model.onnx").unlink()
    elif how == "no inputs":
        (folder / "inputs.npz").unlink()
    elif how == "corrupt outputs":
        (folder / "outputs.npz").write_bytes(b"not a zip")
    elif how == "no result":
        (folder / "results" / f"ops.{_tables.default_format()}").unlink()


@pytest.mark.parametrize(("how", "message"), [
    ("no folder", r"No analysis at .*cnn.*does not exist"),
    ("no manifest", r"manifest\.json.* is missing.*not an analysis folder"),
    ("truncated manifest", r"manifest\.json.* is corrupted: it is not valid JSON"),
    ("foreign manifest", r"manifest\.json.* is not the manifest of a workbench analysis"),
    ("manifest missing a key", r"manifest\.json.* lacks 'recipe\.rtol'"),
    ("manifest with an unknown level", r"manifest\.json.* names the optimization level 'max'"),
    ("manifest escapes the folder", r"names the inputs as '\.\./\.\./etc/passwd'.*refused"),
    ("no model", r"model\.onnx.*\(the model copy\) is missing"),
    ("no inputs", r"inputs\.npz.*\(the inputs\) is missing.*save the analysis again"),
    ("corrupt outputs", r"outputs\.npz.*\(the outputs\) changed since the analysis was saved"),
    ("no result", r"results/ops\.\w+.*result table 'ops'.* is missing"),
])
def test_damage_is_an_analysis_error_naming_the_file(saved: Path, how: str, message: str) -> None:
    _damage(saved, how)
    with pytest.raises(AnalysisError, match=message) as caught:
        load_analysis(saved)
    assert isinstance(caught.value, WorkbenchError) and isinstance(caught.value, ValueError)
    if how == "no result":  # re-running needs only the model and the arrays
        assert verify_analysis(saved).ok
        return
    with pytest.raises(AnalysisError, match=message):
        verify_analysis(saved)


def test_a_corrupt_array_file_with_a_matching_hash_is_still_caught(saved: Path) -> None:
    (saved / "outputs.npz").write_bytes(b"PK\x03\x04 truncated")
    manifest = json.loads((saved / "manifest.json").read_text())
    manifest["outputs"]["sha256"] = hashlib.sha256((saved / "outputs.npz").read_bytes()).hexdigest()
    (saved / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(AnalysisError, match=r"outputs\.npz.*is corrupted"):
        load_analysis(saved)


# ---- writing safely ----------------------------------------------------------------------


def test_an_existing_folder_is_refused_and_kept(saved: Path, cnn: wb.Model) -> None:
    before = _files(saved)
    with pytest.raises(AnalysisError, match="already exists.*nothing was changed.*overwrite=True"):
        save_analysis(saved, model=cnn, notes="second")
    assert _files(saved) == before
    a = save_analysis(saved, model=cnn, notes="second", overwrite=True)
    assert a.notes == "second" and a.results == {} and not (saved / "results").exists()
    assert sorted(p.name for p in saved.parent.iterdir()) == ["cnn"]  # no temporary folders left


def test_overwrite_never_deletes_a_folder_that_is_not_an_analysis(tmp_path: Path, cnn: wb.Model) -> None:
    folder = tmp_path / "my-notes"
    folder.mkdir()
    (folder / "precious.txt").write_text("keep me")
    with pytest.raises(AnalysisError, match="no manifest.json: it is not an analysis folder"):
        save_analysis(folder, model=cnn, overwrite=True)
    assert _files(folder) == {"precious.txt": b"keep me"}
    (tmp_path / "empty").mkdir()
    assert save_analysis(tmp_path / "empty", model=cnn).manifest["model"]["name"] == "tiny_cnn"


def test_a_failed_save_leaves_nothing(tmp_path: Path, cnn: wb.Model) -> None:
    with pytest.raises(AnalysisError, match="Result 'bad' cannot be stored.*column names must be strings"):
        save_analysis(tmp_path / "a", model=cnn, results={"ops": cnn.ops, "bad": pd.DataFrame({0: [1]})})
    with pytest.raises(AnalysisError, match="cannot be a file name"):
        save_analysis(tmp_path / "a", model=cnn, results={"../escape": cnn.ops})
    with pytest.raises(AnalysisError, match="results are pandas DataFrames.*report.table"):
        save_analysis(tmp_path / "a", model=cnn, results={"compare": object()})
    with pytest.raises(ProviderError, match="has no NoSuchExecutionProvider"):
        save_analysis(tmp_path / "a", model=cnn, provider="NoSuchExecutionProvider")
    with pytest.raises(AnalysisError, match="rtol must be a number"):
        save_analysis(tmp_path / "a", model=cnn, rtol=-1)
    with pytest.raises(wb.errors.InputError, match="unknown input"):
        save_analysis(tmp_path / "a", model=cnn, inputs={"x": np.zeros(1)})
    assert list(tmp_path.iterdir()) == []


def test_parquet_without_pyarrow_says_what_to_install(tmp_path: Path, cnn: wb.Model,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as where it is not installed
    assert _tables.default_format() == "csv"
    with pytest.raises(AnalysisError, match="needs pyarrow.*pip install pyarrow.*results_format='csv'"):
        save_analysis(tmp_path / "a", model=cnn, results={"ops": cnn.ops}, results_format="parquet")
    # an analysis saved where pyarrow was: loading its tables needs it, verifying does not
    save_analysis(tmp_path / "a", model=cnn, results={"ops": cnn.ops})
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    manifest["results_format"] = manifest["results"]["ops"]["format"] = "parquet"
    (tmp_path / "a" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(AnalysisError, match=r"ops\.csv' is a Parquet file and reading it needs pyarrow"):
        load_analysis(tmp_path / "a")
    assert verify_analysis(tmp_path / "a").ok


def test_the_folder_is_readable_like_any_other(tmp_path: Path, cnn: wb.Model) -> None:
    umask = os.umask(0o022)
    os.umask(umask)
    save_analysis(tmp_path / "a", model=cnn)
    assert (tmp_path / "a").stat().st_mode & 0o777 == 0o777 & ~umask  # not mkdtemp's 0700


def test_saving_reads_each_file_once(tmp_path: Path, cnn: wb.Model, monkeypatch: pytest.MonkeyPatch) -> None:
    """The model is hashed while it is copied, and nothing written is read back to be hashed."""
    from workbench.analysis import _analysis

    hashed: list[str] = []
    real = _analysis.sha256
    monkeypatch.setattr(_analysis, "sha256", lambda path: hashed.append(Path(path).name) or real(path))
    source = tmp_path / "cnn.onnx"
    onnx.save(cnn.proto, source)
    analysis = save_analysis(tmp_path / "a", source)
    assert "model.onnx" not in hashed and len(hashed) == len(set(hashed)), hashed
    assert analysis.manifest["model"]["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert load_analysis(tmp_path / "a").manifest == analysis.manifest
