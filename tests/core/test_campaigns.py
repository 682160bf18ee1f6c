"""core.campaigns: the holdout draw, a day's pick under the cap, the report, parsing."""

from __future__ import annotations

from datetime import date

import pytest

from tui_agent.core import campaigns as cc
from tui_agent.core.rules import Cap


def test_holdout_share_and_reproducibility() -> None:
    ids = [f"C{i:05}" for i in range(10_000)]
    held = [i for i in ids if cc.in_holdout("winter", i, 10)]
    # 10% of 10,000: sd 30, so 900..1100 is over 3 sd either way
    assert 900 <= len(held) <= 1100
    assert held == [i for i in ids if cc.in_holdout("winter", i, 10)]
    assert held != [i for i in ids if cc.in_holdout("summer", i, 10)]
    assert not any(cc.in_holdout("winter", i, 0) for i in ids)
    # a bigger holdout contains the smaller one (same draw, higher threshold)
    assert set(held) <= {i for i in ids if cc.in_holdout("winter", i, 20)}


def test_pick_day_quota_cap_and_opt_out() -> None:
    cap = Cap(per_24h=1, per_7d=2)
    cands = [
        cc.Candidate("out", opt_out=True),
        cc.Candidate("t24", False, touches_24h=1, touches_7d=1),
        cc.Candidate("t7", False, touches_24h=0, touches_7d=2),
        cc.Candidate("busy", False, busy_today=True),
        cc.Candidate("ok1", False),
        cc.Candidate("ok2", False),
        cc.Candidate("late", False, touches_24h=5),
    ]
    pick = cc.pick_day(cands, 2, cap)
    assert pick.schedule == ("ok1", "ok2")
    assert pick.opted_out == ("out",)
    assert set(pick.capped) == {"t24", "t7", "busy"}  # "late" is past the quota: untouched
    assert pick.capped["t7"].startswith("cap: 2 touch(es) in the last 7 days")
    assert cc.day_quota(5, 3) == 2 and cc.day_quota(5, 9) == 0 and cc.day_quota(None, 9) > 10**9


def test_report_warning_and_json() -> None:
    small = cc.Report("x", 14, cc.GroupOutcome(10, 2, 50.0), cc.GroupOutcome(3, 0, 0.0))
    assert small.warning and "too small" in small.warning
    big = cc.Report("x", 14, cc.GroupOutcome(900, 90, 9000.0), cc.GroupOutcome(100, 5, 100.0))
    assert big.warning is None
    d = big.to_dict()
    assert d["conversion"] == 0.1 and d["holdout_conversion"] == 0.05
    assert d["lift"] == pytest.approx(0.05)
    low, high = d["lift_ci"]
    assert low < 0.05 < high
    assert d["revenue_per_member"] == 10.0
    none = cc.Report("x", 14, cc.GroupOutcome(5, 1, 0.0), cc.GroupOutcome(0, 0, 0.0))
    assert none.to_dict()["lift"] is None and "no holdout" in (none.warning or "")


def test_audience_round_trip_and_names() -> None:
    a = cc.Audience(
        segment="at_risk",
        tags=("vip", "护肤"),
        last_order_before=date(2026, 10, 1),
        min_orders=2,
        customer_ids=("a", "b"),
    )
    assert cc.Audience.from_json(a.to_json()) == a
    assert "segment=at_risk" in a.describe() and "2 listed customers" in a.describe()
    assert cc.check_name(" 双12 VIP ") == "双12 VIP"
    with pytest.raises(cc.CampaignError):
        cc.check_name("bad\x1b[31mname")


def test_parse_customer_list() -> None:
    assert cc.parse_customer_list("customer_id,x\nA,1\n\nB,2\nA,3\n", "f.csv") == {"A": 2, "B": 4}
    assert cc.parse_customer_list("A\nB\n", "f.csv") == {"A": 1, "B": 2}
    with pytest.raises(cc.CampaignError, match=r"f.csv:3: empty customer id"):
        cc.parse_customer_list("id,x\nA,1\n,2\n", "f.csv")
    with pytest.raises(cc.CampaignError, match=r"f.csv:2: not a customer id"):
        cc.parse_customer_list("id\nA\x1b[2J\n", "f.csv")
    with pytest.raises(cc.CampaignError, match=r"f.csv: no customer ids"):
        cc.parse_customer_list("customer_id\n", "f.csv")


def test_printable() -> None:
    assert cc.printable("a\x1b[31mb\nc") == "a␛[31mb c"
    assert cc.printable("x\u202ey") == "xy"  # a bidi override never reaches the terminal
