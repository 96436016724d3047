"""One case of a sweep, where it runs: a worker process of this machine or a Ray actor.

A case is one model in one variant on one provider, over every input of the sweep: its sessions
are made once and kept by the process for the cases after it (the fp32 reference's outputs
too, which every variant and provider of a model compares with). Outputs are compared with
the reference's first; only an input whose outputs are off gets the full per-node comparison
that names the root cause, and, when asked, a saved analysis folder.

A case is described by a JSON-able ``spec`` (see :func:`run_case`) and returns its rows as plain
dicts: both executors ship it as is, and nothing heavier than file paths crosses processes.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import re
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..errors import UsageError, WorkbenchError

#: Tidy columns of a sweep's table, in order.
COLUMNS = ["model", "variant", "provider", "input", "check", "metric", "value", "verdict", "root_cause", "detail",
           "case"]
#: Output metrics a compare check reports per input: the worst over the model's outputs.
COMPARE_METRICS = ("max_abs", "max_rel", "rel_l2")
#: Precisions a variant names, and onnxruntime levels it may add (``"fp16+all"``).
PRECISIONS = ("fp32", "fp16", "int8", "int8-dynamic")
#: Models, converted variants and reference outputs a process keeps for the cases after it.
KEPT = 16

_kept: OrderedDict[tuple, Any] = OrderedDict()


def parse_variant(variant: str) -> tuple[str, str]:
    """``"fp16+all"`` → (``"fp16"``, ``"all"``); a bare precision runs the graph as authored."""
    from ..runtime.internal import LEVELS

    precision, _, level = variant.partition("+")
    if precision not in PRECISIONS or (level and level not in LEVELS) or variant.count("+") > 1:
        raise UsageError(f"variant {variant!r}: name a precision {PRECISIONS}, optionally with an onnxruntime "
                         f"optimization level after '+' ({', '.join(LEVELS)}), e.g. 'fp16+all'.")
    return precision, level or "disabled"


def run_case(spec: Mapping[str, Any], feeds: Sequence[Mapping[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The rows of one case.

    ``spec`` keys: ``model`` (its name in the table), ``reference`` and ``candidate`` (model
    files; the same file for a plain model), ``variant``, ``provider``, ``reference_provider``,
    ``checks`` (``"compare"``, ``"profile"`` or ``"module:function"`` of a custom check),
    ``inputs`` (``{"random": n, "dims": {...}}`` or ``{"files": [npz, …]}``), ``rtol``, ``atol``,
    ``runs`` (profile), ``threads`` (intra-op threads of this process's sessions) and ``save``
    (a folder for failing cases, or None). ``feeds`` replace ``inputs`` when given (Ray ships them
    through its object store).

    A failure of the case's own setup (the model does not load, the conversion fails) is one
    row of verdict ``error``; a failure of one check is that check's error row. Nothing here
    catches a native crash: the executor does, and fails this case alone.
    """
    from ..runtime.internal import THREADS_VARIABLE

    os.environ[THREADS_VARIABLE] = str(spec["threads"])  # every session this process makes from now
    try:
        precision, level = parse_variant(spec["variant"])
        reference = _model(spec["reference"])
        feeds = list(feeds) if feeds is not None else _feeds(reference, spec["inputs"])
        candidate = _variant(spec["candidate"], precision, feeds)
    except Exception as exc:  # noqa: BLE001 - whatever stops the case is its row, not the sweep's end
        return [row(spec, None, "setup", "error", math.nan, "error", detail=_words(exc))]
    rows: list[dict[str, Any]] = []
    for check in spec["checks"]:
        try:
            if check == "compare":
                rows += _compare(spec, reference, candidate, level, feeds)
            elif check == "profile":
                rows += _profile(spec, candidate, level, feeds)
            else:
                rows += _custom(spec, check, reference, candidate, feeds)
        except Exception as exc:  # noqa: BLE001 - one check's failure is its row; the others still run
            rows.append(row(spec, None, check, "error", math.nan, "error", detail=_words(exc)))
    return rows


def run_case_to_file(spec: Mapping[str, Any], out: str) -> None:
    """:func:`run_case` in a worker process of this machine: the rows go to ``out`` as JSON."""
    Path(out).write_text(json.dumps(run_case(spec)), encoding="utf-8")


# ---- the checks ----------------------------------------------------------------------------------
def _compare(spec: Mapping[str, Any], reference: Any, candidate: Any, level: str,
             feeds: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per input: the worst output errors against the fp32 reference, and for an input off, the
    root cause from the per-node comparison (and its analysis folder)."""
    from ..comparison import error_metrics

    names = [o.name for o in reference.proto.graph.output]
    missing = sorted(set(names) - {o.name for o in candidate.proto.graph.output})
    if missing:
        raise WorkbenchError(f"The candidate has no output {missing[0]!r} that the reference has; a sweep compares "
                             "outputs by name, so both models must name them alike.")
    run_reference = _session((spec["reference"], "fp32"), reference, spec["reference_provider"], "disabled",
                             spec["threads"])
    run_candidate = _session((spec["candidate"], spec["variant"]), candidate, spec["provider"], level, spec["threads"])
    # the reference's outputs, by input: one entry for the model, kept for its other variants and providers
    expected_outputs: dict[int, list[Any]] = _kept_value(
        ("outputs", spec["reference"], spec["reference_provider"], json.dumps(spec["inputs"])), dict)
    rows = []
    for i, inputs in enumerate(feeds):
        if i not in expected_outputs:
            expected_outputs[i] = run_reference(names, inputs)
        expected = expected_outputs[i]
        got = run_candidate(names, inputs)
        errors = [error_metrics(np.asarray(e), np.asarray(g), rtol=spec["rtol"], atol=spec["atol"])
                  for e, g in zip(expected, got)]
        ok = all(e["ok"] for e in errors)
        cause, detail, case = (None, None, None) if ok else _diagnose(spec, reference, candidate, level, inputs, i)
        for metric in COMPARE_METRICS:
            value = max((float(e[metric]) for e in errors), default=0.0, key=_nan_last)
            rows.append(row(spec, i, "compare", metric, value, "pass" if ok else "fail", cause, detail, case))
    return rows


def _diagnose(spec: Mapping[str, Any], reference: Any, candidate: Any, level: str, inputs: Mapping[str, Any],
              index: int) -> tuple[str | None, str, str | None]:
    """The root cause of an input whose outputs are off: (node, in words, analysis folder)."""
    from ..comparison import Run, compare

    report = compare(reference, inputs, reference=Run(reference, spec["reference_provider"]),
                     candidate=Run(candidate, spec["provider"], level), rtol=spec["rtol"], atol=spec["atol"])
    row = report.root_cause if report.root_cause is not None else report.first_divergence
    if row is None:
        cause, detail = None, "outputs off, but no compared value inside the graph is: " + report.summary()
    else:
        cause = str(row["node"])
        where = f" in {row['scope']}" if isinstance(row.get("scope"), str) and row["scope"] else ""
        detail = (f"{row['status']}: {row['op_type']} {row['node']}{where}, max_abs {float(row['max_abs']):.3g}"
                  + (f" ({row['note']})" if isinstance(row.get("note"), str) and row["note"] else ""))
    case = None
    if spec["save"]:
        from ..analysis import save_analysis

        folder = Path(spec["save"]) / _case_name(spec, index)
        save_analysis(folder, candidate, inputs, provider=spec["provider"], optimization=level, rtol=spec["rtol"],
                      atol=spec["atol"], results={"compare": report.table}, overwrite=True,
                      notes=f"Sweep case: {spec['model']} {spec['variant']} on {spec['provider']}, input {index}, "
                            f"against the fp32 model on {spec['reference_provider']}. {report.summary()}")
        case = str(folder)
    return cause, detail, case


def _profile(spec: Mapping[str, Any], candidate: Any, level: str,
             feeds: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The candidate's latency on the first input; the op type that takes most of it."""
    from ..profiling import profile

    p = profile(candidate, feeds[0], provider=spec["provider"], optimization=level if level != "disabled" else "all",
                runs=spec["runs"], threads=spec["threads"])
    slowest = p.ops.index[0] if not p.ops.empty else None
    detail = f"{slowest}: {p.ops['share'].iloc[0]:.0%} of kernel time" if slowest is not None else None
    return [row(spec, None, "profile", f"latency_{key}_ms", p.latency[key] / 1e3, "pass", slowest, detail)
            for key in ("median", "p90")]


def _custom(spec: Mapping[str, Any], check: str, reference: Any, candidate: Any,
            feeds: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A check of the user's, ``module:function(reference, candidate, inputs, provider)`` per
    input, returning ``{metric: value}``; an ``AssertionError`` is a fail, with its words."""
    module, _, name = check.partition(":")
    function: Callable[..., Mapping[str, float]] = getattr(importlib.import_module(module), name)
    rows = []
    for i, inputs in enumerate(feeds):
        try:
            values, verdict, detail = dict(function(reference, candidate, inputs, spec["provider"])), "pass", None
        except AssertionError as exc:
            values, verdict, detail = {"assertion": math.nan}, "fail", str(exc) or "assertion failed"
        rows += [row(spec, i, name, metric, float(value), verdict, detail=detail) for metric, value in values.items()]
    return rows


# ---- what a process keeps ------------------------------------------------------------------------
def _kept_value(key: tuple, make: Callable[[], Any]) -> Any:
    if key in _kept:
        _kept.move_to_end(key)
        return _kept[key]
    value = _kept[key] = make()
    while len(_kept) > KEPT:
        _kept.popitem(last=False)
    return value


def _model(path: str) -> Any:
    from ..model import open as open_model

    return _kept_value(("model", path, os.stat(path).st_mtime_ns), lambda: open_model(path))


def _variant(path: str, precision: str, feeds: Sequence[Mapping[str, Any]]) -> Any:
    """The model at ``path`` converted to ``precision`` (int8 calibrated on the sweep's inputs)."""
    if precision == "fp32":
        return _model(path)

    def convert() -> Any:
        from ..model import as_model
        from ..precision import Recipe

        return as_model(Recipe(precision).apply(_model(path), calibration=feeds if precision == "int8" else None))

    return _kept_value(("variant", path, os.stat(path).st_mtime_ns, precision, len(feeds)), convert)


def _session(which: tuple[str, str], model: Any, provider: str, level: str, threads: int) -> Callable[..., list[Any]]:
    """A runner of the model's outputs (``run(names, feeds)``), kept for the cases after this one."""
    from ..runtime.internal import SessionRunner, make_runner, resolve, session_error, session_options

    def make() -> Callable[..., list[Any]]:
        import onnxruntime as ort

        providers = resolve(provider)
        if not providers:  # onnx's reference evaluator: it has no optimization levels
            return make_runner(model.proto, [], problems=model.problems)
        try:
            # by path where there is one: external weights load from beside it
            source = str(model.path) if model.path is not None else model.proto.SerializeToString()
            session = ort.InferenceSession(source, session_options(level, threads), providers=providers)
        except Exception as exc:  # noqa: BLE001 - the runtime's many exception types: one typed error
            raise session_error(exc, "onnxruntime could not load the model", model.problems) from exc
        return SessionRunner(session, model.problems)  # every kind of value, as the debugger reads them

    return _kept_value(("session", *which, provider, level, threads), make)


def _feeds(reference: Any, inputs: Mapping[str, Any]) -> list[dict[str, Any]]:
    from ..runtime import random_inputs

    if "files" in inputs:
        with_arrays = []
        for file in inputs["files"]:
            with np.load(file, allow_pickle=False) as archive:
                with_arrays.append({name: archive[name] for name in archive.files})
        return with_arrays
    return [random_inputs(reference, dims=inputs.get("dims"), seed=seed) for seed in range(inputs["random"])]


# ---- rows ----------------------------------------------------------------------------------------
def row(spec: Mapping[str, Any], index: int | None, check: str, metric: str, value: float, verdict: str,
         root_cause: str | None = None, detail: str | None = None, case: str | None = None) -> dict[str, Any]:
    return {"model": spec["model"], "variant": spec["variant"], "provider": spec["provider"], "input": index,
            "check": check, "metric": metric, "value": value, "verdict": verdict, "root_cause": root_cause,
            "detail": detail, "case": case}


def _words(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, WorkbenchError) else f"{type(exc).__name__}: {exc}"


def _nan_last(value: float) -> float:
    return float("inf") if value != value else value


def _case_name(spec: Mapping[str, Any], index: int) -> str:
    """A folder name for a failing case, from names the user chose: letters, digits, ``-._`` only."""
    raw = f"{spec['model']}-{spec['variant']}-{spec['provider']}-input{index}"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", raw)


def crashed_row(spec: Mapping[str, Any], words: str) -> dict[str, Any]:
    """The one row of a case whose worker died in it."""
    return row(spec, None, "case", "error", math.nan, "error", detail=words)
