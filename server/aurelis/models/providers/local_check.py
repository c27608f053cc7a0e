"""Does the embedded model run on this machine? Load it and generate a few tokens, in the
worker process, and read what its llama.cpp build contains.

A llama.cpp built for the wrong CPU features crashes in its first decode, long after the
install said it succeeded. scripts/setup.sh runs this right after installing, and
`aurelis doctor` runs it on demand, so that a bad build is one clear line with what to do,
never a silent exit 139 in the middle of someone's first request.

`python -P -m aurelis.models.providers.local_check [GGUF]` prints one line (and what to do
on failure) and exits 0 when the model answered, 1 when it did not.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from aurelis.core.exceptions import AurelisError
from aurelis.models.providers.local import LocalProvider, direct_call
from aurelis.models.providers.local_build import UNSAFE_FEATURES, compiled_features

__all__ = ["LocalRunCheck", "check_local_model", "main"]

_PROMPT = "def fibonacci(n):\n"
_TOKENS = 16
_REBUILD = (
    "rebuild llama-cpp-python without native CPU detection: "
    "rm -rf ~/.cache/aurelis/llama-wheels && scripts/setup.sh (or see docs/inline.md)"
)


@dataclass(frozen=True)
class LocalRunCheck:
    """What running the embedded model here showed."""

    ok: bool
    detail: str  # one line for a person
    hint: str | None = None
    features: list[str] = field(default_factory=list)
    tokens_per_second: float | None = None


async def check_local_model(
    path: Path | None, *, threads: int | None = None, within: float = 300.0
) -> LocalRunCheck:
    """Load the GGUF at `path` (None: the bundled one) and generate a few tokens."""
    provider = LocalProvider(path, context_size=512, threads=threads)
    try:
        async with asyncio.timeout(within):
            return await _run(provider)
    except TimeoutError:
        return LocalRunCheck(False, f"no answer within {within:.0f} s", _REBUILD)
    finally:
        await provider.close()


async def _run(provider: LocalProvider) -> LocalRunCheck:
    if await provider.preload() != "ready":
        return _failed(provider, str(provider.load_error), [])
    features = compiled_features(provider.system_info or "")
    unsafe = sorted(set(features) & set(UNSAFE_FEATURES))
    if unsafe:
        return _failed(provider, f"this build uses {', '.join(unsafe)}", features)
    started = time.perf_counter()
    try:
        completion = await provider.complete(direct_call(_PROMPT, _TOKENS, prompt_budget=256))
    except AurelisError as error:
        return _failed(provider, str(error), features)
    seconds = max(time.perf_counter() - started, 1e-6)
    rate = completion.completion_tokens / seconds
    detail = (
        f"{completion.completion_tokens} tokens in {seconds:.2f} s ({rate:.0f} tokens/s); "
        f"{_build_name()}, CPU features: {' '.join(features) or 'none reported'}"
    )
    return LocalRunCheck(True, detail, None, features, rate)


def _failed(provider: LocalProvider, why: str, features: list[str]) -> LocalRunCheck:
    crashed = "process ended" in why
    hint = _REBUILD if crashed or features else "check local_model_path; `aurelis doctor`"
    where = f" ({_build_name()}, CPU features: {' '.join(features)})" if features else ""
    return LocalRunCheck(
        False, f"the embedded model does not run here: {why}{where}", hint, features
    )


def _build_name() -> str:
    try:
        return f"llama-cpp-python {importlib.metadata.version('llama-cpp-python')}"
    except importlib.metadata.PackageNotFoundError:
        return "llama-cpp-python (not installed)"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    result = asyncio.run(check_local_model(Path(args[0]) if args else None))
    if result.ok:
        print(f"✓ embedded model: {result.detail}")
        return 0
    print(f"✗ {result.detail}", file=sys.stderr)
    print(f"  what to do: {result.hint}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
