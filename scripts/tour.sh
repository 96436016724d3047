#!/usr/bin/env bash
# Installs everything, then opens JupyterLab on the tour notebook. The URL it prints (for a
# headless machine or a browser that did not open) lands on the tour too, not on the Launcher.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh lab
exec .venv/bin/jupyter lab --LabApp.default_url=/lab/tree/notebooks/00-tour.ipynb "$@"
