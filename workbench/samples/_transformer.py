"""``tiny_bert``: a two-layer BERT-style encoder whose nodes carry torch dynamo scope metadata."""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import helper

from ._builder import GraphBuilder

HIDDEN, HEADS, FFN, LAYERS, VOCAB, MAX_POS = 64, 4, 128, 2, 1000, 128


def _linear(b: GraphBuilder, name: str, x: str, d_in: int, d_out: int) -> str:
    with b.module(name, "torch.nn.modules.linear.Linear"):
        w, bias = b.weight("weight", [d_in, d_out]), b.weight("bias", [d_out])
        (y,) = b.op("MatMul", [x, w])
        (y,) = b.op("Add", [y, bias])
    return y


def _layer_norm(b: GraphBuilder, name: str, x: str) -> str:
    with b.module(name, "torch.nn.modules.normalization.LayerNorm"):
        scale, bias = b.weight("weight", [HIDDEN], positive=True), b.weight("bias", [HIDDEN])
        (y,) = b.op("LayerNormalization", [x, scale, bias], axis=-1, epsilon=1e-12)
    return y


def _attention(b: GraphBuilder, x: str) -> str:
    with b.module("attention", "transformers.models.bert.modeling_bert.BertAttention"):
        heads = []
        for name in ("query", "key", "value"):
            y = _linear(b, name, x, HIDDEN, HIDDEN)
            (y,) = b.op("Reshape", [y, "heads_shape"])
            (y,) = b.op("Transpose", [y], perm=[0, 2, 1, 3])
            heads.append(y)
        q, k, v = heads
        (kt,) = b.op("Transpose", [k], perm=[0, 1, 3, 2])
        (scores,) = b.op("MatMul", [q, kt])
        (scores,) = b.op("Div", [scores, "attention_scale"])
        (probs,) = b.op("Softmax", [scores], axis=-1)
        (ctx,) = b.op("MatMul", [probs, v])
        (ctx,) = b.op("Transpose", [ctx], perm=[0, 2, 1, 3])
        (ctx,) = b.op("Reshape", [ctx, "hidden_shape"])
        with b.module("output", "transformers.models.bert.modeling_bert.BertSelfOutput"):
            y = _linear(b, "dense", ctx, HIDDEN, HIDDEN)
            (y,) = b.op("Add", [y, x])
            y = _layer_norm(b, "LayerNorm", y)
    return y


def _gelu(b: GraphBuilder, x: str) -> str:
    (y,) = b.op("Div", [x, "sqrt_two"])
    (y,) = b.op("Erf", [y])
    (y,) = b.op("Add", [y, "one"])
    (y,) = b.op("Mul", [x, y])
    (y,) = b.op("Mul", [y, "half"])
    return y


def build() -> onnx.ModelProto:
    """Builds the model: embeddings, ``LAYERS`` identical encoder layers, a pooler."""
    b = GraphBuilder("tiny_bert", style="metadata", seed=2)
    b.const("heads_shape", np.array([0, 0, HEADS, HIDDEN // HEADS], np.int64))
    b.const("hidden_shape", np.array([0, 0, HIDDEN], np.int64))
    b.const("attention_scale", np.array(math.sqrt(HIDDEN // HEADS), np.float32))
    b.const("sqrt_two", np.array(math.sqrt(2.0), np.float32))
    b.const("one", np.array(1.0, np.float32))
    b.const("half", np.array(0.5, np.float32))
    with b.module("embeddings", "transformers.models.bert.modeling_bert.BertEmbeddings"):
        with b.module("word_embeddings", "torch.nn.modules.sparse.Embedding"):
            (x,) = b.op("Gather", [b.weight("weight", [VOCAB, HIDDEN]), "input_ids"])
        with b.module("position_embeddings", "torch.nn.modules.sparse.Embedding"):
            (seq,) = b.op("Shape", ["input_ids"], start=1, end=2)
            (seq,) = b.op("Squeeze", [seq])
            (positions,) = b.op("Range", [b.const("zero", np.array(0, np.int64)), seq,
                                          b.const("step", np.array(1, np.int64))])
            (pos,) = b.op("Gather", [b.weight("weight", [MAX_POS, HIDDEN]), positions])
        (x,) = b.op("Add", [x, pos])
        x = _layer_norm(b, "LayerNorm", x)
    with b.module("encoder", "transformers.models.bert.modeling_bert.BertEncoder"):
        for i in range(LAYERS):
            with b.module(f"layer.{i}", "transformers.models.bert.modeling_bert.BertLayer"):
                h = _attention(b, x)
                with b.module("intermediate", "transformers.models.bert.modeling_bert.BertIntermediate"):
                    y = _linear(b, "dense", h, HIDDEN, FFN)
                    y = _gelu(b, y)
                with b.module("output", "transformers.models.bert.modeling_bert.BertOutput"):
                    y = _linear(b, "dense", y, FFN, HIDDEN)
                    (y,) = b.op("Add", [y, h])
                    x = _layer_norm(b, "LayerNorm", y)
    b.nodes[-1].output[0] = "last_hidden_state"
    x = "last_hidden_state"
    with b.module("pooler", "transformers.models.bert.modeling_bert.BertPooler"):
        (first,) = b.op("Gather", [x, b.const("first_token", np.array(0, np.int64))], axis=1)
        y = _linear(b, "dense", first, HIDDEN, HIDDEN)
        (y,) = b.op("Tanh", [y])
    b.nodes[-1].output[0] = "pooler_output"
    return b.build(
        [helper.make_tensor_value_info("input_ids", onnx.TensorProto.INT64, ["batch", "sequence"])],
        [
            helper.make_tensor_value_info("last_hidden_state", onnx.TensorProto.FLOAT, ["batch", "sequence", HIDDEN]),
            helper.make_tensor_value_info("pooler_output", onnx.TensorProto.FLOAT, ["batch", HIDDEN]),
        ],
        doc="A 2-layer BERT-style encoder (hidden 64, 4 heads), random weights.",
    )
