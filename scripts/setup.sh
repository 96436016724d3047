#!/usr/bin/env bash
# Installs ONNX Workbench and what it needs on a fresh Debian/Ubuntu machine.
#   scripts/setup.sh lab    system packages, .venv, the package with JupyterLab
#   scripts/setup.sh test   the same plus torch (CPU) and the test tools
#   scripts/setup.sh openvino   .venv-openvino: the package with onnxruntime-openvino in place of
#                               onnxruntime (it replaces that package) and pytest, for tests/test_openvino.py
# Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-lab}

# System packages: graphviz draws static graph pictures; chromium runs the browser tests;
# nodejs builds the JupyterLab extension when the machine has none.
need=()
command -v dot >/dev/null || need+=(graphviz)
command -v node >/dev/null || need+=(nodejs npm)
if [ "$target" = test ]; then
  command -v chromium >/dev/null || [ -x /usr/bin/chromium ] || need+=(chromium)
fi
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "Installing system packages: ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ "$target" = openvino ]; then
  # onnxruntime-openvino installs the same `onnxruntime` package as onnxruntime: never both. So the
  # package goes in with onnxruntime, which is then removed for the openvino extra's requirement
  # (installing ".[openvino]" would bring onnxruntime back, over it).
  [ -x .venv-openvino/bin/python ] || python3 -m venv .venv-openvino
  ov=.venv-openvino/bin/python
  if ! $ov -c "import onnxruntime as o; assert 'OpenVINOExecutionProvider' in o.get_available_providers()" \
      2>/dev/null; then
    $ov -m pip install --quiet --disable-pip-version-check -e . pytest
    $ov -m pip uninstall --quiet --yes onnxruntime
    $ov -m pip install --quiet --disable-pip-version-check --force-reinstall "onnxruntime-openvino>=1.23"
  fi
  exit 0
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
# A development link from an earlier run (below) would make pip install the extension's
# shared data through it, into workbench/labextension itself: unlink it first.
link=.venv/share/jupyter/labextensions/onnx-workbench
[ ! -L "$link" ] || rm "$link"
if [ "$target" = test ]; then
  # The CPU build, pinned and installed first: an unpinned torch pulls GBs of CUDA wheels.
  .venv/bin/python -c "import torch" 2>/dev/null || "${pip[@]}" torch==2.13.0
  "${pip[@]}" -e ".[test]"
else
  "${pip[@]}" -e ".[lab]"
fi
if [ "$target" = test ]; then
  # For development: serve the extension from workbench/labextension itself, so that a
  # rebuild (`jlpm build` in extension/) shows after a browser reload, with no reinstall.
  .venv/bin/jupyter-builder develop . --overwrite >/dev/null
fi
