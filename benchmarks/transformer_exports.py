"""Hugging Face architectures at real sizes, built from their configs with random weights (no hub
download) and exported with ``torch.onnx.export(..., dynamo=True)``, for the benchmarks.

- **gpt2**: GPT-2 small's config (12 layers, hidden 768, vocab 50257); ``input_ids`` [1, 128].
- **bert-base**: ``BertConfig()`` (BERT-base: 12 layers, hidden 768); ``input_ids`` and an
  ``attention_mask`` with 16 padded positions, [1, 128].
- **llama**: a Llama of BERT-base's size (12 layers, hidden 768, 12 heads, 4 key-value heads,
  intermediate 2048, vocab 32000); ``input_ids`` [1, 128].
- **llama-10k**: 160 Llama layers at hidden 64 (4 heads, 2 key-value heads, intermediate 128,
  vocab 128): about 10,250 ONNX nodes, the size at which whole-graph tools stall;
  ``input_ids`` [1, 32]. Its export takes 6 to 19 minutes on 2 cores (quiet or busy).

Exports are kept in a cache folder (``--cache``, default the user's cache folder) keyed by the
name, so that each benchmark run measures, not exports: ``load(name)`` exports once. The model
is wrapped to take positional tensors and return its last hidden state, as both exporters want.

    python benchmarks/transformer_exports.py llama-10k   # export now (prints the path)
"""

from __future__ import annotations

import argparse
import logging
import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

MODELS: dict[str, dict[str, Any]] = {
    "gpt2": {"kind": "GPT2", "seq": 128, "config": {"use_cache": False}},
    "bert-base": {"kind": "Bert", "seq": 128, "padding": 16, "config": {}},
    "llama": {"kind": "Llama", "seq": 128, "config": {
        "num_hidden_layers": 12, "hidden_size": 768, "num_attention_heads": 12, "num_key_value_heads": 4,
        "intermediate_size": 2048, "vocab_size": 32000, "max_position_embeddings": 512, "use_cache": False}},
    "llama-10k": {"kind": "Llama", "seq": 32, "config": {
        "num_hidden_layers": 160, "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2,
        "intermediate_size": 128, "vocab_size": 128, "max_position_embeddings": 64, "use_cache": False}},
}  # fmt: skip


def cache_folder() -> Path:
    """Where exports are kept: ``$XDG_CACHE_HOME`` (or ``~/.cache``)/onnx-workbench-benchmarks."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "onnx-workbench-benchmarks"


def module(name: str):
    """The eager model ``name`` (random weights from ``torch.manual_seed(0)``, eval mode), wrapped
    to take positional tensors, and its inputs by ONNX input name."""
    import torch
    import transformers

    spec = MODELS[name]
    config = getattr(transformers, f"{spec['kind']}Config")(**spec["config"])
    torch.manual_seed(0)
    model = getattr(transformers, f"{spec['kind']}Model")(config).eval()
    rng = np.random.default_rng(0)
    inputs = {"input_ids": rng.integers(0, config.vocab_size, (1, spec["seq"])).astype(np.int64)}
    if spec.get("padding"):
        mask = np.ones((1, spec["seq"]), np.int64)
        mask[0, -spec["padding"] :] = 0
        inputs["attention_mask"] = mask

    class Wrapped(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *args: torch.Tensor) -> torch.Tensor:
            return self.model(**dict(zip(inputs, args))).last_hidden_state

    return Wrapped().eval(), inputs


def export(name: str):
    """The eager model, its inputs and its dynamo ``ONNXProgram`` (seconds to minutes)."""
    import torch

    model, inputs = module(name)
    args = tuple(torch.from_numpy(value) for value in inputs.values())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        try:
            program = torch.onnx.export(model, args, dynamo=True, verbose=False, input_names=list(inputs))
        finally:
            logging.disable(logging.NOTSET)
    return model, inputs, program


def load(name: str, cache: Path | None = None) -> tuple[Path, dict[str, np.ndarray]]:
    """The path of ``name``'s export (weights in an external file, as torch.onnx writes them) and
    its inputs; exported and saved on the first call."""
    folder = (cache or cache_folder()) / name
    path = folder / f"{name}.onnx"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        _, inputs, program = export(name)
        program.save(str(path), external_data=True)
        np.savez(folder / "inputs.npz", **inputs)
    with np.load(folder / "inputs.npz") as data:
        return path, {key: data[key] for key in data.files}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="+", choices=list(MODELS))
    parser.add_argument("--cache", type=Path, default=None, help=f"default: {cache_folder()}")
    args = parser.parse_args()
    for name in args.names:
        start = time.perf_counter()
        path, _ = load(name, args.cache)
        print(f"{name}: {path} ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
