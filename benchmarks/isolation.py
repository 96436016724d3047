"""What running in a worker process costs: ``wb.debug(isolate=True)`` against the same debugger
in this process (the baseline), side by side in one script.

For each sample model (``tiny_cnn``, ``tiny_bert``), with ``wb.random_inputs``:

- **capture**: ``wb.debug(m, inputs, isolate=...)``, which runs the model and keeps every value
  (isolated, the first call also starts the shared worker: an interpreter that imports
  workbench and onnxruntime);
- **run_node**: ``dbg.run_node(node)`` for every node in order (its own one-node session,
  made on first use and kept; isolated, kept in the worker), median and total;
- **run_node again**: the same nodes a second time (sessions reused).

Printed: milliseconds per step, and isolated / in-process. No goal is set; the figures say
what ``isolate=True`` costs.

    python benchmarks/isolation.py
"""

from __future__ import annotations

import statistics
import time
from typing import Callable

import workbench as wb
from workbench.runtime._isolate import shared_worker


def _timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def measure(name: str, isolate: bool) -> dict[str, float]:
    """Seconds for each step on sample ``name``, in this process or isolated."""
    m = wb.samples.open(name)
    inputs = wb.random_inputs(m)
    dbg = None

    def capture() -> None:
        nonlocal dbg
        dbg = wb.debug(m, inputs, isolate=isolate)

    row = {"capture": _timed(capture)}
    for label in ("run_node", "run_node again"):
        times = [_timed(lambda node=node: dbg.run_node(node)) for node in dbg.steps]
        row[label] = statistics.median(times)
        row[f"{label} (all {len(times)})"] = sum(times)
    return row


def main() -> None:
    print("| model | step | in process | isolated | isolated / in process |")
    print("|---|---|---|---|---|")
    for name in ("tiny_cnn", "tiny_bert"):
        here = measure(name, isolate=False)
        isolated = measure(name, isolate=True)
        for step in here:
            print(f"| {name} | {step} | {here[step] * 1e3:,.1f} ms | {isolated[step] * 1e3:,.1f} ms | "
                  f"{isolated[step] / here[step]:,.1f}× |")
    print(f"\n(one worker process served every isolated run: pid {shared_worker().pid})")


if __name__ == "__main__":
    main()
