"""The ``tui-agent`` command line. Each command group lives in its own module."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import click

from tui_agent import __version__
from tui_agent.cli.common import console_options, one_line_errors


class LazyGroup(click.Group):
    """A group whose commands are imported only when they run (or when help lists them).

    Each command module pulls in its own dependencies (rich, rapidfuzz, the importer, ...):
    importing all of them costs about a tenth of a second of CPU on every run, a tenth that
    ``tui-agent stats`` on a big shop should not pay. ``lazy_commands`` maps a command name to
    ``"module:attribute"``; :meth:`add_command` still works for eagerly imported commands.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands: dict[str, str] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy_commands:
            module, _, attr = self.lazy_commands[cmd_name].partition(":")
            command = getattr(importlib.import_module(module), attr)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self.lazy_commands[cmd_name]} is not a click command")
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        with one_line_errors():
            return super().invoke(ctx)


@click.group(
    cls=LazyGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@console_options
@click.version_option(__version__, prog_name="tui-agent")
@click.pass_context
def main(
    ctx: click.Context, db_path: Path | None, agent: str | None, today: object, demo: bool
) -> None:
    """tui-agent: today's repurchase follow-ups, a phrase library, one key to copy and log.

    Run without a command to open the console.
    """
    if ctx.invoked_subcommand is None:
        from tui_agent.cli.console import run_console

        run_console(db_path=db_path, agent=agent, today=today, demo=demo)


# Commands, one module each, imported when they run (see LazyGroup).
main.lazy_commands.update(
    {
        "due": "tui_agent.cli.due:due",
        "demo": "tui_agent.cli.demo:demo",
        "paths": "tui_agent.cli.info:paths",
        "import": "tui_agent.cli.importing:import_group",
        "phrases": "tui_agent.cli.phrases:phrases_group",
        "render": "tui_agent.cli.phrases:render_cmd",
        "stats": "tui_agent.cli.stats:stats_cmd",
        "export": "tui_agent.cli.stats:export_cmd",
        "console": "tui_agent.cli.console:console",
        "customer": "tui_agent.cli.customer:customer_group",
        "touch": "tui_agent.cli.touch:touch_group",
        "campaign": "tui_agent.cli.campaign:campaign_group",
        "agents": "tui_agent.cli.agents:agents_group",
        "serve": "tui_agent.cli.serve:serve",
        "backup": "tui_agent.cli.backup:backup",
    }
)
