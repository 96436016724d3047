"""The summary card: the data (one dict, the ``summary`` of the view payload), its HTML and text.

Every string that comes from the model is untrusted: the HTML card escapes each one,
and the JupyterLab renderer writes them with ``textContent`` only.
"""

from __future__ import annotations

import html
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._model import Model

SUMMARY_SCHEMA_VERSION = 1
_TOP_OPS = 8
#: Characters of the model's doc string, and of each metadata value, shown on the card.
_DESCRIPTION_CHARS = 500
_METADATA_CHARS = 200


def _value(model: "Model", info: Any) -> dict:
    dtype, shape = model.value_info(info.name)
    return {"name": info.name, "dtype": dtype, "shape": list(shape) if shape is not None else None}


def summary_data(model: "Model") -> dict:
    """The facts on the card, as JSON-ready data."""
    proto = model.proto
    graph = proto.graph
    initializer_names = {t.name for t in graph.initializer}
    # Counted from the nodes themselves: the card must not wait for the full node table.
    op_counts = Counter(r.node.op_type for r in model.records)
    top_ops = sorted(op_counts.items(), key=lambda kv: (-kv[1], kv[0]))[:_TOP_OPS]
    return {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "name": model.name,
        "producer": " ".join(p for p in (proto.producer_name, proto.producer_version) if p),
        "ir_version": int(proto.ir_version),
        "opsets": {o.domain or "ai.onnx": int(o.version) for o in proto.opset_import},
        "inputs": [_value(model, i) for i in graph.input if i.name not in initializer_names],
        "outputs": [_value(model, o) for o in graph.output],
        "node_count": len(model.records),
        "parameter_count": int(model.parameter_count),
        "parameter_bytes": int(model.parameter_bytes),
        "model_bytes": model.model_bytes,
        "top_ops": [[op, count] for op, count in top_ops],
        "subgraphs": model.subgraph_list(),
        "functions": [f"{f.domain}.{f.name} ({len(f.node)} nodes)" for f in proto.functions],
        "problems": list(model.problems),
        "description": _cut(proto.doc_string, _DESCRIPTION_CHARS),
        "metadata": [[prop.key, _cut(prop.value, _METADATA_CHARS)] for prop in proto.metadata_props],
    }


def _cut(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters (exporters store whole configs and licences here)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_bytes(n: int | None) -> str:
    if n is None:
        return "—"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def _fmt_shape(shape: list | None) -> str:
    return "?" if shape is None else "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def _facts(data: dict) -> list[tuple[str, str]]:
    return [
        ("producer", data["producer"] or "—"),
        ("IR version", str(data["ir_version"])),
        ("opsets", ", ".join(f"{d} {v}" for d, v in data["opsets"].items())),
        ("nodes", f"{data['node_count']:,}"),
        ("parameters", f"{data['parameter_count']:,} ({format_bytes(data['parameter_bytes'])})"),
        ("model size", format_bytes(data["model_bytes"])),
    ]


def summary_text(data: dict) -> str:
    """A plain-text card, for terminals and ``repr``."""
    lines = [f"ONNX model {data['name'] or '(unnamed)'}"]
    lines += [f"  {k:<11} {v}" for k, v in _facts(data)]
    for title in ("inputs", "outputs"):
        lines.append(f"  {title}:")
        lines += [f"    {v['name']}: {v['dtype']} {_fmt_shape(v['shape'])}" for v in data[title]]
    if data["description"]:
        lines.append(f"  description: {data['description']}")
    lines += [f"  metadata: {key} = {value}" for key, value in data["metadata"]]
    lines.append("  top ops: " + ", ".join(f"{op} {n}" for op, n in data["top_ops"]))
    for title in ("subgraphs", "functions"):
        if data[title]:
            lines.append(f"  {title}: " + "; ".join(data[title]))
    lines += [f"  problem: {p}" for p in data["problems"]]
    return "\n".join(lines)


def card_html(data: dict) -> str:
    """The card as self-contained HTML (every model string escaped)."""
    e = html.escape
    facts = "".join(f"<tr><th style='text-align:left'>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in _facts(data))

    def values(title: str) -> str:
        rows = "".join(
            f"<tr><td><code>{e(v['name'])}</code></td><td>{e(v['dtype'])}</td><td>{e(_fmt_shape(v['shape']))}</td></tr>"
            for v in data[title]
        )
        return f"<h4>{title} ({len(data[title])})</h4><table>{rows}</table>"

    ops = "".join(f"<tr><td><code>{e(op)}</code></td><td>{n:,}</td></tr>" for op, n in data["top_ops"])
    extra = "".join(
        f"<h4>{title} ({len(data[key])})</h4><ul>" + "".join(f"<li>{e(s)}</li>" for s in data[key]) + "</ul>"
        for title, key in (("subgraphs", "subgraphs"), ("local functions", "functions"))
        if data[key]
    )
    description = f"<p>{e(data['description'])}</p>" if data["description"] else ""
    metadata = "".join(f"<tr><th style='text-align:left'>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in data["metadata"])
    if metadata:
        metadata = f"<h4>metadata ({len(data['metadata'])})</h4><table>{metadata}</table>"
    problems = "".join(f"<p style='color:#c00'>{e(p)}</p>" for p in data["problems"])
    return (
        "<div class='onnx-workbench-summary'>"
        f"<h3>{e(data['name'] or '(unnamed model)')}</h3>{description}<table>{facts}</table>"
        f"{values('inputs')}{values('outputs')}<h4>top op types</h4><table>{ops}</table>"
        f"{extra}{metadata}{problems}</div>"
    )
