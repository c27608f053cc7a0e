"""The `aurelis` typer application: every command, wired together.

The console-script entry point is `aurelis.cli.main.run`, which comes here for everything
but the editor's fast `serve` path. This module only wires commands together; each area
lives in its own module. Usage errors are reported like every other error: one `error:`
line and one `hint:` line on stderr, exit code 2.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from aurelis import __version__
from aurelis.cli import (
    ask,
    batch,
    cache_cmd,
    config_cmd,
    doctor,
    models_cmd,
    runtime,
    serve,
    trust_cmd,
    usage_cmd,
)
from aurelis.cli import shell as shell_module
from aurelis.cli.errors import EXIT_OK, EXIT_USAGE, print_problem
from aurelis.cli.repository import context_cmd, eval_cmd

__all__ = ["app"]


class AurelisGroup(TyperGroup):
    """The root command: formats click's usage errors as our one-line error + hint."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError

        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            code = result if isinstance(result, int) else EXIT_OK
        except NoArgsIsHelpError as error:
            error.show()
            code = EXIT_USAGE
        except ClickException as error:
            hint = None
            if isinstance(error, UsageError) and error.ctx is not None:
                hint = f"run `{error.ctx.command_path} --help` for usage"
            print_problem(error.format_message(), hint)
            code = error.exit_code
        except typer.Abort:
            print_problem("aborted")
            code = 1
        if standalone_mode:
            sys.exit(code)
        return code


app = typer.Typer(
    name="aurelis",
    cls=AurelisGroup,
    help="Aurelis: an AI coding assistant at the terminal, in scripts and in your editor.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        print(f"aurelis {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    ctx: typer.Context,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks and debug logs on stderr.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Aurelis: an AI coding assistant at the terminal, in scripts and in your editor."""
    runtime.configure_runtime(debug=debug, command=ctx.invoked_subcommand)


app.command("ask")(ask.ask_command)
for _name, (_task, _help, _default) in ask.TASK_COMMANDS.items():
    app.command(_name, help=_help)(ask.make_task_command(_name))
app.command("models")(models_cmd.models_command)
app.command("batch")(batch.batch_command)
app.command("shell")(shell_module.shell_command)
app.command("serve")(serve.serve_command)
app.command("doctor")(doctor.doctor_command)
app.command("usage")(usage_cmd.usage_command)
app.command("context")(context_cmd.context_command)
trust_cmd.register(app)
app.add_typer(config_cmd.config_app, name="config")
app.add_typer(cache_cmd.cache_app, name="cache")
app.add_typer(eval_cmd.eval_app, name="eval")
