"""Every notebook runs top to bottom (nbclient), and is committed without outputs."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))
pytestmark = pytest.mark.slow  # a kernel per notebook, each running its analysis: over a minute in all


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path: Path, tmp_path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), \
        f"{path.name} is committed with outputs: clear them (Edit > Clear Outputs of All Cells)"
    resources = {"metadata": {"path": str(tmp_path)}}
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources=resources).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    blank = [o for o in outputs if str(o.get("data", {}).get("text/plain", "")).startswith("<Figure")
             and "image/png" not in o["data"]]
    assert not blank, f"{len(blank)} figure(s) displayed as text, not as an image"
    shown = {kind for o in outputs for kind in o.get("data", {})}
    assert shown & {"image/png", "text/html", "application/vnd.jupyter.widget-view+json"}, shown
    if path.name == "00-tour.ipynb":  # the model itself, displayed as its graph
        assert "application/vnd.onnx-workbench.graph+json" in shown
