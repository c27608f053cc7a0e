"""A server's own token count, where it offers one (llama-cpp-python: `/extras/tokenize/count`).

Our prompts are counted with cl100k; the server's tokenizer may count far more (gemma 1.5x).
Before the first large prompt to an (endpoint, deployment), Aurelis asks the server to count
it once and remembers the ratio (`server_limits`): every later prompt is fitted with the
server's real count, with no 400 round trip (the prompt at hand, fitted before the ratio was
known, still has the 400 recovery of `context_fit`). A server without the route answers 404
once and is not asked again.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit, urlunsplit

from azure.core.rest import AsyncHttpResponse, HttpRequest

from aurelis.models.providers.base import ProviderCall
from aurelis.models.server_limits import learn_limit, learned_limit
from aurelis.models.tokens import count_tokens

__all__ = ["TOKEN_COUNT_PATH", "TokenCounter", "count_route_url"]

logger = logging.getLogger("aurelis.models.tokens")

#: The SDK client's `send_request`: our request on its transport, with its credential.
Send = Callable[[HttpRequest], Awaitable[AsyncHttpResponse]]

TOKEN_COUNT_PATH = "/extras/tokenize/count"
#: Below this many of our tokens a prompt fits any window; not worth a round trip.
_WORTH_ASKING = 1000
_TIMEOUT = 5.0


def count_route_url(endpoint: str) -> str:
    """The route at the server's root (the endpoint usually ends in /v1)."""
    parts = urlsplit(endpoint)
    path = parts.path.rstrip("/")
    if path.endswith("/v1"):
        path = path[: -len("/v1")]
    return urlunsplit((parts.scheme, parts.netloc, path + TOKEN_COUNT_PATH, "", ""))


class TokenCounter:
    """Asks one endpoint for token counts; remembers that it cannot."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self._unsupported = False

    def worth_asking(self, call: ProviderCall) -> bool:
        if self._unsupported or call.kind != "chat":
            return False
        if _surely_short(call):
            return False
        known = learned_limit(self.endpoint, call.deployment)
        return (known is None or known.token_ratio is None) and _ours(call) >= _WORTH_ASKING

    async def learn_ratio(self, send: Send, call: ProviderCall) -> float | None:
        """Ask the server to count `call`'s prompt; the ratio to ours, remembered. `send` is
        the client's `send_request` (same transport and credential as the chat calls)."""
        text = "\n".join(message.get("content") or "" for message in call.messages)
        request = HttpRequest(
            "POST", count_route_url(self.endpoint), json={"input": text, "model": call.deployment}
        )
        try:
            async with asyncio.timeout(_TIMEOUT):
                response = await send(request)
                await response.read()
        except Exception:
            logger.debug("token count route failed at %s", self.endpoint, exc_info=True)
            return None
        count = _count_in(response)
        if count is None:
            self._unsupported = True  # 404 or not this shape: do not ask again
            return None
        ratio = max(count / max(_ours(call), 1), 1.0)
        learn_limit(self.endpoint, call.deployment, token_ratio=ratio)
        return ratio


def _surely_short(call: ProviderCall) -> bool:
    """Under `_WORTH_ASKING` tokens without running the tokenizer: a token is at least one
    UTF-8 byte, and a character at most four."""
    chars = sum(len(message.get("content") or "") for message in call.messages)
    return chars * 4 < _WORTH_ASKING or (
        sum(len((message.get("content") or "").encode()) for message in call.messages)
        < _WORTH_ASKING
    )


def _ours(call: ProviderCall) -> int:
    return sum(count_tokens(message.get("content") or "") for message in call.messages)


def _count_in(response: AsyncHttpResponse) -> int | None:
    if response.status_code != 200:
        return None
    try:
        count = json.loads(response.text()).get("count")
    except (ValueError, AttributeError):
        return None
    return count if isinstance(count, int) and count > 0 else None
