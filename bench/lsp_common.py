"""Helpers shared by the language-server benchmarks (not a test module; no assertions).

Each benchmark runs the real server as a subprocess (`python -m aurelis.lsp`) against the
loopback model server on a thread, exactly as the end-to-end tests do.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

SERVER = Path(__file__).resolve().parents[1] / "server"
if str(SERVER) not in sys.path:
    sys.path.insert(0, str(SERVER))

from aurelis.testing import ModelServer  # noqa: E402

TOKEN = "bench-token-0123456789"
_MODELS = ("codestral-2501", "gpt-4o-mini", "mistral-nemo")
_NO_LIMITS = {"per_minute": None, "per_day": None, "concurrent": None}
COMMAND = [sys.executable, "-m", "aurelis.lsp"]


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def python_file(lines: int) -> str:
    """A deterministic Python module of about `lines` lines (functions of 8 lines)."""
    parts = ["import math\nfrom collections import defaultdict\n\n"]
    for index in range(lines // 8):
        parts.append(
            f"def function_{index}(values, factor={index}):\n"
            f"    total = defaultdict(float)\n"
            f"    for value in values:\n"
            f"        total[value % 7] += math.sqrt(abs(value)) * factor\n"
            f"    if not total:\n"
            f"        return None\n"
            f"    return max(total.values())\n\n"
        )
    return "".join(parts)


def environment(model: ModelServer, home: Path, **extra: str) -> dict[str, str]:
    """The server's environment: the loopback model, no user or project config, no cache."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AURELIS_")}
    env.pop("GITHUB_TOKEN", None)
    env.update(
        PYTHONPATH=str(SERVER),
        AURELIS_PROVIDER="azure",
        AURELIS_ENDPOINT=model.url,
        AURELIS_TOKEN=TOKEN,
        AURELIS_LOCAL_FALLBACK="false",
        AURELIS_CACHE_ENABLED="false",
        AURELIS_CONFIG_FILE=str(home / "config.toml"),
        AURELIS_PROJECT_ROOT=str(home),
        AURELIS_CACHE_DIR=str(home / "cache"),
        # The free tier's 15 requests a minute would make the benchmark measure the
        # client-side rate limiter; it measures the server, so the limits are lifted.
        AURELIS_RATE_LIMITS=json.dumps({model: _NO_LIMITS for model in _MODELS}),
    )
    env.update(extra)
    return env


def new_client() -> LanguageClient:
    """A plain pygls client that accepts the server's `aurelis/status` notifications."""
    client = LanguageClient("aurelis-bench", "1")

    @client.feature("aurelis/status")
    def _status(params: Any) -> None:
        return None

    return client


def capabilities() -> types.ClientCapabilities:
    return types.ClientCapabilities(
        workspace=types.WorkspaceClientCapabilities(apply_edit=True, configuration=False),
        text_document=types.TextDocumentClientCapabilities(
            inline_completion=types.InlineCompletionClientCapabilities()
        ),
        window=types.WindowClientCapabilities(work_done_progress=False),
    )


@asynccontextmanager
async def model_server() -> AsyncIterator[ModelServer]:
    server = ModelServer(token=TOKEN).start_in_thread()
    try:
        yield server
    finally:
        server.stop_thread()


@asynccontextmanager
async def language_server(
    model: ModelServer,
    *args: str,
    init_options: Any = None,
    populate: Callable[[Path], None] = lambda workspace: None,
    **env: str,
) -> AsyncIterator[tuple[LanguageClient, Path]]:
    """A started and initialized server; yields (client, workspace folder). `populate`
    fills the workspace folder before the server starts (and indexes it)."""
    with tempfile.TemporaryDirectory(prefix="aurelis-bench-") as scratch:
        home = Path(scratch)
        workspace = home / "workspace"
        workspace.mkdir()
        populate(workspace)
        client = new_client()
        await client.start_io(*COMMAND, *args, env=environment(model, home, **env))
        await client.initialize_async(
            types.InitializeParams(
                capabilities=capabilities(),
                root_uri=workspace.as_uri(),
                workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="workspace")],
                initialization_options=init_options,
            )
        )
        client.initialized(types.InitializedParams())
        try:
            yield client, workspace
        finally:
            await client.shutdown_async(None)
            client.exit(None)
            await client.stop()


def open_document(client: LanguageClient, path: Path, text: str) -> str:
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=1, text=text
            )
        )
    )
    return uri


async def inline(
    client: LanguageClient, uri: str, position: types.Position, invoked: bool = True
) -> Any:
    kind = (
        types.InlineCompletionTriggerKind.Invoked
        if invoked
        else types.InlineCompletionTriggerKind.Automatic
    )
    return await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=position,
            context=types.InlineCompletionContext(trigger_kind=kind),
        )
    )


def run(main: Any) -> None:
    asyncio.run(main())
