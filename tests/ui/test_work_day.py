"""Work a whole day by keys on a temporary shop; assert on the database and the clipboard."""

from __future__ import annotations

from pathlib import Path

from tests.ui.conftest import Clipboard, MakeApp
from tests.ui.pilot import current_customer, keys, rows, run, settle, status_text, type_text
from tests.ui.seed import build_shop


def follow_up(shop: Path, customer_id: str) -> tuple[str, str | None, str | None]:
    found = rows(
        shop,
        "SELECT status, status_reason, claimed_by FROM follow_ups WHERE customer_id = ?",
        [customer_id],
    )
    assert len(found) == 1
    return found[0]


def touches(shop: Path, customer_id: str) -> list[tuple[str, str, str | None, str, str]]:
    return rows(
        shop,
        "SELECT agent, text, phrase_id, stage, channel FROM touches WHERE customer_id = ?",
        [customer_id],
    )


def test_work_the_whole_day_by_keys(make_app: MakeApp, shop: Path, clip: Clipboard) -> None:
    async def body() -> None:
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            # The first follow-up is previewed; nothing is claimed before work starts.
            assert current_customer(app) == "C006"
            assert follow_up(shop, "C006") == ("pending", None, None)

            # enter: the suggested phrase is copied and logged, the next one comes up.
            await keys(pilot, "enter")
            (touch,) = touches(shop, "C006")
            assert touch[0] == "lily" and touch[2] == "t-care" and touch[3] == "loyalty"
            assert touch[1].startswith("赵敏您好，") and touch[1].endswith("—小满生活馆")
            assert clip.texts == [touch[1]] and app.clipboard == touch[1]
            assert follow_up(shop, "C006")[0] == "done"
            assert "copied to the system clipboard; also sent to the terminal via OSC 52" in (
                status_text(app)
            )
            assert "touch #" in status_text(app)
            assert current_customer(app) == "C002"

            # s 3: snooze three days.
            await keys(pilot, "s", "3")
            assert rows(
                shop, "SELECT status, snoozed_until FROM follow_ups WHERE customer_id='C002'"
            ) == [("snoozed", "2026-11-23")]
            assert touches(shop, "C002") == []
            assert current_customer(app) == "C007"

            # x: skip with a reason typed in the dialog.
            await keys(pilot, "x")
            await type_text(pilot, "chatted")
            await keys(pilot, "enter")
            status, reason, _ = follow_up(shop, "C007")
            assert status == "skipped" and reason is not None and reason.endswith("chatted")
            assert current_customer(app) == "C005"

            # The coupon phrase needs {coupon}, which this shop has not configured: asked for.
            await keys(pilot, "enter")
            assert app.screen.id is None or "missing" in str(app.screen.query("#missing-form"))
            assert touches(shop, "C005") == []  # nothing logged while a value is missing
            await type_text(pilot, "VIP20")
            await keys(pilot, "enter")
            # See before copying: the form fills the preview; the next enter copies.
            assert touches(shop, "C005") == []
            assert "VIP20" in str(app.work_screen.query_one("#preview").render())
            assert follow_up(shop, "C005")[2] == "lily"  # held while the agent works it
            await keys(pilot, "enter")
            (touch,) = touches(shop, "C005")
            assert "VIP20" in touch[1] and "{" not in touch[1] and touch[2] == "t-coupon"
            assert clip.texts[-1] == touch[1]

            # /: search another phrase; enter copies the highlighted match.
            assert current_customer(app) == "C004"
            await keys(pilot, "slash")
            await type_text(pilot, "评价")
            await keys(pilot, "enter")
            (touch,) = touches(shop, "C004")
            assert touch[2] == "t-review" and touch[1].startswith("陈静，")

            # e: edit before copying; the exact edited text is what is logged.
            assert current_customer(app) == "C003"
            await keys(pilot, "e")
            await type_text(pilot, "Hi! ")
            await keys(pilot, "ctrl+s")
            (touch,) = touches(shop, "C003")
            assert touch[1].startswith("Hi! 张伟") and touch[4] == "clipboard-edited"
            assert clip.texts[-1] == touch[1]

            # o y: opt the customer out (asks to confirm).
            assert current_customer(app) == "C001"
            await keys(pilot, "o", "n")
            assert follow_up(shop, "C001")[0] == "pending"  # n cancelled the dialog
            await keys(pilot, "o", "y")
            assert follow_up(shop, "C001")[0] == "cancelled"
            assert rows(shop, "SELECT opt_out FROM customers WHERE customer_id='C001'") == [(1,)]

            assert current_customer(app) is None
            assert "Nothing left" in status_text(app)
            assert (
                app.work_screen.sub_title == "今日 worked 7/7 · left 0"
            )  # the opt-out counts as worked
            # No claim is left behind, and every touch has exactly one follow-up.
            assert rows(
                shop,
                "SELECT count(*) FROM follow_ups WHERE claimed_by IS NOT NULL AND status='pending'",
            ) == [(0,)]
            assert rows(shop, "SELECT count(*), count(DISTINCT follow_up_id) FROM touches") == [
                (4, 4)
            ]

    run(body)


def test_quit_releases_the_claim(make_app: MakeApp, shop: Path) -> None:
    async def body() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await keys(pilot, "slash", "escape")  # open it for work: claimed
            assert follow_up(shop, "C006")[2] == "lily"
            await pilot.press("q")
            await pilot.pause()
        assert follow_up(shop, "C006") == ("pending", None, None)

    run(body)


def test_the_claim_follows_work_not_the_cursor_and_help_and_stats_open(
    make_app: MakeApp, shop: Path
) -> None:
    async def body() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await keys(pilot, "slash", "escape", "n")
            assert current_customer(app) == "C002"
            assert follow_up(shop, "C006")[2] is None  # moving on gives the claim back
            assert follow_up(shop, "C002")[2] is None  # and the cursor alone claims nothing
            await keys(pilot, "x")  # opening the skip dialog is work: claimed
            assert follow_up(shop, "C002")[2] == "lily"
            await keys(pilot, "escape", "j")
            assert current_customer(app) == "C007"
            assert follow_up(shop, "C002")[2] is None
            await keys(pilot, "question_mark")
            assert type(app.screen).__name__ == "HelpScreen"
            await keys(pilot, "escape", "d")
            assert type(app.screen).__name__ == "StatsScreen"
            await keys(pilot, "escape")
            assert app.screen is app.work_screen

    run(body)


def test_the_console_generates_the_day_when_nobody_has(make_app: MakeApp, shop: Path) -> None:
    shop.unlink()
    build_shop(shop, generated=False)
    assert rows(shop, "SELECT count(*) FROM follow_ups") == [(0,)]

    async def body() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert rows(shop, "SELECT count(*) FROM follow_ups WHERE status='pending'") == [(7,)]
            assert current_customer(app) == "C006"
            assert app.work_screen.sub_title == "今日 worked 0/7 · left 7"

    run(body)


def test_stats_screen_charts_count_the_touches(make_app: MakeApp, shop: Path) -> None:
    async def body() -> None:
        from textual.widgets import Sparkline

        app = make_app()
        async with app.run_test(size=(100, 40)) as pilot:
            await settle(pilot)
            await keys(pilot, "enter")  # one touch logged today
            await keys(pilot, "d")
            for _ in range(40):
                await settle(pilot)
                chart = app.screen.query_one("#touches-chart", Sparkline)
                if chart.data:
                    break
            logged = rows(shop, "SELECT count(*) FROM touches")[0][0]
            assert logged >= 1
            assert sum(chart.data or []) == logged  # every touch falls in the last 30 days

    run(body)
