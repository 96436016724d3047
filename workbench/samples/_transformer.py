"""``tiny_bert``: a BERT-style encoder whose nodes carry torch dynamo scope metadata.

The defaults make a 2-layer model of 143k parameters; ``build(**BERT_BASE)`` makes one of
BERT-base's size (12 layers, hidden 768, 110M parameters) for benchmarks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import helper

from ._builder import SampleBuilder


@dataclass(frozen=True)
class Sizes:
    hidden: int = 64
    heads: int = 4
    ffn: int = 128
    layers: int = 2
    vocab: int = 1000
    max_positions: int = 128


#: BERT-base's sizes (Devlin et al.): 12 layers, hidden 768, 12 heads, 3072 FFN, 30522 tokens.
BERT_BASE = dict(hidden=768, heads=12, ffn=3072, layers=12, vocab=30522, max_positions=512)


def _linear(b: SampleBuilder, name: str, x: str, d_in: int, d_out: int) -> str:
    with b.module(name, "torch.nn.modules.linear.Linear"):
        w, bias = b.weight("weight", [d_in, d_out]), b.weight("bias", [d_out])
        (y,) = b.op("MatMul", [x, w])
        (y,) = b.op("Add", [y, bias])
    return y


def _layer_norm(b: SampleBuilder, name: str, x: str, hidden: int) -> str:
    with b.module(name, "torch.nn.modules.normalization.LayerNorm"):
        scale, bias = b.weight("weight", [hidden], positive=True), b.weight("bias", [hidden])
        (y,) = b.op("LayerNormalization", [x, scale, bias], axis=-1, epsilon=1e-12)
    return y


def _attention(b: SampleBuilder, x: str, hidden: int) -> str:
    with b.module("attention", "transformers.models.bert.modeling_bert.BertAttention"):
        heads = []
        for name in ("query", "key", "value"):
            y = _linear(b, name, x, hidden, hidden)
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
            y = _linear(b, "dense", ctx, hidden, hidden)
            (y,) = b.op("Add", [y, x])
            y = _layer_norm(b, "LayerNorm", y, hidden)
    return y


def _gelu(b: SampleBuilder, x: str) -> str:
    (y,) = b.op("Div", [x, "sqrt_two"])
    (y,) = b.op("Erf", [y])
    (y,) = b.op("Add", [y, "one"])
    (y,) = b.op("Mul", [x, y])
    (y,) = b.op("Mul", [y, "half"])
    return y


def build(**sizes: int) -> onnx.ModelProto:
    """Builds the model: embeddings, ``layers`` identical encoder layers, a pooler.

    Keyword arguments override the :class:`Sizes` defaults (``hidden``, ``heads``, ``ffn``,
    ``layers``, ``vocab``, ``max_positions``).
    """
    s = Sizes(**sizes)
    b = SampleBuilder("tiny_bert", style="metadata", seed=2)
    b.const("heads_shape", np.array([0, 0, s.heads, s.hidden // s.heads], np.int64))
    b.const("hidden_shape", np.array([0, 0, s.hidden], np.int64))
    b.const("attention_scale", np.array(math.sqrt(s.hidden // s.heads), np.float32))
    b.const("sqrt_two", np.array(math.sqrt(2.0), np.float32))
    b.const("one", np.array(1.0, np.float32))
    b.const("half", np.array(0.5, np.float32))
    with b.module("embeddings", "transformers.models.bert.modeling_bert.BertEmbeddings"):
        with b.module("word_embeddings", "torch.nn.modules.sparse.Embedding"):
            (x,) = b.op("Gather", [b.weight("weight", [s.vocab, s.hidden]), "input_ids"])
        with b.module("position_embeddings", "torch.nn.modules.sparse.Embedding"):
            (seq,) = b.op("Shape", ["input_ids"], start=1, end=2)
            (seq,) = b.op("Squeeze", [seq])
            (positions,) = b.op("Range", [b.const("zero", np.array(0, np.int64)), seq,
                                          b.const("step", np.array(1, np.int64))])
            (pos,) = b.op("Gather", [b.weight("weight", [s.max_positions, s.hidden]), positions])
        (x,) = b.op("Add", [x, pos])
        x = _layer_norm(b, "LayerNorm", x, s.hidden)
    with b.module("encoder", "transformers.models.bert.modeling_bert.BertEncoder"):
        for i in range(s.layers):
            with b.module(f"layer.{i}", "transformers.models.bert.modeling_bert.BertLayer"):
                h = _attention(b, x, s.hidden)
                with b.module("intermediate", "transformers.models.bert.modeling_bert.BertIntermediate"):
                    y = _linear(b, "dense", h, s.hidden, s.ffn)
                    y = _gelu(b, y)
                with b.module("output", "transformers.models.bert.modeling_bert.BertOutput"):
                    y = _linear(b, "dense", y, s.ffn, s.hidden)
                    (y,) = b.op("Add", [y, h])
                    x = _layer_norm(b, "LayerNorm", y, s.hidden)
    b.nodes[-1].output[0] = "last_hidden_state"
    x = "last_hidden_state"
    with b.module("pooler", "transformers.models.bert.modeling_bert.BertPooler"):
        (first,) = b.op("Gather", [x, b.const("first_token", np.array(0, np.int64))], axis=1)
        y = _linear(b, "dense", first, s.hidden, s.hidden)
        (y,) = b.op("Tanh", [y])
    b.nodes[-1].output[0] = "pooler_output"
    return b.build(
        [helper.make_tensor_value_info("input_ids", onnx.TensorProto.INT64, ["batch", "sequence"])],
        [
            helper.make_tensor_value_info("last_hidden_state", onnx.TensorProto.FLOAT, ["batch", "sequence", s.hidden]),
            helper.make_tensor_value_info("pooler_output", onnx.TensorProto.FLOAT, ["batch", s.hidden]),
        ],
        doc=f"A {s.layers}-layer BERT-style encoder (hidden {s.hidden}, {s.heads} heads), random weights.",
    )
