"""The console's first paint never waits for the day's generation nor scores the whole shop.

The real console (a Session with a rules file) shows the queue carried over from yesterday
while a process of its own generates today's, then fills the list in; the card shows only
stored segments and fills its segment in when the model refresh process has stored them.
"""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from tests.ui.conftest import PHRASES, TODAY, Clipboard
from tests.ui.pilot import run, settle
from tests.ui.seed import build_shop
from tui_agent.app import ConsoleApp
from tui_agent.config import Config
from tui_agent.core.rules import load_rules
from tui_agent.paths import rules_path
from tui_agent.phrasing import PhraseBook
from tui_agent.screens.work_queue import WorkQueueScreen
from tui_agent.session import Session
from tui_agent.store import analytics
from tui_agent.store import followups as fu
from tui_agent.store.analytics import rfm
from tui_agent.store.db import connect, get_meta
from tui_agent.widgets.customer_card import CustomerCardView
from tui_agent.widgets.due_list import DueList


def _console(db: Path, clip: Clipboard) -> ConsoleApp:
    session = Session(
        db,
        agent="lily",
        today=TODAY,
        rules=load_rules(rules_path()),
        config=Config(shop_name="小满生活馆", coupon=None),
        phrases=PhraseBook.from_phrases(PHRASES),
        rules_file=rules_path(),
    )
    return ConsoleApp(session, system_copy=clip)


def _forbid(*_args: object, **_kw: object) -> None:
    raise AssertionError("the console must not do this in its own process")


def test_first_agent_of_the_day_sees_yesterdays_queue_while_a_process_generates(
    tmp_path: Path, clip: Clipboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_path = build_shop(tmp_path / "shop.db", generated=False)
    fu.generate(connect(db_path), TODAY - timedelta(days=1), load_rules(rules_path()))
    carried = {f.id for f in fu.due_queue(connect(db_path), TODAY, limit=500)}
    assert carried  # yesterday's open follow-ups are due today too
    monkeypatch.setattr(fu, "generate", _forbid)  # only the child process may generate

    # What the list showed when the generation process started (it may finish quickly).
    started: list[tuple[subprocess.Popen[bytes], set[int]]] = []
    await_generation = WorkQueueScreen._await_generation

    def spy(screen: WorkQueueScreen, job: subprocess.Popen[bytes]) -> None:
        started.append((job, set(screen.query_one(DueList).items)))
        await_generation(screen, job)

    monkeypatch.setattr(WorkQueueScreen, "_await_generation", spy)

    async def body() -> None:
        app = _console(db_path, clip)
        async with app.run_test(size=(140, 45)) as pilot:
            await settle(pilot)
            screen = app.work_screen
            assert len(started) == 1
            job, shown = started[0]
            assert shown and shown <= carried  # the list did not wait for the generation
            assert job.wait(timeout=120) == 0
            db = connect(db_path)
            assert get_meta(db, "last_generated") == TODAY.isoformat()
            today_ids = {f.id for f in fu.due_queue(db, TODAY, limit=500)}
            assert today_ids - carried  # today's generation added follow-ups
            for _ in range(100):
                await pilot.pause(0.05)
                await settle(pilot, rounds=1)
                if set(screen.query_one(DueList).items) == today_ids:
                    break
            assert set(screen.query_one(DueList).items) == today_ids
            assert screen.generating is None

    run(body)


def test_the_card_reads_only_stored_segments_and_fills_them_in(
    tmp_path: Path, clip: Clipboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tui_agent.app as app_module

    db_path = build_shop(tmp_path / "shop.db")
    assert not analytics.stored_segments_current(connect(db_path), TODAY)
    monkeypatch.setattr(rfm, "_segment_table", _forbid)  # no whole-shop scoring here
    monkeypatch.setattr(app_module, "MODEL_REFRESH_DELAY", 0.05)

    async def body() -> None:
        app = _console(db_path, clip)
        async with app.run_test(size=(140, 45)) as pilot:
            await settle(pilot)
            view = app.work_screen.query_one(CustomerCardView)
            assert view.card is not None and view.card.segment is None
            for _ in range(40):
                await settle(pilot)
                if app.model_refresh is not None:
                    break
            assert app.model_refresh is not None
            assert app.model_refresh.wait(timeout=120) == 0
            for _ in range(100):
                await pilot.pause(0.05)
                await settle(pilot, rounds=1)
                if view.card is not None and view.card.segment:
                    break
            assert view.card is not None and view.card.segment
            customer = view.card.customer.customer_id
            stored = analytics.segment_of(connect(db_path), customer, TODAY)
            assert stored is not None and stored in view.card.segment

    run(body)


def test_the_console_connection_maps_no_memory(shop: Path) -> None:
    session = Session(
        shop,
        agent="lily",
        today=TODAY,
        rules=load_rules(rules_path()),
        config=Config(),
        phrases=PhraseBook.from_phrases(PHRASES),
    )
    try:
        assert session._db.execute("PRAGMA mmap_size").fetchone()[0] == 0
        assert connect(shop).execute("PRAGMA mmap_size").fetchone()[0] > 0
    finally:
        session.close()


def test_a_generation_process_that_fails_is_replaced_by_generating_in_process(
    tmp_path: Path, clip: Clipboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_path = build_shop(tmp_path / "shop.db", generated=False)
    fu.generate(connect(db_path), TODAY - timedelta(days=1), load_rules(rules_path()))
    app = _console(db_path, clip)
    app.session.rules_file = tmp_path / "missing-rules.toml"  # the child exits 1

    async def body() -> None:
        async with app.run_test(size=(140, 45)) as pilot:
            for _ in range(200):
                await pilot.pause(0.05)
                await settle(pilot, rounds=1)
                if get_meta(connect(db_path), "last_generated") == TODAY.isoformat():
                    break
            assert get_meta(connect(db_path), "last_generated") == TODAY.isoformat()
            await settle(pilot)
            today_ids = {f.id for f in fu.due_queue(connect(db_path), TODAY, limit=500)}
            assert set(app.work_screen.query_one(DueList).items) == today_ids

    run(body)
