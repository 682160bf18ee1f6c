"""The customer desk in the console: find by phone's last 4, work the customer from their
page (a reply), record the outcome, undo, filter the queue by stage."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from tests.ui.conftest import Clipboard, MakeApp
from tests.ui.pilot import keys, rows, run, settle, status_text, type_text
from tui_agent.core.models import Stage
from tui_agent.screens.customer import CustomerScreen, FindCustomer, render_page
from tui_agent.screens.desk_dialogs import OutcomePicker, parse_filter
from tui_agent.screens.modals import MissingValuesForm
from tui_agent.widgets.due_list import DueList


def page_text(screen: CustomerScreen) -> str:
    assert screen.page is not None
    console = Console(width=100, record=True, file=io.StringIO())
    console.print(render_page(screen.page))
    return console.export_text()


def test_find_work_outcome_undo_and_filter(make_app: MakeApp, shop: Path, clip: Clipboard) -> None:
    async def body() -> None:
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await keys(pilot, "c")
            assert isinstance(app.screen, FindCustomer)
            await type_text(pilot, "5678")  # the last 4 digits of 王小明's phone
            await keys(pilot, "enter")
            screen = app.screen
            assert isinstance(screen, CustomerScreen) and screen.customer_id == "C001"
            await settle(pilot)
            page = page_text(screen)
            assert "王小明" in page and "没有联系记录" in page

            # Work them now: a phrase, filled, copied, logged as a reply.
            await keys(pilot, "slash")
            await type_text(pilot, "评价")
            await keys(pilot, "enter")
            while isinstance(app.screen, MissingValuesForm):
                await type_text(pilot, "X")
                await keys(pilot, "enter")
                await keys(pilot, "ctrl+y")
            ((touch_id, text, reply),) = rows(
                shop, "SELECT id, text, reply FROM touches WHERE customer_id='C001'"
            )
            assert reply == 1 and clip.texts == [text]
            assert f"touch #{touch_id} (reply)" in str(
                screen.query_one("#customer-status").render()
            )

            # r: the outcome, one number key and enter (no note).
            await keys(pilot, "escape")  # out of the search box
            await keys(pilot, "r")
            assert isinstance(app.screen, OutcomePicker)
            assert app.screen.who == "王小明"  # whom the touch was for, named in the picker
            await keys(pilot, "2")
            await type_text(pilot, "thanks")
            await keys(pilot, "enter")
            assert rows(
                shop, "SELECT kind, value, note FROM touch_events WHERE touch_id=?", [touch_id]
            ) == [("outcome", "satisfied", "thanks")]

            # u: take it back (kept, marked retracted).
            await keys(pilot, "u", "y")
            kinds = rows(shop, "SELECT kind FROM touch_events WHERE touch_id=?", [touch_id])
            assert ("retract",) in kinds
            assert rows(shop, "SELECT count(*) FROM touches WHERE id=?", [touch_id]) == [(1,)]
            await settle(pilot)
            assert "retracted" in page_text(screen)

            # Back to the queue: the retracted touch is no longer "your last touch".
            await keys(pilot, "escape")
            assert app.screen is app.work_screen
            await keys(pilot, "r")
            assert not isinstance(app.screen, OutcomePicker)
            assert "No touch of yours yet" in status_text(app)

            # Filter the queue by stage.
            await keys(pilot, "f")
            await type_text(pilot, "stage=repurchase")
            await keys(pilot, "enter")
            await settle(pilot)
            table = app.work_screen.query_one(DueList)
            assert table.order and all(
                table.items[f].stage is Stage.REPURCHASE for f in table.order
            )
            assert "filter: stage=repurchase" in app.work_screen.sub_title
            await keys(pilot, "f")
            for _ in "stage=repurchase":
                await pilot.press("backspace")
            await keys(pilot, "enter")
            await settle(pilot)
            assert len(app.work_screen.query_one(DueList).order) == 7
            assert "Showing: all" in status_text(app)

    run(body)


def test_parse_filter_words() -> None:
    f = parse_filter("复购唤醒 tag=VIP overdue mine", "lily")
    assert f.stage is Stage.REPURCHASE and f.tag == "VIP" and f.overdue and f.mine == "lily"
    assert parse_filter("", "lily").empty
    try:
        parse_filter("stage=nope", "lily")
    except ValueError as exc:
        assert "stage=nope: not a stage" in str(exc)
    else:
        raise AssertionError("accepted a bad stage")


def test_outcome_and_undo_from_the_queue(make_app: MakeApp, shop: Path) -> None:
    async def body() -> None:
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await keys(pilot, "r")  # nothing logged yet: says so, no dialog
            assert app.screen is app.work_screen and "No touch" in status_text(app)
            await keys(pilot, "enter")  # C006 logged
            ((touch_id,),) = rows(shop, "SELECT id FROM touches WHERE customer_id='C006'")
            await keys(pilot, "r", "1", "enter")
            assert rows(shop, "SELECT value FROM touch_events WHERE touch_id=?", [touch_id]) == [
                ("replied",)
            ]
            assert "Outcome recorded" in status_text(app)
            await keys(pilot, "u", "y")
            assert f"Touch #{touch_id} taken back" in status_text(app)
            assert rows(
                shop, "SELECT status, claimed_by FROM follow_ups WHERE customer_id='C006'"
            ) == [("pending", None)]
            await settle(pilot)
            table = app.work_screen.query_one(DueList)
            assert any(table.items[f].customer_id == "C006" for f in table.order)

    run(body)


def test_customer_page_shows_the_prediction_or_why_not(make_app: MakeApp, shop: Path) -> None:
    import json

    import sqlite_utils

    session = make_app().session
    page = session.customer_page("C001", with_segment=False)
    assert page is not None
    console = Console(width=100, record=True, file=io.StringIO())
    console.print(render_page(page))
    assert "预测 no prediction: no fit yet" in console.export_text()

    db = sqlite_utils.Database(shop)
    db.execute(
        "INSERT INTO model_fits(kind, as_of, fingerprint, fitted_at, body) "
        "VALUES ('btyd', '2026-11-29', 'x', 'x', ?)",
        [json.dumps({"fitted": True, "missing": []})],
    )
    db.execute(
        "INSERT INTO customer_predictions VALUES "
        "('C001', 0.82, 0.4, 1.3, 180.0, 1240.0, '2026-12-20')"
    )
    db.conn.commit()
    page = session.customer_page("C001", with_segment=False)
    assert page is not None
    console = Console(width=100, record=True, file=io.StringIO())
    console.print(render_page(page))
    text = console.export_text()
    assert "预测 P(alive) 0.82 · next order ~2026-12-20 · 365-day value ¥1,240" in text
