"""Remote models through azure-ai-inference's async ChatCompletionsClient.

One client per (endpoint, credential), reused across requests. The SDK's own retries are
off (`retry_total=0`): retries belong to the orchestrator, or the two loops multiply.
Every failure becomes one of our exceptions with a message that says what to do.
"""

from __future__ import annotations

import asyncio
import errno
import json
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from typing import Any

import aiohttp
from azure.ai.inference.aio import ChatCompletionsClient
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import (
    ClientAuthenticationError,
    DecodeError,
    DeserializationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
)
from azure.core.pipeline.transport import AioHttpTransport
from azure.core.rest import AsyncHttpResponse

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
from aurelis.models.providers.base import Completion, ProviderCall, RateLimitInfo, StreamChunk
from aurelis.models.providers.chat_stream import (
    EmptyStreamError,
    StreamInterruptedError,
    StreamReader,
    stream_request,
)
from aurelis.models.providers.context_fit import ContextLengthError, context_length_error, refit
from aurelis.models.providers.token_route import TokenCounter

__all__ = [
    "AzureInferenceProvider",
    "GITHUB_MODELS_RETIRED",
    "error_reason",
    "retry_after_of",
    "sdk_client_options",
]

GITHUB_MODELS_RETIRED = (
    "GitHub Models was retired on 2026-07-30 and its endpoint no longer serves requests"
)
_ENDPOINT_HINT = (
    "set AURELIS_ENDPOINT (or `endpoint` in .aurelis.toml) to an Azure AI Foundry endpoint or "
    "an OpenAI-compatible server such as Ollama (http://localhost:11434/v1), or unset the "
    "token to work offline on the local model"
)
# Anonymous endpoints (a local Ollama) still need some credential object for the SDK.
_NO_TOKEN = "unused"


class AzureInferenceProvider:
    """Chat completions over HTTP for every remote ModelType."""

    name = "azure"

    def __init__(
        self,
        endpoint: str,
        token: str | None,
        *,
        token_source: str | None,
        connect_timeout: float,
        read_timeout: float,
    ) -> None:
        self.endpoint = endpoint
        self._token_source = token_source
        transport = _SendReportingTransport(
            connection_timeout=connect_timeout, read_timeout=read_timeout
        )
        self._client = ChatCompletionsClient(
            endpoint=endpoint, **sdk_client_options(token, transport)
        )
        self._counter = TokenCounter(endpoint)

    async def complete(self, call: ProviderCall) -> Completion:
        """The whole answer, read as a stream: closing a stream is the one way to make a
        server stop generating for a caller that gave up (llama-cpp-python's server runs a
        non-streamed request to the end even after the client has gone)."""
        try:
            async with asyncio.timeout(call.timeout):
                try:
                    await self._before_sending(call)
                    try:
                        return await self._read_answer(call)
                    except ContextLengthError as too_long:  # raised before any event
                        return await self._read_answer(self._refit(call, too_long))
                except StreamInterruptedError:
                    # The server cut this stream for another request: the whole answer,
                    # asked for unstreamed, cannot be cut that way.
                    return _final(await self._complete_unstreamed(call))
        except TimeoutError:
            raise self._translate(TimeoutError(), call) from None

    async def _read_answer(self, call: ProviderCall) -> Completion:
        """`_stream_answer` for a caller that takes the answer whole: no chunk per event."""
        try:
            response = await self._open_stream(call)
        except _DroppedAfterSending:
            return _final(await self._complete_unstreamed(call))
        reader = self._reader(response, call)
        try:
            return await reader.read_all()
        except (EmptyStreamError, TransientModelError):
            if reader.chunks:
                raise
            return _final(await self._complete_unstreamed(call, after_empty_stream=True))
        finally:
            await response.close()  # drops the connection: the server stops generating

    def _refit(self, call: ProviderCall, too_long: ContextLengthError) -> ProviderCall:
        # Only chat prompts are ours to rebuild; anything else fails as the server said.
        if call.kind != "chat":
            raise too_long
        return refit(call, too_long, self.endpoint)

    async def stream(self, call: ProviderCall) -> AsyncGenerator[StreamChunk, None]:
        """Our own SSE path on the SDK's pipeline (see `chat_stream`); a prompt the server
        finds too long is refitted and sent once more (see `context_fit`)."""
        await self._before_sending(call)
        try:
            async for chunk in self._stream_answer(call):
                yield chunk
        except ContextLengthError as too_long:  # raised before any chunk
            async for chunk in self._stream_answer(self._refit(call, too_long)):
                yield chunk

    async def _before_sending(self, call: ProviderCall) -> None:
        sending.expect_report()  # our transport reports when the request goes out
        if self._counter.worth_asking(call):
            with sending.not_the_call():  # the count route: no model request yet
                await self._counter.learn_ratio(self._client.send_request, call)

    def _reader(self, response: AsyncHttpResponse, call: ProviderCall) -> StreamReader:
        # The response's headers are case-insensitive already: no lowercased copy.
        return StreamReader(response, call, self.endpoint, _rate_limit_info(response.headers))

    async def _stream_answer(self, call: ProviderCall) -> AsyncGenerator[StreamChunk, None]:
        # A server that fails after it began its stream (llama-cpp-python: a prompt longer
        # than its context) drops the connection or ends the stream without an event; the
        # same request unstreamed gets the server's own answer or error (a 400 to refit by).
        try:
            response = await self._open_stream(call)
        except _DroppedAfterSending:
            yield await self._complete_unstreamed(call)
            return
        reader = self._reader(response, call)
        try:
            async for chunk in reader.read():
                yield chunk
        except (EmptyStreamError, TransientModelError):
            if reader.chunks:
                raise
            yield await self._complete_unstreamed(call, after_empty_stream=True)
        finally:
            # Closing the response drops the connection, also when the caller cancels:
            # a streaming server notices that and stops generating.
            await response.close()

    async def _complete_unstreamed(
        self, call: ProviderCall, *, after_empty_stream: bool = False
    ) -> StreamChunk:
        headers: dict[str, str] = {}
        try:
            result = await self._sdk_complete(call, headers)
        except Exception as error:  # noqa: BLE001 - every failure is translated
            if not (after_empty_stream and _dropped_after_sending(error)):
                raise self._translate(error, call) from None
            # The pooled connection of the broken stream, closed by the server meanwhile.
            try:
                result = await self._sdk_complete(call, headers)
            except Exception as again:  # noqa: BLE001 - every failure is translated
                raise self._translate(again, call) from None
        completion = _completion_from(result, headers, call)
        return StreamChunk(completion.content, final=completion)

    async def _sdk_complete(self, call: ProviderCall, headers: dict[str, str]) -> Any:
        async with asyncio.timeout(call.timeout):
            return await self._client.complete(
                messages=call.messages,  # type: ignore[arg-type]  # dicts are accepted
                model=call.deployment,
                temperature=call.temperature,
                max_tokens=call.max_tokens,
                raw_response_hook=_header_recorder(headers),
            )

    async def _open_stream(self, call: ProviderCall) -> AsyncHttpResponse:
        """Send the streamed request; an error status comes back as one of our exceptions."""
        try:
            async with asyncio.timeout(call.timeout):
                response = await self._client.send_request(stream_request(call), stream=True)
                if response.status_code >= 300:
                    await response.read()
        except Exception as error:
            if _dropped_after_sending(error):
                raise _DroppedAfterSending() from error
            raise self._translate(error, call) from None
        if response.status_code >= 300:
            await response.close()
            raise self._http_error(HttpResponseError(response=response), call)
        return response

    async def close(self) -> None:
        await self._client.close()

    # --- error translation -----------------------------------------------------------
    def _translate(self, error: BaseException, call: ProviderCall) -> ModelError | Exception:
        if isinstance(error, (ModelError, AuthenticationError, RateLimitError)):
            return error
        if isinstance(error, asyncio.TimeoutError):
            return ModelTimeoutError(
                f"{call.model} did not answer within {call.timeout:g}s",
                model=call.model,
                hint="raise request_timeout or try again",
            )
        if isinstance(error, ClientAuthenticationError):
            return self._auth_error(call, 401)
        if isinstance(error, ResourceNotFoundError):
            return self._not_found(call, error)
        # DecodeError is an HttpResponseError too (with status 200): test it first.
        if isinstance(error, (DecodeError, DeserializationError, ValueError, KeyError, TypeError)):
            return ModelResponseError(
                f"{call.model} sent a malformed response ({type(error).__name__})",
                model=call.model,
            )
        if isinstance(error, HttpResponseError) and error.status_code is not None:
            return self._http_error(error, call)
        if isinstance(error, (ServiceRequestError, ServiceResponseError, OSError)):
            return TransientModelError(
                f"connection to {self.endpoint} failed or was dropped ({error_reason(error)})",
                model=call.model,
                hint="check that the endpoint is reachable",
            )
        return TransientModelError(
            f"{call.model} failed: {type(error).__name__}: {error_reason(error)}", model=call.model
        )

    def _auth_error(self, call: ProviderCall, status: int) -> AuthenticationError:
        source = self._token_source
        if source is None:
            what = "no token is configured"
            hint = "set AURELIS_TOKEN or GITHUB_TOKEN to a token for this endpoint"
        else:
            what = f"the token from {source} was rejected"
            hint = f"check {source}: it must hold a valid token for {self.endpoint}"
        if status == 403:
            what = f"the token from {source or 'config'} has no access to {call.deployment}"
        return AuthenticationError(
            f"{self.endpoint} refused the request ({status}): {what}",
            model=call.model,
            status_code=status,
            hint=hint,
        )

    def _not_found(self, call: ProviderCall, error: HttpResponseError) -> ModelUnavailableError:
        return ModelUnavailableError(
            f"model {call.deployment!r} ({call.model}) is not available at {self.endpoint} "
            f"(404: {error_reason(error)})",
            model=call.model,
            status_code=404,
            hint=f"set deployments.{call.model} to a model name this endpoint serves",
        )

    def _http_error(self, error: HttpResponseError, call: ProviderCall) -> Exception:
        status = int(error.status_code or 0)
        response_headers = _headers_of(error)
        if status in (401, 403):
            return self._auth_error(call, status)
        if status == 404:
            return self._not_found(call, error)
        if status == 410:
            return ModelUnavailableError(
                f"{self.endpoint} answered 410 Gone: {GITHUB_MODELS_RETIRED}",
                model=call.model,
                status_code=410,
                hint=_ENDPOINT_HINT,
            )
        if status == 429:
            info = _rate_limit_info(response_headers)
            return RateLimitError(
                f"{call.model} is rate limited by {self.endpoint}"
                + (f" ({info.limit_type})" if info.limit_type else ""),
                retry_after=info.retry_after,
                model=call.model,
                hint=f"retry after {info.retry_after:g}s" if info.retry_after else None,
            )
        if status >= 500 or status == 408:
            return TransientModelError(
                f"{call.model} failed with {status} from {self.endpoint}: {error_reason(error)}",
                model=call.model,
                status_code=status,
            )
        if status in (400, 413):
            too_long = context_length_error(error_reason(error, limit=1000), call.model)
            if too_long is not None:
                return too_long
        return ModelError(
            f"{self.endpoint} rejected the request for {call.model} ({status}): "
            f"{error_reason(error)}",
            model=call.model,
            status_code=status,
        )


def sdk_client_options(token: str | None, transport: AioHttpTransport) -> dict[str, Any]:
    """How every azure-ai-inference client of ours is built: the token (a placeholder for
    an endpoint without one: the SDK wants a credential), no retries of the SDK's own
    (they belong to the orchestrator, or the two loops multiply), no SDK logging (it would
    log request headers)."""
    return {
        "credential": AzureKeyCredential(token or _NO_TOKEN),
        "retry_total": 0,
        "transport": transport,
        "logging_enable": False,
    }


class _SendReportingTransport(AioHttpTransport):  # type: ignore[misc]  # lazily exported
    """azure-core's aiohttp transport on a session that reports when a request goes out
    (`providers.sending`): a call cancelled before that gives its rate-limit slot back."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._session_made = False

    async def open(self) -> None:
        if not self._session_made:
            # The same session azure-core would open, plus the trace; once only, so a
            # closed transport stays closed as azure-core expects.
            self._session_made = True
            self.session = aiohttp.ClientSession(
                trust_env=True,
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                trace_configs=[sending.sent_trace()],
            )
        await super().open()


class _DroppedAfterSending(Exception):
    """The server took the streamed request, then dropped the connection before answering."""


_NOT_DROPPED = (aiohttp.ClientConnectorError, TimeoutError, ServiceRequestTimeoutError)


def _dropped_after_sending(error: BaseException) -> bool:
    """A dropped connection once the request was sent, not a refused connect or a timeout."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, _NOT_DROPPED):
            return False
        if isinstance(seen, aiohttp.ServerDisconnectedError) or (
            isinstance(seen, OSError) and seen.errno == errno.ECONNRESET
        ):
            return True
        seen = getattr(seen, "inner_exception", None) or seen.__cause__
    return False


def _header_recorder(target: dict[str, str]) -> Callable[[Any], None]:
    def record(pipeline_response: Any) -> None:
        target.update({k.lower(): v for k, v in pipeline_response.http_response.headers.items()})

    return record


def _completion_from(result: Any, headers: dict[str, str], call: ProviderCall) -> Completion:
    # The SDK's models are mappings over the JSON body; reading the mapping directly skips
    # the typed attributes, which deserialize on every access (~35 µs a response).
    try:
        choice = result["choices"][0]
        content = choice["message"]["content"]
        if not isinstance(content, str):
            raise TypeError("message content is not text")
    except (IndexError, AttributeError, TypeError, KeyError):
        raise ModelResponseError(
            f"{call.model} answered without a completion (no choices or content)",
            model=call.model,
        ) from None
    usage = result.get("usage") or {}
    finish = choice.get("finish_reason")
    return Completion(
        content=content,
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        finish_reason=None if finish is None else str(getattr(finish, "value", finish)),
        model_reported=result.get("model"),
        rate_limit=_rate_limit_info(headers),
    )


def _final(chunk: StreamChunk) -> Completion:
    assert chunk.final is not None  # `_complete_unstreamed` always ends with the whole answer
    return chunk.final


def _headers_of(error: HttpResponseError) -> dict[str, str]:
    response = getattr(error, "response", None)
    if response is None:
        return {}
    return {k.lower(): v for k, v in response.headers.items()}


def _rate_limit_info(headers: Mapping[str, str]) -> RateLimitInfo:
    return RateLimitInfo(
        remaining_requests=_int_header(headers, "x-ratelimit-remaining-requests"),
        remaining_tokens=_int_header(headers, "x-ratelimit-remaining-tokens"),
        reset_seconds=_float_header(headers, "x-ratelimit-reset-requests")
        or _float_header(headers, "x-ratelimit-reset"),
        retry_after=_float_header(headers, "retry-after-ms", scale=0.001)
        or _float_header(headers, "retry-after"),
        limit_type=headers.get("x-ratelimit-type"),
    )


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = _float_header(headers, name)
    return None if value is None else int(value)


def _float_header(headers: Mapping[str, str], name: str, scale: float = 1.0) -> float | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return float(raw.strip().rstrip("s")) * scale
    except ValueError:
        return None


def error_reason(error: BaseException, limit: int = 200, secrets: Sequence[str] = ()) -> str:
    """The server's own error message when there is one, redacted (and `secrets` masked:
    a bare token the redaction rules would not know) and short."""
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    response = getattr(error, "response", None)
    if response is not None:
        try:
            body = json.loads(response.text())
            message = body.get("error", {}).get("message") or message
        except Exception:  # noqa: BLE001 - the body is optional detail
            pass
    text = redact(" ".join(str(message).split()), secrets)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def retry_after_of(error: HttpResponseError) -> float | None:
    """The wait a refusal (429) asks for, from `retry-after-ms` or `Retry-After`."""
    return _rate_limit_info(_headers_of(error)).retry_after
