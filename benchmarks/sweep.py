"""Time ``wb.sweep`` on one worker process, on the local pool and on a local Ray cluster:
12 small models × 3 variants × 20 inputs.

Models, built in code and saved in a temporary folder: ``tiny_cnn``, ``control_flow`` and ten
``wb.samples.proto("tiny_bert", ...)`` of different sizes (1 to 8 layers, hidden 16 to 256).
Variants fp32, fp16 and int8 (static Q/DQ, calibrated on the sweep's inputs); 20 random input
sets (seeds 0-19; batch 1, sequence 32); ``checks=["compare"]``; tolerances per variant
(``atol`` fp32 1e-5, fp16 1e-2, int8 0.12; ``rtol`` 1e-3): fp32 and fp16 pass, and about half
the int8 cases have inputs over tolerance, each of which gets the per-node comparison that names
its root cause — a sweep's usual mix of quick cases and slow ones.

Measured, in this one process:

- **sweeps**: ``wb.sweep(..., workers=1, threads=cores)`` (one worker process whose sessions use
  every core: the baseline) against the local pool (``workers`` and ``threads`` left out: one
  worker per core, one thread each) and against ``executor="ray"`` on a local Ray cluster. The
  cluster is started first, timed on its own (``ray.init`` as ``wb.sweep`` calls it), and is not
  in the sweeps' times. Medians of ``--repeat`` runs, each executor alternating
  with its own baseline runs (``timing.alternating_medians``, after a warm-up of each). The
  tables of the last runs are compared on their compare rows (verdicts, root causes, values).
- **scaling**: what a sweep's wall time is made of, measured apart. *Fixed*: the same call on
  the smallest model with one input (worker start and imports, planning, the table), per
  executor. *Work*: each case run here, in this process, with one intra-op thread
  (``run_case``, what a worker runs): once in order with what a worker keeps between cases, once
  with nothing kept (a worker that has not seen the model: what most cases meet on a pool,
  which hands a model's variants to different workers); the longest case. *Parent*: the CPU
  time of this process during a pool sweep. From these, T(1) = fixed + work, and the speed-up
  on N cores three ways: Amdahl (fixed + work / N: the work divided evenly), whole cases handed
  out in the sweep's order to N workers, each taking the next as it frees (what both executors
  do; a case is one model in one variant over all its inputs, so the longest one bounds it), and
  the same with the longest cases first.

    python benchmarks/sweep.py
    python benchmarks/sweep.py --models 4 --inputs 5 --repeat 1
"""

from __future__ import annotations

import argparse
import heapq
import importlib.util
import logging
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("TQDM_DISABLE", "1")  # no progress bar per sweep between the figures

sys.path.insert(0, str(Path(__file__).resolve().parent))

import onnx  # noqa: E402
import pandas as pd  # noqa: E402
from timing import alternating_medians  # noqa: E402

import workbench as wb  # noqa: E402
from workbench.runtime.internal import THREADS_VARIABLE, cores  # noqa: E402
from workbench.sweeps import _case  # noqa: E402

#: name: (sample, sizes); ``--models N`` takes the first N.
MODELS: dict[str, tuple[str, dict[str, int]]] = {
    "cnn": ("tiny_cnn", {}),
    "control_flow": ("control_flow", {}),
    "bert-1x16": ("tiny_bert", dict(layers=1, hidden=16, heads=2, ffn=32)),
    "bert-2x32": ("tiny_bert", dict(layers=2, hidden=32, heads=2, ffn=64)),
    "bert-2x64": ("tiny_bert", {}),  # the sample's defaults
    "bert-4x64": ("tiny_bert", dict(layers=4, hidden=64, heads=4, ffn=256)),
    "bert-3x96": ("tiny_bert", dict(layers=3, hidden=96, heads=6, ffn=384)),
    "bert-2x128": ("tiny_bert", dict(layers=2, hidden=128, heads=8, ffn=512)),
    "bert-6x32": ("tiny_bert", dict(layers=6, hidden=32, heads=4, ffn=128)),
    "bert-1x256": ("tiny_bert", dict(layers=1, hidden=256, heads=8, ffn=1024)),
    "bert-8x16": ("tiny_bert", dict(layers=8, hidden=16, heads=2, ffn=64)),
    "bert-2x192": ("tiny_bert", dict(layers=2, hidden=192, heads=6, ffn=768, vocab=5000)),
}
VARIANTS = ["fp32", "fp16", "int8"]
ATOL = {"fp32": 1e-5, "fp16": 1e-2, "int8": 0.12}
RTOL = 1e-3
DIMS = {"batch": 1, "sequence": 32}
#: Cores the expected speed-up is printed for (36: one per case of the full sweep).
CORES = (1, 2, 4, 8, 16, 36)


def build(folder: Path, count: int) -> dict[str, str]:
    """The first ``count`` models, saved in ``folder``: name → file."""
    files = {}
    for name, (sample, sizes) in list(MODELS.items())[:count]:
        files[name] = str(folder / f"{name}.onnx")
        onnx.save(wb.samples.proto(sample, **sizes), files[name])
    return files


def case_times(models: dict[str, str], inputs: int, keep: bool) -> list[tuple[str, float]]:
    """Each case's seconds run here with one intra-op thread, as a worker runs it (``run_case``
    on the spec ``wb.sweep`` hands it), in the sweep's order; ``keep``: what the process keeps
    from one case to the next (models, sessions, reference outputs) stays, as in one worker."""
    before = os.environ.get(THREADS_VARIABLE)
    times = []
    try:
        _case._kept.clear()
        # largest models first, as wb.sweep hands the cases out
        for name, path in sorted(models.items(), key=lambda item: -os.path.getsize(item[1])):
            for variant in VARIANTS:
                spec = {"model": name, "reference": path, "candidate": path, "variant": variant, "provider": "cpu",
                        "reference_provider": "cpu", "checks": ["compare"], "runs": 20, "threads": 1, "save": None,
                        "inputs": {"random": inputs, "dims": DIMS}, "rtol": RTOL, "atol": ATOL[variant]}
                if not keep:
                    _case._kept.clear()
                start = time.perf_counter()
                rows = _case.run_case(spec)
                times.append((f"{name} {variant}", time.perf_counter() - start))
                assert not [r for r in rows if r["verdict"] == "error"], rows
    finally:
        _case._kept.clear()
        if before is None:
            os.environ.pop(THREADS_VARIABLE, None)
        else:
            os.environ[THREADS_VARIABLE] = before
    return times


def compare_rows(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["check"] == "compare"].reset_index(drop=True)


def same(a: pd.DataFrame, b: pd.DataFrame) -> str:
    """Whether two sweeps' compare rows agree, in words."""
    a, b = compare_rows(a), compare_rows(b)
    keys = ["model", "variant", "provider", "input", "metric"]
    if len(a) != len(b) or not a[keys].equals(b[keys]):
        return "DIFFERENT rows"
    if not (a["verdict"].equals(b["verdict"]) and a["root_cause"].equals(b["root_cause"])):
        return "DIFFERENT verdicts or root causes"
    off = a["value"].ne(b["value"]) & ~(a["value"].isna() & b["value"].isna())
    if not off.any():
        return "identical"
    worst = (a["value"] - b["value"]).abs()[a["metric"] == "max_abs"].max()
    where = ", ".join(sorted({f"{m} {v}" for m, v in zip(a["model"][off], a["variant"][off])}))
    return (f"same verdicts and root causes; {off.sum():,} of {len(a):,} values differ ({where}; max_abs by "
            f"{worst:.1g} at most)")


def scheduled(times: list[float], workers: int) -> float:
    """Seconds until the last case ends when ``workers`` take the cases in this order, each worker
    the next case as soon as it is free (as both executors hand them out)."""
    free = [0.0] * workers
    for spent in times:
        heapq.heapreplace(free, free[0] + spent)
    return max(free)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=len(MODELS), choices=range(1, len(MODELS) + 1),
                        metavar=f"1..{len(MODELS)}", help="how many of the models (the first ones)")
    parser.add_argument("--inputs", type=int, default=20, help="random input sets per case")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each, for the medians")
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.ERROR)  # the quantizer's advice on the root logger, in each case
    warnings.filterwarnings("ignore")  # the converted models' check warnings, when cases run here
    import onnxruntime

    onnxruntime.set_default_logger_severity(3)  # and onnxruntime's notes on the initializers they leave unused
    have_ray = importlib.util.find_spec("ray") is not None
    n = cores()
    with tempfile.TemporaryDirectory() as scratch:
        models = build(Path(scratch), args.models)
        tiniest = "bert-1x16" if "bert-1x16" in models else next(iter(models))
        smallest = {tiniest: models[tiniest]}
        kw: dict[str, Any] = dict(inputs=args.inputs, variants=VARIANTS, checks=["compare"], rtol=RTOL, atol=ATOL,
                                  dims=DIMS)
        cases = len(models) * len(VARIANTS)
        print(f"{len(models)} models × {len(VARIANTS)} variants × {args.inputs} inputs = {cases} cases "
              f"({cases * args.inputs:,} inputs checked); {n} cores; medians of {args.repeat}")
        tables: dict[str, pd.DataFrame] = {}
        parent: list[float] = []

        def sweep(label: str, **extra: Any) -> Any:
            def call() -> None:
                cpu = time.process_time()
                tables[label] = wb.sweep(models, **kw, **extra)
                if label == "pool":
                    parent.append(time.process_time() - cpu)
            return call

        def fixed(**extra: Any) -> float:
            runs = []
            for _ in range(args.repeat + 1):  # the first one warms the disk cache
                start = time.perf_counter()
                wb.sweep(smallest, **dict(kw, inputs=1), **extra)
                runs.append(time.perf_counter() - start)
            return statistics.median(runs[1:])

        one, pool = alternating_medians(sweep("one", workers=1, threads=n), sweep("pool"), args.repeat)
        verdicts = compare_rows(tables["one"]).drop_duplicates(["model", "variant", "input"])
        failing = verdicts[verdicts["verdict"] == "fail"]
        cases_failing = failing.groupby(["model", "variant"]).ngroups
        print(f"verdicts: {(verdicts['verdict'] == 'pass').sum():,} inputs pass, {len(failing):,} fail (in "
              f"{cases_failing} cases: {', '.join(sorted(set(failing['variant']))) or '-'}), "
              f"{(verdicts['verdict'] == 'error').sum()} errors")
        print(f"1 process (workers=1, threads={n}): {one:.2f} s")
        print(f"local pool ({min(n, cases)} workers): {pool:.2f} s ({pool / one:.2f}× of 1 process, "
              f"{one / pool:.2f}× faster)")
        fixed_local = fixed(workers=1, threads=n)
        ray_figures = None
        if have_ray:
            import ray

            start = time.perf_counter()
            # as wb.sweep starts a local cluster (workbench/sweeps/_executors.py), of this machine's cores
            ray.init(num_cpus=n, include_dashboard=False, log_to_driver=False,
                     runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join(p or os.getcwd() for p in sys.path)}})
            started = time.perf_counter() - start
            try:
                one_again, on_ray = alternating_medians(sweep("one again", workers=1, threads=n),
                                                        sweep("ray", executor="ray"), args.repeat)
                ray_figures = started, one_again, on_ray, fixed(executor="ray")
            finally:
                ray.shutdown()
            print(f"ray.init (local cluster, {n} CPUs): {started:.2f} s, once, not in the sweeps' times")
            print(f"Ray ({min(n, cases)} actors): {on_ray:.2f} s ({on_ray / one_again:.2f}× of 1 process, "
                  f"{one_again / on_ray:.2f}× faster; 1 process alternating with it: {one_again:.2f} s)")
        else:
            print("Ray: not installed (pip install 'onnx-workbench[ray]'); skipped")
        print(f"tables, compare rows: pool vs 1 process: {same(tables['pool'], tables['one'])}")
        if ray_figures is not None:
            print(f"tables, compare rows: Ray vs pool: {same(tables['ray'], tables['pool'])}")

        print("scaling:")
        case_times(smallest, 1, keep=True)  # this process's imports, before anything is timed
        kept = case_times(models, args.inputs, keep=True)
        cold = case_times(models, args.inputs, keep=False)
        fixed_costs = {"1 process": fixed_local} | ({"Ray": ray_figures[3]} if ray_figures else {})
        print("  fixed cost of a sweep (the smallest model, 1 input, 3 variants): "
              + ", ".join(f"{v:.2f} s on {k}" for k, v in fixed_costs.items()))
        print(f"  parent (this process's CPU during a pool sweep): {statistics.median(parent):.2f} s")
        executors = {"local pool": (fixed_local, one, pool)}
        if ray_figures is not None:
            executors["Ray"] = (ray_figures[3], ray_figures[1], ray_figures[2])
        scaling(kept, cold, one, fixed_local, executors, n)



def scaling(kept: list[tuple[str, float]], cold: list[tuple[str, float]], one: float, fixed: float,
            executors: dict[str, tuple[float, float, float]], n: int) -> None:
    """Prints the work the cases take and the speed-up to expect on more cores.

    ``executors``: label → (its fixed cost, the 1-process time measured beside it, its own time)."""
    work, work_cold = sum(t for _, t in kept), sum(t for _, t in cold)
    name, longest = max(cold, key=lambda c: c[1])
    print(f"  work, the cases run here with 1 thread: {work:.2f} s for {len(kept)} ({work / len(kept):.3f} s a case, "
          f"median {statistics.median(t for _, t in kept):.3f} s); nothing kept between cases: {work_cold:.2f} s; "
          f"longest case {longest:.2f} s ({name})")
    t1 = fixed + work
    print(f"  expected 1 process: fixed + work = {t1:.1f} s (measured {one:.1f} s, its sessions on {n} threads)")
    times = [t for _, t in cold]  # on N > 1 workers, a model's variants go to different workers
    for label, (serial, baseline, measured) in executors.items():
        def line(expected: dict[int, float], measured: float | None = None, baseline: float = baseline) -> str:
            return ", ".join(f"N={c} {t1 / t:.1f}×" + (f" (measured {baseline / measured:.1f}×)"
                                                       if c == n and measured is not None else "")
                             for c, t in expected.items())

        amdahl = {c: serial + work_cold / c for c in CORES[1:]}
        ordered = {c: serial + scheduled(times, c) for c in CORES[1:]}
        longest_first = {c: serial + scheduled(sorted(times, reverse=True), c) for c in CORES[1:]}
        print(f"  {label}, expected speed-up over 1 process on N cores (fixed {serial:.2f} s + the work on N):")
        print(f"    Amdahl, the work divided evenly: {line(amdahl)}; limit {t1 / serial:.1f}×")
        print(f"    whole cases, in the sweep's order: {line(ordered, measured)}; limit {t1 / (serial + longest):.1f}× "
              "(the longest case)")
        print(f"    whole cases, longest first: {line(longest_first)}")


if __name__ == "__main__":
    main()
