"""Sweeps over time: each run appended to a Parquet dataset, and two runs compared.

A store is a folder of Parquet files, one per run (``<run>.parquet``), each the sweep's table
with two more columns, ``run`` and ``time`` (UTC). Runs are only ever added: a nightly job
appends tonight's and compares it with last night's.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import UsageError

#: The columns that name one measurement: the same in two runs, it is the same measurement.
KEYS = ["model", "variant", "provider", "input", "check", "metric"]
#: Verdicts, best first: a move to a later one is a regression.
VERDICTS = ("pass", "fail", "error")


def check_store(store: str | os.PathLike, run: str | None) -> None:
    """Refuses, before a sweep runs, a store that is a file, or a run name that is taken or unsafe."""
    folder = Path(store)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"store={str(folder)!r} is a file; name a folder (it is created) for the runs' Parquet files.")
    if run is not None:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", run):
            raise UsageError(f"run={run!r}: use letters, digits, '.', '_' and '-' (it names a file in the store).")
        if (folder / f"{run}.parquet").exists():
            raise UsageError(f"The store {str(folder)!r} has a run {run!r} already: runs are only added; "
                             "choose another name (or leave run= out: the time names it).")
    _parquet()


def append(store: str | os.PathLike, table: pd.DataFrame, run: str | None) -> str:
    """Writes ``table`` into the store as a new run; returns the run's name."""
    now = datetime.now(timezone.utc)
    name = run or now.strftime("%Y%m%dT%H%M%S.%fZ")
    folder = Path(store)
    folder.mkdir(parents=True, exist_ok=True)
    stored = table.assign(run=name, time=pd.Timestamp(now))
    partial = folder / f".{name}.parquet.partial"  # a reader never sees half a run
    stored.to_parquet(partial, index=False)
    os.replace(partial, folder / f"{name}.parquet")
    return name


def read_sweeps(store: str | os.PathLike) -> pd.DataFrame:
    """Every run in a store, oldest first: the sweeps' tables with their ``run`` and ``time``."""
    folder = Path(store)
    files = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
    if not files:
        raise UsageError(f"No sweep run in {str(folder)!r}: run wb.sweep(..., store={str(folder)!r}) first.")
    _parquet()
    table = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    return table.sort_values("time", kind="stable", ignore_index=True)


def sweep_compare(old: pd.DataFrame | str | os.PathLike, new: pd.DataFrame | None = None, *,
                  latency: float = 0.2) -> pd.DataFrame:
    """Two sweeps' measurements side by side, regressions flagged.

    Args:
        old: the earlier sweep's table; or a store (:func:`read_sweeps`), with ``new`` left out,
            to compare its last two runs.
        new: the later sweep's table.
        latency: the share a ``profile`` latency may grow by before it is a regression.

    Returns:
        One row per measurement in either sweep: the key columns (``model``, ``variant``,
        ``provider``, ``input``, ``check``, ``metric``), ``old`` and ``new`` values and verdicts,
        ``change`` (new / old), ``regression`` (a verdict worse than before — pass to fail, or to
        error —, a latency grown past ``latency``, or a measurement the new sweep lost) and
        ``why``, in words. Regressions first, then in the sweeps' order.
    """
    if new is None:
        if isinstance(old, pd.DataFrame):
            raise UsageError("sweep_compare(old, new) takes two tables; or one store folder, to compare its last "
                             "two runs.")
        history = read_sweeps(old)
        runs = list(dict.fromkeys(history["run"]))
        if len(runs) < 2:
            raise UsageError(f"The store {str(old)!r} has {len(runs)} run: a comparison needs two.")
        old, new = (history[history["run"] == r] for r in runs[-2:])
    elif not isinstance(old, pd.DataFrame):
        raise UsageError("With new= given, old must be a sweep's table too.")
    columns = [*KEYS, "value", "verdict"]
    for name, table in (("old", old), ("new", new)):
        missing = [c for c in columns if c not in table]
        if missing:
            raise UsageError(f"The {name} table lacks {missing}: pass tables that wb.sweep or wb.read_sweeps returned.")
    both = old[columns].merge(new[columns], on=KEYS, how="outer", suffixes=("_old", "_new"), indicator=True,
                              sort=False)
    both = both.rename(columns={"value_old": "old", "value_new": "new"})
    both["change"] = both["new"] / both["old"].where(both["old"] != 0)
    # column by column, not row by row: a nightly table has a row per input, metric and case
    lost, added = both["_merge"] == "left_only", both["_merge"] == "right_only"
    rank = {verdict: i for i, verdict in enumerate(VERDICTS)}
    before, after = (both[f"verdict_{side}"].map(rank).fillna(len(VERDICTS)) for side in ("old", "new"))
    moved = ~lost & ~added & (both["verdict_old"].astype(object) != both["verdict_new"].astype(object))
    slower = ~lost & ~added & ~moved & (both["check"] == "profile") & (both["change"] > 1 + latency)
    both["regression"] = lost | (moved & (after > before)) | slower
    verdicts = both["verdict_old"].astype(str) + " → " + both["verdict_new"].astype(str)
    growth = "latency +" + ((both["change"] - 1) * 100).round().astype("Int64").astype(str) + "%"
    both["why"] = np.select([lost, added, moved, slower],
                            ["not in the new sweep", "new in this sweep", verdicts, growth], "")
    order = [*KEYS, "old", "new", "verdict_old", "verdict_new", "change", "regression", "why"]
    return both[order].sort_values("regression", ascending=False, kind="stable", ignore_index=True)


def _parquet() -> None:
    try:
        import pyarrow  # noqa: F401 - pandas reads and writes Parquet through it
    except ImportError:
        raise UsageError("Keeping sweeps needs pyarrow: pip install 'onnx-workbench[sweep]'.") from None
