"""Fill-in-the-middle over HTTP: the routes azure-ai-inference does not have.

Code models complete best when they see the text before *and* after the cursor in the
shape they were trained on (`<PRE> … <SUF> … <MID>`); the server applies that template when
asked through its completion route. Three dialects:

- "openai": OpenAI-compatible `POST {endpoint}/completions` with `prompt` (related code
  as path-commented snippets, then the prefix) and `suffix` (vLLM, llama-cpp-python's
  server, Ollama), answer in `choices[0].text`;
- "llama_cpp": llama.cpp server `POST {root}/infill` with `input_prefix`, `input_suffix`
  and the related code as `input_extra` chunks (`{filename, text}`; the server puts them
  ahead in its own FIM format and reuses its KV cache for them), answer in `content`;
- "mistral": Mistral's `POST {root}/v1/fim/completions` (Codestral) with `prompt` and
  `suffix`, answer in `choices[0].message.content`.

A model is sent FIM when `inline_fim` names its dialect and the request carries the text
around the cursor in `metadata["fim"]` (`fim_prompt_for`); the language server's inline
requests do, next to their chat prompt, so a model further down the fallback chain without
FIM gets the chat prompt. The chat prompt holds the same prefix and suffix, so the cache
key (which covers the prompt, not the metadata) covers them too.

A `FimProvider` makes one call, translated into `aurelis.core.exceptions` errors like the
chat provider's; the orchestrator owns retries, limits and fallback. It only takes calls
that carry a `FimPrompt` for a model with a dialect: anything else is refused, not guessed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp

from aurelis.core.exceptions import (
    AuthenticationError,
    ModelError,
    ModelResponseError,
    ModelTimeoutError,
    ModelUnavailableError,
    RateLimitError,
    TransientModelError,
)
from aurelis.core.secrets import redact
from aurelis.models.providers import sending
from aurelis.models.providers.base import (
    Completion,
    FimPrompt,
    ProviderCall,
    RateLimitInfo,
    StreamChunk,
)
from aurelis.models.types import ModelRequest, ModelType

__all__ = [
    "FIM_DIALECTS",
    "FIM_METADATA_KEY",
    "FimDialect",
    "FimProvider",
    "FimRoute",
    "fim_prompt_for",
    "fim_route",
]

#: `ModelRequest.metadata[FIM_METADATA_KEY] = {"prefix": ..., "suffix": ..., "related": ...,
#: "extra": [[path, text], ...]}` (the last two optional).
FIM_METADATA_KEY = "fim"

FimDialect = Literal["openai", "llama_cpp", "mistral"]
FIM_DIALECTS: tuple[FimDialect, ...] = ("openai", "llama_cpp", "mistral")


@dataclass(frozen=True)
class FimRoute:
    """Where a dialect's FIM request goes and how its body and answer look."""

    url: str
    dialect: FimDialect

    def body(
        self, deployment: str, fim: FimPrompt, max_tokens: int, temperature: float
    ) -> dict[str, Any]:
        if self.dialect == "llama_cpp":
            return {
                "input_prefix": fim.prefix,
                "input_suffix": fim.suffix,
                "input_extra": [{"filename": path, "text": text} for path, text in fim.extra],
                "n_predict": max_tokens,
                "temperature": temperature,
                "stream": False,
            }
        return {
            "model": deployment,
            "prompt": fim.related + fim.prefix,
            "suffix": fim.suffix,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "stream": False,
        }

    def answer(self, data: Any) -> tuple[str, str | None, int, int]:
        """(text, finish reason, prompt tokens, completion tokens) from a response body."""
        if not isinstance(data, Mapping):
            raise TypeError("the response is not a JSON object")
        if self.dialect == "llama_cpp":
            content = data["content"]
            finish = "length" if data.get("truncated") or data.get("stopped_limit") else "stop"
            return (
                _text(content),
                finish,
                _count(data.get("tokens_evaluated")),
                _count(data.get("tokens_predicted")),
            )
        choice = data["choices"][0]
        content = choice["message"]["content"] if self.dialect == "mistral" else choice["text"]
        usage = data.get("usage") or {}
        return (
            _text(content),
            choice.get("finish_reason"),
            _count(usage.get("prompt_tokens")),
            _count(usage.get("completion_tokens")),
        )


def fim_route(endpoint: str, dialect: FimDialect) -> FimRoute:
    """The URL for `dialect` at `endpoint` (given as for chat: with or without `/v1`)."""
    base = endpoint.rstrip("/")
    root = base.removesuffix("/v1")
    if dialect == "openai":
        return FimRoute(f"{root}/v1/completions", dialect)
    if dialect == "llama_cpp":
        return FimRoute(f"{root}/infill", dialect)
    if dialect == "mistral":
        return FimRoute(f"{root}/v1/fim/completions", dialect)
    raise ValueError(f"unknown fill-in-the-middle dialect {dialect!r}; use one of {FIM_DIALECTS}")


def fim_prompt_for(
    request: ModelRequest, model: ModelType, dialects: Mapping[ModelType, str]
) -> FimPrompt | None:
    """The FIM prompt for `model`, when it has a dialect and the request carries one."""
    if model not in dialects or not request.metadata:
        return None
    parts = request.metadata.get(FIM_METADATA_KEY)
    if not isinstance(parts, Mapping):
        return None
    prefix, suffix = parts.get("prefix"), parts.get("suffix")
    if not isinstance(prefix, str) or not isinstance(suffix, str):
        return None
    related = parts.get("related")
    return FimPrompt(
        prefix, suffix, related if isinstance(related, str) else "", _pieces(parts.get("extra"))
    )


def _pieces(value: Any) -> tuple[tuple[str, str], ...]:
    """[[path, text], ...] from the request's metadata; anything else is dropped."""
    if not isinstance(value, list):
        return ()
    return tuple(
        (piece[0], piece[1])
        for piece in value
        if isinstance(piece, list | tuple)
        and len(piece) == 2
        and all(isinstance(part, str) for part in piece)
    )


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("the completion text is not a string")
    return value


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


class FimProvider:
    """Fill-in-the-middle calls to one endpoint in one dialect (one HTTP session, reused)."""

    name = "fim"

    def __init__(
        self,
        endpoint: str,
        token: str | None,
        *,
        dialects: Mapping[str, FimDialect],
        connect_timeout: float,
        read_timeout: float,
    ) -> None:
        """`dialects` maps a model (ModelType value) to the FIM dialect of its server."""
        self.endpoint = endpoint
        self._routes = {model: fim_route(endpoint, dialect) for model, dialect in dialects.items()}
        self._token = token
        self._timeout = aiohttp.ClientTimeout(sock_connect=connect_timeout, sock_read=read_timeout)
        self._session: aiohttp.ClientSession | None = None

    async def complete(self, call: ProviderCall) -> Completion:
        fim, route = call.fim, self._routes.get(call.model)
        if fim is None or route is None:
            raise ModelError(
                f"{call.model} got a {call.kind} call, but the fill-in-the-middle path only "
                "takes FIM calls for models with an inline_fim dialect",
                model=call.model,
            )
        body = route.body(call.deployment, fim, call.max_tokens, call.temperature)
        sending.expect_report()  # our session reports when the request goes out
        try:
            async with asyncio.timeout(call.timeout):
                status, headers, data = await self._post(route.url, body)
        except TimeoutError:
            raise ModelTimeoutError(
                f"{call.model} did not answer within {call.timeout:g}s",
                model=call.model,
                hint="raise request_timeout or try again",
            ) from None
        except aiohttp.ClientError as error:
            raise TransientModelError(
                f"connection to {self.endpoint} failed or was dropped ({type(error).__name__})",
                model=call.model,
                hint="check that the endpoint is reachable",
            ) from None
        if status != 200:
            raise _http_error(status, headers, data, call, route.url)
        try:
            text, finish, prompt_tokens, completion_tokens = route.answer(json.loads(data))
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise ModelResponseError(
                f"{call.model} sent a malformed fill-in-the-middle response "
                f"({type(error).__name__})",
                model=call.model,
            ) from None
        return Completion(
            content=text,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            finish_reason=finish,
            model_reported=call.deployment,
            rate_limit=_rate_limit_info(headers),
            extra={"fim": route.dialect},
        )

    async def stream(self, call: ProviderCall) -> AsyncIterator[StreamChunk]:
        # Inline completions take the whole answer; one chunk keeps the protocol whole.
        completion = await self.complete(call)
        if completion.content:
            yield StreamChunk(completion.content)
        yield StreamChunk("", final=completion)

    async def _post(self, url: str, body: dict[str, Any]) -> tuple[int, Mapping[str, str], str]:
        session = self._session
        if session is None or session.closed:
            session = self._session = aiohttp.ClientSession(
                timeout=self._timeout, trace_configs=[sending.sent_trace()]
            )
        headers = {"Content-Type": "application/json"}
        if self._token:
            # Both spellings, as azure-ai-inference sends them: servers read one or the other.
            headers["Authorization"] = f"Bearer {self._token}"
            headers["api-key"] = self._token
        async with session.post(url, json=body, headers=headers) as response:
            data = await response.text()
            return response.status, {k.lower(): v for k, v in response.headers.items()}, data

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _http_error(
    status: int, headers: Mapping[str, str], data: str, call: ProviderCall, url: str
) -> Exception:
    reason = redact(_server_message(data))[:200]
    if status in (401, 403):
        return AuthenticationError(
            f"{url} refused the request ({status}): {reason}",
            model=call.model,
            status_code=status,
            hint="check the token configured for this endpoint",
        )
    if status in (404, 405, 501):
        return ModelUnavailableError(
            f"{url} has no fill-in-the-middle route for {call.deployment} ({status}: {reason})",
            model=call.model,
            status_code=status,
            hint="set the deployment's fill-in-the-middle dialect to one its server speaks, "
            "or turn it off",
        )
    if status == 429:
        info = _rate_limit_info(headers)
        return RateLimitError(
            f"{call.model} is rate limited by {url}",
            retry_after=info.retry_after,
            model=call.model,
        )
    if status >= 500 or status == 408:
        return TransientModelError(
            f"{call.model} failed with {status} from {url}: {reason}",
            model=call.model,
            status_code=status,
        )
    return ModelError(
        f"{url} rejected the request for {call.model} ({status}): {reason}",
        model=call.model,
        status_code=status,
    )


def _server_message(data: str) -> str:
    try:
        parsed = json.loads(data)
    except ValueError:
        return data.strip() or "no message"
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    if isinstance(error, str):
        return error
    return data.strip()


def _rate_limit_info(headers: Mapping[str, str]) -> RateLimitInfo:
    def number(name: str) -> float | None:
        raw = headers.get(name)
        try:
            return float(raw.strip().rstrip("s")) if raw is not None else None
        except ValueError:
            return None

    remaining = number("x-ratelimit-remaining-requests")
    return RateLimitInfo(
        remaining_requests=int(remaining) if remaining is not None else None,
        retry_after=number("retry-after"),
    )
