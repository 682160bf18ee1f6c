"""The ``tui-agent`` command line. Each command group lives in its own module."""

from __future__ import annotations

from pathlib import Path

import click

from tui_agent import __version__
from tui_agent.cli.common import DATE


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Shop database file (default: $TUI_AGENT_DB, else the user data dir).",
)
@click.option("--agent", default=None, help="Your agent name (default: the OS user).")
@click.option("--today", type=DATE, default=None, help="Pretend today is DATE (demos, tests).")
@click.option("--demo", is_flag=True, help="Open the console on a fresh demo database.")
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


# Commands, one module each (imported here, after `main` exists).
from tui_agent.cli.console import console  # noqa: E402
from tui_agent.cli.demo import demo  # noqa: E402
from tui_agent.cli.due import due  # noqa: E402
from tui_agent.cli.importing import import_group  # noqa: E402
from tui_agent.cli.info import paths  # noqa: E402
from tui_agent.cli.phrases import phrases_group, render_cmd  # noqa: E402
from tui_agent.cli.stats import export_cmd, stats_cmd  # noqa: E402

main.add_command(due)
main.add_command(demo)
main.add_command(paths)
main.add_command(import_group)
main.add_command(phrases_group)
main.add_command(render_cmd)
main.add_command(console)
main.add_command(stats_cmd)
main.add_command(export_cmd)
