"""The scikit-learn side of a comparison: every step of a fitted estimator, named as skl2onnx
names its output in the ONNX graph.

skl2onnx turns each step of a pipeline (and each transformer of a ``ColumnTransformer`` or
``FeatureUnion``) into one operator of its topology, whose outputs are ONNX values. Converting
the estimator again with ``intermediate=True``, with the model's own input names and types,
gives that topology; its operators point at the very step objects, so each step's output
(``transform``, or ``predict`` and ``predict_proba`` of the final estimator) is computed by
scikit-learn and stored under the ONNX name. A model converted with other options than the
defaults may name its values otherwise: what does not align is listed, not guessed.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator, Mapping

import numpy as np

from ..errors import MissingExtraError, UsageError
from ..model import Model
from ._trees import conversion_opsets, declared_opsets, register_converters

#: ONNX element type → the skl2onnx tensor type of that name.
_TYPES = {1: "FloatTensorType", 11: "DoubleTensorType", 7: "Int64TensorType", 6: "Int32TensorType",
          8: "StringTensorType", 9: "BooleanTensorType"}


def is_sklearn(source: Any) -> bool:
    """Whether ``source`` is a scikit-learn estimator (checked without importing sklearn)."""
    return hasattr(source, "get_params") and any(c.__module__.startswith("sklearn.") for c in type(source).__mro__)


def _skl2onnx() -> Any:
    try:
        import skl2onnx
    except ImportError:
        raise MissingExtraError("Comparing a scikit-learn model needs skl2onnx: pip install 'onnx-workbench[sklearn]' "
                                "(or pip install skl2onnx).") from None
    return skl2onnx


@contextmanager
def _converting(estimator: Any, fix: str) -> Iterator[None]:
    """skl2onnx's failures (an estimator without a converter, a converter that refuses the
    opsets) as the workbench's, in their first line (skl2onnx adds a paragraph of advice),
    saying what to do instead (``fix``)."""
    try:
        yield
    except (MissingExtraError, UsageError):
        raise
    except Exception as error:  # noqa: BLE001 - skl2onnx and the converters it calls raise many kinds
        first = next(iter(str(error).splitlines()), "")
        raise UsageError(f"skl2onnx could not convert {type(estimator).__name__} ({type(error).__name__}: "
                         f"{first}). {fix}") from error


def convert(estimator: Any, X: Any) -> tuple[Model, Any]:
    """``estimator`` converted by skl2onnx (default options), with ``X``'s type and width, and
    the conversion's topology (which names each step's output)."""
    skl2onnx = _skl2onnx()
    from skl2onnx.algebra.type_helper import guess_initial_types

    from ..model import open as open_model

    register_converters(estimator)
    with _converting(estimator, "Convert it yourself and pass the model: compare(estimator, X, onnx=model) (a "
                                "model skl2onnx has no converter for needs one registered with "
                                "skl2onnx.update_registered_converter)."):
        proto, topology = skl2onnx.convert_sklearn(estimator, initial_types=guess_initial_types(X[:1]),
                                                   intermediate=True, target_opset=conversion_opsets(estimator))
    return open_model(proto), topology


def feeds(model: Model, X: Any) -> dict[str, Any]:
    """The model's feeds for ``X``: the array (or a DataFrame's values) for a one-input model;
    a DataFrame's columns by input name for a model with one input per column."""
    names = [i.name for i in model.proto.graph.input]
    if isinstance(X, Mapping):
        return dict(X)
    if len(names) == 1:
        return {names[0]: np.asarray(X)}
    if hasattr(X, "columns") and set(names) <= set(X.columns):
        return {name: X[[name]].to_numpy() for name in names}
    raise UsageError(f"The model has {len(names)} inputs {names}: pass X as a DataFrame with those columns, or the "
                     "inputs by name.")


def sklearn_values(estimator: Any, X: Any, model: Model, shape_of: Callable[[str], tuple[int, ...] | None],
                   topology: Any = None) -> dict[str, np.ndarray]:
    """Every step's output for ``X``, by the ONNX name skl2onnx gives it in ``model``.

    ``topology`` is the conversion's, where :func:`convert` made ``model``; else the estimator
    is converted again with the model's input names, types and opsets to get it.
    ``shape_of(name)`` is the candidate's shape of a value (None if it has none): scikit-learn's
    ``(n,)`` predictions are reshaped to the graph's ``(n, 1)`` where the sizes agree.
    """
    if topology is None:
        topology = _topology(estimator, model)
    outputs: dict[int, list[str]] = {}
    for operator in topology.unordered_operator_iterator():
        outputs.setdefault(id(operator.raw_operator), [v.onnx_name for v in operator.outputs])
    values: dict[str, np.ndarray] = {}
    _walk(estimator, X, outputs, values)
    for name, value in list(values.items()):
        shape = shape_of(name)
        if shape is not None and value.shape != shape and value.size == int(np.prod(shape)):
            values[name] = value.reshape(shape)
    return values


def _topology(estimator: Any, model: Model) -> Any:
    """skl2onnx's topology for ``estimator`` converted with ``model``'s inputs and opsets."""
    skl2onnx = _skl2onnx()
    from skl2onnx.common import data_types

    types = []
    for value in model.proto.graph.input:
        tensor = value.type.tensor_type
        kind = _TYPES.get(tensor.elem_type)
        if kind is None:
            raise UsageError(f"The model's input {value.name!r} has a type skl2onnx does not take as an input "
                             f"(element type {tensor.elem_type}); compare saved arrays instead: "
                             "compare(arrays, inputs, onnx=model).")
        types.append((value.name, getattr(data_types, kind)([None, *[d.dim_value or None
                                                                      for d in tensor.shape.dim[1:]]])))
    register_converters(estimator)
    with _converting(estimator, "Its steps' values are found through skl2onnx's conversion; compare saved arrays "
                                "instead: compare(arrays, X, onnx=model)."):
        _, topology = skl2onnx.convert_sklearn(estimator, initial_types=types, intermediate=True,
                                               target_opset=declared_opsets(model))
    return topology


def _walk(estimator: Any, X: Any, outputs: Mapping[int, list[str]], values: dict[str, np.ndarray]) -> Any:
    """Computes ``estimator`` on ``X`` step by step, storing each step's output under its ONNX
    names; returns what it passes on (a transformer's output)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import FeatureUnion, Pipeline
    from sklearn.utils import _safe_indexing

    names = outputs.get(id(estimator), [])
    if isinstance(estimator, Pipeline):
        for _, step in estimator.steps:
            if step is not None and step != "passthrough":
                X = _walk(step, X, outputs, values)
        return X
    if isinstance(estimator, ColumnTransformer):
        for _, transformer, columns in estimator.transformers_:
            if transformer not in ("drop", "passthrough"):
                _walk(transformer, _safe_indexing(X, columns, axis=1), outputs, values)
    elif isinstance(estimator, FeatureUnion):
        for _, transformer in estimator.transformer_list:
            if transformer not in ("drop", "passthrough"):
                _walk(transformer, X, outputs, values)
    if hasattr(estimator, "transform") and not hasattr(estimator, "predict"):
        out = _dense(estimator.transform(X))
        if names:
            values[names[0]] = out
        return out
    results = [_dense(estimator.predict(X))]
    if hasattr(estimator, "predict_proba") and len(names) > 1:
        results.append(_dense(estimator.predict_proba(X)))
    elif hasattr(estimator, "transform") and len(names) > 1:  # clusterers: label, then distances
        results.append(_dense(estimator.transform(X)))
    values.update(zip(names, results))
    return results[0]


def _dense(value: Any) -> np.ndarray:
    return np.asarray(value.toarray() if hasattr(value, "toarray") else value)
