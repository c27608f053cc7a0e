"""The VS Code extension packs into an installable .vsix, non-interactively.

Runs `npm run package` in editors/vscode (scripts/test.sh has run `npm ci` there first) with
stdin closed, and checks what the .vsix holds. vsce asks "Do you want to continue? [y/N]"
in a terminal exactly where it prints a WARNING (no `repository`, no LICENSE, ...); without
a terminal it goes on, so the test fails on any WARNING instead.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent
EXTENSION = REPO / "editors" / "vscode"
VSCE = EXTENSION / "node_modules" / ".bin" / "vsce"
NPM = shutil.which("npm")

pytestmark = [
    pytest.mark.skipif(NPM is None, reason="npm is not installed (Node.js >= 20)"),
    pytest.mark.skipif(
        not VSCE.exists(), reason="run `npm ci` in editors/vscode first (scripts/test.sh does)"
    ),
    pytest.mark.timeout(300),
]


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> tuple[zipfile.ZipFile, str]:
    assert NPM is not None
    out = tmp_path_factory.mktemp("vsix") / "aurelis.vsix"
    result = subprocess.run(
        [NPM, "run", "package", "--", "--out", str(out)],
        cwd=EXTENSION,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    assert out.exists(), result.stdout[-4000:]
    return zipfile.ZipFile(out), result.stdout + result.stderr


@pytest.fixture(scope="module")
def vsix(packaged: tuple[zipfile.ZipFile, str]) -> zipfile.ZipFile:
    return packaged[0]


def test_package_needs_no_answer(packaged: tuple[zipfile.ZipFile, str]) -> None:
    output = packaged[1]
    assert "WARNING" not in output, output
    assert "[y/N]" not in output, output


def test_package_produces_a_vsix_with_the_bundle_and_license(vsix: zipfile.ZipFile) -> None:
    names = set(vsix.namelist())
    for required in (
        "extension.vsixmanifest",
        "extension/package.json",
        "extension/dist/extension.js",
        "extension/dist/terminateProcess.sh",
        "extension/LICENSE.txt",
    ):
        assert required in names, sorted(names)
    assert "MIT License" in vsix.read("extension/LICENSE.txt").decode()


def test_vsix_ships_only_the_bundle(vsix: zipfile.ZipFile) -> None:
    for name in vsix.namelist():
        assert not name.startswith(("extension/src/", "extension/node_modules/")), name
        assert not name.endswith((".ts", ".map", ".vsix")), name


def test_packaged_manifest_declares_limited_untrusted_workspace_support(
    vsix: zipfile.ZipFile,
) -> None:
    manifest = json.loads(vsix.read("extension/package.json"))
    untrusted = manifest["capabilities"]["untrustedWorkspaces"]
    assert untrusted["supported"] == "limited"
    assert "aurelis.server.command" in untrusted["restrictedConfigurations"]
    assert (
        manifest["contributes"]["configuration"]["properties"]["aurelis.pythonPath"]["scope"]
        == "machine"
    )
