"""How far one tensor is from another: every metric at once, because one alone misleads.

(Cosine similarity alone rated a real planted LayerNorm bug 0.99997.)

Float32 pairs are measured in float32 (norms and the cosine are computed so that their
error stays far below the differences they report); anything wider in float64.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..runtime.conditions import beyond_fp16
from ..runtime.internal import Value, numeric, same_structure, tensors

_ERRORS = ("max_abs", "mean_abs", "p99_abs", "max_rel", "rel_l2", "cosine", "min_atol", "min_rtol")
#: Every key error_metrics returns, in order (``ok`` only with tolerances given).
COLUMNS = ("shape_mismatch", *_ERRORS, "nan_ref", "nan_cand", "inf_ref", "inf_cand", "nonfinite_mismatch",
            "fp16_overflow", "ok")


def error_metrics(reference: np.ndarray, candidate: np.ndarray, *, rtol: float | None = None,
                  atol: float | None = None, eps: float = 1e-12) -> dict[str, Any]:
    """max/mean/p99 absolute and relative error, relative L2, cosine, NaN/Inf counts, fp16
    overflow, and the smallest ``atol`` (at ``rtol=0``) and ``rtol`` (at ``atol=0``) that pass.

    - ``nonfinite_mismatch`` counts positions where exactly one side is NaN/Inf, or both are
      infinite with opposite signs. Such a position makes ``max_abs`` infinite, ``rel_l2``
      infinite and ``cosine`` NaN: a value that overflowed never reads as close.
    - ``fp16_overflow``: the candidate holds finite values beyond float16's range (they would
      become Inf in float16); an overflow that already happened shows as ``inf_cand``.
    - With ``rtol`` and ``atol`` given, ``ok`` says whether the candidate passes
      (``numpy.allclose`` semantics, NaN equal to NaN).
    - Shapes that differ give ``shape_mismatch=True``, NaN errors and ``ok=False``.
    """
    # bfloat16, float8, int4 (ml_dtypes) measured in the numpy type they widen to
    ref, cand = numeric(np.asarray(reference)), numeric(np.asarray(candidate))
    row: dict[str, Any] = {
        "shape_mismatch": ref.shape != cand.shape,
        "nan_ref": _count(ref, np.isnan), "nan_cand": _count(cand, np.isnan),
        "inf_ref": _count(ref, np.isinf), "inf_cand": _count(cand, np.isinf),
        "nonfinite_mismatch": 0,
        "fp16_overflow": beyond_fp16(cand),
    }
    checked = rtol is not None and atol is not None
    if row["shape_mismatch"] or not ref.size:
        row.update(dict.fromkeys(_ERRORS, math.nan if row["shape_mismatch"] else 0.0))
        return _ordered({**row, "ok": not row["shape_mismatch"]} if checked else row)
    if not _numeric(ref) or not _numeric(cand):
        equal = bool(np.array_equal(ref, cand))
        row.update(dict.fromkeys(_ERRORS, 0.0 if equal else math.inf), cosine=1.0 if equal else math.nan)
        return _ordered({**row, "ok": equal} if checked else row)

    work = np.float32 if ref.dtype.itemsize <= 4 and cand.dtype.itemsize <= 4 and _floating(ref, cand) else np.float64
    r = np.asarray(ref, dtype=work).ravel()
    c = np.asarray(cand, dtype=work).ravel()
    with np.errstate(invalid="ignore"):  # inf - inf
        diff = np.abs(np.subtract(c, r))
    magnitude = np.abs(r)
    both = np.isfinite(r) & np.isfinite(c)
    if not both.all():
        special = ~both
        same = np.isnan(r[special]) & np.isnan(c[special]) | (r[special] == c[special])
        row["nonfinite_mismatch"] = int((~same).sum())
        diff[special] = np.where(same, 0, np.inf)
        magnitude[special] = 0  # matching NaN/Inf pass at any tolerance
        r, c, finite_diff = r[both], c[both], diff[both]
    else:
        finite_diff = diff
    mismatched = row["nonfinite_mismatch"] > 0
    norm_r, norm_c, norm_diff = _norm(r), _norm(c), _norm(finite_diff)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = diff / (magnitude + work(eps))
        strict = diff / magnitude  # 0/0 (NaN) is a pass, x/0 (Inf) a miss
    row.update(
        max_abs=float(diff.max()),
        mean_abs=float(diff.mean(dtype=np.float64)),
        max_rel=float(np.fmax.reduce(rel)),
        rel_l2=math.inf if mismatched else (norm_diff / norm_r if norm_r else norm_diff),
        cosine=math.nan if mismatched else _cosine(r, c, norm_r, norm_c),
        min_atol=float(diff.max()),
        min_rtol=_nan_to_zero(float(np.fmax.reduce(strict))),
    )
    if rtol is not None and atol is not None:  # checked
        row["ok"] = not mismatched and bool(np.all(diff <= atol + rtol * magnitude))
    row["p99_abs"] = _p99(diff)  # last: it reorders ``diff`` in place
    return _ordered(row)


def within(reference: np.ndarray, candidate: np.ndarray, rtol: float, atol: float) -> bool:
    """``numpy.allclose`` semantics (NaN equal to NaN), and shapes must agree."""
    return bool(error_metrics(reference, candidate, rtol=rtol, atol=atol)["ok"])


def _norm(values: np.ndarray) -> float:
    """The L2 norm, also where squaring overflows float32 (values past ~1e19)."""
    with np.errstate(over="ignore"):
        norm = float(np.linalg.norm(values))
    if math.isfinite(norm) or not values.size:
        return norm
    scale = float(np.abs(values).max())
    return scale * float(np.linalg.norm(values / values.dtype.type(scale)))


def _ordered(row: dict[str, Any]) -> dict[str, Any]:
    return {key: row[key] for key in COLUMNS if key in row}


def _cosine(r: np.ndarray, c: np.ndarray, norm_r: float, norm_c: float) -> float:
    """1 - |ĉ - r̂|²/2: exact near 1, where a plain dot product in float32 would round."""
    if not norm_r or not norm_c:
        return 1.0 if norm_r == norm_c else 0.0
    gap = float(np.linalg.norm(_unit(c, norm_c) - _unit(r, norm_r)))
    return 1.0 - gap * gap / 2.0


def _unit(values: np.ndarray, norm: float) -> np.ndarray:
    """``values / norm`` in their own dtype, also where the norm is past that dtype's range
    (float32's min in attention masks: a norm of 1e40 would overflow to inf when cast)."""
    if norm <= float(np.finfo(values.dtype).max):
        return values / values.dtype.type(norm)
    scale = float(np.abs(values).max())  # finite: the norm is finite and at least this
    return values / values.dtype.type(scale) / values.dtype.type(norm / scale)


def _p99(diff: np.ndarray) -> float:
    """The 99th percentile (numpy's ``method="higher"``), partitioning ``diff`` in place."""
    k = math.ceil(0.99 * (diff.size - 1))
    diff.partition(k)
    return float(diff[k])


def _nan_to_zero(value: float) -> float:
    return 0.0 if math.isnan(value) else value


def _numeric(array: np.ndarray) -> bool:
    return np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_


def _floating(*arrays: np.ndarray) -> bool:
    return all(np.issubdtype(a.dtype, np.floating) for a in arrays)


def _count(array: np.ndarray, test: Any) -> int:
    return int(test(array).sum()) if np.issubdtype(array.dtype, np.floating) else 0


def value_metrics(name: str, reference: Value, candidate: Value, *, rtol: float, atol: float) -> list[dict[str, Any]]:
    """:func:`error_metrics` of two values of any kind, one row per tensor in them, each with
    ``value`` (its label) and ``note``.

    A tensor is one row (``name``); a sequence one per element (``name[0]``, ``name[1]``, …), a
    map one per key, an optional its value's (two empty optionals: no row). Where the two
    differ in kind, length or keys, one row, off (``shape_mismatch``, errors NaN), whose note
    says how.
    """
    differs = same_structure(reference, candidate)
    if differs:  # measured as a shape mismatch: every error NaN, never ok
        return [{"value": name, **error_metrics(np.zeros(0), np.zeros(1), rtol=rtol, atol=atol), "note": differs}]
    if reference is None:
        return []
    candidates = dict(tensors(candidate))
    return [{"value": f"{name}{where}", **error_metrics(ref, candidates[where], rtol=rtol, atol=atol), "note": ""}
            for where, ref in tensors(reference)]
