"""Saving an analysis as a self-describing folder, and loading it back.

A folder written by :func:`save_analysis` holds everything needed to re-run and check it:

- ``manifest.json``: the format version, when it was written, the environment (package
  versions, Python, platform, CPU, GPU, onnxruntime's providers), the recipe (provider,
  optimization level, tolerances), the model (sha256, original path, the copy's file
  name), the inputs' and outputs' names, dtypes and shapes, the result tables, notes,
  and the sha256 of every file it lists;
- ``model.onnx``: a byte-for-byte copy of the model (its external data files beside it,
  under the locations the model names), or the serialized proto of an in-memory model;
- ``inputs.npz`` and ``outputs.npz``: the inputs, and the outputs of one run of the recipe;
- ``results/<name>.parquet`` (or ``.csv`` without pyarrow): the tables given.

The folder is written under a temporary name beside the target and renamed into place
when complete, so a failed save leaves no half-written analysis — and, with
``overwrite=True``, the old one intact.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
import onnx
import pandas as pd

from ..errors import AnalysisError
from ..model import Model, as_model
from ..model import open as open_model
from ..model.internal import PROTOBUF_LIMIT, external_info, external_tensors, format_bytes, resolve_external
from ..runtime.internal import (
    LEVELS,
    REFERENCE,
    SPECIAL,
    Value,
    check_level,
    from_reference,
    is_special,
    make_feeds,
    resolve,
    run_session,
    session_error,
    session_options,
)
from . import _environment, _tables

if TYPE_CHECKING:
    from ._verify import Verification

#: ``manifest["format"]``: what the folder is.
FORMAT = "onnx-workbench-analysis"
#: ``manifest["version"]``: bumped when the layout changes; older versions stay readable.
FORMAT_VERSION = 1
MANIFEST, MODEL, INPUTS, OUTPUTS, RESULTS = "manifest.json", "model.onnx", "inputs.npz", "outputs.npz", "results"
_RESERVED = {MANIFEST, MODEL, INPUTS, OUTPUTS, RESULTS}
#: The seed of the inputs made when none are given (``wb.random_inputs(model, seed=0)``).
SEED = 0
_TABLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_CHUNK = 1 << 20


@dataclass(eq=False)
class Analysis:
    """A saved analysis, as :func:`load_analysis` reads it back.

    ``manifest`` is ``manifest.json`` as a dict; ``inputs`` and ``outputs`` are the arrays
    of ``inputs.npz`` and ``outputs.npz``, in the model's order; ``results`` the tables, by
    name. ``model`` opens the copy (on first use).
    """

    path: Path
    manifest: dict[str, Any]
    inputs: dict[str, Value] = field(repr=False)
    outputs: dict[str, Value] = field(repr=False)
    _results: dict[str, pd.DataFrame] | None = field(default=None, repr=False)
    _model: Model | None = field(default=None, repr=False)

    @property
    def results(self) -> dict[str, pd.DataFrame]:
        """The result tables, by name (read on first use; :func:`load_analysis` reads them at once)."""
        if self._results is None:
            self._results = {name: _read_result(self.path, name, entry)
                             for name, entry in self.manifest["results"].items()}
        return self._results

    @property
    def model(self) -> Model:
        """The model copy, opened with :func:`workbench.open` (its external data beside it)."""
        if self._model is None:
            self._model = open_model(self.model_path)
        return self._model

    @property
    def model_path(self) -> Path:
        """The model copy's file."""
        return self.path / self.manifest["model"]["file"]

    @property
    def environment(self) -> dict[str, Any]:
        """What the analysis ran on: versions, Python, platform, CPU, GPU, onnxruntime's providers."""
        return self.manifest["environment"]

    @property
    def recipe(self) -> dict[str, Any]:
        """How it ran: provider (as given, and as resolved), optimization level, rtol, atol."""
        return self.manifest["recipe"]

    @property
    def notes(self) -> str:
        """The free text given when it was saved."""
        return self.manifest.get("notes", "")

    def verify(self, provider: str | Sequence[str] | None = None, rtol: float | None = None,
               atol: float | None = None) -> "Verification":
        """Re-runs the recipe here and checks the outputs: see :func:`verify_analysis`."""
        from ._verify import verify_analysis

        return verify_analysis(self, provider=provider, rtol=rtol, atol=atol)

    def _facts(self) -> list[tuple[str, str]]:
        m, recipe, env = self.manifest["model"], self.recipe, self.environment
        data = m.get("external_data", [])
        model = (f"{m.get('name') or '(unnamed)'} — {m['file']}, sha256 {m['sha256'][:12]}…, "
                 f"{format_bytes(m.get('bytes'))}"
                 + (f" (+ {len(data)} external data file{'s' * (len(data) != 1)})" if data else ""))
        facts = [
            ("model", model),
            ("from", m.get("source") or "(in memory)"),
            ("recipe", f"provider {_environment.describe(recipe['providers'])}, optimization {recipe['optimization']}, "
                       f"rtol={recipe['rtol']:g}, atol={recipe['atol']:g}"),
            ("inputs", _describe_values(self.manifest["inputs"]["values"])),
            ("outputs", _describe_values(self.manifest["outputs"]["values"])),
            ("results", ", ".join(f"{name} ({entry['rows']} rows, {entry['format']})"
                                  for name, entry in self.manifest["results"].items()) or "none"),
            ("saved", f"{self.manifest.get('created', '?')} with onnxruntime "
                      f"{env.get('packages', {}).get('onnxruntime', '?')}, Python {env.get('python', '?')} on "
                      f"{env.get('cpu', '?')}" + (f", {', '.join(env['gpu'])}" if env.get("gpu") else "")),
        ]
        if self.notes:
            facts.append(("notes", self.notes))
        return facts

    def summary(self) -> str:
        """A few lines: the model, the recipe, the inputs, outputs and tables, when and where it ran."""
        return "\n".join([f"Analysis {str(self.path)!r}"] + [f"  {k:<8} {v}" for k, v in self._facts()])

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        e = html.escape
        rows = "".join(f"<tr><th style='text-align:left;vertical-align:top'>{e(k)}</th>"
                       f"<td style='text-align:left;white-space:pre-wrap'>{e(v)}</td></tr>" for k, v in self._facts())
        return f"<div class='onnx-workbench-analysis'><h4>Analysis <code>{e(str(self.path))}</code></h4>" \
               f"<table>{rows}</table></div>"


def save_analysis(path: str | os.PathLike, model: Any, inputs: Mapping[str, Any] | None = None, *,
                  provider: str | Sequence[str] = "cpu", optimization: str = "disabled", rtol: float = 1e-4,
                  atol: float = 1e-5, results: Mapping[str, pd.DataFrame | pd.Series] | None = None,
                  notes: str = "", dims: Mapping[str, int] | None = None, results_format: str | None = None,
                  overwrite: bool = False) -> Analysis:
    """Writes a self-describing analysis folder at ``path`` and returns it, loaded back.

    Args:
        path: the folder to write (its parents are created).
        model: a :class:`workbench.Model`, a path to an ``.onnx`` file (external data is
            copied with it), bytes or an ``onnx.ModelProto``.
        inputs: the model's inputs by name; by default ``wb.random_inputs(model, dims=dims, seed=0)``.
        provider: where the recorded run happens: ``"cpu"``, ``"cuda"``, ``"reference"`` (the
            onnx reference evaluator), or an onnxruntime provider list.
        optimization: onnxruntime's graph optimization level for the run (``"disabled"``,
            ``"basic"``, ``"extended"``, ``"layout"``, ``"all"``; the reference evaluator has none).
        rtol, atol: the tolerances :func:`verify_analysis` checks outputs with (``numpy.allclose``).
        results: tables to keep, by name (``{"compare": report.table, "ops": m.ops}``); names
            become file names: letters, digits, ``_``, ``-`` and ``.``.
        notes: free text, kept in the manifest.
        dims: sizes of symbolic input dimensions for the generated inputs.
        results_format: ``"parquet"`` or ``"csv"``; by default Parquet when pyarrow is installed.
        overwrite: replace an existing analysis at ``path``. Without it an existing, non-empty
            folder is refused and left as it is.

    Raises:
        AnalysisError: the folder exists, a table cannot be stored, the model cannot be copied or run,
            a tolerance is not a number of at least 0.
        ValueError: an unknown optimization level.
        workbench.errors.InputError: inputs that do not fit the model.
        workbench.errors.ProviderError: a provider this onnxruntime does not have.
    """
    target = Path(path)
    check_level(optimization)
    providers = _providers(provider)
    rtol, atol = _tolerance("rtol", rtol), _tolerance("atol", atol)
    tables = _check_results(results)
    fmt = _check_format(results_format)
    _check_target(target, overwrite)
    m = as_model(model)
    generated = inputs is None
    feeds = make_feeds(m, None if generated else inputs, dims=dims, seed=SEED)

    target.parent.mkdir(parents=True, exist_ok=True)
    work = _sibling(target, "partial")
    try:
        model_entry = _copy_model(m, work)
        outputs = run_recipe(work / MODEL, feeds, providers, optimization)
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "environment": _environment.environment(),
            "recipe": {"provider": provider if isinstance(provider, str) else list(provider), "providers": providers,
                       "optimization": optimization, "rtol": rtol, "atol": atol},
            "model": model_entry,
            "inputs": {**_write_arrays(work / INPUTS, feeds),
                       "generated": {"seed": SEED, "dims": dict(dims or {})} if generated else None},
            "outputs": _write_arrays(work / OUTPUTS, outputs),
            "results_format": fmt,
            "results": _write_results(work, tables, fmt),
            "notes": str(notes or ""),
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        _move_into_place(work, target, overwrite)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    # what was just written and hashed: no need to read it all back
    return Analysis(target, manifest, dict(feeds), outputs)


def load_analysis(path: str | os.PathLike) -> Analysis:
    """Reads an analysis folder written by :func:`save_analysis`.

    Every file the manifest lists is checked against its recorded sha256.

    Raises:
        AnalysisError: the folder, the manifest, the model copy or an array file is missing
            or corrupted, or a file changed since the analysis was saved. The message names
            the file and what to do.
    """
    analysis = read(Path(path), check_model=True)[0]
    analysis.results  # noqa: B018 - read now, so that a damaged table is reported here
    return analysis


def read(folder: Path, *, check_model: bool) -> tuple[Analysis, list[tuple[str, str, str]]]:
    """The analysis (result tables not read yet), and the model files whose sha256 changed:
    ``(file, saved, now)``.

    With ``check_model`` a changed model file raises instead (what :func:`load_analysis` does).
    Verifying reads no tables: it needs only the model and the arrays, so an analysis whose
    tables are Parquet verifies where pyarrow is missing.
    """
    manifest = _read_manifest(folder)
    changed = _check_model_files(folder, manifest, raise_on_change=check_model)
    inputs = _read_arrays(folder, manifest["inputs"], "inputs")
    outputs = _read_arrays(folder, manifest["outputs"], "outputs")
    return Analysis(folder, manifest, inputs, outputs), changed


def run_recipe(model_file: Path, feeds: Mapping[str, Value], providers: Sequence[str],
               optimization: str) -> dict[str, Value]:
    """One run of the model file on ``providers`` (as :func:`_providers` resolves them:
    ``["reference"]`` is onnx's reference evaluator) at ``optimization``: its outputs, by name.

    The model runs from its file, not through the debugger's light copy, so that its external
    data is read where it lies and the optimization level is the recipe's.
    """
    on_reference = list(providers) == [REFERENCE]
    try:
        if on_reference:
            from onnx.reference import ReferenceEvaluator

            proto = onnx.load(str(model_file))  # external data read from beside the file
            evaluator = ReferenceEvaluator(proto)
            names = list(evaluator.output_names)
            declared = {o.name: o.type for o in proto.graph.output}
            values = [from_reference(v, declared.get(n)) for n, v in zip(names, evaluator.run(None, dict(feeds)))]
        else:
            import onnxruntime as ort

            options = session_options(optimization)
            session = ort.InferenceSession(str(model_file), options, providers=list(providers))
            names = [o.name for o in session.get_outputs()]
            values = run_session(session, names, dict(feeds))
    except Exception as exc:  # noqa: BLE001 - any runtime failure: one typed error in the runtime's words
        where = "the onnx reference evaluator" if on_reference else ", ".join(providers)
        raise AnalysisError(str(session_error(exc, f"Running {model_file.name} on {where} failed", ()))) from exc
    return dict(zip(names, values))


def sha256(path: Path) -> str:
    """The hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _copy_hashed(source: Path, target: Path) -> str:
    """Copies ``source`` to ``target``, hashing the bytes on the way: the hex sha256."""
    digest = hashlib.sha256()
    with open(source, "rb") as read, open(target, "wb") as write:
        while chunk := read.read(_CHUNK):
            digest.update(chunk)
            write.write(chunk)
    return digest.hexdigest()


# ---- saving ------------------------------------------------------------------------


def _providers(provider: str | Sequence[str]) -> list[str]:
    resolved = resolve(provider)  # ProviderError before anything is written
    return resolved or [REFERENCE]


def _tolerance(name: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not number >= 0:  # NaN too
        raise AnalysisError(f"{name} must be a number ≥ 0, not {value!r}.")
    return number


def _check_results(results: Mapping[str, Any] | None) -> dict[str, pd.DataFrame]:
    tables: dict[str, pd.DataFrame] = {}
    seen: dict[str, str] = {}
    for name, table in (results or {}).items():
        if not isinstance(name, str) or not _TABLE_NAME.match(name):
            raise AnalysisError(f"Result name {name!r} cannot be a file name: use letters, digits, '_', '-' and '.' "
                                "(not starting with '.' or '-'), e.g. 'compare' or 'ops'.")
        if name.lower() in seen:  # one file on case-insensitive file systems (macOS, Windows)
            raise AnalysisError(f"Result names {seen[name.lower()]!r} and {name!r} differ only in case: rename one.")
        seen[name.lower()] = name
        if isinstance(table, pd.Series):
            table = table.to_frame()
        if not isinstance(table, pd.DataFrame):
            raise AnalysisError(f"Result {name!r} is a {type(table).__name__}; results are pandas DataFrames "
                                "(for a compare Report, pass report.table).")
        tables[name] = table
    return tables


def _check_format(results_format: str | None) -> str:
    if results_format is None:
        return _tables.default_format()
    if results_format not in _tables.FORMATS:
        raise AnalysisError(f"results_format must be one of {list(_tables.FORMATS)} or None, not {results_format!r}.")
    if results_format == "parquet" and _tables.default_format() != "parquet":
        raise AnalysisError("results_format='parquet' needs pyarrow, which is not installed: pip install pyarrow, "
                            "or pass results_format='csv'.")
    return results_format


def _check_target(target: Path, overwrite: bool) -> None:
    if not os.path.lexists(target):
        return
    if not target.is_dir():
        raise AnalysisError(f"{str(target)!r} exists and is not a folder: pick another path for the analysis.")
    if not any(target.iterdir()):
        return  # an empty folder: nothing to lose
    if not overwrite:
        raise AnalysisError(f"{str(target)!r} already exists and is not empty; nothing was changed. Pass "
                            "overwrite=True to replace the analysis there, or choose another path.")
    if not (target / MANIFEST).is_file():
        raise AnalysisError(f"{str(target)!r} holds files but no {MANIFEST}: it is not an analysis folder, so "
                            "overwrite=True does not replace it. Choose another path, or empty it yourself.")


def _move_into_place(work: Path, target: Path, overwrite: bool) -> None:
    """Renames the finished folder to ``target``; the old analysis goes only once the new one is there."""
    if os.path.lexists(target):
        if any(target.iterdir()) and not overwrite:  # appeared while this one was being written
            raise AnalysisError(f"{str(target)!r} was created by someone else during the save; nothing was "
                                "changed there. Save again with another path or overwrite=True.")
        old = _sibling(target, "old")
        os.replace(target, old / "analysis")
        try:
            os.replace(work, target)
        except OSError:
            os.replace(old / "analysis", target)
            raise
        finally:
            shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(work, target)


def _sibling(target: Path, what: str) -> Path:
    """A new hidden folder beside ``target`` (made like any folder: umask permissions, not 0700)."""
    while True:
        folder = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}.{what}"
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder


def _copy_model(m: Model, folder: Path) -> dict[str, Any]:
    """Copies the model (and its external data files) into ``folder``; returns its manifest entry."""
    proto = m.proto
    copy = folder / MODEL
    data_entries = []
    if m.path is not None:
        try:
            digest = _copy_hashed(m.path, copy)  # the file's own bytes: its sha256 is the original file's
        except OSError as exc:
            raise AnalysisError(f"Cannot copy the model file {str(m.path)!r}: {exc.strerror or exc}. Was it moved "
                                "since it was opened? Open it again, or pass its path.") from exc
        locations: dict[str, onnx.TensorProto] = {}
        for tensor in external_tensors(proto):
            locations.setdefault(external_info(tensor).get("location", ""), tensor)
        for location, tensor in sorted(locations.items()):
            source, _, _ = resolve_external(tensor, m.path.parent)  # refuses escapes from the model's folder
            relative = Path(os.path.normpath(location))
            if relative.parts[0] in _RESERVED:
                raise AnalysisError(f"The model keeps external data in {location!r}, a name the analysis folder "
                                    f"uses itself ({', '.join(sorted(_RESERVED))}). Re-save the model with another "
                                    "location: onnx.save(model, path, save_as_external_data=True, "
                                    "location='weights.bin').")
            (folder / relative).parent.mkdir(parents=True, exist_ok=True)
            try:
                data_digest = _copy_hashed(source, folder / relative)
            except OSError as exc:
                raise AnalysisError(f"Cannot copy the model's external data {str(source)!r}: "
                                    f"{exc.strerror or exc}.") from exc
            data_entries.append({"file": relative.as_posix(), "sha256": data_digest,
                                 "bytes": (folder / relative).stat().st_size})
    else:
        if proto.ByteSize() >= PROTOBUF_LIMIT:
            raise AnalysisError("The model is over protobuf's 2 GiB limit and was given in memory: save it with "
                                "external data (onnx.save(model, path, save_as_external_data=True)) and pass the path.")
        data = proto.SerializeToString()
        copy.write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
    return {
        "file": MODEL,
        "sha256": digest,
        "bytes": copy.stat().st_size,
        "source": str(m.path) if m.path is not None else None,
        "name": m.name,
        "producer": " ".join(p for p in (proto.producer_name, proto.producer_version) if p),
        "ir_version": proto.ir_version,
        "opsets": {o.domain or "ai.onnx": o.version for o in proto.opset_import},
        "external_data": data_entries,
    }


def _write_arrays(path: Path, values: Mapping[str, Value]) -> dict[str, Any]:
    """An ``.npz`` as ``numpy.savez`` writes it (any array names, even ``file``); its manifest entry.

    String tensors (numpy object arrays of str) are stored as unicode arrays and turned
    back into object arrays on reading, so nothing needs pickle. ml_dtypes tensors (bfloat16,
    float8, int4) are stored as their bits (``uint8``/``uint16``) and viewed back. A sequence's
    tensors are members ``name/0``, ``name/1``…, a map's ``name/0``… in the order of its
    ``keys``; an empty optional has no member. The manifest describes each value's structure.
    """
    entries = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, value in values.items():
            entry = _describe_value(name, value, name, archive, path)
            entries.append({"name": name, **entry})
    return {"file": path.name, "sha256": sha256(path), "values": entries}


def _describe_value(name: str, value: Value, member: str, archive: zipfile.ZipFile, path: Path) -> dict[str, Any]:
    """Writes the tensors of ``value`` under ``member`` and returns how to read them back."""
    if value is None:
        return {"kind": "optional"}
    if isinstance(value, list):
        return {"kind": "sequence",
                "items": [_describe_value(name, v, f"{member}/{i}", archive, path) for i, v in enumerate(value)]}
    if isinstance(value, dict):
        keys = [k.item() if isinstance(k, np.generic) else k for k in value]
        if not all(isinstance(k, (int, str)) for k in keys):
            raise AnalysisError(f"{name!r} is a map whose keys are neither integers nor strings: it cannot be "
                                f"stored in {path.name}.")
        items = [_describe_value(name, v, f"{member}/{i}", archive, path) for i, v in enumerate(value.values())]
        return {"kind": "map", "keys": keys, "items": items}
    array = np.asarray(value)
    stored = array
    if array.dtype == object:
        if not all(isinstance(v, str) for v in array.flat):
            raise AnalysisError(f"{name!r} holds Python objects, not numbers or strings: it cannot be "
                                f"stored in {path.name}.")
        stored = array.astype(str)
    elif is_special(array.dtype):  # no .npy type for them: their bits, viewed back on reading
        stored = array.view(np.uint16 if array.dtype.itemsize == 2 else np.uint8)
    with archive.open(f"{member}.npy", "w", force_zip64=True) as file:
        np.lib.format.write_array(file, np.ascontiguousarray(stored), allow_pickle=False)
    entry: dict[str, Any] = {"dtype": str(array.dtype), "shape": list(array.shape)}
    return entry if member == name else {"kind": "tensor", "member": member, **entry}


def _write_results(folder: Path, tables: Mapping[str, pd.DataFrame], fmt: str) -> dict[str, Any]:
    entries = {}
    if tables:
        (folder / RESULTS).mkdir()
    for name, table in tables.items():
        try:
            entry = _tables.write_table(table, folder / RESULTS, name, fmt)
        except (TypeError, ValueError, OverflowError, ImportError) as exc:
            raise AnalysisError(f"Result {name!r} cannot be stored as {fmt}: {exc}") from exc
        entry["file"] = f"{RESULTS}/{entry['file']}"
        entry["sha256"] = sha256(folder / entry["file"])
        entries[name] = entry
    return entries


# ---- loading -----------------------------------------------------------------------


def _again(folder: Path) -> str:
    return f"save the analysis again (save_analysis({str(folder)!r}, model=..., overwrite=True))"


def _read_manifest(folder: Path) -> dict[str, Any]:
    if not folder.exists():
        raise AnalysisError(f"No analysis at {str(folder)!r}: the folder does not exist. Check the path (working "
                            f"directory: {os.getcwd()}), or write one with save_analysis({str(folder)!r}, model=...).")
    if not folder.is_dir():
        raise AnalysisError(f"{str(folder)!r} is a file, not an analysis folder: pass the folder save_analysis wrote.")
    file = folder / MANIFEST
    if not file.is_file():
        raise AnalysisError(f"{str(file)!r} is missing, so {str(folder)!r} is not an analysis folder (or was not "
                            f"saved completely). Restore {MANIFEST}, or {_again(folder)}.")
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AnalysisError(f"{str(file)!r} is corrupted: it is not valid JSON ({exc}). It was truncated or "
                            f"edited by hand: restore it, or {_again(folder)}.") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise AnalysisError(f"{str(file)!r} is not the manifest of a workbench analysis (its \"format\" is not "
                            f"{FORMAT!r}). Restore it, or {_again(folder)}.")
    version = manifest.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise AnalysisError(f"{str(file)!r} has format version {version!r}; this workbench reads up to version "
                            f"{FORMAT_VERSION}. Upgrade onnx-workbench (pip install -U onnx-workbench).")
    for key in ("environment", "recipe", "model", "inputs", "outputs", "results",
                "recipe.provider", "recipe.providers", "recipe.optimization", "recipe.rtol", "recipe.atol",
                "model.file", "model.sha256", "inputs.file", "inputs.sha256", "inputs.values",
                "outputs.file", "outputs.sha256", "outputs.values"):
        section, _, leaf = key.partition(".")
        has_leaf = isinstance(manifest.get(section), dict) and leaf in manifest[section]
        if section not in manifest or (leaf and not has_leaf):
            raise AnalysisError(f"{str(file)!r} lacks {key!r}: it was edited or written by something else. "
                                f"Restore it, or {_again(folder)}.")
    if manifest["recipe"]["optimization"] not in LEVELS:
        raise AnalysisError(f"{str(file)!r} names the optimization level {manifest['recipe']['optimization']!r}, "
                            f"not one of {list(LEVELS)}: it was edited. Restore it, or {_again(folder)}.")
    return manifest


def _inside(folder: Path, name: Any, what: str) -> Path:
    """``folder / name``, refused when the manifest points outside the folder."""
    if not isinstance(name, str) or not name or os.path.isabs(name):
        raise AnalysisError(f"{str(folder / MANIFEST)!r} names {what} as {name!r}: refused, files must lie inside "
                            f"the analysis folder. Restore the manifest, or {_again(folder)}.")
    root = folder.resolve()
    path = (root / name).resolve()
    if root not in path.parents:
        raise AnalysisError(f"{str(folder / MANIFEST)!r} names {what} as {name!r}, which is outside the analysis "
                            f"folder: refused. Restore the manifest, or {_again(folder)}.")
    return folder / name


def _check_file(folder: Path, name: Any, what: str) -> tuple[Path, str]:
    """The file's path and its sha256 now; a missing file is an AnalysisError."""
    path = _inside(folder, name, what)
    if not path.is_file():
        raise AnalysisError(f"{str(path)!r} ({what}) is missing from the analysis folder. Restore it, or "
                            f"{_again(folder)}.")
    return path, sha256(path)


def _check_model_files(folder: Path, manifest: dict[str, Any], *, raise_on_change: bool) -> list[tuple[str, str, str]]:
    model = manifest["model"]
    files = [(model["file"], model["sha256"], "the model copy")]
    files += [(e.get("file"), e.get("sha256"), "the model's external data") for e in model.get("external_data", [])]
    changed = []
    for name, recorded, what in files:
        path, now = _check_file(folder, name, what)
        if now != recorded:
            if raise_on_change:
                raise AnalysisError(
                    f"{str(path)!r} ({what}) changed since the analysis was saved: its sha256 is {now[:16]}…, the "
                    f"manifest recorded {str(recorded)[:16]}…. The model is no longer the one analysed: restore the "
                    f"original file, or save the analysis again from the model you mean (save_analysis("
                    f"{str(folder)!r}, model=..., overwrite=True)). verify_analysis still runs it and "
                    "reports the difference.")
            changed.append((str(name), str(recorded), now))
    return changed


def _read_arrays(folder: Path, entry: dict[str, Any], what: str) -> dict[str, Value]:
    path, now = _check_file(folder, entry["file"], f"the {what}")
    if now != entry["sha256"]:
        raise AnalysisError(f"{str(path)!r} (the {what}) changed since the analysis was saved (sha256 {now[:16]}…, "
                            f"recorded {str(entry['sha256'])[:16]}…). Restore it, or {_again(folder)}.")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise AnalysisError(f"{str(path)!r} (the {what}) is corrupted: {exc}. Restore it, "
                            f"or {_again(folder)}.") from exc
    expected = [m for v in entry["values"] for m in _members(v)]
    if sorted(arrays) != sorted(expected):
        raise AnalysisError(f"{str(path)!r} holds {sorted(arrays)}, the manifest lists {sorted(expected)}: the "
                            f"folder is inconsistent. Restore it, or {_again(folder)}.")
    return {value["name"]: _rebuild(value, arrays, value["name"]) for value in entry["values"]}


def _members(entry: dict[str, Any], member: str | None = None) -> list[str]:
    """The archive members a manifest entry of a value stores (see :func:`_write_arrays`)."""
    member = entry.get("member", member or entry.get("name"))
    kind = entry.get("kind", "tensor")
    if kind in ("sequence", "map"):
        return [m for i, item in enumerate(entry["items"]) for m in _members(item, f"{member}/{i}")]
    return [] if kind == "optional" or member is None else [member]


def _rebuild(entry: dict[str, Any], arrays: Mapping[str, np.ndarray], member: str) -> Value:
    """The value a manifest entry describes, from the archive's arrays."""
    kind = entry.get("kind", "tensor")
    if kind == "optional":
        return None
    if kind in ("sequence", "map"):
        items = [_rebuild(item, arrays, item.get("member", f"{member}/{i}")) for i, item in enumerate(entry["items"])]
        return dict(zip(entry["keys"], items)) if kind == "map" else items
    array = arrays[member]
    dtype = entry.get("dtype")
    if dtype == "object":
        return array.astype(object)
    special = next((d for d in SPECIAL.values() if d.name == dtype), None)
    return array.view(special) if special is not None else array


def _read_result(folder: Path, name: str, entry: Any) -> pd.DataFrame:
    if not isinstance(entry, dict) or "file" not in entry:
        raise AnalysisError(f"{str(folder / MANIFEST)!r} describes result {name!r} without a file: restore the "
                            f"manifest, or {_again(folder)}.")
    path, now = _check_file(folder, entry["file"], f"result table {name!r}")
    if entry.get("sha256") is not None and now != entry["sha256"]:
        raise AnalysisError(f"{str(path)!r} (result table {name!r}) changed since the analysis was saved (sha256 "
                            f"{now[:16]}…, recorded {str(entry['sha256'])[:16]}…). Restore it, or {_again(folder)}.")
    if entry.get("format") == "parquet" and _tables.default_format() != "parquet":
        raise AnalysisError(f"{str(path)!r} is a Parquet file and reading it needs pyarrow: pip install pyarrow. "
                            "(verify_analysis reads no tables: it runs without.)")
    try:
        return _tables.read_table(path, entry)
    except Exception as exc:  # pandas/pyarrow parse errors come in many types
        raise AnalysisError(f"{str(path)!r} (result table {name!r}) is corrupted: {type(exc).__name__}: {exc}. "
                            f"Restore it, or {_again(folder)}.") from exc


# ---- display -----------------------------------------------------------------------


def _describe_values(values: list[dict[str, Any]]) -> str:
    return "; ".join(f"{v['name']}: {_describe_entry(v)}" for v in values) or "none"


def _describe_entry(entry: dict[str, Any]) -> str:
    kind = entry.get("kind", "tensor")
    if kind == "optional":
        return "empty optional"
    if kind in ("sequence", "map"):
        items = ", ".join(_describe_entry(item) for item in entry["items"])
        return f"{'seq' if kind == 'sequence' else 'map'}({items})"
    return f"{entry['dtype']}{entry['shape']}"
