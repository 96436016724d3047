"""Conditions for ``Debugger.break_when``: each takes a :class:`Step` and says whether to stop."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ._values import tensors

if TYPE_CHECKING:
    from ._debugger import Step

#: The largest finite float16 value.
FP16_MAX = 65504.0


def _floats(step: "Step") -> list[np.ndarray]:
    """The float tensors among the node's outputs (a sequence's or map's too)."""
    arrays = [t for value in step.outputs.values() for _, t in tensors(value)]
    return [a for a in arrays if np.issubdtype(a.dtype, np.floating) and a.size]


def nonfinite(step: "Step") -> bool:
    """A NaN or an infinity in any output of the node."""
    return any(not np.isfinite(a).all() for a in _floats(step))


def beyond_fp16(array: np.ndarray) -> bool:
    """A finite float value beyond float16's range (|x| > 65504): it would become inf in fp16."""
    if not np.issubdtype(array.dtype, np.floating) or not array.size:
        return False
    return bool((np.abs(array[np.isfinite(array)]) > FP16_MAX).any())


def fp16_overflow(step: "Step") -> bool:
    """An output value beyond float16's range: it would become inf in fp16."""
    return any(beyond_fp16(a) for a in _floats(step))
