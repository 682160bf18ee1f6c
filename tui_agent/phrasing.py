"""The console's one door to the phrase library, its search and placeholder rendering.

The UI talks only to this module; the work is done by ``core.phrases`` (library),
``core.search`` (fuzzy and pinyin search with usage ranking) and ``core.render`` (filling).
Search runs in a thread worker; the index is read-only while searching.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from tui_agent.core.models import Customer, Order, Stage
from tui_agent.core.phrases import Library, Phrase, load_library
from tui_agent.core.render import PLACEHOLDERS, build_context, render_with
from tui_agent.core.search import PhraseIndex, PhraseUsage, build_index


@dataclass(frozen=True, slots=True)
class Match:
    """One search hit: the phrase, the title shown, and the matched spans in that title."""

    phrase: Phrase
    title: str
    spans: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Filled:
    """The phrase filled for one customer; ``missing`` placeholders still read ``{name}``."""

    text: str
    missing: tuple[str, ...] = ()


class PhraseBook:
    """The loaded library with suggestion, search and filling."""

    def __init__(self, library: Library, index: PhraseIndex, problems: Sequence[str] = ()) -> None:
        self.library = library
        self.index = index
        self.problems = list(problems)

    @classmethod
    def from_phrases(cls, phrases: Iterable[Phrase]) -> PhraseBook:
        """A book over the given phrases (tests; no pinyin cache on disk)."""
        library = Library()
        for p in phrases:
            library.phrases[p.id] = p
        return cls(library, build_index(library, None))

    def get(self, phrase_id: str) -> Phrase | None:
        return self.library.get(phrase_id)

    def suggest(
        self, stage: Stage, tags: Sequence[str], language: str, category: str | None = None
    ) -> Phrase | None:
        """The phrase that fits a follow-up best (None when none fits): see
        :meth:`core.phrases.Library.suggest`."""
        return self.library.suggest(stage, tags, language, category)

    def search(self, query: str, *, limit: int = 50, language: str | None = None) -> list[Match]:
        """Ranked matches; an empty query browses the library (most used first)."""
        out = []
        for hit in self.index.search(query, limit=limit, language=language):
            out.append(Match(hit.phrase, hit.variant.title, tuple(hit.title_spans)))
        return out

    def set_usage(self, usage: Mapping[str, PhraseUsage]) -> None:
        """Rank this agent's often and recently used phrases first."""
        self.index.set_usage(usage)

    def placeholder_help(self) -> dict[str, str]:
        """What each placeholder means, for the missing-values form."""
        return {name: p.help for name, p in PLACEHOLDERS.items()}

    def fill(
        self,
        phrase: Phrase,
        context: Mapping[str, object],
        supplied: Mapping[str, str],
        language: str | None = None,
    ) -> Filled:
        """The phrase's text (in the customer's language when it has that variant)."""
        r = render_with(phrase.variant(language).body, context, supplied)
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
    product: str | None = None,
    category: str | None = None,
) -> dict[str, object]:
    """Placeholder values for one customer and the order the follow-up is about.

    ``product``/``category`` name the product a follow-up is about (a replenishment is about
    one order line, not the order's biggest).
    """
    context = build_context(
        customer,
        order,
        today=today,
        shop_name=shop_name,
        agent_name=agent_name,
        related_product=related_product,
        coupon=coupon,
        product=product,
        category=category,
    )
    if customer.language.startswith("zh"):
        context["tier"] = member_tier(customer.tier)
    return context


def member_tier(tier: str | None) -> str | None:
    """A Chinese tier as a member level: 金卡 -> 金卡会员, 金卡会员 stays (never 会员会员).

    Shipped phrases write ``{tier}`` where the level goes and never add 会员 after it, so a
    shop that names its tiers 金卡 and one that names them 金卡会员 both read right.
    """
    if not tier:
        return tier
    name = tier.strip()
    if name.endswith(("会员", "會員")) or not any("\u4e00" <= c <= "\u9fff" for c in name):
        return name
    return name + "会员"


def load_phrasebook() -> PhraseBook:
    """Load the library from the usual directories (shipped, user, team), pinyin cached."""
    from tui_agent.paths import cache_dir, phrase_dirs

    loaded = load_library(phrase_dirs())
    try:
        index = build_index(loaded.library, cache_dir())
    except OSError:
        index = build_index(loaded.library, None)  # an unwritable cache only costs speed
    return PhraseBook(loaded.library, index, [str(p) for p in loaded.problems])
