"""Size and speed of the standalone view: ``Model.to_html`` files of 500 to 10,000 nodes.

Models: ``wb.samples.proto("tiny_bert", layers=N)`` at about 500, 2,000 and 10,000 nodes (the
10k one: 10,211 nodes, the transformer built in code), and with ``--exports llama-10k`` the
10,249-node Llama torch export (``transformer_exports.py``: exported once, then cached; 6 to 19
minutes the first time).

Measured per model, in this one process:

- **size**: the file's bytes, of which the renderer (module and styles, the same in every
  file) and the compressed view (every group and every node's details); the view's JSON before
  compression, and the ratio. Goal: under 15 MB at 10k nodes.
- **write**: ``wb.open(proto).to_html(path)``, against the baseline **notebook view**:
  ``wb.open(proto).view_index.payload(budget=LAZY_PAYLOAD_BYTES)``, what showing the model in
  a notebook costs; median of ``--runs`` alternating runs after a warm-up.
- **open** (with ``--browser``): the file opened from ``file://`` in headless Chromium with the
  network blocked, from navigation to the viewer's first drawing (``data-state="ready"``),
  median of ``--runs`` loads, against the viewer's own first paint (``data-first-paint-ms``,
  construction to drawing): the difference is what the page adds (parsing the module,
  inflating and parsing the view). Needs Chromium at ``/usr/bin/chromium``.

    python benchmarks/standalone.py
    python benchmarks/standalone.py --browser --exports llama-10k
"""

from __future__ import annotations

import argparse
import base64
import gzip
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import onnx  # noqa: E402
from timing import alternating_medians  # noqa: E402

import workbench as wb  # noqa: E402
from workbench.graph import LAZY_PAYLOAD_BYTES, STANDALONE_MIME_TYPE, bundle_file  # noqa: E402

#: Layers of the transformer sample for each size (as in graph_view.py).
SIZES = {"500": 14, "2k": 58, "10k": 300}
SIZE_GOAL_MB = 15.0
EXPORTS = ("bert-base", "llama-10k")


def _sizes(page: str) -> tuple[int, int, int]:
    """The page's bytes, the compressed view's (base64) and the view's JSON before compression."""
    encoded = re.search(rf'<script type="{re.escape(STANDALONE_MIME_TYPE)}">([^<]+)</script>', page)
    assert encoded is not None
    raw = len(gzip.decompress(base64.b64decode(encoded.group(1))))
    return len(page.encode("utf-8")), len(encoded.group(1)), raw


def _browser_open(path: Path, runs: int) -> tuple[float, float]:
    """Median seconds from navigation to ready, and the viewer's own first paint, over ``runs`` loads."""
    from playwright.sync_api import sync_playwright

    totals, paints = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        for _ in range(runs + 1):  # the first load warms the disk cache
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort())
            start = time.perf_counter()
            page.goto(path.as_uri())
            page.wait_for_selector("[data-state=ready]", timeout=120_000)
            totals.append(time.perf_counter() - start)
            paints.append(float(page.get_attribute("[data-state=ready]", "data-first-paint-ms") or "nan") / 1e3)
            page.close()
        browser.close()
    return statistics.median(totals[1:]), statistics.median(paints[1:])


def _measure(label: str, source: Path | onnx.ModelProto, path: Path, runs: int, browser: bool) -> None:
    """Prints the figures of one model: ``source`` is what ``wb.open`` reads (opened afresh each run)."""
    nodes = len(wb.open(source).nodes)
    write, view = alternating_medians(lambda: wb.open(source).to_html(path),
                                      lambda: wb.open(source).view_index.payload(budget=LAZY_PAYLOAD_BYTES), runs)
    size, packed, raw = _sizes(path.read_text(encoding="utf-8"))
    verdict = "within" if size / 1e6 <= SIZE_GOAL_MB else "OVER"
    print(f"{label:>9} ({nodes:,} nodes): file {size / 1e6:.2f} MB ({verdict} the {SIZE_GOAL_MB:g} MB goal), "
          f"view {packed / 1e6:.2f} MB compressed from {raw / 1e6:.2f} MB JSON ({raw / packed:.1f}x); "
          f"write {write:.2f} s vs notebook view {view:.2f} s ({write / view:.1f}x)")
    if browser:
        ready, paint = _browser_open(path, runs)
        print(f"           open from file://: ready in {ready:.2f} s, of which the viewer's first paint "
              f"{paint:.2f} s ({ready / paint:.1f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--browser", action="store_true", help="also time opening the files in Chromium")
    parser.add_argument("--exports", nargs="*", choices=EXPORTS, default=[],
                        help="torch exports measured too (transformer_exports.py)")
    args = parser.parse_args()
    renderer = sum(bundle_file(name).stat().st_size for name in ("workbench.js", "workbench.css"))
    print(f"renderer (module and styles, in every file): {renderer / 1e6:.2f} MB")
    with tempfile.TemporaryDirectory() as folder:
        for label, layers in SIZES.items():
            _measure(label, wb.samples.proto("tiny_bert", layers=layers), Path(folder) / f"model-{label}.html",
                     args.runs, args.browser)
        for name in args.exports:
            from transformer_exports import load

            exported, _ = load(name)
            _measure(name, exported, Path(folder) / f"{name}.html", args.runs, args.browser)


if __name__ == "__main__":
    main()
