"""Time the step-through debugger on a BERT-base-sized encoder against three ways to do it by hand.

Model: ``wb.samples.proto("tiny_bert", **BERT_BASE)`` (12 layers, hidden 768, 110M
parameters, 419 nodes, 438 MB of random weights), saved in a temporary folder in two
layouts: weights in an external file (torch.onnx's default) and inside the ``.onnx`` (one
file, as older exporters write models under 2 GB). Input: ``input_ids`` int64
[1, sequence] from ``wb.random_inputs``.

With ``--export NAME``, the model is instead a Hugging Face export from
``benchmarks/transformer_exports.py`` (dynamo, weights external, its own inputs):
``bert-base`` (about 440 nodes) or ``llama-10k`` (a 160-layer Llama of about 10,250 nodes).

Measured, each in a fresh child process (``python benchmarks/debugger.py --one NAME ...``,
which prints its figures as JSON), so that peak memory (``VmHWM`` of the process) is that
measurement's own:

- **imports**: a process that imports workbench and onnxruntime and stops: the floor.
- **ours**: ``wb.debug(path, inputs, provider="cpu")`` then ``dbg.step()`` (*first step*);
  the median of 200 ``step()`` and of 200 ``back()`` calls (*per step*); ``run_to`` the
  last node from the start; *total*: construction + first step + ``run_to`` the last node.
- **ours, budget**: the same with ``budget=`` a quarter of the bytes of all the values the
  nodes produce; its peak is checked against budget + weights + ``OVERHEAD`` (interpreter,
  libraries, onnxruntime's working memory), and ``dbg.memory`` (runs, bytes spilled) printed.
- **(a) plain onnxruntime**: ``InferenceSession(path)`` (default graph optimization) and
  one ``run`` with the same inputs: the outputs only, no intermediates.
- **(b) one session per node**, the naive node-by-node debugger: ``onnx.load`` the model,
  then for each node in order build a one-node model (its inputs as graph inputs,
  initializers fed as inputs), create an ``InferenceSession`` and run it, feeding the
  values of earlier nodes. *First step*: loading + the first node; *per step*: the median node.
- **(c) Polygraphy**: ``polygraphy run MODEL --onnxrt --onnx-outputs mark all
  --load-inputs INPUTS.json`` as a whole command (pip ``polygraphy`` 0.53.6, not a project
  dependency: ``pip install polygraphy==0.53.6``). Its peak is the command's ``ru_maxrss``
  (``os.wait4``), started from a child that has imported only the standard library.

*Whole command* is from starting the child process (interpreter start and imports
included) to every value computed (for ours: at the last node). It is the figure compared
with Polygraphy, which can only be timed that way. Each measurement runs ``RUNS`` times,
alternating; medians are printed, one table per layout, then the goals.

    python benchmarks/debugger.py                    # sequence 128, both layouts, all baselines
    python benchmarks/debugger.py --seq 384 --layout external
    python benchmarks/debugger.py --skip-polygraphy
    python benchmarks/debugger.py --quick            # the 2-layer default tiny_bert: a smoke run
    python benchmarks/debugger.py --export llama-10k # a Hugging Face export (transformer_exports.py)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

RUNS = 3
STEPS = 200
MB = 1e6

#: What a debugging process needs besides the weights and the captured values: the interpreter,
#: the libraries (see the "imports" row) and onnxruntime's working memory for one run.
OVERHEAD = 256_000_000
GOALS = ("Goals: first step <= 1.2x (a); whole command >= 3x faster than (c), peak <= 0.6x (c); "
         f"with a budget below the intermediates' total, peak <= budget + weights + {OVERHEAD / MB:.0f} MB.")
GOAL_FIRST_STEP, GOAL_SPEEDUP, GOAL_MEMORY = 1.2, 3.0, 0.6


def _peak_rss() -> int:
    """This process's peak resident set (``VmHWM``), in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _load_inputs(path: str) -> dict:
    import numpy as np

    with np.load(path) as data:
        return {name: data[name] for name in data.files}


# ---- the measurements, each run in its own child process ---------------------------------------
def measure_ours(args: argparse.Namespace) -> dict:
    """``wb.debug``: first step, per-step and ``back`` medians, ``run_to`` the last node."""
    import workbench as wb

    inputs = _load_inputs(args.inputs)
    start = time.perf_counter()
    dbg = wb.debug(args.model, inputs, provider="cpu", budget=args.budget)
    dbg.step()
    first = time.perf_counter()
    dbg.run_to(dbg.steps[-1])
    done = time.perf_counter()
    command_end = time.monotonic()
    peak = _peak_rss()  # the whole command's: what follows only measures steps
    steps, backs, run_tos = [], [], []
    dbg.reset()
    for _ in range(min(STEPS, len(dbg.steps))):
        tick = time.perf_counter()
        dbg.step()
        steps.append(time.perf_counter() - tick)
    for _ in range(len(steps)):
        tick = time.perf_counter()
        dbg.back()
        backs.append(time.perf_counter() - tick)
    for _ in range(RUNS):
        dbg.reset()
        tick = time.perf_counter()
        dbg.run_to(dbg.steps[-1])
        run_tos.append(time.perf_counter() - tick)
    return {
        "first_step": first - start, "total": done - start,
        "per_step": statistics.median(steps), "back": statistics.median(backs),
        "run_to_last": statistics.median(run_tos), "command_end": command_end,
        "peak": peak, "steps": len(dbg.steps),
        "intermediate_bytes": _intermediate_bytes(dbg), "memory": dbg.memory,
    }  # fmt: skip


def _intermediate_bytes(dbg) -> int:
    """The bytes of every value the model's nodes produce."""
    dbg.reset()
    total = 0
    while dbg.position < len(dbg.steps) - 1:
        total += sum(value.nbytes for value in dbg.step().outputs.values())
    return total


def measure_imports(args: argparse.Namespace) -> dict:
    """The floor: a process that has imported workbench and onnxruntime, nothing more."""
    import onnxruntime  # noqa: F401

    import workbench  # noqa: F401

    return {"command_end": time.monotonic(), "peak": _peak_rss()}


def measure_plain(args: argparse.Namespace) -> dict:
    """(a): one onnxruntime session (default optimization) and one run."""
    import onnxruntime as ort

    inputs = _load_inputs(args.inputs)
    start = time.perf_counter()
    session = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    created = time.perf_counter()
    session.run(None, inputs)
    done = time.perf_counter()
    return {"create": created - start, "run": done - created, "first_step": done - start, "total": done - start,
            "command_end": time.monotonic(), "peak": _peak_rss()}


def measure_per_node(args: argparse.Namespace) -> dict:
    """(b): one onnxruntime session per node, run in order, fed the values computed so far."""
    import onnx
    import onnxruntime as ort
    from onnx import helper, numpy_helper

    values = _load_inputs(args.inputs)
    start = time.perf_counter()
    model = onnx.load(args.model)
    values.update((init.name, numpy_helper.to_array(init)) for init in model.graph.initializer)
    loaded = time.perf_counter()
    times = []
    for node in model.graph.node:
        tick = time.perf_counter()
        names = list(dict.fromkeys(name for name in node.input if name))
        outputs = [name for name in node.output if name]
        graph = helper.make_graph(
            [node], "step",
            [helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(values[name].dtype), None)
             for name in names],
            [helper.make_empty_tensor_value_info(name) for name in outputs],
        )  # fmt: skip
        one = helper.make_model(graph, opset_imports=model.opset_import, ir_version=model.ir_version)
        session = ort.InferenceSession(one.SerializeToString(), providers=["CPUExecutionProvider"])
        values.update(zip(outputs, session.run(outputs, {name: values[name] for name in names})))
        times.append(time.perf_counter() - tick)
    done = time.perf_counter()
    return {"load": loaded - start, "first_step": loaded - start + times[0], "per_step": statistics.median(times),
            "total": done - start, "command_end": time.monotonic(), "peak": _peak_rss()}


def _polygraphy() -> str | None:
    """The ``polygraphy`` command beside this Python, else on PATH; None when not installed."""
    return shutil.which("polygraphy", path=os.pathsep.join([str(Path(sys.executable).parent),
                                                            os.environ.get("PATH", "")]))


def measure_polygraphy(args: argparse.Namespace) -> dict:
    """(c): ``polygraphy run --onnxrt --onnx-outputs mark all`` as a whole command."""
    cmd = [_polygraphy() or "polygraphy", "run", args.model, "--onnxrt", "--onnx-outputs", "mark", "all",
           "--load-inputs", args.polygraphy_inputs]
    with tempfile.TemporaryFile() as errors:
        start = time.monotonic()
        process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.monotonic() - start
        if os.waitstatus_to_exitcode(status) != 0:
            errors.seek(0)
            raise RuntimeError(f"polygraphy failed: {errors.read().decode()[-2000:]}")
    return {"whole": elapsed, "total": elapsed, "peak": usage.ru_maxrss * 1024}


MEASUREMENTS: dict[str, Callable[[argparse.Namespace], dict]] = {
    "imports": measure_imports,
    "ours": measure_ours,
    "ours-budget": measure_ours,
    "plain": measure_plain,
    "per-node": measure_per_node,
    "polygraphy": measure_polygraphy,
}
LABELS = {
    "imports": "import workbench, onnxruntime",
    "ours": "ours: wb.debug",
    "ours-budget": "ours, budget",
    "plain": "(a) plain onnxruntime",
    "per-node": "(b) one session per node",
    "polygraphy": "(c) polygraphy mark all",
}


# ---- the parent: build the model, run the children, report ----------------------------------------
#: How the model's weights are stored: torch.onnx's default (an external file), or inside the .onnx.
LAYOUTS = ("external", "inline")


def make_samples(folder: Path, quick: bool, seq: int, layouts: list[str], polygraphy: bool) -> dict[str, dict]:
    """Saves the model in each layout and its inputs (``.npz``, and Polygraphy's JSON).

    Returns, per layout, the paths the children take, the node count and the weights' bytes.
    """
    import numpy as np
    import onnx

    import workbench as wb
    from workbench.samples import _transformer

    proto = wb.samples.proto("tiny_bert", **({} if quick else _transformer.BERT_BASE))
    info = {"nodes": len(proto.graph.node), "weights": sum(init.ByteSize() for init in proto.graph.initializer),
            "inputs": str(folder / "inputs.npz"), "polygraphy_inputs": str(folder / "inputs.json")}
    samples = {layout: {**info, "model": str(folder / f"{layout}.onnx")} for layout in layouts}
    if "inline" in samples:  # first: saving with external data moves the weights out of ``proto``
        onnx.save(proto, samples["inline"]["model"])
    if "external" in samples:
        onnx.save(proto, samples["external"]["model"], save_as_external_data=True, location="external.weights",
                  size_threshold=1024)
    del proto
    inputs = wb.random_inputs(wb.open(next(iter(samples.values()))["model"]), dims={"batch": 1, "sequence": seq})
    np.savez(info["inputs"], **inputs)
    if polygraphy:
        from polygraphy.json import save_json

        save_json([inputs], info["polygraphy_inputs"])
    return samples


def export_sample(folder: Path, name: str, polygraphy: bool) -> dict:
    """A Hugging Face export from :mod:`transformer_exports` (weights external, as torch.onnx
    saves them; exported on first use and cached) and its inputs, as :func:`make_samples` gives."""
    import numpy as np
    import onnx

    sys.path.insert(0, str(Path(__file__).parent))
    import transformer_exports

    path, inputs = transformer_exports.load(name)
    skeleton = onnx.load(str(path), load_external_data=False)
    weights = sum(file.stat().st_size for file in path.parent.iterdir() if file.suffix not in (".onnx", ".npz"))
    info = {"model": str(path), "nodes": len(skeleton.graph.node), "weights": weights,
            "inputs": str(folder / "inputs.npz"), "polygraphy_inputs": str(folder / "inputs.json")}
    np.savez(info["inputs"], **inputs)
    if polygraphy:
        from polygraphy.json import save_json

        save_json([inputs], info["polygraphy_inputs"])
    return info


def run_child(name: str, sample: dict, budget: int | None = None) -> dict:
    """Runs measurement ``name`` in a fresh process; its JSON, with ``whole`` (start to end) added."""
    cmd = [sys.executable, __file__, "--one", name, "--model", sample["model"], "--inputs", sample["inputs"],
           "--polygraphy-inputs", sample["polygraphy_inputs"]]
    if budget is not None:
        cmd += ["--budget", str(budget)]
    start = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if "command_end" in result:
        result["whole"] = result.pop("command_end") - start
    return result


def measure_layout(sample: dict, polygraphy: bool) -> tuple[dict[str, dict], int]:
    """Every measurement on one saved model, ``RUNS`` times alternating, then ours with a budget
    of a quarter of the intermediates; the medians by measurement, and that budget."""
    names = ["imports", "ours", "plain", "per-node"] + (["polygraphy"] if polygraphy else [])
    runs: dict[str, list[dict]] = {name: [] for name in names}
    for round_ in range(RUNS):
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:
            runs[name].append(run_child(name, sample))
            figures = {k: v for k, v in runs[name][-1].items() if k != "memory"}
            print(f"  run {round_ + 1}, {name}: {json.dumps(figures)}", flush=True)
    budget = int(statistics.median(run["intermediate_bytes"] for run in runs["ours"])) // 4
    runs["ours-budget"] = []
    for round_ in range(RUNS):
        runs["ours-budget"].append(run_child("ours-budget", sample, budget))
        print(f"  run {round_ + 1}, ours-budget: {json.dumps(runs['ours-budget'][-1])}", flush=True)
    return {name: medians(runs[name]) for name in LABELS if name in runs}, budget


def medians(results: list[dict]) -> dict:
    """Per key, the median of the runs' numbers (other values from the last run)."""
    merged = dict(results[-1])
    for key, value in merged.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            merged[key] = statistics.median(result[key] for result in results)
    return merged


def _s(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 0.001:
        return f"{seconds * 1e6:.1f} µs"
    return f"{seconds * 1000:.1f} ms" if seconds < 0.01 else f"{seconds * 1000:,.0f} ms"


def _mb(value: float) -> str:
    return f"{value / MB:.1f} MB" if value < 10 * MB else f"{value / MB:,.0f} MB"


def table(rows: dict[str, dict]) -> str:
    """The figures as a Markdown table."""
    lines = ["| measurement | first step | per step | total | whole command | peak RSS |", "|---|---|---|---|---|---|"]
    for name, row in rows.items():
        per_step = _s(row.get("per_step"))
        if "back" in row:
            per_step += f" (back {_s(row['back'])})"
        lines.append(f"| {LABELS[name]} | {_s(row.get('first_step'))} | {per_step} | {_s(row.get('total'))} "
                     f"| {_s(row.get('whole'))} | {_mb(row['peak'])} |")
    return "\n".join(lines)


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def verdicts(rows: dict[str, dict], budget: int, weights: int) -> list[str]:
    """Each goal, met or not, with its numbers."""
    ours, plain = rows["ours"], rows["plain"]
    ratio = ours["first_step"] / plain["first_step"]
    lines = [f"first step {_s(ours['first_step'])} vs (a) {_s(plain['first_step'])}: {ratio:.2f}x, "
             f"{_verdict(ratio <= GOAL_FIRST_STEP)} (<= {GOAL_FIRST_STEP}x)"]
    if "polygraphy" in rows:
        poly = rows["polygraphy"]
        speedup, memory = poly["whole"] / ours["whole"], ours["peak"] / poly["peak"]
        lines.append(f"whole command {_s(ours['whole'])} vs (c) {_s(poly['whole'])}: {speedup:.1f}x faster, "
                     f"{_verdict(speedup >= GOAL_SPEEDUP)} (>= {GOAL_SPEEDUP}x)")
        lines.append(f"peak {_mb(ours['peak'])} vs (c) {_mb(poly['peak'])}: {memory:.2f}x, "
                     f"{_verdict(memory <= GOAL_MEMORY)} (<= {GOAL_MEMORY}x)")
    row = rows["ours-budget"]
    bound = budget + weights + OVERHEAD
    lines.append(f"budget {_mb(budget)} (a quarter of {_mb(ours['intermediate_bytes'])} of intermediates), "
                 f"{row['memory']['runs']} run(s), {_mb(row['memory']['spilled'])} spilled: "
                 f"peak {_mb(row['peak'])} vs budget + weights + overhead = {_mb(budget)} + {_mb(weights)} "
                 f"+ {_mb(OVERHEAD)} = {_mb(bound)}, {_verdict(row['peak'] <= bound)}")
    return lines


def report(rows: dict[str, dict], budget: int, weights: int) -> str:
    """One layout's table, what ``dbg.memory`` said, and the goals."""
    ours = rows["ours"]
    return "\n".join([
        table(rows), "",
        f"ours: {ours['steps']} steps; run_to last from the start {_s(ours['run_to_last'])}; "
        f"dbg.memory {json.dumps(ours['memory'])}",
        f"ours, budget {_mb(budget)}: dbg.memory {json.dumps(rows['ours-budget']['memory'])}",
        f"(a): session creation {_s(rows['plain']['create'])}, run {_s(rows['plain']['run'])}; "
        f"(b): onnx.load and the weights as arrays {_s(rows['per-node']['load'])}", "",
        *verdicts(rows, budget, weights),
    ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seq", type=int, default=128, help="sequence length of input_ids (default 128)")
    parser.add_argument("--layout", nargs="+", choices=LAYOUTS, default=list(LAYOUTS),
                        help="where the weights are: an external file, inside the .onnx (default: both)")
    parser.add_argument("--skip-polygraphy", action="store_true", help="leave out baseline (c)")
    parser.add_argument("--quick", action="store_true", help="the 2-layer default tiny_bert: a smoke run")
    parser.add_argument("--export", choices=["bert-base", "gpt2", "llama", "llama-10k"],
                        help="a Hugging Face export from benchmarks/transformer_exports.py instead of tiny_bert")
    parser.add_argument("--one", choices=list(MEASUREMENTS), help=argparse.SUPPRESS)
    for hidden in ("--model", "--inputs", "--polygraphy-inputs"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    parser.add_argument("--budget", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(MEASUREMENTS[args.one](args)))
        return
    polygraphy = not args.skip_polygraphy
    if polygraphy and _polygraphy() is None:
        parser.exit(1, "Baseline (c) needs Polygraphy: pip install polygraphy==0.53.6 "
                       "(or run with --skip-polygraphy)\n")
    print(GOALS, flush=True)
    reports = []
    with tempfile.TemporaryDirectory() as folder:
        if args.export:
            samples = {f"{args.export} export, external": export_sample(Path(folder), args.export, polygraphy)}
        else:
            samples = make_samples(Path(folder), args.quick, args.seq, args.layout, polygraphy)
        for layout, sample in samples.items():
            title = f"{sample['nodes']} nodes, {_mb(sample['weights'])} of weights ({layout})"
            title += "" if args.export else f"; input_ids [1, {args.seq}]"
            print(title, flush=True)
            rows, budget = measure_layout(sample, polygraphy)
            reports.append(f"\n## {title}\n\n{report(rows, budget, sample['weights'])}")
    print("\n".join(reports))
    print()
    print(GOALS)


if __name__ == "__main__":
    main()
