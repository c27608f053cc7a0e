"""Circuit breakers shared by every process that uses one endpoint, deployment and token.

The rules are those of `models.breaker` (consecutive failures, or a failure ratio over a
sliding window with a minimum of outcomes; cooldown; one probe when half open), with the
state in Redis and every transition done by a server-side script: a breaker that one
process opens is open for all, and after the cooldown exactly one process probes (it holds
a probe lease that expires if that process dies). Only transient failures count: a 401 or
403 is one user's credential, not the endpoint's health, and never opens the team's
breaker. Without Redis, the in-process breakers of `models.breaker` decide.
"""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass
from types import TracebackType

from aurelis.core.config import AurelisConfig
from aurelis.core.exceptions import AuthenticationError, RateLimitError, is_transient
from aurelis.models.breaker import (
    BreakerPolicy,
    BreakerRegistry,
    BreakerState,
    CircuitBreaker,
    CircuitOpenError,
)
from aurelis.models.shared.connection import LuaScript, SharedRedis, SharedUnavailable
from aurelis.models.shared.keys import Keyspace
from aurelis.models.types import ModelType

__all__ = [
    "SharedBreakers",
    "BreakerTarget",
    "BreakerPass",
    "SharedProbe",
    "counts_against_breaker",
]

#: A probe lease outlives any single call; a dead prober's lease frees after this long.
PROBE_SECONDS = 90.0
#: How often others look again while one process probes.
_PROBE_POLL_MS = 250

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local opened = tonumber(redis.call('HGET', KEYS[1], 'opened_at') or '-1')
local cooldown = tonumber(ARGV[1])
"""

# -> {1, 0} closed; {2, 0} the probe is yours; {0, ms} open for ms more; {3, ms} probing
_ALLOW = LuaScript(
    "aurelis_breaker_allow",
    _NOW
    + """
if opened < 0 then
  return {1, 0}
end
local due = opened + cooldown - now
if due > 0 then
  return {0, due}
end
if redis.call('SET', KEYS[3], ARGV[2], 'NX', 'PX', ARGV[3]) then
  return {2, 0}
end
return {3, math.min(math.max(redis.call('PTTL', KEYS[3]), 1), tonumber(ARGV[4]))}
""",
)

_SUCCESS = LuaScript(
    "aurelis_breaker_success",
    _NOW
    + """
if opened >= 0 then
  if now >= opened + cooldown then
    redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
    return 'closed'
  end
  return 'open'
end
local window, keep = tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('HSET', KEYS[1], 'consecutive', 0)
redis.call('ZADD', KEYS[2], now, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - window)
for i = 1, 2 do
  redis.call('PEXPIRE', KEYS[i], keep)
end
return 'closed'
""",
)

_FAILURE = LuaScript(
    "aurelis_breaker_failure",
    _NOW
    + """
local window, keep = tonumber(ARGV[3]), tonumber(ARGV[4])
local threshold, ratio, minimum = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
if opened >= 0 then
  if now >= opened + cooldown then
    redis.call('HSET', KEYS[1], 'opened_at', now)
    redis.call('PEXPIRE', KEYS[1], keep)
    redis.call('DEL', KEYS[3])
  end
  return 'open'
end
local consecutive = redis.call('HINCRBY', KEYS[1], 'consecutive', 1)
redis.call('ZADD', KEYS[2], now, ARGV[2])
redis.call('ZADD', KEYS[4], now, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - window)
local total = redis.call('ZCARD', KEYS[2])
local failures = redis.call('ZCARD', KEYS[4])
if consecutive >= threshold or (total >= minimum and failures / total >= ratio) then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
  redis.call('HSET', KEYS[1], 'opened_at', now, 'consecutive', 0)
  redis.call('PEXPIRE', KEYS[1], keep)
  return 'open'
end
for _, key in ipairs({KEYS[1], KEYS[2], KEYS[4]}) do
  redis.call('PEXPIRE', key, keep)
end
return 'closed'
""",
)

_RELEASE = LuaScript(
    "aurelis_breaker_release",
    """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
return 1
""",
)

# -> {state, ms until the next probe}: 0 closed, 1 open, 2 half open
_STATUS = LuaScript(
    "aurelis_breaker_status",
    _NOW
    + """
if opened < 0 then
  return {0, 0}
end
local due = opened + cooldown - now
if due > 0 then
  return {1, due}
end
return {2, 0}
""",
)

_STATES = (BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN)


def counts_against_breaker(error: BaseException) -> bool:
    """Does this failure say the model is unhealthy? (401/403 and 429 never do.)"""
    if isinstance(error, AuthenticationError | RateLimitError):
        return False
    if getattr(error, "status_code", None) in (401, 403):
        return False
    return is_transient(error)


@dataclass(frozen=True)
class BreakerTarget:
    """One breaker: a model's deployment on one endpoint with one token."""

    keyspace: Keyspace
    model: ModelType
    deployment: str

    @property
    def keys(self) -> list[str]:
        key = self.keyspace.key
        return [
            key("breaker", self.deployment),
            key("breaker", self.deployment, "outcomes"),
            key("breaker", self.deployment, "probe"),
            key("breaker", self.deployment, "failures"),
        ]


class BreakerPass:
    """Permission for one call. Settle it once: succeeded(), failed(error) or release().

    As an async context manager, leaving with an exception settles it as failed(error) and
    leaving normally as succeeded(), unless it was settled already.
    """

    def __init__(
        self,
        breakers: SharedBreakers,
        target: BreakerTarget,
        policy: BreakerPolicy,
        token: str | None,
        local: CircuitBreaker | None,
    ) -> None:
        self._breakers, self._target, self._policy = breakers, target, policy
        self._token, self._local = token, local
        self.settled = False

    @property
    def probe(self) -> bool:
        """True when this call is the half-open probe."""
        return self._token is not None and self._token.startswith("probe:")

    async def succeeded(self) -> None:
        if self._settle():
            if self._local is not None:
                self._local.record_success()
            else:
                await self._breakers._record(_SUCCESS, self._target, self._policy, self._token)

    async def failed(self, error: BaseException) -> None:
        if not counts_against_breaker(error):
            await self.release()
        elif self._settle():
            if self._local is not None:
                self._local.record_failure()
            else:
                await self._breakers._record(_FAILURE, self._target, self._policy, self._token)

    async def release(self) -> None:
        """The call ended without a verdict on the model (cancelled, bad request, 429)."""
        if self._settle():
            if self._local is not None:
                self._local.release()
            elif self.probe:
                await self._breakers._release(self._target, self._token or "")

    def _settle(self) -> bool:
        if self.settled:
            return False
        self.settled = True
        return True

    async def __aenter__(self) -> BreakerPass:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None:
            await self.succeeded()
        elif isinstance(exc, Exception):
            await self.failed(exc)
        else:
            await self.release()  # cancelled or interrupted: no verdict


class SharedProbe:
    """`async with breakers.probe(...)`: admitted on entry (CircuitOpenError if not), the
    verdict given on exit from how the block ended, exactly once."""

    __slots__ = ("_breakers", "_target", "_config", "_interactive", "_pass")

    def __init__(
        self,
        breakers: SharedBreakers,
        target: BreakerTarget,
        config: AurelisConfig,
        interactive: bool,
    ) -> None:
        self._breakers, self._target, self._config = breakers, target, config
        self._interactive = interactive
        self._pass: BreakerPass | None = None

    async def __aenter__(self) -> BreakerPass:
        self._pass = await self._breakers.admit(
            self._target, self._config, interactive=self._interactive
        )
        return self._pass

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._pass is not None:
            await self._pass.__aexit__(exc_type, exc, traceback)


class SharedBreakers:
    """Breakers kept in Redis; the in-process `local` registry stands in without it."""

    def __init__(
        self, redis: SharedRedis, local: BreakerRegistry, *, probe_seconds: float = PROBE_SECONDS
    ) -> None:
        self._redis, self._local = redis, local
        self._probe_ms = max(1, round(probe_seconds * 1000))

    async def admit(
        self, target: BreakerTarget, config: AurelisConfig, *, interactive: bool = False
    ) -> BreakerPass:
        """A pass for one call, or CircuitOpenError when the breaker is open (or probing)."""
        policy = BreakerPolicy.from_config(config)
        token = secrets.token_hex(8)
        args: list[str | int] = [_ms(policy.cooldown), f"probe:{token}", self._probe_ms]
        try:
            status, ms = await self._redis.script(
                _ALLOW, target.keys, [*args, _PROBE_POLL_MS], interactive=interactive
            )
        except SharedUnavailable:
            return self._admit_locally(target, config, policy)
        if status == 1:
            return BreakerPass(self, target, policy, token, None)
        if status == 2:
            return BreakerPass(self, target, policy, f"probe:{token}", None)
        raise CircuitOpenError(target.model.value, int(ms) / 1000)

    def probe(
        self, target: BreakerTarget, config: AurelisConfig, *, interactive: bool = False
    ) -> SharedProbe:
        """One call's permission as an async context manager (see SharedProbe)."""
        return SharedProbe(self, target, config, interactive)

    def _admit_locally(
        self, target: BreakerTarget, config: AurelisConfig, policy: BreakerPolicy
    ) -> BreakerPass:
        breaker = self._local.get(target.model, config)
        if not breaker.allow():
            raise CircuitOpenError(target.model.value, breaker.retry_in())
        return BreakerPass(self, target, policy, None, breaker)

    async def status(
        self, target: BreakerTarget, config: AurelisConfig
    ) -> tuple[BreakerState, float]:
        """(state, seconds until the next probe) as every process sees it."""
        policy = BreakerPolicy.from_config(config)
        try:
            state, ms = await self._redis.script(_STATUS, target.keys, [_ms(policy.cooldown)])
        except SharedUnavailable:
            breaker = self._local.get(target.model, config)
            return breaker.state, breaker.retry_in()
        return _STATES[int(state)], int(ms) / 1000

    async def _record(
        self, script: LuaScript, target: BreakerTarget, policy: BreakerPolicy, token: str | None
    ) -> None:
        keep = 4 * _ms(max(policy.window, policy.cooldown)) + 60_000
        args: list[str | int | float] = [
            _ms(policy.cooldown),
            f"{token}:{secrets.token_hex(4)}",
            _ms(policy.window),
            keep,
            policy.failure_threshold,
            policy.failure_ratio,
            policy.min_requests,
        ]
        with contextlib.suppress(SharedUnavailable):
            await self._redis.script(script, target.keys, args)

    async def _release(self, target: BreakerTarget, token: str) -> None:
        with contextlib.suppress(SharedUnavailable):
            await self._redis.script(_RELEASE, [target.keys[2]], [token])


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))
