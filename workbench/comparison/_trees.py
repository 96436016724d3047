"""Gradient-boosted trees (XGBoost, LightGBM) in a comparison: their conversion, their
reference values, and why a tree ensemble's output parts from the reference's.

onnxmltools converts both libraries' models; skl2onnx converts a pipeline ending in their
scikit-learn API (``XGBClassifier``, ``LGBMRegressor``…) once onnxmltools' converters are
registered with it, which is done here, lazily, the first time such a model is met. Neither
library is imported before then: they are optional (the ``trees`` extra).

A tree compares its input with a threshold, so an input that differs from the reference's by
one float32 rounding — well within any tolerance — can take the other branch and change the
output by a whole leaf. :func:`threshold_crossings` finds where: it walks every tree with the
reference's input row and with the candidate's, and records the first split where they part.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

import numpy as np
import onnx
import pandas as pd

from ..errors import MissingExtraError, UsageError
from ..model import Model
from ..runtime import Debugger
from ..runtime.internal import Value
from ._metrics import within

_LIBRARIES = ("xgboost", "lightgbm")
_INSTALL = "pip install 'onnx-workbench[trees]' (or pip install onnxmltools)"
#: The default-domain opset onnxmltools' own converters stop at (1.16 refuses 16 and above).
ONNXMLTOOLS_OPSET = 15
#: The ai.onnx.ml opset tree converters are given: onnxmltools' converters refuse version 5
#: ("version 5 of domain 'ai.onnx.ml' not supported"), skl2onnx's default.
ML_OPSET = 3
#: The tree-ensemble ops of ai.onnx.ml (``TreeEnsemble``: ml opset 5).
ENSEMBLE_OPS = frozenset({"TreeEnsembleClassifier", "TreeEnsembleRegressor", "TreeEnsemble"})
#: onnxmltools' converter of each library, and the prefix of the aliases it registers under.
_CONVERTERS = {"xgboost": ("onnxmltools.convert.xgboost.operator_converters.XGBoost", "XGBoost"),
               "lightgbm": ("onnxmltools.convert.lightgbm.operator_converters.LightGbm", "LightGbm")}
#: The scikit-learn API classes registered with skl2onnx.
_REGISTERED = {"xgboost": ("XGBClassifier", "XGBRegressor"), "lightgbm": ("LGBMClassifier", "LGBMRegressor")}
#: The note of a tree ensemble's row that is off on the reference's own inputs.
_ITSELF = "the ensemble itself: off on the reference's own inputs (its trees or leaves differ)"
#: The columns of Report.splits.
SPLIT_COLUMNS = ("node", "sample", "tree", "tree_node", "feature", "threshold", "mode", "reference", "candidate")


def library(obj: Any) -> str | None:
    """"xgboost" or "lightgbm" when ``obj`` comes from one of them (known without importing it)."""
    root = type(obj).__module__.split(".")[0]
    return root if root in _LIBRARIES else None


def is_booster(source: Any) -> bool:
    """Whether ``source`` is a raw ``xgboost.Booster`` or ``lightgbm.Booster``."""
    return library(source) is not None and type(source).__name__ == "Booster"


def holds_boosted_trees(estimator: Any) -> bool:
    """Whether a scikit-learn estimator is, or holds (a pipeline step, a column transformer's
    part), an XGBoost or LightGBM model."""
    return bool(_libraries(estimator))


def _libraries(source: Any) -> set[str]:
    """The boosting libraries whose models ``source`` is or holds."""
    params = source.get_params(deep=True) if hasattr(source, "get_params") else {}
    return {name for name in map(library, (source, *params.values())) if name is not None}


def _onnxmltools() -> Any:
    try:
        import onnxmltools
    except ImportError:
        raise MissingExtraError(f"Converting XGBoost or LightGBM models needs onnxmltools: {_INSTALL}.") from None
    return onnxmltools


def register_converters(estimator: Any) -> None:
    """Registers onnxmltools' converters with skl2onnx where ``estimator`` holds boosted trees,
    so that skl2onnx converts them (and builds the topology that names their outputs)."""
    if holds_boosted_trees(estimator):
        _onnxmltools()
        _register()


@functools.cache
def _register() -> None:
    """Each scikit-learn API class of the installed libraries, registered once, with the alias
    and options onnxmltools documents; a converter the user registered for a class stays theirs."""
    from skl2onnx import update_registered_converter
    from skl2onnx._supported_operators import sklearn_operator_name_map
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    for library, (converter_module, prefix) in _CONVERTERS.items():
        try:
            package = importlib.import_module(library)
        except ImportError:
            continue
        converter = getattr(importlib.import_module(converter_module), f"convert_{library}")
        for name in _REGISTERED[library]:
            cls = getattr(package, name)
            if cls in sklearn_operator_name_map:
                continue
            if name.endswith("Classifier"):
                update_registered_converter(cls, prefix + name, calculate_linear_classifier_output_shapes, converter,
                                            options={"nocl": [True, False], "zipmap": [True, False, "columns"]})
            else:
                update_registered_converter(cls, prefix + name, calculate_linear_regressor_output_shapes, converter)


def conversion_opsets(estimator: Any) -> dict[str, int] | None:
    """The opsets skl2onnx converts ``estimator`` at here: its own defaults (None), unless the
    estimator holds boosted trees, whose converters refuse ai.onnx.ml 5 (skl2onnx's default),
    and need the default domain named beside it."""
    if not holds_boosted_trees(estimator):
        return None
    from skl2onnx import get_latest_tested_opset_version

    return {"": get_latest_tested_opset_version(), "ai.onnx.ml": ML_OPSET}


def declared_opsets(model: Model) -> dict[str, int]:
    """The opsets skl2onnx rebuilds ``model``'s topology at (which names each step's output): the
    ones it declares for the default domain and ai.onnx.ml, down to those skl2onnx and the tree
    converters take (ai.onnx.ml 5 is refused; a later default opset than skl2onnx knows too).
    The default domain is named even where the model has no node in it: a conversion of trees
    alone declares only ai.onnx.ml, and skl2onnx fails on the missing one with ``'<' not
    supported between 'NoneType' and 'int'``."""
    from skl2onnx import get_latest_tested_opset_version

    highest = {"": get_latest_tested_opset_version(), "ai.onnx.ml": ML_OPSET}
    declared = {o.domain: o.version for o in model.proto.opset_import if o.domain in highest}
    return {domain: min(declared.get(domain, top), top) for domain, top in highest.items()}


def convert_booster(booster: Any, X: np.ndarray) -> Model:
    """``booster`` converted by onnxmltools, for float32 rows as wide as ``X``'s: input "input",
    opset :data:`ONNXMLTOOLS_OPSET` (its converters take only the default domain's and choose
    ai.onnx.ml's themselves); a LightGBM classifier's probabilities as a tensor, not ZipMap's
    list of dicts."""
    from ..model import open as open_model

    onnxmltools = _onnxmltools()
    from onnxmltools.convert.common.data_types import FloatTensorType  # its own: skl2onnx's is refused

    name = library(booster)
    options = {"zipmap": False} if name == "lightgbm" else {}
    try:
        proto = getattr(onnxmltools, f"convert_{name}")(
            booster, initial_types=[("input", FloatTensorType([None, X.shape[1]]))],
            target_opset=ONNXMLTOOLS_OPSET, **options)
    except Exception as error:  # noqa: BLE001 - onnxmltools' own words, whatever it raises them as
        raise UsageError(f"onnxmltools could not convert this {name} Booster ({type(error).__name__}: {error}). "
                         "Convert it yourself and pass the model: compare(booster, X, onnx=model).") from error
    return open_model(proto)


def booster_values(booster: Any, X: np.ndarray, model: Model) -> dict[str, np.ndarray]:
    """``booster``'s predictions for ``X`` under the names of the model's tree ensemble's outputs,
    shaped as the graph's: a regressor's ``(n, targets)``; a classifier's labels and its
    probabilities per class (a binary model predicts one, p: the graph's are ``[1 - p, p]``)."""
    node = _ensemble(model)
    predictions = _predict(booster, X)
    outputs = [o for o in node.output if o]
    if node.op_type != "TreeEnsembleClassifier":
        return {outputs[0]: predictions.reshape(len(X), -1)}
    probabilities = predictions if predictions.ndim == 2 else np.stack([1 - predictions, predictions], axis=1)
    labels = _class_labels(node)[probabilities.argmax(axis=1)]
    return dict(zip(outputs, [labels, probabilities]))


def _predict(booster: Any, X: np.ndarray) -> np.ndarray:
    if library(booster) == "xgboost":
        import xgboost

        # a Booster trained on a DataFrame knows its columns' names: the rows take them
        return np.asarray(booster.predict(xgboost.DMatrix(X, feature_names=booster.feature_names)))
    return np.asarray(booster.predict(X))


def _ensemble(model: Model) -> onnx.NodeProto:
    """The model's one tree ensemble, whose outputs a Booster's predictions are."""
    nodes = [r.node for r in model.records if _is_ensemble(r.node)]
    if len(nodes) != 1:
        raise UsageError(f"A Booster's predictions align with one tree ensemble; the model has {len(nodes)} "
                         f"({', '.join(sorted(ENSEMBLE_OPS))} of ai.onnx.ml). Compare its arrays instead: "
                         "compare({name: array}, X, onnx=model).")
    return nodes[0]


def _is_ensemble(node: onnx.NodeProto) -> bool:
    return node.domain == "ai.onnx.ml" and node.op_type in ENSEMBLE_OPS


def _attributes(node: onnx.NodeProto) -> dict[str, Any]:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _class_labels(node: onnx.NodeProto) -> np.ndarray:
    attributes = _attributes(node)
    if "classlabels_int64s" in attributes:
        return np.asarray(attributes["classlabels_int64s"], dtype=np.int64)
    return np.asarray([label.decode() for label in attributes["classlabels_strings"]])


def tree_values(run: Debugger, values: Mapping[str, Value], source: Any) -> dict[str, Value]:
    """The reference's ``values`` completed around ``run``'s tree ensembles (``source``: the
    estimator or Booster they come from):

    - an array given for a ZipMap's output (onnxmltools names LightGBM's ZipMap output
      "probabilities", the name skl2onnx gives the probabilities) is its input's: ZipMap only
      writes those rows as dicts;
    - XGBoost reads its input as float32 (a DMatrix holds float32): where an ensemble of an
      XGBoost model reads float64 values the reference has none of (the model's own input),
      the reference's are those rounded to float32, so that a row float32 rounds across a
      threshold is a crossing (see :func:`threshold_crossings`), not the ensemble's fault;
    - each ensemble's outputs and the values that pass them on unchanged (onnxmltools ends
      LightGBM's graphs in Identity, Cast and Mul-by-one nodes) share the one reference value
      any of them has: the ensemble then has rows of its own, and a fault in it is the
      ensemble's, not that of the Identity after it.
    """
    shared = dict(values)
    ensembles = [r.node for r in run.model.records if _is_ensemble(r.node)]
    for record in run.model.records:
        node = record.node
        if (node.op_type == "ZipMap" and isinstance(shared.get(node.output[0]), np.ndarray)
                and node.input[0] not in shared):
            shared[node.input[0]] = shared.pop(node.output[0])
    if _libraries(source) == {"xgboost"}:
        for node in ensembles:
            read = run.get(node.input[0])
            if node.input[0] not in shared and isinstance(read, np.ndarray) and read.dtype == np.float64:
                shared[node.input[0]] = read.astype(np.float32).astype(np.float64)
    for node in ensembles:
        for output in (o for o in node.output if o):
            chain = list(_carriers(run, output))
            known = next((shared[name] for name in chain if name in shared), None)
            if known is not None:
                shared.update({name: known for name in chain if name not in shared})
    return shared


def _carriers(run: Debugger, name: str) -> Iterator[str]:
    """``name``, and the values that pass it on unchanged, one after the other."""
    model = run.model
    current: str | None = name
    while current is not None:
        yield current
        reader = next((r for r in model.consumers.get(current, []) if _passes_on(run, r, current)), None)
        current = model.node(reader).output[0] if reader is not None else None


def _passes_on(run: Debugger, node_id: str, name: str) -> bool:
    """Whether the node's output is its input ``name``, whatever the input's values: an Identity,
    a Cast to the type it has, a Mul by ones that broadcasts nothing."""
    node = run.model.node(node_id)
    if node.domain not in ("", "ai.onnx") or not node.output or not node.output[0]:
        return False
    if node.op_type == "Identity":
        return True
    if node.op_type not in ("Cast", "Mul"):
        return False
    value, output = run.get(name), run.get(node.output[0])
    if not isinstance(value, np.ndarray) or not isinstance(output, np.ndarray):
        return False
    if node.op_type == "Cast":
        return value.dtype == output.dtype
    other = [n for n in node.input if n != name]
    return (len(other) == 1 and other[0] in run.model.initializers and value.shape == output.shape
            and bool(np.all(run.model.weight(other[0]) == 1)))


#: The split tests of ai.onnx.ml's tree ensembles, in the order ml opset 5 numbers them.
_MODES = ("BRANCH_LEQ", "BRANCH_LT", "BRANCH_GTE", "BRANCH_GT", "BRANCH_EQ", "BRANCH_NEQ")


@dataclass(frozen=True)
class _Forest:
    """A tree ensemble's nodes as flat arrays, one entry per node, so that every tree walks
    every sample at once. A child of -1 is a leaf: the walk ends there."""

    roots: np.ndarray  # the index of each tree's root (-1: a tree that is one leaf)
    tree: np.ndarray  # the tree each node belongs to
    node_id: np.ndarray  # its id in its tree (ml opset ≤ 3), or its index (ml opset 5)
    feature: np.ndarray
    threshold: np.ndarray
    mode: np.ndarray  # an index into _MODES
    true: np.ndarray  # the child taken where the test holds
    false: np.ndarray
    missing_true: np.ndarray  # NaN takes the true branch


def _forest(node: onnx.NodeProto) -> _Forest | None:
    """The node's trees; None for what the walk does not take (set membership tests)."""
    attributes = _attributes(node)
    return _forest_v5(attributes) if node.op_type == "TreeEnsemble" else _forest_v3(attributes)


def _forest_v3(attributes: Mapping[str, Any]) -> _Forest:
    """TreeEnsembleClassifier/Regressor: nodes named (tree id, node id), leaves among them."""
    trees, ids = attributes["nodes_treeids"], attributes["nodes_nodeids"]
    index = {key: i for i, key in enumerate(zip(trees, ids))}
    modes = [m.decode() for m in attributes["nodes_modes"]]
    leaf = [m == "LEAF" for m in modes]

    def child(tree: int, child_id: int) -> int:
        found = index[(tree, child_id)]
        return -1 if leaf[found] else found

    true = [-1 if is_leaf else child(t, c) for t, c, is_leaf in zip(trees, attributes["nodes_truenodeids"], leaf)]
    false = [-1 if is_leaf else child(t, c) for t, c, is_leaf in zip(trees, attributes["nodes_falsenodeids"], leaf)]
    children = set(true) | set(false)
    roots: dict[int, int] = {}
    for i, tree in enumerate(trees):
        if tree not in roots and i not in children:
            roots[tree] = -1 if leaf[i] else i
    thresholds = (attributes["nodes_values"] if "nodes_values" in attributes
                  else onnx.numpy_helper.to_array(attributes["nodes_values_as_tensor"]))
    missing = attributes.get("nodes_missing_value_tracks_true") or [0] * len(trees)
    return _Forest(np.asarray([roots[t] for t in sorted(roots)]), np.asarray(trees), np.asarray(ids),
                   np.asarray(attributes["nodes_featureids"]), np.asarray(thresholds),
                   np.asarray([_MODES.index(m) if not is_leaf else -1 for m, is_leaf in zip(modes, leaf)]),
                   np.asarray(true), np.asarray(false), np.asarray(missing, dtype=bool))


def _forest_v5(attributes: Mapping[str, Any]) -> _Forest | None:
    """TreeEnsemble (ml opset 5): split nodes by index, leaves in arrays of their own."""
    modes = onnx.numpy_helper.to_array(attributes["nodes_modes"]).astype(np.int64)
    if (modes >= len(_MODES)).any():  # BRANCH_MEMBER
        return None
    true = np.where(np.asarray(attributes["nodes_trueleafs"], dtype=bool), -1, attributes["nodes_truenodeids"])
    false = np.where(np.asarray(attributes["nodes_falseleafs"], dtype=bool), -1, attributes["nodes_falsenodeids"])
    count = len(modes)
    tree = np.zeros(count, dtype=np.int64)
    for number, root in enumerate(attributes["tree_roots"]):  # each node: the tree whose walk reaches it
        stack = [root]
        while stack:
            current = stack.pop()
            tree[current] = number
            stack.extend(c for c in (true[current], false[current]) if c >= 0)
    # a tree that is one leaf: a root whose both branches end in that leaf
    single = (true < 0) & (false < 0) & np.equal(attributes["nodes_truenodeids"], attributes["nodes_falsenodeids"])
    roots = np.asarray([-1 if single[root] else root for root in attributes["tree_roots"]])
    missing = attributes.get("nodes_missing_value_tracks_true") or [0] * count
    return _Forest(roots, tree, np.arange(count),
                   np.asarray(attributes["nodes_featureids"]),
                   onnx.numpy_helper.to_array(attributes["nodes_splits"]), modes, true, false,
                   np.asarray(missing, dtype=bool))


def _first_partings(forest: _Forest, theirs: np.ndarray, mine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each sample walked down each tree with two input rows (``theirs`` and ``mine``: samples
    by features) as long as they take the same branches: the (sample, node) pairs where they
    first part, one at most per sample and tree."""
    at = np.tile(forest.roots, (len(theirs), 1))  # the node each (sample, tree) is at; -1: done
    samples, nodes = [], []
    for _ in range(len(forest.mode) + 1):  # a tree is no deeper than its nodes are many
        sample, tree = np.nonzero(at >= 0)
        if not sample.size:
            break
        node = at[sample, tree]
        feature = forest.feature[node]
        goes_true = _holds(forest, node, theirs[sample, feature])
        parted = goes_true != _holds(forest, node, mine[sample, feature])
        samples.append(sample[parted])
        nodes.append(node[parted])
        at[sample, tree] = np.where(parted, -1, np.where(goes_true, forest.true[node], forest.false[node]))
    if not samples:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(samples), np.concatenate(nodes)


def _holds(forest: _Forest, node: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Whether each value ``x`` passes its node's test: against the threshold in ``x``'s type, NaN
    taking the true branch where the node says so."""
    threshold, mode = forest.threshold[node].astype(x.dtype), forest.mode[node]
    tests = [x <= threshold, x < threshold, x >= threshold, x > threshold, x == threshold, x != threshold]
    return np.select([mode == i for i in range(len(_MODES))], tests) | (forest.missing_true[node] & np.isnan(x))


def threshold_crossings(run: Debugger, table: pd.DataFrame, reference: Mapping[str, Value], rtol: float,
                        atol: float, tolerances: Mapping[str, tuple[float, float]]
                        ) -> tuple[pd.DataFrame, dict[Any, tuple[str, str]]]:
    """Why a tree ensemble is off: its input crosses split thresholds, or the ensemble itself.

    A tree ensemble whose rows in ``table`` are causes is off on the reference's own inputs:
    the ensemble itself (its trees or leaves). One whose rows are carried (off, but right on
    the reference's inputs) and whose input is within tolerance of ``reference``'s (the values
    as driven from the reference's, read as the node reads them alone: in its input's type)
    crosses thresholds: every tree is walked for each sample whose outputs are off, once with
    the reference's input row and once with the candidate's, and the first split where they go
    different ways is a row of the result (:attr:`~workbench.comparison.Report.splits`). It is
    explained only where every sample off crosses somewhere; else it stays carried.

    Returns the splits, and the status and note of each row this explains, by row label.
    """
    found, verdicts = [], {}
    measured = table[table.status.isin(("carried", "cause")) & ~table.weight.astype(bool)]  # not its weights' rows
    for node_id, rows in measured.groupby("node", sort=False):
        node = run.model.node(node_id)
        if not _is_ensemble(node):
            continue
        verdicts.update({i: ("cause", _ITSELF) for i in rows.index[rows.status == "cause"]})
        carried = rows[rows.status == "carried"]
        node_rtol, node_atol = tolerances.get(node.op_type, (rtol, atol))
        splits = _crossings(run, node, set(carried.output), reference, node_rtol, node_atol) if len(carried) else None
        if splits is not None:
            found.append(splits.assign(node=node_id)[list(SPLIT_COLUMNS)])
            note = (f"its input agrees within tolerance, but crosses split thresholds on "
                    f"{splits['sample'].nunique()} sample(s): see Report.splits")
            verdicts.update(dict.fromkeys(carried.index, ("threshold", note)))
    for index, (status, note) in verdicts.items():  # beside what a row says already
        verdicts[index] = status, "; ".join(filter(None, [table.at[index, "note"], note]))
    return (pd.concat(found, ignore_index=True) if found else pd.DataFrame(columns=SPLIT_COLUMNS)), verdicts


def _crossings(run: Debugger, node: onnx.NodeProto, outputs: set[str], reference: Mapping[str, Value],
               rtol: float, atol: float) -> pd.DataFrame | None:
    """The first parting split of each tree, per sample off (None where that explains nothing)."""
    mine = run.get(node.input[0])
    theirs = np.asarray(reference.get(node.input[0], mine))
    forest = _forest(node)
    if (forest is None or not isinstance(mine, np.ndarray) or theirs.shape != mine.shape
            or not within(theirs, mine, rtol, atol)):
        return None  # an input off: carried from upstream, where the cause is
    # as onnxruntime compares: in double for a double input, else in float (an integer input too)
    compared = np.float64 if mine.dtype == np.float64 else np.float32
    theirs = theirs.astype(mine.dtype).astype(compared).reshape(-1, mine.shape[-1])  # as the node read it alone
    mine = mine.astype(compared).reshape(-1, mine.shape[-1])
    off = np.flatnonzero(_samples_off(run, outputs, reference, len(mine), rtol, atol))
    sample, split = _first_partings(forest, theirs[off], mine[off])
    if not off.size or len(np.unique(sample)) < off.size:  # a sample off that crosses nothing: not this
        return None
    feature = forest.feature[split]
    order = np.lexsort((forest.tree[split], off[sample]))
    return pd.DataFrame({"sample": off[sample], "tree": forest.tree[split], "tree_node": forest.node_id[split],
                         "feature": feature, "threshold": forest.threshold[split].astype(mine.dtype),
                         "mode": np.asarray(_MODES)[forest.mode[split]],
                         "reference": theirs[off[sample], feature], "candidate": mine[off[sample], feature]}
                        ).iloc[order].reset_index(drop=True)


def _samples_off(run: Debugger, outputs: set[str], reference: Mapping[str, Value], samples: int, rtol: float,
                 atol: float) -> np.ndarray:
    """Which samples have an output off tolerance (numpy.isclose, NaN equal to NaN; labels equal)."""
    off = np.zeros(samples, dtype=bool)
    for name in outputs:
        mine, theirs = np.asarray(run.tensor(name)), np.asarray(reference[name])
        if mine.size != theirs.size or mine.size % samples:
            return np.ones(samples, dtype=bool)  # no verdict per sample: each must be explained
        mine, theirs = mine.reshape(samples, -1), theirs.reshape(samples, -1)
        if mine.dtype.kind in "biuf" and theirs.dtype.kind in "biuf":
            close = np.isclose(mine, theirs, rtol=rtol, atol=atol, equal_nan=True)
        else:
            close = mine == theirs
        off |= ~close.all(axis=1)
    return off


def crossing_text(splits: pd.DataFrame) -> str:
    """The summary's words for :attr:`~workbench.comparison.Report.splits`: how many samples
    cross, and the first crossing ("" when none does)."""
    if splits.empty:
        return ""
    first = splits.iloc[0]
    number = splits["threshold"].dtype.type  # float32 values said as float32 says them: shortest, exact

    def said(value: Any) -> str:
        return str(number(value))

    return (f"; on {splits['sample'].nunique()} sample(s) inputs within tolerance cross split thresholds: "
            f"sample {first['sample']}, tree {first['tree']}, feature {first['feature']} at "
            f"{said(first['threshold'])} (reference {said(first['reference'])}, candidate "
            f"{said(first['candidate'])})")
