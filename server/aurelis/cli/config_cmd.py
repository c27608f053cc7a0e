"""`aurelis config show|path|check`: the effective settings, where each came from, and
whether they make sense. Secrets are never printed: a token shows as `set`/`not set`, and
every other value goes through redaction (a URL may carry a password).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import SecretStr
from rich.table import Table
from rich.text import Text

from aurelis.cli import runtime
from aurelis.cli.errors import EXIT_USAGE, error_boundary, print_problem
from aurelis.cli.render import print_json
from aurelis.core.config import LEGACY_GITHUB_MODELS_ENDPOINT, AurelisConfig, load_config
from aurelis.core.config_files import project_config_path, user_config_path
from aurelis.core.config_layers import layer_problems
from aurelis.core.config_sources import SECRET_SETTINGS, setting_sources
from aurelis.core.exceptions import ConfigurationError
from aurelis.core.secrets import redact

__all__ = ["config_app", "display_value", "config_warnings"]

config_app = typer.Typer(help="Show and check the settings.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print a JSON object.")]


def display_value(name: str, value: Any) -> Any:
    """A JSON-friendly value that is safe to print."""
    if name in SECRET_SETTINGS or isinstance(value, SecretStr):
        return "set (hidden)" if value else "not set"
    if isinstance(value, Path):
        return redact(str(value))
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict | list):
        # Keys may be enums; JSON round trip gives plain strings for display.
        return json.loads(redact(json.dumps(value, default=str)))
    return value


@config_app.command("show")
def config_show(json_output: JsonOpt = False) -> None:
    """Every effective setting, its value (secrets masked) and where it came from."""
    with error_boundary(debug=runtime.STATE.debug):
        settings = runtime.config()
        sources = setting_sources(settings)
        rows = {
            name: {
                "value": display_value(name, getattr(settings, name)),
                "source": str(sources[name]),
            }
            for name in AurelisConfig.model_fields
        }
        if json_output:
            print_json(rows)
            return
        table = Table(title="Aurelis settings", title_justify="left")
        table.add_column("setting")
        table.add_column("value", overflow="fold")
        table.add_column("source", overflow="fold")
        for name, row in rows.items():
            value = row["value"]
            shown = value if isinstance(value, str) else json.dumps(value, default=str)
            style = "dim" if row["source"] == "default" else None
            table.add_row(name, Text(shown), Text(row["source"]), style=style)
        runtime.table_console().print(table)


@config_app.command("path")
def config_path(json_output: JsonOpt = False) -> None:
    """Where the user and project config files are (and whether they exist)."""
    with error_boundary(debug=runtime.STATE.debug):
        user = user_config_path()
        project = project_config_path(_project_root())
        paths = {
            "user": str(user),
            "user_exists": user.is_file(),
            "project": str(project) if project else None,
        }
        if json_output:
            print_json(paths)
            return
        print(f"user:    {user}{'' if user.is_file() else '  (not created yet)'}")
        print(f"project: {project if project else '(none: no .aurelis.toml or [tool.aurelis])'}")


def _project_root() -> Path:
    root = os.environ.get("AURELIS_PROJECT_ROOT")
    return Path(root) if root else Path.cwd()


@config_app.command("check")
def config_check(json_output: JsonOpt = False) -> None:
    """Validate the config files and environment; exit 2 when a setting is invalid."""
    with error_boundary(debug=runtime.STATE.debug):
        # Every layer on its own too: a bad project value hidden by the environment today
        # is the value in force tomorrow, when the variable is unset.
        errors = [problem.error for problem in layer_problems()]
        try:
            settings = load_config()
        except ConfigurationError as error:
            errors = errors or [error]
        if errors:
            _report_invalid(errors, json_output)
            raise typer.Exit(EXIT_USAGE) from None
        warnings = config_warnings(settings)
        if json_output:
            print_json({"ok": True, "error": None, "warnings": warnings})
            return
        mode = (
            f"remote endpoint {redact(settings.endpoint)}"
            if settings.remote_enabled
            else ("offline (local model)")
        )
        print(f"config OK: {mode}")
        for warning in warnings:
            print(f"warning: {warning}")


def _report_invalid(errors: list[ConfigurationError], json_output: bool) -> None:
    messages = [redact(error.message) for error in errors]
    if json_output:
        print_json({"ok": False, "error": messages[0], "errors": messages, "warnings": []})
        return
    for error, message in zip(errors, messages, strict=True):
        print_problem(message, error.hint or "fix the value, or remove it to use the default")


def config_warnings(settings: AurelisConfig) -> list[str]:
    """Settings that are valid but probably not what the user wants."""
    warnings = []
    if settings.remote_enabled and settings.endpoint == LEGACY_GITHUB_MODELS_ENDPOINT:
        warnings.append(
            "the endpoint is the retired GitHub Models default (shut down 2026-07-30); set "
            "AURELIS_ENDPOINT to an Azure AI Foundry or OpenAI-compatible endpoint"
        )
    if (
        settings.provider == "azure"
        and settings.token is None
        and (settings.endpoint == LEGACY_GITHUB_MODELS_ENDPOINT)
    ):
        warnings.append("provider is azure but no token is set (AURELIS_TOKEN or GITHUB_TOKEN)")
    if settings.local_model_path is not None and not settings.local_model_path.is_file():
        warnings.append(f"local_model_path {settings.local_model_path} does not exist")
    if settings.persistent_cache and settings.cache_dir is not None:
        if settings.cache_dir.exists() and not os.access(settings.cache_dir, os.W_OK):
            warnings.append(f"cache_dir {settings.cache_dir} is not writable")
    return warnings
