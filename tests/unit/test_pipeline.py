"""The orchestrator's pipeline on an in-process fake provider: breaker, fallback, retries,
rate limits and streams, with a fake clock where time matters. No sockets: what the
provider itself does over HTTP is tested against ModelServer elsewhere."""

from __future__ import annotations

import asyncio

import pytest

from aurelis.core.config import AurelisConfig, config_in_force
from aurelis.core.exceptions import (
    AllModelsFailedError,
    AllModelsRateLimitedError,
    AuthenticationError,
    ModelError,
    RateLimitError,
    TransientModelError,
)
from aurelis.models import ModelOrchestrator, ModelRequest, ModelType
from aurelis.models.providers.base import Completion, FimPrompt, ProviderCall, RateLimitInfo
from aurelis.testing import FakeProvider

MINI, NEMO, CODESTRAL = "gpt-4o-mini", "mistral-nemo", "codestral-2501"


class FakeTime:
    """The orchestrator's clock and sleep: time moves only when someone sleeps (or a test)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


class Models:
    """A handler: scripted outcomes per model (errors raised, texts answered), then an echo."""

    def __init__(self) -> None:
        self.scripts: dict[str, list[BaseException | str]] = {}
        self.always: dict[str, BaseException] = {}

    def script(self, model: str, *outcomes: BaseException | str) -> None:
        self.scripts.setdefault(model, []).extend(outcomes)

    def __call__(self, call: ProviderCall) -> str:
        script = self.scripts.get(call.model)
        outcome = script.pop(0) if script else self.always.get(call.model)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome or f"[{call.model}] {call.request.prompt}"


def down(model: str) -> TransientModelError:
    return TransientModelError(f"{model} failed with 503", model=model, status_code=503)


@pytest.fixture
def config(isolated_config: AurelisConfig) -> AurelisConfig:
    isolated_config.update(
        {
            "provider": "azure",
            "endpoint": "http://127.0.0.1:9",  # never contacted: the fake answers
            "token": "test-token-0123456789",
            "token_source": "AURELIS_TOKEN",
            "local_fallback": False,
            "max_retries": 0,
            "breaker_failure_threshold": 2,
            "breaker_cooldown": 30,
            "fallback_chains": {MINI: [NEMO]},
        }
    )
    return isolated_config


@pytest.fixture
def models() -> Models:
    return Models()


@pytest.fixture
def fake(models: Models) -> FakeProvider:
    return FakeProvider(models)


@pytest.fixture
def time_() -> FakeTime:
    return FakeTime()


@pytest.fixture
async def orchestrator(config: AurelisConfig, fake: FakeProvider, time_: FakeTime):
    orchestrator = ModelOrchestrator(providers=fake.factories(), clock=time_, sleep=time_.sleep)
    yield orchestrator
    await orchestrator.close()


async def ask(orchestrator: ModelOrchestrator, prompt: str, **fields):
    return await orchestrator.process_request(ModelRequest(prompt=prompt, **fields))


# --- breaker -----------------------------------------------------------------------------------
async def test_breaker_opens_skips_the_model_and_closes_after_a_good_probe(
    orchestrator, models, fake, time_
) -> None:
    models.script(MINI, down(MINI), down(MINI))
    for index in range(2):
        assert (await ask(orchestrator, f"q{index}")).content == f"[{NEMO}] q{index}"
    assert orchestrator.get_stats()[MINI]["breaker"] == "open"

    skipped = await ask(orchestrator, "q2")
    assert len(fake.calls_for(MINI)) == 2  # not called while open
    [reason] = skipped.metadata["fallback_from"]
    assert reason["model"] == MINI and "circuit open" in reason["error"]

    time_.now += 30
    assert orchestrator.get_stats()[MINI]["breaker"] == "half_open"
    probe = await ask(orchestrator, "q3")
    assert probe.content == f"[{MINI}] q3" and probe.metadata["fallback_from"] == []
    assert orchestrator.get_stats()[MINI]["breaker"] == "closed"


async def test_half_open_sends_one_probe_while_others_fall_back(config, models, time_) -> None:
    release = asyncio.Event()

    async def handler(call: ProviderCall) -> str:
        if call.model == MINI and call.request.prompt.startswith("p"):
            await release.wait()  # the probe is slow: the others arrive while it is out
        return models(call)

    fake = FakeProvider(handler)
    orchestrator = ModelOrchestrator(providers=fake.factories(), clock=time_, sleep=time_.sleep)
    models.script(MINI, down(MINI), down(MINI))
    for index in range(2):
        await ask(orchestrator, f"q{index}")
    time_.now += 30
    answers = [asyncio.create_task(ask(orchestrator, f"p{i}")) for i in range(4)]
    await asyncio.sleep(0.01)
    release.set()
    used = sorted(answer.model_used.value for answer in await asyncio.gather(*answers))
    assert len(fake.calls_for(MINI)) == 3  # two failures, one probe
    assert used == [MINI] + [NEMO] * 3
    await orchestrator.close()


async def test_failed_probe_reopens_the_breaker(orchestrator, models, fake, time_) -> None:
    models.always[MINI] = down(MINI)
    for index in range(2):
        await ask(orchestrator, f"q{index}")
    time_.now += 30
    await ask(orchestrator, "probe")
    assert len(fake.calls_for(MINI)) == 3
    assert orchestrator.get_stats()[MINI]["breaker"] == "open"


async def test_bad_requests_and_rate_limits_do_not_open_the_breaker(
    orchestrator, models, config
) -> None:
    config.fallback_chains = {MINI: []}
    bad = [ModelError("bad request", model=MINI, status_code=400) for _ in range(3)]
    limited = [RateLimitError("slow down", retry_after=0.01, model=MINI) for _ in range(3)]
    models.script(MINI, *bad, *limited)
    for index in range(6):
        with pytest.raises(ModelError if index < 3 else RateLimitError):
            await ask(orchestrator, f"q{index}")
    assert orchestrator.get_stats()[MINI]["breaker"] == "closed"


async def test_when_every_model_is_open_the_request_waits_for_the_first_probe(
    orchestrator, models, config, time_
) -> None:
    config.update({"fallback_chains": {MINI: []}, "breaker_failure_threshold": 1})
    models.script(MINI, down(MINI))
    with pytest.raises(ModelError):
        await ask(orchestrator, "first")
    answer = await ask(orchestrator, "second")
    assert answer.content == f"[{MINI}] second"  # probed after the cooldown, not failed
    assert time_.sleeps == [30]


async def test_when_the_probe_comes_after_the_deadline_the_request_fails_at_once(
    orchestrator, models, config, fake, time_
) -> None:
    config.update({"fallback_chains": {MINI: []}, "breaker_failure_threshold": 1, "deadline": 5})
    models.script(MINI, down(MINI))
    with pytest.raises(ModelError):
        await ask(orchestrator, "first")
    with pytest.raises(ModelError, match="circuit open"):
        await ask(orchestrator, "second")
    assert time_.sleeps == [] and len(fake.calls) == 1


# --- fallback ----------------------------------------------------------------------------------
async def test_a_failing_model_falls_back_and_says_why(orchestrator, models) -> None:
    models.script(MINI, down(MINI))
    response = await ask(orchestrator, "hi")
    assert response.model_used is ModelType.MISTRAL_NEMO
    [failed] = response.metadata["fallback_from"]
    assert failed["model"] == MINI and "503" in failed["error"]


async def test_the_whole_chain_failing_lists_every_attempt(orchestrator, models) -> None:
    models.always.update({MINI: down(MINI), NEMO: down(NEMO)})
    with pytest.raises(AllModelsFailedError) as raised:
        await ask(orchestrator, "hi")
    assert [a.model for a in raised.value.attempts] == [
        ModelType.GPT_4O_MINI,
        ModelType.MISTRAL_NEMO,
    ]
    assert f"{MINI}: TransientModelError" in str(raised.value)


async def test_rate_limits_on_every_link_name_the_shortest_wait(orchestrator, models) -> None:
    models.script(MINI, RateLimitError("slow", retry_after=90, model=MINI))
    models.script(NEMO, RateLimitError("slow", retry_after=70, model=NEMO))
    with pytest.raises(AllModelsRateLimitedError) as raised:
        await ask(orchestrator, "hi")
    assert raised.value.retry_after == 70


async def test_credentials_and_bad_requests_are_raised_without_fallback(
    orchestrator, models, fake
) -> None:
    models.script(MINI, AuthenticationError("no access", model=MINI))
    with pytest.raises(AuthenticationError):
        await ask(orchestrator, "one")
    models.script(MINI, ModelError("bad", model=MINI, status_code=400))
    with pytest.raises(ModelError, match="bad") as raised:
        await ask(orchestrator, "two")
    assert not isinstance(raised.value, AllModelsFailedError)
    assert [call.model for call in fake.calls] == [MINI, MINI]


# --- retries -----------------------------------------------------------------------------------
async def test_a_transient_failure_is_retried_on_the_same_model(
    orchestrator, models, fake, config
) -> None:
    config.update({"max_retries": 2, "breaker_failure_threshold": 5})
    models.script(MINI, down(MINI), down(MINI))
    response = await ask(orchestrator, "hi")
    assert response.content == f"[{MINI}] hi" and response.metadata["fallback_from"] == []
    assert len(fake.calls_for(MINI)) == 3


async def test_retry_after_is_waited_on_the_orchestrators_clock(
    orchestrator, models, config, time_
) -> None:
    config.max_retries = 1
    models.script(MINI, RateLimitError("slow", retry_after=7, model=MINI))
    assert (await ask(orchestrator, "hi")).content == f"[{MINI}] hi"
    assert 7 in time_.sleeps


async def test_a_cancelled_request_stops_its_retries(config, models) -> None:
    config.max_retries = 2
    backing_off = asyncio.Event()

    async def sleep(seconds: float) -> None:  # the retry backoff, held until cancelled
        backing_off.set()
        await asyncio.Event().wait()

    fake = FakeProvider(models)
    models.always[MINI] = down(MINI)
    orchestrator = ModelOrchestrator(providers=fake.factories(), sleep=sleep)
    task = asyncio.create_task(ask(orchestrator, "hi"))
    await asyncio.wait_for(backing_off.wait(), timeout=5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await orchestrator.close()
    assert len(fake.calls) == 1  # no retry, no fallback after the cancel


# --- rate limits -------------------------------------------------------------------------------
async def test_the_concurrency_limit_holds_under_a_burst(config, models) -> None:
    config.rate_limits = {MINI: {"concurrent": 2}}

    async def slow(call: ProviderCall) -> str:
        await asyncio.sleep(0.01)
        return models(call)

    fake = FakeProvider(slow)
    orchestrator = ModelOrchestrator(providers=fake.factories())
    await asyncio.gather(*(ask(orchestrator, f"q{i}") for i in range(6)))
    assert fake.max_concurrent == 2 and len(fake.calls) == 6
    await orchestrator.close()


async def test_fail_mode_refuses_once_the_window_is_full(orchestrator, config, fake) -> None:
    config.update(
        {
            "rate_limit_mode": "fail",
            "fallback_chains": {MINI: []},
            "rate_limits": {MINI: {"per_minute": 2}},
        }
    )
    for prompt in ("a", "b"):
        await ask(orchestrator, prompt)
    with pytest.raises(RateLimitError, match="2 requests per minute"):
        await ask(orchestrator, "c")
    assert len(fake.calls) == 2


async def test_a_429_holds_the_model_back_for_its_retry_after(
    orchestrator, models, config, time_
) -> None:
    config.fallback_chains = {MINI: []}
    models.script(MINI, RateLimitError("slow", retry_after=12, model=MINI))
    with pytest.raises(RateLimitError):
        await ask(orchestrator, "one")
    await ask(orchestrator, "two")
    assert time_.sleeps == [12]


async def test_metadata_reports_our_own_count_or_what_the_server_said(config) -> None:
    told = Completion("told", 1, 1, rate_limit=RateLimitInfo(3, None, 42.0))
    fake = FakeProvider(lambda call: told if call.request.prompt == "two" else "plain")
    orchestrator = ModelOrchestrator(providers=fake.factories())
    own = await ask(orchestrator, "one")
    assert own.metadata["rate_limit_remaining"] == 14  # the low tier allows 15 a minute
    said = await ask(orchestrator, "two")
    assert said.metadata["rate_limit_remaining"] == 3 and said.metadata["rate_limit_reset"] == 42
    await orchestrator.close()


# --- streams -----------------------------------------------------------------------------------
async def test_a_stream_yields_pieces_and_caches_the_whole_answer(orchestrator, fake) -> None:
    chunks = [c async for c in orchestrator.stream_request(ModelRequest(prompt="add"))]
    assert len(chunks) > 1 and "".join(chunks) == f"[{MINI}] add"
    assert (await ask(orchestrator, "add")).cached is True
    assert len(fake.calls) == 1


async def test_a_stream_falls_back_before_its_first_chunk(orchestrator, models) -> None:
    models.script(MINI, down(MINI))
    text = "".join([c async for c in orchestrator.stream_request(ModelRequest(prompt="hi"))])
    assert text == f"[{NEMO}] hi"


async def test_closing_a_stream_early_frees_its_slot_and_caches_nothing(config, models) -> None:
    config.rate_limits = {MINI: {"concurrent": 1}}
    fake = FakeProvider(models, chunk_size=1)
    orchestrator = ModelOrchestrator(providers=fake.factories())
    stream = orchestrator.stream_request(ModelRequest(prompt="long"))
    await anext(stream)
    await stream.aclose()
    again = await asyncio.wait_for(ask(orchestrator, "long"), timeout=2)  # the slot is free
    assert again.cached is False
    assert orchestrator.get_stats()[MINI]["breaker"] == "closed"
    await orchestrator.close()


# --- the provider seam -------------------------------------------------------------------------
async def test_a_live_endpoint_or_token_change_rebuilds_the_remote_provider(config) -> None:
    built: list[FakeProvider] = []

    def factory(live: AurelisConfig) -> FakeProvider:
        built.append(FakeProvider(lambda call: f"{live.endpoint} answered"))
        return built[-1]

    orchestrator = ModelOrchestrator(providers={"remote": factory})
    await ask(orchestrator, "one")
    await ask(orchestrator, "two")
    config.endpoint = "http://127.0.0.1:10"
    assert (await ask(orchestrator, "three")).content == "http://127.0.0.1:10 answered"
    config.token = "another-token-0123456789"
    await ask(orchestrator, "four")
    assert len(built) == 3
    await orchestrator.close()
    assert all(provider.closed for provider in built)


async def test_each_config_in_force_keeps_its_own_remote_provider(config) -> None:
    # A language server serves each workspace root with its own settings: switching
    # between two roots' endpoints reuses each one's client instead of rebuilding it.
    built: list[FakeProvider] = []

    def factory(live: AurelisConfig) -> FakeProvider:
        built.append(FakeProvider(lambda call: f"{live.endpoint} answered"))
        return built[-1]

    orchestrator = ModelOrchestrator(providers={"remote": factory})
    team = config.model_copy(deep=True)
    team.endpoint = "http://127.0.0.1:11"
    answers = []
    for settings in (None, team, None, team):
        with config_in_force(settings):
            answers.append((await ask(orchestrator, f"{len(answers)}")).content)

    assert answers[1::2] == ["http://127.0.0.1:11 answered"] * 2
    assert answers[0] == answers[2] != answers[1]
    assert len(built) == 2
    await orchestrator.close()
    assert all(provider.closed for provider in built)


def test_an_unknown_provider_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown provider kind"):
        ModelOrchestrator(providers={"cloud": FakeProvider(lambda call: "x").factory})


async def test_calls_are_chat_calls_with_room_for_fill_in_the_middle(orchestrator, fake) -> None:
    await ask(orchestrator, "hi")
    [call] = fake.calls
    assert call.kind == "chat" and call.fim is None and call.messages[-1]["content"] == "hi"
    fim = ProviderCall(**{**call.__dict__, "fim": FimPrompt(prefix="def f(", suffix=")")})
    assert fim.kind == "fim"


# --- single-flight -----------------------------------------------------------------------------
async def test_identical_requests_share_a_call_that_stops_when_every_caller_left(config) -> None:
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def hanging(call: ProviderCall) -> str:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "never"

    fake = FakeProvider(hanging)
    orchestrator = ModelOrchestrator(providers=fake.factories())
    callers = [asyncio.create_task(ask(orchestrator, "same")) for _ in range(3)]
    await asyncio.wait_for(started.wait(), timeout=5)
    callers[0].cancel()
    await asyncio.sleep(0.01)
    assert not cancelled.is_set()  # two callers still want the answer
    for caller in callers[1:]:
        caller.cancel()
    await asyncio.wait_for(cancelled.wait(), timeout=5)
    assert len(fake.calls) == 1
    await orchestrator.close()
