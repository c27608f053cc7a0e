"""Time limit and end-of-line stop on the embedded model's generation."""

from __future__ import annotations

import time

import pytest

from aurelis.lsp.inline.suggestion import suggestion_from
from aurelis.models.providers.local import GenerationLimits, LocalProvider
from aurelis.models.providers.local import direct_call as call
from aurelis.models.providers.local_limits import LINE_CUT, RUNAWAY_FACTOR


def test_limits_come_from_the_request_metadata() -> None:
    limits = GenerationLimits.of(call("x", 8, time_limit_ms=250, stop_at_line_end=True))
    assert limits == GenerationLimits(0.25, stop_at_line_end=True)
    assert GenerationLimits.of(call("x", 8)) == GenerationLimits()
    assert GenerationLimits.of(call("x", 8, time_limit_ms="soon")).time_limit is None


def test_the_time_limit_keeps_the_piece_in_hand_and_stops() -> None:
    limits = GenerationLimits(time_limit=0.5)
    assert limits.check("", " total", time.monotonic()) == (" total", None)
    assert limits.check("", " total", time.monotonic() - 1) == (" total", "time_limit")


def test_whole_lines_never_cut_the_first_line() -> None:
    limits = GenerationLimits(time_limit=0.5, whole_lines=True)
    late = time.monotonic() - 1
    # The first line goes on past the limit (a leading line break is not a line yet) ...
    assert limits.check("", "    total", late) == ("    total", None)
    assert limits.check("\n", "    total", late) == ("    total", None)
    # ... and ends where it ends, the break and what follows left out.
    assert limits.check("total = sum(xs", ")\n    return", late) == (")", "line_end")
    assert limits.check("total = sum(xs)", "\n", late) == ("", "line_end")
    # Past it, the limit stops at once; the reader drops the unfinished line.
    assert limits.check("total = 0\nfor x", " in xs", late) == ("", LINE_CUT)
    # Before the limit nothing stops.
    assert limits.check("total = sum(xs)", "\n", time.monotonic()) == ("\n", None)


def test_a_suggestion_cut_after_its_first_line_keeps_only_whole_lines() -> None:
    answer = "total = 0\n    for row in rows:\n        total += row.amo"
    shown = suggestion_from(answer, "def f(rows):\n    ", "", "python", continuation=True,
                            finish_reason=LINE_CUT)  # fmt: skip

    assert shown == "total = 0\n    for row in rows:"


def test_whole_lines_still_cut_a_line_that_runs_away() -> None:
    limits = GenerationLimits(time_limit=0.5, whole_lines=True)
    runaway = time.monotonic() - 0.5 * RUNAWAY_FACTOR - 0.1
    assert limits.check("x = [1, 2, 3", ", 4", runaway) == (", 4", "time_limit")


def test_whole_lines_travel_to_the_worker() -> None:
    limits = GenerationLimits.of(call("x", 8, time_limit_ms=1000, whole_lines=True))
    assert limits == GenerationLimits(1.0, whole_lines=True)
    assert GenerationLimits.from_wire(limits.to_wire()) == limits


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


@pytest.mark.local_model
async def test_the_real_model_finishes_the_line_its_time_limit_falls_in() -> None:
    provider = LocalProvider(None, context_size=1024, threads=2)
    await provider.preload()
    completion = await provider.complete(
        call("def add(a, b):\n    return", 64, time_limit_ms=200, whole_lines=True)
    )

    # Past the limit at once (a prompt is read first), yet the line is whole.
    assert completion.finish_reason in {"line_end", "stop", LINE_CUT}
    assert completion.content.strip() and "\n" not in completion.content.strip()


@pytest.mark.local_model
async def test_windows_are_measured_with_the_loaded_models_own_tokenizer() -> None:
    from aurelis.lsp.inline.suggestion import estimated_local_tokens, local_token_counter

    provider = LocalProvider(None, context_size=1024, threads=2)
    code = "def normalize_invoice_rows(rows, currency):\n    return sorted(rows)\n"
    assert local_token_counter(provider) is estimated_local_tokens  # not loaded yet

    await provider.preload()
    counted = local_token_counter(provider)(code)

    assert counted == provider.count_tokens(code)
    # The estimate errs high: a window cut with it (as `aurelis eval` once did) is smaller
    # than the editor's.
    assert counted < estimated_local_tokens(code)
