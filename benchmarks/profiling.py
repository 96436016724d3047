"""Time ``wb.profile`` and ``wb.read_profile`` on a BERT-base-sized encoder: what profiling costs a run,
and how fast a profile file is read back, against pandas and onnxruntime's own profile processor.

Model: ``wb.samples.proto("tiny_bert", **BERT_BASE)`` (12 layers, hidden 768, 12 heads,
feed-forward 3072, vocab 30522: 419 nodes, 438 MB of random weights), built once per process
and opened in memory with ``wb.open(proto)``; input ``input_ids`` int64 [1, 128] from
``wb.random_inputs``. Every onnxruntime session is on the CPU at optimization level ``"all"``
(``ORT_ENABLE_ALL``, what ``wb.profile`` uses by default), with onnxruntime's default threads
(one per core), created from the proto serialized once (``SerializeToString``, outside every
timing unless said otherwise).

Sizes (``SETTINGS``): the full run makes 6 rounds of 20 timed runs per session, 3 end-to-end
repeats, a profile of 100 runs and 3 parses of it; ``--quick`` the same at 2 layers with 3
rounds of 10 runs, 2 repeats and a profile of 30 runs.

1. **Profiling overhead on run latency**, one process, one session alive at a time (two
   sessions' thread pools spinning on 2 cores skew each other): ``rounds`` rounds, each
   creating a *plain* session (no profiling), running it ``WARMUP`` (3) times untimed and
   ``runs`` times timed (``time.perf_counter`` around ``session.run``), deleting it; then the
   same with a *profiling* session (the same options plus ``enable_profiling=True``; its file
   is written with ``end_profiling()`` after the timed runs and removed). Printed: the median,
   p90 and min of all timed runs of each, and the overhead = profiling median / plain median
   (and the median of the per-round ratios). No threshold: the goal is that it is reported.
   Then, ``e2e`` times alternating, the end-to-end cost of ``wb.profile(m, inputs, runs=runs)``
   (its defaults otherwise: 3 warm-up runs; it serializes the in-memory proto itself, saves the
   optimized graph and parses the file into a ``Profile``) against the floor: one plain
   session creation + ``runs`` runs (and + ``runs`` + 3, the number of runs ``wb.profile`` makes),
   and the first ``p.summary()`` after it (tables built, shape inference included).
2. **Parse time** of a profile of ``profile_runs`` runs, written once by a plain onnxruntime
   profiling session (level ``"all"``, ``profile_runs`` runs, no warm-up, so ``warmup=0`` on
   reading; the session also saves its optimized graph with ``optimized_model_filepath``,
   weights in a side file). Each reader runs once untimed (but (a'), the costliest), then
   ``parses`` times alternating, in the same process; medians:

   - **(a) ours**: ``wb.read_profile(file, model=m, optimized=opt)`` then touching ``.nodes``
     and ``.authored``, so the events table, the per-kernel table, the mapping of fused kernels
     to authored nodes and the per-authored-node times are really built. ``opt`` is the saved
     optimized graph opened beforehand (``wb.open``, not timed), so rebuilding the optimized
     graph is not timed; **(a')** the same with ``optimized=None``, which rebuilds it here (one
     more session creation), reported separately.
   - **(b) pandas**, a hand-parse to a per-kernel table: ``pd.read_json(file)``, then
     ``pd.json_normalize`` of the ``args`` column (op name, provider, shapes: what a per-kernel
     table needs), then the ``Node`` events grouped by kernel name: op, provider, calls, total,
     mean and median µs. No runs split, no warm-ups dropped, no mapping to the authored graph.
     **(b0)** ``pd.read_json(file)`` alone is printed too.
   - **(c) onnxruntime's processor**: ``onnxruntime.transformers.profile_result_processor``:
     ``process_results(file, parse_arguments(["--input", file]))`` (``json.load``, then per
     kernel and per op sums as text lines), stdout silenced while timed.

   Goals (for the full BERT-base profile of 100 runs): (a) < ``GOAL_PARSE`` (2) s, and faster
   than (b) and (c). In the printed ratios (theirs / ours), above 1 means ours is faster.

    python benchmarks/profiling.py             # BERT-base-sized, 12 layers (~3 min on 2 cores)
    python benchmarks/profiling.py --quick     # 2 layers, fewer runs: a smoke run (< 1 min)
    python benchmarks/profiling.py --cprofile  # also: where (a)'s time goes (cProfile, top 25)
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import io
import json
import os
import pstats
import shutil
import statistics
import tempfile
import time
from pathlib import Path

LEVEL = "all"
WARMUP = 3
GOAL_PARSE = 2.0
GOALS = (f"Goals: profiling overhead on run latency reported; parsing a 100-run BERT-base profile "
         f"(a) < {GOAL_PARSE:.0f} s and faster than (b) pandas and (c) onnxruntime's processor.")
#: Per mode: model sizes, overhead rounds and timed runs per block, end-to-end repeats,
#: runs in the parsed profile, parse repeats.
SETTINGS = {
    "full": {"layers": 12, "rounds": 6, "runs": 20, "e2e": 3, "profile_runs": 100, "parses": 3},
    "quick": {"layers": 2, "rounds": 3, "runs": 10, "e2e": 2, "profile_runs": 30, "parses": 3},
}
MB = 1e6


# ---- the model -----------------------------------------------------------------------------------
def build(layers: int):
    """The model (opened in memory), its serialized bytes and its inputs."""
    import workbench as wb
    from workbench.samples import _transformer

    start = time.perf_counter()
    proto = wb.samples.proto("tiny_bert", **{**_transformer.BERT_BASE, "layers": layers})
    m = wb.open(proto)
    built = time.perf_counter()
    data = m.proto.SerializeToString()
    serialized = time.perf_counter()
    inputs = wb.random_inputs(m, dims={"batch": 1, "sequence": 128})
    info = {"nodes": len(m.proto.graph.node), "bytes": len(data), "build": built - start,
            "serialize": serialized - built}
    return m, data, inputs, info


def options(profile_prefix: str | None = None, optimized_path: str | None = None):
    """Session options at ``LEVEL``, profiling on when ``profile_prefix`` is given."""
    from workbench.runtime._optimize import session_options

    opts = session_options(LEVEL)
    if profile_prefix is not None:
        opts.enable_profiling = True
        opts.profile_file_prefix = profile_prefix
    if optimized_path is not None:
        opts.optimized_model_filepath = optimized_path
        opts.add_session_config_entry("session.optimized_model_external_initializers_file_name",
                                      Path(optimized_path).name + ".data")
    return opts


def session(data: bytes, opts):
    import onnxruntime as ort

    return ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])


# ---- 1. overhead on run latency ----------------------------------------------------------------
def block(data: bytes, inputs: dict, runs: int, folder: Path | None) -> list[float]:
    """One session (profiling when ``folder`` is given): warm-up, then ``runs`` timed runs (s)."""
    sess = session(data, options(None if folder is None else str(folder / "overhead")))
    for _ in range(WARMUP):
        sess.run(None, inputs)
    times = []
    for _ in range(runs):
        tick = time.perf_counter()
        sess.run(None, inputs)
        times.append(time.perf_counter() - tick)
    if folder is not None:
        os.remove(sess.end_profiling())
    del sess
    gc.collect()
    return times


def measure_overhead(data: bytes, inputs: dict, cfg: dict, folder: Path) -> dict:
    """Plain and profiling sessions, one at a time, in alternating blocks."""
    plain, profiled, ratios = [], [], []
    for round_ in range(cfg["rounds"]):
        a = block(data, inputs, cfg["runs"], None)
        b = block(data, inputs, cfg["runs"], folder)
        plain += a
        profiled += b
        ratios.append(statistics.median(b) / statistics.median(a))
        print(f"  round {round_ + 1}: plain median {_ms(statistics.median(a))}, profiling median "
              f"{_ms(statistics.median(b))}, ratio {ratios[-1]:.2f}", flush=True)
    return {"plain": plain, "profiled": profiled, "ratios": ratios}


def measure_e2e(m, data: bytes, inputs: dict, cfg: dict) -> dict:
    """``wb.profile`` end to end (and its first summary) against a plain session and its runs."""
    import workbench as wb

    rows: dict[str, list[float]] = {"profile": [], "summary": [], "floor": [], "floor_all": [], "create": []}
    for rep in range(cfg["e2e"]):
        tick = time.perf_counter()
        p = wb.profile(m, inputs, runs=cfg["runs"], optimization=LEVEL)
        rows["profile"].append(time.perf_counter() - tick)
        tick = time.perf_counter()
        p.summary()
        rows["summary"].append(time.perf_counter() - tick)
        latency = p.latency["median"] / 1e6
        del p
        gc.collect()
        tick = time.perf_counter()
        sess = session(data, options())
        created = time.perf_counter() - tick
        runs = []
        for _ in range(cfg["runs"] + WARMUP):
            tick = time.perf_counter()
            sess.run(None, inputs)
            runs.append(time.perf_counter() - tick)
        del sess
        gc.collect()
        rows["create"].append(created)
        rows["floor"].append(created + sum(runs[:cfg["runs"]]))
        rows["floor_all"].append(created + sum(runs))
        print(f"  repeat {rep + 1}: wb.profile {_s(rows['profile'][-1])} (its median model_run "
              f"{_ms(latency)}), summary {_s(rows['summary'][-1])}; plain creation {_s(created)} + "
              f"{cfg['runs']} runs {_s(rows['floor'][-1])}", flush=True)
    return {k: statistics.median(v) for k, v in rows.items()}


# ---- 2. parse time --------------------------------------------------------------------------------
def write_profile(data: bytes, inputs: dict, runs: int, folder: Path) -> tuple[Path, Path, float]:
    """A profile of ``runs`` runs written by plain onnxruntime, and the optimized graph it saved."""
    optimized = folder / "optimized.onnx"
    sess = session(data, options(str(folder / "onnxruntime_profile"), str(optimized)))
    tick = time.perf_counter()
    for _ in range(runs):
        sess.run(None, inputs)
    elapsed = time.perf_counter() - tick
    path = Path(sess.end_profiling())
    del sess
    gc.collect()
    return path, optimized, elapsed


def parsers(m, opt, path: Path) -> dict:
    """Each reader as a function of no arguments returning something to show it really parsed."""
    import pandas as pd
    from onnxruntime.transformers.profile_result_processor import parse_arguments, process_results

    import workbench as wb

    def ours(optimized):
        def run():
            p = wb.read_profile(path, model=m, optimized=optimized)
            nodes, authored = p.nodes, p.authored
            return {"kernels": len(nodes), "authored": len(authored), "mapped_time": p.mapping_rate["time"],
                    "runs": len(p.runs)}
        return run

    def pandas_only():
        return {"rows": len(pd.read_json(path))}

    def pandas_hand():
        df = pd.read_json(path)
        args = pd.json_normalize([a if isinstance(a, dict) else {} for a in df["args"]])
        events = pd.concat([df.drop(columns="args"), args], axis=1)
        nodes = events[(events["cat"] == "Node") & events["name"].str.endswith("_kernel_time")]
        table = nodes.groupby(nodes["name"].str.removesuffix("_kernel_time"), sort=False).agg(
            op=("op_name", "first"), provider=("provider", "first"), calls=("dur", "size"),
            total_us=("dur", "sum"), mean_us=("dur", "mean"), median_us=("dur", "median"))
        return {"kernels": len(table)}

    def onnxruntime_processor():
        args = parse_arguments(["--input", str(path)])
        with contextlib.redirect_stdout(io.StringIO()):
            lines = process_results(str(path), args)
        return {"lines": len(lines)}

    return {"ours": ours(opt), "ours_rebuild": ours(None), "pandas": pandas_hand, "read_json": pandas_only,
            "processor": onnxruntime_processor}


LABELS = {
    "ours": "(a) ours: read_profile(optimized=opt) + .nodes + .authored",
    "ours_rebuild": "(a') ours, optimized=None (rebuilt here)",
    "pandas": "(b) pandas: read_json + json_normalize(args) + per-kernel groupby",
    "read_json": "(b0) pandas: read_json alone",
    "processor": "(c) onnxruntime profile_result_processor.process_results",
}


def measure_parse(readers: dict, repeats: int) -> tuple[dict[str, float], dict[str, dict]]:
    """One untimed call of each reader but (a') (the costliest), then ``repeats`` timed rounds."""
    times: dict[str, list[float]] = {name: [] for name in readers}
    shown: dict[str, dict] = {}
    for name, reader in readers.items():
        if name != "ours_rebuild":
            reader()
            gc.collect()
    for round_ in range(repeats):
        for name, reader in readers.items():
            tick = time.perf_counter()
            shown[name] = reader()
            times[name].append(time.perf_counter() - tick)
            gc.collect()
        print(f"  round {round_ + 1}: " + ", ".join(f"{name} {_s(times[name][-1])}" for name in readers),
              flush=True)
    return {name: statistics.median(t) for name, t in times.items()}, shown


def cprofile(reader, top: int = 25) -> str:
    """Where one call of ``reader`` spends its time: cProfile, top functions by cumulative time."""
    profiler = cProfile.Profile()
    profiler.enable()
    reader()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


# ---- report ---------------------------------------------------------------------------------------
def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms" if seconds < 0.1 else f"{seconds * 1000:,.0f} ms"


def _s(seconds: float) -> str:
    return _ms(seconds) if seconds < 10 else f"{seconds:,.1f} s"


def _p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1] if len(values) > 1 else values[0]


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {len(os.sched_getaffinity(0))} cores"


def overhead_report(result: dict, e2e: dict, cfg: dict, info: dict) -> str:
    plain, profiled = result["plain"], result["profiled"]
    ratio = statistics.median(profiled) / statistics.median(plain)
    lines = [
        f"## Profiling overhead on run latency ({cfg['rounds']} rounds x {cfg['runs']} timed runs per session, "
        f"{WARMUP} warm-up runs each)", "",
        "| session | median per run | p90 | min | runs |", "|---|---|---|---|---|",
        f"| plain onnxruntime, level {LEVEL!r} | {_ms(statistics.median(plain))} | {_ms(_p90(plain))} "
        f"| {_ms(min(plain))} | {len(plain)} |",
        f"| profiling (enable_profiling=True) | {_ms(statistics.median(profiled))} | {_ms(_p90(profiled))} "
        f"| {_ms(min(profiled))} | {len(profiled)} |",
        "",
        f"overhead: profiling / plain = {ratio:.2f}x ({(ratio - 1) * 100:+.0f}%) on the medians; "
        f"per-round ratios {', '.join(f'{r:.2f}' for r in result['ratios'])} "
        f"(median {statistics.median(result['ratios']):.2f}x); min / min {min(profiled) / min(plain):.2f}x",
        "",
        f"## End to end: wb.profile(m, inputs, runs={cfg['runs']}) (median of {cfg['e2e']})", "",
        "| measurement | median time |", "|---|---|",
        f"| wb.profile(m, inputs, runs={cfg['runs']}) ({WARMUP} warm-up runs, serializing the proto included) "
        f"| {_s(e2e['profile'])} |",
        f"| then p.summary() (first tables, shape inference) | {_s(e2e['summary'])} |",
        f"| floor: plain session creation + {cfg['runs']} runs | {_s(e2e['floor'])} |",
        f"| plain session creation + {cfg['runs'] + WARMUP} runs (as many as wb.profile makes) "
        f"| {_s(e2e['floor_all'])} |",
        "",
        f"wb.profile / floor: {e2e['profile'] / e2e['floor']:.2f}x "
        f"({e2e['profile'] / e2e['floor_all']:.2f}x against {cfg['runs'] + WARMUP} runs); "
        f"with the first summary {(e2e['profile'] + e2e['summary']) / e2e['floor']:.2f}x. "
        f"Plain session creation {_s(e2e['create'])}; serializing the in-memory proto "
        f"({info['bytes'] / MB:,.0f} MB) {_s(info['serialize'])}, which wb.profile does on each call.",
        f"overhead reported: {_verdict(True)}",
    ]
    return "\n".join(lines)


def parse_report(medians: dict[str, float], shown: dict[str, dict], file: dict, cfg: dict, full: bool) -> str:
    ours = medians["ours"]
    lines = [
        f"## Parse time: a profile of {cfg['profile_runs']} runs, {file['mb']:.1f} MB, {file['events']:,} events "
        f"({file['node_events']:,} Node events; written in {_s(file['write'])}) (median of {cfg['parses']})", "",
        "| reader | median time | / ours (a) |", "|---|---|---|",
    ]
    for name, label in LABELS.items():
        lines.append(f"| {label} | {_s(medians[name])} | {medians[name] / ours:.2f}x |")
    a = shown["ours"]
    lines += [
        "",
        f"(a): {a['kernels']} kernels, {a['authored']} authored nodes timed, {a['mapped_time']:.1%} of kernel time "
        f"mapped, {a['runs']} runs; (b): {shown['pandas']['kernels']} kernels (no runs split, no mapping); "
        f"(c): {shown['processor']['lines']} text lines",
        f"(a') rebuilding the optimized graph here adds {_s(medians['ours_rebuild'] - ours)}",
        "",
    ]
    scope = "" if full else " [--quick: a 2-layer model; the goals are for the full run]"
    lines += [
        f"parse (a) {_s(ours)}: {_verdict(ours < GOAL_PARSE)} (< {GOAL_PARSE:.0f} s){scope}",
        f"(b) pandas / (a): {medians['pandas'] / ours:.2f}x, {_verdict(ours < medians['pandas'])} (> 1x; "
        f"read_json alone: {medians['read_json'] / ours:.2f}x)",
        f"(c) onnxruntime processor / (a): {medians['processor'] / ours:.2f}x, "
        f"{_verdict(ours < medians['processor'])} (> 1x)",
    ]
    return "\n".join(lines)


def main() -> None:
    from workbench.runtime._optimize import open_optimized

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 layers, fewer runs: a smoke run")
    parser.add_argument("--cprofile", action="store_true", help="also print where (a)'s time goes (cProfile)")
    args = parser.parse_args()
    mode = "quick" if args.quick else "full"
    cfg = SETTINGS[mode]
    import onnxruntime as ort
    import pandas as pd

    print(GOALS, flush=True)
    print(f"start: {_load()}; onnxruntime {ort.__version__}, pandas {pd.__version__}", flush=True)
    started = time.perf_counter()
    m, data, inputs, info = build(cfg["layers"])
    title = (f"tiny_bert, {cfg['layers']} layers, hidden 768: {info['nodes']} nodes, {info['bytes'] / MB:,.0f} MB; "
             f"input_ids [1, 128]; built in {_s(info['build'])}")
    print(title, flush=True)
    folder = Path(tempfile.mkdtemp(prefix="workbench-bench-profile-"))
    try:
        print("1. overhead", flush=True)
        overhead = measure_overhead(data, inputs, cfg, folder)
        e2e = measure_e2e(m, data, inputs, cfg)
        print("2. parse", flush=True)
        path, optimized_path, write = write_profile(data, inputs, cfg["profile_runs"], folder)
        events = json.loads(path.read_text())
        file = {"mb": path.stat().st_size / MB, "events": len(events), "write": write,
                "node_events": sum(e.get("cat") == "Node" for e in events)}
        del events
        opt = open_optimized(optimized_path)
        readers = parsers(m, opt, path)
        medians, shown = measure_parse(readers, cfg["parses"])
        profiled = cprofile(readers["ours"]) if args.cprofile else None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print()
    print(f"# {title}")
    print()
    print(overhead_report(overhead, e2e, cfg, info))
    print()
    print(parse_report(medians, shown, file, cfg, not args.quick))
    if profiled:
        print()
        print("## Where (a) spends its time (cProfile, one call, cumulative)")
        print()
        print(profiled)
    print()
    print(f"end: {_load()}; whole script {_s(time.perf_counter() - started)}")
    print(GOALS)


if __name__ == "__main__":
    main()
