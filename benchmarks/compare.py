"""Time ``wb.compare`` (torch against its ONNX export) against torch's own verifier.

Models, built in code with random weights (``torch.manual_seed(0)``) and exported with
``torch.onnx.export(model, (ids,), dynamo=True)``: an ``nn.Embedding`` in front of an
``nn.TransformerEncoder`` (``batch_first=True``, ``.eval()``, ``enable_nested_tensor=False``):

- **small**: 2 layers, d_model 64, 4 heads, feed-forward 256, vocab 1000; ids [1, 32];
- **bert-base**: 12 layers, d_model 768, 12 heads, feed-forward 3072, vocab 30522; ids [1, 128].

and Hugging Face architectures at real sizes, built from their configs with random weights
(``benchmarks/transformer_exports.py``; transformers from the test extra), exported the same way:

- **hf-gpt2**: GPT-2 small; **hf-bert-base**: BERT-base with a padded attention mask;
  **hf-llama**: a 12-layer Llama of hidden 768 with grouped key-value heads; inputs [1, 128].

Measured, per model, each kind in its own child process (``python benchmarks/compare.py
--one KIND --model NAME``, which exports the model, then prints one JSON line per run):

- **ours**: ``wb.compare(program, {"ids": ids})``: the exported program run through
  ``torch.fx.Interpreter``, the ONNX model captured whole, every value's metrics, and the
  root-cause search. Its answer: ``report.first_divergence`` / ``report.root_cause``.
- **verifier**: ``torch.onnx.verification.verify_onnx_program(program, (ids,),
  compare_intermediates=True)``, torch's baseline. It returns one ``VerificationInfo`` per
  value (max abs and rel difference, histograms) and gives no verdict of its own; a value is
  counted as off here where ``max_abs_diff > ATOL`` and ``max_rel_diff > RTOL`` (the
  tolerances ``wb.compare`` uses by default). It is not warmed up (one run is its cost), and
  is stopped after ``--verifier-timeout`` seconds (default 300): then the time is reported as
  "> N s" and the ratio is a lower bound.
- **floor**: one torch forward of the eager model (``torch.no_grad()``) plus one
  onnxruntime ``InferenceSession`` of the exported model (creation included, default
  optimizations) and one run: the least any comparison of the outputs costs.

Ours and the floor run once to warm up, then ``RUNS`` times alternating, in one process
(time only; export excluded everywhere). Medians are printed, then the goals: the verifier
≥ 50× slower than ours, ours ≤ 3× the floor.

    python benchmarks/compare.py                          # every model (about 35 minutes)
    python benchmarks/compare.py --quick                  # the small model only
    python benchmarks/compare.py --models hf-gpt2 hf-llama
    python benchmarks/compare.py --verifier-timeout 120   # stop the verifier sooner
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 3
#: The tolerances of ``wb.compare``'s defaults, applied to the verifier's per-value maxima.
RTOL, ATOL = 1e-4, 1e-5
GOAL_VERIFIER, GOAL_FLOOR = 50.0, 3.0
GOALS = f"Goals: verifier >= {GOAL_VERIFIER:.0f}x slower than ours; ours <= {GOAL_FLOOR:.0f}x the floor."

MODELS = {
    "small": {"vocab": 1000, "d_model": 64, "heads": 4, "ff": 256, "layers": 2, "seq": 32},
    "bert-base": {"vocab": 30522, "d_model": 768, "heads": 12, "ff": 3072, "layers": 12, "seq": 128},
}
#: Hugging Face architectures, by the name ``transformer_exports`` knows them by.
TRANSFORMERS = {"hf-gpt2": "gpt2", "hf-bert-base": "bert-base", "hf-llama": "llama"}


# ---- the model ---------------------------------------------------------------------------------
def build(name: str):
    """The eager model (random weights, eval mode), its inputs by ONNX name and its dynamo export."""
    import torch
    from torch import nn

    if name in TRANSFORMERS:
        sys.path.insert(0, str(Path(__file__).parent))
        import transformer_exports

        return transformer_exports.export(TRANSFORMERS[name])
    cfg = MODELS[name]

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(cfg["vocab"], cfg["d_model"])
            layer = nn.TransformerEncoderLayer(cfg["d_model"], cfg["heads"], cfg["ff"], batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, cfg["layers"], enable_nested_tensor=False)

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            return self.encoder(self.embed(ids))

    torch.manual_seed(0)
    model = Encoder().eval()
    ids = torch.randint(0, cfg["vocab"], (1, cfg["seq"]))
    program = torch.onnx.export(model, (ids,), dynamo=True, verbose=False, input_names=["ids"])
    return model, {"ids": ids.numpy()}, program


def _node(row) -> dict | None:
    """A report row (``first_divergence`` / ``root_cause``) as JSON: node, value and metrics."""
    if row is None:
        return None
    keys = ("node", "op_type", "value", "max_abs", "max_rel", "status")
    return {key: (row[key] if isinstance(row[key], str) else float(row[key])) for key in keys if key in row}


# ---- the measurements, each kind in its own child process ---------------------------------------
def _emit(result: dict) -> None:
    print(json.dumps(result), flush=True)


def measure_ours_and_floor(model, feeds, program) -> None:
    """Ours and the floor: a warm-up, then ``RUNS`` runs each, alternating; one line per run."""
    import onnxruntime as ort
    import torch

    import workbench as wb

    args = tuple(torch.from_numpy(value) for value in feeds.values())
    onnx_bytes = program.model_proto.SerializeToString()

    def ours() -> tuple[float, object]:
        start = time.perf_counter()
        report = wb.compare(program, feeds)
        return time.perf_counter() - start, report

    def floor() -> float:
        start = time.perf_counter()
        with torch.no_grad():
            model(*args)
        session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
        session.run(None, feeds)
        return time.perf_counter() - start

    ours(), floor()
    for _ in range(RUNS):
        elapsed, report = ours()
        _emit({"kind": "ours", "time": elapsed, "values": len(report.table), "unaligned": len(report.unaligned),
               "first_divergence": _node(report.first_divergence), "root_cause": _node(report.root_cause)})
        _emit({"kind": "floor", "time": floor()})


def measure_verifier(model, feeds, program) -> None:
    """torch's ``verify_onnx_program`` with intermediates, ``RUNS`` times; one line per run."""
    import torch
    from torch.onnx.verification import verify_onnx_program

    args = tuple(torch.from_numpy(value) for value in feeds.values())
    for _ in range(RUNS):
        start = time.perf_counter()
        infos = verify_onnx_program(program, args, compare_intermediates=True)
        elapsed = time.perf_counter() - start
        off = [info for info in infos if info.max_abs_diff > ATOL and info.max_rel_diff > RTOL]
        worst = max(infos, key=lambda info: info.max_abs_diff)
        _emit({"kind": "verifier", "time": elapsed, "values": len(infos), "off": len(off),
               "first_off": off[0].name if off else None, "worst": worst.name,
               "worst_max_abs": worst.max_abs_diff, "worst_max_rel": worst.max_rel_diff})


KINDS = {"ours-floor": measure_ours_and_floor, "verifier": measure_verifier}


# ---- the parent: run the children, report ------------------------------------------------------------
def run_child(kind: str, model: str, timeout: float | None = None) -> tuple[list[dict], bool]:
    """Runs ``kind`` on ``model`` in a fresh process: its per-run results, and whether it timed out
    (then the runs finished before the time limit)."""
    cmd = [sys.executable, __file__, "--one", kind, "--model", model]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as expired:
        out = expired.stdout.decode() if isinstance(expired.stdout, bytes) else (expired.stdout or "")
        return _results(out), True
    if done.returncode != 0:
        raise RuntimeError(f"{kind} on {model} failed:\n{done.stderr[-3000:]}")
    return _results(done.stdout), False


def _results(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def _s(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def _answer(node: dict | None) -> str:
    if node is None:
        return "None"
    return (f"{node['node']} ({node['op_type']}, value {node['value']}): max abs {node['max_abs']:.3g}, "
            f"max rel {node['max_rel']:.3g}")


def measure_model(name: str, verifier_timeout: float) -> str:
    """All three measurements on one model; its table, both tools' answers and the goals."""
    runs, _ = run_child("ours-floor", name)
    ours = [run for run in runs if run["kind"] == "ours"]
    floor = statistics.median(run["time"] for run in runs if run["kind"] == "floor")
    ours_time = statistics.median(run["time"] for run in ours)
    for run in runs:
        print(f"  {name}, {run['kind']}: {json.dumps(run)}", flush=True)
    verifier_runs, timed_out = run_child("verifier", name, verifier_timeout)
    for run in verifier_runs:
        print(f"  {name}, verifier: {json.dumps(run)}", flush=True)
    if verifier_runs:
        verifier = statistics.median(run["time"] for run in verifier_runs)
        verifier_text = _s(verifier) + (f" ({len(verifier_runs)} run(s) in {verifier_timeout:.0f} s)"
                                        if timed_out else "")
        ratio_text = f"{verifier / ours_time:,.0f}x"
    else:  # not one run finished: a lower bound
        verifier = verifier_timeout
        verifier_text = f"> {verifier_timeout:.0f} s (stopped)"
        ratio_text = f"> {verifier / ours_time:,.0f}x"
    last = ours[-1]
    if name in TRANSFORMERS:
        title = f"## {name}: transformers' {TRANSFORMERS[name]} (see benchmarks/transformer_exports.py)"
    else:
        cfg = MODELS[name]
        title = (f"## {name}: {cfg['layers']} layers, d_model {cfg['d_model']}, {cfg['heads']} heads, "
                 f"ids [1, {cfg['seq']}]")
    lines = [
        title,
        "",
        "| measurement | median time |", "|---|---|",
        f"| ours: wb.compare | {_s(ours_time)} |",
        f"| verifier: verify_onnx_program(compare_intermediates=True) | {verifier_text} |",
        f"| floor: torch forward + onnxruntime session and run | {_s(floor)} |",
        "",
        f"ours: {last['values']} values compared, {last['unaligned']} unaligned; "
        f"first_divergence {_answer(last['first_divergence'])}; root_cause {_answer(last['root_cause'])}",
    ]
    if verifier_runs:
        v = verifier_runs[-1]
        lines.append(f"verifier: {v['values']} results, {v['off']} over rtol {RTOL:g} and atol {ATOL:g} "
                     f"(first: {v['first_off']}); worst {v['worst']}: max abs {v['worst_max_abs']:.3g}, "
                     f"max rel {v['worst_max_rel']:.3g}")
    else:
        lines.append("verifier: no result (stopped before its first run ended)")
    met_verifier = verifier / ours_time >= GOAL_VERIFIER
    met_floor = ours_time / floor <= GOAL_FLOOR
    # a verifier stopped before its first run ended gives a lower bound: below the goal, it decides nothing
    verdict = "met" if met_verifier else ("NOT met" if verifier_runs else "undecided (raise --verifier-timeout)")
    lines += ["",
              f"verifier / ours: {ratio_text}, {verdict} (>= {GOAL_VERIFIER:.0f}x)",
              f"ours / floor: {ours_time / floor:.2f}x, {'met' if met_floor else 'NOT met'} (<= {GOAL_FLOOR:.0f}x)"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the small model only")
    parser.add_argument("--models", nargs="+", choices=[*MODELS, *TRANSFORMERS], default=[*MODELS, *TRANSFORMERS],
                        help="which models (default: all)")
    parser.add_argument("--verifier-timeout", type=float, default=300.0,
                        help="stop the verifier's child after this many seconds (default 300)")
    parser.add_argument("--one", choices=list(KINDS), help=argparse.SUPPRESS)
    parser.add_argument("--model", choices=[*MODELS, *TRANSFORMERS], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        KINDS[args.one](*build(args.model))
        return
    print(GOALS, flush=True)
    reports = [measure_model(name, args.verifier_timeout) for name in (["small"] if args.quick else args.models)]
    print()
    print("\n\n".join(reports))
    print()
    print(GOALS)


if __name__ == "__main__":
    main()
