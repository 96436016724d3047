#!/usr/bin/env bash
# Installs everything, then opens JupyterLab on the tour notebook.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh lab
exec .venv/bin/jupyter lab notebooks/00-tour.ipynb "$@"
