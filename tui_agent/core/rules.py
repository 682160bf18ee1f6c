"""The lifecycle rule set: read from TOML, validated, typed.

Every rule kind names the keys it accepts in :data:`KIND_KEYS`; a rules file with an unknown
kind, an unknown key or a bad value is refused with ``path:line``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from tui_agent.core import tomltext
from tui_agent.core.models import Stage
from tui_agent.core.segments import Segment

# Keys every rule has, and the keys each kind adds. The occurrence function of each kind lives
# in ``tui_agent.core.kinds`` (one module per kind), its facts query in ``tui_agent.store.facts``.
COMMON_KEYS = ("id", "kind", "stage", "tags", "priority", "stop_on_repurchase", "label", "service")
_ELIGIBILITY = ("active_within_days", "eligible_tiers", "eligible_tags", "eligible_segments")
KIND_KEYS: dict[str, tuple[str, ...]] = {
    "after_delivery": ("days",),
    "replenish": ("lead_days", "own_cycle_min_orders", "own_cycle_weight"),
    "birthday": ("lead_days",),
    "winback": ("gap_factor", "min_days", "default_days", "p_alive_below"),
    "vip": ("min_orders", "days"),
    "holiday": ("lead_days", "calendar", "holidays", "shop_dates", "lunar_dates", *_ELIGIBILITY),
    "member_day": ("day_of_month", "lead_days", *_ELIGIBILITY),
    "periodic": ("every_days", "start_days", "within_days_of_first_order", *_ELIGIBILITY),
}
KINDS = tuple(KIND_KEYS)
_TOP_KEYS = ("cap", "work", "category_cycle_days", "rule")
_CAP_KEYS = ("per_24h", "per_7d")
_WORK_KEYS = (
    "claim_expire_minutes",
    "catch_up_days",
    "assumed_delivery_days",
    "daily_capacity",
    "max_deferrals",
    "quiet_days",
    "queue_order",
)
QUEUE_ORDERS = ("spent", "expected_value")
_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")
# China's statutory holidays by their names in the holidays package's zh_CN calendar.
STATUTORY_CN = ("元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节")


class RulesError(ValueError):
    """A rules file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    kind: str
    stage: Stage
    tags: tuple[str, ...]
    priority: int = 0
    stop_on_repurchase: bool = False
    label: str = ""
    # A service touch (care, experience check, review invitation: what an order entails) is
    # not held back by the frequency cap; it still counts as a touch for the others.
    service: bool = False
    days: int = 0  # after_delivery, vip: days after delivery
    lead_days: int = 0  # replenish, birthday, holiday, member_day: days before the date
    gap_factor: float = 1.0  # winback
    min_days: int = 30  # winback
    default_days: int = 90  # winback, when the shop has no order history to average
    # winback: also due when the BTYD model's P(alive) is below this (0 = off); see README
    p_alive_below: float = 0.0
    min_orders: int = 3  # vip
    own_cycle_min_orders: int = 0  # replenish: orders of one product for a personal cycle
    own_cycle_weight: int = 2  # replenish: how many gaps the product cycle counts as
    calendar: str = ""  # holiday: "CN" = China's statutory holidays
    holidays: tuple[str, ...] = ()  # holiday: statutory names to greet (empty = all)
    shop_dates: tuple[tuple[str, str], ...] = ()  # holiday: (name, MM-DD) solar
    lunar_dates: tuple[tuple[str, str], ...] = ()  # holiday: (name, MM-DD) lunar
    active_within_days: int = 0  # eligibility: an order in the last N days (0 = any customer)
    eligible_tiers: tuple[str, ...] = ()  # eligibility: one of these tiers ("*" = any tier)
    eligible_tags: tuple[str, ...] = ()  # eligibility: one of these customer tags
    # eligibility: one of these RFM segments (``core.segments.Segment`` values), as stored
    eligible_segments: tuple[str, ...] = ()
    day_of_month: int = 1  # member_day
    every_days: int = 7  # periodic
    start_days: int = 7  # periodic: first touch this many days after the first order
    within_days_of_first_order: int = 30  # periodic


@dataclass(frozen=True, slots=True)
class Cap:
    per_24h: int = 1
    per_7d: int = 2


@dataclass(frozen=True, slots=True)
class RuleSet:
    rules: tuple[Rule, ...]
    cap: Cap = Cap()
    claim_expire_minutes: int = 30
    catch_up_days: int = 3
    assumed_delivery_days: int = 3
    category_cycle_days: dict[str, int] = field(default_factory=dict)
    daily_capacity: int = 0  # follow-ups the team works per day; 0 = no limit
    max_deferrals: int = 2  # a follow-up deferred this often is not deferred again
    quiet_days: frozenset[date] = frozenset()  # do-not-disturb: nothing proactive due
    queue_order: str = "spent"  # or "expected_value" (BTYD clv_365d first)

    def by_id(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def of_kind(self, kind: str) -> list[Rule]:
        return [r for r in self.rules if r.kind == kind]

    def cycle_for(self, product_cycle: int | None, category: str | None) -> int | None:
        """A product's own cycle beats its category's default."""
        if product_cycle:
            return product_cycle
        if category:
            return self.category_cycle_days.get(category.strip().lower())
        return None

    def next_allowed(self, day: date) -> date:
        """``day``, or the first day after it that is not a do-not-disturb day."""
        while day in self.quiet_days:
            day += timedelta(days=1)
        return day


# ---------------------------------------------------------------------------------------------
# Where each key is written, so an error names path:line.


_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\"]+)\s*\]\]?")
_KEY = re.compile(r"^\s*(\"[^\"]*\"|'[^']*'|[A-Za-z0-9_\-]+)\s*=")

Where = tuple[str, int, str]  # (table, rule index or 0, key or "")


def key_lines(text: str) -> dict[Where, int]:
    """Line numbers of tables and keys in a rules file (a light scan, enough for messages)."""
    found: dict[Where, int] = {}
    table, index = "", 0
    for n, line in enumerate(text.splitlines(), start=1):
        h = _HEADER.match(line)
        if h:
            table = h.group(2).strip('"')
            if h.group(1) == "[[" and table == "rule":
                index += 1
            found.setdefault((table, index if table == "rule" else 0, ""), n)
            continue
        k = _KEY.match(line)
        if k:
            key = k.group(1).strip("\"'")
            found.setdefault((table, index if table == "rule" else 0, key), n)
    return found


class _Locator:
    def __init__(self, source: str, lines: dict[Where, int] | None) -> None:
        self.source = source
        self.lines = lines or {}

    def at(self, table: str, index: int = 0, key: str = "") -> str:
        n = self.lines.get((table, index, key)) or self.lines.get((table, index, ""))
        return f"{self.source}:{n}" if n else self.source


def _int(table: dict[str, Any], key: str, default: int, where: str, minimum: int = 0) -> int:
    value = table.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise RulesError(f"{where}: {key} must be an integer >= {minimum}, got {value!r}")
    return value


def _strings(raw: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise RulesError(f"{where}: {key} must be a list of strings")
    return tuple(value)


def _segments(raw: dict[str, Any], where: str) -> tuple[str, ...]:
    names = _strings(raw, "eligible_segments", where)
    known = [s.value for s in Segment]
    for name in names:
        if name not in known:
            raise RulesError(
                f"{where}: eligible_segments must name RFM segments ({', '.join(known)}), "
                f"got {name!r}"
            )
    return names


def _month_days(
    raw: dict[str, Any], key: str, where: str, lunar: bool
) -> tuple[tuple[str, str], ...]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise RulesError(f'{where}: {key} must be a table of name = "MM-DD"')
    out = []
    for name, md in value.items():
        m = _MONTH_DAY.match(md) if isinstance(md, str) else None
        ok = m is not None and 1 <= int(m.group(1)) <= 12
        if m and ok:
            ok = 1 <= int(m.group(2)) <= (30 if lunar else 31)
            if ok and not lunar:
                try:
                    date(2000, int(m.group(1)), int(m.group(2)))
                except ValueError:
                    ok = False
        if not ok:
            raise RulesError(f"{where}: {key}.{name} must be a month-day MM-DD, got {md!r}")
        out.append((str(name), str(md)))
    return tuple(out)


def _quiet_days(work: dict[str, Any], where: str) -> frozenset[date]:
    days: set[date] = set()
    for item in work.get("quiet_days", []):
        text = str(item)
        first, _, last = text.partition("..")
        try:
            start = date.fromisoformat(first.strip())
            end = date.fromisoformat(last.strip()) if last else start
        except ValueError:
            raise RulesError(
                f"{where}: quiet_days entries are YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD, "
                f"got {item!r}"
            ) from None
        if end < start or (end - start).days > 366:
            raise RulesError(f"{where}: quiet_days range {item!r} is empty or longer than a year")
        while start <= end:
            days.add(start)
            start += timedelta(days=1)
    return frozenset(days)


def _unknown(keys: Any, allowed: tuple[str, ...], where: str, what: str) -> None:
    for k in keys:
        if k not in allowed:
            raise RulesError(f"{where}: unknown key {k!r} in {what} (known: {', '.join(allowed)})")


def parse_rules(
    data: dict[str, Any], source: str = "rules.toml", lines: dict[Where, int] | None = None
) -> RuleSet:
    """Validate a parsed rules document. Raises RulesError naming the rule and the field."""
    loc = _Locator(source, lines)
    for k in data:
        if k not in _TOP_KEYS:
            raise RulesError(
                f"{loc.at(k)}: unknown table {k!r} (known: {', '.join(_TOP_KEYS)})"
                if isinstance(data[k], dict | list)
                else f"{loc.at('', 0, k)}: unknown key {k!r} (known tables: {', '.join(_TOP_KEYS)})"
            )
    cap_t = data.get("cap", {})
    work = data.get("work", {})
    _unknown(cap_t, _CAP_KEYS, loc.at("cap"), "[cap]")
    for k in cap_t:
        _int(cap_t, k, 0, f"{loc.at('cap', 0, k)}: [cap]")
    for k in work:
        if k not in _WORK_KEYS:
            _unknown([k], _WORK_KEYS, loc.at("work", 0, k), "[work]")
    cap = Cap(
        per_24h=_int(cap_t, "per_24h", 1, f"{loc.at('cap', 0, 'per_24h')}: [cap]"),
        per_7d=_int(cap_t, "per_7d", 2, f"{loc.at('cap', 0, 'per_7d')}: [cap]"),
    )
    cycles_raw = data.get("category_cycle_days", {})
    cycles: dict[str, int] = {}
    for k in cycles_raw:
        where = f"{loc.at('category_cycle_days', 0, k)}: [category_cycle_days]"
        cycles[str(k).strip().lower()] = _int(cycles_raw, k, 0, where, minimum=1)
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, raw in enumerate(data.get("rule", []), start=1):
        where = f"{loc.at('rule', i)}: rule #{i}"
        rid = raw.get("id")
        if not isinstance(rid, str) or not rid:
            raise RulesError(f"{where}: missing id")

        def at(key: str, i: int = i, rid: str = rid) -> str:
            return f"{loc.at('rule', i, key)}: rule {rid!r}"

        if rid in seen:
            raise RulesError(f"{at('id')}: duplicate id")
        seen.add(rid)
        kind = raw.get("kind")
        if kind not in KIND_KEYS:
            raise RulesError(f"{at('kind')}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
        allowed = COMMON_KEYS + KIND_KEYS[kind]
        for k in raw:
            if k not in allowed:
                raise RulesError(
                    f"{at(k)}: unknown key {k!r} for kind {kind!r} (known: {', '.join(allowed)})"
                )
        try:
            stage = Stage(raw.get("stage"))
        except ValueError:
            names = ", ".join(s.value for s in Stage)
            raise RulesError(f"{at('stage')}: stage must be one of {names}") from None
        tags = _strings(raw, "tags", at("tags"))
        factor = raw.get("gap_factor", 1.0)
        if not isinstance(factor, int | float) or factor <= 0:
            raise RulesError(f"{at('gap_factor')}: gap_factor must be a positive number")
        p_alive_below = raw.get("p_alive_below", 0.0)
        if not isinstance(p_alive_below, int | float) or not 0 <= p_alive_below < 1:
            raise RulesError(
                f"{at('p_alive_below')}: p_alive_below must be a number from 0 (off) to below 1"
            )
        cal = raw.get("calendar", "")
        if cal not in ("", "CN"):
            raise RulesError(f'{at("calendar")}: calendar must be "CN" (China), got {cal!r}')
        wanted = _strings(raw, "holidays", at("holidays"))
        unknown = [n for n in wanted if n not in STATUTORY_CN]
        if unknown:
            raise RulesError(
                f"{at('holidays')}: unknown holiday {unknown[0]!r} "
                f"(China's statutory holidays: {', '.join(STATUTORY_CN)})"
            )
        every = _int(raw, "every_days", 7, at("every_days"), minimum=1)
        own_min = _int(raw, "own_cycle_min_orders", 0, at("own_cycle_min_orders"))
        if own_min == 1:  # a personal cycle is measured between orders: it needs two
            raise RulesError(
                f"{at('own_cycle_min_orders')}: own_cycle_min_orders must be 0 (off) or >= 2 "
                "(a customer's own cycle needs at least two orders), got 1"
            )
        rules.append(
            Rule(
                id=rid,
                kind=kind,
                stage=stage,
                tags=tags,
                priority=_int(raw, "priority", 0, at("priority")),
                stop_on_repurchase=bool(raw.get("stop_on_repurchase", False)),
                label=str(raw.get("label", rid)),
                service=bool(raw.get("service", False)),
                days=_int(raw, "days", 0, at("days")),
                lead_days=_int(raw, "lead_days", 0, at("lead_days")),
                gap_factor=float(factor),
                p_alive_below=float(p_alive_below),
                min_days=_int(raw, "min_days", 30, at("min_days"), minimum=1),
                default_days=_int(raw, "default_days", 90, at("default_days"), minimum=1),
                min_orders=_int(raw, "min_orders", 3, at("min_orders"), minimum=1),
                own_cycle_min_orders=own_min,
                own_cycle_weight=_int(raw, "own_cycle_weight", 2, at("own_cycle_weight")),
                calendar=cal,
                holidays=wanted,
                shop_dates=_month_days(raw, "shop_dates", at("shop_dates"), lunar=False),
                lunar_dates=_month_days(raw, "lunar_dates", at("lunar_dates"), lunar=True),
                active_within_days=_int(
                    raw,
                    "active_within_days",
                    365 if kind == "holiday" else 0,
                    at("active_within_days"),
                ),
                eligible_tiers=_strings(raw, "eligible_tiers", at("eligible_tiers"))
                or (("*",) if kind == "member_day" else ()),
                eligible_tags=_strings(raw, "eligible_tags", at("eligible_tags")),
                eligible_segments=_segments(raw, at("eligible_segments")),
                day_of_month=_int(raw, "day_of_month", 1, at("day_of_month"), minimum=1),
                every_days=every,
                start_days=_int(raw, "start_days", every, at("start_days")),
                within_days_of_first_order=_int(
                    raw, "within_days_of_first_order", 30, at("within_days_of_first_order"), 1
                ),
            )
        )
        if rules[-1].day_of_month > 31:
            raise RulesError(f"{at('day_of_month')}: day_of_month must be 1-31")
    ruleset = RuleSet(
        rules=tuple(rules),
        cap=cap,
        claim_expire_minutes=_int(
            work,
            "claim_expire_minutes",
            30,
            f"{loc.at('work', 0, 'claim_expire_minutes')}: [work]",
            1,
        ),
        catch_up_days=_int(
            work, "catch_up_days", 3, f"{loc.at('work', 0, 'catch_up_days')}: [work]"
        ),
        assumed_delivery_days=_int(
            work,
            "assumed_delivery_days",
            3,
            f"{loc.at('work', 0, 'assumed_delivery_days')}: [work]",
        ),
        category_cycle_days=cycles,
        daily_capacity=_int(
            work, "daily_capacity", 0, f"{loc.at('work', 0, 'daily_capacity')}: [work]"
        ),
        max_deferrals=_int(
            work, "max_deferrals", 2, f"{loc.at('work', 0, 'max_deferrals')}: [work]"
        ),
        quiet_days=_quiet_days(work, f"{loc.at('work', 0, 'quiet_days')}: [work]"),
        queue_order=_queue_order(work, f"{loc.at('work', 0, 'queue_order')}: [work]"),
    )
    _check_cycles(ruleset, loc)
    return ruleset


def _queue_order(work: dict[str, Any], where: str) -> str:
    value = work.get("queue_order", "spent")
    if value not in QUEUE_ORDERS:
        raise RulesError(
            f"{where} queue_order must be one of {', '.join(QUEUE_ORDERS)}, got {value!r}"
        )
    return str(value)


def _check_cycles(rules: RuleSet, loc: _Locator) -> None:
    """A category cycle no longer than the replenishment lead would put the reminder on or
    before the delivery day (defect: it did). Refused here; a product's own cycle from
    products.csv that is that short is handled when scheduling (see ``kinds.replenish``)."""
    for rule in rules.of_kind("replenish"):
        for cat, days in rules.category_cycle_days.items():
            if days <= rule.lead_days:
                raise RulesError(
                    f"{loc.at('category_cycle_days', 0, cat)}: [category_cycle_days] {cat} = "
                    f"{days} is not longer than rule {rule.id!r}'s lead_days = {rule.lead_days}: "
                    "the reminder would come before the delivery"
                )


def load_rules(path: Path) -> RuleSet:
    try:
        text = path.read_bytes().decode("utf-8")
        data = tomltext.loads(text)
    except tomltext.TooDeeplyNested:
        raise RulesError(f"{path}: {tomltext.TOO_DEEP}") from None
    except OSError as exc:
        raise RulesError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise RulesError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{path}: {exc}") from None
    return parse_rules(data, str(path), key_lines(text))
