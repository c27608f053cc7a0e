"""The `aurelis/status` notification: what the editors' status items show.

    {provider, endpoint, offline, busy, last_error,
     models: {name: {healthy, breaker: "closed"|"open"|"half_open", rate_limit_remaining}},
     trust: {root path: "trusted"|"untrusted"|"restricted"|"no-project-settings"},
     local_model: {state: "not_loaded"|"loading"|"ready"|"failed", error, pid} | null}

Sent after initialize, when busy changes, after each model call, on errors, and when the
local model's process crashes or comes back. Model health
comes from the orchestrator's `health()` when it has one; until then, from what this
server saw of its own calls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aurelis.core.secrets import redact
from aurelis.lsp.live_config import get_config, process_wide, route
from aurelis.lsp.local_model import local_model_status
from aurelis.models.types import ModelType, TaskType

__all__ = ["STATUS_METHOD", "LSP_TASKS", "StatusReporter"]

STATUS_METHOD = "aurelis/status"
logger = logging.getLogger("aurelis.lsp.status")

#: The tasks this server sends; their routes are the models worth showing.
LSP_TASKS = (
    TaskType.CODE_COMPLETION,
    TaskType.CODE_GENERATION,
    TaskType.DOCUMENTATION,
    TaskType.REFACTORING,
    TaskType.CODE_OPTIMIZATION,
    TaskType.TESTING,
    TaskType.EXPLANATION,
    TaskType.ANALYSIS,
)
_BREAKER_STATES = {"closed", "open", "half_open"}


@dataclass
class _Seen:
    healthy: bool = True
    rate_limit_remaining: int | None = None


class StatusReporter:
    """Keeps the status and sends it through `send` whenever it changes."""

    def __init__(
        self,
        send: Callable[[dict[str, Any]], None],
        health: Callable[[], dict[str, Any] | None] = lambda: None,
        trust: Callable[[], dict[str, str]] = dict,
    ) -> None:
        self._send = send
        self._health = health
        self._trust = trust
        self._busy = 0
        self._last_error: str | None = None
        self._local_error: str | None = None  # the local model's failure, once said
        self._seen: dict[str, _Seen] = {}

    @property
    def busy(self) -> bool:
        return self._busy > 0

    def snapshot(self) -> dict[str, Any]:
        # The server's own settings, the same whichever folder's request publishes it.
        with process_wide():
            config = get_config()
            offline = not config.remote_enabled
            return {
                "provider": config.provider,
                "endpoint": None if offline else redact(config.endpoint),
                "offline": offline,
                "busy": self.busy,
                "last_error": self._last_error,
                "models": self._models(offline),
                "trust": self._trust(),
                "local_model": local_model_status(),
            }

    def publish(self) -> None:
        try:
            self._send(self.snapshot())
        except Exception:  # a status update must never break a request
            logger.exception("could not send aurelis/status")

    def call_started(self) -> None:
        self._busy += 1
        if self._busy == 1:
            self.publish()

    def call_succeeded(self, model: str, rate_limit_remaining: int | None) -> None:
        self._busy -= 1
        self._last_error = None
        seen = self._seen.setdefault(model, _Seen())
        seen.healthy = True
        if rate_limit_remaining is not None:
            seen.rate_limit_remaining = rate_limit_remaining
        self.publish()

    def call_failed(self, model: str | None, message: str) -> None:
        self._busy -= 1
        self._last_error = message
        if model is not None:
            self._seen.setdefault(model, _Seen()).healthy = False
        self.publish()

    def call_abandoned(self) -> None:
        """A call cancelled by the user: no verdict on the model, but no longer busy."""
        self._busy -= 1
        self.publish()

    def local_model_changed(self) -> None:
        """The local model loaded, failed, crashed or came back: publish, and say a new
        failure once as the last error (every editor shows that); clear it when it is back."""
        local = local_model_status() or {}
        failure = local.get("error") if local.get("state") == "failed" else None
        if failure and failure != self._local_error:
            self._last_error = self._local_error = str(failure)
        elif not failure and self._local_error is not None:
            if self._last_error == self._local_error:
                self._last_error = None
            self._local_error = None
        self.publish()

    def error(self, message: str) -> None:
        self._last_error = message
        self.publish()

    def _models(self, offline: bool) -> dict[str, dict[str, Any]]:
        """The models this server routes to or has used, plus any model in trouble."""
        names = [ModelType.LOCAL.value] if offline else _routed(LSP_TASKS)
        models = {name: _entry(self._seen.get(name, _Seen())) for name in names}
        for name, seen in self._seen.items():
            models.setdefault(name, _entry(seen))
        for name, health in (self._orchestrator_health() or {}).items():
            if not isinstance(health, dict) or health.get("enabled") is False:
                continue  # e.g. remote models while offline: not in use, not a problem
            entry = _from_health(health, models.get(str(name)))
            if str(name) in models or not entry["healthy"] or entry["breaker"] != "closed":
                models[str(name)] = entry
        return models

    def _orchestrator_health(self) -> dict[str, Any] | None:
        try:
            return self._health()
        except Exception:  # health is advisory
            logger.exception("orchestrator health() failed")
            return None


def _routed(tasks: Iterable[TaskType]) -> list[str]:
    return sorted({route(task).value for task in tasks})


def _entry(seen: _Seen) -> dict[str, Any]:
    return {
        "healthy": seen.healthy,
        "breaker": "closed",
        "rate_limit_remaining": seen.rate_limit_remaining,
    }


def _from_health(health: Any, fallback: dict[str, Any] | None) -> dict[str, Any]:
    """Normalise one entry of orchestrator.health() to the notification's shape."""
    base = dict(fallback or _entry(_Seen()))
    if not isinstance(health, dict):
        return base
    if isinstance(health.get("healthy"), bool):
        # Usable per the orchestrator (breaker not open) and not failing this server's calls.
        base["healthy"] = health["healthy"] and base["healthy"]
    breaker = str(getattr(health.get("breaker"), "value", health.get("breaker", ""))).lower()
    breaker = breaker.replace("-", "_").replace(" ", "_")
    if breaker in _BREAKER_STATES:
        base["breaker"] = breaker
    remaining = health.get("rate_limit_remaining")
    if isinstance(remaining, int | float) and not isinstance(remaining, bool):
        base["rate_limit_remaining"] = int(remaining)
    return base
