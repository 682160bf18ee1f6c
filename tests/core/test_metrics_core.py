"""LTV arithmetic, lifetime estimate, lift, CSV cell safety and the stable JSON shape."""

from __future__ import annotations

from datetime import date

import pytest

from tui_agent.core import metrics as mt
from tui_agent.core.export import safe_cell
from tui_agent.core.segments import Segment


def test_ltv_product_md_example() -> None:
    assert mt.ltv_value(200, 4, 3) == 2400


def test_repurchase_rate() -> None:
    assert mt.repurchase_rate(8, 2) == 0.25
    assert mt.repurchase_rate(0, 0) is None


def test_lifetime_estimate() -> None:
    # Half stay for a year -> geometric lifetime 1 / (1 - 0.5) = 2 years.
    assert mt.estimate_lifetime_years(100, 50, 365) == pytest.approx(2.0)
    # Half stay per half year -> a quarter per year -> 1 / 0.75 years.
    assert mt.estimate_lifetime_years(100, 50, 182.5) == pytest.approx(4 / 3)
    assert mt.estimate_lifetime_years(100, 0, 365) == pytest.approx(1.0)
    assert mt.estimate_lifetime_years(100, 100, 365) == mt.MAX_LIFETIME_YEARS
    assert mt.estimate_lifetime_years(100, 99, 365) == mt.MAX_LIFETIME_YEARS  # 100 y capped
    assert mt.estimate_lifetime_years(29, 10, 365) is None  # too few to trust


def test_lift_and_gap() -> None:
    assert mt.lift_pp(0.3, 0.1) == pytest.approx(20.0)
    assert mt.lift_pp(None, 0.1) is None
    assert mt.gap_days(90.0, 3) == 30.0
    assert mt.gap_days(0.0, 0) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+86 138", "'+86 138"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("王小明", "王小明"),
        ("a=b", "a=b"),
        (-3.5, -3.5),
        (7, 7),
        (True, 1),
        (None, ""),
    ],
)
def test_safe_cell(value: object, expected: object) -> None:
    assert safe_cell(value) == expected


def test_stats_to_dict_shape() -> None:
    row = mt.AttributionRow("upkeep", 4, 1, 10.0, 0.1)
    s = mt.ShopStats(
        period=mt.Period(None, date(2024, 3, 31)),
        today=date(2024, 3, 31),
        customers=4,
        orders=6,
        revenue=680.0,
        repurchase=mt.Repurchase(4, 1),
        avg_gap_days=28.0,
        ltv=mt.LtvFigures(
            date(2023, 4, 2), date(2024, 3, 31), 100.0, 2.0, 3.0, "default", None, 0, 0, 0
        ),
        cohorts=(mt.CohortRow("2024-01", 2, (1, 1, 1), (0.5, 0.5, None)),),
        by_category=(mt.CategoryRow("food", 3, 1, 15.0),),
        by_segment=(mt.SegmentRow(Segment.NEW, 1, 1, 0, 60.0),),
        attribution=mt.Attribution(14, row, mt.Baseline(2, 1, 1, 60.0), (row,), (), ()),
    )
    d = mt.stats_to_dict(s)
    assert {"repurchase_rate", "customers", "orders", "ltv", "segments", "attribution"} <= set(d)
    assert d["repurchase_rate"] == 0.25
    assert d["ltv"]["value"] == 600.0
    assert d["period"] == {"from": None, "to": "2024-03-31"}
    assert d["cohorts"][0]["rate_90d"] is None and d["cohorts"][0]["repeat_30d"] == 1
    assert d["attribution"]["by_stage"][0]["lift_pp"] == 15.0  # 25% vs 10%
    assert d["segments"][0]["segment"] == "new"
