"""The fill-in-the-middle routes of the loopback model server, and their answers.

- `/v1/completions` (and `/completions`): OpenAI-style text completion with `suffix`
  (vLLM, llama-cpp-python's server, Ollama); answer in `choices[0].text`;
- `/infill`: llama.cpp server; `input_prefix` / `input_suffix`, answer in `content`;
- `/v1/fim/completions`: Mistral (Codestral); answer in `choices[0].message.content`.

Scripts (`Reply`) answer them as they answer chat; the recorded request keeps its path, so
a test can check which route a client used and what it sent.
"""

from __future__ import annotations

import time
from typing import Any

from aurelis.testing.script import RecordedRequest, Reply, estimate_tokens

__all__ = ["FIM_PATHS", "fim_body"]

#: Route → dialect.
FIM_PATHS = {
    "/v1/completions": "openai",
    "/completions": "openai",
    "/infill": "llama_cpp",
    "/v1/fim/completions": "mistral",
}


def fim_body(
    record: RecordedRequest, reply: Reply, content: str, number: int
) -> dict[str, Any] | None:
    """The answer body for a FIM route, or None when `record` came in on another route."""
    dialect = FIM_PATHS.get(record.path)
    if dialect is None:
        return None
    prompt, completion = _tokens(record, reply, content)
    if dialect == "llama_cpp":
        return {
            "content": content,
            "stop": True,
            "truncated": False,
            "stopped_limit": reply.finish_reason == "length",
            "tokens_evaluated": prompt,
            "tokens_predicted": completion,
        }
    usage = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    choice: dict[str, Any] = {"index": 0, "finish_reason": reply.finish_reason}
    if dialect == "openai":
        choice.update(text=content, logprobs=None)
        kind = "text_completion"
    else:
        choice["message"] = {"role": "assistant", "content": content}
        kind = "chat.completion"
    return {
        "id": f"cmpl-{number}",
        "object": kind,
        "created": int(time.time()),
        "model": record.model,
        "choices": [choice],
        "usage": usage,
    }


def _tokens(record: RecordedRequest, reply: Reply, content: str) -> tuple[int, int]:
    body = record.body
    sent = "".join(
        str(body.get(key) or "") for key in ("prompt", "suffix", "input_prefix", "input_suffix")
    )
    prompt = reply.prompt_tokens if reply.prompt_tokens is not None else estimate_tokens(sent)
    completion = (
        reply.completion_tokens if reply.completion_tokens is not None else estimate_tokens(content)
    )
    return prompt, completion
