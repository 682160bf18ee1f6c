"""Shared pieces of the command line: options, opening the database, user errors."""

from __future__ import annotations

import getpass
import json
import math
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import click
import sqlite_utils

from tui_agent.core.dates import parse_date
from tui_agent.core.privacy import mask_phones
from tui_agent.core.rules import RulesError, RuleSet, load_rules
from tui_agent.core.safetext import BIDI, visible
from tui_agent.paths import resolve_db_path, rules_path
from tui_agent.store.db import DatabaseError, connect, describe_error

F = TypeVar("F", bound=Callable[..., Any])


class UserError(click.ClickException):
    """A data or environment error: one line on stderr, exit code 1, no traceback."""

    exit_code = 1

    def format_message(self) -> str:
        # Errors end up in scrollback and CI logs: never a customer's phone number, and
        # never a control sequence from a file's header or a cell.
        return visible(mask_phones(self.message))


def echo(text: str, *, err: bool = False) -> None:
    """Print text that may hold data from a CSV import: controls shown, never sent raw."""
    click.echo(visible(text), err=err)


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinity (at any depth) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


# JSON escapes C0 controls itself; with ensure_ascii=False, C1 controls, DEL, the line
# separators and bidi marks would be written raw. Escaped, the data is the same for a parser.
_JSON_RAW = str.maketrans(
    {c: f"\\u{c:04x}" for c in [0x7F, *range(0x80, 0xA0), 0x2028, 0x2029, *map(ord, BIDI)]}
)


def to_json(value: Any, *, sort_keys: bool = False) -> str:
    """Strict JSON for scripts: never NaN or Infinity (they become null), Chinese kept
    readable, nothing a terminal would act on."""
    text = json.dumps(
        _finite(value), ensure_ascii=False, indent=2, sort_keys=sort_keys, allow_nan=False
    )
    return text.translate(_JSON_RAW)


def echo_json(value: Any, *, sort_keys: bool = False) -> None:
    click.echo(to_json(value, sort_keys=sort_keys))


def db_option(fn: F) -> F:
    """``--db PATH`` on a subcommand (falls back to the group's ``--db``, then the env var)."""
    return click.option(
        "--db",
        "db_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Shop database file (default: $TUI_AGENT_DB, else the user data dir).",
    )(fn)


def console_options(fn: F) -> F:
    """``--db --agent --today --demo``: the options of the console, on the group and on
    ``tui-agent console`` alike."""
    for option in reversed(
        [
            click.option(
                "--db",
                "db_path",
                type=click.Path(dir_okay=False, path_type=Path),
                default=None,
                help="Shop database file (default: $TUI_AGENT_DB, else the user data dir).",
            ),
            click.option(
                "--agent", default=None, help="Your agent name (default: config, else the OS user)."
            ),
            click.option(
                "--today", type=DATE, default=None, help="Pretend today is DATE (demos, tests)."
            ),
            click.option("--demo", is_flag=True, help="Open the console on a fresh demo database."),
        ]
    ):
        fn = option(fn)
    return fn


def effective_db_path(db_path: Path | None) -> Path:
    ctx = click.get_current_context()
    root = ctx.find_root().params.get("db_path")
    return resolve_db_path(db_path or root)


def open_database(
    db_path: Path | None, *, create: bool = False, check: bool = False
) -> sqlite_utils.Database:
    """The shop database, or a one-line UserError. Only commands that bring data (import,
    demo) pass ``create``: a mistyped ``--db`` must not become an empty shop."""
    path = effective_db_path(db_path)
    _opened[:] = [path]
    try:
        return connect(path, create=create, check=check)
    except DatabaseError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"{path}: {exc.strerror or exc}") from None


_opened: list[Path] = []  # the database the running command opened, for error messages


@contextmanager
def one_line_errors() -> Iterator[None]:
    """Every command runs inside this: a database that cannot be used (busy, read-only, disk
    full, corrupt) or a file error ends the command with one line and exit code 1, never a
    traceback."""
    try:
        yield
    except DatabaseError as exc:
        raise UserError(str(exc)) from None
    except BrokenPipeError:
        # The reader went away (`tui-agent customer find a | head -1`): stop quietly, as
        # Python's documentation recommends, so the exit's own flush raises nothing either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except (sqlite3.Error, OSError) as exc:
        where = _opened[0] if _opened else "database"
        line = describe_error(where, exc)
        if line is None:
            if isinstance(exc, OSError):
                name = exc.filename or where
                line = f"{name}: {exc.strerror or exc}"
            else:
                line = f"{where}: database error: {exc}"
        raise UserError(line) from None


def default_agent() -> str:
    try:
        return os.environ.get("TUI_AGENT_AGENT") or getpass.getuser()
    except Exception:
        return "agent"


def root_param(name: str) -> Any:
    """A parameter of the main command (``tui-agent --today ... --agent ...``)."""
    return click.get_current_context().find_root().params.get(name)


def agent_name(agent: str | None = None) -> str:
    """``--agent``, else the main command's ``--agent``, else the config's, else the OS user."""
    from tui_agent.config import ConfigError, load_config

    chosen = agent or root_param("agent")
    if chosen:
        return str(chosen)
    try:
        configured = load_config().agent
    except ConfigError as exc:
        raise UserError(str(exc)) from None
    return configured or default_agent()


def today() -> date:
    """The main command's ``--today``, else the real date."""
    value = root_param("today")
    return value if isinstance(value, date) else date.today()


def now(day: date | None = None) -> datetime:
    """Wall-clock time on ``day`` (default: :func:`today`), as the console does."""
    return datetime.combine(day or today(), datetime.now().time().replace(microsecond=0))


class DateType(click.ParamType[date]):
    """A ``YYYY-MM-DD`` date on the command line."""

    name = "DATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            return parse_date(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a date (YYYY-MM-DD)", param, ctx)


DATE = DateType()


def load_ruleset() -> RuleSet:
    """The lifecycle rules (user copy in the config dir, else the shipped default)."""
    try:
        return load_rules(rules_path())
    except RulesError as exc:
        raise UserError(str(exc)) from None
