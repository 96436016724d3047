"""The installable package: the wheel carries the prebuilt JupyterLab extension and its server config."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import workbench as wb

ROOT = Path(__file__).parents[1]


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
    # enables the server route behind the .onnx file viewer when the wheel is installed
    data = "onnx_workbench-" + wb.__version__ + ".data/data/"
    assert data + "etc/jupyter/jupyter_server_config.d/onnx_workbench.json" in names


def test_version_comes_from_the_extension_package() -> None:
    import json

    assert wb.__version__ == json.loads((ROOT / "extension/package.json").read_text())["version"]
