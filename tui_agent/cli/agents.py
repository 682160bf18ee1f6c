"""``tui-agent agents``: the logins of ``tui-agent serve`` (add, list, disable, passwd)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from tui_agent.cli.common import UserError, db_option, open_database

F = TypeVar("F", bound=Callable[..., Any])


def _read_password(password_file: Path | None) -> str:
    """The first line of ``password_file`` (``-`` = stdin), else asked twice on the terminal."""
    if password_file is not None:
        try:
            if str(password_file) == "-":
                text = sys.stdin.readline()
            else:
                text = password_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"{password_file}: {getattr(exc, 'strerror', None) or exc}") from None
        lines = text.splitlines()
        return lines[0] if lines else ""
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True))


def _password_option(fn: F) -> F:
    return click.option(
        "--password-file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Read the password from the first line of FILE ('-' for stdin) instead of asking.",
    )(fn)


@click.group("agents")
def agents_group() -> None:
    """Agent logins for `tui-agent serve` (stored hashed in the shop database)."""


@agents_group.command("add")
@click.argument("name")
@click.option("--display-name", default=None, help="The name customers see ({agent_name}).")
@_password_option
@db_option
def add(
    name: str, display_name: str | None, password_file: Path | None, db_path: Path | None
) -> None:
    """Add a login NAME (lower-case letters, digits, '.', '_', '-')."""
    from tui_agent.core.passwords import PasswordError, check_name
    from tui_agent.store.agents import AgentError, add_agent

    try:
        check_name(name)
    except PasswordError as exc:
        raise click.BadParameter(str(exc), param_hint="NAME") from None
    password = _read_password(password_file)
    db = open_database(db_path)
    try:
        add_agent(db, name, password, display_name=(display_name or "").strip() or None)
    except (PasswordError, AgentError) as exc:
        raise UserError(str(exc)) from None
    finally:
        db.conn.close()
    click.echo(f"agent {name} added")


@agents_group.command("list")
@db_option
def list_cmd(db_path: Path | None) -> None:
    """List the logins: name, display name, enabled or disabled."""
    from rich.console import Console
    from rich.table import Table

    from tui_agent.store.agents import list_agents

    db = open_database(db_path)
    try:
        agents = list_agents(db)
    finally:
        db.conn.close()
    if not agents:
        click.echo("no agents (add one with `tui-agent agents add NAME`)")
        return
    table = Table("name", "display name", "status", "changed", box=None)
    for a in agents:
        table.add_row(
            a.name, a.display_name or "", "disabled" if a.disabled else "enabled", a.updated_at
        )
    Console().print(table)


@agents_group.command("disable")
@click.argument("name")
@db_option
def disable(name: str, db_path: Path | None) -> None:
    """Stop NAME from logging in (their touches keep their name; `passwd` enables again).

    A console already open stays open until its agent logs out or the server restarts.
    """
    from tui_agent.store.agents import AgentError, disable_agent

    db = open_database(db_path)
    try:
        disable_agent(db, name)
    except AgentError as exc:
        raise UserError(str(exc)) from None
    finally:
        db.conn.close()
    click.echo(f"agent {name} disabled")


@agents_group.command("passwd")
@click.argument("name")
@_password_option
@db_option
def passwd(name: str, password_file: Path | None, db_path: Path | None) -> None:
    """Set a new password for NAME (and enable NAME if it was disabled)."""
    from tui_agent.core.passwords import PasswordError
    from tui_agent.store.agents import AgentError, get_agent, set_password

    db = open_database(db_path)
    try:
        if get_agent(db, name) is None:
            raise UserError(f"no agent named {name!r}")
        password = _read_password(password_file)
        set_password(db, name, password)
    except (PasswordError, AgentError) as exc:
        raise UserError(str(exc)) from None
    finally:
        db.conn.close()
    click.echo(f"password of {name} changed")
