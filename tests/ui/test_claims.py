"""Claims the screen can be trusted with (issue 9, defects 1 and 2).

A follow-up is claimed when the agent opens it for work (enter, e, s, x, o, / or the phrase
list); the cursor passing over a row only previews it. After every action the claim mark on
each screen, the card each agent sees and the database's claims must name the same follow-up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from tests.ui.conftest import MakeApp
from tests.ui.pilot import current_customer, keys, rows, run, settle, status_text, type_text
from tui_agent.app import ConsoleApp
from tui_agent.screens.modals import MissingValuesForm
from tui_agent.widgets.customer_card import CustomerCardView
from tui_agent.widgets.due_list import DueList


def db_claims(shop: Path, agent: str) -> set[int]:
    found = rows(
        shop,
        "SELECT id FROM follow_ups WHERE status = 'pending' AND claimed_by = ?",
        [agent],
    )
    return {fid for (fid,) in found}


def marks(app: ConsoleApp) -> set[int]:
    """The rows whose claim cell says this agent holds them."""
    table = app.work_screen.query_one(DueList)
    return {fid for fid in table.order if str(table.get_cell(str(fid), "claim")) == "me"}


def assert_agree(app: ConsoleApp, shop: Path) -> None:
    """Claim mark, card and database claim are the same follow-up (or none at all)."""
    agent = app.session.agent
    screen = app.work_screen
    table = screen.query_one(DueList)
    claims = db_claims(shop, agent)
    assert len(claims) <= 1, f"{agent} holds {claims}"
    assert marks(app) == claims, f"{agent}: marks {marks(app)} but database {claims}"
    card = screen.query_one(CustomerCardView).card
    opened = screen.opened
    if opened is not None:
        # The card shows the follow-up under the cursor.
        assert table.current_id() == opened.follow_up.id
        assert card is not None and card.customer.customer_id == opened.follow_up.customer_id
    if claims:
        (held,) = claims
        assert opened is not None and opened.follow_up.id == held, f"{agent}: card not the claim"
        assert screen.claimed == held


def test_a_refresh_never_moves_or_drops_the_claim(make_app: MakeApp, shop: Path) -> None:
    """The issue's scenario: mike j j; lily logs a touch; mike's console refreshes."""

    async def body() -> None:
        lily, mike = make_app("lily"), make_app("mike")
        async with lily.run_test(size=(120, 40)) as p1, mike.run_test(size=(120, 40)) as p2:
            await settle(p1)
            await settle(p2)
            await keys(p2, "j", "j")
            target = current_customer(mike)
            assert target is not None
            # Passing over rows claims nothing: no marks flicker on lily's screen.
            assert db_claims(shop, "mike") == set()
            assert_agree(mike, shop)

            await keys(p1, "enter")  # lily logs C006: the list re-orders under mike
            mike.work_screen.load_queue()
            await settle(p2)
            assert current_customer(mike) == target
            assert_agree(mike, shop)

            # mike opens it for work (the phrase list): now it is his, on screen and on disk.
            await keys(p2, "slash")
            assert db_claims(shop, "mike") == {_fid(shop, target)}
            assert_agree(mike, shop)
            mike.work_screen.load_queue()
            await settle(p2)
            assert_agree(mike, shop)
            assert current_customer(mike) == target

            # lily walks onto mike's customer: she sees who works it and cannot copy.
            lily.work_screen.load_queue()
            await settle(p1)
            while current_customer(lily) != target:
                await keys(p1, "j")
            assert "being worked by mike" in status_text(lily)
            await keys(p1, "enter")
            assert rows(shop, "SELECT count(*) FROM touches WHERE customer_id=?", [target]) == [
                (0,)
            ]
            assert_agree(lily, shop)
            assert_agree(mike, shop)

    run(body)


def _fid(shop: Path, customer_id: str) -> int:
    ((fid,),) = rows(shop, "SELECT id FROM follow_ups WHERE customer_id = ?", [customer_id])
    return int(fid)


def test_the_copy_confirmation_stays_until_the_next_action(make_app: MakeApp, shop: Path) -> None:
    async def body() -> None:
        app = make_app("lily")
        previews: list[int] = []
        real = app.session.preview

        def counting(fid: int) -> Any:
            previews.append(fid)
            return real(fid)

        app.session.preview = counting  # type: ignore[method-assign]
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await keys(pilot, "j", "j")  # not the top row
            assert current_customer(app) == "C007"
            previews.clear()
            await keys(pilot, "enter")
            ((touch_id,),) = rows(shop, "SELECT id FROM touches WHERE customer_id='C007'")
            note = f"touch #{touch_id} logged for Emma Li"
            assert note in status_text(app)
            # The next follow-up is previewed once, not twice.
            assert len(previews) == 1, previews
            for _ in range(3):  # refreshes do not erase it
                app.work_screen.load_queue()
                await settle(pilot)
                assert note in status_text(app)
            await keys(pilot, "j")  # the agent's next action
            assert note not in status_text(app)

    run(body)


async def _act(app: ConsoleApp, pilot: Pilot[Any], action: str) -> None:
    if action == "fill":
        await type_text(pilot, "X")
        await keys(pilot, "enter")
    else:
        await keys(pilot, *action.split())


def test_a_scripted_day_of_two_agents_keeps_screens_and_database_agreeing(
    make_app: MakeApp, shop: Path
) -> None:
    script = [
        ("lily", "j"),
        ("mike", "j j"),
        ("lily", "k"),
        ("lily", "slash"),
        ("lily", "escape"),
        ("mike", "k"),
        ("mike", "enter"),
        ("lily", "j j"),
        ("mike", "e"),
        ("mike", "escape escape"),
        ("lily", "s 1"),
        ("mike", "n"),
        ("lily", "x"),
        ("lily", "escape"),
        ("lily", "n"),
        ("mike", "enter"),
        ("lily", "enter"),
        ("mike", "j"),
        ("mike", "enter"),
        ("lily", "k k"),
        ("lily", "enter"),
        ("mike", "enter"),
    ]

    async def body() -> None:
        lily, mike = make_app("lily"), make_app("mike")
        apps = {"lily": lily, "mike": mike}
        async with lily.run_test(size=(120, 40)) as p1, mike.run_test(size=(120, 40)) as p2:
            pilots = {"lily": p1, "mike": p2}
            await settle(p1)
            await settle(p2)
            for who, action in script:
                app, pilot = apps[who], pilots[who]
                await _act(app, pilot, action)
                while isinstance(app.screen, MissingValuesForm):
                    await _act(app, pilot, "fill")
                for other in ("lily", "mike"):  # the 5 s refresh
                    apps[other].work_screen.load_queue()
                    await settle(pilots[other])
                for other in ("lily", "mike"):
                    assert_agree(apps[other], shop)
                assert not (marks(lily) & marks(mike))
            for pilot in (p1, p2):  # quitting gives every claim back
                await pilot.press("q")
                await pilot.pause()
        touched = rows(shop, "SELECT follow_up_id, count(*) FROM touches GROUP BY 1")
        assert touched and all(n == 1 for _fid, n in touched)
        assert db_claims(shop, "lily") == db_claims(shop, "mike") == set()

    run(body)


def test_enter_before_the_card_has_loaded_copies_nothing_and_says_so(
    make_app: MakeApp, shop: Path
) -> None:
    """A fast j, enter: the card on screen is still the previous customer's; nothing is
    copied for either, and the status line says why until the next key."""

    async def body() -> None:
        app = make_app("lily")
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await pilot.press("j", "enter")  # no settling in between
            await settle(pilot)
            if rows(shop, "SELECT count(*) FROM touches") == [(0,)]:
                assert "still loading" in status_text(app)
            else:  # the card came first after all: the touch is for the row on screen
                ((customer,),) = rows(shop, "SELECT customer_id FROM touches")
                assert customer == "C002"
            assert_agree(app, shop)

    run(body)
