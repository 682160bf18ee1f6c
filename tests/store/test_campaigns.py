"""Campaigns on a real SQLite file: audience filters, holdout, pacing, cap, opt-out, report."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest
import sqlite_utils

from tests.helpers import add_customer, add_order
from tui_agent.core import campaigns as cc
from tui_agent.core.intervals import newcombe_diff, wilson
from tui_agent.core.rules import RuleSet, load_rules
from tui_agent.paths import rules_path
from tui_agent.store import analytics
from tui_agent.store import campaigns as sc
from tui_agent.store import followups as fu

RULES: RuleSet = load_rules(rules_path())
D = date(2026, 11, 22)
NOW = datetime(2026, 11, 22, 9, 0, 0)


def campaign(name: str = "spring", **kw: object) -> cc.Campaign:
    base = cc.Campaign(
        id=0,
        name=name,
        phrase_id="coupon-returning",
        audience=cc.Audience(min_orders=1),
        holdout_pct=0.0,
        seed="s",
        start=D,
        per_day=None,
        status="active",
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def ids(rows: list[sc.AudienceMember]) -> set[str]:
    return {r.customer_id for r in rows}


@pytest.fixture
def shop(db: sqlite_utils.Database) -> sqlite_utils.Database:
    """Five customers that differ in one filter each."""
    add_customer(db, "a", tags="vip,skin", tier="gold")
    add_customer(db, "b", tags="skin", tier="silver")
    add_customer(db, "c", tags="vipx", tier="gold")  # "vip" must not match "vipx"
    add_customer(db, "d")
    add_customer(db, "e", opt_out=1, tags="vip")
    add_order(db, "o1", "a", "2026-09-01 10:00:00", None, 300, lines=[("s1", "面膜", "美妆")])
    add_order(db, "o2", "a", "2026-10-20 10:00:00", None, 200, seq=2)
    add_order(db, "o3", "b", "2026-06-01 10:00:00", None, 50, lines=[("s2", "燕麦", "食品")])
    add_order(db, "o4", "c", "2026-11-01 10:00:00", None, 80)
    add_order(db, "o5", "e", "2026-10-01 10:00:00", None, 90, lines=[("s3", "乳液", "美妆")])
    # d never ordered
    return db


@pytest.mark.parametrize(
    ("audience", "expected"),
    [
        (cc.Audience(tags=("vip",)), {"a", "e"}),
        (cc.Audience(tags=("vip", "skin")), {"a"}),
        (cc.Audience(tier="gold"), {"a", "c"}),
        (cc.Audience(category="美妆"), {"a", "e"}),
        (cc.Audience(last_order_before=date(2026, 10, 20)), {"b", "e"}),
        (cc.Audience(last_order_after=date(2026, 10, 20)), {"a", "c"}),
        (cc.Audience(min_orders=2), {"a"}),
        (cc.Audience(customer_ids=("b", "d", "zz")), {"b", "d"}),
        (cc.Audience(tier="gold", last_order_after=date(2026, 10, 25)), {"c"}),  # AND
        (cc.Audience(tags=("vip",), category="美妆", min_orders=2), {"a"}),
    ],
)
def test_every_filter(
    shop: sqlite_utils.Database, audience: cc.Audience, expected: set[str]
) -> None:
    assert ids(sc.select_audience(shop, audience, D)) == expected


def test_segment_filter_uses_the_shops_segments(shop: sqlite_utils.Database) -> None:
    segs = analytics.segments_for(shop, ["a", "b", "c", "d", "e"], D)
    for value in set(segs.values()):
        got = ids(sc.select_audience(shop, cc.Audience(segment=value), D))
        assert got == {cid for cid, s in segs.items() if s == value}
    assert "d" not in segs  # no orders, no segment: in no segment audience


def test_category_from_the_product_table(shop: sqlite_utils.Database) -> None:
    shop.execute("INSERT INTO products (sku, name, category) VALUES ('s9', '奶粉', '母婴')")
    add_order(shop, "o9", "d", "2026-11-02 10:00:00", None, 10, lines=[("s9", "奶粉", None)])
    assert ids(sc.select_audience(shop, cc.Audience(category="母婴"), D)) == {"d"}


def test_holdout_is_reproducible_and_stable_as_the_audience_grows(
    db: sqlite_utils.Database,
) -> None:
    for i in range(400):
        add_customer(db, f"k{i:03}")
        add_order(db, f"ok{i}", f"k{i:03}", "2026-10-01 10:00:00", None, 10 + i)
    c = campaign(holdout_pct=25.0, seed="seed-1")
    sc.create(db, c, D, RULES, now=NOW)
    groups = dict(db.execute("SELECT customer_id, grp FROM campaign_members").fetchall())
    held = {k for k, g in groups.items() if g == "holdout"}
    # 25% of 400 = 100; binomial sd 8.7: the draw is fixed by the seed, so this is exact
    assert 70 <= len(held) <= 130
    assert held == {k for k in groups if cc.in_holdout("seed-1", k, 25.0)}
    # the audience grows: old members keep their group, newcomers are drawn the same way
    for i in range(400, 500):
        add_customer(db, f"k{i:03}")
        add_order(db, f"ok{i}", f"k{i:03}", "2026-10-01 10:00:00", None, 1)
    merged = sc.create(db, c, D, RULES, now=NOW)
    assert (merged.added, merged.existing) == (100, 400)
    after = dict(db.execute("SELECT customer_id, grp FROM campaign_members").fetchall())
    assert {k: after[k] for k in groups} == groups
    # another seed draws another group
    assert held != {k for k in groups if cc.in_holdout("seed-2", k, 25.0)}


def test_holdout_never_contacted(db: sqlite_utils.Database) -> None:
    for i in range(60):
        add_customer(db, f"h{i}")
        add_order(db, f"oh{i}", f"h{i}", "2026-10-01 10:00:00", None, 10)
    sc.create(db, campaign(holdout_pct=50.0), D, RULES, now=NOW)
    held = [
        r[0] for r in db.execute("SELECT customer_id FROM campaign_members WHERE grp='holdout'")
    ]
    assert held
    marks = ",".join("?" * len(held))
    assert (
        db.execute(
            f"SELECT count(*) FROM follow_ups WHERE customer_id IN ({marks})", held
        ).fetchone()[0]
        == 0
    )
    for day in range(5):  # later days never schedule them either
        sc.schedule_campaigns(db, D + timedelta(days=day), RULES)
    assert (
        db.execute(
            f"SELECT count(*) FROM follow_ups WHERE customer_id IN ({marks})", held
        ).fetchone()[0]
        == 0
    )


def test_opt_out_is_never_scheduled_and_counts(shop: sqlite_utils.Database) -> None:
    sc.create(shop, campaign(audience=cc.Audience(tags=("vip",))), D, RULES, now=NOW)
    fus = dict(shop.execute("SELECT customer_id, stage FROM follow_ups").fetchall())
    assert fus == {"a": "campaign"}
    counts = sc.member_counts(shop, "spring")
    assert (counts["members"], counts["opted_out"], counts["scheduled"]) == (2, 1, 1)
    # a customer who opts out later: the open follow-up is cancelled, the count follows
    fu.opt_out(shop, "a", "lily", now=NOW)
    counts = sc.member_counts(shop, "spring")
    assert (counts["opted_out"], counts["scheduled"], counts["done"]) == (2, 0, 0)


def test_cap_waits_with_reason_and_is_retried(shop: sqlite_utils.Database) -> None:
    # a was touched yesterday: over the 24 h cap today, fine two days later
    fu.log_touch(shop, agent="amy", customer_id="a", text="hi", now=NOW - timedelta(hours=10))
    sc.create(shop, campaign(audience=cc.Audience(tier="gold")), D, RULES, now=NOW)
    rows = dict(shop.execute("SELECT customer_id, state FROM campaign_members").fetchall())
    assert rows == {"a": "capped", "c": "scheduled"}
    reason = shop.execute("SELECT reason FROM campaign_members WHERE customer_id='a'").fetchone()[0]
    assert reason.startswith("cap: 1 touch(es) in the last 24 h")
    assert sc.member_counts(shop, "spring")["capped"] == 1
    assert sc.schedule_campaigns(shop, D, RULES) == 0  # still capped today
    assert sc.schedule_campaigns(shop, D + timedelta(days=2), RULES) == 1  # retried, not dropped
    assert shop.execute("SELECT state FROM campaign_members WHERE customer_id='a'").fetchone() == (
        "scheduled",
    )


def test_another_follow_up_due_today_makes_the_campaign_wait(shop: sqlite_utils.Database) -> None:
    shop.execute(
        "INSERT INTO follow_ups (customer_id, stage, rule, due_date, created_at, updated_at) "
        "VALUES ('c', 'loyalty', 'vip', ?, 'x', 'x')",
        [D.isoformat()],
    )
    sc.create(shop, campaign(audience=cc.Audience(tier="gold")), D, RULES, now=NOW)
    state, reason = shop.execute(
        "SELECT state, reason FROM campaign_members WHERE customer_id='c'"
    ).fetchone()
    assert (state, reason) == ("capped", "cap: another follow-up is due today")


def test_per_day_pacing_is_idempotent_within_a_day(db: sqlite_utils.Database) -> None:
    for i in range(10):
        add_customer(db, f"p{i}", total_spent=0)
        add_order(db, f"op{i}", f"p{i}", "2026-10-01 10:00:00", None, 100 - i)
    sc.create(db, campaign(per_day=3), D, RULES, now=NOW)
    assert sc.member_counts(db, "spring")["scheduled"] == 3
    assert sc.schedule_campaigns(db, D, RULES) == 0
    scheduled = [
        r[0]
        for r in db.execute(
            "SELECT customer_id FROM campaign_members WHERE state='scheduled' ORDER BY position"
        )
    ]
    assert scheduled == ["p0", "p1", "p2"]  # most valuable first
    assert sc.schedule_campaigns(db, D + timedelta(days=1), RULES) == 3
    assert sc.member_counts(db, "spring")["scheduled"] == 6


def test_start_in_the_future_schedules_nothing_yet(shop: sqlite_utils.Database) -> None:
    sc.create(shop, campaign(start=D + timedelta(days=3)), D, RULES, now=NOW)
    assert sc.member_counts(shop, "spring")["scheduled"] == 0
    assert sc.schedule_campaigns(shop, D + timedelta(days=3), RULES) == 3  # a, b, c; e opted out


def test_create_again_merges_same_settings_and_refuses_others(shop: sqlite_utils.Database) -> None:
    c = campaign()
    first = sc.create(shop, c, D, RULES, now=NOW)
    snapshot = shop.execute("SELECT * FROM campaign_members ORDER BY customer_id").fetchall()
    fus = shop.execute("SELECT count(*) FROM follow_ups").fetchone()
    again = sc.create(shop, c, D, RULES, now=NOW)
    assert (first.added, again.added, again.existing) == (4, 0, 4)
    assert (
        shop.execute("SELECT * FROM campaign_members ORDER BY customer_id").fetchall() == snapshot
    )
    assert shop.execute("SELECT count(*) FROM follow_ups").fetchone() == fus
    with pytest.raises(cc.CampaignError, match="different phrase_id"):
        sc.create(shop, replace(c, phrase_id="birthday"), D, RULES, now=NOW)
    with pytest.raises(cc.CampaignError, match="different holdout_pct"):
        sc.create(shop, replace(c, holdout_pct=20.0), D, RULES, now=NOW)
    assert shop.execute("SELECT count(*) FROM campaigns").fetchone()[0] == 1
    assert (
        shop.execute("SELECT * FROM campaign_members ORDER BY customer_id").fetchall() == snapshot
    )


def test_lifecycle_generation_neither_merges_into_nor_cancels_campaign_work(
    db: sqlite_utils.Database,
) -> None:
    add_customer(db, "c1")
    add_order(db, "o1", "c1", "2026-11-10 10:00:00", "2026-11-15 10:00:00")  # review +7 = 11-22
    yesterday = D - timedelta(days=1)
    sc.create(db, campaign(start=yesterday), yesterday, RULES, now=NOW - timedelta(days=1))
    fid = db.execute("SELECT follow_up_id FROM campaign_members").fetchone()[0]
    fu.generate(db, D, RULES)
    rows = db.execute("SELECT id, stage, status FROM follow_ups ORDER BY id").fetchall()
    assert (fid, "campaign", "pending") in rows
    assert any(stage == "satisfaction" for _i, stage, _s in rows)
    reasons = db.execute(
        "SELECT rule FROM follow_up_reasons WHERE follow_up_id = ?", [fid]
    ).fetchall()
    assert reasons == [("campaign",)]


def test_generation_calls_the_campaign_scheduler(db: sqlite_utils.Database) -> None:
    for i in range(4):
        add_customer(db, f"g{i}")
        add_order(db, f"og{i}", f"g{i}", "2026-06-01 10:00:00", None, 10)
    sc.create(db, campaign(per_day=2), D, RULES, now=NOW)
    fu.generate(db, D + timedelta(days=1), RULES)
    assert sc.member_counts(db, "spring")["scheduled"] == 4


def test_queue_phrase_and_touch(shop: sqlite_utils.Database) -> None:
    sc.create(shop, campaign(), D, RULES, now=NOW)
    queue = sc.campaign_queue(shop, "spring", D)
    assert [f.customer_id for f in queue] == ["a", "c", "b"]  # most valuable first
    item = queue[0]
    assert item.stage.value == "campaign"
    assert item.reasons[0].text == "营销活动 campaign: spring"
    assert sc.phrase_for_follow_up(shop, item.id) == "coupon-returning"
    assert sc.phrase_for_follow_up(shop, 10_000) is None
    fu.claim(shop, item.id, "lily", now=NOW)
    fu.log_touch(
        shop, agent="lily", customer_id=item.customer_id, text="t", follow_up_id=item.id, now=NOW
    )
    assert sc.member_counts(shop, "spring")["done"] == 1
    assert len(sc.campaign_queue(shop, "spring", D)) == 2


def test_pause_resume_end(shop: sqlite_utils.Database) -> None:
    sc.create(shop, campaign(), D, RULES, now=NOW)
    assert sc.set_status(shop, "spring", "paused", D, RULES, now=NOW) == 3
    counts = sc.member_counts(shop, "spring")
    assert (counts["scheduled"], counts["waiting"]) == (0, 3)
    assert sc.campaign_queue(shop, "spring", D) == []
    assert sc.schedule_campaigns(shop, D + timedelta(days=1), RULES) == 0  # paused: nothing
    sc.set_status(shop, "spring", "active", D, RULES, now=NOW)
    assert sc.member_counts(shop, "spring")["scheduled"] == 3
    with pytest.raises(cc.CampaignError, match="already active"):
        sc.set_status(shop, "spring", "active", D, RULES, now=NOW)
    assert sc.set_status(shop, "spring", "ended", D, RULES, now=NOW) == 3
    counts = sc.member_counts(shop, "spring")
    assert (counts["scheduled"], counts["waiting"], counts["cancelled"]) == (0, 0, 3)
    with pytest.raises(cc.CampaignError, match="has ended"):
        sc.set_status(shop, "spring", "active", D, RULES, now=NOW)
    with pytest.raises(cc.CampaignError, match="no campaign"):
        sc.set_status(shop, "nope", "paused", D, RULES, now=NOW)


def test_report_against_a_hand_computation(db: sqlite_utils.Database) -> None:
    """Contacted: 4 members touched; holdout: 3. Orders placed by hand around the windows."""
    for cid in ("t1", "t2", "t3", "t4", "h1", "h2", "h3", "hx"):
        add_customer(db, cid)
        add_order(db, f"old-{cid}", cid, "2026-05-01 10:00:00", None, 1)
    db.execute("UPDATE customers SET opt_out = 1 WHERE customer_id = 'hx'")
    c = campaign(audience=cc.Audience(customer_ids=("t1", "t2", "t3", "t4")))
    sc.create(db, c, D, RULES, now=NOW)
    cid = db.execute("SELECT id FROM campaigns").fetchone()[0]
    for h in ("h1", "h2", "h3", "hx"):  # recorded as holdout by hand (the draw is tested above)
        db.execute(
            "INSERT INTO campaign_members (campaign_id, customer_id, grp, state, position, "
            "added_at, updated_at) VALUES (?, ?, 'holdout', 'holdout', 99, 'x', 'x')",
            [cid, h],
        )
    # touch t1..t4 at 10:00 on D (t4 only on D+2: paced)
    for m in ("t1", "t2", "t3"):
        fid = db.execute(
            "SELECT follow_up_id FROM campaign_members WHERE customer_id = ?", [m]
        ).fetchone()[0]
        fu.log_touch(db, agent="a", customer_id=m, text="x", follow_up_id=fid, now=NOW)
    fid4 = db.execute(
        "SELECT follow_up_id FROM campaign_members WHERE customer_id='t4'"
    ).fetchone()[0]
    fu.log_touch(
        db, agent="a", customer_id="t4", text="x", follow_up_id=fid4, now=NOW + timedelta(days=2)
    )
    add_order(db, "c1", "t1", "2026-11-25 10:00:00", None, 100, seq=2)  # 3 days after: counts
    add_order(db, "c1b", "t1", "2026-11-30 10:00:00", None, 20, seq=3)  # same member, also in
    add_order(db, "c2", "t2", "2026-12-07 08:00:00", None, 50, seq=2)  # 14 d 23 h: outside
    add_order(db, "c3", "t3", "2026-11-22 08:00:00", None, 70, seq=2)  # before the touch: out
    add_order(db, "c4", "t4", "2026-12-05 10:00:00", None, 30, seq=2)  # 11 d after its touch
    add_order(db, "d1", "h1", "2026-11-22 00:30:00", None, 40, seq=2)  # after the start: counts
    add_order(db, "d2", "h2", "2026-12-06 10:00:00", None, 60, seq=2)  # start + 14 d: outside
    add_order(db, "dx", "hx", "2026-11-23 10:00:00", None, 500, seq=2)  # opted out: not counted
    r = sc.report(db, "spring", window_days=14)
    # by hand: contacted 4, converted t1 and t4 = 2, revenue 100 + 20 + 30 = 150
    # holdout (not opted out) 3, converted h1 = 1, revenue 40
    assert (r.contacted.members, r.contacted.converted, r.contacted.revenue) == (4, 2, 150.0)
    assert (r.holdout.members, r.holdout.converted, r.holdout.revenue) == (3, 1, 40.0)
    d = r.to_dict()
    assert d["contacted"] == 4 and d["holdout"] == 3
    assert d["conversion"] == 0.5
    assert d["holdout_conversion"] == pytest.approx(1 / 3)
    assert d["revenue_per_member"] == 37.5
    assert d["holdout_revenue_per_member"] == pytest.approx(13.33, abs=0.01)
    assert d["lift"] == pytest.approx(0.5 - 1 / 3)
    assert d["lift_ci"] == pytest.approx(newcombe_diff(2, 4, 1, 3).as_list(), abs=1e-6)  # type: ignore[union-attr]
    assert d["conversion_ci"] == pytest.approx(wilson(2, 4).as_list(), abs=1e-6)  # type: ignore[union-attr]
    # Wilson 2/4 by hand: centre (0.5 + z²/8) / (1 + z²/4) = 0.5, half-width
    # z·sqrt(0.25/4 + z²/64) / (1 + z²/4) = 0.34996: [0.1500, 0.8500]. Newcombe: 1/6 minus
    # sqrt(0.34996² + (0.79234 - 1/3)²) = -0.4105, plus sqrt(0.34996² + (1/3 - 0.06149)²) = 0.6098
    assert d["conversion_ci"] == pytest.approx([0.1500, 0.8500], abs=1e-4)
    assert d["lift_ci"] == pytest.approx([-0.4105, 0.6098], abs=1e-4)
    assert d["warning"] and "too small" in d["warning"]
    # a window of 20 days also takes t2's order (14 d 23 h) and h2's (start + 14 d)
    r20 = sc.report(db, "spring", window_days=20)
    assert (r20.contacted.converted, r20.holdout.converted) == (3, 2)


def test_export_members_and_bulk_log(shop: sqlite_utils.Database) -> None:
    sc.create(shop, campaign(per_day=1), D, RULES, now=NOW)
    fu.log_touch(shop, agent="amy", customer_id="c", text="hi", now=NOW - timedelta(hours=1))
    members, capped = sc.export_members(shop, "spring", D, RULES)
    assert members == ["a", "b"] and capped == 1  # e opted out, c touched an hour ago
    assert shop.execute("SELECT count(*) FROM touches WHERE channel = 'bulk'").fetchone()[0] == 0
    sc.log_bulk(shop, "spring", [("a", "text a"), ("b", "text b")], "lily", D, now=NOW)
    rows = shop.execute(
        "SELECT t.customer_id, t.channel, t.stage, f.status FROM touches t "
        "JOIN follow_ups f ON f.id = t.follow_up_id WHERE t.channel = 'bulk' ORDER BY 1"
    ).fetchall()
    assert rows == [("a", "bulk", "campaign", "done"), ("b", "bulk", "campaign", "done")]
    assert sc.member_counts(shop, "spring")["done"] == 2
    assert sc.export_members(shop, "spring", D, RULES)[0] == []


def test_summaries_for_the_stats_screen(shop: sqlite_utils.Database) -> None:
    sc.create(shop, campaign(), D, RULES, now=NOW)
    sc.create(shop, campaign("later", start=D + timedelta(days=9)), D, RULES, now=NOW)
    found = sc.campaign_summaries(shop, D)
    assert [s.name for s in found] == ["spring"]
    assert found[0].counts["scheduled"] == 3


def test_quota_is_filled_past_a_chunk_of_capped_members(db: sqlite_utils.Database) -> None:
    """Members are read a chunk (500) at a time: 510 capped ones must not end the day."""
    for i in range(520):
        add_customer(db, f"q{i:03}")
        add_order(db, f"oq{i}", f"q{i:03}", "2026-10-01 10:00:00", None, 1000 - i)
        if i < 510:
            db.execute(
                "INSERT INTO touches (agent, customer_id, text, at) VALUES ('a', ?, 't', ?)",
                [f"q{i:03}", "2026-11-21 20:00:00"],
            )
    sc.create(db, campaign(per_day=5), D, RULES, now=NOW)
    counts = sc.member_counts(db, "spring")
    assert (counts["scheduled"], counts["capped"]) == (5, 510)
    assert sc.schedule_campaigns(db, D, RULES) == 0


def test_report_and_counts_use_indexes(db: sqlite_utils.Database) -> None:
    """Per member, touches and orders are searched by customer, never scanned."""
    queries = [
        (sc._CONTACTED_SQL, ["+14 days", "+14 days", 1]),
        (sc._HOLDOUT_SQL, ["a", "b", "a", "b", 1]),
        (sc._COUNTS_SQL, [1]),
        ("SELECT * FROM campaign_members WHERE follow_up_id = ?", [1]),
    ]
    for sql, params in queries:
        plan = " | ".join(r[3] for r in db.execute("EXPLAIN QUERY PLAN " + sql, params))
        for table in ("touches", "orders", "follow_ups", "campaign_members", "customers"):
            assert f"SCAN {table}" not in plan, plan
        assert "SCAN tt" not in plan and "SCAN o " not in plan and "SCAN m" not in plan, plan
