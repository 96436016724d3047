"""The ``workbench`` command line: the Python API's verdicts as exit codes, for CI and terminals.

::

    workbench info MODEL                 the summary card
    workbench view MODEL -o OUT.html     the standalone interactive view (or OUT.svg: the static picture)
    workbench compare A [B] ...          where two runs part, and which node is the cause
    workbench profile MODEL ...          run latency and the slowest ops, against a budget
    workbench diff A B ...               what changed from one model to the other
    workbench check FOLDER ...           whether a saved analysis still reproduces here
    workbench sweep MODEL... ...         models × variants × providers × inputs, in parallel (nightly)

Each sub-command is a thin layer over one function of the API (``wb.open``, ``Model.to_html``,
``wb.compare``, ``wb.profile``, ``wb.diff``, ``wb.verify_analysis``, ``wb.sweep``): the text it prints is what
the API says, and nothing is computed here that the API does not give. Every sub-command takes
``--json`` (stdout is then exactly one JSON document: ``command``, ``verdict``, the exit
``code`` and the command's figures; the human text is not printed) and ``--junit OUT.xml`` (a
JUnit report with one ``<testsuite name="workbench COMMAND">``, for CI dashboards).

Exit codes:

- ``0``: pass: the runs agree, the latency is within budget, the models are identical, the
  analysis reproduces (``info`` and ``view`` pass when they did their work);
- ``1``: a finding: a divergence, a latency over budget, a difference, an analysis that no
  longer reproduces, a sweep measurement that fails (or, with ``--fail-on regression``, got
  worse since the store's previous run);
- ``2``: a usage or input error: argparse's own (a bad option), a missing or unreadable file,
  an ``.npz`` that does not fit the model, any :class:`~workbench.errors.WorkbenchError`. One
  line on stderr, ``workbench COMMAND: error: …``, no traceback (with ``--json``, a document
  whose ``verdict`` is ``"error"``, but for argparse's errors, which come before the options
  are known: those print the usage);
- ``3``: anything else: a bug. The traceback is printed, with a line asking to report it.
  (``130``: interrupted with Ctrl-C.)

Progress bars go to stderr on a terminal only. The API's own bars (``tqdm``) would write to a
pipe too, so when stderr is not a terminal ``TQDM_DISABLE=1`` is set before ``tqdm`` is first
imported (tqdm reads its ``TQDM_*`` variables once, at import): a CI log gets no bar at all.
On a terminal each command's steps show as a bar of their own, and the API's bars (the profiled
runs, the capture of a long comparison) show beside it once their step takes a few seconds.

The module imports only the standard library until a command runs, so ``workbench --help``
answers at once; torch is imported only for ``compare --torch``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import sys
import textwrap
import time
import traceback
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence, TextIO

from .errors import InputError, UsageError, WorkbenchError

if TYPE_CHECKING:
    import numpy as np

    from .analysis import Verification
    from .comparison import Report
    from .model import Model

#: Exit codes (see the module's docstring).
PASS, FOUND, USAGE, BUG, INTERRUPTED = 0, 1, 2, 3, 130
#: A report's row statuses that count as diverging (``Report.first_divergence`` counts the same).
_DIVERGED = ("carried", "cause", "rounding", "threshold")
#: The columns of a compare row given in JSON (the rest of ``Report.table`` is in the API).
_ROW_FIELDS = ("node", "op_type", "scope", "value", "reference", "max_abs", "mean_abs", "max_rel", "rel_l2", "cosine",
               "local_max_abs", "status", "note", "suspects")
#: Rows of the top ops and nodes in ``profile``'s text and JSON.
_TOP = 10
#: Differences listed in a ``diff`` JUnit failure's message before the rest are counted.
_LISTED = 5
#: Characters XML 1.0 cannot hold (model strings may carry any): replaced in the JUnit file.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

_EXIT_CODES = """\
exit codes:
  0  pass: the runs agree, latency within budget, models identical, the analysis reproduces
  1  a finding: a divergence, latency over budget, a difference, an analysis that no longer reproduces,
     a failing sweep (with --fail-on regression: one that got worse since the stored previous run)
  2  usage or input error: a bad option, a missing or unreadable file, inputs that do not fit the model
  3  a bug in onnx-workbench: the traceback is printed; please report it

Progress bars go to stderr on a terminal only; with stderr a pipe or a file there are none.
"""


class _UserCodeError(WorkbenchError):
    """The user's own code (``--torch FILE.py:FACTORY``) raised: an input error whose traceback,
    in their file, is worth showing."""


@dataclass
class _Case:
    """One JUnit testcase: passed, failed (``failure``: the message), skipped or in error."""

    name: str
    failure: str | None = None
    details: str = ""
    skipped: str | None = None
    error: str | None = None
    seconds: float = 0.0


@dataclass
class _Outcome:
    """What a command found: its exit code, the text it prints, its figures for ``--json`` and
    its testcases for ``--junit``."""

    code: int
    text: str
    figures: dict[str, Any] = field(default_factory=dict)
    cases: list[_Case] = field(default_factory=list)


# ---- the parser ------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    """The ``workbench`` parser: one sub-parser per command, each with ``--json`` and ``--junit``."""
    from ._version import package_version

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true",
                        help="print one JSON document on stdout (verdict, exit code, figures) instead of text")
    common.add_argument("--junit", metavar="OUT.xml", help="also write the verdict as a JUnit XML report")
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="workbench", formatter_class=formatter, epilog=_EXIT_CODES,
        description="See, compare, profile and diff ONNX models from the command line; the verdict is the exit\n"
                    "code. `workbench COMMAND --help` for each command's options.")
    parser.add_argument("--version", action="version", version=f"onnx-workbench {package_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        if "\n" not in description:  # the raw formatter keeps the examples' layout: wrap plain prose here
            description = textwrap.fill(description, 100)
        return commands.add_parser(name, parents=[common], help=summary, description=description, epilog=_EXIT_CODES,
                                   formatter_class=formatter)

    info = command("info", "the model's summary card",
                   "The model's summary card: producer, opsets, inputs and outputs, nodes, parameters, top ops and "
                   "the problems onnx.checker found. Exit 0 whenever the model opens.")
    info.add_argument("model", metavar="MODEL", help="an .onnx file")

    view = command("view", "write the standalone graph view (HTML) or a static SVG",
                   "Writes the interactive graph view as one self-contained HTML file (opens from disk, no "
                   "network), or, for a name ending in .svg, the static picture of the view's first paint (needs "
                   "graphviz's `dot`). Prints the path written.")
    view.add_argument("model", metavar="MODEL", help="an .onnx file")
    view.add_argument("-o", "--output", required=True, metavar="OUT", help="OUT.html or OUT.svg")

    compare = command("compare", "compare two runs value by value and name the node that is wrong", """\
Compares two runs value by value; the root cause is the first node that is off on the reference's own inputs.

  workbench compare A B                                 A (reference) against model B (candidate)
  workbench compare A --reference cpu --candidate cuda  one model on two providers
  workbench compare A --optimization all                the graph onnxruntime optimizes, against A as authored
  workbench compare A --torch net.py:build              the torch module build() returns, against its export A

Inputs: --inputs x.npz holds one array per input of A, by A's input names (numpy.savez(path, name=array));
without it, random inputs that fit A (--seed). With --torch the same arrays, by A's input names, are
passed to the module positionally, in the order of A's graph inputs. Pass (exit 0) when no value
diverges beyond rtol/atol; otherwise exit 1, with the summary and the root cause.""")
    compare.add_argument("a", metavar="A", help="the reference model (.onnx); with --torch, the module's export")
    compare.add_argument("b", metavar="B", nargs="?", help="the candidate model (.onnx); default: A itself")
    compare.add_argument("--reference", metavar="PROVIDER", help="provider of the reference run (default: --provider)")
    compare.add_argument("--candidate", metavar="PROVIDER", help="provider of the candidate run (default: --provider)")
    compare.add_argument("--optimization", metavar="LEVEL",
                         help="run the candidate's graph as onnxruntime optimizes it at LEVEL (disabled, basic, "
                              "extended, layout, all); default: disabled, the graph as authored")
    compare.add_argument("--torch", metavar="FILE.py:FACTORY",
                         help="the reference is the torch.nn.Module that FACTORY() in FILE.py returns; A is its "
                              "ONNX export, run on --provider")
    compare.add_argument("--provider", default="cpu", help="provider of both runs unless set apart (default: cpu)")
    _add_inputs(compare)
    compare.add_argument("--rtol", type=float, default=1e-4, help="relative tolerance (default: 1e-4)")
    compare.add_argument("--atol", type=float, default=1e-5, help="absolute tolerance (default: 1e-5)")

    profile = command("profile", "time the model's kernels; fail past a latency budget",
                      "Runs the model under onnxruntime's profiler and prints the run latency, the time in kernels "
                      "against the framework's overhead, and the slowest ops. Exit 1 only when --budget-ms is "
                      "given and the median run latency exceeds it.")
    profile.add_argument("model", metavar="MODEL", help="an .onnx file")
    profile.add_argument("--provider", default="cpu", help="execution provider (default: cpu)")
    profile.add_argument("--optimization", default="all",
                         help="onnxruntime's graph optimization level: disabled, basic, extended, layout, all "
                              "(default: all, what a deployed session runs)")
    profile.add_argument("--runs", type=int, default=20, help="measured runs (default: 20)")
    profile.add_argument("--warmup", type=int, default=3, help="runs before them, dropped (default: 3)")
    profile.add_argument("--threads", type=int, default=0,
                         help="intra-op threads (default: 0, onnxruntime's choice: one per core)")
    profile.add_argument("--inputs", metavar="x.npz", help="inputs by name (default: random inputs that fit)")
    profile.add_argument("--budget-ms", type=_positive, metavar="X", help="fail when the median latency exceeds X ms")
    profile.add_argument("--chrome-trace", metavar="OUT.json",
                         help="also write the measured runs as a Chrome trace (Perfetto, chrome://tracing)")

    diff = command("diff", "what changed between two models; exit 1 when they differ",
                   "Matches the nodes of two models by structure and lists what changed: nodes, weights and the "
                   "models' own fields. Exit 1 when anything differs (like diff(1)), 0 when identical.")
    diff.add_argument("a", metavar="A", help="the first model (.onnx)")
    diff.add_argument("b", metavar="B", help="the second model (.onnx)")
    diff.add_argument("-o", "--output", metavar="diff.html", help="also write the diff's standalone HTML view")

    check = command("check", "re-run a saved analysis; exit 1 when it no longer reproduces",
                    "Re-runs an analysis folder written by wb.save_analysis on its saved inputs and checks the "
                    "outputs against the saved ones; when they differ, says what in the environment can explain "
                    "it. Exit 0 when it reproduces, 1 when it does not, 2 when the folder is missing or damaged.")
    check.add_argument("folder", metavar="FOLDER", help="the analysis folder")
    check.add_argument("--provider", help="run on this provider instead of the recipe's")
    check.add_argument("--rtol", type=float, help="relative tolerance instead of the recipe's")
    check.add_argument("--atol", type=float, help="absolute tolerance instead of the recipe's")

    sweep = command("sweep", "check many models × variants × providers × inputs in parallel", """\
Checks every MODEL in every variant on every provider over every input, in worker processes (or on Ray),
comparing each variant's outputs with the fp32 model's on the reference provider; a failing input gets
its root cause. Prints the failures; exit 1 when any measurement fails or errors.

  workbench sweep models/*.onnx --variants fp32 fp16 int8 --inputs 20 --atol 1e-5 --atol fp16=1e-2
  workbench sweep models/*.onnx --store sweeps/ --fail-on regression     nightly: only what got worse

--rtol/--atol take a number for every variant, and VARIANT=NUMBER for one (repeat the option).
With --store, the run is appended to a Parquet dataset and compared with the store's previous run;
--fail-on regression then fails only on what got worse since (pass → fail, a new error, a case lost).""")
    sweep.add_argument("models", metavar="MODEL", nargs="+", help="the .onnx files (named by file name)")
    sweep.add_argument("--variants", nargs="+", default=["fp32"], metavar="VARIANT",
                       help="fp32, fp16, int8, int8-dynamic, each optionally +LEVEL (fp32+all) (default: fp32)")
    sweep.add_argument("--providers", nargs="+", default=["cpu"], metavar="PROVIDER",
                       help="where the variants run (default: cpu)")
    sweep.add_argument("--reference-provider", default="cpu", metavar="PROVIDER",
                       help="where the fp32 reference runs (default: cpu)")
    sweep.add_argument("--inputs", nargs="+", default=["1"], metavar="N|x.npz",
                       help="how many random input sets, or .npz files (one input set each, arrays by input name, "
                            "the same for every model) (default: 1)")
    sweep.add_argument("--checks", nargs="+", default=["compare"], choices=["compare", "profile"],
                       help="compare outputs (and find root causes), profile latency (default: compare)")
    sweep.add_argument("--runs", type=int, default=20, help="profiled runs per case (default: 20)")
    sweep.add_argument("--rtol", action="append", metavar="[VARIANT=]R", help="relative tolerance (default: 1e-4)")
    sweep.add_argument("--atol", action="append", metavar="[VARIANT=]A", help="absolute tolerance (default: 1e-5)")
    sweep.add_argument("--executor", choices=["local", "ray"], default="local",
                       help="worker processes here, or a Ray cluster (default: local)")
    sweep.add_argument("--workers", type=int, help="cases run at once (default: one per core or cluster CPU)")
    sweep.add_argument("--threads", type=int, default=1,
                       help="intra-op threads of each worker's sessions (default: 1, so that values do not depend "
                            "on the machine)")
    sweep.add_argument("--address", help="the Ray cluster to join (auto, ray://head:10001); default: a local one")
    sweep.add_argument("--save", metavar="DIR", help="save each failing input as an analysis folder under DIR")
    sweep.add_argument("--store", metavar="DIR", help="append this run to the Parquet dataset in DIR")
    sweep.add_argument("--run", metavar="NAME", help="the run's name in the store (default: the time, UTC)")
    sweep.add_argument("--fail-on", choices=["failure", "regression"], default="failure",
                       help="exit 1 on any failing measurement, or only on regressions since the store's previous "
                            "run (needs --store) (default: failure)")
    return parser


def _add_inputs(parser: argparse.ArgumentParser) -> None:
    """``--inputs`` and ``--seed``: an .npz by input name, or random inputs."""
    parser.add_argument("--inputs", metavar="x.npz", help="inputs by A's input names (default: random inputs)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default: 0)")


def _positive(text: str) -> float:
    """A number above 0 (argparse reports anything else as a usage error, exit 2)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value > 0:  # NaN too
        raise argparse.ArgumentTypeError(f"expected a number above 0, not {text!r}")
    return value


# ---- running a command -------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Runs ``workbench`` with ``argv`` (default: the process's arguments); returns the exit code.

    argparse's own errors and ``--help`` raise ``SystemExit`` (codes 2 and 0) as usual; the console
    script and ``python -m workbench`` exit with what this returns.
    """
    for stream in (sys.stdout, sys.stderr):  # µs and → in the API's text must not fail on an ASCII console
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    args = _parser().parse_args(argv)
    command: str = args.command
    with _bars_on_terminal_only(), warnings.catch_warnings():
        warnings.showwarning = _warning_printer(command)
        started = time.perf_counter()
        outcome = _run(command, args)
        elapsed = time.perf_counter() - started
    try:
        if args.junit:
            _write_junit(Path(args.junit), command, outcome.cases, elapsed)
    except OSError as exc:
        print(f"workbench {command}: error: cannot write the JUnit report: {exc}", file=sys.stderr)
        outcome = _Outcome(USAGE, outcome.text, {**outcome.figures, "error": f"cannot write the JUnit report: {exc}"})
    try:
        if args.json:
            verdict = {PASS: "pass", FOUND: "fail"}.get(outcome.code, "error")
            document = {"command": command, "verdict": verdict, "code": outcome.code, **outcome.figures}
            print(json.dumps(_jsonable(document), indent=2, allow_nan=False), flush=True)
        elif outcome.text:
            print(outcome.text, flush=True)
    except BrokenPipeError:  # `workbench … | head`: the reader has what it wanted; the verdict stands
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so that the exit's flush fails no more
    return outcome.code


_COMMANDS: dict[str, Callable[[argparse.Namespace], _Outcome]] = {}


def _run(command: str, args: argparse.Namespace) -> _Outcome:
    """The command's outcome; an error becomes exit 2 (input) or 3 (a bug), printed on stderr."""
    def failed(code: int, message: str) -> _Outcome:
        print(f"workbench {command}: error: {message}", file=sys.stderr)
        return _Outcome(code, "", {"error": message}, [_Case(command, error=message)])

    try:
        # With --json, stdout carries the document alone: whatever else prints (the user's module) goes to stderr.
        with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():
            return _COMMANDS[command](args)
    except KeyboardInterrupt:
        print(f"workbench {command}: interrupted", file=sys.stderr)
        return _Outcome(INTERRUPTED, "", {"error": "interrupted"})
    except _UserCodeError as exc:
        cause = exc.__cause__ or exc
        # from the user's file on: the frame of this module that called it says nothing to them
        frames = cause.__traceback__.tb_next if cause.__traceback__ is not None else None
        traceback.print_exception(type(cause), cause, frames or cause.__traceback__, file=sys.stderr)
        return failed(USAGE, str(exc))
    except WorkbenchError as exc:
        return failed(USAGE, str(exc))
    except OSError as exc:  # a file that cannot be read or written: the user's to fix
        return failed(USAGE, str(exc))
    except Exception as exc:  # noqa: BLE001 - anything else is a bug: the traceback, and a way to report it
        traceback.print_exc(file=sys.stderr)
        from ._version import package_version

        return failed(BUG, f"{type(exc).__name__}: {exc} — this is a bug in onnx-workbench "
                           f"{package_version()} (Python {sys.version.split()[0]}); please report it with the "
                           "traceback above.")


def _command(function: Callable[[argparse.Namespace], _Outcome]) -> Callable[[argparse.Namespace], _Outcome]:
    """Registers ``_<name>`` as the sub-command ``<name>``."""
    _COMMANDS[function.__name__.lstrip("_")] = function
    return function


# ---- info and view --------------------------------------------------------------------------------


@_command
def _info(args: argparse.Namespace) -> _Outcome:
    """The summary card (``repr(model)``); in JSON, the card's data and every op's count."""
    from collections import Counter

    import workbench as wb

    model = wb.open(args.model)
    card = model.card_data()
    ops = Counter(record.node.op_type for record in model.records)  # as the card counts its top ops
    card["op_counts"] = dict(sorted(ops.items(), key=lambda kv: (-kv[1], kv[0])))
    text = repr(model)
    return _Outcome(PASS, text, {"path": args.model, "model": card},
                    [_Case(f"info {args.model}", details=text)])


@_command
def _view(args: argparse.Namespace) -> _Outcome:
    """``Model.to_html`` for ``.html``, the static picture for ``.svg``."""
    import workbench as wb

    output = Path(args.output)
    kind = output.suffix.lower()
    if kind not in (".html", ".htm", ".svg"):
        raise UsageError(f"-o {args.output!r}: name an .html file (the interactive view) or an .svg file (the static "
                         "picture).")
    with _steps("view", 2) as step:
        step(f"opening {_name(args.model)}")
        model = wb.open(args.model)
        step(f"writing {output.name}")
        if kind == ".svg":
            written = _write_svg(model, output)
        else:
            written = model.to_html(output)
    figures = {"model": args.model, "path": str(written), "format": kind.lstrip("."), "bytes": written.stat().st_size}
    return _Outcome(PASS, str(written), figures, [_Case(f"view {args.model}", details=str(written))])


def _write_svg(model: Model, output: Path) -> Path:
    """The static SVG of the view's first paint (what a notebook front end without the extension shows)."""
    import graphviz

    try:
        svg = model.to_graphviz().pipe(format="svg", encoding="utf-8")
    except graphviz.ExecutableNotFound:
        raise UsageError("graphviz's `dot` is not installed, so no SVG can be drawn: install the graphviz system "
                         "package, or write the view as .html.") from None
    output.write_text(svg, encoding="utf-8")
    return output


# ---- compare -----------------------------------------------------------------------------------------


@_command
def _compare(args: argparse.Namespace) -> _Outcome:
    """``wb.compare`` of two ONNX runs, or of a torch module and its export; fails at the first divergence."""
    if args.torch and (args.b or args.reference or args.candidate or args.optimization):
        raise UsageError("--torch compares the module with its export A, run on --provider: it takes no model B, "
                         "--reference, --candidate or --optimization.")
    if not (args.torch or args.b or args.reference or args.candidate or args.optimization):
        raise UsageError(f"nothing to compare {args.a!r} with: give a second model B, --reference/--candidate "
                         "PROVIDER, --optimization LEVEL or --torch FILE.py:FACTORY.")
    import workbench as wb
    from workbench.comparison import Run

    with _steps("compare", 3) as step:
        step(f"opening {_name(args.a)}" + (f" and {_name(args.b)}" if args.b else ""))
        a = wb.open(args.a)
        b = wb.open(args.b) if args.b else None
        feeds = _read_npz(args.inputs) if args.inputs else wb.random_inputs(a, seed=args.seed)
        if args.torch:
            step(f"building the module of {args.torch}")
            module = _torch_module(args.torch)
            step("running the module and its export, comparing")
            report = wb.compare(module, feeds, onnx=a, provider=args.provider, rtol=args.rtol, atol=args.atol)
        else:
            step("running both sides, comparing")
            reference = Run(a, args.reference or args.provider)
            candidate = Run(b if b is not None else a, args.candidate or args.provider, args.optimization or "disabled")
            report = wb.compare(reference, feeds, candidate=candidate, rtol=args.rtol, atol=args.atol)
    inputs = {"source": args.inputs or "random", "seed": None if args.inputs else args.seed,
              "values": {name: _describe_value(value) for name, value in feeds.items()}}
    return _compare_outcome(report, inputs)


def _compare_outcome(report: Report, inputs: dict[str, Any]) -> _Outcome:
    """The verdict, text, figures and one testcase per output of the candidate."""
    first, cause = report.first_divergence, report.root_cause
    table = report.table
    lines = [report.summary()]
    if first is not None:
        shown, title = (cause, "root cause") if cause is not None else (first, "first divergence")
        lines += _row_lines(title, shown, report)
        if cause is None:
            lines.append("  no node is off on the reference's own inputs: the error builds up along the way")
        if report.cause_module:
            lines.append(f"  smallest module whose inputs agree and whose output does not: {report.cause_module}")
    lines.append("verdict: " + ("pass" if first is None else "fail"))
    outputs = [o.name for o in report.model.proto.graph.output] if report.model is not None else []
    cases, per_output = [], []
    for name in outputs:
        rows = table[(table.value == name) | table.value.astype(str).str.startswith(name + "[")]
        off = rows[rows.status.isin(_DIVERGED)]
        worst = {"max_abs": _max(rows.max_abs), "max_rel": _max(rows.max_rel)}
        per_output.append({"name": name, "compared": not rows.empty, "ok": None if rows.empty else off.empty, **worst})
        if rows.empty:
            cases.append(_Case(name, skipped="the reference has no value for this output"))
        elif off.empty:
            cases.append(_Case(name, details=f"max abs {worst['max_abs']:.3g}, max rel {worst['max_rel']:.3g}"))
        else:
            cases.append(_Case(name, failure=_output_failure(name, worst, report), details="\n".join(lines)))
    if first is not None and not any(case.failure for case in cases):  # the suite fails when the command does
        cases.append(_Case("intermediate values", failure=_cause_text(report), details="\n".join(lines)))
    figures = {
        "reference": report.reference, "candidate": report.candidate, "rtol": report.rtol, "atol": report.atol,
        "inputs": inputs, "values_compared": len(table), "values_off": int((~table.ok.astype(bool)).sum()),
        "unaligned": len(report.unaligned),
        "first_divergence": _row(first), "root_cause": _row(cause), "cause_module": report.cause_module,
        "outputs": per_output, "summary": report.summary(),
    }
    return _Outcome(PASS if first is None else FOUND, "\n".join(lines), figures, cases)


def _row_lines(title: str, row: Any, report: Report) -> list[str]:
    """A report row as indented lines: node, op, scope, value and its errors."""
    lines = [f"{title}: {row.op_type} {row.node!r}",
             f"  scope          {row.scope or '(top)'}",
             f"  value          {row.value}" + (f" (the reference's {row.reference})" if row.reference != row.value
                                                else ""),
             f"  max abs error  {row.max_abs:.3g} (atol {report.atol:g})",
             f"  max rel error  {row.max_rel:.3g} (rtol {report.rtol:g})"]
    if not math.isnan(float(row.local_max_abs)):
        lines.append(f"  alone          {row.local_max_abs:.3g} max abs, run on the reference's own inputs")
    if row.note:
        lines.append(f"  note           {row.note}")
    return lines


def _cause_text(report: Report) -> str:
    """The root cause in a phrase (or the first divergence, where no node is a cause)."""
    cause = report.root_cause
    if cause is not None:
        alone = float(cause.local_max_abs)
        return (f"root cause: {cause.op_type} {cause.node!r} in {cause.scope or '(top)'}"
                + ("" if math.isnan(alone) else f", off by {alone:.3g} on the reference's own inputs"))
    first = report.first_divergence
    if first is None:
        return "no divergence"
    return (f"first divergence at {first.op_type} {first.node!r} ({first.value}, max abs {first.max_abs:.3g}); "
            "no node is off on the reference's own inputs")


def _output_failure(name: str, worst: dict[str, float], report: Report) -> str:
    return (f"{name}: max abs {worst['max_abs']:.3g}, max rel {worst['max_rel']:.3g} beyond rtol={report.rtol:g}, "
            f"atol={report.atol:g}; {_cause_text(report)}")


def _row(row: Any) -> dict[str, Any] | None:
    """A report row's main fields, for JSON (None for none)."""
    if row is None:
        return None
    return {key: (list(row[key]) if key == "suspects" else row[key]) for key in _ROW_FIELDS if key in row.index}


def _max(values: Any) -> float:
    """The largest of a column, NaN when it has no number."""
    numbers = [float(v) for v in values if not math.isnan(float(v))]
    return max(numbers) if numbers else math.nan


def _describe_value(value: Any) -> dict[str, Any]:
    """An input's dtype and shape, for JSON (a sequence or map input: its kind)."""
    if hasattr(value, "dtype") and hasattr(value, "shape"):
        return {"dtype": str(value.dtype), "shape": list(value.shape)}
    return {"kind": type(value).__name__}


def _read_npz(path: str) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` by name; an :class:`InputError` naming the problem otherwise."""
    import zipfile

    import numpy as np

    file = Path(path)
    if not file.is_file():
        raise InputError(f"--inputs {path!r}: no such file.")
    how = "write one with numpy.savez(path, **{input_name: array})"
    with open(file, "rb") as f:
        head = f.read(6)
    if head.startswith(b"\x93NUMPY"):
        raise InputError(f"--inputs {path!r} holds a single array (.npy), not arrays by input name: {how}.")
    if not head.startswith(b"PK"):  # numpy would try it as a pickle, and say so: the wrong hint here
        raise InputError(f"--inputs {path!r} is not an .npz archive (a zip of arrays; its first bytes are {head!r}): "
                         f"{how}.")
    try:
        loaded = np.load(file, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise InputError(f"--inputs {path!r} is not an .npz archive numpy can read ({exc}): {how}.") from None
    try:
        with loaded:
            return {name: loaded[name] for name in loaded.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise InputError(f"--inputs {path!r}: an array in it cannot be read ({exc}). Object arrays are refused: "
                         "save numbers, booleans or strings.") from None


def _torch_module(spec: str) -> Any:
    """The module that ``FACTORY()`` in ``FILE.py`` returns (``spec`` is ``FILE.py:FACTORY``)."""
    import importlib.util

    path_text, _, factory = spec.rpartition(":")
    if not path_text or not factory.isidentifier():
        raise UsageError(f"--torch {spec!r}: give FILE.py:FACTORY, the file and the function in it that returns the "
                         "torch.nn.Module (e.g. --torch net.py:build).")
    path = Path(path_text)
    if not path.is_file():
        raise UsageError(f"--torch {spec!r}: no file {path_text!r}.")
    name = "workbench_torch_source_" + re.sub(r"\W", "_", path.stem)
    found = importlib.util.spec_from_file_location(name, path)
    if found is None or found.loader is None:
        raise UsageError(f"--torch {spec!r}: {path_text!r} cannot be imported as a Python module.")
    module = importlib.util.module_from_spec(found)
    sys.modules[name] = module  # what the file defines (dataclasses, pickling) looks its module up here
    sys.path.insert(0, str(path.resolve().parent))  # so that it imports the files beside it
    try:
        found.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - the user's file: its error, with its traceback, is an input error
        raise _UserCodeError(f"--torch {spec!r}: importing {path_text} raised {type(exc).__name__}: {exc}") from exc
    function = getattr(module, factory, None)
    if not callable(function):
        raise UsageError(f"--torch {spec!r}: {path_text} defines no function {factory!r}.")
    try:
        made = function()
    except Exception as exc:  # noqa: BLE001 - as above: the user's code
        raise _UserCodeError(f"--torch {spec!r}: {factory}() raised {type(exc).__name__}: {exc}") from exc
    import torch

    if not isinstance(made, torch.nn.Module):
        raise UsageError(f"--torch {spec!r}: {factory}() returned an object of type {type(made).__name__!r}, not a "
                         "torch.nn.Module.")
    return made


# ---- profile -----------------------------------------------------------------------------------------


@_command
def _profile(args: argparse.Namespace) -> _Outcome:
    """``wb.profile``: the summary and the slowest ops; fails only past ``--budget-ms``."""
    import workbench as wb

    with _steps("profile", 3) as step:
        step(f"opening {_name(args.model)}")
        model = wb.open(args.model)
        feeds = _read_npz(args.inputs) if args.inputs else None
        step(f"{args.runs} runs (+{args.warmup} warm-up) on {args.provider}")
        profiled = wb.profile(model, feeds, provider=args.provider, optimization=args.optimization, runs=args.runs,
                              warmup=args.warmup, threads=args.threads)
        step("reading the profile")
        summary = profiled.summary()
        ops = profiled.ops.head(_TOP)
        nodes = profiled.nodes.nlargest(_TOP, "median_us")
        runs = profiled.runs
        if args.chrome_trace:
            profiled.to_chrome_trace(args.chrome_trace)
    latency = profiled.latency
    median_ms = latency["median"] / 1e3
    over = args.budget_ms is not None and median_ms > args.budget_ms
    lines = [summary, "", f"top ops ({len(ops)} of {len(profiled.ops)}, main graph, medians per run):",
             ops[["kernels", "median_us", "share", "gflops"]].to_string(
                 formatters={"median_us": "{:,.1f}".format, "share": "{:.1%}".format, "gflops": "{:.3g}".format})]
    if args.budget_ms is not None:
        lines.append(f"budget: median latency {median_ms:.3g} ms {'>' if over else '≤'} {args.budget_ms:g} ms")
    if args.chrome_trace:
        lines.append(f"chrome trace: {args.chrome_trace}")
    lines.append("verdict: " + ("fail" if over else "pass"))
    message = f"median latency {median_ms:.3g} ms over the budget of {args.budget_ms:g} ms" if over else None
    case = _Case("latency", failure=message, details=summary, seconds=latency["median"] / 1e6)
    figures = {
        "model": args.model, "label": profiled.label, "provider": args.provider, "optimization": args.optimization,
        "runs": len(runs), "warmup": profiled.warmup, "latency_us": latency, "median_ms": median_ms,
        "budget_ms": args.budget_ms, "over_budget": over,
        "kernel_us": float(runs["kernel_us"].median()), "overhead_us": float(runs["overhead_us"].median()),
        "top_ops": [{"op": op, **row} for op, row in ops[["kernels", "median_us", "share", "flops", "gflops"]]
                    .to_dict("index").items()],
        "top_nodes": [{"node": node, **row} for node, row in nodes[["op", "provider", "median_us", "share", "scope"]]
                      .to_dict("index").items()],
        "mapping_rate": profiled.mapping_rate, "warnings": profiled.warnings, "chrome_trace": args.chrome_trace,
        "summary": summary,
    }
    return _Outcome(FOUND if over else PASS, "\n".join(lines), figures, [case])


# ---- diff ---------------------------------------------------------------------------------------------


@_command
def _diff(args: argparse.Namespace) -> _Outcome:
    """``wb.diff``: the summary; exit 1 when the models differ. One testcase per kind of difference."""
    import workbench as wb

    with _steps("diff", 3 if args.output else 2) as step:
        step(f"opening {_name(args.a)} and {_name(args.b)}")
        a, b = wb.open(args.a), wb.open(args.b)
        step("matching the nodes")
        found = wb.diff(a, b)
        differences = found.to_frame()
        identical = found.identical
        summary = found.summary()
        written = None
        if args.output:
            step(f"writing {_name(args.output)}")
            written = found.to_html(args.output)
    lines = [summary]
    if written is not None:
        lines.append(f"view: {written}")
    lines.append("identical" if identical else f"{len(differences)} difference(s)")
    cases = []
    for kind, title in (("node", "nodes"), ("weight", "weights"), ("metadata", "model fields")):
        rows = differences[differences.kind == kind]
        listed = [_difference_text(row) for row in rows.itertuples()]
        failure = None
        if listed:
            more = f"; and {len(listed) - _LISTED} more" if len(listed) > _LISTED else ""
            failure = f"{title}: {len(listed)} differ: " + "; ".join(listed[:_LISTED]) + more
        cases.append(_Case(title, failure=failure, details="\n".join(listed)))
    figures = {"a": args.a, "b": args.b, "identical": identical, "nodes": found.counts,
               "weights": {status: int(n) for status, n in found.weights.status.value_counts().items()},
               "differences": differences.to_dict("records"), "view": None if written is None else str(written),
               "summary": summary}
    return _Outcome(PASS if identical else FOUND, "\n".join(lines), figures, cases)


def _difference_text(row: Any) -> str:
    """One row of ``Diff.to_frame()`` in words."""
    if row.kind == "metadata":
        return f"{row.what}: {row.a} → {row.b}"
    where = row.b if isinstance(row.b, str) else row.a
    return f"{row.status} {row.kind} {where}: {row.what}"


# ---- check ---------------------------------------------------------------------------------------------


@_command
def _check(args: argparse.Namespace) -> _Outcome:
    """``wb.verify_analysis``: exit 0 when the saved outputs reproduce, 1 when they do not."""
    import workbench as wb

    with _steps("check", 1) as step:
        step(f"re-running {_name(args.folder)}")
        verification = wb.verify_analysis(args.folder, provider=args.provider, rtol=args.rtol, atol=args.atol)
    return _check_outcome(verification)


def _check_outcome(verification: Verification) -> _Outcome:
    """The verdict, text, figures and one testcase per output checked (and one for the model copy)."""
    outputs = verification.outputs
    cases = []
    for name, row in outputs.iterrows():
        if bool(row.ok):
            cases.append(_Case(str(name), details=f"max abs {row.max_abs:.3g}, max rel {row.max_rel:.3g}"))
            continue
        missing = row.get("missing")
        why = (f"missing from the {missing} outputs" if isinstance(missing, str)
               else "another shape" if bool(row.shape_mismatch)
               else f"max abs {row.max_abs:.3g}, max rel {row.max_rel:.3g}")
        cases.append(_Case(str(name), failure=f"{name}: {why} beyond rtol={verification.rtol:g}, "
                                               f"atol={verification.atol:g}", details=verification.explanation))
    changed = verification.environment[verification.environment.kind == "model"]
    cases.append(_Case("model copy", failure=(f"changed since the analysis was saved: {', '.join(changed.index)}"
                                              if verification.model_changed else None)))
    text = repr(verification) + "\nverdict: " + ("pass" if verification.ok else "fail")
    figures = {
        "path": str(verification.path), "ok": verification.ok, "explanation": verification.explanation,
        "provider": verification.provider, "rtol": verification.rtol, "atol": verification.atol,
        "model_changed": verification.model_changed,
        "outputs": [{"output": name, **row} for name, row in outputs.to_dict("index").items()],
        "environment": [{"key": key, **row} for key, row in verification.environment.to_dict("index").items()],
    }
    return _Outcome(PASS if verification.ok else FOUND, text, figures, cases)


# ---- sweep ---------------------------------------------------------------------------------------------


@_command
def _sweep(args: argparse.Namespace) -> _Outcome:
    """``wb.sweep``: the failing measurements; with ``--store``, the regressions since the last run."""
    import workbench as wb

    if args.fail_on == "regression" and not args.store:
        raise UsageError("--fail-on regression compares with the store's previous run: give --store DIR.")
    inputs = (int(args.inputs[0]) if len(args.inputs) == 1 and args.inputs[0].isdigit()
              else [_read_npz(path) for path in args.inputs])
    table = wb.sweep(args.models, inputs, providers=args.providers, variants=args.variants,
                     checks=args.checks, executor=args.executor, workers=args.workers, threads=args.threads,
                     reference_provider=args.reference_provider, rtol=_tolerance(args.rtol, 1e-4, args.variants),
                     atol=_tolerance(args.atol, 1e-5, args.variants), runs=args.runs, save=args.save,
                     store=args.store, run=args.run, address=args.address)
    regressions = None
    if args.store:
        history = wb.read_sweeps(args.store)  # read once: tonight's run is the last
        runs = list(dict.fromkeys(history["run"]))
        if len(runs) > 1:
            changes = wb.sweep_compare(history[history["run"] == runs[-2]], table)
            regressions = changes[changes.regression]
    bad = table[table.verdict != "pass"]
    cases = []
    for (model, variant, provider), rows in table.groupby(["model", "variant", "provider"], sort=False):
        failing, errors = rows[rows.verdict == "fail"], rows[rows.verdict == "error"]
        failure = error = None
        if not failing.empty:
            first = failing.iloc[0]
            failure = (f"{failing.input.nunique()} input(s) off, first input {first.input}: "
                       f"{first.detail if isinstance(first.detail, str) else first.metric}")
        if not errors.empty:
            error = "; ".join(str(d) for d in errors.detail.dropna().unique())
        cases.append(_Case(f"{model} {variant} {provider}", failure=failure, error=error))
    lines = [f"{table.groupby(['model', 'variant', 'provider']).ngroups} case(s), {len(table)} measurement(s): "
             + ", ".join(f"{n} {verdict}" for verdict, n in table.verdict.value_counts().items())]
    if not bad.empty:
        shown = bad.drop_duplicates(["model", "variant", "provider", "input", "check"])
        lines += ["", "not passing:", shown[["model", "variant", "provider", "input", "check", "verdict",
                                              "root_cause", "detail"]].to_string(index=False)]
    if "run" in table.attrs:
        lines.append(f"stored as run {table.attrs['run']} in {args.store}")
    if regressions is not None:
        lines.append(f"regressions since the previous run: {len(regressions)}")
        if not regressions.empty:
            lines.append(regressions[["model", "variant", "provider", "input", "check", "metric", "old", "new",
                                      "why"]].to_string(index=False))
        cases.append(_Case("regressions", failure=(f"{len(regressions)} measurement(s) got worse"
                                                   if not regressions.empty else None)))
    if args.fail_on == "regression":
        found = regressions is not None and not regressions.empty
    else:
        found = not bad.empty
    lines.append("verdict: " + ("fail" if found else "pass"))
    figures = {"models": args.models, "run": table.attrs.get("run"), "counts": table.verdict.value_counts().to_dict(),
               "rows": table.to_dict("records"),
               "regressions": None if regressions is None else regressions.to_dict("records")}
    return _Outcome(FOUND if found else PASS, "\n".join(lines), figures, cases)


def _tolerance(given: list[str] | None, default: float, variants: list[str]) -> float | dict[str, float]:
    """``--atol 1e-5 --atol fp16=1e-2`` as ``wb.sweep`` takes it: one number, or one per variant."""
    overall, per_variant = default, {}
    for item in given or []:
        variant, _, number = item.rpartition("=")
        try:
            value = float(number)
        except ValueError:
            raise UsageError(f"tolerance {item!r}: a number, or VARIANT=NUMBER (fp16=1e-2).") from None
        if variant:
            per_variant[variant] = value
        else:
            overall = value
    unknown = sorted(set(per_variant) - set(variants))
    if unknown:
        raise UsageError(f"tolerance for {unknown}, which --variants does not list ({', '.join(variants)}).")
    return {v: per_variant.get(v, overall) for v in variants} if per_variant else overall


# ---- output: JSON, JUnit, progress, warnings ------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    """``value`` as plain JSON data: numpy numbers as numbers, NaN as null, infinities as the strings
    ``"inf"`` and ``"-inf"`` (strict JSON has neither), tuples and arrays as lists, the rest as text."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else value
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return _jsonable(value.tolist())
    if value.__class__.__name__ in ("NAType", "NaTType"):  # pandas' missing values
        return None
    return str(value)


def _write_junit(path: Path, command: str, cases: list[_Case], seconds: float) -> None:
    """Writes one ``<testsuite name="workbench COMMAND">`` in a ``<testsuites>`` root (what CI tools read)."""
    import xml.etree.ElementTree as ET

    def clean(text: str) -> str:
        return _NOT_XML.sub("?", text)

    counts = {"tests": len(cases), "failures": sum(c.failure is not None for c in cases),
              "errors": sum(c.error is not None for c in cases), "skipped": sum(c.skipped is not None for c in cases)}
    root = ET.Element("testsuites", {k: str(v) for k, v in counts.items()}, time=f"{seconds:.3f}")
    suite = ET.SubElement(root, "testsuite", {"name": f"workbench {command}", **{k: str(v) for k, v in counts.items()},
                                              "time": f"{seconds:.3f}"})
    for case in cases:
        element = ET.SubElement(suite, "testcase", classname=f"workbench.{command}", name=clean(case.name),
                                time=f"{case.seconds:.6f}")
        for tag, message in (("failure", case.failure), ("error", case.error), ("skipped", case.skipped)):
            if message is not None:
                ET.SubElement(element, tag, message=clean(message)).text = clean(case.details or message)
        if case.details and case.failure is None and case.error is None:
            ET.SubElement(element, "system-out").text = clean(case.details)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def _name(path: str) -> str:
    """A file's name, as a progress bar shows it (a whole path would crowd the bar out of its line)."""
    return Path(path).name or path


def _on_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal (a replaced or closed stream is not)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # replaced, or closed
        return False


@contextmanager
def _bars_on_terminal_only() -> Iterator[None]:
    """No tqdm bar at all unless stderr is a terminal: the API's bars leave ``disable`` at tqdm's
    default (write anywhere), and tqdm takes ``TQDM_DISABLE`` as that default when it is first
    imported. (A process that imported tqdm before calling :func:`main` keeps its bars.)"""
    if _on_terminal(sys.stderr):
        yield
        return
    before = os.environ.get("TQDM_DISABLE")
    os.environ["TQDM_DISABLE"] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TQDM_DISABLE", None)
        else:
            os.environ["TQDM_DISABLE"] = before


@contextmanager
def _steps(command: str, total: int) -> Iterator[Callable[[str], None]]:
    """A bar over the command's ``total`` steps on stderr, on a terminal only (``disable=None``);
    calling what it yields starts the next step, named. The bar is cleared when done."""
    from tqdm import tqdm

    bar = tqdm(total=total, desc=f"workbench {command}", unit="step", leave=False, disable=None, file=sys.stderr)
    begun = False

    def step(text: str) -> None:
        nonlocal begun
        if begun:
            bar.update(1)
        begun = True
        bar.set_description_str(f"workbench {command}: {text}")

    try:
        yield step
    finally:
        bar.close()


def _warning_printer(command: str) -> Callable[..., None]:
    """``warnings.showwarning`` as one line, ``workbench COMMAND: warning: …``: a user of the command
    line has no use for the file and line inside the package that warned."""
    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int, file: TextIO | None = None,
             line: str | None = None) -> None:
        print(f"workbench {command}: warning: {message}", file=sys.stderr)

    return show
