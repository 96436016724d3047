"""Time ``wb.compare`` on Keras and gradient-boosted-tree models against the framework's own
work for the same answer.

The baseline is what a user runs anyway: for Keras, converting the model to ONNX (Keras 3's
``model.export(format="onnx")``, tf2onnx's ``from_keras`` for tf_keras) and running it once in
onnxruntime beside one Keras ``predict`` — the final outputs only; ``wb.compare`` converts too,
then gives every layer's output, aligned and measured. For trees: scikit-learn's
``predict_proba`` and onnxruntime on the user's own conversion; ``wb.compare`` gives each step,
and explains split crossings (converting the pipeline again with skl2onnx to name the steps).
Goal: each comparison ≤ 10× its baseline.

Models, built in code with fixed seeds:

- **keras3-cnn** / **tf_keras-cnn**: Conv(8)-MaxPool-Conv(16)-GlobalAveragePool-Dropout-Dense(4),
  input [2, 16, 16, 3];
- **tf_keras-transformer**: MultiHeadAttention (2 heads of 8), Add, LayerNorm, Dense(32)-Dense(16),
  Add, LayerNorm, pooling, Dense(3), input [2, 8, 16];
- **xgboost-pipeline**: StandardScaler → XGBClassifier (50 trees, depth 4), 10,000 rows of 8
  features (``make_classification``), compared on its training rows (crossings included).

Each is timed ``RUNS`` times alternating with its baseline, after one warm-up of each, in this
one process; medians are printed, with the ratio.

    python benchmarks/frameworks.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402

import workbench as wb  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from timing import alternating_medians  # noqa: E402

RUNS = 5


def _convert_and_run(model: Any, x: np.ndarray) -> Callable[[], Any]:
    """Convert as a user does, run once in onnxruntime, predict once in Keras."""
    def baseline() -> Any:
        from workbench.comparison._keras import convert

        converted, _ = convert(model, [x])
        session = ort.InferenceSession(converted.proto.SerializeToString(), providers=["CPUExecutionProvider"])
        session.run(None, {session.get_inputs()[0].name: x})
        return model.predict(x, verbose=0)
    return baseline


def _keras_cases() -> dict[str, tuple[Callable[[], Any], Callable[[], Any]]]:
    import keras
    import tf_keras

    sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
    from keras_models import cnn, transformer

    rng = np.random.default_rng(0)
    cases = {}
    for name, build, k, shape in [("keras3-cnn", cnn, keras, (2, 16, 16, 3)),
                                  ("tf_keras-cnn", cnn, tf_keras, (2, 16, 16, 3)),
                                  ("tf_keras-transformer", transformer, tf_keras, (2, 8, 16))]:
        model, x = build(k), rng.standard_normal(shape).astype(np.float32)
        cases[name] = (lambda m=model, v=x: wb.compare(m, v), _convert_and_run(model, x))
    return cases


def _trees_case() -> dict[str, tuple[Callable[[], Any], Callable[[], Any]]]:
    import xgboost
    from sklearn.datasets import make_classification
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from workbench.comparison._sklearn import convert

    X, y = make_classification(10_000, 8, random_state=0)
    X = X.astype(np.float32)
    pipeline = make_pipeline(StandardScaler(), xgboost.XGBClassifier(n_estimators=50, max_depth=4, n_jobs=1))
    pipeline.fit(X, y)
    converted, _ = convert(pipeline, X)
    session = ort.InferenceSession(converted.proto.SerializeToString(), providers=["CPUExecutionProvider"])

    def baseline() -> Any:
        session.run(None, {session.get_inputs()[0].name: X})
        return pipeline.predict_proba(X)

    return {"xgboost-pipeline": (lambda: wb.compare(pipeline, X, onnx=converted), baseline)}


def main() -> None:
    cases = {**_keras_cases(), **_trees_case()}
    print(f"{'model':<22} {'compare s':>10} {'baseline s':>11} {'ratio':>6}  values compared")
    for name, (compare, baseline) in cases.items():
        report = compare()
        mine, theirs = alternating_medians(compare, baseline, RUNS)
        print(f"{name:<22} {mine:>10.3f} {theirs:>11.3f} {mine / theirs:>5.1f}×  {len(report.table)}")


if __name__ == "__main__":
    main()
