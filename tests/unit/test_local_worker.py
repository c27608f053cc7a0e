"""The embedded model's worker process on the real GGUF: a native crash fails the call in
flight with a clear model error, never the caller; the worker comes back after a pause; a
crash loop stops restarting; nothing of it outlives its owner."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from aurelis.core.exceptions import ModelUnavailableError
from aurelis.models.providers.local import CrashHistory, LocalProvider
from aurelis.models.providers.local import direct_call as call
from aurelis.models.providers.local_build import UNSAFE_FEATURES, compiled_features
from aurelis.models.providers.local_process import describe_exit


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited; only its parent has not collected it yet.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def eventually(condition: Callable[[], bool], within: float) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def test_exits_are_described_by_signal_or_code() -> None:
    assert describe_exit(-signal.SIGSEGV) == "SIGSEGV"
    assert describe_exit(-signal.SIGKILL) == "SIGKILL"
    assert describe_exit(3) == "exit code 3"


def test_restarts_back_off_and_a_crash_loop_stops_them() -> None:
    crashes = CrashHistory(limit=3, window=60)
    assert crashes.record("SIGSEGV") == 1.0
    with pytest.raises(ModelUnavailableError, match=r"ended \(SIGSEGV\); it restarts in"):
        crashes.check_may_start()  # inside the pause
    assert crashes.record("SIGILL") == 2.0
    assert crashes.record("SIGSEGV") is None  # the third crash within the window
    with pytest.raises(ModelUnavailableError, match="keeps crashing"):
        crashes.check_may_start()


def test_compiled_features_are_read_from_the_system_info() -> None:
    info = "CPU : SSE3 = 1 | AVX = 1 | AMX_INT8 = 0 | AVX512 = 1 | LLAMAFILE = 1 | "
    assert compiled_features(info) == ["SSE3", "AVX", "AVX512", "LLAMAFILE"]
    assert set(compiled_features("CPU : AMX_INT8 = 1 | ")) & set(UNSAFE_FEATURES)


@pytest.mark.local_model
async def test_a_worker_killed_mid_generation_fails_that_call_and_comes_back() -> None:
    provider = LocalProvider(None, context_size=1024, threads=1)
    assert await provider.preload() == "ready"
    first = provider.worker_pid
    assert first is not None and first != os.getpid()
    chunks: list[str] = []

    started = time.monotonic()
    with pytest.raises(ModelUnavailableError) as raised:
        async for chunk in provider.stream(call("# A long story about numbers\n", 400)):
            chunks.append(chunk.text)
            if len(chunks) == 3:
                os.kill(first, signal.SIGSEGV)

    assert "SIGSEGV" in str(raised.value)
    assert time.monotonic() - started < 30  # failed at once, not after 400 tokens' time
    assert provider.state == "failed" and "restarting" in str(provider.load_error)
    await eventually(lambda: provider.state == "ready", within=120)
    assert provider.worker_pid not in (None, first)
    completion = await provider.complete(call("total = ", 4))
    assert completion.completion_tokens >= 1
    await provider.close()


@pytest.mark.local_model
async def test_a_worker_that_keeps_crashing_is_not_restarted_and_says_why() -> None:
    provider = LocalProvider(None, context_size=1024, threads=1)
    assert await provider.preload() == "ready"
    for _ in range(3):
        await eventually(lambda: provider.state == "ready", within=120)
        pid = provider.worker_pid
        assert pid is not None
        os.kill(pid, signal.SIGSEGV)
        await eventually(lambda: provider.state == "failed", within=10)

    await asyncio.sleep(5)  # past every back-off pause: nothing restarts it
    assert provider.state == "failed" and provider.worker_pid is None
    assert "not restarted" in str(provider.load_error)
    assert "SIGSEGV" in str(provider.load_error)
    with pytest.raises(ModelUnavailableError, match="keeps crashing"):
        await provider.complete(call("x = ", 2))
    await provider.close()


@pytest.mark.local_model
async def test_closing_the_provider_ends_its_worker() -> None:
    provider = LocalProvider(None, context_size=1024, threads=1)
    assert await provider.preload() == "ready"
    pid = provider.worker_pid
    assert pid is not None and running(pid)

    await provider.close()

    await eventually(lambda: not running(pid), within=10)


OWNER = """
import asyncio, sys, time
from aurelis.models.providers.local import LocalProvider
provider = LocalProvider(None, context_size=512, threads=1)
assert asyncio.run(provider.preload()) == "ready", provider.load_error
print(provider.worker_pid, flush=True)
time.sleep(600)
"""


@pytest.mark.local_model
@pytest.mark.parametrize("death", [signal.SIGKILL, signal.SIGSEGV])
def test_a_worker_never_outlives_an_owner_that_dies(death: signal.Signals) -> None:
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER], stdout=subprocess.PIPE, text=True, cwd="/"
    )
    try:
        assert owner.stdout is not None
        worker = int(owner.stdout.readline())  # pytest's timeout bounds a silent owner
        assert running(worker)

        owner.send_signal(death)
        owner.wait(timeout=10)

        deadline = time.monotonic() + 10
        while running(worker):
            assert time.monotonic() < deadline, "the worker outlived its owner"
            time.sleep(0.05)
    finally:
        owner.kill()
        owner.wait()
