"""The lifecycle rule set: read from TOML, validated, typed."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui_agent.core import tomltext
from tui_agent.core.models import Stage

KINDS = ("after_delivery", "replenish", "birthday", "winback", "vip")


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
    days: int = 0  # after_delivery, vip: days after delivery
    lead_days: int = 0  # replenish, birthday: days before the date
    gap_factor: float = 1.0  # winback
    min_days: int = 30  # winback
    default_days: int = 90  # winback, when the shop has no order history to average
    min_orders: int = 3  # vip


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


def _int(table: dict[str, Any], key: str, default: int, where: str, minimum: int = 0) -> int:
    value = table.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise RulesError(f"{where}: {key} must be an integer >= {minimum}, got {value!r}")
    return value


def parse_rules(data: dict[str, Any], source: str = "rules.toml") -> RuleSet:
    """Validate a parsed rules document. Raises RulesError naming the rule and the field."""
    cap_t = data.get("cap", {})
    work = data.get("work", {})
    cap = Cap(
        per_24h=_int(cap_t, "per_24h", 1, f"{source} [cap]"),
        per_7d=_int(cap_t, "per_7d", 2, f"{source} [cap]"),
    )
    cycles_raw = data.get("category_cycle_days", {})
    cycles: dict[str, int] = {}
    for k in cycles_raw:
        cycles[str(k).strip().lower()] = _int(
            cycles_raw, k, 0, f"{source} [category_cycle_days]", minimum=1
        )
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, raw in enumerate(data.get("rule", []), start=1):
        where = f"{source} rule #{i}"
        rid = raw.get("id")
        if not isinstance(rid, str) or not rid:
            raise RulesError(f"{where}: missing id")
        where = f"{source} rule {rid!r}"
        if rid in seen:
            raise RulesError(f"{where}: duplicate id")
        seen.add(rid)
        kind = raw.get("kind")
        if kind not in KINDS:
            raise RulesError(f"{where}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
        try:
            stage = Stage(raw.get("stage"))
        except ValueError:
            names = ", ".join(s.value for s in Stage)
            raise RulesError(f"{where}: stage must be one of {names}") from None
        tags = raw.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise RulesError(f"{where}: tags must be a list of strings")
        factor = raw.get("gap_factor", 1.0)
        if not isinstance(factor, int | float) or factor <= 0:
            raise RulesError(f"{where}: gap_factor must be a positive number")
        rules.append(
            Rule(
                id=rid,
                kind=kind,
                stage=stage,
                tags=tuple(tags),
                priority=_int(raw, "priority", 0, where),
                stop_on_repurchase=bool(raw.get("stop_on_repurchase", False)),
                label=str(raw.get("label", rid)),
                days=_int(raw, "days", 0, where),
                lead_days=_int(raw, "lead_days", 0, where),
                gap_factor=float(factor),
                min_days=_int(raw, "min_days", 30, where, minimum=1),
                default_days=_int(raw, "default_days", 90, where, minimum=1),
                min_orders=_int(raw, "min_orders", 3, where, minimum=1),
            )
        )
    return RuleSet(
        rules=tuple(rules),
        cap=cap,
        claim_expire_minutes=_int(work, "claim_expire_minutes", 30, f"{source} [work]", 1),
        catch_up_days=_int(work, "catch_up_days", 3, f"{source} [work]"),
        assumed_delivery_days=_int(work, "assumed_delivery_days", 3, f"{source} [work]"),
        category_cycle_days=cycles,
    )


def load_rules(path: Path) -> RuleSet:
    try:
        with path.open("rb") as f:
            data = tomltext.loads(f.read().decode("utf-8"))
    except tomltext.TooDeeplyNested:
        raise RulesError(f"{path}: {tomltext.TOO_DEEP}") from None
    except UnicodeDecodeError as exc:
        raise RulesError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise RulesError(f"{path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{path}: {exc}") from None
    return parse_rules(data, str(path))
