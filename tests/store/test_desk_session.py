"""The customer desk through the console's facade (Session), without Textual."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
import sqlite_utils

from tests.helpers import add_customer, add_order
from tui_agent.config import Config
from tui_agent.core.customer_page import Outcome
from tui_agent.core.models import Stage
from tui_agent.core.queue_filter import QueueFilter
from tui_agent.core.rules import load_rules
from tui_agent.paths import rules_path
from tui_agent.phrasing import PhraseBook
from tui_agent.session import CapBlocked, Session
from tui_agent.store import followups as fu
from tui_agent.store.db import write_tx
from tui_agent.store.outcomes import DeskError, UndoRefused

TODAY = date(2026, 11, 29)


class FrozenClock(datetime):
    """The session's clock: always 10:00."""

    @classmethod
    def now(cls, tz: object = None) -> FrozenClock:
        return cls(2026, 11, 29, 10, 0, 0)


@pytest.fixture
def shop(db: sqlite_utils.Database, db_path: Path) -> Path:
    with write_tx(db):
        add_customer(db, "C1", name="王芳", phone="13812345678", tier="金卡会员")
        add_customer(db, "C2", name="李强", phone="13900001111", opt_out=1)
        add_order(db, "O1", "C1", "2026-11-01 10:00:00", "2026-11-03 10:00:00",
                  lines=[("S1", "玻尿酸精华", "beauty")])  # fmt: skip
        db.execute(
            "INSERT INTO follow_ups (id, customer_id, stage, rule, due_date, created_at, "
            "updated_at) VALUES (5, 'C1', 'satisfaction', 'check+3', '2026-11-29', 'x', 'x')"
        )
    return db_path


def session(shop: Path, agent: str = "lily", **config: object) -> Session:
    return Session(
        shop,
        agent=agent,
        today=TODAY,
        rules=load_rules(rules_path()),
        config=Config(display_name="小满", **config),  # type: ignore[arg-type]
        phrases=PhraseBook.from_phrases(()),
        clock=FrozenClock,
    )


def test_find_page_and_context(shop: Path) -> None:
    s = session(shop)
    (hit,) = s.find("5678")
    assert hit.customer_id == "C1" and hit.matched == "phone_tail"
    page = s.customer_page("C1")
    assert page is not None and page.segment is not None
    assert [f.id for f in page.follow_ups] == [5]
    assert s.customer_page("C1", with_segment=False).segment is None  # type: ignore[union-attr]
    assert s.customer_page("nope") is None
    context = s.customer_context("C1")
    assert context["name"] == "王芳" and context["agent_name"] == "小满"
    assert context["product"] == "玻尿酸精华"


def test_reply_is_logged_past_the_cap_proactive_is_blocked(shop: Path) -> None:
    s = session(shop)
    first = s.touch_customer("C1", "您好", None, reply=False)
    assert s.cap_status("C1").blocked  # one proactive touch today: the 24 h cap is reached
    with pytest.raises(CapBlocked, match="not logged: cap: 1 touch"):
        s.touch_customer("C1", "again", None, reply=False)
    assert s.cap_status("C1", reply=True).level == "warn"
    reply = s.touch_customer("C1", "回复您的问题", "faq", reply=True)
    assert reply > first
    page = s.customer_page("C1", with_segment=False)
    assert page is not None and [r.reply for r in page.touches] == [True, False]
    # opted out: a reply is allowed (with a warning), a proactive touch is not
    with pytest.raises(CapBlocked, match="opted out"):
        s.touch_customer("C2", "hi", None, reply=False)
    assert s.touch_customer("C2", "answering you", None, reply=True) > 0
    with pytest.raises(DeskError):
        s.cap_status("nope")


def test_touch_customer_can_close_an_open_follow_up(shop: Path) -> None:
    s = session(shop)
    s.touch_customer("C1", "您好", "p1", reply=True, follow_up_id=5, stage="satisfaction")
    assert fu.get_follow_up(s._db, 5).status.value == "done"  # type: ignore[union-attr]
    assert session(shop, "mike").work(5)[0] is False  # done: nothing left to claim


def test_outcome_undo_and_opt_in_through_the_session(shop: Path) -> None:
    s = session(shop)
    tid = s.touch_customer("C1", "您好", None, reply=False, follow_up_id=5)
    event = s.record_outcome(tid, Outcome.SATISFIED, note="好用")
    assert event.agent == "lily" and event.value == "satisfied"
    with pytest.raises(UndoRefused, match="not yours"):
        session(shop, "mike").undo_last_touch(tid)
    undone = s.undo_last_touch(reason="发错了")
    assert undone.touch_id == tid and undone.reopened
    assert [i.id for i in s.queue().items] == [5]
    assert not s.cap_status("C1").blocked  # the retracted touch no longer counts
    with pytest.raises(DeskError, match="retracted"):
        s.record_outcome(tid, "replied")
    assert s.opt_in("C2", "客户要求恢复").kind.value == "opt_in"
    assert s.opt_out_customer("C1", "不要再联系") == 1


def test_undo_window_comes_from_the_config(shop: Path, db: sqlite_utils.Database) -> None:
    db.execute(
        "INSERT INTO touches (agent, customer_id, text, at) "
        "VALUES ('lily', 'C1', 't', '2026-11-29 09:45:00')"
    )
    with pytest.raises(UndoRefused, match="15 min ago; only touches of the last 10 min"):
        session(shop).undo_last_touch()
    assert session(shop, undo_minutes=20).undo_last_touch().touch_id == 1


def test_filtered_queue(shop: Path) -> None:
    s = session(shop)
    assert [i.id for i in s.queue_where(QueueFilter(stage=Stage.SATISFACTION)).items] == [5]
    assert s.queue_where(QueueFilter(stage=Stage.LOYALTY)).items == ()


def test_prepare_search_fills_the_pinyin_once(shop: Path) -> None:
    s = session(shop)
    assert s.prepare_search() == 2
    assert s.prepare_search() == 0
    assert [h.customer_id for h in s.find("lq")] == ["C2"]
