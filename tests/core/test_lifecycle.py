"""The lifecycle rules on hand-built dates."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from tui_agent.core import lifecycle as lc
from tui_agent.core.rules import RulesError, RuleSet, load_rules, parse_rules

RULES = load_rules(Path(__file__).parents[2] / "tui_agent" / "data" / "rules.toml")


def rules_with(**work: int) -> RuleSet:
    import tomllib

    data = tomllib.loads((Path(__file__).parents[2] / "tui_agent/data/rules.toml").read_text())
    data["work"].update(work)
    return parse_rules(data)


def order(
    oid: str, delivered: str | None, ordered: str = "2026-01-01", seq: int = 1, cid: str = "c1"
) -> lc.OrderFact:
    return lc.OrderFact(
        oid,
        cid,
        datetime.fromisoformat(ordered),
        datetime.fromisoformat(delivered) if delivered else None,
        seq,
    )


def rules_of(occs: list[lc.Occurrence]) -> list[str]:
    return sorted(o.rule.id for o in occs)


@pytest.mark.parametrize(
    ("delivered", "today", "expected"),
    [
        ("2026-03-01", "2026-03-02", ["care"]),
        ("2026-03-01", "2026-03-04", ["experience"]),
        ("2026-03-01", "2026-03-08", ["review"]),
        ("2026-03-01", "2026-03-16", ["related"]),
        ("2026-03-01", "2026-03-31", ["coupon"]),
        # month end: 31 January + 1 day is 1 February, + 30 days is 2 March
        ("2026-01-31", "2026-02-01", ["care"]),
        ("2026-01-31", "2026-03-02", ["coupon"]),
        # leap day: 2028-02-29 + 1 day is 1 March
        ("2028-02-28", "2028-02-29", ["care"]),
        ("2028-02-29", "2028-03-01", ["care"]),
        ("2026-03-01", "2026-03-05", []),
    ],
)
def test_after_delivery_cadence(delivered: str, today: str, expected: list[str]) -> None:
    rules = rules_with(catch_up_days=0)
    occs = lc.after_delivery_occurrences(rules, [order("o1", delivered)], date.fromisoformat(today))
    assert rules_of(occs) == expected


def test_catch_up_keeps_the_original_due_date() -> None:
    rules = rules_with(catch_up_days=3)
    occs = lc.after_delivery_occurrences(rules, [order("o1", "2026-03-01")], date(2026, 3, 4))
    by_rule = {o.rule.id: o.due for o in occs}
    assert by_rule == {"care": date(2026, 3, 2), "experience": date(2026, 3, 4)}


def test_undelivered_order_uses_assumed_delivery() -> None:
    rules = rules_with(catch_up_days=0, assumed_delivery_days=3)
    occs = lc.after_delivery_occurrences(
        rules, [order("o1", None, ordered="2026-03-01")], date(2026, 3, 5)
    )
    assert rules_of(occs) == ["care"]


def test_vip_from_the_third_order() -> None:
    rules = rules_with(catch_up_days=0)
    today = date(2026, 3, 3)  # delivered 1 March + 2 days
    second = lc.after_delivery_occurrences(rules, [order("o2", "2026-03-01", seq=2)], today)
    third = lc.after_delivery_occurrences(rules, [order("o3", "2026-03-01", seq=3)], today)
    assert "vip" not in rules_of(second)
    assert "vip" in rules_of(third)


def line(cycle: int | None, category: str | None, delivered: str, ln: int = 1) -> lc.LineFact:
    return lc.LineFact(
        "o1",
        "c1",
        ln,
        "好物",
        category,
        cycle,
        datetime(2026, 1, 1),
        datetime.fromisoformat(delivered),
    )


def test_replenish_uses_product_cycle_then_category_default() -> None:
    rules = rules_with(catch_up_days=0)
    lead = rules.by_id("replenish").lead_days  # type: ignore[union-attr]
    # product cycle 10 days: due 1 March + 10 - lead
    own = lc.replenish_occurrences(
        rules, [line(10, "food", "2026-03-01")], date(2026, 3, 11 - lead)
    )
    assert [o.key for o in own] == ["replenish:o1:1"]
    # no product cycle: the category default (food = 21 days)
    cat = lc.replenish_occurrences(
        rules, [line(None, "FOOD", "2026-03-01")], date(2026, 3, 22 - lead)
    )
    assert len(cat) == 1
    # unknown category and no cycle: nothing
    assert (
        lc.replenish_occurrences(
            rules, [line(None, "garden", "2026-03-01")], date(2026, 3, 22 - lead)
        )
        == []
    )


def fact(
    cid: str = "c1", birthday: date | None = None, last: str | None = None, opt_out: bool = False
) -> lc.CustomerFact:
    return lc.CustomerFact(cid, opt_out, datetime.fromisoformat(last) if last else None, birthday)


@pytest.mark.parametrize(
    ("birthday", "today", "due"),
    [
        (date(1990, 5, 20), date(2026, 5, 20), True),
        (date(1990, 5, 20), date(2026, 5, 21), False),
        # born on 29 February: the 28th in a common year, the 29th in a leap year
        (date(1992, 2, 29), date(2026, 2, 28), True),
        (date(1992, 2, 29), date(2028, 2, 28), False),
        (date(1992, 2, 29), date(2028, 2, 29), True),
        (date(1990, 12, 31), date(2026, 12, 31), True),
    ],
)
def test_birthday(birthday: date, today: date, due: bool) -> None:
    rules = rules_with(catch_up_days=0)
    occs = lc.birthday_occurrences(rules, [fact(birthday=birthday)], today)
    assert bool(occs) is due
    assert today.strftime("%m-%d") in lc.birthday_month_days(rules, today)


def test_birthday_feb29_is_looked_up_on_feb28_of_common_years() -> None:
    rules = rules_with(catch_up_days=0)
    assert "02-29" in lc.birthday_month_days(rules, date(2026, 2, 28))
    assert "02-29" not in lc.birthday_month_days(rules, date(2028, 2, 28))


def test_winback_after_the_shops_own_gap() -> None:
    rules = rules_with(catch_up_days=0)
    rule = rules.by_id("winback")
    assert rule is not None
    assert lc.winback_days(rule, 50.4) == 50
    assert lc.winback_days(rule, 5.0) == rule.min_days
    assert lc.winback_days(rule, None) == rule.default_days
    c = fact(last="2026-01-01 10:00:00")
    assert lc.winback_occurrences(rules, [c], date(2026, 2, 20), 50.0)  # 1 Jan + 50 days
    assert not lc.winback_occurrences(rules, [c], date(2026, 2, 19), 50.0)


def occ(
    rule_id: str, cid: str = "c1", key: str | None = None, anchor: str | None = None
) -> lc.Occurrence:
    rule = RULES.by_id(rule_id)
    assert rule is not None
    return lc.Occurrence(
        cid,
        rule,
        key or f"{rule_id}:{cid}",
        date(2026, 3, 1),
        rule_id,
        "o1",
        datetime.fromisoformat(anchor) if anchor else None,
    )


def plan(occs: list[lc.Occurrence], **kw: object) -> lc.Plan:
    args: dict[str, object] = {
        "customers": {"c1": fact(), "c2": fact("c2")},
        "existing_keys": set(),
        "pending": {},
        "touches_24h": {},
        "touches_7d": {},
        "cap": RULES.cap,
    }
    args.update(kw)
    return lc.plan_day(occs, **args)  # type: ignore[arg-type]


def test_same_day_rules_merge_into_one_follow_up_led_by_priority() -> None:
    p = plan([occ("review"), occ("replenish"), occ("birthday")])
    assert len(p.new) == 1
    fu = p.new[0]
    assert fu.rule.id == "birthday"  # highest priority
    assert {o.rule.id for o in fu.occurrences} == {"review", "replenish", "birthday"}
    assert fu.tags[0] == "birthday" and "replenish" in fu.tags and "review" in fu.tags


def test_existing_keys_make_it_idempotent() -> None:
    assert plan([occ("care")], existing_keys={"care:c1"}).new == []


def test_pending_follow_up_absorbs_new_occurrences() -> None:
    p = plan([occ("care")], pending={"c1": 42})
    assert p.new == [] and p.merges[0].follow_up_id == 42


def test_opt_out_gets_nothing() -> None:
    assert plan([occ("care")], customers={"c1": fact(opt_out=True)}).new == []


def test_chain_stops_when_customer_ordered_again() -> None:
    customers = {"c1": fact(last="2026-02-10 09:00:00")}
    stopped = plan([occ("coupon", anchor="2026-01-05 10:00:00")], customers=customers)
    kept = plan([occ("coupon", anchor="2026-02-10 09:00:00")], customers=customers)
    birthday = plan([occ("birthday", anchor="2026-01-05 10:00:00")], customers=customers)
    assert stopped.new == [] and len(kept.new) == 1 and len(birthday.new) == 1


@pytest.mark.parametrize(
    ("t24", "t7", "capped"),
    [(0, 0, False), (1, 1, True), (0, 1, False), (0, 2, True)],
)
def test_frequency_cap_records_a_reason(t24: int, t7: int, capped: bool) -> None:
    # a marketing rule: service touches (care, experience, review) are not capped (defect 8)
    p = plan([occ("coupon")], touches_24h={"c1": t24}, touches_7d={"c1": t7})
    assert (p.new[0].capped is not None) is capped
    if capped:
        assert p.new[0].capped.startswith("cap:")  # type: ignore[union-attr]


def test_rules_file_errors_name_the_rule() -> None:
    with pytest.raises(RulesError, match="rule 'x': kind"):
        parse_rules({"rule": [{"id": "x", "kind": "nope", "stage": "upkeep"}]})
    with pytest.raises(RulesError, match="stage"):
        parse_rules({"rule": [{"id": "x", "kind": "vip", "stage": "nope"}]})
    with pytest.raises(RulesError, match="duplicate"):
        parse_rules({"rule": [{"id": "x", "kind": "vip", "stage": "loyalty"}] * 2})
    with pytest.raises(RulesError, match="per_24h"):
        parse_rules({"cap": {"per_24h": -1}})
