"""The graph view with no kernel and no server: one self-contained HTML file, or the HTML form
of a notebook output, which ``nbconvert --to html`` keeps.

Each block carries the view's payload (with a table to show beside the graph, if any) as JSON,
gzip-compressed and base64-encoded in a ``<script type="application/vnd.onnx-workbench.standalone">``
(``docs/view-schema.md``, "Standalone"), and the view's ES module (``workbench/static/``,
built from ``extension/src/bundle/``) inline: loading it draws every block of the page. Model
strings reach the page as JSON inside that script and are written as text by the front end.
"""

from __future__ import annotations

import base64
import gzip
import html
import json
import math
import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..model.internal import card_html

if TYPE_CHECKING:
    import pandas as pd

    from ._index import ViewIndex

#: The MIME type of a block's data script (``STANDALONE_MIME_TYPE`` in the front end too).
STANDALONE_MIME_TYPE = "application/vnd.onnx-workbench.standalone"
STANDALONE_VERSION = 1
#: The built front end: the anywidget module and its styles.
STATIC = Path(__file__).resolve().parents[1] / "static"
#: Rows of a table written beside the graph; a longer table keeps its first rows.
TABLE_ROWS = 5000
#: What a file shows where its script does not run (JupyterLab's HTML viewer, before "Trust HTML").
SCRIPTS_NOTICE = ("<p class='jp-OnnxWorkbench-scriptsNotice'>The interactive graph view is drawn by this "
                  "file's script: open the file in a web browser, or in JupyterLab click <b>Trust HTML</b>.</p>")
#: A payload budget no model reaches: every group and every detail.
WHOLE = 2**62


def bundle_file(name: str) -> Path:
    """A file of the built front end (``workbench.js`` or ``workbench.css``), or a
    :class:`~workbench.errors.UsageError` saying how to build it when this copy lacks it."""
    path = STATIC / name
    if not path.is_file():
        raise UsageError(f"The graph view's front end ({path.name}) is missing from this copy of workbench: "
                         "reinstall the package (pip install onnx-workbench), or build it from a checkout "
                         "(scripts/setup.sh, or `jlpm build` in extension/).")
    return path


@lru_cache(maxsize=2)
def _read(name: str, mtime: float) -> str:
    """A bundle file's text, read once per version of the file."""
    return (STATIC / name).read_text(encoding="utf-8")


def _bundle(name: str) -> str:
    path = bundle_file(name)
    return _read(name, path.stat().st_mtime)


def table_data(frame: pd.DataFrame, title: str, node_column: str | None) -> dict:
    """A DataFrame as the table shown beside a standalone graph: its columns, its rows as plain
    values (NaN and None as null, numpy scalars as numbers, the rest as text) and which column
    holds each row's node id. Beyond ``TABLE_ROWS`` rows, the first ones are kept."""
    shown = frame.head(TABLE_ROWS)
    rows = [[_cell(value) for value in row] for row in shown.itertuples(index=False, name=None)]
    columns = [str(c) for c in shown.columns]
    if len(frame) > TABLE_ROWS:
        title = f"{title} (first {TABLE_ROWS:,} of {len(frame):,} rows)"
    return {"title": title, "columns": columns, "rows": rows,
            "node": columns.index(node_column) if node_column in columns else None}


def _cell(value: Any) -> str | float | int | bool | None:
    """One cell as a JSON value: numpy scalars as numbers, missing values as null, the rest as text."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)) and getattr(value, "ndim", 1) == 0:
        value = value.item()  # a numpy scalar
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):  # a list in a cell (a diff's changes, a kernel's authored nodes)
        return "; ".join(" ".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v) for v in value) or None
    import pandas as pd

    return None if value is pd.NA or value is pd.NaT else str(value)


def standalone_payload(index: ViewIndex, *, overlay: dict | None = None, selected: list[str] | None = None) -> dict:
    """The whole view as one payload: every group and every node's details (``complete``), the
    groups around ``selected`` open at first paint, ``overlay`` drawn."""
    selected = list(selected or ())
    first = index.first_paint()
    around = [g for node in selected[:1] for g in index.ancestors(node) if g != index.root]
    return index.payload(budget=WHOLE, expanded=list(dict.fromkeys([*first, *around])),
                         overlay=overlay, selected=selected)


def standalone_block(payload: dict, table: dict | None = None, fallback: str = "") -> str:
    """The HTML of one standalone view: ``fallback`` (HTML shown where scripts do not run: the
    card and a static picture), the data, the styles and the module that draws it.

    The module is inline in every block, so each output of an exported notebook stands alone;
    a page loads it once per block, and the first to run draws them all.
    """
    content = {"standalone": STANDALONE_VERSION, "payload": payload, "table": table}
    try:
        data = json.dumps(content, separators=(",", ":"), allow_nan=False)
    except ValueError:  # a NaN or an infinity somewhere (a weight's statistics): walk it only then
        data = json.dumps(_finite(content), separators=(",", ":"), allow_nan=False)
    encoded = base64.b64encode(gzip.compress(data.encode("utf-8"), compresslevel=6, mtime=0)).decode("ascii")
    return (f'<div class="jp-OnnxWorkbench-standalone">{fallback}'
            f'<script type="{STANDALONE_MIME_TYPE}">{encoded}</script></div>'
            f"<style>{_bundle('workbench.css')}</style>"
            f'<script type="module">{_bundle("workbench.js")}</script>')


def _finite(value: Any) -> Any:
    """``value`` with NaN as null and infinities as text (JSON has neither; a weight's statistics may)."""
    if isinstance(value, float):
        return None if math.isnan(value) else (str(value) if math.isinf(value) else value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def standalone_page(title: str, block: str) -> str:
    """A whole HTML document around one block: it opens from a file, with no network."""
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{html.escape(title)}</title>"
            "<style>body{margin:8px;font-family:system-ui,sans-serif}</style></head>"
            f"<body>{block}</body></html>\n")


def write_html(path: str | os.PathLike[str], index: ViewIndex, *, overlay: dict | None = None,
               selected: list[str] | None = None, table: pd.DataFrame | None = None, table_title: str = "",
               node_column: str | None = None) -> Path:
    """Writes ``index``'s whole view as one self-contained HTML file at ``path`` (``.html``):
    the graph with ``overlay`` drawn and ``selected`` selected and in view, and ``table`` beside
    it, a click on a row selecting the node named in its ``node_column``. Returns the path.

    The file needs no network and no server: it opens from disk in any current browser.
    """
    target = Path(path)
    if target.suffix.lower() not in (".html", ".htm"):
        raise UsageError(f"Cannot write the view as {target.name!r}: name the file .html.")
    payload = standalone_payload(index, overlay=overlay, selected=selected)
    shown = table_data(table, table_title, node_column) if table is not None else None
    card = card_html(payload["summary"]) if payload.get("summary") else ""
    page = standalone_page(str(payload.get("title") or "ONNX model"),
                           standalone_block(payload, shown, fallback=card + SCRIPTS_NOTICE))
    target.write_text(page, encoding="utf-8")
    return target
