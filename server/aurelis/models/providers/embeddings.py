"""Embedding vectors from an endpoint's embeddings route (azure-ai-inference's EmbeddingsClient).

Repository retrieval fuses its lexical ranking with embeddings; this is the one place that
asks an endpoint for them. As for chat (`azure_inference`), the SDK's own retries are off
(`retry_total=0`): retries belong to the caller, or the two loops multiply. Every failure
becomes one of our exceptions with a message that says what to do and holds no secret.
"""

from __future__ import annotations

import math
from typing import Any, TypeVar

from azure.ai.inference.aio import EmbeddingsClient
from azure.core.exceptions import (
    DecodeError,
    DeserializationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)
from azure.core.pipeline.transport import AioHttpTransport

from aurelis.core.exceptions import (
    AurelisError,
    AuthenticationError,
    ModelError,
    ModelResponseError,
    ModelTimeoutError,
    ModelUnavailableError,
    RateLimitError,
    TransientModelError,
)
from aurelis.core.secrets import redact
from aurelis.models.providers.azure_inference import (
    error_reason,
    retry_after_of,
    sdk_client_options,
)

__all__ = ["EndpointEmbeddings"]

_TIMEOUTS = (ServiceRequestTimeoutError, ServiceResponseTimeoutError, TimeoutError)
_MALFORMED = (DecodeError, DeserializationError, ValueError, KeyError, TypeError, AttributeError)

_Error = TypeVar("_Error", bound=AurelisError)


class EndpointEmbeddings:
    """One vector per text from `model` at `endpoint`, in the order of the texts."""

    def __init__(
        self,
        endpoint: str,
        token: str | None,
        model: str,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 30.0,
    ) -> None:
        self.endpoint = endpoint
        self.model = model
        # Masked in every message even if nobody registered it as a secret.
        self._secrets = (token,) if token else ()
        self._one_text_a_request = False
        transport = AioHttpTransport(connection_timeout=connect_timeout, read_timeout=read_timeout)
        self._client = EmbeddingsClient(endpoint=endpoint, **sdk_client_options(token, transport))

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """The embedding of each text; no request for no texts."""
        if not texts:
            return []
        if self._one_text_a_request and len(texts) > 1:
            return [vector for text in texts for vector in await self.embed([text])]
        vectors, token_vectors = await self._request(texts)
        if token_vectors and len(texts) > 1:
            # Token vectors mean llama-cpp-python's server with a model that pools nothing
            # (a causal model): there, every text after the first of a request gets a
            # wrong vector (measured: cosine ~0 with the same text sent alone; batched
            # embeddings are an open problem there, abetlen/llama-cpp-python#2051).
            self._one_text_a_request = True
            return [vectors[0], *await self.embed(texts[1:])]
        return vectors

    async def _request(self, texts: list[str]) -> tuple[list[list[float]], bool]:
        try:
            result = await self._client.embed(input=list(texts), model=self.model)
        except Exception as error:  # noqa: BLE001 - every failure is translated
            raise self._translate(error) from None
        return self._vectors(result, len(texts))

    async def close(self) -> None:
        await self._client.close()

    # --- the answer ----------------------------------------------------------------------
    def _vectors(self, result: Any, count: int) -> tuple[list[list[float]], bool]:
        """The vectors in the texts' order, and whether they were averaged from token
        vectors."""
        try:
            items = sorted(result.data, key=lambda item: int(item.index))
            indexes = [int(item.index) for item in items]
            token_vectors = any(_per_token(item.embedding) for item in items)
            vectors = [_numbers(item.embedding) for item in items]
        except _MALFORMED as error:
            raise self._malformed(f"an unreadable item ({type(error).__name__})") from None
        if len(items) != count:
            raise self._malformed(f"{len(items)} vectors for {count} texts")
        if indexes != list(range(count)):
            raise self._malformed("item indexes that are not 0 to n-1")
        if len({len(vector) for vector in vectors}) != 1 or not vectors[0]:
            raise self._malformed("empty vectors or vectors of different lengths")
        return vectors, token_vectors

    def _malformed(self, what: str) -> ModelResponseError:
        return self._error(
            ModelResponseError,
            f"{self.endpoint} answered the embeddings request for {self.model!r} with {what}",
            hint="check that the endpoint serves an embeddings model under this name",
        )

    # --- error translation -------------------------------------------------------------
    def _translate(self, error: BaseException) -> AurelisError:
        if isinstance(error, AurelisError):
            return error
        if isinstance(error, _TIMEOUTS):
            return self._error(
                ModelTimeoutError,
                f"{self.endpoint} did not answer the embeddings request for {self.model!r} "
                f"in time ({self._reason(error)})",
                hint="raise the read timeout or try again",
            )
        # DecodeError is an HttpResponseError too (with status 200): test it first.
        if isinstance(error, _MALFORMED):
            return self._malformed(f"a body that is not an embeddings answer ({_name(error)})")
        if isinstance(error, HttpResponseError) and error.status_code is not None:
            return self._http_error(error, int(error.status_code))
        if isinstance(error, (ServiceRequestError, ServiceResponseError, OSError)):
            return self._error(
                TransientModelError,
                f"connection to {self.endpoint} failed or was dropped ({self._reason(error)})",
                hint="check that the endpoint is reachable",
            )
        return self._error(
            TransientModelError,
            f"embeddings from {self.endpoint} failed: {_name(error)}: {self._reason(error)}",
        )

    def _http_error(self, error: HttpResponseError, status: int) -> AurelisError:
        reason = self._reason(error)
        if status in (401, 403):
            return self._auth_error(status, reason)
        if status in (404, 410):
            return self._error(
                ModelUnavailableError,
                f"{self.endpoint} has no embeddings route or no embeddings model "
                f"{self.model!r} ({status}: {reason})",
                status_code=status,
                hint="point the embeddings endpoint at a server with a /embeddings route and "
                "set the embeddings model to a name it serves",
            )
        if status == 429:
            return self._rate_limited(retry_after_of(error))
        if status >= 500 or status == 408:
            return self._error(
                TransientModelError,
                f"embeddings for {self.model!r} failed with {status} from {self.endpoint}: "
                f"{reason}",
                status_code=status,
                hint="try again later",
            )
        return self._error(
            ModelError,
            f"{self.endpoint} rejected the embeddings request for {self.model!r} "
            f"({status}): {reason}",
            status_code=status,
        )

    def _auth_error(self, status: int, reason: str) -> AuthenticationError:
        if not self._secrets:
            what, hint = "no token is configured", "set a token for this endpoint"
        elif status == 403:
            what, hint = f"the token has no access to {self.model!r}", "use a token with access"
        else:
            what, hint = "the token was rejected", "check that the token is valid for it"
        return self._error(
            AuthenticationError,
            f"{self.endpoint} refused the embeddings request ({status}): {what} ({reason})",
            status_code=status,
            hint=hint,
        )

    def _rate_limited(self, retry_after: float | None) -> RateLimitError:
        limited = self._error(
            RateLimitError,
            f"embeddings for {self.model!r} are rate limited by {self.endpoint}",
            status_code=429,
            hint=f"retry after {retry_after:g}s" if retry_after is not None else "retry later",
        )
        limited.retry_after = retry_after
        return limited

    def _error(
        self,
        kind: type[_Error],
        message: str,
        *,
        status_code: int | None = None,
        hint: str | None = None,
    ) -> _Error:
        """`kind` with a redacted message: endpoints echo headers, tokens included."""
        return kind(
            redact(message, self._secrets),
            model=self.model,
            status_code=status_code,
            hint=None if hint is None else redact(hint, self._secrets),
        )

    def _reason(self, error: BaseException) -> str:
        return error_reason(error, secrets=self._secrets)


def _numbers(embedding: Any) -> list[float]:
    """The vector as floats; a base64 string, a bool or a NaN is not a vector. A list of
    token vectors is averaged into one: llama-cpp-python's server answers so for a model
    without a pooling layer (a causal model such as gemma-3: measured, 640 numbers a token)."""
    if not isinstance(embedding, list):
        raise TypeError("embedding is not a list")
    if _per_token(embedding):
        return _mean(list(map(_numbers, embedding)))
    if not all(
        isinstance(value, (int, float)) and not isinstance(value, bool) for value in embedding
    ):
        raise TypeError("embedding holds a non-number")
    vector = [float(value) for value in embedding]
    if not all(math.isfinite(value) for value in vector):
        raise ValueError("embedding holds a non-finite number")
    return vector


def _per_token(embedding: Any) -> bool:
    return bool(embedding) and all(isinstance(token, list) for token in embedding)


def _mean(vectors: list[list[float]]) -> list[float]:
    if len({len(vector) for vector in vectors}) != 1:
        raise ValueError("token vectors of different lengths")
    return [sum(column) / len(vectors) for column in zip(*vectors, strict=True)]


def _name(error: BaseException) -> str:
    return type(error).__name__
