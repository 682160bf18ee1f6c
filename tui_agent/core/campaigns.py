"""Campaigns (批量触达), pure: the audience spec, the holdout draw, daily pacing, the report.

The store selects the audience with SQL, writes members and follow-ups; everything that is
a decision (who is held out, who is worked today, who waits for the cap, what the figures
say) lives here so it is tested without a database.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from tui_agent.core.intervals import Interval, newcombe_diff, too_thin, wilson
from tui_agent.core.lifecycle import cap_reason
from tui_agent.core.rules import Cap
from tui_agent.core.safetext import clean_cell

STATUSES = ("active", "paused", "ended")
# A campaign's name is typed on the command line and shown in reasons: keep it plain.
NAME_RE = re.compile(r"^[\w\u3000-\u9fff][\w\u3000-\u9fff .+-]{0,63}$")


class CampaignError(ValueError):
    """A campaign request that cannot be carried out (one line, for the user)."""


@dataclass(frozen=True, slots=True)
class Audience:
    """Who a campaign is for: every given filter must hold (AND). Empty = every customer."""

    segment: str | None = None  # RFM segment value, e.g. "at_risk"
    tags: tuple[str, ...] = ()  # every tag must be on the customer
    tier: str | None = None
    category: str | None = None  # bought in this category (any order line)
    last_order_before: date | None = None  # last order strictly before this day
    last_order_after: date | None = None  # last order on or after this day
    min_orders: int | None = None
    customer_ids: tuple[str, ...] | None = None  # from --customers FILE.csv

    def to_json(self) -> str:
        data: dict[str, Any] = {k: v for k, v in asdict(self).items() if v not in (None, ())}
        for key in ("last_order_before", "last_order_after"):
            if key in data:
                data[key] = data[key].isoformat()
        if "customer_ids" in data:
            data["customer_ids"] = list(data["customer_ids"])
        if "tags" in data:
            data["tags"] = list(data["tags"])
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Audience:
        data = json.loads(text or "{}")
        for key in ("last_order_before", "last_order_after"):
            if data.get(key):
                data[key] = date.fromisoformat(data[key])
        if "tags" in data:
            data["tags"] = tuple(data["tags"])
        if data.get("customer_ids") is not None:
            data["customer_ids"] = tuple(data["customer_ids"])
        return cls(**data)

    def describe(self) -> str:
        """One line for people: ``segment=at_risk, tag=vip, min_orders=2``."""
        parts: list[str] = []
        if self.segment:
            parts.append(f"segment={self.segment}")
        parts.extend(f"tag={t}" for t in self.tags)
        if self.tier:
            parts.append(f"tier={self.tier}")
        if self.category:
            parts.append(f"category={self.category}")
        if self.last_order_before:
            parts.append(f"last order before {self.last_order_before}")
        if self.last_order_after:
            parts.append(f"last order on/after {self.last_order_after}")
        if self.min_orders is not None:
            parts.append(f"orders >= {self.min_orders}")
        if self.customer_ids is not None:
            parts.append(f"{len(self.customer_ids)} listed customers")
        return ", ".join(parts) or "every customer"


@dataclass(frozen=True, slots=True)
class Campaign:
    """A named outreach: its phrase, audience, holdout, pacing and status."""

    id: int
    name: str
    phrase_id: str
    audience: Audience
    holdout_pct: float
    seed: str
    start: date
    per_day: int | None
    status: str  # one of STATUSES
    created_by: str | None = None

    def same_settings(self, other: Campaign) -> bool:
        """True when ``other`` asks for exactly this campaign (a re-run of ``create``)."""
        mine = (self.phrase_id, self.audience, self.holdout_pct, self.seed, self.start)
        theirs = (other.phrase_id, other.audience, other.holdout_pct, other.seed, other.start)
        return mine == theirs and self.per_day == other.per_day

    def differences(self, other: Campaign) -> list[str]:
        out = []
        for attr in ("phrase_id", "audience", "holdout_pct", "seed", "start", "per_day"):
            if getattr(self, attr) != getattr(other, attr):
                out.append(attr)
        return out


def check_name(name: str) -> str:
    name = name.strip()
    if not NAME_RE.match(name):
        raise CampaignError(
            f"campaign name {name!r}: use letters, digits, Chinese, space . + - _ (at most 64)"
        )
    return name


def check_holdout(pct: float) -> float:
    if not 0 <= pct < 100:
        raise CampaignError(f"--holdout {pct}: a percentage from 0 to below 100")
    return pct


def holdout_draw(seed: str, customer_id: str) -> float:
    """A number in [0, 1) fixed by the seed and the customer alone.

    A hash rather than a shuffle: a customer's group never depends on who else is in the
    audience, so the draw is reproducible and stable when the audience grows (a merge).
    """
    digest = hashlib.sha256(f"{seed}\x1f{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def in_holdout(seed: str, customer_id: str, pct: float) -> bool:
    return holdout_draw(seed, customer_id) < pct / 100


@dataclass(frozen=True, slots=True)
class Candidate:
    """A contact-group member waiting to be worked, with what the cap needs to know."""

    customer_id: str
    opt_out: bool
    touches_24h: int = 0
    touches_7d: int = 0
    busy_today: bool = False  # another follow-up is open and due for this customer


@dataclass(frozen=True, slots=True)
class DayPick:
    """What one campaign does on one day."""

    schedule: tuple[str, ...] = ()
    capped: dict[str, str] = field(default_factory=dict)  # customer -> reason
    opted_out: tuple[str, ...] = ()


def pick_day(candidates: Sequence[Candidate], quota: int, cap: Cap) -> DayPick:
    """Today's members, in the given order, up to ``quota``.

    An opted-out customer is never scheduled; one over the frequency cap (or with another
    follow-up due today, since two touches on one day are what the cap forbids) waits with
    the reason and is tried again on a later day. Candidates past the quota are left as they are.
    """
    schedule: list[str] = []
    capped: dict[str, str] = {}
    opted: list[str] = []
    for c in candidates:
        if c.opt_out:
            opted.append(c.customer_id)
            continue
        if len(schedule) >= quota:
            continue
        reason = cap_reason(cap, c.touches_24h, c.touches_7d)
        if reason is None and c.busy_today:
            reason = "cap: another follow-up is due today"
        if reason is not None:
            capped[c.customer_id] = reason
            continue
        schedule.append(c.customer_id)
    return DayPick(tuple(schedule), capped, tuple(opted))


def day_quota(per_day: int | None, scheduled_today: int) -> int:
    """How many more members may be scheduled today (``per_day`` None = no limit)."""
    if per_day is None:
        return 1 << 62
    return max(0, per_day - scheduled_today)


@dataclass(frozen=True, slots=True)
class GroupOutcome:
    """One group's figures over the attribution window."""

    members: int
    converted: int
    revenue: float

    @property
    def rate(self) -> Interval | None:
        return wilson(self.converted, self.members)

    @property
    def revenue_per_member(self) -> float | None:
        return self.revenue / self.members if self.members else None

    @property
    def thin(self) -> bool:
        return too_thin(self.converted, self.members)


@dataclass(frozen=True, slots=True)
class Report:
    name: str
    window_days: int
    contacted: GroupOutcome
    holdout: GroupOutcome

    @property
    def lift(self) -> Interval | None:
        """Contacted conversion minus holdout conversion, with Newcombe's interval."""
        c, h = self.contacted, self.holdout
        return newcombe_diff(c.converted, c.members, h.converted, h.members)

    @property
    def warning(self) -> str | None:
        if self.contacted.members == 0:
            return "nobody has been contacted yet"
        if self.holdout.members == 0:
            return "no holdout group: the lift cannot be measured"
        if self.contacted.thin or self.holdout.thin:
            return (
                "groups too small to say anything (each needs 30 members and 5 who ordered "
                "and 5 who did not): read the intervals, not the rates"
            )
        return None

    def to_dict(self) -> dict[str, Any]:
        c, h = self.contacted, self.holdout
        lift = self.lift
        return {
            "name": self.name,
            "window_days": self.window_days,
            "contacted": c.members,
            "contacted_converted": c.converted,
            "holdout": h.members,
            "holdout_converted": h.converted,
            "conversion": _value(c.rate),
            "conversion_ci": _ci(c.rate),
            "holdout_conversion": _value(h.rate),
            "holdout_conversion_ci": _ci(h.rate),
            "revenue": round(c.revenue, 2),
            "holdout_revenue": round(h.revenue, 2),
            "revenue_per_member": _round(c.revenue_per_member),
            "holdout_revenue_per_member": _round(h.revenue_per_member),
            "lift": _value(lift),
            "lift_ci": _ci(lift),
            "warning": self.warning,
        }


def _value(i: Interval | None) -> float | None:
    return None if i is None else i.value


def _ci(i: Interval | None) -> list[float] | None:
    # Six places: enough for any rate, and 0/n's lower bound prints as 0, not 5.6e-17.
    return None if i is None else [round(x, 6) for x in i.as_list()]


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


def printable(text: str) -> str:
    """Text from the shop's files, safe to print on a terminal: the one cleaning every
    imported cell gets (``core.safetext.clean_cell``: controls made visible, bidi marks
    dropped, one line)."""
    return clean_cell(text)


_ID_HEADERS = ("customer_id", "id", "客户id", "客户编号")


def parse_customer_list(text: str, source: str) -> dict[str, int]:
    """Customer ids from a CSV (each with its line): the ``customer_id`` column (``id`` also
    works), or the only column of a file without a header. Raises CampaignError naming
    ``source:line``."""
    import csv
    import io

    rows = csv.reader(io.StringIO(text))
    ids: dict[str, int] = {}
    column: int | None = None
    try:
        for row in rows:
            line = rows.line_num
            cells = [c.strip() for c in row]
            if not any(cells):
                continue
            if column is None:
                names = [c.lower() for c in cells]
                found = next((names.index(h) for h in _ID_HEADERS if h in names), None)
                if found is not None:
                    column = found
                    continue
                if len(cells) > 1:
                    raise CampaignError(
                        f"{source}:{line}: no customer_id column (header: "
                        f"{printable(', '.join(cells))[:80]})"
                    )
                column = 0
            if column >= len(cells) or not cells[column]:
                raise CampaignError(f"{source}:{line}: empty customer id")
            cid = cells[column]
            if len(cid) > 200 or printable(cid) != cid:
                raise CampaignError(f"{source}:{line}: not a customer id: {printable(cid)[:40]!r}")
            ids.setdefault(cid, line)
    except csv.Error as exc:
        raise CampaignError(f"{source}:{rows.line_num}: {exc}") from None
    if not ids:
        raise CampaignError(f"{source}: no customer ids")
    return ids
