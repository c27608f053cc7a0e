"""A loopback chat-completions server for tests and benchmarks.

It speaks the wire format the ``azure-ai-inference`` SDK uses against GitHub Models and Azure AI
Foundry (``POST {endpoint}/chat/completions?api-version=...``), so tests can drive the real
client over real HTTP and script what the "model" does: content, latency, status codes,
``Retry-After``, malformed bodies, dropped connections, streaming and rate limits.

Use it in-process (``async with ModelServer() as server``), on a background thread
(``start_in_thread()``) or as a subprocess::

    python -m aurelis.testing.model_server --port 0 --script replies.json

which prints one ``READY http://127.0.0.1:PORT`` line on stdout once it listens. Out-of-process
users drive it through ``GET /_aurelis/requests``, ``POST /_aurelis/script`` and
``POST /_aurelis/reset``.

This module is the command line; the server lives in `aurelis.testing.server` (wire format in
`.wire`, scripting in `.script`, rate-limit emulation in `.limits`). Its names are
re-exported here for code that imports them from this module.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Sequence

from aurelis.testing.limits import (
    RATE_LIMIT_CONCURRENT,
    RATE_LIMIT_PER_DAY,
    RATE_LIMIT_PER_MINUTE,
)
from aurelis.testing.script import ANY_MODEL, RecordedRequest, Reply
from aurelis.testing.server import ModelServer

__all__ = [
    "ANY_MODEL",
    "RATE_LIMIT_CONCURRENT",
    "RATE_LIMIT_PER_DAY",
    "RATE_LIMIT_PER_MINUTE",
    "ModelServer",
    "RecordedRequest",
    "Reply",
    "main",
]


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m aurelis.testing.model_server",
        description="Loopback chat-completions server for tests and benchmarks.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--script", help="JSON script: defaults, queues, rate_limits, ...")
    parser.add_argument("--token", help="require this bearer token (overrides the script's)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    return parser.parse_args(argv)


def _scripted_server(args: argparse.Namespace) -> ModelServer:
    """Build the server from the command line; a bad script exits with a one-line message."""
    server = ModelServer(host=args.host, port=args.port)
    if args.script:
        try:
            with open(args.script, encoding="utf-8") as fh:
                spec = json.load(fh)
            if not isinstance(spec, dict):
                raise ValueError("expected a JSON object")
            server.apply_script(spec)
        except (OSError, TypeError, ValueError) as exc:
            raise SystemExit(f"{args.script}: {exc}") from None
    if args.token is not None:
        server.token = args.token
    return server


async def _serve(server: ModelServer) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):  # Windows has no signal handlers
            loop.add_signal_handler(signum, stop.set)
    await server.start()
    # The one line a parent process waits for; everything else goes to stderr.
    print(f"READY {server.url}", flush=True)
    try:
        await stop.wait()
    finally:
        await server.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m aurelis.testing.model_server``."""
    args = _parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    server = _scripted_server(args)
    with contextlib.suppress(KeyboardInterrupt):  # SIGINT before the handler was installed
        asyncio.run(_serve(server))
    return 0


if __name__ == "__main__":
    sys.exit(main())
