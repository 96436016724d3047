"""Keras models (Keras 3 and tf_keras) against their ONNX conversions, layer by layer.

Each model is built in code with fixed weights; the ONNX side is made the way a user makes it
(Keras 3's ``model.export(format="onnx")``, tf2onnx's ``from_keras`` for tf_keras) or left to
``wb.compare``. A planted fault is one weight of one layer changed in the ONNX file.
"""

from __future__ import annotations

import os

import numpy as np
import onnx
import pytest

pytest.importorskip("tensorflow", reason="the tensorflow extra (tensorflow, tf_keras, tf2onnx) is not installed")
pytest.importorskip("tf2onnx", reason="the tensorflow extra (tensorflow, tf_keras, tf2onnx) is not installed")
import keras  # noqa: E402
import tf_keras  # noqa: E402
from keras_models import cnn, transformer  # noqa: E402

import workbench as wb  # noqa: E402

FLAVOURS = {"keras3": keras, "tf_keras": tf_keras}


MODELS = {"cnn": (cnn, (2, 16, 16, 3)), "transformer": (transformer, (2, 8, 16))}


def _inputs(shape):
    return np.random.default_rng(0).standard_normal(shape).astype(np.float32)


def _export(model, x, folder) -> onnx.ModelProto:
    """The model's ONNX file, made as a user makes it."""
    if type(model).__module__.startswith("tf_keras"):
        import tensorflow as tf
        import tf2onnx

        spec = [tf.TensorSpec((None, *x.shape[1:]), tf.float32, name=model.inputs[0].name.split(":")[0])]
        proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec)
        return proto
    model(x)
    path = os.path.join(folder, "model.onnx")
    model.export(path, format="onnx", verbose=False)
    return onnx.load(path)


def _plant(proto: onnx.ModelProto, layer: str) -> onnx.ModelProto:
    """One weight of ``layer``'s kernel (read by its Conv or MatMul) made 1.5 times larger."""
    name = next(n.input[1] for n in proto.graph.node
                if n.op_type in ("Conv", "MatMul") and f"/{layer}" in n.name and n.input[1])
    weight = next(w for w in proto.graph.initializer if w.name == name)
    array = onnx.numpy_helper.to_array(weight).copy()
    array.flat[0] = array.flat[0] * 1.5 + 0.5
    weight.CopyFrom(onnx.numpy_helper.from_array(array, name))
    return proto


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("kind", MODELS)
def test_clean_conversion_has_no_divergence(flavour, kind):
    build, shape = MODELS[kind]
    model, x = build(FLAVOURS[flavour]), _inputs(shape)
    report = wb.compare(model, x)
    assert report.first_divergence is None, report.summary()
    compared = {n.split("/")[1].rsplit("_", 1)[0] if flavour == "keras3" else n.split("/")[1]
                for n in report.table.scope}
    expected = {"cnn": {"conv1", "pool1", "conv2", "gap", "head"},
                "transformer": {"mha", "res1", "ln1", "ff1", "ff2", "res2", "ln2", "pool", "head"}}[kind]
    assert compared == expected  # every layer the converter kept is compared; Dropout is not
    route = "tf2onnx.convert.from_keras" if flavour == "tf_keras" else "model.export(format='onnx')"
    assert route in report.reference


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize(("kind", "layer"), [("cnn", "conv2"), ("transformer", "ff1")])
def test_planted_weight_is_the_root_cause(flavour, kind, layer, tmp_path):
    build, shape = MODELS[kind]
    model, x = build(FLAVOURS[flavour]), _inputs(shape)
    report = wb.compare(model, x, onnx=_plant(_export(model, x, tmp_path), layer))
    cause = report.root_cause
    assert cause is not None, report.summary()
    assert f"/{layer}" in cause.scope, report.summary()
    causes = report.table[report.table.status == "cause"]
    assert causes.scope.str.contains(f"/{layer}").all(), causes  # nothing else is blamed
    # the values before it, channels first in ONNX, are brought into that layout and agree
    before = report.table.iloc[:report.table.index[report.table.status != "ok"][0]]
    assert before.status.eq("ok").all() and len(before)
    assert before.note.str.contains("layout: channels last").any() == (kind == "cnn")


def test_channels_first_values_are_transposed_and_say_so():
    report = wb.compare(cnn(keras), _inputs((2, 16, 16, 3)))
    conv1 = report.table[report.table.scope.str.contains("conv1")].iloc[-1]
    assert "channels last (2, 14, 14, 8) in Keras, channels first (2, 8, 14, 14) in ONNX" in conv1.note
    assert conv1.status == "ok"


def test_generated_attention_nodes_stay_in_the_attention_scope():
    """tf2onnx writes the attention's Einsums as unscoped ``MatMul__N`` chains: they belong to the
    attention layer, not to the residual Add that reads its end."""
    model = transformer(tf_keras)
    x = _inputs((2, 8, 16))
    opened = wb.open(_export(model, x, None))
    generated = [r.id for r in opened.records if "__" in r.node.name and "/" not in r.node.name
                 and r.node.op_type in ("MatMul", "Transpose", "Reshape")]
    assert generated
    scopes = {opened.scope_path(node_id) for node_id in generated}
    assert all(scope == "tr/mha" or scope.startswith("tr/mha/") for scope in scopes), scopes


def test_inputs_by_name_and_a_missing_one():
    model, x = cnn(keras), _inputs((2, 16, 16, 3))
    assert wb.compare(model, {"image": x}).first_divergence is None
    with pytest.raises(wb.errors.UsageError, match=r"inputs are \['image'\]"):
        wb.compare(model, {"picture": x})
    with pytest.raises(wb.errors.UsageError, match="needs its inputs"):
        wb.compare(model)


def test_exact_gelu_names_the_fix():
    """tf2onnx copies the Erfc of Keras's exact gelu into the graph; onnxruntime refuses it."""
    inputs = keras.Input((8,), name="x")
    model = keras.Model(inputs, keras.layers.Dense(4, activation="gelu", name="dense")(inputs))
    with pytest.raises(wb.errors.SessionError, match=r"Erfc.*gelu\(approximate=True\)"):
        wb.compare(model, _inputs((2, 8)))


_TORCH_BACKEND = """
import numpy as np, keras, workbench as wb
inputs = keras.Input((16, 16, 3), name="image")
x = keras.layers.GlobalAveragePooling2D(name="gap")(keras.layers.Conv2D(8, 3, name="conv")(inputs))
model = keras.Model(inputs, keras.layers.Dense(4, name="head")(x))
report = wb.compare(model, np.random.default_rng(0).standard_normal((2, 16, 16, 3)).astype("float32"))
print(len(report.table), report.first_divergence is None)
"""


def test_torch_backend_compares_the_outputs():
    """Keras 3 on the torch backend exports through torch.onnx, which keeps no layer names: the
    model's output is compared with the graph's (a process of its own: the backend is chosen at
    Keras's import)."""
    pytest.importorskip("torch", reason="the torch backend needs torch")
    import subprocess
    import sys

    env = {**os.environ, "KERAS_BACKEND": "torch"}
    done = subprocess.run([sys.executable, "-c", _TORCH_BACKEND], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    count, clean = done.stdout.strip().splitlines()[-1].split()
    assert (count, clean) == ("1", "True"), done.stdout
