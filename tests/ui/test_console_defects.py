"""Issue 9's smaller console defects: each test failed before its fix."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

import pytest

from tests.ui.conftest import PHRASES, Clipboard, MakeApp
from tests.ui.pilot import current_customer, keys, rows, run, settle, status_text, type_text
from tests.ui.seed import TODAY
from tui_agent.config import Config
from tui_agent.core.models import Customer, Stage
from tui_agent.core.rules import load_rules
from tui_agent.paths import rules_path
from tui_agent.phrasing import PhraseBook, load_phrasebook, make_context, member_tier
from tui_agent.screens.modals import EditText, SkipReason
from tui_agent.session import Session
from tui_agent.store.db import connect
from tui_agent.store.followups import log_touch
from tui_agent.widgets.customer_card import CustomerCardView
from tui_agent.widgets.due_list import DueList


def test_enter_with_no_search_results_copies_nothing(
    make_app: MakeApp, shop: Path, clip: Clipboard
) -> None:
    """Defect 4: enter with zero results copied and logged the phrase previewed before."""

    async def body() -> None:
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await keys(pilot, "slash")
            await type_text(pilot, "qqqzzz")
            assert app.work_screen.query_one("#phrase-list").option_count == 0  # type: ignore[attr-defined]
            await keys(pilot, "enter")
            assert rows(shop, "SELECT count(*) FROM touches") == [(0,)]
            assert clip.texts == []
            assert "nothing copied" in status_text(app)
            # Clearing the search brings the suggestion back on top.
            for _ in "qqqzzz":
                await pilot.press("backspace")
            await settle(pilot)
            assert app.work_screen.phrase is not None
            assert app.work_screen.phrase.id == "t-care"

    run(body)


def test_an_edit_survives_a_refused_save_and_whitespace_is_kept(
    make_app: MakeApp, shop: Path, clip: Clipboard
) -> None:
    """Defect 5: a refused ctrl+s lost the edit; the logged text was stripped."""

    async def body() -> None:
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            while current_customer(app) != "C005":  # the coupon phrase: {coupon} unfilled
                await keys(pilot, "j")
            await keys(pilot, "e")
            assert isinstance(app.screen, EditText)
            await type_text(pilot, "  Hi ")
            await keys(pilot, "ctrl+s")  # refused: {coupon} is still there
            assert isinstance(app.screen, EditText)
            assert "still unfilled: coupon" in str(app.screen.query_one("#edit-error").render())
            assert rows(shop, "SELECT count(*) FROM touches") == [(0,)]
            await keys(pilot, "escape", "e")  # the edit is still there
            assert isinstance(app.screen, EditText)
            area = app.screen.query_one("#edit-text")
            assert area.text.startswith("  Hi 刘洋")  # type: ignore[attr-defined]
            area.text = "  Hi, {coupon} is gone \n"  # type: ignore[attr-defined]
            area.text = area.text.replace("{coupon}", "VIP20")  # type: ignore[attr-defined]
            await keys(pilot, "ctrl+s")
            ((text,),) = rows(shop, "SELECT text FROM touches WHERE customer_id='C005'")
            assert text == "  Hi, VIP20 is gone \n"  # exactly the edited text
            assert clip.texts == [text]

    run(body)


def test_a_revealed_phone_is_hidden_again_for_the_next_customer(make_app: MakeApp) -> None:
    """Defect 11: p stayed on for the next customers."""

    async def body() -> None:
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            card = app.work_screen.query_one(CustomerCardView)
            await keys(pilot, "p")
            assert card.show_phone
            await keys(pilot, "j")
            assert not card.show_phone

    run(body)


def test_skip_presets_on_number_keys_and_empty_enter_says_why(
    make_app: MakeApp, shop: Path
) -> None:
    async def body() -> None:
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await keys(pilot, "x", "enter")
            assert isinstance(app.screen, SkipReason)
            assert "Nothing skipped" in str(app.screen.query_one("#skip-error").render())
            await keys(pilot, "2")
            preset = Config().skip_presets[1]
            assert rows(shop, "SELECT status_reason FROM follow_ups WHERE customer_id='C006'")[0][
                0
            ].endswith(preset)

    run(body)


@pytest.mark.parametrize("tier", ["金卡", "金卡会员"])
def test_shipped_phrases_never_double_the_tier(tier: str) -> None:
    """Defect 7: 金卡会员 gave 金卡会员会员."""
    book = load_phrasebook()
    ctx = make_context(
        Customer("C1", "王", tier=tier, points=10),
        None,
        today=date(2026, 11, 20),
        shop_name="小满",
        agent_name="小满",
        coupon="券",
    )
    filled = [book.fill(m.phrase, ctx, {}, "zh") for m in book.search("", limit=1000)]
    texts = [f.text for f in filled]
    assert texts and not [t for t in texts if "会员会员" in t]
    assert any("金卡会员" in t for t in texts)
    assert member_tier("Gold") == "Gold" and member_tier(None) is None


def test_agent_name_is_the_configured_display_name(shop: Path) -> None:
    session = Session(
        shop,
        agent="root",
        today=TODAY,
        rules=load_rules(rules_path()),
        config=Config(display_name="小满"),
        phrases=PhraseBook.from_phrases(PHRASES),
    )
    fid = session.queue().items[0].id
    opened = session.preview(fid)
    assert opened is not None and opened.context["agent_name"] == "小满"
    assert Config().display_name is None
    session.close()


def test_below_80x24_the_console_says_so_and_copies_nothing(
    make_app: MakeApp, shop: Path, clip: Clipboard
) -> None:
    """Defect 10: at 60x18 the preview vanished while enter still copied."""

    async def body() -> None:
        app = make_app()
        async with app.run_test(size=(60, 18)) as pilot:
            await settle(pilot)
            too_small = app.work_screen.query_one("#too-small")
            assert too_small.display and "Terminal too small" in str(too_small.render())
            await keys(pilot, "enter")
            assert rows(shop, "SELECT count(*) FROM touches") == [(0,)] and clip.texts == []
            await pilot.resize_terminal(80, 24)
            await settle(pilot)
            assert not too_small.display
            assert app.work_screen.query_one("#preview").display

    run(body)


def test_the_list_keeps_the_current_row_in_view_at_80x24(make_app: MakeApp) -> None:
    async def body() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            table = app.work_screen.query_one(DueList)
            assert table.size.height - 1 >= 4  # at least four rows below the header
            for _ in range(6):
                await keys(pilot, "j")
                region = table.scrollable_content_region
                row_y = table.cursor_row + 1 - int(table.scroll_y)  # +1: the header row
                assert 1 <= row_y < region.height, (table.cursor_row, table.scroll_y)

    run(body)


def test_the_suggestion_fits_stage_rule_tags_and_category() -> None:
    book = load_phrasebook()
    baby = book.suggest(Stage.REPURCHASE, ["replenish"], "zh", "mother_baby")
    assert baby is not None and baby.id == "replenish-baby"
    food = book.suggest(Stage.REPURCHASE, ["replenish"], "zh", "食品")
    assert food is not None and food.id == "replenish-food"
    shirt = book.suggest(Stage.SATISFACTION, ["satisfaction", "usage"], "zh", "clothing")
    assert shirt is not None and "clothing" in shirt.tags  # not a skin-care usage tip
    for category in ("clothing", "electronics", None):
        picked = book.suggest(Stage.REPURCHASE, ["replenish"], "zh", category)
        assert picked is not None
        assert not ({"food", "baby", "beauty"} & set(picked.tags))


def test_a_follow_up_over_the_cap_says_why_and_offers_skip_or_snooze(
    make_app: MakeApp, shop: Path
) -> None:
    """Issue 10 item 4: a manual touch earlier today; working the follow-up now breaks the cap."""
    db = connect(shop)
    log_touch(
        db,
        agent="mike",
        customer_id="C006",
        text="你好",
        now=datetime.combine(TODAY, time(0, 0, 1)),
    )
    db.conn.close()

    async def body() -> None:
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            assert current_customer(app) == "C006"
            assert "cap: 1 touch(es) in the last 24 h" in status_text(app)
            assert "x skip · s snooze" in status_text(app)
            await keys(pilot, "j")
            assert "cap:" not in status_text(app)

    run(body)


def test_help_lists_tab_ctrl_p_and_every_screen_binding(make_app: MakeApp) -> None:
    """Defect 11: `?` omitted Tab and ctrl+p."""
    import io

    from rich.console import Console

    from tui_agent.screens.customer import CustomerScreen
    from tui_agent.screens.help import bindings_table
    from tui_agent.screens.work_queue import WorkQueueScreen

    app = make_app()
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(bindings_table(app.binding_groups(), {}))
    text = console.export_text()
    assert "tab, shift+tab" in text and "ctrl+p" in text
    for screen in (WorkQueueScreen, CustomerScreen):
        for b in screen.BINDINGS:
            assert getattr(b, "id", None) and b.id in text  # type: ignore[union-attr]
