"""Agent logins (``tui-agent agents``, ``tui-agent serve``): names, display names, password
hashes. Hashing and checking are in :mod:`tui_agent.core.passwords`; this module stores them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from tui_agent.core.passwords import check_name, check_password, hash_password, verify_password
from tui_agent.store.db import write_tx


class AgentError(ValueError):
    """An agent command that cannot be done (unknown name, name taken, ...)."""


@dataclass(frozen=True, slots=True)
class Agent:
    """One login. ``display_name`` is the name customers see (``{agent_name}``)."""

    name: str
    display_name: str | None
    disabled: bool
    created_at: str
    updated_at: str

    @property
    def shown_name(self) -> str:
        return self.display_name or self.name


def _now() -> str:
    return datetime.now().strftime("%Y-%m-%d %H:%M:%S")


def _row(row: tuple[object, ...]) -> Agent:
    name, display, disabled, created, updated = row
    return Agent(
        str(name),
        None if display is None else str(display),
        bool(disabled),
        str(created),
        str(updated),
    )


_COLS = "name, display_name, disabled, created_at, updated_at"


def add_agent(
    db: sqlite_utils.Database, name: str, password: str, *, display_name: str | None = None
) -> Agent:
    check_name(name)
    hashed = hash_password(check_password(password))
    now = _now()
    with write_tx(db):
        if db.execute("SELECT 1 FROM agents WHERE name = ?", [name]).fetchone():
            raise AgentError(f"agent {name!r} exists already (use `agents passwd`)")
        db.execute(
            "INSERT INTO agents (name, display_name, password_hash, disabled, created_at, "
            "updated_at) VALUES (?, ?, ?, 0, ?, ?)",
            [name, display_name or None, hashed, now, now],
        )
    return Agent(name, display_name or None, False, now, now)


def list_agents(db: sqlite_utils.Database) -> list[Agent]:
    return [_row(r) for r in db.execute(f"SELECT {_COLS} FROM agents ORDER BY name")]


def get_agent(db: sqlite_utils.Database, name: str) -> Agent | None:
    row = db.execute(f"SELECT {_COLS} FROM agents WHERE name = ?", [name]).fetchone()
    return None if row is None else _row(row)


def has_logins(db: sqlite_utils.Database) -> bool:
    """True when at least one agent may log in."""
    return db.execute("SELECT 1 FROM agents WHERE disabled = 0 LIMIT 1").fetchone() is not None


def set_password(db: sqlite_utils.Database, name: str, password: str) -> None:
    """A new password; also enables a disabled agent again."""
    hashed = hash_password(check_password(password))
    with write_tx(db):
        cur = db.execute(
            "UPDATE agents SET password_hash = ?, disabled = 0, updated_at = ? WHERE name = ?",
            [hashed, _now(), name],
        )
        if cur.rowcount == 0:
            raise AgentError(f"no agent named {name!r}")


def disable_agent(db: sqlite_utils.Database, name: str) -> None:
    with write_tx(db):
        cur = db.execute(
            "UPDATE agents SET disabled = 1, updated_at = ? WHERE name = ?", [_now(), name]
        )
        if cur.rowcount == 0:
            raise AgentError(f"no agent named {name!r}")


def authenticate(db: sqlite_utils.Database, name: str, password: str) -> Agent | None:
    """The agent when ``name`` and ``password`` match an enabled login, else ``None``.

    An unknown or disabled name costs the same scrypt work as a wrong password.
    """
    row = db.execute(f"SELECT {_COLS}, password_hash FROM agents WHERE name = ?", [name]).fetchone()
    stored = None if row is None else str(row[5])
    ok = verify_password(password, stored)
    if row is None or not ok or row[2]:
        return None
    return _row(row[:5])


def release_claims(db: sqlite_utils.Database, agent: str) -> int:
    """Give back every open claim of ``agent`` (its served console ended); how many.

    ``serve`` runs one console per agent, so once that console is gone no claim of the agent
    is being worked. A console stopped by the server exits without its own quit key, which
    would have released the claim itself.
    """
    with write_tx(db):
        cur = db.execute(
            "UPDATE follow_ups SET claimed_by = NULL, claimed_at = NULL "
            "WHERE claimed_by = ? AND status = 'pending'",
            [agent],
        )
    return int(cur.rowcount)
