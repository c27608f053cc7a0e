#!/usr/bin/env bash
# Create .venv and install Aurelis with the given extras (default: local).
# Usage: scripts/setup.sh [EXTRAS]   e.g. scripts/setup.sh local,dev
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-local}"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
if [[ ",$extras," == *",local,"* ]]; then
    # llama-cpp-python compiles llama.cpp on first install (several minutes on 2 cores),
    # for this CPU without the features that crash in VMs; later installs reuse the wheel.
    scripts/install_llama.sh .venv/bin/python
fi
.venv/bin/python -m pip install --quiet -e ".[${extras}]"
if [[ ",$extras," == *",local,"* ]]; then
    # Load the embedded model and generate a few tokens in a child process: a llama.cpp
    # build that crashes on this CPU is reported here in one line, with what to do.
    .venv/bin/python -P -m aurelis.models.providers.local_check
fi
