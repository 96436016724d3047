"""Result tables on disk: Parquet when pyarrow is installed, else CSV, both read back as written.

Neither format holds Python objects, and the tables workbench returns do: tuples
(``Report.table.suspects``), lists of tuples (``Model.nodes.output_shapes``), ``None``.
So every column of objects that are not all strings is stored as JSON text, and the
manifest entry records its *containers* (which JSON arrays were tuples, which lists), so
that reading it back gives tuples where tuples were. The index, when it is not the
default 0..n-1, is stored as ordinary columns and set again on reading. CSV also loses
dtypes: they are recorded and restored.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import UsageError

FORMATS = ("parquet", "csv")
_SUFFIX = {"parquet": ".parquet", "csv": ".csv"}

# A column's containers: None (a scalar), or [kind, items] with kind "tuple", "list" or "dict".
Containers = Any


def default_format() -> str:
    """``"parquet"`` when pyarrow can be imported, else ``"csv"``."""
    return "parquet" if importlib.util.find_spec("pyarrow") is not None else "csv"


def write_table(table: pd.DataFrame, folder: Path, name: str, fmt: str) -> dict[str, Any]:
    """Writes ``table`` to ``folder/name.<fmt>``; returns its manifest entry (file relative to ``folder``)."""
    bad = [c for c in table.columns if not isinstance(c, str)]
    if bad:
        raise UsageError(f"its column names must be strings, and {bad[:3]!r} are not: rename them "
                         "(table.columns = table.columns.map(str)).")
    index_names = list(table.index.names)
    if isinstance(table.index, pd.RangeIndex) and table.index.equals(pd.RangeIndex(len(table))) \
            and index_names == [None]:
        flat, index_columns = table, []
    else:
        flat = table.reset_index()
        index_columns = [str(c) for c in flat.columns[: table.index.nlevels]]
    dtypes = {c: str(flat[c].dtype) for c in flat.columns}
    encoded, containers = {}, {}
    for column in flat.columns:
        values = flat[column]
        if _needs_json(values, fmt):
            containers[column] = _containers(values)
            encoded[column] = [json.dumps(v, default=_plain, allow_nan=True) for v in values]
    if encoded:
        flat = flat.assign(**encoded)
    file = f"{name}{_SUFFIX[fmt]}"
    if fmt == "parquet":
        flat.to_parquet(folder / file, index=False)
    else:
        flat.to_csv(folder / file, index=False)
    return {"file": file, "format": fmt, "rows": len(table), "columns": [str(c) for c in table.columns],
            "index": index_columns, "index_names": index_names, "dtypes": dtypes, "json": containers}


def read_table(path: Path, entry: dict[str, Any]) -> pd.DataFrame:
    """The table written by :func:`write_table` as described by ``entry``."""
    dtypes: dict[str, str] = entry.get("dtypes", {})
    containers: dict[str, Containers] = entry.get("json", {})
    if entry.get("format") == "parquet":
        flat = pd.read_parquet(path)
    else:
        # Every cell as the text written: no NaN guessing ("" stays ""); types come from ``dtypes``.
        flat = pd.read_csv(path, dtype=object, keep_default_na=False, na_filter=False)
    for column in flat.columns:
        if column in containers:
            restored = pd.Series([_restore(json.loads(v), containers[column]) for v in flat[column]],
                                 index=flat.index, dtype=object)
            flat[column] = _typed(restored, dtypes.get(column, "object"))  # a string column with NaN: str again
        elif column in dtypes:
            flat[column] = _typed(flat[column], dtypes[column])
    index = entry.get("index") or []
    if index:
        flat = flat.set_index(index)
        flat.index.names = entry.get("index_names") or [None] * len(index)
    return flat


def _needs_json(values: pd.Series, fmt: str) -> bool:
    """Object columns that are not all strings (CSV: non-missing strings) go to JSON."""
    if values.dtype != object and not isinstance(values.dtype, pd.StringDtype):
        return False
    if isinstance(values.dtype, pd.StringDtype) and (fmt == "parquet" or not values.isna().any()):
        return False
    return not all(isinstance(v, str) for v in values)


def _plain(value: Any) -> Any:
    """JSON for what ``json`` does not know: numpy scalars and arrays, sets."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


def _containers(values: Any) -> Containers:
    """The containers of a column's values, merged: e.g. ``["list", ["tuple", None]]``."""
    found: Containers = None
    for value in values:
        found = _merge(found, _shape(value))
    return found


def _shape(value: Any) -> Containers:
    if isinstance(value, tuple):
        return ["tuple", _containers(value)]
    if isinstance(value, (list, np.ndarray)):
        return ["list", _containers(value)]
    if isinstance(value, dict):
        return ["dict", _containers(value.values())]
    return None


def _merge(a: Containers, b: Containers) -> Containers:
    if a is None or b is None:
        return a if b is None else b
    kind = a[0] if a[0] == b[0] else ("dict" if "dict" in (a[0], b[0]) else "list")  # a tuple here, a list there: lists
    return [kind, _merge(a[1], b[1])]


def _restore(value: Any, containers: Containers) -> Any:
    if containers is None:
        return value
    kind, items = containers
    if isinstance(value, list) and kind in ("tuple", "list"):
        restored = [_restore(v, items) for v in value]
        return tuple(restored) if kind == "tuple" else restored
    if isinstance(value, dict):
        return {k: _restore(v, items) for k, v in value.items()}
    return value


def _typed(values: pd.Series, dtype: str) -> pd.Series:
    """CSV text back to ``dtype``; Parquet columns are only cast where they came back otherwise."""
    if str(values.dtype) == dtype:
        return values
    try:
        if values.dtype == object and all(isinstance(v, str) for v in values):
            kind = np.dtype(dtype).kind if _is_numpy(dtype) else ""
            if kind == "b" and set(values) <= {"True", "False"}:
                return values.map({"True": True, "False": False}).astype(bool)
            if kind and kind in "fc":
                return values.replace("", "nan").astype(dtype)
            if dtype[:1].isupper() or dtype == "boolean":  # pandas' nullable Int64, Float64, boolean
                return values.replace("", None).astype(dtype)
        return values.astype(dtype)
    except (TypeError, ValueError):
        return values  # a dtype this pandas cannot rebuild from text: the text, rather than nothing


def _is_numpy(dtype: str) -> bool:
    try:
        np.dtype(dtype)
    except TypeError:
        return False
    return True


__all__ = ["FORMATS", "default_format", "read_table", "write_table"]
