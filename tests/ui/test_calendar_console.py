"""Issue 10 in the console: the follow-ups the daily capacity deferred (header), the missing
holiday calendar (status line at start), which calendar a birthday is in (card and page)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from tests.ui.conftest import MakeApp
from tests.ui.pilot import current_customer, run, settle, status_text
from tests.ui.seed import TODAY
from tui_agent.core.kinds import holiday
from tui_agent.screens.customer import render_page
from tui_agent.store.db import connect, write_tx
from tui_agent.store.followups import DEFERRED
from tui_agent.widgets.customer_card import CustomerCardView


def _defer_one(shop: Path) -> None:
    db = connect(shop)
    with write_tx(db):
        db.execute(
            "INSERT INTO follow_ups (customer_id, stage, rule, due_date, created_at, updated_at, "
            "status, snoozed_until, status_reason) VALUES ('C004', 'care', 'care+1', ?, 'x', 'x', "
            "'snoozed', ?, ?)",
            [TODAY.isoformat(), "2026-11-21", f"{DEFERRED} daily capacity 5 reached"],
        )
    db.conn.close()


def test_header_counts_the_deferred_follow_ups(make_app: MakeApp, shop: Path) -> None:
    async def body() -> None:
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            assert "deferred" not in app.work_screen.sub_title
            _defer_one(shop)
            app.work_screen.load_queue()
            await settle(pilot)
            assert "1 deferred (daily capacity)" in app.work_screen.sub_title

    run(body)


def test_missing_holiday_calendar_is_said_at_start(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(holiday, "missing_years", lambda rules, today: [2027])

    async def body() -> None:
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            text = status_text(app)
            assert "holiday data: China's official holiday calendar for 2027" in text
            assert "│ next: " in text  # the follow-up's own line is still there

    run(body)


def test_no_holiday_message_when_the_calendar_is_there(make_app: MakeApp) -> None:
    async def body() -> None:
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            assert "holiday data" not in status_text(app)

    run(body)


def _text(renderable: object) -> str:
    console = Console(width=100, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def test_card_and_page_say_which_calendar_the_birthday_is_in(make_app: MakeApp, shop: Path) -> None:
    db = connect(shop)
    with write_tx(db):
        db.execute("UPDATE customers SET lunar_birthday = '闰04-10'")
        db.execute("UPDATE customers SET birthday = '1990-03-15' WHERE customer_id = 'C002'")
    db.conn.close()

    async def body() -> None:
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            card = app.work_screen.query_one(CustomerCardView)
            assert current_customer(app) is not None
            assert "生日 农历 闰04-10 (lunar)" in _text(card._render_card())

    run(body)
    session = make_app().session
    page = session.customer_page("C001", with_segment=False)
    assert page is not None and "生日 农历 闰04-10 (lunar)" in _text(render_page(page))
