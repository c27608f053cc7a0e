"""Time limit and end-of-line stop on the embedded model's generation."""

from __future__ import annotations

import time

import pytest

from aurelis.models.providers.local import GenerationLimits, LocalProvider
from aurelis.models.providers.local import direct_call as call


def test_limits_come_from_the_request_metadata() -> None:
    limits = GenerationLimits.of(call("x", 8, time_limit_ms=250, stop_at_line_end=True))
    assert limits == GenerationLimits(0.25, stop_at_line_end=True)
    assert GenerationLimits.of(call("x", 8)) == GenerationLimits()
    assert GenerationLimits.of(call("x", 8, time_limit_ms="soon")).time_limit is None


def test_the_time_limit_keeps_the_piece_in_hand_and_stops() -> None:
    limits = GenerationLimits(time_limit=0.5)
    assert limits.check("", " total", time.monotonic()) == (" total", None)
    assert limits.check("", " total", time.monotonic() - 1) == (" total", "time_limit")


def test_mid_line_generation_stops_at_the_first_line_break() -> None:
    limits = GenerationLimits(stop_at_line_end=True)
    assert limits.check("a, b", ")\n    more", time.monotonic()) == (")", "line_end")
    assert limits.check("", "\n", time.monotonic()) == ("", "line_end")


def test_after_line_generation_stops_at_the_end_of_the_first_line_with_text() -> None:
    limits = GenerationLimits(stop_after_line=True)
    started = time.monotonic()
    assert limits.check("", "\n    ", started) == ("\n    ", None)  # the next line begins
    assert limits.check("\n    return", " x\n", started) == (" x", "line_end")


@pytest.mark.local_model
async def test_the_real_model_stops_at_its_time_limit_and_keeps_what_it_wrote() -> None:
    provider = LocalProvider(None, context_size=1024, threads=2)
    await provider.preload()
    started = time.monotonic()
    completion = await provider.complete(
        call("# A long story about numbers\nnumbers = [", 400, time_limit_ms=300)
    )
    elapsed = time.monotonic() - started

    assert completion.finish_reason == "time_limit"
    assert completion.content  # what was generated before the limit is the answer
    assert 0 < completion.completion_tokens < 400
    assert elapsed < 30  # far below 400 tokens' worth, even on a busy machine


@pytest.mark.local_model
async def test_the_real_model_stops_at_the_end_of_the_line() -> None:
    provider = LocalProvider(None, context_size=1024, threads=2)
    completion = await provider.complete(
        call("def add(a, b):\n    return a +", 64, stop_at_line_end=True)
    )

    assert "\n" not in completion.content
    assert completion.finish_reason in {"line_end", "stop"}


@pytest.mark.local_model
async def test_preload_loads_the_model_and_reports_ready() -> None:
    provider = LocalProvider(None, context_size=1024, threads=2)
    assert provider.state == "not_loaded" and provider.count_tokens("x = 1") is None

    assert await provider.preload() == "ready"
    after: str = provider.state  # read again: preload changed it
    assert after == "ready"
    counted = provider.count_tokens("def add(a, b):\n    return a + b\n")
    assert counted is not None and counted > 5
