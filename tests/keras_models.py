"""Two small Keras models, built in code with fixed weights, for the Keras comparison tests and
``benchmarks/frameworks.py``. Each takes the Keras package to build with (``keras`` for Keras 3,
``tf_keras``), so one definition serves both flavours.
"""

from __future__ import annotations

from typing import Any


def cnn(k: Any) -> Any:
    """Conv(8)-MaxPool-Conv(16)-GlobalAveragePool-Dropout-Dense(4) on 16×16×3 images."""
    k.utils.set_random_seed(0)
    layers = k.layers
    image = k.Input((16, 16, 3), name="image")
    x = layers.Conv2D(8, 3, activation="relu", name="conv1")(image)
    x = layers.MaxPooling2D(name="pool1")(x)
    x = layers.Conv2D(16, 3, activation="relu", name="conv2")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(0.2, name="drop")(x)
    return k.Model(image, layers.Dense(4, name="head")(x), name="cnn")


def transformer(k: Any) -> Any:
    """One encoder block on 8 tokens of 16: attention (2 heads of 8), Add, LayerNorm, Dense(32)-
    Dense(16), Add, LayerNorm, then pooling and Dense(3)."""
    k.utils.set_random_seed(0)
    layers = k.layers
    tokens = k.Input((8, 16), name="tokens")
    attention = layers.MultiHeadAttention(2, 8, name="mha")(tokens, tokens)
    x = layers.LayerNormalization(name="ln1")(layers.Add(name="res1")([tokens, attention]))
    hidden = layers.Dense(32, activation="relu", name="ff1")(x)
    x = layers.LayerNormalization(name="ln2")(layers.Add(name="res2")([x, layers.Dense(16, name="ff2")(hidden)]))
    x = layers.GlobalAveragePooling1D(name="pool")(x)
    return k.Model(tokens, layers.Dense(3, name="head")(x), name="tr")
