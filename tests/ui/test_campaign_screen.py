"""The campaigns screen: list with progress, open one, work its queue by keys."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Static
from textual.worker import WorkerCancelled

from tests.ui import pilot as p
from tests.ui.conftest import MakeApp
from tests.ui.pilot import rows, run
from tests.ui.seed import TODAY, build_shop
from tui_agent.core import campaigns as cc
from tui_agent.core.rules import load_rules
from tui_agent.paths import rules_path
from tui_agent.screens.campaigns import CampaignQueueScreen, CampaignsScreen
from tui_agent.screens.stats import StatsScreen
from tui_agent.store import campaigns as sc
from tui_agent.store.db import connect


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """The seeded shop before the day's generation: with every customer's lifecycle
    follow-up due today the cap would hold the whole campaign back (tested in the store)."""
    return build_shop(tmp_path / "shop.db", generated=False)


def _campaign(shop: Path) -> None:
    db = connect(shop)
    try:
        c = cc.Campaign(
            0, "回购周", "t-review", cc.Audience(min_orders=1), 0.0, "s", TODAY, 2, "active"
        )
        sc.create(
            db, c, TODAY, load_rules(rules_path()), now=datetime.combine(TODAY, datetime.min.time())
        )
    finally:
        db.conn.close()


async def settle(pilot: Pilot[Any]) -> None:
    """``pilot.settle``, again when a refresh timer replaced an exclusive worker meanwhile
    (two work screens, each refreshing every 5 s, on a loaded machine)."""
    for _ in range(5):
        try:
            await p.settle(pilot)
            return
        except WorkerCancelled:
            continue


async def keys(pilot: Pilot[Any], *pressed: str) -> None:
    for key in pressed:
        await pilot.press(key)
        await settle(pilot)


def test_open_a_campaign_and_work_two_members(make_app: MakeApp, shop: Path) -> None:
    _campaign(shop)
    scheduled = rows(shop, "SELECT customer_id FROM campaign_members WHERE state='scheduled'")
    assert len(scheduled) == 2

    async def body() -> None:
        app = make_app()
        async with app.run_test(size=(120, 36)) as pilot:
            await settle(pilot)
            await keys(pilot, "m")
            screen = app.screen
            assert isinstance(screen, CampaignsScreen)
            assert list(screen.names.values()) == ["回购周"]
            await keys(pilot, "enter")
            queue = app.screen
            assert isinstance(queue, CampaignQueueScreen)
            await settle(pilot)
            assert queue.opened is not None and queue.opened.follow_up.stage.value == "campaign"
            assert queue.phrase is not None and queue.phrase.id == "t-review"  # pre-selected
            await keys(pilot, "enter")
            await settle(pilot)
            assert queue.opened is not None and queue.phrase is not None
            assert queue.phrase.id == "t-review"
            await keys(pilot, "enter")
            await settle(pilot)
            await keys(pilot, "escape")
            assert isinstance(app.screen, CampaignsScreen)
            await keys(pilot, "escape", "d")
            assert isinstance(app.screen, StatsScreen)
            await settle(pilot)
            table = app.screen.query_one("#stats-campaigns", Static).content
            console = Console(width=120, record=True)
            console.print(table)
            text = console.export_text()
            assert "回购周" in text and "2/7" in text

    run(body)
    touched = rows(
        shop,
        "SELECT customer_id, stage, phrase_id FROM touches WHERE stage = 'campaign' ORDER BY id",
    )
    assert sorted(t[0] for t in touched) == sorted(s[0] for s in scheduled)
    assert {t[2] for t in touched} == {"t-review"}
    db = connect(shop)
    try:
        assert sc.member_counts(db, "回购周")["done"] == 2
    finally:
        db.conn.close()
