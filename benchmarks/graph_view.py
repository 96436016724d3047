"""Time the graph view against Netron: Python build, first paint, expand, whole-model search.

Models:

- ``wb.samples.proto("tiny_bert", layers=N)`` with tiny sizes (hidden 8), so the files stay
  small: 34 nodes a layer plus 11, i.e. 14, 58, 294 and 1,176 layers for 487, 1,983, 10,007
  and 39,995 nodes (``--sizes``);
- the classic models onnx ships without module scopes (``--models densenet121 inception_v2
  resnet50``: 1,746, 916 and 415 nodes), drawn with the hierarchy the view derives for them;
- real Hugging Face exports built here from their configs with random weights
  (``--models bert-base llama-10k``, see ``transformer_exports.py``: exported once, then cached;
  the 10,248-node Llama takes 6 to 19 minutes to export the first time).

Each model is saved (or copied, with its external data) into a temporary folder.

Measured per model:

- **Python**: ``wb.open(path)`` + ``wb.graph.build_view(model)`` + ``index.payload(budget=LAZY_PAYLOAD_BYTES)``
  (median of 3), and the size of the first-paint payload (bytes of ``json.dumps``).
- **Ours**, in JupyterLab's ``.onnx`` file viewer (JupyterLab on loopback, headless
  Chromium). *First paint*: from the end of the ``onnx-workbench/view`` response (Resource
  Timing) to the viewer's host reporting ``data-state="ready"`` with items drawn, and the
  next frame painted; JSON parsing is included, JupyterLab's start-up and the server-side
  build (the Python figure) are not. *Expand*: from a click on the collapsed group with the
  most nodes at first paint (``layer × N``) to the first painted layout that draws it open
  with items inside (fetching the group from the server route, if needed, is included).
  *Search*: the server route's answer to ``&search=<the last node's name>`` over the whole
  model, loaded in the page or not (first request, which builds the search index, and the
  median of the next 3), measured from the client as the viewer asks it.
- **Baseline: Netron** (pip ``netron`` 9.3.3, not a project dependency:
  ``pip install netron==9.3.3``) serving the same file on loopback, in the same Chromium:
  from navigation start to Netron's graph drawn (its body class turns ``default`` with SVG
  nodes in ``#target``, and the next frame is painted). This includes loading Netron's page
  and parsing the model, so the table gives two ratios: against our first paint alone and
  against our Python build + first paint. Netron gets ``NETRON_LIMIT_S``; a timeout or a
  crashed tab is reported as DNF and not retried.

Browser timings are the median of 3 runs, each in a fresh page. Requests leaving loopback
(Netron's analytics) are aborted. Needs Chromium at ``/usr/bin/chromium`` and, for the
browser part, Netron installed in the same environment.

    python benchmarks/graph_view.py                            # the four sizes and the classic models
    python benchmarks/graph_view.py --sizes 500 2k --models    # some sizes, no other model
    python benchmarks/graph_view.py --sizes --models bert-base llama-10k resnet50
    python benchmarks/graph_view.py --no-browser               # the Python part only
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import onnx

import workbench as wb
import workbench.graph

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext

#: Size name -> tiny_bert layers (34 nodes a layer, 11 outside the layers).
SIZES = {"500": 14, "2k": 58, "10k": 294, "40k": 1176}
#: onnx's light models (no scopes: the view derives their hierarchy) and the cached HF exports.
LIGHT = ("densenet121", "inception_v2", "resnet50")
EXPORTS = ("bert-base", "llama-10k")
TINY = dict(hidden=8, heads=2, ffn=16, vocab=100, max_positions=16)
RUNS = 3
NETRON_LIMIT_S = 120
OURS_LIMIT_S = 120
LAB_START_LIMIT_S = 90

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 900}
#: JupyterLab user settings: no news toast, no autosave.
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false"},
}

GOALS = ("Goals: at 40k nodes, first view < 1 s after the JSON arrives, expand < 200 ms, "
         "first-paint JSON < 2 MB; Python build + first paint >= 3x faster than Netron for every "
         "model over 400 nodes; whole-model search < 300 ms at 10k nodes and more.")
GOAL_PAINT_MS, GOAL_EXPAND_MS, GOAL_PAYLOAD_BYTES = 1000, 200, 2_000_000
GOAL_NETRON_RATIO, GOAL_SEARCH_MS = 3.0, 300

# Installed in Netron's page before its scripts run: once Netron shows its graph (body class
# "default", SVG nodes in #target), waits for the next frame to be painted (rAF, then a task)
# and stores performance.now() (ms since navigation start) in window.__benchDrawn. The poll
# is cheap and runs only while the page's thread is idle.
_NETRON_RECORDER = """
(() => {
  const poll = setInterval(() => {
    if (document.body && document.body.classList.contains('default')
        && document.querySelector('#target .node')) {
      clearInterval(poll);
      requestAnimationFrame(() => setTimeout(() => { window.__benchDrawn = performance.now(); }));
    }
  }, 10);
})();
"""


@dataclass(frozen=True)
class Sample:
    """One benchmark model on disk: its name in the table (a size, or a model's name)."""

    name: str
    path: Path
    nodes: int


@dataclass
class Row:
    """One size's figures; browser figures are medians in ms, or a reason they are missing."""

    sample: Sample
    build_ms: float
    payload_bytes: int
    expand_group: str
    paint_ms: float | str = "-"
    expand_ms: float | str = "-"
    netron_ms: float | str = "-"
    search_first_ms: float | str = "-"
    search_ms: float | str = "-"


def make_samples(sizes: list[str], folder: Path) -> list[Sample]:
    """Builds and saves the tiny_bert models of the given sizes."""
    samples = []
    for size in sizes:
        proto = wb.samples.proto("tiny_bert", layers=SIZES[size], **TINY)
        path = folder / f"tiny_bert_{size}.onnx"
        onnx.save(proto, path)
        samples.append(Sample(size, path, len(proto.graph.node)))
    return samples


def model_samples(names: list[str], folder: Path) -> list[Sample]:
    """Copies onnx's light models and the HF exports (with their external data) into ``folder``."""
    samples = []
    for name in names:
        if name in LIGHT:
            source = Path(onnx.__file__).parent / f"backend/test/data/light/light_{name}.onnx"
            files = [source]
        else:
            sys.path.insert(0, str(Path(__file__).parent))
            from transformer_exports import load

            source, _ = load(name)
            files = [source, *source.parent.glob(f"{source.name}.data")]
        for file in files:
            shutil.copy(file, folder / file.name.replace(source.stem, name))
        model = onnx.load(folder / f"{name}.onnx", load_external_data=False)
        samples.append(Sample(name, folder / f"{name}.onnx", len(model.graph.node)))
    return samples


def group_to_expand(payload: dict) -> str:
    """The collapsed group with the most nodes among the boxes drawn at first paint."""
    expanded = set(payload["expanded"])
    shown = [payload["root"], *expanded]
    items = [item for gid in shown for item in payload["groups"][gid]["items"]]
    collapsed = [item for item in items if item["kind"] == "group" and item["group"] not in expanded]
    return max(collapsed, key=lambda item: item["nodes"])["group"]


def python_build(sample: Sample) -> Row:
    """Median ms of open + build_view + payload over ``RUNS`` runs, the payload's bytes and
    the group the browser part expands."""
    times, payload = [], {}
    for _ in range(RUNS):
        start = time.perf_counter()
        payload = wb.graph.build_view(wb.open(sample.path)).payload(budget=wb.graph.LAZY_PAYLOAD_BYTES)
        times.append((time.perf_counter() - start) * 1000)
    return Row(sample, statistics.median(times), len(json.dumps(payload)), group_to_expand(payload))


# ---- browser plumbing ------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _new_context(browser: Browser, recorder: str) -> BrowserContext:
    """A fresh context that reaches loopback only, with ``recorder`` run before page scripts."""
    context = browser.new_context(viewport=VIEWPORT)
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith("http://127.0.0.1")
                  else route.abort())
    context.add_init_script(recorder)
    return context


def _repeat(run: Callable[[], object]) -> list | str:
    """``RUNS`` results of ``run``, or the first failure (a string), which stops the runs."""
    results = []
    for _ in range(RUNS):
        result = run()
        if isinstance(result, str):
            return result
        results.append(result)
    return results


# ---- Netron -----------------------------------------------------------------------------------
@contextlib.contextmanager
def netron_server(path: Path) -> Iterator[str]:
    """Netron serving ``path`` on loopback; yields its URL."""
    import netron

    logging.getLogger("netron").setLevel(logging.WARNING)  # no "Serving ..." lines
    address = netron.start(str(path), address=("127.0.0.1", _free_port()), browse=False)
    try:
        yield f"http://{address[0]}:{address[1]}/"
    finally:
        netron.stop(address)


def netron_once(browser: Browser, url: str) -> float | str:
    """Ms from navigation start to Netron's graph drawn, or why it did not finish."""
    from playwright.sync_api import Error as PlaywrightError

    context = _new_context(browser, _NETRON_RECORDER)
    # Netron asks for cookie consent unless this cookie is set (it has no network here anyway).
    context.add_cookies([{"name": "consent", "value": str(int(time.time() * 1000)), "url": url}])
    page = context.new_page()
    try:
        page.goto(url)
        # Netron replaces window.eval, so only function expressions can be evaluated.
        return float(page.wait_for_function("() => window.__benchDrawn", timeout=NETRON_LIMIT_S * 1000,
                                            polling=100).json_value())
    except PlaywrightError as error:
        crashed = "crash" in str(error).lower() or page.is_closed()
        return "DNF (tab crashed)" if crashed else f"DNF (> {NETRON_LIMIT_S} s)"
    finally:
        context.close()


def netron_time(browser: Browser, sample: Sample) -> float | str:
    """The median of Netron's runs on one model."""
    with netron_server(sample.path) as url:
        runs = _repeat(lambda: netron_once(browser, url))
    return runs if isinstance(runs, str) else statistics.median(runs)


# ---- ours: JupyterLab's .onnx file viewer -------------------------------------------------------
# Installed in JupyterLab's page before its scripts run. Each time a viewer host's data-state
# turns "ready" (after each layout), it checks `window.__benchDone()` on the drawing at that
# moment and, once the next frame is painted (rAF, then a task), pushes {t, done} onto
# window.__benchPainted. Clicks are recorded in window.__benchClicks (event timestamps); all
# times are performance.now() ms.
_VIEWER_RECORDER = """
(() => {
  performance.setResourceTimingBufferSize(100000);
  window.__benchPainted = [];
  window.__benchClicks = [];
  window.__benchDone = () => document.querySelector('.jp-OnnxWorkbench-item') !== null;
  new MutationObserver(records => {
    if (records.some(r => r.target.getAttribute('data-state') === 'ready')) {
      const done = window.__benchDone();
      requestAnimationFrame(() => setTimeout(() => {
        window.__benchPainted.push({ t: performance.now(), done });
      }));
    }
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-state'] });
  document.addEventListener('click', event => window.__benchClicks.push(event.timeStamp), true);
})();
"""
# The end of the payload's response: the view route without &group= or &details=.
_PAYLOAD_ARRIVED = """() => {
  const entry = performance.getEntriesByType('resource').find(e => {
    const url = new URL(e.name);
    return url.pathname.endsWith('/onnx-workbench/view') && url.searchParams.has('path')
      && !url.searchParams.has('group') && !url.searchParams.has('details');
  });
  return entry ? entry.responseEnd : null;
}"""
# From then on, a drawing is done when `group` is drawn as an open frame with items inside.
_EXPECT_EXPANDED = """group => {
  window.__benchDone = () => [...document.querySelectorAll('.jp-OnnxWorkbench-frame')].some(
    frame => frame.getAttribute('data-group') === group
      && frame.querySelector('.jp-OnnxWorkbench-interior .jp-OnnxWorkbench-item') !== null);
}"""
# The first painted, done drawing after the last click, in ms after the click.
_EXPANDED_AFTER_CLICK = """() => {
  const click = window.__benchClicks.at(-1);
  const paint = window.__benchPainted.find(p => p.done && p.t > click);
  return paint === undefined ? null : paint.t - click;
}"""


@dataclass(frozen=True)
class Lab:
    """A running JupyterLab: where it listens and its token."""

    base_url: str
    token: str

    def url(self, path: str) -> str:
        """The address of ``path`` (relative to the server root URL) with the token attached."""
        return f"{self.base_url}/{path}?token={self.token}"


@contextlib.contextmanager
def lab_server(root: Path, *extra_args: str) -> Iterator[Lab]:
    """JupyterLab on loopback serving ``root``, with its settings and state in ``root/.lab``;
    ``extra_args`` go to its command line."""
    state = root / ".lab"
    for plugin, values in LAB_SETTINGS.items():
        settings = state / "settings" / f"{plugin}.jupyterlab-settings"
        settings.parent.mkdir(parents=True, exist_ok=True)
        settings.write_text(json.dumps(values), encoding="utf-8")
    lab = Lab(f"http://127.0.0.1:{_free_port()}", secrets.token_hex(24))
    cmd = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
        f"--port={lab.base_url.rsplit(':', 1)[1]}", f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={lab.token}", "--allow-root",
        f"--LabApp.workspaces_dir={state / 'workspaces'}", f"--LabApp.user_settings_dir={state / 'settings'}",
        f"--FileCheckpoints.root_dir={state / 'checkpoints'}", "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", *extra_args,
    ]  # fmt: skip
    with (state / "server.log").open("wb") as log:
        server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=root, start_new_session=True)
    try:
        _wait_until_up(server, lab.url("api/status"))
        yield lab
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(10)


def _wait_until_up(server: subprocess.Popen[bytes], status_url: str) -> None:
    deadline = time.monotonic() + LAB_START_LIMIT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with code {server.returncode}")
        with contextlib.suppress(urllib.error.URLError, OSError):
            with urllib.request.urlopen(status_url, timeout=2) as response:
                if response.status == 200:
                    return
        time.sleep(0.3)
    raise RuntimeError(f"JupyterLab did not answer within {LAB_START_LIMIT_S} s")


def ours_once(browser: Browser, lab: Lab, sample: Sample, group: str) -> tuple[float, float] | str:
    """Ms from the payload's arrival to the first painted view, and from a click on ``group``
    to its expanded drawing painted; or why the viewer did not get there."""
    from playwright.sync_api import Error as PlaywrightError

    context = _new_context(browser, _VIEWER_RECORDER)
    page = context.new_page()
    limit = OURS_LIMIT_S * 1000
    try:
        page.goto(lab.url(f"lab/workspaces/bench-{secrets.token_hex(4)}/tree/{sample.path.name}"))
        painted = page.wait_for_function("() => window.__benchPainted.find(p => p.done)?.t",
                                         timeout=limit).json_value()
        arrived = page.evaluate(_PAYLOAD_ARRIVED)
        if arrived is None:
            return "failed (no payload request seen)"
        page.evaluate(_EXPECT_EXPANDED, group)
        page.locator(f'[data-group="{group}"]').first.dispatch_event("click", timeout=limit)  # on screen or not
        expanded = page.wait_for_function(_EXPANDED_AFTER_CLICK, timeout=limit).json_value()
        return float(painted - arrived), float(expanded)
    except PlaywrightError as error:
        return f"failed ({str(error).splitlines()[0][:80]})"
    finally:
        context.close()


def search_time(lab: Lab, row: Row) -> None:
    """The server route's search over the whole model for its last node's name: the first answer
    (which builds the search index) and the median of the next ``RUNS``, in ms."""
    model = onnx.load(row.sample.path, load_external_data=False)
    query = model.graph.node[-1].name or model.graph.node[-1].op_type
    url = lab.url("onnx-workbench/view") + "&" + urllib.parse.urlencode({"path": row.sample.path.name,
                                                                         "search": query})
    times = []
    for _ in range(RUNS + 1):
        start = time.perf_counter()
        with urllib.request.urlopen(url, timeout=OURS_LIMIT_S) as response:
            answer = json.loads(response.read())
        times.append((time.perf_counter() - start) * 1000)
        if not answer["hits"]:
            raise RuntimeError(f"the search for {query!r} found nothing in {row.sample.name}")
    row.search_first_ms, row.search_ms = times[0], statistics.median(times[1:])


def ours_time(browser: Browser, lab: Lab, row: Row) -> None:
    """Fills in the medians of our first paint and expand (or why they are missing)."""
    runs = _repeat(lambda: ours_once(browser, lab, row.sample, row.expand_group))
    if isinstance(runs, str):
        row.paint_ms = row.expand_ms = runs
    else:
        row.paint_ms = statistics.median(paint for paint, _ in runs)
        row.expand_ms = statistics.median(expand for _, expand in runs)


# ---- report ---------------------------------------------------------------------------------------
def _ms(value: float | str) -> str:
    return f"{value:,.0f}" if isinstance(value, float) else value


def _ratio(netron: float | str, ours: float) -> str:
    return f"{netron / ours:.1f}x" if isinstance(netron, float) else "-"


def table(rows: list[Row]) -> str:
    """The figures as a Markdown table."""
    lines = ["| model | nodes | Python build (ms) | first-paint JSON (KB) | our first paint (ms) | our expand (ms) "
             "| search, first / next (ms) | Netron (ms) | Netron / our paint | Netron / (build + paint) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        paint = row.paint_ms if isinstance(row.paint_ms, float) else None
        name = f"tiny_bert {row.sample.name}" if row.sample.name in SIZES else row.sample.name
        lines.append(" | ".join([
            f"| {name}", f"{row.sample.nodes:,}", _ms(row.build_ms), f"{row.payload_bytes / 1000:,.0f}",
            _ms(row.paint_ms), _ms(row.expand_ms), f"{_ms(row.search_first_ms)} / {_ms(row.search_ms)}",
            _ms(row.netron_ms),
            _ratio(row.netron_ms, paint) if paint else "-",
            _ratio(row.netron_ms, row.build_ms + paint) if paint else "-",
        ]) + " |")  # fmt: skip
    return "\n".join(lines)


def verdicts(rows: list[Row]) -> list[str]:
    """Each goal, met or not, for the rows measured."""
    lines = []
    for row in rows:
        if row.sample.name == "40k":
            lines.append(f"40k first-paint JSON {row.payload_bytes:,} bytes: "
                         f"{'met' if row.payload_bytes < GOAL_PAYLOAD_BYTES else 'NOT met'} (< {GOAL_PAYLOAD_BYTES:,})")
            for name, value, goal in (("first paint", row.paint_ms, GOAL_PAINT_MS),
                                      ("expand", row.expand_ms, GOAL_EXPAND_MS)):
                if isinstance(value, float):
                    lines.append(f"40k {name} {value:,.0f} ms: {'met' if value < goal else 'NOT met'} (< {goal:,} ms)")
        if isinstance(row.netron_ms, float) and isinstance(row.paint_ms, float):
            paints = (("first paint", row.paint_ms), ("Python build + first paint", row.build_ms + row.paint_ms))
            for name, ours in paints:
                verdict = "faster" if ours < row.netron_ms else "NOT faster"
                lines.append(f"{row.sample.name}: {name} {ours:,.0f} ms vs Netron {row.netron_ms:,.0f} ms: {verdict}")
            ratio = row.netron_ms / (row.build_ms + row.paint_ms)
            if row.sample.nodes > 400:
                met = "met" if ratio >= GOAL_NETRON_RATIO else "NOT met"
                lines.append(f"{row.sample.name}: Netron / (build + paint) {ratio:.1f}x: {met} "
                             f"(>= {GOAL_NETRON_RATIO}x)")
        elif row.sample.nodes > 400 and isinstance(row.paint_ms, float) and str(row.netron_ms).startswith("DNF"):
            lines.append(f"{row.sample.name}: Netron {row.netron_ms}, ours {row.build_ms + row.paint_ms:,.0f} ms: met")
        if row.sample.nodes >= 10_000 and isinstance(row.search_first_ms, float):
            worst = max(row.search_first_ms, row.search_ms) if isinstance(row.search_ms, float) else row.search_first_ms
            met = "met" if worst < GOAL_SEARCH_MS else "NOT met"
            lines.append(f"{row.sample.name}: whole-model search {worst:,.0f} ms (first request): {met} "
                         f"(< {GOAL_SEARCH_MS} ms)")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="*", choices=list(SIZES), default=list(SIZES))
    parser.add_argument("--models", nargs="*", choices=[*LIGHT, *EXPORTS], default=list(LIGHT),
                        help="onnx's light models, and HF exports (exported once, then cached)")
    parser.add_argument("--no-browser", action="store_true", help="only the Python part")
    args = parser.parse_args()
    if not args.no_browser and importlib.util.find_spec("netron") is None:
        parser.exit(1, "The baseline needs Netron: pip install netron==9.3.3 (or run with --no-browser)\n")
    print(GOALS, flush=True)
    with tempfile.TemporaryDirectory() as folder:
        rows = []
        for sample in make_samples(args.sizes, Path(folder)) + model_samples(args.models, Path(folder)):
            rows.append(python_build(sample))
            print(f"{sample.name}: {sample.nodes:,} nodes, Python build {rows[-1].build_ms:,.0f} ms", flush=True)
        if not args.no_browser:
            from playwright.sync_api import sync_playwright

            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    with lab_server(Path(folder)) as lab:
                        for row in rows:
                            ours_time(browser, lab, row)
                            search_time(lab, row)
                            print(f"{row.sample.name}: ours paint {_ms(row.paint_ms)} ms, "
                                  f"expand {_ms(row.expand_ms)} ms, search {_ms(row.search_first_ms)} ms "
                                  f"then {_ms(row.search_ms)} ms", flush=True)
                    for row in rows:
                        row.netron_ms = netron_time(browser, row.sample)
                        print(f"{row.sample.name}: Netron {_ms(row.netron_ms)} ms", flush=True)
                finally:
                    browser.close()
        print()
        print(table(rows))
        print()
        print(GOALS)
        print("\n".join(verdicts(rows)))


if __name__ == "__main__":
    main()
