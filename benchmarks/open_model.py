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

    python benchmarks/open_model.py
"""

from __future__ import annotations

import statistics
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
        lines.append(f"  {name:<34} median {median * 1000:8.1f} ms  min {min(times[name]) * 1000:8.1f} ms  read {reads[name]:8.1f} MB")
    lines.append(f"  ratio wb / onnx by hand (lazy): {ours / base:.2f}x   (goal: <= 1.5x)")
    return lines


def main() -> None:
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
    print("\n".join(report))


if __name__ == "__main__":
    main()
