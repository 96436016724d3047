"""Time ``wb.diff`` on two 10k-node models, and the view of their union against one model's view.

Models: ``wb.samples.proto("tiny_bert", layers=294)`` (10,007 nodes, hidden size 8, so the files
stay small), saved, and two versions of it:

- **renamed**: every node and every value between nodes renamed (as another exporter names
  them: no name left in common) and one weight moved, so that only structure can match them;
- **optimized**: what onnxruntime saves at ``ORT_ENABLE_EXTENDED`` (7,949 nodes: fusions —
  BiasGelu, MatMulScaleFusion, LayerNormalization — and constant folding).

Measured per pair, in this one process, median of ``RUNS`` alternating runs after a warm-up:

- **diff**: ``wb.diff(a_path, b_path)`` with its ``nodes`` and ``weights`` tables (opening both
  files included), against the baseline **open both**: ``wb.open`` of each file and its
  ``nodes`` table, what a user pays to look at the two models side by side at all;
- **union view**: the diff's view index and first payload (``d.view_index.payload(budget=
  LAZY_PAYLOAD_BYTES)``, the diff already made), against the baseline **one view**: b's own
  ``build_view(wb.open(b)).payload(...)``, the model opened afresh;
- **first paint** (with ``--browser``): in JupyterLab's file viewer in headless Chromium, from the
  arrival of the view's payload to the first painted drawing, for the diff of the two files
  (the route's ``diff=``, opened by the "Diff ONNX models" command) against b alone (opened from
  its address), after one warm-up of each (the first diff tab loads code the others reuse).
  Needs Chromium at ``/usr/bin/chromium``.

Goals: a diff of two 10k-node models within seconds (≤ 3× opening both); the union's view as
fast as one model's (≤ 1.5×).

    python benchmarks/diff.py
    python benchmarks/diff.py --browser
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

import workbench as wb
from workbench.graph import LAZY_PAYLOAD_BYTES, build_view

sys.path.insert(0, str(Path(__file__).parent))
from timing import alternating_medians  # noqa: E402

RUNS = 3
LAYERS = 294  # 10,007 nodes


def make_pairs(folder: Path) -> dict[str, tuple[Path, Path]]:
    """The authored model and its two versions, saved in ``folder``."""
    authored = folder / "authored.onnx"
    onnx.save(wb.samples.proto("tiny_bert", layers=LAYERS), authored)
    renamed = onnx.load(authored)
    graph = renamed.graph
    kept = {v.name for v in (*graph.input, *graph.output)} | {t.name for t in graph.initializer}
    names = {o: f"v{i}" for i, o in enumerate(o for n in graph.node for o in n.output if o and o not in kept)}
    for i, node in enumerate(graph.node):
        node.name = f"n{i}"
        node.input[:] = [names.get(v, v) for v in node.input]
        node.output[:] = [names.get(v, v) for v in node.output]
    del graph.value_info[:]
    weight = max(graph.initializer, key=lambda t: int(np.prod(t.dims)))
    moved = numpy_helper.to_array(weight).copy()
    moved.flat[0] += 0.5
    weight.CopyFrom(numpy_helper.from_array(moved, weight.name))
    onnx.save(renamed, folder / "renamed.onnx")
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(folder / "optimized.onnx")
    ort.InferenceSession(str(authored), options, providers=["CPUExecutionProvider"])
    return {"renamed": (authored, folder / "renamed.onnx"), "optimized": (authored, folder / "optimized.onnx")}


def python_figures(a: Path, b: Path) -> dict[str, Any]:
    """Diff against opening both; the union's view against b's own view."""
    def diff() -> wb.Diff:
        d = wb.diff(a, b)
        d.nodes, d.weights  # noqa: B018 - the tables are what is timed
        return d

    def open_both() -> None:
        for path in (a, b):
            wb.open(path).nodes  # noqa: B018

    d = diff()
    diff_s, open_s = alternating_medians(diff, open_both, RUNS)

    def union_view() -> None:
        d.__dict__.pop("view_index", None)  # built afresh each time
        d.view_index.payload(budget=LAZY_PAYLOAD_BYTES)

    def one_view() -> None:
        build_view(wb.open(b)).payload(budget=LAZY_PAYLOAD_BYTES)

    union_s, one_s = alternating_medians(union_view, one_view, RUNS)
    return {"nodes": (len(d.a.records), len(d.b.records)), "counts": d.counts, "diff": diff_s, "open": open_s,
            "union": union_s, "one": one_s}


def first_paint_once(browser: Any, lab: Any, b: str, a: str | None = None) -> float | str:
    """Ms from the view payload's arrival to the first painted drawing in JupyterLab: of file ``b``
    opened from its address, or, given ``a``, of the diff of ``a`` and ``b`` opened by the
    "Diff ONNX models" command (the file browser's context menu runs the same); or why not."""
    from graph_view import _PAYLOAD_ARRIVED, _VIEWER_RECORDER, OURS_LIMIT_S, _new_context
    from playwright.sync_api import Error as PlaywrightError

    context = _new_context(browser, _VIEWER_RECORDER)
    page = context.new_page()
    limit = OURS_LIMIT_S * 1000
    workspace = f"lab/workspaces/bench-{secrets.token_hex(4)}"
    try:
        if a is None:
            page.goto(lab.url(f"{workspace}/tree/{b}"))
        else:
            page.goto(lab.url(workspace))
            page.wait_for_function("() => window.jupyterapp?.commands.hasCommand('onnx-workbench:diff')", timeout=limit)
            # once JupyterLab has restored its layout, as when a user right-clicks two files
            page.evaluate("async ([a, b]) => { await window.jupyterapp.restored; "
                          "await window.jupyterapp.commands.execute('onnx-workbench:diff', {a, b}); }", [a, b])
        painted = page.wait_for_function("() => window.__benchPainted.find(p => p.done)?.t",
                                         timeout=limit).json_value()
        arrived = page.evaluate(_PAYLOAD_ARRIVED)
        return "failed (no payload request seen)" if arrived is None else float(painted - arrived)
    except PlaywrightError as error:
        return f"failed ({str(error).splitlines()[0][:80]})"
    finally:
        context.close()


def browser_figures(folder: Path, a: Path, b: Path) -> tuple[float | str, float | str]:
    """First paint of the diff in JupyterLab, and of b alone (medians, ms from the payload's arrival)."""
    from graph_view import CHROMIUM, CHROMIUM_ARGS, lab_server
    from playwright.sync_api import sync_playwright

    with lab_server(folder, "--LabApp.expose_app_in_browser=True") as lab, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            first_paint_once(browser, lab, b.name, a.name), first_paint_once(browser, lab, b.name)  # warm-up
            diff_runs = [first_paint_once(browser, lab, b.name, a.name) for _ in range(RUNS)]
            one_runs = [first_paint_once(browser, lab, b.name) for _ in range(RUNS)]
        finally:
            browser.close()

    def median(runs: list[float | str]) -> float | str:
        failed = [r for r in runs if isinstance(r, str)]
        return failed[0] if failed else statistics.median(float(r) for r in runs)

    return median(diff_runs), median(one_runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--browser", action="store_true", help="also time the first paint in JupyterLab")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        pairs = make_pairs(folder)
        print(f"{'pair':<10} {'nodes a/b':>13} {'diff s':>7} {'open both s':>12} {'ratio':>6} "
              f"{'union view s':>13} {'one view s':>11} {'ratio':>6}  statuses")
        for label, (a, b) in pairs.items():
            f = python_figures(a, b)
            counts = ", ".join(f"{k} {v:,}" for k, v in f["counts"].items() if v)
            print(f"{label:<10} {f['nodes'][0]:>6,}/{f['nodes'][1]:<6,} {f['diff']:>7.2f} {f['open']:>12.2f} "
                  f"{f['diff'] / f['open']:>5.1f}× {f['union']:>13.2f} {f['one']:>11.2f} "
                  f"{f['union'] / f['one']:>5.1f}×  {counts}")
            if args.browser:
                diff_ms, one_ms = browser_figures(folder, a, b)
                ratio = f"{diff_ms / one_ms:.1f}×" if not isinstance(diff_ms, str) and not isinstance(one_ms, str) \
                    else "—"
                print(f"{'':<10} first paint: diff {diff_ms if isinstance(diff_ms, str) else f'{diff_ms:.0f} ms'}, "
                      f"b alone {one_ms if isinstance(one_ms, str) else f'{one_ms:.0f} ms'} ({ratio})")


if __name__ == "__main__":
    main()
