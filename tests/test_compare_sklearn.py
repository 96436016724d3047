"""scikit-learn vs its skl2onnx conversion, step by step: each pipeline step's output is
aligned with the ONNX value skl2onnx made for it, and a planted bug is traced to its step."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from onnx import numpy_helper

import workbench as wb

sklearn = pytest.importorskip("sklearn", reason="the sklearn extra is not installed (pip install '.[sklearn]')")
skl2onnx = pytest.importorskip("skl2onnx", reason="the sklearn extra is not installed (pip install '.[sklearn]')")

from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression, Ridge  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import OneHotEncoder, StandardScaler  # noqa: E402


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    X, y = make_classification(200, 8, random_state=0)
    return X.astype(np.float32), y


@pytest.fixture(scope="module")
def pipeline(data) -> Pipeline:
    X, y = data
    return Pipeline([("scale", StandardScaler()), ("pca", PCA(4)), ("clf", LogisticRegression())]).fit(X, y)


def test_a_clean_conversion_aligns_every_step_and_does_not_diverge(pipeline, data) -> None:
    X, _ = data
    report = wb.compare(pipeline, X, onnx=skl2onnx.to_onnx(pipeline, X[:1]))  # with ZipMap, as users convert
    assert list(report.table["value"]) == ["variable", "variable1", "label", "probabilities"]
    assert list(report.table["op_type"]) == ["Scaler", "MatMul", "LinearClassifier", "LinearClassifier"]
    assert report.first_divergence is None and report.root_cause is None
    assert report.reference == "scikit-learn"
    assert {"output_label", "output_probability"} <= set(report.unaligned)  # the ZipMap'd copies


def _with_attribute_changed(model, op_type: str, attribute: str, index: int, delta: float):
    for node in model.graph.node:
        if node.op_type == op_type:
            next(a for a in node.attribute if a.name == attribute).floats[index] += delta
    return model


def test_a_planted_scaler_offset_is_the_root_cause(pipeline, data) -> None:
    X, _ = data
    planted = _with_attribute_changed(skl2onnx.to_onnx(pipeline, X[:1]), "Scaler", "offset", 2, 0.01)
    report = wb.compare(pipeline, X, onnx=planted)
    assert report.root_cause["op_type"] == "Scaler" and report.root_cause["value"] == "variable"
    assert list(report.table["status"][:2]) == ["cause", "carried"]


def test_a_perturbed_pca_matrix_is_the_root_cause(pipeline, data) -> None:
    X, _ = data
    model = skl2onnx.to_onnx(pipeline, X[:1])
    for i, weight in enumerate(model.graph.initializer):
        if weight.name == "transform_matrix":
            array = numpy_helper.to_array(weight).copy()
            array[3, 1] += 1e-2
            model.graph.initializer[i].CopyFrom(numpy_helper.from_array(array, weight.name))
    report = wb.compare(pipeline, X, onnx=model)
    assert report.first_divergence["value"] == "variable1" and report.root_cause["op_type"] == "MatMul"
    assert report.table.set_index("value").at["variable", "ok"]  # the scaler before it is fine


def test_a_column_transformer_on_a_dataframe_and_a_regressor(data) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.random(100, dtype=np.float32), "b": rng.random(100, dtype=np.float32),
                          "c": rng.choice(["x", "y", "z"], 100)})
    target = frame["a"] * 3 + (frame["c"] == "x")
    prep = ColumnTransformer([("num", StandardScaler(), ["a", "b"]), ("cat", OneHotEncoder(), ["c"])])
    model = Pipeline([("prep", prep), ("ridge", Ridge())]).fit(frame, target)
    report = wb.compare(model, frame, onnx=skl2onnx.to_onnx(model, frame[:1]))
    assert "LinearRegressor" in set(report.table["op_type"])  # predict's (n,) met the graph's (n, 1)
    assert "Scaler" in set(report.table["op_type"]) and len(report.table) >= 3
    assert report.root_cause is None and not report.table["shape_mismatch"].any()


def test_converted_here_when_no_model_is_given(data) -> None:
    X, y = data
    forest = RandomForestClassifier(5, max_depth=4, random_state=0).fit(X, y)
    report = wb.compare(forest, X)
    # the Cast after the ensemble passes its label on unchanged: the model's output label is compared too
    assert list(report.table["value"]) == ["label", "probabilities", "output_label"] and report.root_cause is None


def test_what_is_missing_is_named(pipeline, data, monkeypatch) -> None:
    X, _ = data
    with pytest.raises(ValueError, match="needs its input data"):
        wb.compare(pipeline)
    monkeypatch.setitem(sys.modules, "skl2onnx", None)
    with pytest.raises(ImportError, match=r"pip install 'onnx-workbench\[sklearn\]'"):
        wb.compare(pipeline, X)
