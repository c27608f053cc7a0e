"""Every model call the server makes goes through here: status bookkeeping, one log line,
and orchestrator errors turned into one clear message (never a crash)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aurelis.core.exceptions import AurelisError
from aurelis.core.log import log_event
from aurelis.lsp.errors import RequestFailed, user_message
from aurelis.lsp.live_config import orchestrator, orchestrator_if_loaded, primary_model
from aurelis.lsp.status import StatusReporter
from aurelis.models.types import ModelRequest, ModelResponse, ModelType

__all__ = ["ModelCaller", "close_orchestrator", "orchestrator_health", "routes_to_local"]

logger = logging.getLogger("aurelis.lsp.model_calls")


def orchestrator_health() -> dict[str, Any] | None:
    """`orchestrator.health()` once the orchestrator is loaded, else None."""
    loaded = orchestrator_if_loaded()
    return loaded.health() if loaded is not None else None


async def close_orchestrator() -> None:
    """Release the orchestrator's HTTP clients and local model (at shutdown)."""
    loaded = orchestrator_if_loaded()
    if loaded is not None:
        await loaded.close()


def routes_to_local(request: ModelRequest) -> bool:
    """Whether the request's first model is the embedded (base, non-chat) local model."""
    return primary_model(request) is ModelType.LOCAL


class ModelCaller:
    """Runs model requests for the LSP handlers."""

    def __init__(self, status: StatusReporter) -> None:
        self._status = status

    async def call(self, request: ModelRequest) -> ModelResponse:
        """The orchestrator's answer, or RequestFailed with a message for the user.

        CancelledError propagates untouched: `$/cancelRequest` must stop the call.
        """
        model = primary_model(request).value
        self._status.call_started()
        try:
            response = await orchestrator().process_request(request)
        except asyncio.CancelledError:
            self._status.call_abandoned()
            raise
        except Exception as error:  # every failure becomes one message
            message = user_message(error)
            log_event(
                logger,
                "model_call_failed",
                logging.WARNING,
                model=model,
                task=request.task_type.value,
                error=type(error).__name__,
                reason=message,
            )
            if not isinstance(error, AurelisError):
                logger.exception("unexpected error from the orchestrator")
            self._status.call_failed(model, f"Aurelis: {message}")
            raise RequestFailed(f"Aurelis: {message}") from error
        metadata = response.metadata or {}
        remaining = metadata.get("rate_limit_remaining")
        self._status.call_succeeded(
            response.model_used.value, remaining if isinstance(remaining, int) else None
        )
        return response
