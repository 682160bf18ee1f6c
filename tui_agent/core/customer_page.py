"""The customer desk's domain types: search hits, the customer page, outcomes, the cap check.

Plain frozen dataclasses and pure functions (no SQL, no Textual): ``store.customers`` and
``store.outcomes`` fill them, the console and ``tui-agent customer|touch`` show them.

Touches are append-only. What happens to a touch later (its outcome, a retraction) and what
happens to a customer without a touch (opt-out, opt-in, a note) are *events*: new rows that
refer to the touch or the customer. Reading, the latest outcome of a touch wins, and a touch
with a retraction event no longer counts anywhere (cap, progress, attribution).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from tui_agent.core.lifecycle import cap_reason
from tui_agent.core.models import Customer, FollowUp, Order, Touch
from tui_agent.core.rules import Cap
from tui_agent.core.safetext import clean_cell, visible


class Outcome(StrEnum):
    """What came of a touch (PRODUCT.md, Words)."""

    REPLIED = "replied"
    SATISFIED = "satisfied"
    PROBLEM = "problem"
    QUESTION = "question"
    NO_REPLY = "no_reply"
    ORDERED = "ordered"
    UNREACHABLE = "unreachable"

    @property
    def label_zh(self) -> str:
        return _OUTCOME_ZH[self]

    @property
    def label(self) -> str:
        return _OUTCOME_EN[self]


_OUTCOME_ZH = {
    Outcome.REPLIED: "已回复",
    Outcome.SATISFIED: "满意",
    Outcome.PROBLEM: "反馈问题",
    Outcome.QUESTION: "有疑问",
    Outcome.NO_REPLY: "未回复",
    Outcome.ORDERED: "已下单",
    Outcome.UNREACHABLE: "联系不上",
}
_OUTCOME_EN = {
    Outcome.REPLIED: "replied",
    Outcome.SATISFIED: "satisfied",
    Outcome.PROBLEM: "problem reported",
    Outcome.QUESTION: "asked a question",
    Outcome.NO_REPLY: "no reply",
    Outcome.ORDERED: "ordered",
    Outcome.UNREACHABLE: "wrong number / unreachable",
}

OUTCOMES: tuple[str, ...] = tuple(o.value for o in Outcome)


class EventKind(StrEnum):
    """Kinds of rows in ``touch_events``: about a touch (outcome, retract) or a customer."""

    OUTCOME = "outcome"
    RETRACT = "retract"
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    NOTE = "note"


TOUCH_KINDS = frozenset({EventKind.OUTCOME, EventKind.RETRACT})


@dataclass(frozen=True, slots=True)
class TouchEvent:
    """One event row: ``touch_id`` is None for customer events (opt-out, opt-in, note)."""

    id: int
    customer_id: str
    touch_id: int | None
    kind: EventKind
    value: str | None
    note: str | None
    agent: str
    at: datetime


@dataclass(frozen=True, slots=True)
class TouchRecord:
    """A touch as the page shows it: the original row plus what its events say."""

    touch: Touch
    reply: bool  # a reply to the customer's own message (not proactive: outside the cap)
    outcome: Outcome | None = None  # the latest outcome event (or the touch's own column)
    outcome_note: str | None = None
    outcome_by: str | None = None
    outcome_at: datetime | None = None
    retraction: TouchEvent | None = None  # who took it back, when, why
    events: tuple[TouchEvent, ...] = ()  # every event of this touch, oldest first

    @property
    def retracted(self) -> bool:
        return self.retraction is not None


@dataclass(frozen=True, slots=True)
class CustomerHit:
    """One search result; ``matched`` names the key that found it, ``rank`` orders hits
    (0 best: exact id, then exact phone, WeChat id, name, ...)."""

    customer_id: str
    name: str | None
    phone: str | None
    wechat: str | None
    tier: str | None
    opt_out: bool
    order_count: int
    last_order_at: datetime | None
    matched: str
    rank: int


# Ranks of the keys, best first (exact keys before substrings).
MATCH_RANKS: dict[str, int] = {
    "id": 0,
    "phone": 1,
    "wechat": 2,
    "name": 3,
    "id_prefix": 4,
    "phone_tail": 5,
    "name_prefix": 6,
    "pinyin": 7,
    "initials": 8,
    "name_part": 9,
    "pinyin_part": 10,
    "initials_part": 11,
}


@dataclass(frozen=True, slots=True)
class CustomerPage:
    """Everything about one customer: the console's customer screen and ``customer show``."""

    customer: Customer
    notes: str | None
    orders: tuple[Order, ...]  # latest first, every order with its lines
    touches: tuple[TouchRecord, ...]  # latest first, every touch in full
    follow_ups: tuple[FollowUp, ...]  # open ones (pending or snoozed), earliest due first
    segment: str | None  # Segment value (e.g. "at_risk"), None without orders
    events: tuple[TouchEvent, ...] = ()  # customer events (opt-out/in, notes), oldest first
    # BTYD predictions (``store.predictions.PREDICTION_KEYS``), or None and why not
    predictions: Mapping[str, Any] | None = None
    prediction_missing: str | None = None

    @property
    def opted_out(self) -> bool:
        return self.customer.opt_out

    @property
    def opt_out_event(self) -> TouchEvent | None:
        """The event behind the current opt-out state (latest opt-out or opt-in), if logged."""
        kinds = {EventKind.OPT_OUT, EventKind.OPT_IN}
        return next((e for e in reversed(self.events) if e.kind in kinds), None)


@dataclass(frozen=True, slots=True)
class CapStatus:
    """Whether a touch now would break the frequency cap or the opt-out, and why.

    ``level`` is ``ok``, ``warn`` (allowed, but say why: a reply to a capped or opted-out
    customer) or ``block`` (a proactive touch over the cap or to an opted-out customer).
    """

    level: str
    reasons: tuple[str, ...]
    touches_24h: int
    touches_7d: int
    per_24h: int
    per_7d: int
    opted_out: bool
    reply: bool

    @property
    def blocked(self) -> bool:
        return self.level == "block"

    @property
    def message(self) -> str:
        return "; ".join(self.reasons)


def cap_check(
    cap: Cap, touches_24h: int, touches_7d: int, *, opted_out: bool, reply: bool
) -> CapStatus:
    """The cap verdict for one more touch, given the customer's live proactive touches.

    A reply answers the customer's own message: it is not proactive, so the cap and the
    opt-out only warn. The counts must leave out replies and retracted touches.
    """
    reasons: list[str] = []
    if opted_out:
        reasons.append("customer opted out (do not contact)")
    over = cap_reason(cap, touches_24h, touches_7d)
    if over:
        reasons.append(over)
    if not reasons:
        level = "ok"
    elif reply:
        level = "warn"
        reasons.append("allowed: a reply to the customer's own message is not proactive")
    else:
        level = "block"
    return CapStatus(
        level, tuple(reasons), touches_24h, touches_7d, cap.per_24h, cap.per_7d, opted_out, reply
    )


def prediction_line(predictions: Mapping[str, Any] | None, missing: str | None) -> str:
    """The customer's BTYD predictions in one short line (the page, ``customer show``), e.g.
    ``P(alive) 0.82 · next order ~2026-12-20 · 365-day value ¥1,240``; without them
    ``no prediction: <why>``."""
    if predictions is None:
        return f"no prediction: {missing or 'not fitted'}"
    parts = [f"P(alive) {predictions['p_alive']:.2f}"]
    nxt = predictions.get("predicted_next_order")
    parts.append(f"next order ~{nxt}" if nxt else "next order: likely gone")
    clv = predictions.get("clv_365d")
    if clv is not None:
        parts.append(f"365-day value ¥{clv:,.0f}")
    return " · ".join(parts)


def printable(text: str | None, *, newlines: bool = False) -> str:
    """``text`` safe for a terminal (``core.safetext``: controls shown as pictures such as
    ``␛``, C1 as ``\ufffd``, bidi marks dropped); one line unless ``newlines``."""
    if not text:
        return ""
    return visible(text) if newlines else clean_cell(text)


def digits(text: str | None) -> str:
    """The ASCII digits of ``text`` (a phone number as typed: spaces, dashes, +86)."""
    return "".join(c for c in (text or "") if "0" <= c <= "9")


def phone_matches(stored: str | None, query_digits: str) -> str | None:
    """``phone`` for the same number (ignoring separators and a +86/0086 prefix),
    ``phone_tail`` when the stored number ends with the query, else None."""
    have = digits(stored)
    if not have or not query_digits:
        return None
    if _national(have) == _national(query_digits):
        return "phone"
    if have.endswith(query_digits):
        return "phone_tail"
    return None


def _national(number: str) -> str:
    for prefix in ("0086", "86"):
        if number.startswith(prefix) and len(number) - len(prefix) == 11:
            return number[len(prefix) :]
    return number


# ---------------------------------------------------------------------------------------------
# Search keys of a name: full pinyin and initials


# Characters read one way as a surname and another way in ordinary words (pypinyin gives the
# word reading: 曾 ceng, 单 dan). Used for the first character of a Chinese name only.
SURNAME_READINGS: dict[str, str] = {
    "曾": "zeng",
    "单": "shan",
    "解": "xie",
    "查": "zha",
    "仇": "qiu",
    "区": "ou",
    "朴": "piao",
    "盖": "ge",
    "乐": "yue",
    "种": "chong",
    "覃": "qin",
    "翟": "zhai",
    "缪": "miao",
    "繁": "po",
}


def _is_han(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def name_syllables() -> Callable[[str], str]:
    """Pinyin of one character (``core.search.default_pinyin``), memoised: names share few
    distinct characters, so 200k customers cost a few thousand pypinyin calls, not 200k."""
    from tui_agent.core.search import default_pinyin  # loads pypinyin; only when needed

    memo: dict[str, str] = {}

    def syllable(ch: str) -> str:
        found = memo.get(ch)
        if found is None:
            found = memo[ch] = (default_pinyin(ch) or [ch])[0]
        return found

    return syllable


def search_keys(name: str | None, syllable: Callable[[str], str] | None = None) -> tuple[str, str]:
    """The name's full pinyin and initials, lowercase, without separators.

    ``王芳`` gives ``("wangfang", "wf")``, ``曾小贤`` ``("zengxiaoxian", "zxx")`` (a surname's
    reading); Latin letters and digits are kept as written (``Amy Chen`` gives
    ``("amychen", "ac")``: one initial per word).
    """
    if not name:
        return "", ""
    syl = syllable or name_syllables()
    full: list[str] = []
    initials: list[str] = []
    word = False  # inside a run of Latin letters or digits
    surname = len(name) >= 2 and _is_han(name[0]) and _is_han(name[1])
    for i, ch in enumerate(name):
        if _is_han(ch):
            s = SURNAME_READINGS.get(ch, "") if i == 0 and surname else ""
            s = s or syl(ch)
            if s.isascii() and s.isalpha():
                full.append(s)
                initials.append(s[0])
            word = False
        elif ch.isascii() and ch.isalnum():
            full.append(ch.lower())
            if not word:
                initials.append(ch.lower())
            word = True
        else:
            word = False
    return "".join(full), "".join(initials)
