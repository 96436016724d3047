"""Re-running a saved analysis here and now: do the outputs still match, and if not, why?

The recipe (provider, optimization level) runs again on the saved inputs, and each
output is compared with the saved one (:func:`workbench.comparison.error_metrics`). The
environment recorded in the manifest is compared with this one, and the keys that differ
(onnxruntime's version, the provider, the GPU, …) are what the explanation offers as the
reason when outputs differ. A model copy that changed since the save is reported, not
refused: it is the first suspect.
"""

from __future__ import annotations

import html
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from ..comparison import value_metrics
from ..errors import ProviderError
from ..runtime.internal import Value
from . import _environment
from ._analysis import Analysis, AnalysisError, _check_model_files, _providers, _tolerance, read, run_recipe

#: Differences named in the explanation; the rest are counted (all are in ``Verification.environment``).
_NAMED = 4
_SHOWN_METRICS = ["shape_mismatch", "max_abs", "max_rel", "min_atol", "min_rtol", "nonfinite_mismatch", "ok"]


@dataclass(eq=False)
class Verification:
    """What re-running an analysis found.

    - ``ok``: every output within ``rtol``/``atol`` of the saved one (and the model copy unchanged);
    - ``outputs``: one row per output: the metrics of :func:`~workbench.comparison.error_metrics`
      (``max_abs``, ``max_rel``, ``min_atol``, …) and ``ok``;
    - ``environment``: one row per key whose value differs, saved vs now; ``kind`` says
      whether it is the ``recipe`` (the provider), the ``model`` (a changed file) or the
      ``environment`` (versions, hardware, platform);
    - ``explanation``: one sentence saying what differs and what can explain it.
    """

    ok: bool
    outputs: pd.DataFrame
    environment: pd.DataFrame
    explanation: str
    path: Path
    provider: list[str]
    rtol: float
    atol: float
    model_changed: bool = False
    new_outputs: dict[str, Value] = field(default_factory=dict, repr=False)
    analysis: Analysis | None = field(default=None, repr=False)

    def summary(self) -> str:
        """The verdict and the explanation, in one line."""
        return f"Verification of {str(self.path)!r}: {'OK' if self.ok else 'DIFFERS'} — {self.explanation}"

    def __repr__(self) -> str:
        parts = [self.summary(), "", self.outputs[_SHOWN_METRICS].to_string(float_format=lambda v: f"{v:.3g}")]
        if not self.environment.empty:
            parts += ["", self.environment.to_string()]
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        e = html.escape
        colour = "#2a7" if self.ok else "#c33"
        parts = [f"<p><b style='color:{colour}'>{'OK' if self.ok else 'DIFFERS'}</b> {e(self.explanation)}</p>",
                 "<h4>outputs</h4>", self.outputs[_SHOWN_METRICS].to_html(float_format=lambda v: f"{v:.3g}")]
        if not self.environment.empty:
            parts += ["<h4>what differs from the saved run</h4>", self.environment.to_html()]
        return f"<div class='onnx-workbench-verification'>{''.join(parts)}</div>"  # to_html escapes cell text


def verify_analysis(path: str | os.PathLike | Analysis, provider: str | Sequence[str] | None = None,
                    rtol: float | None = None, atol: float | None = None) -> Verification:
    """Re-runs a saved analysis in this environment and checks its outputs against the saved ones.

    Args:
        path: the analysis folder (or an :class:`Analysis` loaded from one).
        provider: run on this provider instead of the recipe's (``"cpu"``, ``"cuda"``,
            ``"reference"``, or an onnxruntime provider list).
        rtol, atol: tolerances instead of the recipe's.

    Raises:
        AnalysisError: the folder is missing or corrupted (see :func:`load_analysis`); a model
            copy that *changed* is not an error here but the first thing reported.
        workbench.errors.ProviderError: the provider (the recipe's, or the one given) is not
            available here.
    """
    if isinstance(path, Analysis):  # its arrays are read already; the model files may have changed since
        analysis, folder = path, path.path
        changed = _check_model_files(folder, analysis.manifest, raise_on_change=False)
    else:
        folder = Path(path)
        analysis, changed = read(folder, check_model=False)
    recipe = analysis.recipe
    rtol = recipe["rtol"] if rtol is None else _tolerance("rtol", rtol)
    atol = recipe["atol"] if atol is None else _tolerance("atol", atol)
    chosen = recipe["provider"] if provider is None else provider
    try:
        providers = _providers(chosen)
    except ProviderError as exc:
        if provider is not None:
            raise
        raise ProviderError(f"{exc} The analysis ran on {_environment.describe(recipe['providers'])}; re-run it on "
                            "a provider this machine has with verify_analysis(path, provider='cpu').") from None
    try:
        new = run_recipe(analysis.model_path, analysis.inputs, providers, recipe["optimization"])
    except AnalysisError as exc:
        if not changed:
            raise
        raise AnalysisError(f"{_join([f for f, _, _ in changed])} changed since the analysis was saved (sha256 "
                            f"differs), and the model no longer runs: {exc} Restore the original file.") from exc
    outputs = _output_table(analysis.outputs, new, rtol, atol)
    differences = _differences(analysis, providers, changed)
    ok = bool(outputs.ok.all()) and not changed
    explanation = _explain(outputs, differences, changed, rtol, atol, recipe)
    return Verification(ok, outputs, differences, explanation, folder, providers, rtol, atol, bool(changed), new,
                        analysis)


def _output_table(saved: Mapping[str, Value], new: Mapping[str, Value], rtol: float, atol: float) -> pd.DataFrame:
    """One row per output tensor (a sequence's elements each a row: ``name[i]``)."""
    rows = []
    for name in dict.fromkeys([*saved, *new]):
        if name in saved and name in new:
            for row in value_metrics(name, saved[name], new[name], rtol=rtol, atol=atol):
                rows.append({"output": row.pop("value"), **row})
        else:  # only when the model copy changed: an output came or went
            rows.append({"output": name, "shape_mismatch": True, **dict.fromkeys(_SHOWN_METRICS[1:-1], math.nan),
                         "ok": False, "missing": "now" if name in saved else "saved"})
    return pd.DataFrame(rows).set_index("output")


def _differences(analysis: Analysis, providers: list[str], changed: list[tuple[str, str, str]]) -> pd.DataFrame:
    rows: list[dict[str, Any]] = [{"key": f"{file} sha256", "kind": "model", "saved": before, "now": after}
            for file, before, after in changed]
    saved_providers = list(analysis.recipe["providers"])
    if saved_providers != providers:
        rows.append({"key": "provider", "kind": "recipe", "saved": saved_providers, "now": providers})
    rows += [{"key": key, "kind": "environment", "saved": before, "now": after}
             for key, before, after in _environment.differences(analysis.environment, _environment.environment())]
    return pd.DataFrame(rows, columns=["key", "kind", "saved", "now"]).set_index("key")


def _explain(outputs: pd.DataFrame, differences: pd.DataFrame, changed: list, rtol: float, atol: float,
             recipe: dict[str, Any]) -> str:
    tolerance = f"rtol={rtol:g}, atol={atol:g}"
    if (rtol, atol) != (recipe["rtol"], recipe["atol"]):
        tolerance += f" (given here; the recipe's are rtol={recipe['rtol']:g}, atol={recipe['atol']:g})"
    causes = [f"{key} {_environment.describe(row.saved)} → {_environment.describe(row.now)}"
              for key, row in differences[differences.kind != "model"].iterrows()]
    if len(causes) > _NAMED:
        causes = causes[:_NAMED] + [f"{len(causes) - _NAMED} more (see .environment)"]
    where = _join(causes)
    model = ""
    if changed:
        model = (f"the model copy changed since the analysis was saved ({_join([f for f, _, _ in changed])}: "
                 "sha256 differs)")
    off = outputs[~outputs.ok.astype(bool)]
    if off.empty:
        text = f"outputs match the saved ones within {tolerance}"
        if model:
            return _sentence(f"{text}, but {model}" + (f"; the environment also differs in {where}" if causes else ""))
        return _sentence(f"{text}, although the environment differs in {where}" if causes
                         else f"{text}, in the same environment")
    worst = off.max_abs.astype(float).fillna(math.inf).idxmax()
    row = off.loc[worst]
    missing = row.get("missing")
    detail = (f"{worst!r} is missing from the {missing} outputs" if isinstance(missing, str)
              else f"{worst!r} has another shape" if bool(row.shape_mismatch)
              else f"{worst!r} by up to {row.max_abs:.3g} absolute, {row.max_rel:.3g} relative")
    text = f"outputs differ beyond {tolerance}: {len(off)} of {len(outputs)} off, {detail}"
    if model:
        return _sentence(f"{text}; {model}, which explains it" + (f"; the environment also differs in {where}"
                                                                   if causes else ""))
    if causes:
        return _sentence(f"{text}; the environment differs in {where}, which can explain it")
    return _sentence(f"{text}, although the environment is the same: the model or inputs may be nondeterministic")


def _join(items: list[str]) -> str:
    if len(items) < 2:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."
