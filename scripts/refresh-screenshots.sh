#!/usr/bin/env bash
# Refreshes the docs' screenshots, docs/img/*.png (committed): runs the browser tests (tests/ui)
# with WORKBENCH_DOCS_SCREENSHOTS=1, which makes each test that takes a screenshot write it over
# docs/img/<name> instead of build/screenshots/<name>, where a plain test run leaves it (git
# ignores build/, so running the tests never changes the clone). Look at the new images
# (`git status docs/img`) and commit those that should change. Extra args go to pytest, e.g.
#   scripts/refresh-screenshots.sh -k graph_view
set -euo pipefail
cd "$(dirname "$0")/.."
export WORKBENCH_DOCS_SCREENSHOTS=1
exec scripts/test.sh tests/ui "$@"
