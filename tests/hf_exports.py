"""Hugging Face architectures built from their configs (random weights, no hub download) and
exported to ONNX, for the tests of real transformer exports.

Each is small (2–3 layers, hidden 64) so that a dynamo export takes seconds; the structure
(module tree, attention decompositions, shared masks) is that of the full-sized model.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import onnx

transformers = __import__("pytest").importorskip("transformers", reason="the tests of transformer exports need "
                                                 "the test extra's transformers")
import torch  # noqa: E402 - after the skip: transformers brings torch

SEQUENCE = 12


@dataclass
class Export:
    """One architecture: the module, its example inputs by ONNX input name, and its exports."""

    name: str
    module: torch.nn.Module
    inputs: dict[str, np.ndarray]
    program: Any = None  # the dynamo ONNXProgram
    torchscript: onnx.ModelProto | None = None

    @property
    def args(self) -> tuple[torch.Tensor, ...]:
        return tuple(torch.from_numpy(v) for v in self.inputs.values())


class _Wrapped(torch.nn.Module):
    """Calls a transformers model with keyword arguments and returns its last hidden state:
    positional tensors in, one tensor out, as both exporters want (transformers 5 models fail
    under TorchScript otherwise)."""

    def __init__(self, model: torch.nn.Module, names: list[str]) -> None:
        super().__init__()
        self.model = model
        self.names = names

    def forward(self, *args: torch.Tensor) -> torch.Tensor:
        return self.model(**dict(zip(self.names, args))).last_hidden_state


def _ids(vocab: int, length: int = SEQUENCE, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, vocab, (1, length)).astype(np.int64)


def _gpt2() -> tuple[torch.nn.Module, dict[str, np.ndarray]]:
    config = transformers.GPT2Config(n_layer=2, n_embd=64, n_head=4, vocab_size=128, n_positions=64, use_cache=False,
                                     bos_token_id=0, eos_token_id=0)
    return transformers.GPT2Model(config), {"input_ids": _ids(128)}


def _bert() -> tuple[torch.nn.Module, dict[str, np.ndarray]]:
    config = transformers.BertConfig(num_hidden_layers=3, hidden_size=64, num_attention_heads=4, intermediate_size=128,
                                     vocab_size=128, max_position_embeddings=64)
    mask = np.ones((1, SEQUENCE), np.int64)
    mask[0, -3:] = 0  # padding: the mask takes part
    return transformers.BertModel(config), {"input_ids": _ids(128), "attention_mask": mask}


def _llama() -> tuple[torch.nn.Module, dict[str, np.ndarray]]:
    config = transformers.LlamaConfig(num_hidden_layers=2, hidden_size=64, num_attention_heads=4,
                                      num_key_value_heads=2, intermediate_size=128, vocab_size=128,
                                      max_position_embeddings=64, use_cache=False)
    return transformers.LlamaModel(config), {"input_ids": _ids(128)}


def _vit() -> tuple[torch.nn.Module, dict[str, np.ndarray]]:
    config = transformers.ViTConfig(num_hidden_layers=2, hidden_size=64, num_attention_heads=4, intermediate_size=128,
                                    image_size=32, patch_size=8)
    pixels = np.random.default_rng(0).standard_normal((1, 3, 32, 32)).astype(np.float32)
    return transformers.ViTModel(config, add_pooling_layer=False), {"pixel_values": pixels}


def _t5() -> tuple[torch.nn.Module, dict[str, np.ndarray]]:
    # eager attention: torch's dynamo export fails on T5's SDPA path ("cannot view a tensor ... as (1, 12, 64)")
    config = transformers.T5Config(num_layers=2, num_decoder_layers=2, d_model=64, d_ff=128, num_heads=4, d_kv=16,
                                   vocab_size=128, use_cache=False, decoder_start_token_id=0,
                                   attn_implementation="eager")
    return transformers.T5Model(config), {"input_ids": _ids(128), "decoder_input_ids": _ids(128, 8, seed=1)}


BUILDERS: dict[str, Callable[[], tuple[torch.nn.Module, dict[str, np.ndarray]]]] = {
    "gpt2": _gpt2, "bert": _bert, "llama": _llama, "vit": _vit, "t5": _t5}


def build(name: str) -> Export:
    """The architecture ``name`` with deterministic random weights, exported with dynamo."""
    torch.manual_seed(0)
    model, inputs = BUILDERS[name]()
    module = _Wrapped(model, list(inputs)).eval()
    export = Export(name, module, inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        try:
            export.program = torch.onnx.export(module, export.args, dynamo=True, verbose=False,
                                               input_names=list(inputs))
        finally:
            logging.disable(logging.NOTSET)
    return export


def torchscript(export: Export) -> onnx.ModelProto:
    """The same module through the TorchScript exporter (names carry the scopes)."""
    if export.torchscript is None:
        buffer = io.BytesIO()
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):  # it prints its graph on failure
            warnings.simplefilter("ignore")
            torch.onnx.export(export.module, export.args, buffer, dynamo=False, input_names=list(export.inputs),
                              output_names=["last_hidden_state"])
        export.torchscript = onnx.load_from_string(buffer.getvalue())
    return export.torchscript


# ---- planted bugs: one numeric fault in a mid-graph node of a copy of the export ---------------


def planted(proto: onnx.ModelProto, kind: str) -> tuple[onnx.ModelProto, str]:
    """A copy of ``proto`` with one bug of ``kind`` planted in the middle of the graph, and the
    name of the node that holds it.

    - ``weight``: a MatMul/Gemm weight × 1.01 (inside a Linear's decomposition);
    - ``softmax``: a Softmax computed over the wrong axis (inside attention's decomposition);
    - ``add``: an Add of 0.5 inserted after a projection's MatMul (a node torch knows nothing of).
    """
    from onnx import numpy_helper

    copy = onnx.ModelProto()
    copy.CopyFrom(proto)
    nodes = list(copy.graph.node)
    weights = {t.name: t for t in copy.graph.initializer}
    if kind == "weight":
        target = _middle([n for n in nodes if n.op_type in ("MatMul", "Gemm") and weights.keys() & set(n.input)])
        weight = weights[next(i for i in target.input if i in weights)]
        weight.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(weight) * np.float32(1.01), weight.name))
    elif kind == "softmax":
        target = _middle([n for n in nodes if n.op_type == "Softmax"])
        del target.attribute[:]
        target.attribute.append(onnx.helper.make_attribute("axis", 2))
    elif kind == "add":
        # after a projection (an Add before a Softmax would change nothing: it is shift-invariant)
        after = _middle([n for n in nodes if n.op_type in ("MatMul", "Gemm") and weights.keys() & set(n.input)])
        value = after.output[0]
        for node in nodes:
            node.input[:] = [f"{value}_planted" if name == value else name for name in node.input]
        copy.graph.initializer.append(numpy_helper.from_array(np.array(0.5, np.float32), "planted_half"))
        target = onnx.helper.make_node("Add", [value, "planted_half"], [f"{value}_planted"], name="planted_add")
        copy.graph.node.insert(nodes.index(after) + 1, target)
    else:
        raise ValueError(kind)
    return copy, target.name


def _middle(nodes: list[onnx.NodeProto]) -> onnx.NodeProto:
    assert nodes, "no node of the kind to plant a bug in"
    return nodes[len(nodes) // 2]
