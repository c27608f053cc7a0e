#!/usr/bin/env bash
# Set up and run the main job offline on the embedded local model:
# ask for a function and print the content, model, tokens and time.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh local
exec .venv/bin/aurelis generate --no-stream "${@:-Write a Python function that returns the n-th Fibonacci number}"
