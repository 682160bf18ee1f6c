"""The console's one door to the phrase library, search and placeholder rendering.

The UI talks only to this module. It delegates to ``tui_agent.core.phrases``,
``tui_agent.core.search`` and ``tui_agent.core.render`` (the phrase-library issue). Until those
land on this branch a tiny stand-in (a few built-in phrases, substring search, plain
``{name}`` filling) keeps the console usable; it is deliberately minimal and goes away when
the real modules are merged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from tui_agent.core.models import Customer, Order, Stage


@dataclass(frozen=True, slots=True)
class PhraseView:
    """A phrase as the console shows it (main language, or the customer's variant)."""

    id: str
    title: str
    body: str
    stage: Stage
    tags: tuple[str, ...] = ()
    shortcut: str | None = None


@dataclass(frozen=True, slots=True)
class Match:
    """One search hit: the phrase and the matched character spans in its title."""

    phrase: PhraseView
    spans: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Filled:
    """The phrase filled for one customer; ``missing`` placeholders still read ``{name}``."""

    text: str
    missing: tuple[str, ...] = ()


class PhraseBook:
    """The loaded phrase library with suggestion, search and filling."""

    def __init__(self, phrases: Sequence[PhraseView], library: Any = None) -> None:
        self.phrases = list(phrases)
        self._by_id = {p.id: p for p in self.phrases}
        self._library = library
        self.problems: list[str] = []

    def get(self, phrase_id: str) -> PhraseView | None:
        return self._by_id.get(phrase_id)

    def suggest(self, stage: Stage, tags: Sequence[str], language: str) -> PhraseView | None:
        """The phrase that fits a follow-up: most tags in common, then the same stage."""
        if self._library is not None:
            found = self._library.suggest(stage, tags, language)
            return None if found is None else self._by_id.get(found.id)
        best: PhraseView | None = None
        best_key = (0, 0)
        for p in self.phrases:
            key = (len(set(tags) & set(p.tags)), int(p.stage == stage))
            if key > best_key:
                best, best_key = p, key
        return best

    def search(self, query: str, limit: int = 50) -> list[Match]:
        """Ranked matches for ``query``; an empty query lists the library in its order."""
        query = query.strip()
        if not query:
            return [Match(p) for p in self.phrases[:limit]]
        try:
            from tui_agent.core import search as real_search  # type: ignore[attr-defined]
        except ImportError:
            real_search = None
        if real_search is not None and self._library is not None:
            hits = real_search.search(self._library, query, limit=limit)
            out = []
            for h in hits:
                view = self._by_id.get(h.phrase.id)
                if view is not None:
                    out.append(Match(view, tuple(getattr(h, "spans", ()))))
            return out
        q = query.lower()
        out = []
        for p in self.phrases:
            at = p.title.lower().find(q)
            if at >= 0:
                out.append(Match(p, ((at, at + len(q)),)))
            elif q in p.body.lower() or (p.shortcut and p.shortcut.lstrip("/").startswith(q)):
                out.append(Match(p))
        return out[:limit]

    def placeholder_help(self) -> dict[str, str]:
        """What each placeholder means, for the missing-values form."""
        try:
            from tui_agent.core.render import PLACEHOLDERS  # type: ignore[import-not-found]
        except ImportError:
            return {}
        return {name: p.help for name, p in PLACEHOLDERS.items()}

    def fill(
        self, phrase: PhraseView, context: Mapping[str, object], supplied: Mapping[str, str]
    ) -> Filled:
        """The phrase's text for this customer, with values the agent typed in."""
        try:
            from tui_agent.core.render import render_with  # type: ignore[import-not-found]
        except ImportError:
            return _stand_in_fill(
                phrase.body, {**context, **{k: v for k, v in supplied.items() if v.strip()}}
            )
        r = render_with(phrase.body, context, supplied)
        return Filled(r.text, tuple(r.missing))


def make_context(
    customer: Customer,
    order: Order | None,
    *,
    today: date,
    shop_name: str,
    agent_name: str,
    coupon: str | None,
    related_product: str | None = None,
) -> dict[str, object]:
    """Placeholder values for one customer and their latest order."""
    try:
        from tui_agent.core.render import build_context  # type: ignore[import-not-found]
    except ImportError:
        build_context = None
    if build_context is not None:
        ctx: dict[str, object] = build_context(
            customer,
            order,
            today=today,
            shop_name=shop_name,
            agent_name=agent_name,
            related_product=related_product,
            coupon=coupon,
        )
        return ctx
    ctx = {
        "name": customer.name,
        "shop_name": shop_name,
        "agent_name": agent_name,
        "coupon": coupon,
        "tier": customer.tier,
        "points": customer.points,
        "related_product": related_product,
    }
    if order is not None and order.lines:
        ctx["product"] = max(order.lines, key=lambda line: line.amount).product
    if order is not None and order.delivered_at is not None:
        ctx["days_since_delivery"] = (today - order.delivered_at.date()).days
    return ctx


def load_phrasebook() -> PhraseBook:
    """Load the phrase library from the usual directories (shipped, user, team)."""
    try:
        from tui_agent.core.phrases import load_library  # type: ignore[import-not-found]
    except ImportError:
        return PhraseBook(_STAND_IN)
    from tui_agent.paths import phrase_dirs

    loaded = load_library(phrase_dirs())
    views = [
        PhraseView(p.id, p.title, p.body, p.stage, tuple(p.tags), p.shortcut)
        for p in loaded.library
    ]
    book = PhraseBook(views, loaded.library)
    book.problems = [str(p) for p in loaded.problems]
    return book


# --- stand-in until the phrase-library branch is merged --------------------------------------

_FIELD = re.compile(r"\{([a-z_]+)(?:\|([^}]*))?\}")


def _stand_in_fill(body: str, context: Mapping[str, object]) -> Filled:
    missing: list[str] = []

    def one(m: re.Match[str]) -> str:
        value = context.get(m.group(1))
        if value not in (None, ""):
            return str(value)
        if m.group(2) is not None:
            return m.group(2)
        if m.group(1) not in missing:
            missing.append(m.group(1))
        return m.group(0)

    return Filled(_FIELD.sub(one, body), tuple(missing))


_STAND_IN = [
    PhraseView(
        "care-delivered",
        "签收关怀",
        "{name|亲}，您好！{product}已经签收啦，使用中有任何问题随时找我～ —{shop_name} {agent_name}",
        Stage.FIRST_PURCHASE,
        ("care", "delivery"),
        "/gh",
    ),
    PhraseView(
        "satisfaction-check",
        "满意度回访",
        "{name|亲}，{product}用了几天感觉怎么样？有需要帮忙的地方尽管说～",
        Stage.SATISFACTION,
        ("experience", "review"),
        "/my",
    ),
    PhraseView(
        "related-product",
        "关联推荐",
        "{name|亲}，买了{product}的朋友很多也会搭配{related_product}，需要的话我发您链接～",
        Stage.UPKEEP,
        ("related",),
        "/gl",
    ),
    PhraseView(
        "replenish-reminder",
        "补货提醒",
        "{name|亲}，您的{product}差不多该用完了，老客下单送您{coupon}～",
        Stage.REPURCHASE,
        ("replenish", "coupon"),
        "/bh",
    ),
    PhraseView(
        "vip-benefit",
        "会员专属福利",
        "{name}，您是我们的{tier}会员，积分{points}，本月会员日有专属福利～",
        Stage.LOYALTY,
        ("vip", "member"),
        "/hy",
    ),
]
