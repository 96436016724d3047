"""``wb.sweep``: every model × variant × provider × input, checked, as one tidy table."""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence, Union

import numpy as np
import pandas as pd

from ..errors import UsageError
from ._case import COLUMNS, COMPARE_METRICS, parse_variant
from ._executors import run_local, run_ray

#: What ``checks=`` names besides a function of the user's.
CHECKS = ("compare", "profile")
#: Executors: worker processes of this machine, or a Ray cluster.
EXECUTORS = ("local", "ray")

Check = Union[str, Callable[..., Mapping[str, float]]]
#: A tolerance for every variant, or one per variant (``{"fp32": 1e-5, "fp16": 1e-2}``).
Tolerance = Union[float, Mapping[str, float]]


def sweep(models: Mapping[str, Any] | Iterable[Any], inputs: int | Sequence[Mapping[str, Any]] = 1, *,
          providers: Sequence[str] = ("cpu",), variants: Sequence[str] = ("fp32",),
          checks: Sequence[Check] = ("compare",), executor: str = "local", workers: int | None = None,
          threads: int = 1,
          reference_provider: str = "cpu", rtol: Tolerance = 1e-4, atol: Tolerance = 1e-5, runs: int = 20,
          dims: Mapping[str, int] | None = None, save: str | os.PathLike | None = None,
          store: str | os.PathLike | None = None, run: str | None = None, address: str | None = None,
          gpus: float = 0) -> pd.DataFrame:
    """Checks every model in every variant on every provider over every input, in parallel.

    Each case (one model, variant and provider, over all the inputs) runs in a worker: its
    sessions are made once, its outputs compared with the fp32 model's on ``reference_provider``
    input by input, and only an input whose outputs are off gets the per-node comparison that
    names its root cause (:func:`workbench.compare`).

    Args:
        models: model files, :class:`~workbench.Model` s or protos, named by file (or graph)
            name; or a mapping name → model. A pair ``(reference, candidate)`` in place of a model
            compares the candidate (a new export, say) with the reference (the last good one):
            variants then convert the candidate.
        inputs: how many random input sets (seeds 0, 1, …, with ``dims``), or the feed dicts
            themselves (every model gets the same; tensors only).
        providers: where the variants run (``"cpu"``, ``"cuda"``, …).
        variants: a precision, ``"fp32"``, ``"fp16"``, ``"int8"`` (static Q/DQ, calibrated on the
            inputs) or ``"int8-dynamic"``, optionally with an onnxruntime optimization level:
            ``"fp32+all"`` runs the graph onnxruntime optimizes. Without a level, ``compare`` runs
            the graph as authored and ``profile`` at ``"all"``, as a deployed session would.
        checks: ``"compare"`` (per input: ``max_abs``, ``max_rel`` and ``rel_l2`` of the worst
            output, verdict by ``rtol``/``atol`` as in ``numpy.allclose``, each a number or one per
            variant: ``atol={"fp32": 1e-5, "fp16": 1e-2, "int8": 5e-2}``), ``"profile"`` (latency
            median and p90 in ms over ``runs`` runs on the first input; the op type taking the most
            time), or a function
            ``check(reference, candidate, inputs, provider) -> {metric: value}`` defined in an
            importable module (not a notebook), called per input; an ``AssertionError`` from it is
            a fail, with its message.
        executor: ``"local"``: worker processes of this machine; ``"ray"``: actors on a Ray
            cluster (``address``, or a local cluster started here; ``pip install
            'onnx-workbench[ray]'``).
        workers: how many cases run at once (default: one per ``threads`` cores here, or per
            ``threads`` CPUs of the Ray cluster).
        threads: intra-op threads of each worker's sessions (a Ray actor asks for as many CPUs).
            One by default, whatever the machine: onnxruntime's parallel reductions round
            differently with another thread count, so a sweep's values then do not depend on
            where it ran (fp16 ``tiny_bert``: ``max_rel`` 4.7194 on 1 thread, 4.7134 on 2), and
            many cases keep every core busy anyway. More threads suit a few large models.
        save: a folder where each failing input is saved as an analysis folder
            (:func:`workbench.save_analysis` of the candidate, its inputs and the comparison),
            named ``model-variant-provider-inputN``; the table's ``case`` column gives it.
        store: a Parquet dataset folder the table is appended to, as run ``run`` (default: the
            time, UTC); :func:`read_sweeps` reads every run back, :func:`sweep_compare` compares two.
        address: the Ray cluster to join (``"auto"``, ``"ray://host:10001"``).
        gpus: GPUs per Ray actor (``1`` places each on a GPU of its own).

    Returns:
        One row per measurement: ``model``, ``variant``, ``provider``, ``input`` (the input set's
        number; empty for a measurement over the case), ``check``, ``metric``, ``value``,
        ``verdict`` (``pass``, ``fail`` or ``error``), ``root_cause`` (the node a failing input's
        comparison names; for ``profile``, the slowest op type), ``detail`` (in words: the cause,
        or the error) and ``case`` (its analysis folder). A case whose worker dies (a native crash
        of the runtime) is one ``error`` row; the others still run. With ``store``, the run's
        name is in ``table.attrs["run"]``.
    """
    if executor not in EXECUTORS:
        raise UsageError(f"executor={executor!r}: use 'local' (worker processes here) or 'ray'.")
    if (workers is not None and workers < 1) or threads < 1:
        raise UsageError(f"workers={workers}, threads={threads}: at least 1 of each.")
    for variant in variants:
        parse_variant(variant)
    names = [_check_name(c) for c in checks]
    tolerances = (_per_variant(rtol, "rtol", variants), _per_variant(atol, "atol", variants))
    from ..runtime.internal import cores, resolve

    for provider in {reference_provider, *providers}:
        resolve(provider)  # a provider this onnxruntime lacks: its typed error, before any work
    if store is not None:
        from ._history import check_store

        check_store(store, run)
    with tempfile.TemporaryDirectory(prefix="workbench-sweep-") as folder:
        pairs = _models(models, Path(folder))
        feeds, spec_inputs = _inputs(inputs, dims, Path(folder), shipped=executor == "ray")
        count = max(1, min(workers or cores() // threads, len(pairs) * len(variants) * len(providers)))
        base = {"checks": names, "inputs": spec_inputs, "runs": int(runs), "reference_provider": reference_provider,
                "threads": threads, "save": str(Path(save).resolve()) if save is not None else None}
        specs = [dict(base, model=name, reference=ref, candidate=cand, variant=variant, provider=provider,
                      rtol=tolerances[0][variant], atol=tolerances[1][variant])
                 for name, (ref, cand) in pairs.items() for variant in variants for provider in providers]
        # largest models first: a long case started last would keep one worker busy after the others
        # are done (the table's order does not depend on it)
        specs.sort(key=lambda spec: -os.path.getsize(str(spec["candidate"])))
        done = (run_local(specs, count) if executor == "local"
                else run_ray(specs, workers, address, gpus, feeds))
        from tqdm.auto import tqdm

        rows = [row for _, case in tqdm(done, total=len(specs), desc="sweep", unit="case") for row in case]
    table = _tidy(rows, list(pairs), variants, providers, names)
    if store is not None:
        from ._history import append

        table.attrs["run"] = append(store, table, run)
    return table


def _check_name(check: Check) -> str:
    """A check as the workers name it: ``compare``, ``profile`` or ``module:function``."""
    if isinstance(check, str):
        if check not in CHECKS:
            raise UsageError(f"check {check!r}: use one of {CHECKS}, or a function of (reference, candidate, "
                             "inputs, provider) returning {metric: value}.")
        return check
    module, name = getattr(check, "__module__", None), getattr(check, "__qualname__", "")
    if not callable(check) or module in (None, "__main__") or "<" in name or "." in name:
        raise UsageError(f"check {check!r}: a function of your own must be defined at the top of an importable "
                         "module (not in a notebook or inside another function): the workers import it by name.")
    return f"{module}:{name}"


def _per_variant(tolerance: Tolerance, what: str, variants: Sequence[str]) -> dict[str, float]:
    """A tolerance for each variant, from one number or a mapping that names every variant."""
    if not isinstance(tolerance, Mapping):
        tolerance = dict.fromkeys(variants, tolerance)
    missing = [v for v in variants if v not in tolerance]
    if missing:
        raise UsageError(f"{what} names no tolerance for the variant(s) {missing}: give one for each variant, or "
                         "one number for all.")
    values = {v: float(tolerance[v]) for v in variants}
    if any(not value >= 0 for value in values.values()):
        raise UsageError(f"{what}={dict(tolerance)!r}: a tolerance is a number of at least 0.")
    return values


def _models(models: Mapping[str, Any] | Iterable[Any], folder: Path) -> dict[str, tuple[str, str]]:
    """Each model's name and (reference, candidate) files; models held in memory are saved here."""
    items = list(models.items()) if isinstance(models, Mapping) else [(None, m) for m in models]
    if not items:
        raise UsageError("sweep() got no model: pass model files, Models, or a mapping name → model.")
    named: dict[str, tuple[str, str]] = {}
    for i, (name, item) in enumerate(items):
        pair = item if isinstance(item, tuple) and len(item) == 2 else (item, item)
        reference = _file(pair[0], folder / f"model{i}-reference.onnx")
        candidate = reference if pair[1] is pair[0] else _file(pair[1], folder / f"model{i}-candidate.onnx")
        label = str(name) if name is not None else _name(pair[1], i)
        if label in named:
            raise UsageError(f"Two models are named {label!r}: pass a mapping name → model to tell them apart.")
        named[label] = (reference, candidate)
    return named


def _file(model: Any, target: Path) -> str:
    """A file holding ``model``: its own path where it has one, else ``target``, written now."""
    import onnx

    from ..model import Model, as_model

    if isinstance(model, (str, os.PathLike)):
        path = Path(model)
        if not path.is_file():
            raise UsageError(f"No model file at {str(path)!r}: check the path.")
        return str(path.resolve())
    if isinstance(model, bytes):
        target.write_bytes(model)
        return str(target)
    if not isinstance(model, onnx.ModelProto):  # a Model, or what wb.open takes (a torch ONNXProgram…)
        m = model if isinstance(model, Model) else as_model(model)
        if m.path is not None:
            return str(Path(m.path).resolve())
        model = m.proto
    onnx.save(model, target)  # a proto is written as it is: the worker opens (and checks) it
    return str(target)


def _name(model: Any, index: int) -> str:
    """A model's name in the table: its file's stem, else its graph's name, else ``model<index>``."""
    if isinstance(model, (str, os.PathLike)):
        return Path(model).stem
    graph = getattr(getattr(model, "proto", model), "graph", None)
    return getattr(graph, "name", "") or f"model{index}"


def _inputs(inputs: int | Sequence[Mapping[str, Any]], dims: Mapping[str, int] | None, folder: Path,
            shipped: bool) -> tuple[list[dict[str, Any]] | None, dict[str, Any]]:
    """The inputs as cases get them: ``(feeds to ship, the spec's "inputs")``."""
    if isinstance(inputs, (int, np.integer)):
        if isinstance(inputs, bool) or inputs < 1:
            raise UsageError(f"inputs={inputs}: at least one input set.")
        return None, {"random": int(inputs), "dims": dict(dims or {})}
    feeds = [dict(f) for f in inputs]
    if not feeds:
        raise UsageError("inputs= takes a number of random input sets, or a list of feed dicts (name → array).")
    if shipped:  # through Ray's object store; the token tells one sweep's inputs from another's
        return feeds, {"shipped": len(feeds), "token": uuid.uuid4().hex}
    files = []
    for i, feed in enumerate(feeds):
        files.append(str(folder / f"inputs{i}.npz"))
        arrays: dict[str, Any] = {k: np.asarray(v) for k, v in feed.items()}
        np.savez(files[-1], **arrays)
    return None, {"files": files}


def _tidy(rows: list[dict[str, Any]], models: list[str], variants: Sequence[str], providers: Sequence[str],
          checks: list[str]) -> pd.DataFrame:
    """The rows as one table, in the sweep's own order (the same whichever case finished first)."""
    table = pd.DataFrame(rows, columns=COLUMNS)
    table["input"] = table["input"].astype("Int64")
    table["value"] = table["value"].astype(float)
    metrics = sorted(table["metric"].unique(), key=lambda m: (COMPARE_METRICS.index(m) if m in COMPARE_METRICS
                                                               else len(COMPARE_METRICS), m))
    ranks = {"model": models, "variant": list(variants), "provider": list(providers),
             "check": [c.rpartition(":")[2] for c in checks], "metric": metrics}

    def order(column: pd.Series) -> pd.Series:
        if column.name == "input":
            return column.fillna(-1)
        rank = {value: i for i, value in enumerate(ranks[str(column.name)])}
        return column.map(rank).fillna(len(rank))  # a row of no check ("case", "setup"): last

    return table.sort_values(["model", "variant", "provider", "check", "input", "metric"], key=order, kind="stable",
                             ignore_index=True)
