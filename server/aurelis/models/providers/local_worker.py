"""The embedded model's own process: llama.cpp loaded once, generating for its parent.

llama.cpp is native code: a build that uses an instruction the machine does not allow, a
broken GGUF or the out-of-memory killer ends the process it runs in. So it never runs in
the language server or the CLI; it runs here, in a child they own (local_process.py), and
a crash costs one generation instead of the editor's whole backend.

The parent speaks JSON lines on our stdin; we answer JSON lines on the stdout we had at
start (fd 1 itself is pointed at stderr, so nothing llama.cpp prints can corrupt the
replies). The main thread reads requests and answers token counts at once (the vocabulary
is read-only, safe beside a generation); one generation thread loads the model and runs
generations in order, checking for cancellation at every token. When the parent goes away
(stdin closes, or on Linux the parent dies) the worker exits at once.

Requests:  load {path, n_ctx, threads} · tokenize {id, text} · generate {id, prompt, chat,
           stops, max_tokens, temperature, limits, elapsed} · cancel {id}
Replies:   loaded {chat, system_info} · load_failed {error} · count {id, tokens} ·
           text {id, text} · done {id, prompt_tokens, completion_tokens, finish_reason} ·
           error {id, error}
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import sys
import threading
import time
from collections.abc import Iterator
from typing import IO, Any

from aurelis.models.providers.local_limits import GenerationLimits

__all__ = ["main"]


class _Replies:
    """The reply channel: one JSON object a line, whole lines only, from any thread."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def send(self, op: str, **fields: Any) -> None:
        line = json.dumps({"op": op, **fields}, ensure_ascii=False)
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()


class _Worker:
    def __init__(self, replies: _Replies) -> None:
        self._replies = replies
        self._llama: Any = None
        self._jobs: queue.Queue[dict[str, Any]] = queue.Queue()
        self._cancelled: set[int] = set()

    def dispatch(self, message: dict[str, Any]) -> None:
        op = message.get("op")
        if op == "tokenize":
            self._replies.send("count", id=message.get("id"), tokens=self._count(message))
        elif op == "cancel":
            self._cancelled.add(int(message.get("id", -1)))
        elif op in ("load", "generate"):
            self._jobs.put(message)

    def run_jobs(self) -> None:
        while True:
            job = self._jobs.get()
            if job["op"] == "load":
                self._load(job)
            else:
                self._generate(job)

    def _count(self, message: dict[str, Any]) -> int | None:
        llama = self._llama
        if llama is None:
            return None
        text = str(message.get("text", ""))
        return len(llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def _load(self, job: dict[str, Any]) -> None:
        if self._llama is not None:
            self._replies.send("loaded", **self._description())
            return
        try:
            from llama_cpp import Llama

            llama = Llama(
                model_path=str(job["path"]),
                n_ctx=int(job["n_ctx"]),
                n_threads=int(job["threads"]),
                # Models with sliding-window attention (gemma 3) otherwise cannot drop the
                # end of the KV cache, and every prompt is evaluated from scratch instead of
                # re-using the prefix it shares with the previous one.
                swa_full=True,
                # Quiet would point fd 1 at /dev/null while loading; ours already goes to
                # stderr, which the parent logs at debug level.
                verbose=True,
            )
            _quiet(llama)
            # llama.cpp sets up its compute buffers on the first evaluation (seconds on a
            # busy machine): pay that now rather than on the first keystroke.
            llama.eval(llama.tokenize(b"\n", add_bos=True, special=False))
        except Exception as error:  # noqa: BLE001 - any load failure is reported, not raised
            self._replies.send("load_failed", error=f"{type(error).__name__}: {error}")
            return
        self._llama = llama
        self._replies.send("loaded", **self._description())

    def _description(self) -> dict[str, Any]:
        import llama_cpp

        info = llama_cpp.llama_print_system_info()
        return {
            "chat": bool(self._llama.metadata.get("tokenizer.chat_template")),
            "system_info": info.decode("utf-8", "replace") if isinstance(info, bytes) else info,
        }

    def _generate(self, job: dict[str, Any]) -> None:
        job_id = int(job["id"])
        if job_id in self._cancelled or self._llama is None:
            self._cancelled.discard(job_id)
            reason = "cancelled" if self._llama is not None else "not loaded"
            self._replies.send("done", id=job_id, **_totals(0, 0, reason))
            return
        try:
            self._replies.send("done", id=job_id, **self._run(job_id, job))
        except Exception as error:  # noqa: BLE001 - reported to the waiting call
            self._replies.send("error", id=job_id, error=f"{type(error).__name__}: {error}")
        finally:
            self._cancelled.discard(job_id)

    def _run(self, job_id: int, job: dict[str, Any]) -> dict[str, Any]:
        started = time.monotonic() - float(job.get("elapsed", 0.0))
        limits = GenerationLimits.from_wire(job.get("limits") or {})
        written, tokens, finish = "", 0, None
        for text, reason in _pieces(self._llama, job):
            if job_id in self._cancelled:
                finish = "cancelled"
                break
            kept, stop = limits.check(written, text, started)
            if kept:
                tokens += 1
                written += kept
                self._replies.send("text", id=job_id, text=kept)
            if stop is not None:
                finish = stop
                break
            finish = reason or finish
        prompt = job["prompt"]
        prompt_tokens = 0 if job.get("chat") else len(self._llama.tokenize(prompt.encode()))
        return _totals(prompt_tokens, tokens, finish or "stop")


def _totals(prompt_tokens: int, completion_tokens: int, finish: str) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "finish_reason": finish,
    }


def _pieces(llama: Any, job: dict[str, Any]) -> Iterator[tuple[str, str | None]]:
    options = {
        "max_tokens": int(job["max_tokens"]),
        "temperature": float(job["temperature"]),
        "repeat_penalty": float(job.get("repeat_penalty", 1.0)),
        "stream": True,
    }
    if job.get("chat"):
        for chunk in llama.create_chat_completion(messages=job["prompt"], **options):
            choice = chunk["choices"][0]
            yield choice.get("delta", {}).get("content") or "", choice.get("finish_reason")
    else:
        stops = job.get("stops") or None
        for chunk in llama.create_completion(prompt=job["prompt"], stop=stops, **options):
            choice = chunk["choices"][0]
            yield choice.get("text") or "", choice.get("finish_reason")


def _quiet(llama: Any) -> None:
    """No timing reports after each generation, and llama.cpp's own log down to errors."""
    llama.verbose = False
    with contextlib.suppress(ImportError):
        from llama_cpp._logger import set_verbose

        set_verbose(False)


def _reply_channel() -> _Replies:
    """Our replies on the original stdout; fd 1 from now on goes to stderr."""
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return _Replies(replies)


def _read_requests(worker: _Worker) -> None:
    for line in sys.stdin:
        try:
            message = json.loads(line)
        except ValueError:
            continue  # our parent writes whole JSON lines; anything else is not ours
        if isinstance(message, dict):
            worker.dispatch(message)
    # stdin closed: the parent is gone or closed us. Exit without waiting for a generation.
    os._exit(0)


def main() -> None:
    worker = _Worker(_reply_channel())
    threading.Thread(target=_read_requests, args=(worker,), name="requests", daemon=True).start()
    # llama.cpp loads and generates on the main thread: loaded from another thread, its
    # evaluation ran several times slower here (its OpenMP thread team).
    worker.run_jobs()


if __name__ == "__main__":
    main()
