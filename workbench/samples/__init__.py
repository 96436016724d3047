"""Sample models built in code — no download, no torch — for the tour, docs and tests.

=================  ==========================================================
``tiny_cnn``       ResNet-style CNN, 32×32 images; TorchScript-style scope names
``tiny_bert``      2-layer BERT-style encoder; torch dynamo scope metadata
``control_flow``   an If with two branches and a Loop (subgraphs)
=================  ==========================================================

Each sample is one module with a ``build()`` function; adding a sample is adding a file
and a line in ``_BUILDERS``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

import onnx

from ..errors import NotFoundError
from . import _cnn, _control_flow, _transformer

if TYPE_CHECKING:
    from ..model import Model

_BUILDERS: dict[str, Callable[..., onnx.ModelProto]] = {
    "tiny_cnn": _cnn.build,
    "tiny_bert": _transformer.build,
    "control_flow": _control_flow.build,
}


def names() -> list[str]:
    """The names of the bundled samples."""
    return list(_BUILDERS)


def proto(name: str, **sizes: int) -> onnx.ModelProto:
    """Builds sample ``name`` as an ``onnx.ModelProto`` (deterministic weights).

    ``tiny_bert`` takes sizes, e.g. ``proto("tiny_bert", layers=12, hidden=768, heads=12,
    ffn=3072, vocab=30522)`` for a BERT-base-sized model.
    """
    try:
        builder = _BUILDERS[name]
    except KeyError:
        raise NotFoundError(f"No sample named {name!r}; the samples are {names()}.") from None
    return builder(**sizes)


def save(name: str, folder: str | Path = ".") -> Path:
    """Writes sample ``name`` to ``folder/<name>.onnx`` and returns the path."""
    path = Path(folder) / f"{name}.onnx"
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto(name), path)
    return path


def open(name: str) -> "Model":  # noqa: A001 - mirrors workbench.open
    """Builds sample ``name`` and opens it as a :class:`workbench.Model`."""
    from ..model import open as open_model

    return open_model(proto(name))


__all__ = ["names", "open", "proto", "save"]
