"""The Keras side of a comparison: every layer's output, found in the ONNX graph by its scope.

Both converters our users meet keep TensorFlow's op names: Keras 3's own ``model.export(path,
format="onnx")`` and tf2onnx's ``from_keras`` (tf_keras) name a layer's nodes
``<model>/<layer>/<op>`` (Keras 3 adds a ``_1`` to each when the model was called before), and
a SavedModel's conversion puts ``StatefulPartitionedCall/`` in front. A layer's output is the
value its scope hands to the rest of the graph. tf2onnx lays convolutions out channels-first
and may flatten or squeeze a value: the layer's value is brought into the graph's layout before
it is compared (the row's note says how), so a layout is never reported as a numeric fault.
Layers the converter removed (Dropout, a zero bias) have no value of their own: they are
simply not compared.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..errors import MissingExtraError, UsageError
from ..model import Model
from ..model import open as open_model

#: Segments a SavedModel conversion puts in front of the model's own scope.
_CALL = re.compile(r"^(?:Stateful)?PartitionedCall(?:_\d+)?$")
_INSTALL = "pip install 'onnx-workbench[tensorflow]' (tensorflow, tf_keras and tf2onnx)"


def is_keras(source: Any) -> bool:
    """Whether ``source`` is a Keras model, Keras 3 or tf_keras (checked without importing either)."""
    return hasattr(source, "layers") and any(
        c.__module__.split(".")[0] in ("keras", "tf_keras") for c in type(source).__mro__)


def as_arrays(model: Any, inputs: Any) -> list[np.ndarray]:
    """The model's inputs as a list of arrays, in the order of ``model.inputs``: one array, a
    list of them, or a dict by input name."""
    if inputs is None:
        raise UsageError("Comparing a Keras model needs its inputs: compare(model, x), x an array, a list of "
                         "arrays (one per input) or a dict by input name.")
    if isinstance(inputs, Mapping):
        names = input_names(model)
        missing = [n for n in names if n not in inputs]
        if missing:
            raise UsageError(f"The Keras model's inputs are {names}; {missing} missing from the inputs given.")
        return [np.asarray(inputs[n]) for n in names]
    if isinstance(inputs, (list, tuple)):
        return [np.asarray(x) for x in inputs]
    return [np.asarray(inputs)]


def input_names(model: Any) -> list[str]:
    """The names Keras gives the model's inputs (``keras.Input(name=...)``), as converters name them."""
    return [getattr(t, "name", f"input_{i}").split(":")[0] for i, t in enumerate(model.inputs)]


def convert(model: Any, inputs: Sequence[np.ndarray]) -> tuple[Model, str]:
    """The ONNX conversion of ``model`` and the route taken: Keras 3's own export (the model is
    called once first: Keras 3 exports only a model that has been), else tf2onnx's ``from_keras``
    for tf_keras. Keras 3 with the torch backend exports through torch.onnx."""
    if _is_tf_keras(model):
        return _from_keras(model, inputs), "tf2onnx.convert.from_keras"
    model(_call_arguments(inputs))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.onnx"
        try:
            model.export(str(path), format="onnx", verbose=False)
        except ImportError as error:
            raise MissingExtraError(f"Exporting a Keras model to ONNX needs tf2onnx: {_INSTALL}. ({error})") from None
        except Exception as error:  # noqa: BLE001 - the converter's own failure, with what to do
            raise UsageError(f"Keras could not export the model to ONNX ({type(error).__name__}: {error}). "
                             "Export it yourself and pass it as onnx=: model.export('model.onnx', "
                             "format='onnx'), or build it with tf_keras (TF_USE_LEGACY_KERAS=1) and convert it "
                             "with tf2onnx.convert.from_keras.") from error
        return open_model(path.read_bytes()), "keras model.export(format='onnx')"


def _from_keras(model: Any, inputs: Sequence[np.ndarray]) -> Model:
    """A tf_keras model converted by tf2onnx, its inputs named as Keras names them."""
    try:
        import tensorflow as tf
        import tf2onnx
    except ImportError as error:
        raise MissingExtraError(f"Converting a tf_keras model needs tensorflow and tf2onnx: {_INSTALL}. "
                                f"({error})") from None
    signature = [tf.TensorSpec((None, *x.shape[1:]), tf.as_dtype(x.dtype), name=name)
                 for x, name in zip(inputs, input_names(model))]
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=signature)
    return open_model(proto)


def _call_arguments(inputs: Sequence[np.ndarray]) -> Any:
    return inputs[0] if len(inputs) == 1 else list(inputs)


def layer_outputs(model: Any, inputs: Sequence[np.ndarray]) -> dict[str, list[np.ndarray]]:
    """Every top-level layer's output(s) for ``inputs``, by layer name, and the model's own
    outputs, under the model's name, last: one run of a model made of all of them (a subclassed
    model has no layer outputs: it runs as it is)."""
    keras = _keras_module(model)
    # Keras 3's converts any backend's tensors (a torch tensor needs detaching); tf_keras's are numpy-like
    numpy = getattr(getattr(keras, "ops", None), "convert_to_numpy", np.asarray)
    layers, outputs = [], []
    for layer in model.layers:
        try:
            output = layer.output
        except (AttributeError, ValueError):  # a layer called more than once, or outside a graph
            continue
        if type(layer).__name__ != "InputLayer":
            layers.append(layer.name)
            outputs.append(output)
    if not outputs:
        return {model.name: [numpy(v) for v in _flat(model(_call_arguments(inputs), training=False))]}
    own = _flat(model.outputs)
    probe = keras.Model(model.inputs if len(model.inputs) > 1 else model.inputs[0], [*outputs, *own])
    values = probe(_call_arguments(inputs), training=False)  # a list: there are two outputs at least
    found = {name: [numpy(v) for v in _flat(value)] for name, value in zip(layers, values)}
    return {**found, model.name: [numpy(v) for v in values[len(outputs):]]}


def _is_tf_keras(model: Any) -> bool:
    return type(model).__module__.startswith("tf_keras")


def _keras_module(model: Any) -> Any:
    if _is_tf_keras(model):
        import tf_keras

        return tf_keras
    import keras

    return keras


def _flat(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return [v for item in value for v in _flat(item)]
    if isinstance(value, Mapping):
        return [v for item in value.values() for v in _flat(item)]
    return [value]


def layer_values(keras_model: Any, model: Model, outputs: Mapping[str, list[np.ndarray]],
                 value_of: Callable[[str], Any]) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Keras's layer outputs by the ONNX value each one is, in that value's layout, and a note for
    each value whose layout or shape differs from Keras's (what was done to compare them).

    ``value_of(name)`` is the candidate's value (None where it has none): where a layer's value
    fits the ONNX value more than one way (a square image, channels first or last) the closest
    way is taken. Where no layer's scope is in the graph (a subclassed model; Keras 3 on the
    torch backend, whose export through torch.onnx keeps no layer names), the model's outputs
    are compared with the graph's.
    """
    exits = _layer_exits(model, keras_model.name, list(outputs)[:-1])
    if not exits:  # no layer's scope in the graph (a subclassed model, torch.onnx's names): the outputs only
        exits = {keras_model.name: [o.name for o in model.proto.graph.output]}
    values: dict[str, np.ndarray] = {}
    notes: dict[str, str] = {}
    for layer, arrays in outputs.items():
        for array in arrays:
            fits = [(name, fitted, note) for name in exits.get(layer, [])
                    for fitted, note in [_fitted(array, value_of(name))] if fitted is not None]
            if not fits:
                continue
            # several values leave the layer's scope (a shape, a mask): its output is the one it
            # is closest to, in the layout that brings it closest
            name, fitted, note = min(fits, key=lambda fit: _distance(fit[1], value_of(fit[0])))
            values[name] = fitted
            if note:
                notes[name] = f"{note} (Keras layer {layer!r})"
    return values, notes


def _layer_exits(model: Model, model_name: str, layers: Sequence[str]) -> dict[str, list[str]]:
    """Per Keras layer, the values its scope hands to the rest of the graph, in graph order."""
    layer_of: dict[str, str] = {}
    for r in model.records:
        path = [s for s in (model.node_scopes[r.id].path or ()) if not _CALL.match(s)]
        layer = _layer(path, model_name, layers) if not r.graph else None  # the top graph's nodes
        if layer is not None:
            layer_of[r.id] = layer
    graph_outputs = {o.name for o in model.proto.graph.output}
    exits: dict[str, list[str]] = {}
    for name, node_id in model.producers.items():  # in graph order
        layer = layer_of.get(node_id)
        if layer is not None and (name in graph_outputs or any(
                layer_of.get(reader) != layer for reader in model.consumers.get(name, ()))):
            exits.setdefault(layer, []).append(name)
    return exits


def _layer(path: Sequence[str], model_name: str, layers: Sequence[str]) -> str | None:
    """The top-level layer a scope path is in: the segment after the model's own (Keras 3 adds
    the same ``_N`` to the model's and each layer's scope when the model was called before)."""
    suffix = ""
    if path and path[0].startswith(model_name) and re.fullmatch(r"(?:_\d+)?", path[0][len(model_name):]):
        suffix, path = path[0][len(model_name):], path[1:]
    if not path:
        return None
    for layer in layers:
        if path[0] == layer + suffix:
            return layer
    return path[0] if path[0] in layers else None


def _fitted(array: np.ndarray, onnx_value: Any) -> tuple[np.ndarray | None, str]:
    """``array`` in ``onnx_value``'s layout, and what was done to it ("" for nothing): the same
    shape, channels moved first (tf2onnx's NCHW), or a reshape to the same size; where more
    than one fits, the closest to the ONNX value (None: it fits none)."""
    if not isinstance(onnx_value, np.ndarray):
        return None, ""
    shape = onnx_value.shape
    ways: list[tuple[np.ndarray, str]] = []
    if array.shape == shape:
        ways.append((array, ""))
    if array.ndim >= 3 and array.ndim == len(shape):
        first = np.moveaxis(array, -1, 1)
        if first.shape == shape:
            ways.append((first, f"layout: channels last {array.shape} in Keras, channels first {shape} in ONNX; "
                                "transposed before comparing"))
    if array.size == onnx_value.size and not ways:
        ways.append((array.reshape(shape), f"shape: {array.shape} in Keras, {shape} in ONNX; reshaped before "
                                           "comparing"))
    if not ways:
        return None, ""
    return min(ways, key=lambda way: _distance(way[0], onnx_value))


def _distance(array: np.ndarray, onnx_value: np.ndarray) -> float:
    """How far apart two values of one shape are (0 for values that are not numbers)."""
    if array.dtype.kind not in "fciub" or onnx_value.dtype.kind not in "fciub":
        return 0.0
    with np.errstate(invalid="ignore", over="ignore"):
        return float(np.nan_to_num(np.max(np.abs(array.astype(np.float64) - onnx_value.astype(np.float64)),
                                          initial=0.0), nan=np.inf))

