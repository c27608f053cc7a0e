"""Credentials named by their key or passed as flags (`shapes`), in `.sh`, Dockerfile, YAML,
TOML, INI, JSON and Markdown files, never leave unmasked: from the open buffer, another open
document, an imported file, the text either side of the cursor, `ask --file` or a batch.
Nothing of them reaches a request body, a debug-level log, the disk cache or Redis.

The model echoes what it was sent, so an answer cached or logged holds the prompt: a
secret that reached the model would reach the cache too. Each check also asserts the
marker next to the secret did reach the model, so leaving the snippet out cannot pass.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from lsprotocol import types
from tests.cli.helpers import cli_env, run_cli
from tests.conftest import TEST_TOKEN
from tests.lsp.conftest import Starter
from tests.lsp.harness import AurelisTestClient, end_position
from tests.security.shapes import ConfigShape, config_shapes
from tests.team.redis_process import RedisProcess

from aurelis.testing import ModelServer

SHAPES = config_shapes()
FAST_WINDOWS = {"AURELIS_RATE_LIMIT_WINDOW_SCALE": "0.0001"}
_ATTEMPTS = 5


def _echo(body: dict[str, Any]) -> str:
    return "seen: " + json.dumps(body.get("messages") or body.get("prompt"))


def _sent(model: ModelServer) -> str:
    return "\n".join(json.dumps(request.body, ensure_ascii=False) for request in model.requests)


def _assert_masked(sent: str, shape: ConfigShape, where: str, *, marker: bool = True) -> None:
    if marker:
        assert shape.marker in sent, f"{shape.name} ({where}): the snippet was not sent at all"
    for secret in shape.secrets:
        assert secret not in sent, f"{shape.name} ({shape.filename}) leaked from {where}"


def _redis_dump(url: str) -> str:
    client = redis.Redis.from_url(url)
    try:
        parts = []
        for key in client.scan_iter():
            parts.append(repr(key))
            kind = client.type(key)
            if kind == b"string":
                parts.append(repr(client.get(key)))
            elif kind == b"hash":
                parts.append(repr(client.hgetall(key)))
        return "\n".join(parts)
    finally:
        client.close()


def _files_under(root: Path) -> str:
    return "\n".join(
        path.read_bytes().decode("utf-8", "replace") for path in root.rglob("*") if path.is_file()
    )


def _kept(log: Path, redis_url: str) -> tuple[str, str, str]:
    """What the server left behind: its log, Redis, its disk cache (the test's cache dir)."""
    cache_dir = Path(os.environ["AURELIS_CACHE_DIR"])
    on_disk = _files_under(cache_dir) if cache_dir.is_dir() else ""
    return log.read_text(), _redis_dump(redis_url), on_disk


def _fresh(model: ModelServer) -> None:
    model.reset()
    model.set_responder("*", _echo)


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    server = RedisProcess(tmp_path).start()
    yield server.url
    server.stop()


def test_every_shape_is_planted_in_a_file_of_its_kind() -> None:
    names = {shape.filename.rsplit(".", 1)[-1] for shape in SHAPES}
    assert {"sh", "Dockerfile", "yml", "toml", "ini", "json", "md"} <= names


# --- the language server -----------------------------------------------------------------
@pytest.fixture
async def logged_lsp(
    start_lsp: Starter, model: ModelServer, tmp_path: Path, redis_url: str
) -> AurelisTestClient:
    model.set_responder("*", _echo)
    env = {**FAST_WINDOWS, "AURELIS_LOG_LEVEL": "DEBUG", "AURELIS_CACHE_ENABLED": "true"}
    env["AURELIS_REDIS_URL"] = redis_url
    client: AurelisTestClient = await start_lsp(
        env=env, args=["--log-file", str(tmp_path / "server.log")]
    )
    return client


async def _explain_whole(client: AurelisTestClient, uri: str) -> None:
    whole = {"start": {"line": 0, "character": 0}, "end": end_position(client.texts[uri])}
    await client.command("aurelis.explain", {"uri": uri, "range": whole})


def _open_shape(client: AurelisTestClient, folder: Path, shape: ConfigShape, text: str) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    return client.open(folder / shape.filename, text, language=shape.language)


async def test_shapes_in_the_buffer_and_either_side_of_the_cursor_are_masked(
    logged_lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    for index, shape in enumerate(SHAPES):
        _fresh(model)
        folder = project / f"buffer_{index:02d}"
        # The shape before the cursor (prefix) and again after it (suffix).
        text = shape.text + "\n\n" + shape.text.replace(shape.marker, shape.marker + "_after")
        uri = _open_shape(logged_lsp, folder, shape, text)
        await _explain_whole(logged_lsp, uri)
        _assert_masked(_sent(model), shape, "an action on the buffer")
        _fresh(model)
        cursor = types.Position(line=shape.text.count("\n") + 1, character=0)
        await logged_lsp.inline(uri, cursor)
        sent = _sent(model)
        _assert_masked(sent, shape, "the text before the cursor")
        assert shape.marker + "_after" in sent, f"{shape.name}: no text after the cursor"


@pytest.mark.parametrize("dialect", ["openai", "llama_cpp", "mistral"])
async def test_shapes_in_fim_prefix_and_suffix_are_masked(
    start_lsp: Starter, model: ModelServer, project: Path, dialect: str
) -> None:
    fim = json.dumps({"codestral-2501": dialect})
    client: AurelisTestClient = await start_lsp(env={**FAST_WINDOWS, "AURELIS_INLINE_FIM": fim})
    for index, shape in enumerate(SHAPES):
        _fresh(model)
        after = shape.text.replace(shape.marker, shape.marker + "_after")
        uri = _open_shape(client, project / f"fim_{index:02d}", shape, shape.text + "\n\n" + after)
        await client.inline(uri, types.Position(line=shape.text.count("\n") + 1, character=0))
        sent = _sent(model)
        assert all("completions" in r.path or "infill" in r.path for r in model.requests)
        _assert_masked(sent, shape, f"a {dialect} FIM prefix")
        assert shape.marker + "_after" in sent, f"{shape.name}: no FIM suffix"


async def test_shapes_in_other_open_documents_and_imported_files_are_masked(
    logged_lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    for index, shape in enumerate(SHAPES):
        _fresh(model)
        _open_shape(logged_lsp, project / f"open_{index:02d}", shape, shape.text)
        module = f"imported_{index:02d}"
        imported = shape.text.replace(shape.marker, shape.marker + "_imported")
        (project / "pkg" / f"{module}.py").write_text(imported)
        uri = logged_lsp.open(
            project / "pkg" / f"user_{index:02d}.py", f"from pkg.{module} import x\n"
        )
        for _ in range(_ATTEMPTS):  # project context is read within a time box
            await _explain_whole(logged_lsp, uri)
            if shape.marker in _sent(model) and shape.marker + "_imported" in _sent(model):
                break
        sent = _sent(model)
        _assert_masked(sent, shape, "another open document")
        assert shape.marker + "_imported" in sent, f"{shape.name}: the import was not read"


async def test_nothing_of_the_shapes_reaches_the_log_the_cache_or_redis(
    logged_lsp: AurelisTestClient,
    model: ModelServer,
    project: Path,
    tmp_path: Path,
    redis_url: str,
) -> None:
    for index, shape in enumerate(SHAPES):
        uri = _open_shape(logged_lsp, project / f"kept_{index:02d}", shape, shape.text)
        await _explain_whole(logged_lsp, uri)
        await logged_lsp.inline(uri, end_position(logged_lsp.texts[uri]))
    await logged_lsp.shutdown_session()
    log, stored, on_disk = await asyncio.to_thread(_kept, tmp_path / "server.log", redis_url)
    assert "DEBUG" in log and stored  # debug records were written, answers were cached
    for shape in SHAPES:
        for where, text in (("the log", log), ("redis", stored), ("the disk cache", on_disk)):
            _assert_masked(text, shape, where, marker=False)


# --- the command line --------------------------------------------------------------------
@pytest.fixture
def echo_server() -> Iterator[ModelServer]:
    server = ModelServer(token=TEST_TOKEN).start_in_thread()
    server.set_responder("*", _echo)
    yield server
    server.stop_thread()


def _write_shapes(folder: Path) -> list[Path]:
    paths = []
    for index, shape in enumerate(SHAPES):
        path = folder / f"shape_{index:02d}" / shape.filename
        path.parent.mkdir(parents=True)
        path.write_text(shape.text)
        paths.append(path)
    return paths


def test_shapes_attached_with_file_never_leave_the_cli(
    echo_server: ModelServer, tmp_path: Path, redis_url: str
) -> None:
    log = tmp_path / "cli.log"
    env = cli_env(echo_server, AURELIS_LOG_LEVEL="DEBUG", AURELIS_LOG_FILE=str(log))
    env.update(AURELIS_REDIS_URL=redis_url, AURELIS_CACHE_DIR=str(tmp_path / "cache"))
    for shape, path in zip(SHAPES, _write_shapes(tmp_path), strict=True):
        result = run_cli(["ask", "--file", str(path), "--json", "explain this"], env)
        assert result.returncode == 0, result.stderr
        _assert_masked(_sent(echo_server), shape, "ask --file")
        _assert_masked(result.stdout + result.stderr, shape, "the CLI output", marker=False)
    stored, on_disk = _redis_dump(redis_url), _files_under(tmp_path / "cache")
    assert stored and log.read_text()
    for shape in SHAPES:
        for where, text in (("the log", log.read_text()), ("redis", stored), ("cache", on_disk)):
            _assert_masked(text, shape, where, marker=False)


def test_shapes_in_a_batch_prompt_or_file_never_leave_the_cli(
    echo_server: ModelServer, tmp_path: Path
) -> None:
    paths = _write_shapes(tmp_path)
    lines = []
    for index, (shape, path) in enumerate(zip(SHAPES, paths, strict=True)):
        lines.append(json.dumps({"id": f"p{index}", "prompt": shape.text}))
        lines.append(
            json.dumps(
                {"id": f"f{index}", "prompt": "explain", "file": str(path.relative_to(tmp_path))}
            )
        )
    batch = tmp_path / "requests.jsonl"
    batch.write_text("\n".join(lines) + "\n")
    env = cli_env(echo_server, **FAST_WINDOWS)

    result = run_cli(["batch", str(batch)], env, timeout=240)

    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == len(lines)
    for shape in SHAPES:
        _assert_masked(_sent(echo_server), shape, "a batch line or its file")
        _assert_masked(result.stdout, shape, "the batch output", marker=False)
