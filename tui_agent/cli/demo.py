"""``tui-agent demo``: write a deterministic demo shop."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from tui_agent.cli.common import DATE, UserError, effective_db_path, load_ruleset
from tui_agent.store.db import DatabaseError


@click.command()
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the demo database (default: $TUI_AGENT_DB, else the user data dir).",
)
@click.option(
    "--today", type=DATE, default=None, help="The day the demo is due on (default: today)."
)
@click.option(
    "--customers",
    type=click.IntRange(30, 1_000_000),
    default=300,
    show_default=True,
    help="How many customers.",
)
@click.option(
    "--seed", type=int, default=7, show_default=True, help="Random seed: same seed, same shop."
)
@click.option("--force", is_flag=True, help="Replace the file if it exists.")
def demo(db_path: Path | None, today: date | None, customers: int, seed: int, force: bool) -> None:
    """Write a realistic demo shop whose follow-ups of every stage fall due on --today."""
    from tui_agent.store.demo import DemoError, build_demo

    path = effective_db_path(db_path)
    day = today or date.today()
    try:
        result = build_demo(
            path,
            today=day,
            rules=load_ruleset(),
            customers=customers,
            seed=seed,
            force=force,
            on_step=lambda msg: click.echo(f"demo: {msg}", err=True),
        )
    except (DemoError, DatabaseError) as exc:
        raise UserError(str(exc)) from None
    click.echo(
        f"{path}: {result.customers} customers, {result.order_lines} order lines, "
        f"{result.due_today} follow-ups due {day.isoformat()}"
    )
