"""Queue filters: stage, rule, segment, tag, overdue, mine (and the default keeps everything)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlite_utils

from tests.helpers import add_customer, add_order
from tui_agent.core.models import Stage
from tui_agent.core.queue_filter import QueueFilter, parse_segment
from tui_agent.core.segments import Segment
from tui_agent.store import analytics
from tui_agent.store import followups as fu
from tui_agent.store import outcomes as oc
from tui_agent.store.db import write_tx

TODAY = date(2026, 11, 29)
NOW = datetime(2026, 11, 29, 9, 0, 0)


@pytest.fixture
def shop(db: sqlite_utils.Database) -> sqlite_utils.Database:
    with write_tx(db):
        add_customer(db, "A", name="甲", tags="VIP,敏感肌")
        add_customer(db, "B", name="乙", tags="VIPS")
        add_customer(db, "C", name="丙")
        add_order(db, "OA", "A", "2026-11-20 10:00:00", "2026-11-22 10:00:00", 500)
        add_order(db, "OB", "B", "2025-01-20 10:00:00", "2025-01-22 10:00:00", 50)
        rows = [
            # id, customer, stage, rule, tags, due
            (1, "A", "satisfaction", "check+3", "", "2026-11-29"),
            (2, "B", "repurchase", "replenish", "replenish", "2026-11-27"),
            (3, "C", "upkeep", "care+15", "related,VIP", "2026-11-29"),
            (4, "C", "repurchase", "winback", "", "2026-11-30"),  # not due yet
        ]
        for fid, cid, stage, rule, tags, due in rows:
            db.execute(
                "INSERT INTO follow_ups (id, customer_id, stage, rule, suggested_tags, due_date, "
                "created_at, updated_at) VALUES (?,?,?,?,?,?,'x','x')",
                [fid, cid, stage, rule, tags, due],
            )
        db.execute(
            "INSERT INTO follow_up_reasons (key, follow_up_id, rule, text) "
            "VALUES ('k1', 1, 'check+3', 'x'), ('k2', 1, 'birthday', 'y')"
        )
    return db


def ids(db: sqlite_utils.Database, **kw: object) -> list[int]:
    return sorted(f.id for f in fu.due_queue(db, TODAY, where=QueueFilter(**kw)))  # type: ignore[arg-type]


def test_no_filter_keeps_the_default_queue(shop: sqlite_utils.Database) -> None:
    plain = [f.id for f in fu.due_queue(shop, TODAY)]
    assert plain == [f.id for f in fu.due_queue(shop, TODAY, where=QueueFilter())]
    assert plain == [2, 1, 3]  # overdue first, then by value
    assert QueueFilter().empty and QueueFilter().describe() == "all"


def test_stage_rule_and_overdue(shop: sqlite_utils.Database) -> None:
    assert ids(shop, stage=Stage.REPURCHASE) == [2]
    assert ids(shop, rule="check+3") == [1]
    assert ids(shop, rule="birthday") == [1]  # a merged reason's rule counts
    assert ids(shop, rule="nope") == []
    assert ids(shop, overdue=True) == [2]
    assert ids(shop, stage=Stage.UPKEEP, overdue=True) == []


def test_tag_matches_whole_tags_of_customer_or_follow_up(shop: sqlite_utils.Database) -> None:
    assert ids(shop, tag="VIP") == [1, 3]  # A's own tag, C's follow-up tag; not B's "VIPS"
    assert ids(shop, tag="敏感肌") == [1]
    assert ids(shop, tag="replenish") == [2]
    assert ids(shop, tag="VI") == []


def test_mine_is_claimed_by_me_or_my_customers(shop: sqlite_utils.Database) -> None:
    assert ids(shop, mine="lily") == []
    assert fu.claim(shop, 3, "lily", now=NOW)
    touch = fu.log_touch(shop, agent="lily", customer_id="B", text="t", now=NOW)
    assert ids(shop, mine="lily") == [2, 3]
    assert ids(shop, mine="mike") == []
    oc.undo_last_touch(shop, "lily", now=NOW)  # a retracted touch does not make B mine
    assert ids(shop, mine="lily") == [3]
    assert touch > 0


def test_segment_filter_uses_the_rfm_segments(shop: sqlite_utils.Database) -> None:
    segments = analytics.segments_for(shop, ["A", "B", "C"], TODAY)
    assert "C" not in segments  # no orders: no segment
    seg_a = Segment(segments["A"])
    assert ids(shop, segment=seg_a) == [1]
    assert 2 in ids(shop, segment=Segment(segments["B"]))
    other = next(s for s in Segment if s.value not in segments.values())
    assert ids(shop, segment=other) == []
    limited = fu.due_queue(shop, TODAY, limit=1, where=QueueFilter(segment=seg_a))
    assert [f.id for f in limited] == [1]


def test_parse_segment_accepts_value_label_and_chinese() -> None:
    assert parse_segment("at_risk") is Segment.AT_RISK
    assert parse_segment("At Risk") is Segment.AT_RISK
    assert parse_segment(Segment.LOYAL.label_zh) is Segment.LOYAL
    with pytest.raises(ValueError, match="not a segment"):
        parse_segment("vip")


def test_describe_names_each_filter() -> None:
    flt = QueueFilter(stage=Stage.LOYALTY, tag="VIP", overdue=True, mine="lily")
    assert flt.describe() == "stage=loyalty tag=VIP overdue mine=lily"
