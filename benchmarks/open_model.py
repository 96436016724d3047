"""Time ``wb.open(path)`` + ``m.nodes`` against the same work done by hand with onnx.

Baseline, per model: ``onnx.load`` + ``onnx.checker.check_model`` + ``onnx.shape_inference.infer_shapes``
(what a user writes to get a checked graph with shapes). For the external-data model the
baseline is shown twice: with ``onnx.load``'s default (reads every weight) and with
``load_external_data=False`` (the fair, lazy variant, used for the ratio).

Models: onnx's own ``light_densenet121`` (1,746 nodes) and a BERT-base-sized encoder
(12 layers, hidden 768, 110M parameters, 438 MB of weights in an external file) built
with ``wb.samples``. Runs alternate, 7 times each; medians are printed. ``read MB`` is
how many bytes the process read (``rchar`` in /proc/self/io) during one call: it shows
that ``m.nodes`` never reads the weights.

Two more figures:

- **import time**: ``python -X importtime -c "import workbench"`` against the same for
  ``import onnxruntime``, each in a fresh process, 7 times alternating; the median of the
  top-level module's cumulative time. Goal: workbench <= 2x onnxruntime.
- **the view payload** (``build_view(m).payload()``, what the graph view is sent first) on
  Hugging Face exports from ``benchmarks/transformer_exports.py`` (dynamo, weights external):
  BERT-base (about 440 nodes, 440 MB of weights) against a 160-layer Llama of about 10,250
  nodes; ``wb.open`` first, then the payload twice (the second call shows the cache). Goal:
  BERT-base's first payload <= the 10k-node Llama's. Skipped with ``--no-exports`` (they need
  the test extra's transformers, and the first export of the Llama takes 6 to 19 minutes).

    python benchmarks/open_model.py
    python benchmarks/open_model.py --no-exports
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import onnx

import workbench as wb

REPEATS = 7


def _rchar() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    return 0


def baseline(path: Path, load_external_data: bool) -> int:
    model = onnx.load(path, load_external_data=load_external_data)
    onnx.checker.check_model(model if load_external_data or not _has_external(model) else str(path))
    inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
    return len(inferred.graph.node)


def _has_external(model: onnx.ModelProto) -> bool:
    return any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer)


def workbench_open(path: Path) -> int:
    return len(wb.open(path).nodes)


def measure(fn: Callable[[], int]) -> tuple[float, float]:
    before = _rchar()
    start = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - start
    return elapsed, (_rchar() - before) / 1e6


def run(label: str, path: Path, external: bool) -> list[str]:
    contenders: dict[str, Callable[[], int]] = {"wb.open + m.nodes": lambda: workbench_open(path)}
    contenders["onnx by hand (lazy weights)"] = lambda: baseline(path, load_external_data=False)
    if external:
        contenders["onnx by hand (onnx.load default)"] = lambda: baseline(path, load_external_data=True)
    times: dict[str, list[float]] = {k: [] for k in contenders}
    reads: dict[str, float] = {}
    for fn in contenders.values():  # warm-up: imports, page cache
        fn()
    for _ in range(REPEATS):
        for name, fn in contenders.items():
            elapsed, read = measure(fn)
            times[name].append(elapsed)
            reads[name] = read
    ours = statistics.median(times["wb.open + m.nodes"])
    base = statistics.median(times["onnx by hand (lazy weights)"])
    lines = [f"\n{label}"]
    for name in contenders:
        median = statistics.median(times[name])
        lines.append(f"  {name:<34} median {median * 1000:8.1f} ms  min {min(times[name]) * 1000:8.1f} ms  "
                     f"read {reads[name]:8.1f} MB")
    lines.append(f"  ratio wb / onnx by hand (lazy): {ours / base:.2f}x   (goal: <= 1.5x)")
    return lines


def import_time(module: str) -> float:
    """Seconds to import ``module`` in a fresh interpreter, as ``-X importtime`` reports it."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"],
                          capture_output=True, text=True, check=True)
    last = [line for line in done.stderr.splitlines() if line.rstrip().endswith(f"| {module}")][-1]
    return int(last.split("|")[1]) / 1e6


def import_times() -> list[str]:
    times: dict[str, list[float]] = {"workbench": [], "onnxruntime": []}
    for _ in range(REPEATS):
        for module in times:
            times[module].append(import_time(module))
    ours, ort = (statistics.median(times[m]) for m in times)
    return ["\nimport time (fresh process, -X importtime)",
            f"  import workbench    median {ours * 1000:8.1f} ms",
            f"  import onnxruntime  median {ort * 1000:8.1f} ms",
            f"  ratio: {ours / ort:.2f}x   (goal: <= 2x)"]


def payloads() -> list[str]:
    from workbench.graph import build_view

    sys.path.insert(0, str(Path(__file__).parent))
    import transformer_exports

    lines, firsts = ["\nview payload, Hugging Face exports (weights external)"], {}
    for name in ("bert-base", "llama-10k"):
        path, _ = transformer_exports.load(name)
        runs = []
        for _ in range(3):
            model = wb.open(path)
            start = time.perf_counter()
            view = build_view(model)
            payload = view.payload()
            first = time.perf_counter() - start
            start = time.perf_counter()
            view.payload()
            runs.append((first, time.perf_counter() - start))
        firsts[name] = statistics.median(run[0] for run in runs)
        again = statistics.median(run[1] for run in runs)
        lines.append(f"  {name:<10} {len(model.nodes):6,} nodes  payload {firsts[name] * 1000:7.1f} ms, again "
                     f"{again * 1000:6.1f} ms, details sent: {payload['complete']}")
    ratio = firsts["bert-base"] / firsts["llama-10k"]
    lines.append(f"  ratio bert-base / llama-10k: {ratio:.2f}x   (goal: <= 1x)")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-exports", action="store_true", help="leave out the payload on Hugging Face exports")
    args = parser.parse_args()
    densenet = Path(onnx.__file__).parent / "backend/test/data/light/light_densenet121.onnx"
    report = run(f"densenet121 ({len(onnx.load(densenet).graph.node):,} nodes)", densenet, external=False)
    with tempfile.TemporaryDirectory() as folder:
        bert = Path(folder) / "bert_base.onnx"
        proto = wb.samples.proto("tiny_bert", layers=12, hidden=768, heads=12, ffn=3072, vocab=30522, max_positions=512)
        onnx.save(proto, bert, save_as_external_data=True, location="bert_base.weights", size_threshold=1024)
        size = (Path(folder) / "bert_base.weights").stat().st_size / 1e6
        del proto
        report += run(f"BERT-base-sized encoder ({len(onnx.load(bert, load_external_data=False).graph.node)} nodes, "
                      f"{size:.0f} MB external weights)", bert, external=True)
    report += import_times()
    if not args.no_exports:
        report += payloads()
    print("\n".join(report))


if __name__ == "__main__":
    main()
