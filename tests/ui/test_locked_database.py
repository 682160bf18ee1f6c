"""Issue 15 item 5: a database locked beyond the busy timeout never crashes the console.

Another connection holds ``BEGIN IMMEDIATE`` (as an import's merge does) while the agent
presses enter: the console says it is waiting, keeps the text on screen, copies nothing, and
commits the touch (then copies) once the lock is gone.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.ui.conftest import Clipboard, MakeApp
from tests.ui.pilot import current_customer, run, settle, status_text
from tui_agent.screens import work_queue
from tui_agent.store import db as store_db


def test_enter_while_another_writer_holds_the_lock(
    make_app: MakeApp, shop: Path, clip: Clipboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_db, "BUSY_TIMEOUT_MS", 20)  # give up waiting in SQLite quickly
    monkeypatch.setattr(work_queue, "WRITE_RETRY_SECONDS", 0.02)

    async def body() -> None:
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            assert current_customer(app) == "C006"
            text = str(app.work_screen.query_one("#preview").render())
            blocker = sqlite3.connect(shop, isolation_level=None)
            blocker.execute("BEGIN IMMEDIATE")  # an import holding the write lock
            await pilot.press("enter")
            for _ in range(400):  # until the console has failed at least once and says so
                await pilot.pause(0.01)
                if "waiting for the database" in status_text(app):
                    break
            assert "waiting for the database" in status_text(app)
            assert app.is_running and app.return_code is None  # no crash
            assert str(app.work_screen.query_one("#preview").render()) == text  # text kept
            assert clip.texts == [] and app.clipboard == ""  # nothing copied yet
            assert blocker.execute("SELECT count(*) FROM touches").fetchone() == (0,)

            blocker.execute("COMMIT")  # the import is done
            blocker.close()
            await settle(pilot)
            rows = sqlite3.connect(shop).execute("SELECT customer_id, text FROM touches").fetchall()
            assert len(rows) == 1 and rows[0][0] == "C006"
            assert clip.texts == [rows[0][1]]  # copied once committed, exactly once
            assert "touch #" in status_text(app)
            assert app.is_running

    run(body)
