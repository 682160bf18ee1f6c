"""Win-back on the BTYD model's P(alive) (rules.toml ``p_alive_below``), next to the gap rule."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from pathlib import Path

import sqlite_utils

from tests.analytics_data import add_customer, add_order
from tui_agent.core.kinds import winback
from tui_agent.core.kinds.base import CustomerFact, Facts
from tui_agent.core.rules import RuleSet, load_rules
from tui_agent.store import followups as fu
from tui_agent.store.predictions import low_p_alive_customers

RULES = load_rules(Path(__file__).parents[2] / "tui_agent" / "data" / "rules.toml")
TODAY = date(2026, 3, 1)


def _with_threshold(threshold: float) -> RuleSet:
    rules = tuple(
        dataclasses.replace(r, p_alive_below=threshold) if r.kind == "winback" else r
        for r in RULES.rules
    )
    return dataclasses.replace(RULES, rules=rules)


def test_default_rules_keep_the_gap_alone() -> None:
    rule = RULES.by_id("winback")
    assert rule is not None and rule.p_alive_below == 0.0


def test_low_p_alive_is_due_today_once_min_days_passed() -> None:
    rules = _with_threshold(0.3)
    rule = rules.by_id("winback")
    assert rule is not None
    c = CustomerFact("c1", False, datetime(2026, 1, 15, 10), None, "o1")
    gap = 90.0  # the gap rule alone would wait until mid-April

    def occurrences(rules: RuleSet, c: CustomerFact, low: frozenset[str]) -> list[object]:
        r = rules.by_id("winback")
        assert r is not None
        facts = Facts(customers=[c], avg_gap_days=gap, low_p_alive=low)
        return list(winback.occurrences(rules, r, facts, TODAY))

    assert not occurrences(rules, c, frozenset())
    occs = winback.occurrences(
        rules, rule, Facts(customers=[c], avg_gap_days=gap, low_p_alive=frozenset({"c1"})), TODAY
    )
    assert [(o.due, o.key) for o in occs] == [(TODAY, "winback:c1:2026-01-15")]
    assert "P(alive) below 0.3" in occs[0].text
    # off (0), or fewer than min_days (30) since the last order: not due
    assert not occurrences(RULES, c, frozenset({"c1"}))
    recent = CustomerFact("c1", False, datetime(2026, 2, 10, 10), None, "o1")
    assert not occurrences(rules, recent, frozenset({"c1"}))


def test_generation_uses_the_stored_predictions(db: sqlite_utils.Database) -> None:
    for cid, p in (("gone", 0.05), ("alive", 0.9)):
        add_customer(db, cid)
        add_order(db, f"{cid}-1", cid, "2025-12-01 10:00:00", 10.0)
        add_order(db, f"{cid}-2", cid, "2026-01-10 10:00:00", 10.0)
        db.execute(
            "INSERT INTO customer_predictions VALUES (?, ?, 0.1, 0.5, 10.0, 5.0, NULL)", [cid, p]
        )
    db.execute("UPDATE customers SET last_order_at = '2026-01-10 10:00:00'")
    db.execute("INSERT INTO meta(key, value) VALUES ('avg_gap_days', '200')")
    assert low_p_alive_customers(db, 0.3) == ["gone"]
    fu.generate(db, TODAY, _with_threshold(0.3), now=datetime(2026, 3, 1, 8))
    rows = db.execute(
        "SELECT f.customer_id, r.text FROM follow_ups f "
        "JOIN follow_up_reasons r ON r.follow_up_id = f.id WHERE f.rule = 'winback'"
    ).fetchall()
    assert [r[0] for r in rows] == ["gone"]
    assert "P(alive)" in rows[0][1]


def test_queue_ranked_by_expected_value(db: sqlite_utils.Database) -> None:
    from tests.analytics_data import add_follow_up
    from tui_agent.core.rules import parse_rules

    # big spender with little future value, small spender with much, one without a prediction
    for i, (cid, spent, clv) in enumerate((("big", 900.0, 5.0), ("small", 50.0, 400.0))):
        add_customer(db, cid)
        add_order(db, f"{cid}-1", cid, "2026-01-01 10:00:00", spent)
        db.execute(
            "INSERT INTO customer_predictions VALUES (?, 0.9, 0.1, 0.5, 10.0, ?, NULL)", [cid, clv]
        )
        add_follow_up(db, i + 1, cid, "upkeep", TODAY.isoformat(), "pending", None)
    add_customer(db, "none")
    add_order(db, "none-1", "none", "2026-01-01 10:00:00", 500.0)
    add_follow_up(db, 3, "none", "upkeep", TODAY.isoformat(), "pending", None)
    db.execute(
        "UPDATE customers SET total_spent = (SELECT total(amount) FROM orders o "
        "WHERE o.customer_id = customers.customer_id)"
    )
    assert [f.customer_id for f in fu.due_queue(db, TODAY)] == ["big", "none", "small"]
    assert [f.customer_id for f in fu.due_queue(db, TODAY, by_value=True)] == [
        "small",
        "big",
        "none",
    ]
    rules = parse_rules({"work": {"queue_order": "expected_value"}})
    assert rules.queue_order == "expected_value"
