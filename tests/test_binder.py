"""The Binder environment: what repo2docker would build, and the notebooks running in a fresh
environment made from the same requirements."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import nbformat
import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).parents[1]
BINDER = ROOT / "binder"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
#: conda-forge packages of environment.yml that the notebooks import, and their pip names.
CONDA_TO_PIP = {"pytorch-cpu": "torch"}
pytestmark = pytest.mark.slow  # repo2docker renders for seconds; the fresh environment takes minutes


def _conda_packages() -> list[str]:
    """The conda packages environment.yml lists (names only, version pins dropped)."""
    names = []
    for line in (BINDER / "environment.yml").read_text().splitlines():
        match = re.match(r"\s*-\s*([A-Za-z0-9_.-]+)\s*(?:[=<>].*)?$", line)
        if match and not line.strip().startswith("- pip:"):
            names.append(match.group(1))
    return names


def _postbuild_target() -> str:
    """What postBuild pip-installs from the repository, e.g. ``.[lab,torch]``."""
    match = re.search(r"pip install [^\n]*?\"?(\.\[[a-z,]+\])\"?", (BINDER / "postBuild").read_text())
    assert match, "postBuild does not pip-install the repository"
    return match.group(1)


def _distributions_installed(root: str, extras: set[str]) -> set[str]:
    """``root`` and everything it requires (with ``extras``), recursively, as normalized names."""
    seen: set[str] = set()
    stack = [(root, extras)]
    while stack:
        name, wanted = stack.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        seen.add(key)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for text in requires:
            requirement = Requirement(text)
            if requirement.marker is None or any(requirement.marker.evaluate({"extra": e}) for e in wanted | {""}):
                stack.append((requirement.name, set(requirement.extras)))
    return seen


def _imports(notebook: Path) -> set[str]:
    """Top-level modules the notebook's code cells import."""
    names: set[str] = set()
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return names


def test_environment_spec() -> None:
    spec = (BINDER / "environment.yml").read_text()
    assert re.search(r"^\s*-\s*python=3\.12\s*$", spec, re.MULTILINE), "environment.yml must pin python=3.12"
    assert "graphviz" in (BINDER / "apt.txt").read_text().split()
    assert (BINDER / "postBuild").stat().st_mode & 0o111, "postBuild must be executable"


@pytest.mark.skipif(shutil.which("repo2docker") is None and not (Path(sys.executable).parent / "repo2docker").exists(),
                    reason="repo2docker is not installed (it is in the test extra)")
def test_repo2docker_dockerfile_installs_what_the_notebooks_import() -> None:
    repo2docker = shutil.which("repo2docker") or str(Path(sys.executable).parent / "repo2docker")
    # --no-build --debug: render the Dockerfile only; no Docker daemon, no network
    rendered = subprocess.run([repo2docker, "--no-run", "--no-build", "--debug", str(ROOT)],
                              capture_output=True, text=True, timeout=120)
    assert rendered.returncode == 0, rendered.stderr[-2000:]
    dockerfile = rendered.stdout + rendered.stderr
    assert "Building conda environment for python=3.12" in dockerfile
    assert re.search(r"apt-get install .*graphviz", dockerfile)
    assert 'env update -p ${NB_PYTHON_PREFIX} --file "binder/environment.yml"' in dockerfile
    assert "./binder/postBuild" in dockerfile

    extras = set(re.findall(r"[a-z]+", _postbuild_target()[2:-1]))
    provided = _distributions_installed("onnx-workbench", extras)
    provided |= {CONDA_TO_PIP[name] for name in _conda_packages() if name in CONDA_TO_PIP}
    importable = metadata.packages_distributions()
    missing = {}
    for notebook in NOTEBOOKS:
        for module in _imports(notebook) - set(sys.stdlib_module_names) - {"workbench"}:
            dists = {re.sub(r"[-_.]+", "-", d).lower() for d in importable.get(module, [])}
            if not dists & provided:
                missing.setdefault(notebook.name, []).append(module)
    assert not missing, f"notebooks import modules the Binder image would not have: {missing}"


@pytest.mark.network  # pip installs torch and the package's dependencies from the index
def test_notebooks_run_in_a_fresh_environment_built_from_the_binder_spec(tmp_path: Path) -> None:
    """A new virtual environment gets what Binder installs — the conda packages the notebooks
    need, as pip packages, then postBuild's ``pip install`` — and every notebook runs in it."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    # conda-forge's pytorch-cpu as pip's torch of the version tested here: pip's unpinned
    # torch would be a CUDA build
    conda = [f"{CONDA_TO_PIP[name]}=={metadata.version(CONDA_TO_PIP[name])}" for name in _conda_packages()
             if name in CONDA_TO_PIP]
    for step in (conda, [_postbuild_target()]):
        installed = subprocess.run(pip + step, cwd=ROOT, capture_output=True, text=True, timeout=900)
        assert installed.returncode == 0, installed.stderr[-3000:]
    out = tmp_path / "executed"
    ran = subprocess.run([str(venv / "bin" / "jupyter"), "nbconvert", "--to", "notebook", "--execute",
                          "--ExecutePreprocessor.timeout=600", "--output-dir", str(out), *map(str, NOTEBOOKS)],
                         cwd=tmp_path, capture_output=True, text=True, timeout=1500)
    assert ran.returncode == 0, ran.stderr[-4000:]
    assert sorted(p.name for p in out.glob("*.ipynb")) == [p.name for p in NOTEBOOKS]
