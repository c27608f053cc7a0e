"""The embedded model's worker process seen from its parent: started, talked to, watched.

One `LocalProcess` is one child running local_worker.py. Requests go down its stdin as
JSON lines; a reader thread takes its replies and hands each to whoever waits for it
(a token count, a load, a generation's pieces). When the child dies, for any reason, the
reader sees its stdout close at once: everything waiting fails with a `WorkerExited`
message naming the signal or exit code and the last lines it wrote to stderr, and the
owner's `on_exit` hears of it. Nothing ever waits on a dead child. The child dies with us:
it exits as soon as its stdin closes, which the kernel does when we die, however we die.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

__all__ = ["GenerationSink", "LocalProcess", "WorkerExited", "describe_exit"]

logger = logging.getLogger("aurelis.models.local")

#: (kind, value): ("text", str), ("done", totals dict) or ("error", message str).
GenerationSink = Callable[[str, Any], None]

_STDERR_LINES_KEPT = 12


class WorkerExited(Exception):
    """The worker process is gone; the message says how it ended."""


def describe_exit(returncode: int | None) -> str:
    """ "SIGSEGV" for a process killed by a signal, "exit code 3" otherwise."""
    if returncode is None:
        return "still running"
    if returncode < 0:
        with contextlib.suppress(ValueError):
            return signal.Signals(-returncode).name
        return f"signal {-returncode}"
    return f"exit code {returncode}"


def _worker_environment() -> dict[str, str]:
    """Ours, with OpenMP's idle threads sleeping instead of spinning (unless the user chose):
    llama.cpp's threads spin between tokens by default, and on two busy cores that spin
    starved the worker's own reply thread and its parent. Measured with
    bench/local_worker_overhead.py: 8-token requests took 6 s spinning, 0.55 s sleeping."""
    environment = dict(os.environ)
    environment.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return environment


@dataclass
class _Waiter:
    """A blocking caller waiting for one reply."""

    ready: threading.Event = field(default_factory=threading.Event)
    reply: dict[str, Any] | None = None


class LocalProcess:
    """One worker child: its pipes, the requests in flight, and how it ended."""

    def __init__(self, on_exit: Callable[[str], None] | None = None) -> None:
        self._on_exit = on_exit
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._count_waiters: dict[int, _Waiter] = {}
        self._load_waiter: _Waiter | None = None
        self._generations: dict[int, GenerationSink] = {}
        self._cancelled: set[int] = set()
        self._idle = threading.Condition(self._lock)
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=_STDERR_LINES_KEPT)
        self.exit_reason: str | None = None
        self._child = subprocess.Popen(
            [sys.executable, "-P", "-m", "aurelis.models.providers.local_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
            env=_worker_environment(),
            # Never the workspace: with -P nothing there is importable, and a crash dump or
            # relative path the native code writes cannot land in the user's project.
            cwd=os.path.expanduser("~") if os.path.isdir(os.path.expanduser("~")) else "/",
        )
        assert self._child.stdin and self._child.stdout and self._child.stderr
        self._stdin: IO[str] = self._child.stdin
        self._stderr_reader = threading.Thread(
            target=self._read_stderr, name="local-worker-stderr", daemon=True
        )
        self._stderr_reader.start()
        threading.Thread(
            target=self._read_replies, name="local-worker-replies", daemon=True
        ).start()

    @property
    def pid(self) -> int:
        return self._child.pid

    @property
    def alive(self) -> bool:
        return self.exit_reason is None

    @property
    def generating(self) -> bool:
        """A generation nobody cancelled is in flight (another would wait for it)."""
        with self._lock:
            return any(job not in self._cancelled for job in self._generations)

    def load(self, path: str, *, n_ctx: int, threads: int, timeout: float) -> dict[str, Any]:
        """Load the GGUF (and warm it up); the `loaded` or `load_failed` reply."""
        waiter = _Waiter()
        with self._lock:
            self._load_waiter = waiter
        self._send({"op": "load", "path": path, "n_ctx": n_ctx, "threads": threads})
        return self._wait(waiter, timeout, "loading the model")

    def count_tokens(self, text: str, *, timeout: float) -> int | None:
        """Tokens `text` takes with the loaded model's tokenizer; None if it cannot say."""
        waiter, request = _Waiter(), next(self._ids)
        with self._lock:
            self._count_waiters[request] = waiter
        try:
            self._send({"op": "tokenize", "id": request, "text": text})
            reply = self._wait(waiter, timeout, "counting tokens")
        except WorkerExited:
            return None
        finally:
            with self._lock:
                self._count_waiters.pop(request, None)
        tokens = reply.get("tokens")
        return tokens if isinstance(tokens, int) else None

    def generate(self, job: dict[str, Any], sink: GenerationSink) -> int:
        """Start a generation; its pieces and end go to `sink` from the reader thread."""
        request = next(self._ids)
        with self._lock:
            if self.exit_reason is not None:
                raise WorkerExited(self.exit_reason)
            self._generations[request] = sink
        try:
            self._send({**job, "op": "generate", "id": request})
        except WorkerExited:
            with self._lock:
                self._generations.pop(request, None)
            raise
        return request

    def cancel(self, request: int) -> None:
        """Stop a generation at its next token (its `done` still arrives)."""
        with self._lock:
            if request not in self._generations:
                return
            self._cancelled.add(request)
        with contextlib.suppress(WorkerExited):
            self._send({"op": "cancel", "id": request})

    def wait_idle(self, timeout: float) -> bool:
        """Block until no generation is in flight (at most `timeout` s); whether it is so."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._generations, timeout)

    def stop(self) -> None:
        """End the child: close its stdin (it exits at once), kill it if it lingers."""
        with contextlib.suppress(OSError, ValueError):
            self._stdin.close()
        try:
            self._child.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self._child.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._child.wait(timeout=2)

    def stderr_tail(self) -> str:
        return " | ".join(self._stderr_tail)

    def _send(self, message: dict[str, Any]) -> None:
        line = json.dumps(message, ensure_ascii=False) + "\n"
        try:
            with self._lock:
                if self.exit_reason is not None:
                    raise WorkerExited(self.exit_reason)
                self._stdin.write(line)
                self._stdin.flush()
        except (OSError, ValueError) as error:  # the pipe broke: the child is dying
            raise WorkerExited(
                self.exit_reason or f"the worker stopped reading ({error})"
            ) from None

    def _wait(self, waiter: _Waiter, timeout: float, doing: str) -> dict[str, Any]:
        if not waiter.ready.wait(timeout):
            raise WorkerExited(f"no answer after {timeout:.1f} s while {doing}")
        if waiter.reply is None:
            raise WorkerExited(self.exit_reason or "the worker exited")
        return waiter.reply

    def _read_replies(self) -> None:
        stdout = self._child.stdout
        assert stdout is not None
        for line in stdout:
            try:
                reply = json.loads(line)
            except ValueError:
                continue
            if isinstance(reply, dict):
                self._deliver(reply)
        self._exited()

    def _deliver(self, reply: dict[str, Any]) -> None:
        op, found = reply.get("op"), reply.get("id")
        request = found if isinstance(found, int) else -1
        sink: GenerationSink | None = None
        with self._lock:
            if op in ("loaded", "load_failed"):
                waiter = self._load_waiter
            elif op == "count":
                waiter = self._count_waiters.get(request)
            else:
                waiter = None
                sink = self._generations.get(request)
                if op in ("done", "error") and sink is not None:
                    del self._generations[request]
                    self._cancelled.discard(request)
                    self._idle.notify_all()
        if waiter is not None:
            waiter.reply = reply
            waiter.ready.set()
        elif sink is not None:
            self._hand_over(sink, op, reply)

    @staticmethod
    def _hand_over(sink: GenerationSink, op: Any, reply: dict[str, Any]) -> None:
        if op == "text":
            sink("text", str(reply.get("text", "")))
        elif op == "done":
            sink("done", reply)
        elif op == "error":
            sink("error", str(reply.get("error", "the generation failed")))

    def _read_stderr(self) -> None:
        stderr = self._child.stderr
        assert stderr is not None
        for line in stderr:
            line = line.rstrip()
            if line:
                self._stderr_tail.append(line[:300])
                logger.debug("local model worker: %s", line)

    def _exited(self) -> None:
        """The child's stdout closed: it is gone. Fail everything that waits on it."""
        try:
            returncode = self._child.wait(timeout=5)
        except subprocess.TimeoutExpired:  # stdout closed but still running: end it
            self._child.kill()
            returncode = self._child.wait()
        reason = describe_exit(returncode)
        self._stderr_reader.join(timeout=0.5)  # its last words explain the exit
        with self._lock:
            self.exit_reason = reason
            waiters = [*self._count_waiters.values()]
            if self._load_waiter is not None:
                waiters.append(self._load_waiter)
            sinks = list(self._generations.values())
            self._generations.clear()
            self._idle.notify_all()
        if self._on_exit is not None:
            # First, so whoever the failures below wake up sees the owner's new state.
            self._on_exit(reason)
        for waiter in waiters:
            waiter.ready.set()  # reply None: the waiter raises WorkerExited
        for sink in sinks:
            sink("error", f"the local model process ended ({reason})")
