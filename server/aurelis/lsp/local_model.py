"""The embedded model as the language server sees it: loaded before the first keystroke
when inline completions need it, its state for `aurelis/status`, its tokenizer for prompt
windows.

Loading the GGUF and the first evaluation (llama.cpp allocates its buffers then) take
seconds on two busy cores; paid on the first keystroke, they make the first suggestion the
slowest. When inline completions route to the local model, the server loads it in the
background at `initialized`; when the model is only the last link of a fallback chain, it
loads when the chain first needs it, unless `local_preload = "always"`. Nothing here
imports the orchestrator: it is only looked at once something else loaded it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from aurelis.lsp.live_config import get_config, orchestrator, orchestrator_if_loaded, route

if TYPE_CHECKING:
    from aurelis.core.config import AurelisConfig

__all__ = [
    "LoadableModel",
    "local_model",
    "local_model_status",
    "preload_in_background",
    "preload_local_model",
    "routes_inline_to_local",
    "stop_preloading",
    "wants_preload",
]

logger = logging.getLogger("aurelis.lsp.local_model")


class LoadableModel(Protocol):
    """What the server uses of the local provider (`models.providers.local.LocalProvider`)."""

    state: str
    load_error: str | None
    worker_pid: int | None

    async def preload(self) -> str: ...

    def count_tokens(self, text: str) -> int | None: ...

    async def settled(self, within: float) -> bool: ...

    def watch(self, changed: Callable[[], None]) -> None: ...


def routes_inline_to_local() -> bool:
    """Whether inline completions go to the embedded model first."""
    from aurelis.models.types import ModelType, TaskType

    config = get_config()
    return not config.remote_enabled or route(TaskType.CODE_COMPLETION) is ModelType.LOCAL


def wants_preload(config: AurelisConfig) -> bool:
    if config.local_preload == "always":
        return True
    if config.local_preload == "never":
        return False
    return routes_inline_to_local()


def local_model(*, build: bool = False) -> LoadableModel | None:
    """The local provider in force, or None (orchestrator not loaded yet, the server is
    shutting down, or a provider that is not the embedded model, e.g. a test's fake)."""
    if _stopped:
        # The orchestrator closed its providers: asking the registry now would build a
        # fresh one, and a load after shutdown is seconds of CPU nobody waits for.
        return None
    loaded = orchestrator() if build else orchestrator_if_loaded()
    if loaded is None:
        return None
    from aurelis.models.types import ModelType

    provider: Any = loaded.providers.provider_for(ModelType.LOCAL, get_config())
    if not all(hasattr(provider, name) for name in ("preload", "state", "count_tokens")):
        return None
    model: LoadableModel = provider
    return model


async def preload_local_model(on_change: Callable[[], None] | None = None) -> str | None:
    """Load the local model now if the settings want it; its state after (None: not wanted).

    `on_change()` is called when loading starts and when it ends (the status goes out).
    """
    if not wants_preload(get_config()):
        return None
    model = local_model(build=True)
    if model is None:
        return None
    if on_change is not None:
        # A crash of the model's process, and its restart, happen on other threads.
        model.watch(_from_any_thread(on_change))
    if model.state == "ready":
        return model.state
    loading = asyncio.ensure_future(model.preload())
    await asyncio.sleep(0)  # the load has begun: the state says "loading" now
    if on_change is not None:
        on_change()
    state = await loading
    if state != "ready":
        logger.warning("the local model did not load: %s", model.load_error)
    if on_change is not None:
        on_change()
    return state


def _from_any_thread(callback: Callable[[], None]) -> Callable[[], None]:
    """`callback` run on this event loop, whichever thread asks for it."""
    loop = asyncio.get_running_loop()

    def schedule() -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed: the server is gone
            loop.call_soon_threadsafe(callback)

    return schedule


def local_model_status() -> dict[str, Any] | None:
    """`{state, error, pid}` for `aurelis/status`; None while nothing is known (orchestrator
    not loaded yet). state: "not_loaded" | "loading" | "ready" | "failed"; error says why it
    failed (a crashed process says how it ended and when it restarts); pid is the model's
    worker process, if one runs."""
    model = local_model()
    if model is None:
        return None
    return {"state": model.state, "error": model.load_error, "pid": model.worker_pid}


_background: set[asyncio.Future[Any]] = set()
_stopped = False


def stop_preloading() -> None:
    """The server is shutting down: cancel a background preload (one still waiting for
    the warm-up would otherwise load the model after the models are closed) and build no
    local model from now on."""
    global _stopped
    _stopped = True
    for task in list(_background):
        task.cancel()


def preload_in_background(warming: Awaitable[Any], on_change: Callable[[], None]) -> None:
    """After `warming` (the orchestrator import) is done, preload the model if wanted."""

    async def run() -> None:
        try:
            await warming
        except Exception:  # noqa: BLE001 - the warm-up reports its own failure
            return
        await preload_local_model(on_change)

    task = asyncio.ensure_future(run())
    _background.add(task)  # the loop keeps only a weak reference to tasks
    task.add_done_callback(_background.discard)
