"""What a client is told when its request cannot be answered normally.

Every failure becomes a JSON-RPC error with one readable sentence: params that do not
match the method's shape name the field and what was expected (in the protocol's own
camelCase names), a document that is not open says so, and an internal failure says only
that it happened and where the details are. No traceback and no Python internals
(`'int' object has no attribute ...`, `KeyError: 'file:///...'`) reach the client.
"""

from __future__ import annotations

import re
from typing import Any

import cattrs
from lsprotocol.types import ResponseError
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInternalError,
    JsonRpcInvalidParams,
    JsonRpcRequestCancelled,
)

from aurelis.core.secrets import redact

__all__ = ["invalid_params_message", "response_error", "request_cancelled"]

_MAX_PROBLEMS = 3
_MAX_MESSAGE = 300
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def invalid_params_message(method: str, error: BaseException) -> str:
    """ "invalid params for METHOD: params.position.line: expected an integer", at most
    three problems."""
    problems = _problems(error)
    if not problems:
        return f"invalid params for {method}: they do not have the shape the method expects"
    shown = "; ".join(problems[:_MAX_PROBLEMS])
    more = len(problems) - _MAX_PROBLEMS
    if more > 0:
        shown += f"; and {more} more"
    return _short(f"invalid params for {method}: {shown}")


def _problems(error: BaseException) -> list[str]:
    try:
        found = cattrs.transform_error(error, path="$", format_exception=_describe)
    except Exception:  # noqa: BLE001 - the message is a courtesy; never fail on it
        return []
    return [_rewrite(problem) for problem in found]


def _describe(error: BaseException, expected: type | None) -> str:
    # lsprotocol's validators say what they want ("Position.line should be in range
    # [0:2147483647], but was -1."); other exceptions are structuring internals.
    text = str(error)
    if isinstance(error, ValueError) and " should be " in text:
        return text.rstrip(".")
    if isinstance(error, KeyError):
        return "required field missing"
    name = getattr(expected, "__name__", None)
    return f"expected {_article(name)}" if name else "invalid value"


def _article(name: str) -> str:
    plain = {"int": "an integer", "str": "a string", "bool": "a boolean", "float": "a number"}
    if name in plain:
        return plain[name]
    return f"an {name}" if name[:1] in "AEIOU" else f"a {name}"


def _rewrite(problem: str) -> str:
    """'expected an integer @ $.params.position.line' -> 'params.position.line: expected
    an integer' (protocol field names, not Python's)."""
    description, _, path = problem.rpartition(" @ ")
    if not description:
        return problem
    path = path.removeprefix("$").lstrip(".")
    return f"{_camel(path)}: {description}" if path else description


def _camel(path: str) -> str:
    return re.sub(r"_([a-z])", lambda match: match.group(1).upper(), path)


def _short(text: str) -> str:
    text = redact(" ".join(text.split()))
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."


def request_cancelled(msg_id: Any) -> ResponseError:
    return JsonRpcRequestCancelled(f"request {msg_id!r} was cancelled").to_response_error()


def response_error(method: str, error: BaseException) -> ResponseError:
    """The error a request whose handler raised `error` is answered with."""
    if isinstance(error, JsonRpcException):
        if error.code == JsonRpcInternalError.CODE:
            return _internal(method)
        return ResponseError(code=error.code, message=_short(error.message))
    uri = _missing_document(error)
    if uri is not None:
        message = f"the document {uri} is not open; send textDocument/didOpen first"
        return ResponseError(code=JsonRpcInvalidParams.CODE, message=_short(message))
    return _internal(method)


def _missing_document(error: BaseException) -> str | None:
    # pygls's workspace raises KeyError(uri) for a document it does not hold.
    if isinstance(error, KeyError) and error.args and isinstance(error.args[0], str):
        key = error.args[0]
        if _URI.match(key):
            return key
    return None


def _internal(method: str) -> ResponseError:
    message = f"internal error while handling {method}; the Aurelis server log has the details"
    return ResponseError(code=JsonRpcInternalError.CODE, message=message)
