"""How far one tensor is from another: every metric at once, because one alone misleads.

(Cosine similarity alone rated a real planted LayerNorm bug 0.99997.)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..runtime.conditions import beyond_fp16


def error_metrics(reference: np.ndarray, candidate: np.ndarray, *, eps: float = 1e-12) -> dict[str, Any]:
    """max/mean/p99 absolute and relative error, relative L2, cosine, NaN/Inf counts, fp16
    overflow, and the smallest ``atol`` (at ``rtol=0``) and ``rtol`` (at ``atol=0``) that pass.

    Shapes that differ give ``shape_mismatch=True`` and NaN errors.
    """
    ref, cand = np.asarray(reference), np.asarray(candidate)
    row: dict[str, Any] = {
        "shape_mismatch": ref.shape != cand.shape,
        "nan_ref": _count(ref, np.isnan), "nan_cand": _count(cand, np.isnan),
        "inf_ref": _count(ref, np.isinf), "inf_cand": _count(cand, np.isinf),
        "fp16_overflow": beyond_fp16(cand),
    }
    nan = math.nan
    if row["shape_mismatch"] or not ref.size:
        return {**row, **dict.fromkeys(("max_abs", "mean_abs", "p99_abs", "max_rel", "rel_l2", "cosine",
                                        "min_atol", "min_rtol"), nan if row["shape_mismatch"] else 0.0)}
    r, c = ref.astype(np.float64).ravel(), cand.astype(np.float64).ravel()
    both = np.isfinite(r) & np.isfinite(c)
    same_special = ~both & ((np.isnan(r) & np.isnan(c)) | (r == c))
    diff = np.where(both, np.abs(c - r), np.where(same_special, 0.0, np.inf))
    rel = diff / (np.abs(r) + eps)
    rn, cn = r[both], c[both]
    norm = float(np.linalg.norm(rn))
    denominator = norm * float(np.linalg.norm(cn))
    row.update(
        max_abs=float(diff.max()),
        mean_abs=float(diff.mean()),
        p99_abs=_p99(diff),
        max_rel=float(rel.max()),
        rel_l2=float(np.linalg.norm(cn - rn) / norm) if norm else float(np.linalg.norm(cn - rn)),
        cosine=float(np.dot(rn, cn) / denominator) if denominator else (1.0 if not np.any(cn - rn) else 0.0),
        min_atol=float(diff.max()),
        min_rtol=_min_rtol(diff, np.abs(r)),
    )
    return row


def within(reference: np.ndarray, candidate: np.ndarray, rtol: float, atol: float) -> bool:
    """``numpy.allclose`` semantics (NaN equal to NaN), and shapes must agree."""
    ref, cand = np.asarray(reference), np.asarray(candidate)
    if ref.shape != cand.shape:
        return False
    if not np.issubdtype(ref.dtype, np.number) or not np.issubdtype(cand.dtype, np.number):
        return bool(np.array_equal(ref, cand))
    return bool(np.allclose(cand.astype(np.float64), ref.astype(np.float64), rtol=rtol, atol=atol, equal_nan=True))


def _p99(diff: np.ndarray) -> float:
    with np.errstate(invalid="ignore"):  # inf - inf while interpolating next to an inf
        value = float(np.percentile(diff, 99, method="higher"))
    return value


def _min_rtol(diff: np.ndarray, magnitude: np.ndarray) -> float:
    """The smallest rtol that passes at atol=0: inf when a zero reference value is missed."""
    wrong = diff > 0
    if not wrong.any():
        return 0.0
    if (magnitude[wrong] == 0).any():
        return math.inf
    return float((diff[wrong] / magnitude[wrong]).max())


def _count(array: np.ndarray, test: Any) -> int:
    return int(test(array).sum()) if np.issubdtype(array.dtype, np.floating) else 0
