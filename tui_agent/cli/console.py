"""Opening the console: resolve the database, agent, day, rules, config and phrases, then run."""

from __future__ import annotations

import gc
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import click

from tui_agent.cli.common import UserError, console_options, default_agent
from tui_agent.config import ConfigError, load_config
from tui_agent.core.rules import RulesError, RuleSet, load_rules
from tui_agent.paths import resolve_db_path, rules_path
from tui_agent.store.db import DatabaseError


def _demo_database(today: date, rules: RuleSet) -> Path:
    """A fresh demo database in a temporary directory (kept, so it can be opened again)."""
    from tui_agent.store.demo import DemoError, build_demo

    path = Path(tempfile.mkdtemp(prefix="tui-agent-demo-")) / "demo.db"
    click.echo("building the demo shop…", err=True)
    try:
        build_demo(path, today=today, rules=rules)
    except (DemoError, DatabaseError) as exc:
        raise UserError(str(exc)) from None
    return path


def build_app(
    *,
    db_path: Path | None,
    agent: str | None,
    today: date | None,
    demo: bool,
    display_name: str | None = None,
) -> Any:
    """Everything the console needs, or a UserError naming what is wrong."""
    from tui_agent.phrasing import load_phrasebook
    from tui_agent.session import Session

    today = today or date.today()
    try:
        config = load_config()
        rules_file = rules_path()
        rules = load_rules(rules_file)
    except (ConfigError, RulesError) as exc:
        raise UserError(str(exc)) from None
    path = _demo_database(today, rules) if demo else resolve_db_path(db_path)
    agent = agent or config.agent or default_agent()
    try:
        session = Session(
            path,
            agent=agent,
            today=today,
            rules=rules,
            config=config,
            phrases=load_phrasebook(),
            display_name=display_name,
            rules_file=rules_file,
        )
    except DatabaseError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"{path}: {exc.strerror or exc}") from None
    # The first frame's rows are read in a thread while Textual is imported and starts.
    session.prefetch_opening()
    from tui_agent.app import ConsoleApp

    return ConsoleApp(session, keymap=config.keymap, theme=config.theme)


def run_console(
    *,
    db_path: Path | None,
    agent: str | None,
    today: Any,
    demo: bool,
    display_name: str | None = None,
) -> None:
    """Open the full-screen console (``tui-agent`` with no command, or ``tui-agent console``)."""
    # The start allocates tens of MB (Textual, the screen, the rows) and keeps nearly all of
    # it: the cyclic garbage collector would scan it over and over (~40 ms of the first
    # paint). Paused until the console has started (ConsoleApp turns it back on); not while
    # a demo shop is built.
    if not demo:
        gc.disable()
    try:
        app = build_app(
            db_path=db_path, agent=agent, today=today, demo=demo, display_name=display_name
        )
    except BaseException:
        gc.enable()
        raise
    try:
        app.run()
    finally:
        gc.enable()
        app.session.close()
    if demo:
        click.echo(f"The demo database stays at {app.session.db_path} (open it with --db).")


@click.command("console")
@console_options
@click.option(
    "--display-name",
    default=None,
    help="The name customers see ({agent_name}); `tui-agent serve` passes the agent's.",
)
@click.pass_context
def console(
    ctx: click.Context,
    db_path: Path | None,
    agent: str | None,
    today: date | None,
    demo: bool,
    display_name: str | None,
) -> None:
    """Open the full-screen work console: today's follow-ups, phrases, copy and log."""
    root = ctx.find_root().params
    run_console(
        db_path=db_path or root.get("db_path"),
        agent=agent or root.get("agent"),
        today=today or root.get("today"),
        demo=demo or bool(root.get("demo")),
        display_name=display_name,
    )
