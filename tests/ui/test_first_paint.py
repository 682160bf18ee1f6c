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


def _count_queue_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    reads: list[int] = []
    queue = Session.queue

    def counted(session: Session) -> object:
        reads.append(1)
        return queue(session)

    monkeypatch.setattr(Session, "queue", counted)
    return reads


def _first_frame(app: ConsoleApp) -> dict[str, object]:
    screen = app.work_screen
    return {
        "rows": list(screen.query_one(DueList).order),
        "progress": screen.sub_title,
        "opened": screen.opened.follow_up.id if screen.opened else None,
        "card": screen.query_one(CustomerCardView).card,
        "status": str(screen.query_one("#status").render()),
        "preview": str(screen.query_one("#preview").render()),
        "phrases": [m.phrase.id for m in screen.query_one("#phrase-search").matches],
    }


def test_the_console_reads_the_queue_once_to_open(
    shop: Path, clip: Clipboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = _count_queue_reads(monkeypatch)

    async def body() -> None:
        app = _console(shop, clip)
        async with app.run_test(size=(140, 45)) as pilot:
            await settle(pilot)
            assert app.work_screen.opened is not None  # the first card is shown
            assert len(reads) == 1  # not once more for the screen's first show

    run(body)


def test_a_prefetched_opening_paints_the_same_first_frame_at_mount(
    shop: Path, clip: Clipboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real console reads the first frame's rows while Textual loads (build_app)."""
    reads = _count_queue_reads(monkeypatch)
    frames: list[dict[str, object]] = []

    async def body(app: ConsoleApp, prefetched: bool) -> None:
        async with app.run_test(size=(140, 45)) as pilot:
            if prefetched:  # shown at mount, before any worker could have read it
                assert app.work_screen.opened is not None
                assert app.session.take_opening() is None  # taken
            await settle(pilot)
            frames.append(_first_frame(app))
        app.session.close()

    for prefetched in (False, True):
        app = _console(shop, clip)
        if prefetched:
            app.session.prefetch_opening()
        run(lambda app=app, prefetched=prefetched: body(app, prefetched))
        assert len(reads) == 1
        reads.clear()
    assert frames[0]["rows"] and frames[0]["opened"] is not None
    assert frames[0] == frames[1]


def test_the_garbage_collector_paused_for_the_start_runs_again(
    shop: Path, clip: Clipboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc

    import tui_agent.app as app_module

    monkeypatch.setattr(app_module, "GC_PAUSE_SECONDS", 0.05)

    async def body() -> None:
        app = _console(shop, clip)
        gc.disable()  # as run_console does
        try:
            async with app.run_test(size=(140, 45)) as pilot:
                await settle(pilot)
                for _ in range(40):
                    if gc.isenabled():
                        break
                    await pilot.pause(0.05)
                assert gc.isenabled()
        finally:
            gc.enable()
            gc.unfreeze()
        app.session.close()

    run(body)


@pytest.mark.parametrize("prefetched", [False, True])
def test_the_start_notice_shows_however_the_first_card_came(
    shop: Path, clip: Clipboard, monkeypatch: pytest.MonkeyPatch, prefetched: bool
) -> None:
    monkeypatch.setattr(Session, "start_notice", lambda _s: "holiday data: calendar missing")

    async def body() -> None:
        app = _console(shop, clip)
        if prefetched:
            app.session.prefetch_opening()  # the card is shown at mount, before the first show
        async with app.run_test(size=(140, 45)) as pilot:
            await settle(pilot)
            assert "holiday data: calendar missing" in str(
                app.work_screen.query_one("#status").render()
            )
        app.session.close()

    run(body)
