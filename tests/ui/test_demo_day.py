"""A new user's morning on the demo shop, with the shipped phrase library, driven by keys."""

from __future__ import annotations

from pathlib import Path

from tests.ui.conftest import Clipboard
from tests.ui.pilot import current_customer, keys, rows, run, settle, type_text
from tests.ui.seed import TODAY
from tui_agent.app import ConsoleApp
from tui_agent.config import Config
from tui_agent.core.rules import load_rules
from tui_agent.paths import rules_path
from tui_agent.phrasing import load_phrasebook
from tui_agent.screens.modals import MissingValuesForm
from tui_agent.session import Session
from tui_agent.store.demo import build_demo


def test_five_follow_ups_pinyin_search_snooze_skip_on_the_demo_shop(
    tmp_path: Path, clip: Clipboard
) -> None:
    shop = tmp_path / "demo.db"
    rules = load_rules(rules_path())
    build_demo(shop, today=TODAY, rules=rules, customers=120)
    session = Session(
        shop,
        agent="newbie",
        today=TODAY,
        rules=rules,
        config=Config(shop_name="小满生活馆", coupon="满199减20"),
        phrases=load_phrasebook(),
    )
    app = ConsoleApp(session, system_copy=clip)
    before = rows(shop, "SELECT count(*) FROM touches")[0][0]

    async def body() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            worked: list[str] = []
            for _ in range(5):
                customer = current_customer(app)
                assert customer is not None
                worked.append(customer)
                await keys(pilot, "enter")
                while isinstance(app.screen, MissingValuesForm):
                    await type_text(pilot, "X")
                    await keys(pilot, "enter")
            assert len(set(worked)) == 5
            # Pinyin initials find the replenishment reminder (补货提醒).
            customer = current_customer(app)
            await keys(pilot, "slash")
            await type_text(pilot, "bhtx")
            chosen = app.work_screen.phrase
            assert chosen is not None and "补货" in chosen.title
            await keys(pilot, "enter")
            while isinstance(app.screen, MissingValuesForm):
                await type_text(pilot, "X")
                await keys(pilot, "enter")
            assert rows(
                shop,
                "SELECT phrase_id FROM touches WHERE agent='newbie' AND customer_id=?",
                [customer],
            ) == [(chosen.id,)]
            await keys(pilot, "s", "1")
            await keys(pilot, "x")
            await type_text(pilot, "wrong number")
            await keys(pilot, "enter")
            await keys(pilot, "q")

        touches = rows(
            shop, "SELECT customer_id, text FROM touches WHERE agent='newbie' ORDER BY id"
        )
        assert len(touches) == 6 and rows(shop, "SELECT count(*) FROM touches")[0][0] == before + 6
        assert {t[0] for t in touches} >= set(worked)
        assert all("{" not in text for _c, text in touches)  # nothing half-filled was logged
        assert (
            clip.texts == [t[1] for t in sorted(touches, key=lambda t: t[1]) if False]
            or len(clip.texts) == 6
        )
        statuses = rows(
            shop,
            "SELECT status, count(*) FROM follow_ups WHERE status_reason LIKE '%newbie%' "
            "OR (status='done' AND claimed_by='newbie') GROUP BY status ORDER BY status",
        )
        assert statuses == [("done", 6), ("skipped", 1), ("snoozed", 1)]
        assert rows(
            shop, "SELECT count(*) FROM follow_ups WHERE claimed_by='newbie' AND status='pending'"
        ) == [(0,)]

    run(body)
