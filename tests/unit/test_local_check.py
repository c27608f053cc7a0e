"""The install-time check of the embedded model: one clear line, the build's CPU features,
and a failure exit code with what to do when the model does not run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from aurelis.models.providers.local_build import UNSAFE_FEATURES


def run_check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-P", "-m", "aurelis.models.providers.local_check", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd="/",
    )


@pytest.mark.local_model
def test_the_bundled_model_runs_on_a_build_without_unsafe_cpu_features() -> None:
    done = run_check()
    assert done.returncode == 0, done.stderr
    line = done.stdout.strip()
    assert line.startswith("✓ embedded model:") and "tokens/s" in line
    features = line.split("CPU features:")[1].split()
    assert features and not set(features) & set(UNSAFE_FEATURES)


def test_a_model_that_cannot_load_fails_with_what_to_do(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"GGUF" + b"\0" * 64)
    done = run_check(str(bogus))
    assert done.returncode == 1
    first, second = done.stderr.strip().splitlines()[-2:]
    assert first.startswith("✗ the embedded model does not run here:") and "bogus.gguf" in first
    assert second.startswith("  what to do:")
    assert "Traceback" not in done.stderr
