"""The console's facade on its own (no Textual): claims, context, generation."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from tests.ui.conftest import PHRASES
from tests.ui.seed import TODAY
from tui_agent.config import Config
from tui_agent.core.rules import load_rules
from tui_agent.paths import rules_path
from tui_agent.phrasing import PhraseBook
from tui_agent.session import Session
from tui_agent.store.demo import build_demo


def _session(shop: Path, agent: str) -> Session:
    return Session(
        shop,
        agent=agent,
        today=TODAY,
        rules=load_rules(rules_path()),
        config=Config(coupon="满199减20"),
        phrases=PhraseBook.from_phrases(PHRASES),
    )


def test_open_claims_one_at_a_time_and_fills_the_focus_product(tmp_path: Path) -> None:
    shop = tmp_path / "demo.db"
    build_demo(shop, today=TODAY, rules=load_rules(rules_path()), customers=120)
    lily, tom = _session(shop, "lily"), _session(shop, "tom")
    assert lily.generate() is None  # the demo already generated today
    items = lily.queue().items
    replenish = next(i for i in items if i.rule == "replenish")
    other = next(i for i in items if i.rule != "replenish")

    opened = lily.open(replenish.id)
    assert opened is not None and opened.claimed
    assert replenish.focus is not None
    assert opened.context["product"] == replenish.focus.product  # the line, not the biggest
    assert opened.context["coupon"] == "满199减20"

    held = tom.open(replenish.id)
    assert held is not None and not held.claimed and held.holder == "lily"
    refreshed = {i.id: i for i in tom.queue().items}
    assert tom.held_by_other(refreshed[replenish.id])

    # Opening another gives the first back; quitting gives the last back.
    assert lily.open(other.id) is not None
    refreshed = {i.id: i for i in tom.queue().items}
    assert refreshed[replenish.id].claimed_by is None
    assert refreshed[other.id].claimed_by == "lily"
    lily.release_held()
    assert {i.id: i for i in tom.queue().items}[other.id].claimed_by is None
    lily.close()
    tom.close()


class _Clock(datetime):
    """A clock the test moves by hand."""

    at = datetime(2026, 11, 20, 10, 0)

    @classmethod
    def now(cls, tz: object = None) -> _Clock:  # type: ignore[override]
        return cls.at  # type: ignore[return-value]


def test_a_running_console_keeps_its_claim_fresh(shop: Path) -> None:
    lily = Session(
        shop,
        agent="lily",
        today=TODAY,
        rules=load_rules(rules_path()),
        config=Config(),
        phrases=PhraseBook.from_phrases(PHRASES),
        clock=_Clock,
    )
    tom = Session(
        shop,
        agent="tom",
        today=TODAY,
        rules=load_rules(rules_path()),
        config=Config(),
        phrases=PhraseBook.from_phrases(PHRASES),
        clock=_Clock,
    )
    first = lily.queue().items[0]
    _Clock.at = datetime(2026, 11, 20, 10, 0)
    assert lily.open(first.id) is not None
    _Clock.at = datetime(2026, 11, 20, 10, 11)
    lily.queue()  # the 5-second refresh renews a claim older than a third of 30 minutes
    _Clock.at = datetime(2026, 11, 20, 10, 35)  # 35 minutes after the first claim
    held = tom.open(first.id)
    assert held is not None and not held.claimed and held.holder == "lily"
    _Clock.at = datetime(2026, 11, 20, 10, 45)  # lily's console died at 10:11: 34 minutes
    taken = tom.open(first.id)
    assert taken is not None and taken.claimed
