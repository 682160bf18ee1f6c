"""Fuzzy phrase search: Chinese, English, pinyin, pinyin initials, shortcuts, filters.

One query box. ``#tag`` and ``stage:NAME`` (also ``lang:en``) narrow the set; the rest is
matched against each phrase variant's title, body, tags and shortcut, and against the
title's full pinyin (``buhuotixing``) and initials (``bhtx``).

Ranking: an exact shortcut first, then a shortcut prefix, then text score (substring hits
score 100, typos a little less, via rapidfuzz; body hits count 0.9; a title or title pinyin
that starts with the query gets +5, one that equals it +10). With the same text score,
phrases this agent used more often and more recently come first (``usage``, read from the
touch log by ``store.usage``).

Speed: a character index (one bitset per character over all variants) keeps only the
variants that contain nearly every character of the query before rapidfuzz scores them.
Pinyin costs ~150 us per title, so it is cached on disk (:class:`PinyinCache`) keyed by the
title text: an unchanged library never recomputes it; a changed title recomputes only itself.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process

from tui_agent.core.models import Stage
from tui_agent.core.phrases import Phrase, Variant

Span = tuple[int, int]
PinyinFn = Callable[[str], list[str]]
_HAN = re.compile(r"[\u3400-\u9fff]")
CACHE_VERSION = 1
PREFIX_BONUS = 5.0
EXACT_BONUS = 10.0


@dataclass(frozen=True, slots=True)
class PhraseUsage:
    """How often and how recently one agent used a phrase."""

    count: int
    last_at: datetime


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result: the phrase, the variant that matched, and where to highlight."""

    phrase: Phrase
    language: str
    score: float
    tier: int  # 3 exact shortcut, 2 shortcut prefix, 1 text match, 0 no text query
    title_spans: tuple[Span, ...] = ()
    body_spans: tuple[Span, ...] = ()

    @property
    def variant(self) -> Variant:
        return self.phrase.variant(self.language)


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: free text plus filters."""

    text: str
    tags: tuple[str, ...] = ()
    stage: Stage | None = None
    language: str | None = None


_STAGE_ALIASES: dict[str, Stage] = {}
for _s in Stage:
    for _alias in (_s.value, _s.label, _s.label.replace(" ", "-"), _s.label_zh):
        _STAGE_ALIASES[_alias.lower()] = _s
_STAGE_ALIASES["first"] = Stage.FIRST_PURCHASE


def parse_query(raw: str) -> Query:
    """Split ``#tag``, ``stage:x`` and ``lang:x`` filters from the free text.

    An unknown stage name is kept as text, so a typo never silently empties the list.
    """
    words: list[str] = []
    tags: list[str] = []
    stage: Stage | None = None
    language: str | None = None
    for token in raw.split():
        low = token.lower()
        if low.startswith("#") and len(low) > 1:
            tags.append(low[1:])
        elif low.startswith("stage:") and low[6:] in _STAGE_ALIASES:
            stage = _STAGE_ALIASES[low[6:]]
        elif low.startswith("lang:") and len(low) > 5:
            language = low[5:]
        else:
            words.append(low)
    return Query(" ".join(words), tuple(tags), stage, language)


def _split_chars(chunk: str) -> list[str]:
    return list(chunk)


def default_pinyin(text: str) -> list[str]:
    """One lowercase syllable per character of ``text`` (non-Han characters map to themselves)."""
    if not _HAN.search(text):
        return [c.lower() for c in text]
    from pypinyin import lazy_pinyin  # imported late: loading its dictionaries is slow

    # Non-Han runs come back one item per character, keeping the alignment spans rely on.
    keep: Any = _split_chars
    out = [s.lower() for s in lazy_pinyin(text, errors=keep)]
    if len(out) != len(text):  # defensive: fall back to one call per character
        out = [(lazy_pinyin(c, errors=keep) or [c])[0].lower() for c in text]
    return out


class PinyinCache:
    """Title text -> per-character pinyin, stored as JSON in the user cache dir.

    ``path=None`` keeps it in memory only. ``computed`` counts real pinyin computations, so
    tests (and the benchmark) can check that an unchanged library recomputes nothing.
    """

    def __init__(self, path: Path | None, pinyin: PinyinFn = default_pinyin) -> None:
        self.path = path
        self._pinyin = pinyin
        self._data: dict[str, list[str]] = {}
        self._used: set[str] = set()
        self._dirty = False
        self.computed = 0
        if path is not None:
            try:
                raw = json.loads(path.read_text(encoding="utf-8"))
                if raw.get("version") == CACHE_VERSION and isinstance(raw.get("titles"), dict):
                    self._data = raw["titles"]
            except (OSError, ValueError, AttributeError):
                self._data = {}  # a missing or damaged cache is just rebuilt

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()

    def get(self, text: str) -> list[str]:
        key = self._key(text)
        self._used.add(key)
        syllables = self._data.get(key)
        if syllables is None or len(syllables) != len(text):
            syllables = self._pinyin(text)
            self._data[key] = syllables
            self._dirty = True
            self.computed += 1
        return syllables

    def save(self) -> None:
        """Write the cache if anything changed, keeping only titles used since loading."""
        if self.path is None:
            return
        stale = set(self._data) - self._used
        if not self._dirty and not stale:
            return
        for key in stale:
            del self._data[key]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".pinyin.", dir=self.path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"version": CACHE_VERSION, "titles": self._data}, fh, ensure_ascii=False)
            os.replace(tmp, self.path)
        except OSError:
            return  # a cache that cannot be written only costs time at the next start
        self._dirty = False


@dataclass(slots=True)
class _Entry:
    phrase: Phrase
    variant: Variant
    title: str  # casefolded
    body: str  # casefolded
    key: str  # title, tags, shortcut, pinyin, initials (casefolded): what the scorer sees
    pinyin_full: str
    pinyin_starts: list[int]  # offset of each title character's syllable in pinyin_full
    initials: str
    initial_chars: list[int]  # title character index of each letter in initials


def _bits_to_indices(bits: int) -> list[int]:
    """Indices of the set bits of ``bits``, in increasing order."""
    out: list[int] = []
    if not bits:
        return out
    raw = bits.to_bytes((bits.bit_length() + 7) // 8, "little")
    for byte_index, byte in enumerate(raw):
        if byte:
            base = byte_index * 8
            out.extend(base + b for b in _BYTE_BITS[byte])
    return out


_BYTE_BITS: list[tuple[int, ...]] = [
    tuple(b for b in range(8) if value >> b & 1) for value in range(256)
]


class PhraseIndex:
    """Everything needed to search a library quickly; build once, query many times."""

    def __init__(
        self,
        phrases: Iterable[Phrase],
        *,
        cache: PinyinCache | None = None,
        usage: Mapping[str, PhraseUsage] | None = None,
        now: datetime | None = None,
    ) -> None:
        self._cache = cache if cache is not None else PinyinCache(None)
        self._entries: list[_Entry] = []
        self._char_bits: dict[str, int] = {}
        self._shortcuts: dict[str, Phrase] = {}
        for phrase in phrases:
            if phrase.shortcut:
                self._shortcuts.setdefault(phrase.shortcut.lstrip("/"), phrase)
            for variant in phrase.variants:
                self._add(phrase, variant)
        self._keys = [e.key for e in self._entries]
        self._bodies = [e.body for e in self._entries]
        self._all = (1 << len(self._entries)) - 1
        self._cache.save()
        self._frecency: dict[str, float] = {}
        self.set_usage(usage or {}, now)

    def __len__(self) -> int:
        return len(self._entries)

    def set_usage(self, usage: Mapping[str, PhraseUsage], now: datetime | None = None) -> None:
        """Replace the usage data (after a touch is logged, say)."""
        now = now or datetime.now()
        self._frecency = {
            pid: u.count / (1.0 + max(0.0, (now - u.last_at).total_seconds()) / 86400 / 7)
            for pid, u in usage.items()
            if u.count > 0
        }

    def _add(self, phrase: Phrase, variant: Variant) -> None:
        title = variant.title.lower()
        syllables = self._cache.get(variant.title) if _HAN.search(variant.title) else []
        starts: list[int] = []
        full_parts: list[str] = []
        initials: list[str] = []
        initial_chars: list[int] = []
        pos = 0
        for i, syl in enumerate(syllables):
            starts.append(pos)
            full_parts.append(syl)
            pos += len(syl)
            if syl.isalnum():
                initials.append(syl[0])
                initial_chars.append(i)
        full = "".join(full_parts)
        initials_text = "".join(initials)
        fields = [title, " ".join(phrase.tags).lower(), (phrase.shortcut or "").lstrip("/")]
        if syllables:
            fields += [full, initials_text]
        entry = _Entry(
            phrase=phrase,
            variant=variant,
            title=title,
            body=variant.body.lower(),
            key="  ".join(f for f in fields if f),
            pinyin_full=full,
            pinyin_starts=starts,
            initials=initials_text,
            initial_chars=initial_chars,
        )
        bit = 1 << len(self._entries)
        self._entries.append(entry)
        for ch in set(entry.key) | set(entry.body):
            if not ch.isspace():
                self._char_bits[ch] = self._char_bits.get(ch, 0) | bit

    def _candidates(self, text: str, allowed: int) -> int:
        """Bitset of entries holding all but at most ``allowed`` of the query's characters."""
        chars = {c for c in text if not c.isspace()}
        if not chars:
            return self._all
        # at_least[j]: entries that hold at least j+1 of the characters seen so far.
        need = max(1, len(chars) - allowed)
        at_least = [0] * need
        for c in chars:
            bits = self._char_bits.get(c, 0)
            if not bits:
                continue
            for j in range(need - 1, 0, -1):
                at_least[j] |= at_least[j - 1] & bits
            at_least[0] |= bits
        return at_least[need - 1]

    def search(self, raw_query: str, *, limit: int = 20, language: str | None = None) -> list[Hit]:
        """The best phrases for a query, one hit per phrase (its best-matching variant).

        ``language`` breaks ties in favour of that variant (the customer's language).
        """
        query = parse_query(raw_query)
        text = query.text
        filtered = self._filter_bits(query)
        if not text:
            return self._browse(filtered, limit, language)
        allowed = 0 if len(text) <= 3 else 1 if len(text) <= 6 else 2
        bits = self._candidates(text, allowed) & filtered
        idx = _bits_to_indices(bits)
        cutoff = 100.0 if len(text) <= 2 else 70.0
        scores: dict[int, float] = {}
        keys = [self._keys[i] for i in idx]
        for _, score, pos in process.extract(
            text, keys, scorer=fuzz.partial_ratio, score_cutoff=cutoff, limit=None
        ):
            scores[idx[pos]] = score
        # Body hits count a little less than title, tag and pinyin hits.
        bodies = [self._bodies[i] for i in idx]
        for _, score, pos in process.extract(
            text, bodies, scorer=fuzz.partial_ratio, score_cutoff=cutoff, limit=None
        ):
            i = idx[pos]
            scores[i] = max(scores.get(i, 0.0), score * 0.9)
        # Among full hits, a title (or its pinyin) that starts with or equals the query is
        # the better answer: 补货提醒 before 食品饮料补货提醒 for "bhtx".
        squeezed = text.replace(" ", "")
        for i, score in scores.items():
            if score >= 100.0:
                e = self._entries[i]
                if squeezed in (e.title, e.initials, e.pinyin_full):
                    scores[i] = score + EXACT_BONUS
                elif (
                    e.title.startswith(text)
                    or (e.initials and e.initials.startswith(squeezed))
                    or (e.pinyin_full and e.pinyin_full.startswith(squeezed))
                ):
                    scores[i] = score + PREFIX_BONUS
        shortcut = text.lstrip("/")
        tiers: dict[int, int] = {}
        if shortcut and " " not in shortcut:
            for i in _bits_to_indices(filtered):
                sc = (self._entries[i].phrase.shortcut or "").lstrip("/")
                if sc == shortcut:
                    tiers[i] = 3
                elif sc.startswith(shortcut):
                    tiers[i] = 2
                else:
                    continue
                scores.setdefault(i, 100.0)
        ranked = sorted(
            (i for i, score in scores.items() if score >= cutoff),
            key=lambda i: (
                -tiers.get(i, 1),
                -math.floor(scores[i]),
                -self._frecency.get(self._entries[i].phrase.id, 0.0),
                self._entries[i].variant.language != language,
                i,
            ),
        )
        hits: list[Hit] = []
        seen: set[str] = set()
        for i in ranked:
            entry = self._entries[i]
            if entry.phrase.id in seen:
                continue
            seen.add(entry.phrase.id)
            title_spans, body_spans = self._spans(entry, text)
            hits.append(
                Hit(
                    phrase=entry.phrase,
                    language=entry.variant.language,
                    score=round(scores[i], 1),
                    tier=tiers.get(i, 1),
                    title_spans=title_spans,
                    body_spans=body_spans,
                )
            )
            if len(hits) >= limit:
                break
        return hits

    def _filter_bits(self, query: Query) -> int:
        if not (query.tags or query.stage or query.language):
            return self._all
        bits = 0
        for n, e in enumerate(self._entries):
            if query.stage is not None and e.phrase.stage is not query.stage:
                continue
            if query.language is not None and e.variant.language != query.language:
                continue
            if query.tags and not all(
                any(t.lower().startswith(q) for t in e.phrase.tags) for q in query.tags
            ):
                continue
            bits |= 1 << n
        return bits

    def _browse(self, bits: int, limit: int, language: str | None) -> list[Hit]:
        """No free text: the filtered phrases, most used first, then library order."""
        order = sorted(
            _bits_to_indices(bits),
            key=lambda i: (
                -self._frecency.get(self._entries[i].phrase.id, 0.0),
                self._entries[i].variant.language != language,
                i,
            ),
        )
        hits: list[Hit] = []
        seen: set[str] = set()
        for i in order:
            e = self._entries[i]
            if e.phrase.id in seen:
                continue
            seen.add(e.phrase.id)
            hits.append(Hit(e.phrase, e.variant.language, 0.0, 0))
            if len(hits) >= limit:
                break
        return hits

    def _spans(self, entry: _Entry, text: str) -> tuple[tuple[Span, ...], tuple[Span, ...]]:
        """Where the query matched, as [start, end) offsets into the title and the body."""
        words = [w for w in text.split() if w]
        title = _substring_spans(entry.title, words)
        body = _substring_spans(entry.body, words)
        if not title:
            title = self._pinyin_spans(entry, text.replace(" ", ""))
        if not title and not body:
            # A typo: ask rapidfuzz where the best partial alignment lies.
            for target, is_title in ((entry.title, True), (entry.body, False)):
                if not target:
                    continue
                al = fuzz.partial_ratio_alignment(text, target, score_cutoff=60)
                if al is not None and al.dest_end > al.dest_start:
                    span = ((al.dest_start, al.dest_end),)
                    if is_title:
                        title = span
                    else:
                        body = span
                    break
        return title, body

    @staticmethod
    def _pinyin_spans(entry: _Entry, text: str) -> tuple[Span, ...]:
        if not text or not entry.pinyin_full:
            return ()
        pos = entry.initials.find(text)
        if pos >= 0:
            first = entry.initial_chars[pos]
            last = entry.initial_chars[pos + len(text) - 1]
            return ((first, last + 1),)
        pos = entry.pinyin_full.find(text)
        if pos >= 0:
            end = pos + len(text)
            chars = [
                i
                for i, s in enumerate(entry.pinyin_starts)
                if s < end and s + max(1, _syl_len(entry, i)) > pos
            ]
            if chars:
                return ((chars[0], chars[-1] + 1),)
        return ()


def _syl_len(entry: _Entry, i: int) -> int:
    starts = entry.pinyin_starts
    nxt = starts[i + 1] if i + 1 < len(starts) else len(entry.pinyin_full)
    return nxt - starts[i]


def _substring_spans(target: str, words: Sequence[str]) -> tuple[Span, ...]:
    spans: list[Span] = []
    for w in words:
        start = target.find(w)
        while start >= 0:
            spans.append((start, start + len(w)))
            start = target.find(w, start + len(w))
    return tuple(_merge(spans))


def _merge(spans: list[Span]) -> list[Span]:
    out: list[Span] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def pinyin_cache_path(cache_dir: Path) -> Path:
    """Where :class:`PinyinCache` lives inside the user cache dir."""
    return cache_dir / "pinyin-titles.json"


def build_index(
    phrases: Iterable[Phrase],
    cache_dir: Path | None,
    *,
    usage: Mapping[str, PhraseUsage] | None = None,
    now: datetime | None = None,
) -> PhraseIndex:
    """A search index whose title pinyin is cached under ``cache_dir`` (None: no disk cache)."""
    cache = PinyinCache(pinyin_cache_path(cache_dir) if cache_dir is not None else None)
    return PhraseIndex(phrases, cache=cache, usage=usage, now=now)
