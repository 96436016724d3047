#!/usr/bin/env bash
# Installs everything the tests need, then runs the whole test suite (extra args go to pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
.venv/bin/python -m pytest "$@"
# OpenVINO replaces the onnxruntime package: its tests run in an environment of their own.
scripts/setup.sh openvino
exec .venv-openvino/bin/python -m pytest -ra -m openvino -p no:cacheprovider tests/test_openvino.py
