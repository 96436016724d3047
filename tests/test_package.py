"""The installable package: the wheel carries the prebuilt JupyterLab extension and its server config."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import workbench as wb

ROOT = Path(__file__).parents[1]


@pytest.mark.slow  # builds the wheel
def test_wheel_contains_the_prebuilt_extension(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(ROOT)],
        check=True, timeout=900,
    )
    (wheel,) = tmp_path.glob("onnx_workbench-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    prefix = "onnx_workbench-" + wb.__version__ + ".data/data/share/jupyter/labextensions/onnx-workbench/"
    assert prefix + "package.json" in names
    assert prefix + "install.json" in names
    assert any(n.startswith(prefix + "static/remoteEntry.") for n in names)
    assert "workbench/model/_model.py" in names
    # the anywidget front end and the standalone view's module, inside the package
    assert {"workbench/static/workbench.js", "workbench/static/workbench.css"} <= set(names)
    # enables the server route behind the .onnx file viewer when the wheel is installed
    data = "onnx_workbench-" + wb.__version__ + ".data/data/"
    assert data + "etc/jupyter/jupyter_server_config.d/onnx_workbench.json" in names


def test_version_comes_from_the_extension_package() -> None:
    import json

    assert wb.__version__ == json.loads((ROOT / "extension/package.json").read_text())["version"]


def test_import_loads_nothing_heavy_and_names_resolve_on_first_use() -> None:
    """``import workbench`` stays cheap (onnx, pandas, onnxruntime, numpy load on first use), and
    each public name is what it says, also after its subpackage was imported directly."""
    script = (
        "import sys, workbench as wb\n"
        "heavy = sorted(m for m in ('numpy', 'onnx', 'onnxruntime', 'pandas', 'matplotlib', 'torch')\n"
        "               if m in sys.modules)\n"
        "import workbench.comparison._torch, workbench.profiling._record\n"
        "print(heavy, callable(wb.compare), callable(wb.profile), wb.profiling.Profile is wb.Profile,\n"
        "      wb.comparison.Report is wb.Report, sorted(set(wb.__all__) - set(dir(wb))))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True).stdout
    assert out.split() == ["[]", "True", "True", "True", "True", "[]"]
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        wb.nothing_here  # noqa: B018 - the attribute access is the test


def test_every_public_name_resolves() -> None:
    for name in wb.__all__:
        assert getattr(wb, name) is not None, name
