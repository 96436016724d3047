"""``DebuggerView``: the step-through debugger as a notebook widget.

A toolbar (reset, back, step, continue, run to selected) and a status line over the graph
view, where the current node is highlighted and breakpoints are toggled by clicking a node's
left edge, beside a tensor inspector for the current node or the one clicked: statistics,
a histogram, a heatmap and a slice of the values of each input and output.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from io import BytesIO
from typing import TYPE_CHECKING

import ipywidgets
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..errors import DebuggerError
from ..runtime.internal import Value, describe, numeric, tensors
from ._graph import GraphView

if TYPE_CHECKING:
    from ..runtime import Debugger, Step

HEIGHT = 560
#: The most values a histogram reads (a strided sample of larger tensors).
HISTOGRAM_VALUES = 1_000_000
HISTOGRAM_BINS = 50
#: The most pixels per axis of a heatmap (larger tensors are strided).
HEATMAP_PIXELS = 256
#: The most channels of an image-like tensor drawn as heatmaps.
HEATMAP_CHANNELS = 8
#: The rows and columns of the values table.
SLICE_ROWS, SLICE_COLUMNS = 16, 10


class DebuggerView(ipywidgets.VBox):
    """The debugger's widget: controls, the graph with the current node, a tensor inspector.

    ::

        dbg = wb.debug(wb.samples.open("tiny_cnn"))
        DebuggerView(dbg)       # what a notebook shows for `dbg`

    The buttons move ``debugger`` (``step``, ``back``, ``continue_``, ...); clicking a
    node's left edge, or ``b`` on the selected node, adds or removes a node breakpoint.
    Moves, breakpoints and re-runs made in Python show at once (the view listens).
    """

    def __init__(self, debugger: Debugger, *, height: int = HEIGHT) -> None:
        """Shows ``debugger``; ``height`` is the graph view's height in pixels."""
        self.debugger = debugger
        graph_layout = {"height": f"{height}px", "width": "auto", "flex": "1 1 0", "min_width": "0"}
        self.graph = GraphView(debugger.model, layout=graph_layout)
        self.graph.on_breakpoint(self.toggle_breakpoint)
        self.graph.observe(self._on_selected, names="selected")
        self.buttons = {
            "reset": self._button("Reset", "fast-backward", "Back to before the first node", debugger.reset),
            "back": self._button("Back", "step-backward", "Go back one node", debugger.back),
            "step": self._button("Step", "step-forward", "Execute the next node", debugger.step),
            "continue": self._button("Continue", "play", "Run to the next breakpoint or the end",
                                     debugger.continue_),
            "run_to": self._button("Run to selected", "forward", "Run to the node selected in the graph",
                                   lambda: debugger.run_to(self.graph.selected[0])),
        }
        self.status = ipywidgets.HTML()
        self.status.add_class("jp-OnnxWorkbench-debuggerStatus")
        self.inspector = TensorInspector(layout=ipywidgets.Layout(
            height=f"{height}px", overflow="auto", flex="1 1 0", min_width="0", padding="0 0 0 8px"
        ))
        self._inspected: str | None = None
        toolbar = ipywidgets.HBox([*self.buttons.values(), self.status],
                                  layout=ipywidgets.Layout(align_items="center"))
        body = ipywidgets.HBox([self.graph, self.inspector], layout=ipywidgets.Layout(width="100%"))
        super().__init__([toolbar, body])
        self.add_class("jp-OnnxWorkbench-debugger")
        debugger.on_change(self.refresh)
        self.refresh()

    def refresh(self, error: str | None = None) -> None:
        """Shows the debugger as it is now: position, current node, breakpoints, inspector.

        ``error`` is a message shown in the status line (a move that failed).
        """
        dbg, steps = self.debugger, self.debugger.steps
        current = dbg.current
        at_end = dbg.position >= len(steps) - 1
        self.buttons["reset"].disabled = self.buttons["back"].disabled = dbg.position < 0
        self.buttons["step"].disabled = self.buttons["continue"].disabled = at_end
        self.buttons["run_to"].disabled = not (self.graph.selected and self.graph.selected[0] in steps)
        where = "not started" if current is None else f"<b>{html.escape(current.op_type)}</b> " \
            f"<code>{html.escape(current.node)}</code>"
        text = f"{dbg.position + 1} / {len(steps)} · {where}"
        if error:
            text += f' · <span style="color: var(--jp-error-color1, #d32f2f)">{html.escape(error)}</span>'
        self.status.value = text
        self._show_breakpoints()
        if current is None:
            self.graph.highlight([])
        else:
            self.graph.highlight(current.node)
            self.graph.reveal(current.node)
        self._inspected = None if current is None else current.node
        self._inspect()

    def toggle_breakpoint(self, node_id: str) -> None:
        """Adds a breakpoint at ``node_id``, or removes the node breakpoints it has."""
        dbg = self.debugger
        at_node = [b for b in dbg.breakpoints if b.node == node_id]
        for breakpoint_ in at_node:
            dbg.remove_breakpoint(breakpoint_)
        if not at_node:
            try:
                dbg.break_on(node=node_id)
            except DebuggerError as error:  # not a step: a node of a subgraph body
                self.status.value = html.escape(str(error))
                return
        self._show_breakpoints()

    def _show_breakpoints(self) -> None:
        """Badges on the nodes that have a breakpoint."""
        self.graph.marks = {b.node: "breakpoint" for b in self.debugger.breakpoints if b.node is not None}

    def _button(self, description: str, icon: str, tooltip: str, move: Callable[[], object]) -> ipywidgets.Button:
        """A toolbar button that moves the debugger with ``move``, then shows where it is."""
        button = ipywidgets.Button(description=description, icon=icon, tooltip=tooltip,
                                   layout=ipywidgets.Layout(width="auto"))

        def clicked(_button: ipywidgets.Button) -> None:
            try:
                move()  # the debugger calls refresh() when it moves
            except DebuggerError as error:
                self.refresh(error=str(error))

        button.on_click(clicked)
        return button

    def _on_selected(self, change: dict) -> None:
        """A node clicked in the graph: inspect it; run-to-selected now has a target."""
        selected = change["new"]
        self.buttons["run_to"].disabled = not (selected and selected[0] in self.debugger.steps)
        if selected:
            self._inspected = selected[0]
            self._inspect()

    def _inspect(self) -> None:
        """Shows the inspected node's values (the current node's unless one was clicked)."""
        dbg, node_id = self.debugger, self._inspected
        if node_id is None:
            self.inspector.show_message("Not started. Step to execute the first node, or click a node to see "
                                        "the values it will have.")
        elif node_id not in dbg.steps:
            self.inspector.show_message(f"{node_id} is not a step of this run (a node inside a subgraph "
                                        "body: its values are not captured).")
        else:
            index = dbg.steps.index(node_id)
            note = ("current" if index == dbg.position else
                    "executed" if index < dbg.position else "not reached yet")
            self.inspector.show(dbg.step_at(index), f"step {index + 1} of {len(dbg.steps)}, {note}")


class TensorInspector(ipywidgets.VBox):
    """A node's inputs and outputs: a statistics table, then one value in detail.

    The detail of the value picked (first output by default) is a histogram, a heatmap
    (2-D and higher: the last two axes, and up to ``HEATMAP_CHANNELS`` channels of an
    image-like 4-D tensor) and a slice of its values.
    """

    def __init__(self, **kwargs: object) -> None:
        self.header = ipywidgets.HTML()
        self.table = ipywidgets.HTML()
        self.picker = ipywidgets.Dropdown(description="value", layout=ipywidgets.Layout(width="95%"))
        self.histogram = ipywidgets.Image(format="png")
        self.heatmap = ipywidgets.Image(format="png")
        self.values = ipywidgets.HTML()
        self._step: Step | None = None
        self._values: list[tuple[str, np.ndarray | str]] = []
        self.picker.observe(self._on_pick, names="value")
        super().__init__(**kwargs)
        self.add_class("jp-OnnxWorkbench-inspector")
        self.children = [self.header]

    def show_message(self, text: str) -> None:
        """Shows only ``text``: no node to inspect."""
        self._step = None
        self.header.value = f"<i>{html.escape(text)}</i>"
        self.children = [self.header]

    def show(self, step: Step, where: str) -> None:
        """Shows the values of ``step``; ``where`` says where it stands in the run."""
        self._step = None  # no drawing while the picker's options change
        self.header.value = (f"<b>{html.escape(step.op_type)}</b> <code>{html.escape(step.node)}</code>"
                             f"<br><small>{html.escape(where)}</small>")
        self.table.value = _table(stats_frame(step).rename_axis(None).T, na_rep="–")
        outputs, inputs = _pickable(step.outputs), _pickable(step.inputs)
        self._values = [*outputs, *inputs]
        roles = ["output"] * len(outputs) + ["input"] * len(inputs)
        labels = [f"{role} {name}" for role, (name, _) in zip(roles, self._values)]
        self.picker.options = [(label, i) for i, label in enumerate(labels)]
        self.picker.value = 0 if self._values else None
        self._step = step
        self._on_pick({"new": self.picker.value})
        self.children = [self.header, self.table, self.picker, self.histogram, self.heatmap, self.values]

    def _on_pick(self, change: dict) -> None:
        """Draws the value picked."""
        if self._step is None or change["new"] is None:
            return
        name, array = self._values[change["new"]]
        if isinstance(array, str):  # an empty optional or sequence: nothing to draw
            self.histogram.value = self.heatmap.value = b""
            self.histogram.layout.display = self.heatmap.layout.display = "none"
            self.values.value = f"<code>{html.escape(name)}</code>: <i>{html.escape(array)}</i>"
            return
        self.histogram.layout.display = None
        self.histogram.value = histogram_png(array)
        heat = heatmap_png(array)
        self.heatmap.value = heat or b""
        self.heatmap.layout.display = None if heat else "none"
        caption, frame = value_slice(name, array)
        self.values.value = f"<code>{html.escape(caption)}</code>" + _table(frame)


def _pickable(values: dict[str, Value]) -> list[tuple[str, np.ndarray | str]]:
    """Each tensor of ``values`` to pick, labelled by where it sits (``s[1]`` in a sequence); an
    empty optional or sequence as its name and what it is, in words."""
    found: list[tuple[str, np.ndarray | str]] = []
    for name, value in values.items():
        parts = list(tensors(value, name))
        found.extend(parts if parts else [(name, describe(value))])
    return found


def _table(frame: pd.DataFrame, **options: object) -> str:
    """A DataFrame as an HTML table (model strings escaped), styled by the extension's CSS."""
    table = frame.to_html(float_format="{:.4g}".format, border=0, escape=True, **options)
    return f'<div class="jp-OnnxWorkbench-table">{table}</div>'


def stats_frame(step: Step) -> pd.DataFrame:
    """``step.frame()`` with the dtype in the shape column and NaN and Inf counted apart
    (in place of ``nonfinite``): one row per output, then per input."""
    frame = step.frame()
    values = {**step.inputs, **step.outputs}
    floats = {name: [numeric(t) for _, t in tensors(value)] for name, value in values.items()}
    floats = {name: [t for t in found if np.issubdtype(t.dtype, np.floating)] for name, found in floats.items()}
    frame["NaN"] = [sum(int(np.isnan(t).sum()) for t in floats[n]) for n in frame.index]
    frame["Inf"] = [sum(int(np.isinf(t).sum()) for t in floats[n]) for n in frame.index]
    # a sequence's, map's or optional's shape column already says what it is, in words
    frame["shape"] = [shape if isinstance(shape, str) else f"{dtype} {'×'.join(map(str, shape)) or 'scalar'}"
                      for dtype, shape in zip(frame["dtype"], frame["shape"])]
    frame = frame.drop(columns=["dtype", "nonfinite"], errors="ignore")
    return frame.sort_values("role", key=lambda role: role != "output", kind="stable")


def _numeric(array: np.ndarray) -> np.ndarray | None:
    """``array`` as float64, or None when its values are not numbers (strings, objects)."""
    array = numeric(array)  # bfloat16, float8, int4: as the numpy type they widen to
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_) or np.iscomplexobj(array):
        return None
    return np.asarray(array, dtype=np.float64)


def _png(fig: Figure) -> bytes:
    """The figure as PNG bytes."""
    buffer = BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    return buffer.getvalue()


def histogram_png(array: np.ndarray) -> bytes:
    """A histogram of the finite values (a strided sample of at most ``HISTOGRAM_VALUES``)."""
    fig = Figure(figsize=(4.2, 2.0))
    ax = fig.add_subplot()
    flat = array.reshape(-1)
    flat = flat[:: max(1, flat.size // HISTOGRAM_VALUES)]
    values = _numeric(flat)
    finite = values[np.isfinite(values)] if values is not None else np.empty(0)
    if finite.size:
        ax.hist(finite, bins=HISTOGRAM_BINS, color="#1976d2")
        sampled = " (sampled)" if flat.size < array.size else ""
        ax.set_title(f"histogram of {finite.size:,} finite values{sampled}", fontsize=9)
    else:
        ax.text(0.5, 0.5, "no finite numbers", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    ax.tick_params(labelsize=8)
    return _png(fig)


def _planes(array: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """The 2-D planes to draw as heatmaps, with their index: the last two axes of the first
    entry of the leading ones, or the first channels of an image-like ``N×C×H×W`` tensor."""
    if array.ndim < 2:
        return []
    if array.ndim == 4 and min(array.shape[2:]) > 1:
        return [(f"[0, {c}]", array[0, c]) for c in range(min(array.shape[1], HEATMAP_CHANNELS))]
    lead = (0,) * (array.ndim - 2)
    return [("[" + ", ".join(map(str, lead)) + "]" if lead else "", array[lead])]


def heatmap_png(array: np.ndarray) -> bytes | None:
    """Heatmaps of a 2-D (or higher) tensor's planes; None for scalars, vectors and non-numbers."""
    numeric = [(label, _numeric(plane)) for label, plane in _planes(array)]
    planes = [(label, plane) for label, plane in numeric if plane is not None and plane.size]
    if not planes:
        return None
    columns = min(len(planes), 4)
    rows = -(-len(planes) // columns)
    fig = Figure(figsize=(1.05 * columns + 0.6 if columns > 1 else 3.6, 1.1 * rows if columns > 1 else 2.6))
    axes = fig.subplots(rows, columns, squeeze=False)
    finite = np.concatenate([plane[np.isfinite(plane)].ravel() for _, plane in planes])
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    image = None
    for ax, (label, plane) in zip(axes.flat, planes):
        stride = [max(1, n // HEATMAP_PIXELS) for n in plane.shape]
        image = ax.imshow(plane[:: stride[0], :: stride[1]], cmap="viridis", vmin=low, vmax=high,
                          aspect="auto", interpolation="nearest")
        ax.set_title(label, fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes.flat[len(planes):]:
        ax.set_axis_off()
    if image is not None:  # one per plane drawn, and there is at least one
        fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8).ax.tick_params(labelsize=7)
    return _png(fig)


def value_slice(name: str, array: np.ndarray) -> tuple[str, pd.DataFrame]:
    """A table of at most ``SLICE_ROWS`` × ``SLICE_COLUMNS`` values, and its caption
    (``x[0, 0, :16, :10]``): the first entries of the leading axes, the start of the last two."""
    if array.ndim == 0:
        return f"{name} (scalar)", pd.DataFrame({"value": [array.item()]})
    if array.ndim == 1:
        part = array[:SLICE_ROWS]
        caption = f"{name}[:{part.size}] of {array.size}"
        return caption, pd.DataFrame({"value": part})
    lead = (0,) * (array.ndim - 2)
    rows, columns = min(array.shape[-2], SLICE_ROWS), min(array.shape[-1], SLICE_COLUMNS)
    part = array[lead][:rows, :columns]
    index = ", ".join([*map(str, lead), f":{rows}", f":{columns}"])
    shape = "×".join(map(str, array.shape))
    return f"{name}[{index}] of {shape}", pd.DataFrame(part)
