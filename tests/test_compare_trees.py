"""Gradient-boosted trees vs their ONNX conversion: XGBoost and LightGBM models (scikit-learn
API, pipelines, raw Boosters) compare clean; an input that agrees within tolerance but crosses
a split threshold is explained, split by split; a wrong leaf is the ensemble's own fault."""

from __future__ import annotations

import sys

import numpy as np
import onnx
import pytest

import workbench as wb
from workbench.comparison import _sources
from workbench.errors import MissingExtraError, UsageError

_EXTRA = "the trees extra is not installed (pip install '.[trees]')"
xgboost = pytest.importorskip("xgboost", reason=_EXTRA)
lightgbm = pytest.importorskip("lightgbm", reason=_EXTRA)
onnxmltools = pytest.importorskip("onnxmltools", reason=_EXTRA)
pytest.importorskip("skl2onnx", reason="the sklearn extra is not installed (pip install '.[sklearn]')")

from onnxmltools.convert.common.data_types import FloatTensorType  # noqa: E402
from sklearn.datasets import make_classification, make_regression  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

#: Rows to train on, then fresh rows to compare on: XGBoost's thresholds are training values,
#: which fresh rows do not hit.
_TRAIN, _FRESH = 300, 100


def _split(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return X[:_TRAIN].astype(np.float32), y[:_TRAIN], X[_TRAIN:].astype(np.float32)


@pytest.fixture(scope="module")
def classification() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return _split(*make_classification(_TRAIN + _FRESH, 6, random_state=0))


@pytest.fixture(scope="module")
def regression() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return _split(*make_regression(_TRAIN + _FRESH, 6, noise=1.0, random_state=0))


@pytest.fixture(scope="module")
def xgb_classifier(classification):
    X, y, _ = classification
    return xgboost.XGBClassifier(n_estimators=30, max_depth=3, random_state=0, n_jobs=1).fit(X, y)


@pytest.fixture(scope="module")
def lgbm_regressor(regression):
    X, y, _ = regression
    return lightgbm.LGBMRegressor(n_estimators=30, num_leaves=8, verbose=-1, random_state=0, n_jobs=1).fit(X, y)


@pytest.fixture(scope="module")
def pipeline(classification):
    X, y, _ = classification
    xgb = xgboost.XGBClassifier(n_estimators=30, max_depth=3, random_state=0, n_jobs=1)
    return Pipeline([("scale", StandardScaler()), ("xgb", xgb)]).fit(X, y)


@pytest.fixture(params=["xgboost", "lightgbm"])
def boosted(request, xgb_classifier, lgbm_regressor, classification, regression):
    """Each library's model (an XGBoost classifier, a LightGBM regressor) and the fresh rows for it."""
    if request.param == "xgboost":
        return request.param, xgb_classifier, classification[2]
    return request.param, lgbm_regressor, regression[2]


def _onnxmltools(model, width: int) -> onnx.ModelProto:
    """``model`` converted as a user converts it, with onnxmltools' own float type."""
    convert = onnxmltools.convert_xgboost if "xgboost" in type(model).__module__ else onnxmltools.convert_lightgbm
    return convert(model, initial_types=[("input", FloatTensorType([None, width]))])


def _ensemble(model: onnx.ModelProto) -> onnx.NodeProto:
    return next(n for n in model.graph.node if n.op_type.startswith("TreeEnsemble"))


def _attribute(node: onnx.NodeProto, name: str) -> list:
    return list(onnx.helper.get_attribute_value(next(a for a in node.attribute if a.name == name)))


def _assert_clean(report: wb.Report, ensemble: str) -> None:
    assert ensemble in set(report.table.op_type)  # the ensemble itself is compared, not only what follows it
    assert report.first_divergence is None and report.root_cause is None, report.summary()
    assert set(report.table.status) == {"ok"} and report.splits.empty


def test_an_xgboost_classifier_converted_by_onnxmltools_is_clean(xgb_classifier, classification) -> None:
    _, _, fresh = classification
    report = wb.compare(xgb_classifier, fresh, onnx=_onnxmltools(xgb_classifier, 6))
    _assert_clean(report, "TreeEnsembleClassifier")
    assert list(report.table.value) == ["label", "probabilities"] and report.reference == "scikit-learn"


def test_an_xgboost_classifier_is_converted_here_at_opsets_its_converter_takes(xgb_classifier,
                                                                             classification) -> None:
    _, _, fresh = classification
    report = wb.compare(xgb_classifier, fresh)
    _assert_clean(report, "TreeEnsembleClassifier")
    assert {o.domain: o.version for o in report.model.proto.opset_import}["ai.onnx.ml"] <= 3


@pytest.mark.parametrize("given", [True, False], ids=["onnxmltools", "converted-here"])
def test_a_lightgbm_regressor_is_clean_and_its_ensemble_has_rows_of_its_own(lgbm_regressor, regression,
                                                                           given: bool) -> None:
    _, _, fresh = regression
    report = wb.compare(lgbm_regressor, fresh, onnx=_onnxmltools(lgbm_regressor, 6) if given else None)
    _assert_clean(report, "TreeEnsembleRegressor")
    assert list(report.table.op_type) == ["TreeEnsembleRegressor", "Identity"]  # the Identity passes it on


def test_a_lightgbm_classifier_whose_zipmap_onnxmltools_names_probabilities_is_clean(classification) -> None:
    X, y, fresh = classification
    classifier = lightgbm.LGBMClassifier(n_estimators=10, num_leaves=8, verbose=-1, random_state=0, n_jobs=1)
    classifier.fit(X, y)
    report = wb.compare(classifier, fresh, onnx=_onnxmltools(classifier, 6))
    _assert_clean(report, "TreeEnsembleClassifier")
    assert "ZipMap" not in set(report.table.op_type)  # its dicts are not compared with an array


@pytest.mark.parametrize("given", [True, False], ids=["onnxmltools", "converted-here"])
def test_a_raw_booster_is_compared_by_its_predictions(boosted, given: bool) -> None:
    library, fitted, fresh = boosted
    booster = fitted.get_booster() if library == "xgboost" else fitted.booster_
    assert _sources.source_kind(booster) is _sources.Booster
    report = wb.compare(booster, fresh, onnx=_onnxmltools(booster, 6) if given else None)
    _assert_clean(report, "TreeEnsembleClassifier" if library == "xgboost" else "TreeEnsembleRegressor")
    assert report.reference == library and not report.unaligned  # what follows the ensemble too


def test_a_pipeline_scaling_before_xgboost_is_clean_on_fresh_rows(pipeline, classification) -> None:
    _, _, fresh = classification
    report = wb.compare(pipeline, fresh)
    _assert_clean(report, "TreeEnsembleClassifier")
    assert list(report.table.op_type[:2]) == ["Scaler", "TreeEnsembleClassifier"]


def _straddling_row(pipeline, model: onnx.ModelProto, base: np.ndarray) -> tuple[np.ndarray, int, int, float]:
    """A row whose scaled value of one feature is, in scikit-learn's float64 arithmetic, on one side
    of a tree's root threshold and, in the ONNX Scaler's float32, on the other: the feature swept
    one float32 step at a time around the threshold's unscaled value, root after root until one
    such step is found. Returns the row, the tree, the feature and the threshold."""
    node = _ensemble(model)
    trees, features, thresholds = (_attribute(node, n) for n in ("nodes_treeids", "nodes_featureids",
                                                                  "nodes_values"))
    scaler = pipeline.named_steps["scale"]
    scaled = next(n.output[0] for n in model.graph.node if n.op_type == "Scaler")
    for tree in sorted(set(trees)):
        root = trees.index(tree)  # onnxmltools lists each tree's root first
        feature, threshold = features[root], np.float32(thresholds[root])
        centre = np.float32(threshold * scaler.scale_[feature] + scaler.mean_[feature])
        rows = np.tile(base, (201, 1))
        rows[:, feature] = centre + np.arange(-100, 101, dtype=np.float32) * np.spacing(centre)
        theirs = scaler.transform(rows)[:, feature]
        mine = wb.debug(model, {model.graph.input[0].name: rows}).tensor(scaled)[:, feature]
        straddle = np.flatnonzero((theirs < threshold) != (mine < threshold))
        if straddle.size:
            return rows[straddle[0]], tree, feature, float(threshold)
    raise AssertionError("no float32 step puts the two scalings on either side of a root threshold")


def test_an_input_within_tolerance_that_crosses_a_split_is_explained(pipeline, classification) -> None:
    _, _, fresh = classification
    model = wb.compare(pipeline, fresh[:1]).model.proto
    row, tree, feature, threshold = _straddling_row(pipeline, model, fresh[0])
    planted = np.vstack([fresh[:5], row])
    report = wb.compare(pipeline, planted, onnx=model)
    assert report.root_cause is None  # nothing is wrong with any node
    scaler, *ensemble = report.table.itertuples()
    assert scaler.op_type == "Scaler" and scaler.status == "ok"  # the input agrees within tolerance
    assert "threshold" in {row.status for row in ensemble}
    assert set(report.splits["sample"]) == {5}
    planted_split = report.splits[(report.splits.tree == tree) & (report.splits.tree_node == 0)]
    assert len(planted_split) == 1
    crossing = planted_split.iloc[0]
    assert (crossing["feature"], crossing["threshold"], crossing["mode"]) == (feature, threshold, "BRANCH_LT")
    assert (crossing["reference"] < threshold) != (crossing["candidate"] < threshold)
    first = report.splits.iloc[0]
    said = [str(np.float32(first[column])) for column in ("threshold", "reference", "candidate")]  # shortest
    assert (f"1 sample(s) inputs within tolerance cross split thresholds: sample 5, tree {first.tree}, feature "
            f"{first.feature} at {said[0]} (reference {said[1]}, candidate {said[2]})" in report.summary())


def _as_ml5(model: onnx.ModelProto) -> onnx.ModelProto:
    """``model`` with its TreeEnsembleRegressor written as ml opset 5's TreeEnsemble (split nodes
    by index, leaves apart, the base value in the first tree's leaves), which no converter writes
    yet, and its Scaler as Sub and Mul: onnx 1.23's shape inference crashes (SIGSEGV) on a
    TreeEnsemble whose input it cannot type, as it cannot a Scaler's output."""
    old = _ensemble(model)
    a = {name: _attribute(old, name) for name in ("nodes_treeids", "nodes_nodeids", "nodes_modes",
                                                  "nodes_featureids", "nodes_values", "nodes_truenodeids",
                                                  "nodes_falsenodeids", "target_treeids", "target_nodeids",
                                                  "target_weights", "base_values")}
    keys = list(zip(a["nodes_treeids"], a["nodes_nodeids"]))
    splits = [k for k, mode in zip(keys, a["nodes_modes"]) if mode != b"LEAF"]
    leaves = [k for k, mode in zip(keys, a["nodes_modes"]) if mode == b"LEAF"]
    weight = {k: w for k, w in zip(zip(a["target_treeids"], a["target_nodeids"]), a["target_weights"])}
    at = {k: i for i, k in enumerate(keys)}

    def child(side: str) -> tuple[list[int], list[int]]:
        kids = [(tree, a[side][at[(tree, node)]]) for tree, node in splits]
        return [leaves.index(k) if k in leaves else splits.index(k) for k in kids], [int(k in leaves) for k in kids]

    (true, true_leaf), (false, false_leaf) = child("nodes_truenodeids"), child("nodes_falsenodeids")
    leaf_weights = [weight[k] + (a["base_values"][0] if k[0] == 0 else 0) for k in leaves]
    modes = ["BRANCH_LEQ", "BRANCH_LT", "BRANCH_GTE", "BRANCH_GT"]
    new = onnx.helper.make_node(
        "TreeEnsemble", list(old.input), list(old.output), domain="ai.onnx.ml", name=old.name,
        tree_roots=[splits.index((tree, 0)) for tree in sorted(set(a["nodes_treeids"]))],
        nodes_featureids=[a["nodes_featureids"][at[k]] for k in splits],
        nodes_splits=onnx.numpy_helper.from_array(np.float32([a["nodes_values"][at[k]] for k in splits])),
        nodes_modes=onnx.numpy_helper.from_array(np.uint8([modes.index(a["nodes_modes"][at[k]].decode())
                                                           for k in splits])),
        nodes_truenodeids=true, nodes_trueleafs=true_leaf, nodes_falsenodeids=false, nodes_falseleafs=false_leaf,
        leaf_targetids=[0] * len(leaves), leaf_weights=onnx.numpy_helper.from_array(np.float32(leaf_weights)),
        n_targets=1, aggregate_function=1, post_transform=0)
    scaler = next(n for n in model.graph.node if n.op_type == "Scaler")
    offset, scale = (np.float32(_attribute(scaler, name)) for name in ("offset", "scale"))
    model.graph.initializer.extend([onnx.numpy_helper.from_array(offset, "offset"),
                                    onnx.numpy_helper.from_array(scale, "scale")])
    rewritten = [onnx.helper.make_node("Sub", [scaler.input[0], "offset"], ["centred"], name="Sub"),
                 onnx.helper.make_node("Mul", ["centred", "scale"], list(scaler.output), name="Mul"), new]
    del model.graph.node[:]
    model.graph.node.extend(rewritten)
    next(o for o in model.opset_import if o.domain == "ai.onnx.ml").version = 5
    return model


def test_an_ml5_tree_ensemble_is_walked_too(regression) -> None:
    X, y, fresh = regression
    xgb = xgboost.XGBRegressor(n_estimators=30, max_depth=3, random_state=0, n_jobs=1)
    pipeline = Pipeline([("scale", StandardScaler()), ("xgb", xgb)]).fit(X, y)
    model = wb.compare(pipeline, fresh[:1]).model.proto
    row, tree, feature, threshold = _straddling_row(pipeline, model, fresh[0])
    ml5 = _as_ml5(model)
    assert wb.compare(pipeline, fresh, onnx=ml5).root_cause is None  # the rewrite computes what the model did
    report = wb.compare(pipeline, np.vstack([fresh[:5], row]), onnx=ml5)
    assert report.table.set_index("op_type").at["TreeEnsemble", "status"] == "threshold"
    crossing = report.splits[report.splits.tree == tree].iloc[0]
    assert (crossing["sample"], crossing["feature"], crossing["threshold"]) == (5, feature, threshold)


def test_float64_rows_xgboost_rounds_onto_a_threshold_are_crossings_not_a_fault(classification) -> None:
    """Converted for float64 rows, the ensemble compares them in float64 with float32 thresholds,
    while XGBoost rounds them to float32 first: a training row just under a threshold (its
    thresholds are training values) lands on it in XGBoost only."""
    X64, y = make_classification(_TRAIN, 6, random_state=0)
    classifier = xgboost.XGBClassifier(n_estimators=30, max_depth=3, random_state=0, n_jobs=1).fit(X64, y)
    report = wb.compare(classifier, X64)
    assert report.model.proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    assert report.root_cause is None and "threshold" in set(report.table.status)
    crossing = report.splits.iloc[0]
    assert crossing["reference"] == np.float32(crossing["candidate"]) != crossing["candidate"]
    assert wb.compare(classifier, X64.astype(np.float32)).first_divergence is None  # as XGBoost reads them


def test_an_input_off_tolerance_is_carried_from_its_cause_not_a_crossing(pipeline, classification) -> None:
    _, _, fresh = classification
    model = wb.compare(pipeline, fresh[:1]).model.proto
    scaler = next(n for n in model.graph.node if n.op_type == "Scaler")
    next(a for a in scaler.attribute if a.name == "offset").floats[0] += 0.05
    report = wb.compare(pipeline, fresh, onnx=model)
    assert report.root_cause["op_type"] == "Scaler" and report.splits.empty  # off past tolerance: not a crossing
    assert "threshold" not in set(report.table.status)


def test_a_wrong_leaf_is_the_ensemble_itself(boosted) -> None:
    _, fitted, fresh = boosted
    model = _onnxmltools(fitted, 6)
    node = _ensemble(model)
    weights = "class_weights" if node.op_type == "TreeEnsembleClassifier" else "target_weights"
    tree_ids = _attribute(node, weights.replace("weights", "treeids"))
    attribute = next(a for a in node.attribute if a.name == weights)
    for i, tree in enumerate(tree_ids):
        if tree == 0:  # every leaf of the first tree: every sample lands on one
            attribute.floats[i] += 0.5
    report = wb.compare(fitted, fresh, onnx=model)
    cause = report.root_cause
    assert cause is not None and cause["op_type"] == node.op_type and cause["status"] == "cause"
    assert cause["note"].startswith("the ensemble itself")
    assert report.splits.empty and "off by" in report.summary()


def test_a_missing_onnxmltools_names_the_extra(xgb_classifier, classification, monkeypatch) -> None:
    _, _, fresh = classification
    monkeypatch.setitem(sys.modules, "onnxmltools", None)
    with pytest.raises(MissingExtraError, match=r"needs onnxmltools: pip install 'onnx-workbench\[trees\]'"):
        wb.compare(xgb_classifier, fresh)
    with pytest.raises(ImportError, match=r"onnx-workbench\[trees\]"):  # an ImportError, as plain Python says
        wb.compare(xgb_classifier.get_booster(), fresh)


def test_a_booster_needs_its_rows_and_a_model_with_one_ensemble(xgb_classifier, classification) -> None:
    _, _, fresh = classification
    booster = xgb_classifier.get_booster()
    with pytest.raises(UsageError, match=r"needs its input data: compare\(booster, X, onnx=model\)"):
        wb.compare(booster)
    scaler_only = wb.compare(Pipeline([("scale", StandardScaler())]).fit(fresh), fresh).model
    with pytest.raises(UsageError, match="align with one tree ensemble; the model has 0"):
        wb.compare(booster, fresh, onnx=scaler_only)


def test_a_converter_failure_says_what_to_do(classification) -> None:
    X, y, fresh = classification
    ranker = xgboost.XGBRanker(n_estimators=2, n_jobs=1).fit(X, y, qid=np.repeat(np.arange(30), 10))
    with pytest.raises(UsageError, match=r"skl2onnx could not convert XGBRanker \(MissingShapeCalculator: Unable "
                                         r"to find a shape calculator.*\)\. Convert it yourself.*onnx=model"):
        wb.compare(ranker, fresh)
