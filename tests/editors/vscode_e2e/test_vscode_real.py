"""The VS Code extension in a real VS Code: code-server from npm, Debian's chromium driven by
playwright-core, the built .vsix installed, the real `aurelis serve` from this venv, and the
loopback model server as the endpoint. Assertions read editor state (document text, status
item text and tooltip, notifications, the output channel, VS Code's extension host log);
each step leaves a screenshot under artifacts/.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import TEST_TOKEN, server_env
from tests.editors.vscode_e2e.harness import (
    Workbench,
    build_vsix,
    install_vsix,
    require_tools,
    workbench,
    write_settings,
)

from aurelis.testing import ModelServer, Reply

pytestmark = [pytest.mark.vscode_e2e, pytest.mark.timeout(300)]

AURELIS = Path(sys.executable).parent / "aurelis"
CALC = (
    "def add(a, b):\n"
    "    return a + b\n"
    "\n"
    "\n"
    "def mean(values):\n"
    "    total = 0\n"
    "    for v in values:\n"
    "        total += v\n"
    "    return total / len(values)\n"
    "\n"
    "\n"
    "def fib(n):\n"
)
COMMANDS = [
    "Aurelis: Generate Code",
    "Aurelis: Add Documentation",
    "Aurelis: Refactor",
    "Aurelis: Optimize",
    "Aurelis: Add Error Handling",
    "Aurelis: Generate Tests",
    "Aurelis: Explain Code",
    "Aurelis: Analyze Code",
    "Aurelis: Show Output",
    "Aurelis: Restart Server",
    "Aurelis: Trust Project Settings",
    "Aurelis: Untrust Project Settings",
]
#: What a failed start looked like before: the client's own messages and its crash loop.
CLIENT_NOISE = ("write EPIPE", "couldn't create connection", "Client is not running")


@pytest.fixture(scope="module")
def extensions_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The .vsix built from this checkout, installed once for every window of the module."""
    require_tools()
    root = tmp_path_factory.mktemp("vscode-extensions")
    vsix = build_vsix(root)
    install_vsix(vsix, root / "extensions", root / "install-profile")
    return root / "extensions"


@pytest.fixture(scope="module")
def model() -> Iterator[ModelServer]:
    server = ModelServer(token=TEST_TOKEN).start_in_thread()
    yield server
    server.stop_thread()


def _workspace(root: Path, files: dict[str, str]) -> Path:
    workspace = root / "ws"
    for name, text in files.items():
        (workspace / name).parent.mkdir(parents=True, exist_ok=True)
        (workspace / name).write_text(text)
    return workspace


@pytest.fixture(scope="module")
def main(
    tmp_path_factory: pytest.TempPathFactory, extensions_dir: Path, model: ModelServer
) -> Iterator[Workbench]:
    """A window on a small Python project, the server set in Machine settings (remote-style)."""
    root = tmp_path_factory.mktemp("main")
    workspace = _workspace(root, {"calc.py": CALC})
    env = server_env(model)
    with workbench(
        root,
        workspace,
        extensions_dir,
        env,
        user_settings={
            "aurelis.inlineCompletion.debounceMs": 50,
            "aurelis.trace.server": "messages",
        },
        machine_settings={"aurelis.server.command": str(AURELIS)},
    ) as bench:
        bench.driver.call("openFile", name="calc.py")
        bench.wait_for(
            "the server to be ready", lambda: "azure" in bench.driver.call("status")["text"], 90
        )
        bench.shot("ready")
        yield bench


@pytest.fixture
def calc(main: Workbench) -> Workbench:
    """calc.py as the test expects it: the file restored, the only editor, focused."""
    (main.workspace / "calc.py").write_text(CALC)
    main.driver.call("openFile", name="calc.py")
    main.driver.call("command", title="File: Revert File")
    main.driver.call("command", title="View: Close All Editors")
    main.driver.call("clearNotifications")
    main.driver.call("openFile", name="calc.py")
    main.wait_for(
        "the restored text", lambda: _editor_text(main), 15, lambda t: t == CALC.rstrip("\n")
    )
    return main


def _editor_text(bench: Workbench) -> str:
    return str(bench.driver.call("editorText")).rstrip("\n")


def test_every_command_is_in_the_palette(main: Workbench) -> None:
    rows = main.driver.call("paletteRows", query="Aurelis:")
    main.shot("palette")
    for title in COMMANDS:
        assert any(row.startswith(title) for row in rows), (title, rows)


def test_the_environment_decides_what_the_user_did_not_set(
    main: Workbench, model: ModelServer
) -> None:
    # AURELIS_PROVIDER=azure and the endpoint come from the environment: the extension no
    # longer sends its default provider "auto" as if the user had chosen it.
    assert main.driver.call("status")["text"].endswith("Aurelis: azure")
    tooltip = main.driver.call("statusTooltip")
    main.shot("status-ready")
    assert "Provider: azure" in tooltip, tooltip
    assert model.url in tooltip, tooltip


def _select_mean(bench: Workbench) -> None:
    bench.driver.call("selectLines", **{"from": 5, "to": 9})


def test_refactor_from_the_lightbulb_applies_and_undoes_in_one_step(
    calc: Workbench, model: ModelServer
) -> None:
    before = _editor_text(calc)
    model.set_default(
        "*", Reply(content="def mean(values):\n    return sum(values) / len(values)\n")
    )
    _select_mean(calc)
    rows = calc.driver.call("codeActions", via="lightbulb")
    calc.shot("lightbulb-menu")
    for title in (
        "Refactor with Aurelis",
        "Document with Aurelis",
        "Generate tests with Aurelis",
        "Explain with Aurelis",
    ):
        assert any(title in row for row in rows), (title, rows)
    calc.driver.call("chooseAction", label="Refactor with Aurelis")
    after = calc.wait_for(
        "the refactored text", lambda: _editor_text(calc), until=lambda t: "sum(values)" in t
    )
    calc.shot("refactored")
    assert "total += v" not in after
    assert after.startswith("def add(a, b):")
    calc.driver.call("key", key="Control+z")
    calc.wait_for(
        "one undo to restore the text", lambda: _editor_text(calc), 10, lambda t: t == before
    )
    calc.shot("undone")


def test_document_from_source_action_applies_and_undoes_in_one_step(
    calc: Workbench, model: ModelServer
) -> None:
    before = _editor_text(calc)
    model.set_default(
        "*",
        Reply(content='def add(a, b):\n    """Return the sum of a and b."""\n    return a + b\n'),
    )
    calc.driver.call("gotoLine", line=2)
    rows = calc.driver.call("codeActions", via="source")
    calc.shot("source-action-menu")
    assert any("Document with Aurelis" in row for row in rows), rows
    assert not any("Refactor with Aurelis" in row for row in rows), rows
    calc.driver.call("chooseAction", label="Document with Aurelis")
    calc.wait_for("the docstring", lambda: "Return the sum of a and b." in _editor_text(calc))
    calc.shot("documented")
    calc.driver.call("key", key="Control+z")
    calc.wait_for(
        "one undo to restore the text", lambda: _editor_text(calc), 10, lambda t: t == before
    )


def test_explain_from_the_lightbulb_opens_the_explanation(
    calc: Workbench, model: ModelServer
) -> None:
    model.set_default("*", Reply(content="`mean` averages the values. MARKER-EXPLAINED-41"))
    _select_mean(calc)
    calc.driver.call("codeActions", via="lightbulb")
    calc.driver.call("chooseAction", label="Explain with Aurelis")
    calc.wait_for(
        "the explanation panel",
        lambda: any("Aurelis: Explanation" in tab for tab in calc.driver.call("tabs")),
    )
    calc.shot("explained")


def test_generate_tests_from_the_lightbulb_fills_a_new_test_file(
    calc: Workbench, model: ModelServer
) -> None:
    model.set_default(
        "*",
        Reply(content="from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"),
    )
    calc.driver.call("gotoLine", line=2)
    calc.driver.call("codeActions", via="lightbulb")
    calc.driver.call("chooseAction", label="Generate tests with Aurelis")
    calc.wait_for("test_calc.py", lambda: (calc.workspace / "test_calc.py").exists(), 40)
    calc.driver.call("openFile", name="test_calc.py")
    calc.wait_for(
        "the generated tests",
        lambda: _editor_text(calc),
        20,
        lambda text: "    assert add(2, 3) == 5" in text.splitlines(),
    )
    calc.shot("tests-generated")
    assert (calc.workspace / "calc.py").read_text() == CALC, "the module itself was edited"
    # Saved, so closing every editor (the next test's start) asks nothing.
    calc.driver.call("key", key="Control+s")
    calc.wait_for(
        "the saved test file",
        lambda: (calc.workspace / "test_calc.py").read_text(),
        10,
        lambda text: "assert add(2, 3) == 5" in text,
    )


def test_inline_suggestion_shows_is_replaced_when_typing_on_and_tab_accepts(
    calc: Workbench, model: ModelServer
) -> None:
    calc.driver.call("key", key="Control+End")
    model.set_default("*", Reply(content="if n < 2:\n        return n"))
    calc.driver.call("type", text="    ")
    first = calc.wait_for("the first ghost text", lambda: calc.driver.call("ghostText"), 30)
    calc.shot("ghost-first")
    assert "ifn<2:" in first
    model.set_default("*", Reply(content="elif n == 99:\n        return 0"))
    # Typing something the suggestion does not continue drops it and asks again.
    calc.driver.call("type", text="x = 1\n    ")
    second = calc.wait_for(
        "the new ghost text", lambda: calc.driver.call("ghostText"), 30, lambda g: "elifn==99" in g
    )
    calc.shot("ghost-replaced")
    assert "ifn<2" not in second
    calc.driver.call("key", key="Tab")
    calc.wait_for("the accepted text", lambda: "elif n == 99:" in _editor_text(calc), 10)
    calc.shot("ghost-accepted")


def test_the_status_item_shows_an_error_then_offline(main: Workbench, model: ModelServer) -> None:
    model.set_default(
        "*", Reply(status=400, error_code="bad_request", error_message="MARKER-MODEL-REFUSED")
    )
    main.driver.call("gotoLine", line=2)
    main.driver.call("command", title="Aurelis: Analyze Code")
    tooltip = main.wait_for(
        "the error in the tooltip",
        lambda: main.driver.call("statusTooltip"),
        40,
        lambda t: "Last error" in t,
    )
    main.shot("status-error")
    assert "MARKER-MODEL-REFUSED" in tooltip or "400" in tooltip, tooltip
    main.driver.call("clearNotifications")
    # The user picks the local model: offline, and the status says so.
    machine = main.data_dir / "Machine" / "settings.json"
    write_settings(machine, {**json.loads(machine.read_text()), "aurelis.provider": "local"})
    # The last error stays in the item until a request succeeds; the tooltip has the rest.
    offline = main.wait_for(
        "offline",
        lambda: main.driver.call("statusTooltip"),
        40,
        lambda t: "Provider: local" in t and "Offline" in t,
    )
    main.shot("status-offline")
    assert "Offline" in offline, offline


def test_the_output_channel_and_the_extension_host_log_are_clean(main: Workbench) -> None:
    output = main.output_channel()
    assert f"[client] starting the Aurelis server: {AURELIS} serve" in output, output[-3000:]
    host_log = main.extension_host_log()
    assert host_log, "no extension host log found"
    unhandled = [
        line
        for line in host_log.splitlines()
        if "aurelis" in line.lower() and re.search(r"unhandled|rejected promise", line, re.I)
    ]
    assert unhandled == []


# --- a server that exits as it starts ------------------------------------------------------
@pytest.fixture(scope="module")
def failing(
    tmp_path_factory: pytest.TempPathFactory, extensions_dir: Path, model: ModelServer
) -> Iterator[tuple[Workbench, Path]]:
    root = tmp_path_factory.mktemp("failing")
    workspace = _workspace(root, {"calc.py": CALC})
    runs = root / "runs"
    script = root / "broken-aurelis"
    script.write_text(
        "#!/bin/sh\n"
        f'echo run >> "{runs}"\n'
        'echo "Traceback (most recent call last):" >&2\n'
        'echo "aurelis: MARKER-BROKEN-INSTALL cannot import its package" >&2\n'
        "exit 3\n"
    )
    script.chmod(0o755)
    with workbench(
        root,
        workspace,
        extensions_dir,
        server_env(model),
        user_settings={},
        machine_settings={"aurelis.server.command": str(script)},
    ) as bench:
        bench.driver.call("openFile", name="calc.py")
        yield bench, runs


def test_a_server_that_exits_at_start_gets_one_clear_message(
    failing: tuple[Workbench, Path],
) -> None:
    bench, runs = failing
    toasts = bench.wait_for(
        "the failure message",
        lambda: [t for t in bench.driver.call("notifications") if "Aurelis" in t],
        40,
    )
    bench.shot("exit-at-start")
    assert len(toasts) == 1, toasts
    [toast] = toasts
    assert "exited with code 3 as it started" in toast, toast
    assert "MARKER-BROKEN-INSTALL" in toast, toast
    assert "Show Output" in toast, toast
    assert not any(noise in toast for noise in CLIENT_NOISE), toast
    assert runs.read_text().count("run") == 1, "the server was started more than once"
    status = bench.driver.call("status")
    assert status["text"] == "Aurelis", status
    tooltip = bench.driver.call("statusTooltip")
    assert "not running" in tooltip and "exited with code 3" in tooltip, tooltip
    bench.driver.call("clickNotificationButton", message="exited with code 3", button="Show Output")
    panel = bench.wait_for(
        "the output panel", lambda: bench.driver.call("panelText"), 15, lambda p: "MARKER" in p
    )
    bench.shot("exit-at-start-output")
    assert "MARKER-BROKEN-INSTALL" in panel
    noise = [
        line
        for line in bench.extension_host_log().splitlines()
        if any(n in line for n in CLIENT_NOISE) or "unhandled" in line.lower()
    ]
    assert noise == [], noise


# --- first run: no aurelis anywhere --------------------------------------------------------
def test_first_run_says_how_to_install_and_where_it_looked(
    tmp_path_factory: pytest.TempPathFactory, extensions_dir: Path, model: ModelServer
) -> None:
    root = tmp_path_factory.mktemp("first-run")
    workspace = _workspace(root, {"calc.py": CALC})
    env = {**server_env(model), "PATH": "/usr/bin:/bin"}
    assert shutil.which("aurelis", path="/usr/bin:/bin") is None
    with workbench(
        root, workspace, extensions_dir, env, user_settings={}, machine_settings={}
    ) as bench:
        bench.driver.call("openFile", name="calc.py")
        toasts = bench.wait_for(
            "the message",
            lambda: [t for t in bench.driver.call("notifications") if "was not found" in t],
            40,
        )
        bench.shot("first-run")
        status = bench.driver.call("status")
    assert len(toasts) == 1, toasts
    [not_found] = toasts
    # Where it looked: the PATH the extension host has (code-server puts its own dirs first).
    searched = re.search(r"`aurelis` was not found on PATH \(([^)]*)\)", not_found)
    assert searched is not None, not_found
    dirs = searched.group(1).split(", and ")[0].split(":")
    assert len(dirs) >= 2 and all(d.startswith("/") for d in dirs), dirs
    assert "pipx install /path/to/aurelis" in not_found, not_found
    assert "Remote settings" in not_found, not_found
    assert status["text"] == "Aurelis", status


# --- restricted mode -----------------------------------------------------------------------
def test_restricted_mode_ignores_the_workspace_endpoint_and_says_so(
    tmp_path_factory: pytest.TempPathFactory, extensions_dir: Path, model: ModelServer
) -> None:
    root = tmp_path_factory.mktemp("restricted")
    hostile = "http://127.0.0.1:9/from-the-workspace"
    workspace = _workspace(
        root,
        {"calc.py": CALC, ".vscode/settings.json": f'{{ "aurelis.endpoint": "{hostile}" }}'},
    )
    with workbench(
        root,
        workspace,
        extensions_dir,
        server_env(model),
        trust=True,
        user_settings={
            "security.workspace.trust.enabled": True,
            "security.workspace.trust.startupPrompt": "never",
            "security.workspace.trust.untrustedFiles": "open",
        },
        machine_settings={"aurelis.server.command": str(AURELIS)},
    ) as bench:
        bench.driver.call("openFile", name="calc.py")
        bench.wait_for("the server", lambda: "azure" in bench.driver.call("status")["text"], 90)
        tooltip = bench.driver.call("statusTooltip")
        toasts = bench.driver.call("notificationCenter")
        rows = bench.driver.call("paletteRows", query="Aurelis: Trust Project Settings")
        bench.shot("restricted")
    assert model.url in tooltip and hostile not in tooltip, tooltip
    warning = next((t for t in toasts if "ignores" in t), None)
    assert warning is not None and "`aurelis.endpoint`" in warning, toasts
    # "Trust Project Settings" needs a trusted workspace: not runnable from the palette.
    assert not any(row.startswith("Aurelis: Trust Project Settings") for row in rows), rows
