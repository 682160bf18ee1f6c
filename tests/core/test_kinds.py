"""Every rule kind's pure occurrence function on hand-built dates (issue 10)."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from lunar_python import Lunar

from tui_agent.core import lifecycle as lc
from tui_agent.core.kinds import (
    OCCURRENCES,
    birthday,
    holiday,
    lunar,
    member_day,
    periodic,
    replenish,
)
from tui_agent.core.kinds.base import CustomerFact, Facts, LineFact, OrderFact
from tui_agent.core.rules import KIND_KEYS, Rule, RulesError, RuleSet, load_rules, parse_rules

SHIPPED = Path(__file__).parents[2] / "tui_agent" / "data" / "rules.toml"


def shipped(**work: Any) -> dict[str, Any]:
    data = tomllib.loads(SHIPPED.read_text())
    data["work"].update(work)
    return data


def ruleset(*extra: dict[str, Any], **work: Any) -> RuleSet:
    data = shipped(**work)
    data["rule"] += list(extra)
    return parse_rules(data)


def rule_of(rules: RuleSet, rule_id: str) -> Rule:
    rule = rules.by_id(rule_id)
    assert rule is not None
    return rule


def customer(
    cid: str = "c1",
    *,
    last: str | None = "2026-01-10 10:00:00",
    first: str | None = None,
    birthday: date | None = None,
    lunar_bd: str | None = None,
    tier: str | None = None,
    tags: tuple[str, ...] = (),
) -> CustomerFact:
    return CustomerFact(
        cid,
        False,
        datetime.fromisoformat(last) if last else None,
        birthday,
        None,
        lunar_bd,
        tier,
        tags,
        datetime.fromisoformat(first) if first else None,
    )


def run(rules: RuleSet, rule_id: str, facts: Facts, today: date) -> list[lc.Occurrence]:
    rule = rule_of(rules, rule_id)
    return OCCURRENCES[rule.kind](rules, rule, facts, today)


def test_every_kind_is_in_the_one_table() -> None:
    assert set(OCCURRENCES) == set(KIND_KEYS)


# --- defects 1 and 2: birthdays -----------------------------------------------------------------


def test_birthday_over_new_year_is_caught_up() -> None:
    """Defect 2: a birthday on 31 December, missed over New Year, is caught up on 1 January."""
    rules = ruleset(catch_up_days=3)
    occs = lc.birthday_occurrences(rules, [customer(birthday=date(1990, 12, 31))], date(2027, 1, 1))
    assert [(o.key, o.due) for o in occs] == [("birthday:c1:2026", date(2026, 12, 31))]
    assert "12-31" in lc.birthday_month_days(rules, date(2027, 1, 1))


def test_year_unknown_birthday_on_feb_29() -> None:
    rules = ruleset(catch_up_days=0)
    unknown_year = customer(birthday=date(2000, 2, 29))  # how the store reads "0000-02-29"
    assert lc.birthday_occurrences(rules, [unknown_year], date(2027, 2, 28))
    assert lc.birthday_occurrences(rules, [unknown_year], date(2028, 2, 29))
    assert not lc.birthday_occurrences(rules, [unknown_year], date(2028, 2, 28))


# --- lunar birthdays --------------------------------------------------------------------------------


def test_lunar_conversion_and_leap_months() -> None:
    # 2025 has a leap sixth month (闰六月, 29 days, from 25 July)
    assert lunar.to_solar(2025, 6, 10, leap=True) == date(2025, 8, 3)
    # a 30th in the 29-day leap month falls on its last day
    assert lunar.to_solar(2025, 6, 30, leap=True) == date(2025, 8, 22)
    # no leap sixth month in 2026: the ordinary sixth month
    got = Lunar.fromYmd(2026, 6, 10).getSolar()
    assert lunar.to_solar(2026, 6, 10, leap=True) == date(
        got.getYear(), got.getMonth(), got.getDay()
    )
    # the store's look-up finds every birthday that falls on a solar day
    assert {"闰06-29", "闰06-30"} <= lunar.keys_for(date(2025, 8, 22))
    assert "闰06-10" in lunar.keys_for(date(2026, 7, 23))  # 2026's 06-10, no leap month
    assert "闰06-10" not in lunar.keys_for(date(2025, 7, 4))  # 2025's 06-10: the leap one counts
    with pytest.raises(ValueError):
        lunar.parse_lunar_md("13-01")


@pytest.mark.parametrize(
    ("lunar_bd", "today", "key"),
    [
        ("02-02", date(2026, 3, 20), "birthday:c1:L2026"),
        # lunar 2026's second month has 29 days: the 30th falls on the 29th
        ("02-30", date(2026, 4, 16), "birthday:c1:L2026"),
        # the twelfth month of lunar 2025 falls in February 2026
        ("12-20", date(2026, 2, 7), "birthday:c1:L2025"),
        ("闰06-10", date(2025, 8, 3), "birthday:c1:L2025"),
    ],
)
def test_lunar_birthday_due_on_its_solar_day(lunar_bd: str, today: date, key: str) -> None:
    rules = ruleset(catch_up_days=0)
    occs = lc.birthday_occurrences(rules, [customer(lunar_bd=lunar_bd)], today)
    assert [o.key for o in occs] == [key]
    assert "农历" in occs[0].text and today.isoformat() in occs[0].text
    # the store's indexed look-up asks for this lunar month-day on this solar day
    assert lunar_bd in birthday.lunar_keys(rules, rule_of(rules, "birthday"), today)


def test_a_lunar_birthday_replaces_the_solar_one() -> None:
    rules = ruleset(catch_up_days=0)
    both = customer(birthday=date(1990, 3, 15), lunar_bd="02-02")
    assert not lc.birthday_occurrences(rules, [both], date(2026, 3, 15))
    assert lc.birthday_occurrences(rules, [both], date(2026, 3, 20))


# --- holidays -----------------------------------------------------------------------------------------

HOLIDAY = {
    "id": "holiday",
    "kind": "holiday",
    "calendar": "CN",
    "holidays": ["春节", "中秋节", "国庆节"],
    "shop_dates": {"双11": "11-11", "38节": "03-08"},
    "lunar_dates": {"元宵": "01-15"},
    "lead_days": 1,
    "stage": "upkeep",
    "tags": ["holiday"],
    "priority": 20,
}


def test_spring_festival_greeting_lands_on_the_shifted_working_saturday() -> None:
    """2026: 春节 is 17 February; the eve (16th) and Sunday the 15th are days off, and
    Saturday 14 February is a 调休 working day: the greeting is due on that Saturday."""
    rules = ruleset(HOLIDAY, catch_up_days=0)
    rule = rule_of(rules, "holiday")
    assert holiday.is_working_day(date(2026, 2, 14))  # a Saturday made a working day
    assert not holiday.is_working_day(date(2026, 2, 20))  # a Friday made a day off
    due = {g.name: g.due for g in holiday.greetings(rule, 2026)}
    assert due["春节"] == date(2026, 2, 14)
    assert due["中秋节"] == date(2026, 9, 24)  # Thursday before
    assert due["国庆节"] == date(2026, 9, 30)
    assert due["双11"] == date(2026, 11, 10)
    assert due["元宵"] == date(2026, 3, 2)  # lunar 01-15 is 3 March 2026
    occs = run(rules, "holiday", Facts(customers=[customer()]), date(2026, 2, 14))
    assert [(o.key, o.due) for o in occs] == [("holiday:春节:2026:c1", date(2026, 2, 14))]
    assert "春节 2026-02-17" in occs[0].text


def test_one_greeting_per_holiday_and_eligibility() -> None:
    rules = ruleset(HOLIDAY, catch_up_days=3)
    facts = Facts(
        customers=[
            customer("active", last="2026-01-10 10:00:00"),
            customer("lapsed", last="2024-12-01 10:00:00"),  # no order in the last 365 days
            customer("never", last=None),
        ]
    )
    day1 = run(rules, "holiday", facts, date(2026, 2, 14))
    day2 = run(rules, "holiday", facts, date(2026, 2, 16))  # still in the catch-up window
    assert {o.customer_id for o in day1} == {"active"}
    assert {o.key for o in day1} == {o.key for o in day2}  # the same key: one greeting
    # 2028: 中秋节 and 国庆节 share 3 October in the package; both are greeted once each
    both = {g.name for g in holiday.greetings(rule_of(rules, "holiday"), 2028)}
    assert {"中秋节", "国庆节"} <= both


def test_holiday_eligibility_by_tier_and_tag() -> None:
    rules = ruleset(
        {**HOLIDAY, "eligible_tiers": ["金卡会员"], "eligible_tags": ["vip"]}, catch_up_days=0
    )
    facts = Facts(
        customers=[
            customer("gold", tier="金卡会员", tags=("vip",)),
            customer("silver", tier="银卡会员", tags=("vip",)),
            customer("gold-untagged", tier="金卡会员"),
        ]
    )
    assert [o.customer_id for o in run(rules, "holiday", facts, date(2026, 2, 14))] == ["gold"]


def test_missing_official_calendar_is_said() -> None:
    rules = ruleset(HOLIDAY)
    assert holiday.missing_years(rules, date(2026, 6, 1)) == []
    # in December the coming year is within the horizon; the package has no 2027 调休 yet
    assert holiday.missing_years(rules, date(2026, 12, 1)) == [2027]
    message = holiday.missing_message(rules, date(2026, 12, 1))
    assert message is not None and "2027" in message
    assert holiday.missing_years(ruleset(), date(2026, 12, 1)) == []  # no holiday rule


# --- member day -------------------------------------------------------------------------------------

MEMBER = {
    "id": "member_day",
    "kind": "member_day",
    "day_of_month": 31,
    "stage": "loyalty",
    "tags": ["member-day"],
}


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2027, 2, 28), True),  # a 31 falls on the last day of February
        (date(2028, 2, 28), False),  # leap year: the 29th
        (date(2028, 2, 29), True),
        (date(2026, 4, 30), True),
        (date(2026, 5, 31), True),
        (date(2026, 5, 30), False),
    ],
)
def test_member_day_month_ends(today: date, expected: bool) -> None:
    rules = ruleset(MEMBER, catch_up_days=0)
    occs = run(rules, "member_day", Facts(customers=[customer(tier="金卡会员")]), today)
    assert bool(occs) is expected


def test_member_day_needs_a_tier_and_is_monthly() -> None:
    rules = ruleset({**MEMBER, "day_of_month": 18}, catch_up_days=3)
    facts = Facts(customers=[customer("t", tier="银卡"), customer("none"), customer("e", tier=" ")])
    occs = run(rules, "member_day", facts, date(2026, 3, 20))
    assert [o.key for o in occs] == ["member_day:2026-03:t"]
    assert occs[0].due == date(2026, 3, 18)
    assert member_day.member_day(rule_of(rules, "member_day"), 2026, 4) == date(2026, 4, 18)


# --- periodic upkeep --------------------------------------------------------------------------------

UPKEEP = {
    "id": "upkeep",
    "kind": "periodic",
    "every_days": 7,
    "start_days": 7,
    "within_days_of_first_order": 30,
    "stage": "upkeep",
    "stop_on_repurchase": True,
}


def test_periodic_upkeep_weekly_within_30_days() -> None:
    rules = ruleset(UPKEEP, catch_up_days=0)
    rule = rule_of(rules, "upkeep")
    first = date(2028, 2, 1)  # through a leap February
    assert periodic.touch_days(rule, first) == [
        date(2028, 2, 8),
        date(2028, 2, 15),
        date(2028, 2, 22),
        date(2028, 2, 29),
    ]
    c = customer(first="2028-02-01 09:00:00", last="2028-02-01 09:00:00")
    got = run(rules, "upkeep", Facts(customers=[c]), date(2028, 2, 29))
    assert [o.key for o in got] == ["upkeep:c1:2028-02-01:4"]
    assert got[0].anchor_at == datetime(2028, 2, 1, 9)  # a new order stops the chain
    assert run(rules, "upkeep", Facts(customers=[c]), date(2028, 3, 7)) == []


# --- replenishment: own cycle and short cycles (defect 7) ---------------------------------------


def line(
    cycle: int | None, category: str | None, delivered: str | None, gaps: tuple[int, ...] = ()
) -> LineFact:
    return LineFact(
        "o1",
        "c1",
        1,
        "乌龙茶",
        category,
        cycle,
        datetime(2026, 3, 1, 9),
        datetime.fromisoformat(delivered) if delivered else None,
        gaps,
    )


def test_own_cycle_is_the_median_pulled_toward_the_product_cycle() -> None:
    assert replenish.own_cycle((26, 26, 26), 30, 3, 0) == 26
    assert replenish.own_cycle((20, 20, 20), 30, 3, 2) == 24  # (3*20 + 2*30) / 5
    assert replenish.own_cycle((20, 40, 22), 30, 3, 2) == 25  # median 22: (66 + 60) / 5
    assert replenish.own_cycle((20,), 30, 3, 2) is None  # two orders: not enough
    assert replenish.own_cycle((20, 20), None, 3, 2) == 20  # no product cycle: theirs alone


def test_replenishment_says_which_cycle() -> None:
    rules = ruleset(catch_up_days=0)
    lead = rule_of(rules, "replenish").lead_days
    own = line(30, "food", "2026-03-02 10:00:00", gaps=(26, 26, 26))
    weight = rule_of(rules, "replenish").own_cycle_weight
    days = round((3 * 26 + weight * 30) / (3 + weight))
    today = date(2026, 3, 2 + days - lead)
    got = lc.replenish_occurrences(rules, [own], today)
    assert len(got) == 1 and f"own cycle {days} d from 4 orders" in got[0].text
    assert lc.replenish_occurrences(rules, [line(30, "food", "2026-03-02 10:00:00")], today) == []


def test_cycle_shorter_than_the_lead_never_comes_before_delivery() -> None:
    """Defect 7: a 3-day product cycle with a 5-day lead was due two days before delivery."""
    rules = ruleset(catch_up_days=0)
    short = line(3, None, "2026-03-10 10:00:00")
    assert lc.replenish_occurrences(rules, [short], date(2026, 3, 8)) == []
    got = lc.replenish_occurrences(rules, [short], date(2026, 3, 11))
    assert len(got) == 1 and "lead" in got[0].text
    # and a category default that short is refused when the rules load
    data = shipped()
    data["category_cycle_days"]["flowers"] = 4
    with pytest.raises(RulesError, match="flowers = 4 is not longer than"):
        parse_rules(data)


def test_assumed_delivery_is_said_and_flagged() -> None:
    """Issue 9 defect 6: an order without a delivery time has an assumed delivery date."""
    rules = ruleset(catch_up_days=0, assumed_delivery_days=3)
    o = OrderFact("o1", "c1", datetime(2026, 11, 25, 10), None, 1)
    got = lc.after_delivery_occurrences(rules, [o], date(2026, 11, 29))
    assert [x.rule.id for x in got] == ["care"]
    assert "delivery assumed ~2026-11-28" in got[0].text and "delivered" not in got[0].text
    assert got[0].delivery_assumed
    real = OrderFact("o2", "c1", datetime(2026, 11, 25, 10), datetime(2026, 11, 28, 9), 1)
    got = lc.after_delivery_occurrences(rules, [real], date(2026, 11, 29))
    assert "delivered 2026-11-28" in got[0].text and not got[0].delivery_assumed


# --- do-not-disturb days and capacity ------------------------------------------------------------


def test_quiet_days_move_occurrences_to_the_next_allowed_day() -> None:
    rules = ruleset(quiet_days=["2027-02-05..2027-02-12"], catch_up_days=1)
    care = rule_of(rules, "care")
    occ = lc.Occurrence("c1", care, "care:o1", date(2027, 2, 6), "care")
    assert lc.settle(rules, [occ], date(2027, 2, 6)) == []  # nothing proactive on a quiet day
    moved = lc.settle(rules, [occ], date(2027, 2, 13))
    assert [o.due for o in moved] == [date(2027, 2, 13)]
    assert "moved from 2027-02-06 (do-not-disturb)" in moved[0].text
    # the kinds are asked to look back over the quiet run, and the catch-up counts allowed
    # days: one missed the day before the quiet run is still caught up after it
    assert lc.window_start(rules, date(2027, 2, 13)) == date(2027, 2, 4)
    assert lc.lookback_days(rules, date(2027, 2, 13)) == 9
    before = lc.Occurrence("c1", care, "care:o2", date(2027, 2, 4), "care")
    assert [o.due for o in lc.settle(rules, [before], date(2027, 2, 13))] == [date(2027, 2, 4)]
    assert lc.lookback_days(rules, date(2027, 3, 1)) == 1


def item(fid: int, due: str, priority: int, value: float = 0, deferrals: int = 0) -> lc.QueueItem:
    return lc.QueueItem(fid, date.fromisoformat(due), priority, value, deferrals, False)


def test_capacity_defers_the_lowest_priority_never_the_twice_deferred() -> None:
    items = [
        item(1, "2026-03-10", 50),
        item(2, "2026-03-10", 20),
        item(3, "2026-03-09", 10),  # overdue: kept before today's
        item(4, "2026-03-10", 20, value=999),
        item(5, "2026-03-10", 5, deferrals=2),  # deferred twice already: kept
    ]
    assert lc.capacity_cut(items, 0, 0, 2) == []  # off
    assert lc.capacity_cut(items, 3, 0, 2) == [4, 2]
    assert lc.capacity_cut(items, 4, 2, 2) == [1, 4, 2]  # 2 worked already today
    # the twice-deferred one is kept even when nothing else fits
    assert lc.capacity_cut(items, 1, 0, 2) == [3, 1, 4, 2]
    assert lc.capacity_cut(items, 1, 5, 2) == [3, 1, 4, 2]


# --- defect 8: the default cadence happens for a one-time buyer --------------------------------


def test_service_touches_are_not_capped_marketing_ones_are() -> None:
    rules = load_rules(SHIPPED)
    assert {r.id for r in rules.rules if r.service} == {"care", "experience", "review"}
    review = lc.Occurrence("c1", rule_of(rules, "review"), "review:o1", date(2026, 3, 8), "r")
    coupon = lc.Occurrence("c1", rule_of(rules, "coupon"), "coupon:o1", date(2026, 3, 8), "c")
    args: dict[str, Any] = {
        "customers": {"c1": customer()},
        "existing_keys": set(),
        "pending": {},
        "touches_24h": {},
        "touches_7d": {"c1": 2},  # +1 care and +3 experience check worked
        "cap": rules.cap,
    }
    assert lc.plan_day([review], **args).new[0].capped is None
    assert (lc.plan_day([coupon], **args).new[0].capped or "").startswith("cap:")


# --- the rules file ---------------------------------------------------------------------------------


def test_unknown_kind_or_key_is_refused_with_path_and_line(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(
        '[work]\ncatch_up_days = 3\n\n[[rule]]\nid = "a"\nkind = "vip"\nstage = "loyalty"\n\n'
        '[[rule]]\nid = "b"\nkind = "member_day"\nstage = "loyalty"\nday_of_mnth = 5\n'
    )
    with pytest.raises(RulesError, match=rf"^{path}:13: rule 'b': unknown key 'day_of_mnth'"):
        load_rules(path)
    path.write_text('[[rule]]\nid = "a"\nstage = "loyalty"\nkind = "festival"\n')
    with pytest.raises(RulesError, match=rf"^{path}:4: rule 'a': kind must be one of"):
        load_rules(path)
    path.write_text("[work]\ncatch_up_days = 3\ndaily_capacty = 5\n")
    with pytest.raises(RulesError, match=rf"^{path}:3: unknown key 'daily_capacty'"):
        load_rules(path)
    path.write_text('[work]\nquiet_days = ["2027-02-30"]\n')
    with pytest.raises(RulesError, match=rf"^{path}:2: "):
        load_rules(path)
    path.write_text(
        '[[rule]]\nid = "h"\nkind = "holiday"\nstage = "upkeep"\n'
        'shop_dates = { "双11" = "11-31" }\n'
    )
    with pytest.raises(RulesError, match=rf"^{path}:5: .*shop_dates"):
        load_rules(path)
    path.write_text('[[rule]]\nid = "h"\nkind = "holiday"\nstage = "upkeep"\nholidays = ["春结"]\n')
    with pytest.raises(RulesError, match=rf"^{path}:5: rule 'h': unknown holiday '春结'"):
        load_rules(path)


def test_the_shipped_rules_keep_their_kinds() -> None:
    rules = load_rules(SHIPPED)
    assert {r.kind for r in rules.rules} == {
        "after_delivery",
        "replenish",
        "birthday",
        "winback",
        "vip",
    }
    assert rules.daily_capacity == 0 and rules.quiet_days == frozenset()


def test_own_cycle_of_one_order_is_refused_or_none(tmp_path: Path) -> None:
    # A personal cycle needs a gap, so two orders: 1 is refused where it is written...
    path = tmp_path / "rules.toml"
    path.write_text(
        '[[rule]]\nid = "r"\nkind = "replenish"\nstage = "repurchase"\nown_cycle_min_orders = 1\n'
    )
    with pytest.raises(
        RulesError, match=rf"^{path}:5: rule 'r': own_cycle_min_orders must be 0 \(off\) or >= 2"
    ):
        load_rules(path)
    path.write_text(
        '[[rule]]\nid = "r"\nkind = "replenish"\nstage = "repurchase"\nown_cycle_min_orders = 2\n'
    )
    assert rule_of(load_rules(path), "r").own_cycle_min_orders == 2
    # ...and a customer with a single order (no gap) never breaks generation.
    assert replenish.own_cycle((), 30, 1, 2) is None
    assert replenish.own_cycle((0,), 30, 1, 2) is None  # two orders the same day: no gap


def test_holiday_eligibility_by_segment() -> None:
    """``eligible_segments``: only customers whose stored RFM segment is listed; a customer
    without a segment (no stored row) is not eligible when the key is set."""
    rules = ruleset({**HOLIDAY, "eligible_segments": ["champions", "loyal"]}, catch_up_days=0)
    facts = Facts(
        customers=[
            replace(customer("champ"), segment="champions"),
            replace(customer("loyal"), segment="loyal"),
            replace(customer("lost"), segment="lost"),
            customer("none"),
        ]
    )
    got = [o.customer_id for o in run(rules, "holiday", facts, date(2026, 2, 14))]
    assert got == ["champ", "loyal"]
    # without the key the segment does not matter
    plain = ruleset(HOLIDAY, catch_up_days=0)
    assert len(run(plain, "holiday", facts, date(2026, 2, 14))) == 4


def test_unknown_eligible_segment_is_refused_with_path_line(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    text = SHIPPED.read_text(encoding="utf-8")
    text += (
        '\n[[rule]]\nid = "vip_holiday"\nkind = "holiday"\nstage = "upkeep"\n'
        'calendar = "CN"\neligible_segments = ["champions", "champs"]\n'
    )
    path.write_text(text, encoding="utf-8")
    line = text.splitlines().index('eligible_segments = ["champions", "champs"]') + 1
    with pytest.raises(RulesError, match=rf"^{path}:{line}: .*eligible_segments.*'champs'"):
        load_rules(path)
    for kind in ("member_day", "periodic"):
        assert "eligible_segments" in KIND_KEYS[kind]
