"""Helpers for driving the console in tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.worker import WorkerCancelled

from tui_agent.app import ConsoleApp
from tui_agent.screens.work_queue import WorkQueueScreen
from tui_agent.store.db import connect


async def settle(pilot: Pilot[Any], rounds: int = 4) -> None:
    """Let workers finish and their results reach the screen (workers start workers)."""
    for _ in range(rounds):
        try:
            await pilot.app.workers.wait_for_complete()
        except WorkerCancelled:
            continue  # an exclusive worker replaced by a newer one: wait for that one

        await pilot.pause()
        if not any(w.is_running for w in pilot.app.workers):
            await pilot.pause()
            if not any(w.is_running for w in pilot.app.workers):
                return


async def keys(pilot: Pilot[Any], *pressed: str) -> None:
    """Press keys one at a time, settling after each (each may start database work)."""
    for key in pressed:
        await pilot.press(key)
        await settle(pilot)


async def type_text(pilot: Pilot[Any], text: str) -> None:
    """Type characters into the focused box (no database work between them)."""
    await pilot.press(*("space" if c == " " else c for c in text))
    await settle(pilot)


def work_screen(app: ConsoleApp) -> WorkQueueScreen:
    return app.work_screen


def current_customer(app: ConsoleApp) -> str | None:
    opened = app.work_screen.opened
    return None if opened is None else opened.follow_up.customer_id


def status_text(app: ConsoleApp) -> str:
    return str(app.work_screen.query_one("#status").render())


def rows(db_path: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    db = connect(db_path)
    try:
        return [tuple(r) for r in db.execute(sql, params or []).fetchall()]
    finally:
        db.conn.close()


def run(coro: Callable[[], Awaitable[None]]) -> None:
    """Run an async test body (the suite has no async plugin; asyncio.run is enough)."""
    asyncio.run(coro())  # type: ignore[arg-type]
