"""Fuzzy phrase search: Chinese, English, pinyin, pinyin initials, shortcuts, filters.

One query box. ``#tag`` and ``stage:NAME`` (also ``lang:en``) narrow the set; the rest is
matched against each phrase variant's title, body, tags and shortcut, and against the
title's full pinyin (``buhuotixing``) and initials (``bhtx``).

Ranking: an exact shortcut first, then a shortcut prefix, then text score (substring hits
score 100, typos a little less, via rapidfuzz; body hits count 0.9; a title or title pinyin
that starts with the query gets +5, one that equals it +10). With the same text score,
phrases this agent used more often and more recently come first (``usage``, read from the
touch log by ``store.usage``).

Speed: one bitset per "feature" (each non-ASCII character, each ASCII letter pair) over all
variants. Exact hits are the entries holding every feature of the query that also contain it;
only when they are too few does rapidfuzz score the (at most ~FUZZY_MAX) entries sharing the
most features. ``python -m benchmarks.phrase_search`` measures it.

Pinyin costs ~150 us per title, so it is cached on disk (:class:`PinyinCache`) keyed by the
title text: an unchanged library never recomputes it; a changed title recomputes only itself.
"""

from __future__ import annotations

import gc
import hashlib
import heapq
import json
import math
import os
import re
import tempfile
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import compress
from pathlib import Path
from typing import Any

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
    """Indices of the set bits of ``bits``, in increasing order (all at C speed).

    ``to_bytes`` is fast where ``format(bits, "b")`` is not; each byte expands to eight
    0/1 flags through a table, and ``compress`` keeps the indices whose flag is set.
    """
    if not bits:
        return []
    raw = bits.to_bytes((bits.bit_length() + 7) // 8, "little")
    flags = b"".join(map(_BYTE_FLAGS.__getitem__, raw))
    return list(compress(range(len(flags)), flags))


_BYTE_FLAGS: list[bytes] = [bytes((value >> b) & 1 for b in range(8)) for value in range(256)]


def _indices_to_bits(indices: Iterable[int], size: int) -> int:
    raw = bytearray((size + 7) // 8)
    for i in indices:
        raw[i >> 3] |= 1 << (i & 7)
    return int.from_bytes(raw, "little")


_ASCII_BIGRAM = re.compile(r"(?=([a-z0-9]{2}))")
_NON_ASCII = re.compile(r"[^\x00-\x7f\s]")
MAX_FEATURES = 24
FUZZY_MAX = 500  # at most this many entries (roughly) go to rapidfuzz per query
BIG_EXACT = 3000  # above this many candidates, the exact step stops once the list is full
CHUNK = 4096
CHUNK_MASK = (1 << CHUNK) - 1


def _features(text: str) -> set[str]:
    """What the prefilter indexes: each non-ASCII character and each ASCII letter pair.

    Single letters would be useless (pinyin and English bodies hold nearly all of them);
    pairs keep the prefilter selective while a typo only breaks two or three of them.
    """
    return set(_ASCII_BIGRAM.findall(text)) | set(_NON_ASCII.findall(text))


class PhraseIndex:
    """Everything needed to search a library quickly; build once, query many times.

    Entries are phrase variants. A query runs in two steps: an exact step (entries holding
    every feature of the query, by bitset AND, then a substring check) and, only when that
    finds fewer phrases than asked for, a fuzzy step (rapidfuzz ``partial_ratio``) over at
    most about FUZZY_MAX entries sharing the most features with the query.

    Not thread-safe: feature bitsets are built lazily; search from one worker at a time.
    """

    FUZZY_CUTOFF = 70.0
    BODY_WEIGHT = 0.9

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
        self._postings: dict[str, list[int]] = {}
        self._bits: dict[str, int] = {}  # posting lists turned into bitsets on first use
        self._shortcuts: dict[str, list[int]] = {}
        max_variants = 1
        # Millions of small lists: the cyclic GC would rescan them over and over while they
        # are built (it made a 100k library take ten times as long), and none form cycles.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            for phrase in phrases:
                max_variants = max(max_variants, len(phrase.variants))
                for variant in phrase.variants:
                    self._add(phrase, variant)
        finally:
            if gc_was_enabled:
                gc.enable()
        self._max_variants = max_variants
        self._shortcut_list = sorted(self._shortcuts)
        # (title or pinyin or initials, entry) sorted, for the prefix bonus by bisection
        self._prefixes = sorted(
            (value, i)
            for i, e in enumerate(self._entries)
            for value in {e.title, e.pinyin_full, e.initials}
            if value
        )
        self._langs = [e.variant.language for e in self._entries]
        self._pids = [e.phrase.id for e in self._entries]
        self._keys = [e.key for e in self._entries]
        self._bodies = [e.body for e in self._entries]
        self._size = len(self._entries)
        self._all = (1 << self._size) - 1
        self._cache.save()
        self._frecency: dict[str, float] = {}
        self.set_usage(usage or {}, now)

    def __len__(self) -> int:
        return len(self._entries)

    def set_usage(self, usage: Mapping[str, PhraseUsage], now: datetime | None = None) -> None:
        """Replace the usage data (after a touch is logged, say).

        Frecency = count / (1 + weeks since the last use): more often and more recent win.
        """
        now = now or datetime.now()
        self._frecency = {
            pid: u.count / (1.0 + max(0.0, (now - u.last_at).total_seconds()) / 86400 / 7)
            for pid, u in usage.items()
            if u.count > 0
        }
        self._entry_frecency = [self._frecency.get(e.phrase.id, 0.0) for e in self._entries]
        self._used_entries = [i for i, f in enumerate(self._entry_frecency) if f > 0.0]

    def _add(self, phrase: Phrase, variant: Variant) -> None:
        title = variant.title.lower()
        syllables = self._cache.get(variant.title) if _HAN.search(variant.title) else []
        starts: list[int] = []
        initials: list[str] = []
        initial_chars: list[int] = []
        pos = 0
        for i, syl in enumerate(syllables):
            starts.append(pos)
            pos += len(syl)
            if syl.isalnum():
                initials.append(syl[0])
                initial_chars.append(i)
        full = "".join(syllables)
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
        n = len(self._entries)
        self._entries.append(entry)
        postings = self._postings
        for feature in _features(f"{entry.key} {entry.body}"):
            if feature in postings:
                postings[feature].append(n)
            else:
                postings[feature] = [n]
        for name in (
            f"\x01stage:{phrase.stage.value}",
            f"\x01lang:{variant.language}",
            *(f"\x01tag:{t.lower()}" for t in phrase.tags),
        ):
            postings.setdefault(name, []).append(n)
        if phrase.shortcut:
            self._shortcuts.setdefault(phrase.shortcut.lstrip("/"), []).append(n)

    def _feature_bits(self, feature: str) -> int:
        bits = self._bits.get(feature)
        if bits is None:
            bits = _indices_to_bits(self._postings.get(feature, ()), len(self._entries))
            self._bits[feature] = bits
        return bits

    def _candidates(self, text: str, allowed: int) -> list[int]:
        """Entries (among ``allowed``) sharing enough of the query's features, best first.

        Enough: 3 of 4 Chinese characters and 40% of the letter pairs (a typo breaks one
        character but two or three pairs). When more than FUZZY_MAX entries qualify, only
        those sharing the most features are kept, so rapidfuzz never scores the whole library.
        """
        features = sorted(_features(text))[:MAX_FEATURES]
        if not features:
            return []
        chars = sum(1 for f in features if len(f) == 1)
        pairs = len(features) - chars
        need = max(1, chars - chars // 4 + math.ceil(pairs * 0.4))
        # at_least[j]: entries holding at least j+1 of the features seen so far.
        n = len(features)
        at_least = [0] * n
        for f in features:
            bits = self._feature_bits(f)
            if not bits:
                continue
            for j in range(n - 1, 0, -1):
                at_least[j] |= at_least[j - 1] & bits
            at_least[0] |= bits
        # Walk down from "shares every feature" and stop once FUZZY_MAX entries are in;
        # the last level taken is cut short (in library order) to keep the bound.
        chosen: list[int] = []
        taken = 0
        for level in range(n - 1, need - 2, -1):
            bits = at_least[level] & allowed & ~taken
            if not bits:
                continue
            room = FUZZY_MAX - len(chosen)
            chosen.extend(_bits_to_indices(bits)[:room])
            taken |= bits
            if len(chosen) >= FUZZY_MAX:
                break
        return chosen

    def search(self, raw_query: str, *, limit: int = 20, language: str | None = None) -> list[Hit]:
        """The best phrases for a query, one hit per phrase (its best-matching variant).

        ``language`` breaks ties in favour of that variant (the customer's language).
        """
        query = parse_query(raw_query)
        filtered = self._filter_bits(query)
        # "/bh" is a shortcut query; keys hold shortcuts without the slash.
        text = query.text[1:] if query.text.startswith("/") else query.text
        if not text:
            return self._browse(filtered, limit, language)
        want = limit * self._max_variants
        scores = self._exact_scores(text, filtered, want, language)
        full_hits: set[str] = set()
        for i, sc in scores.items():
            if sc >= 100.0:
                full_hits.add(self._pids[i])
                if len(full_hits) >= limit:
                    break
        if len(full_hits) < limit and len(text) > 2:
            self._fuzzy_scores(text, filtered, scores)
        self._bonus(text, scores)
        tiers = self._shortcut_tiers(text, filtered)
        for i in tiers:
            scores.setdefault(i, 100.0)
        cutoff = 100.0 if len(text) <= 2 else self.FUZZY_CUTOFF
        entries = self._entries
        ef, langs, floor = self._entry_frecency, self._langs, math.floor
        if len(scores) > 4 * want:
            # Many hits (a common word): only the best score buckets can make the list, so
            # find the lowest bucket needed and skip building sort keys for the rest.
            counts = Counter(map(floor, scores.values()))
            total = 0
            for bucket in sorted(counts, reverse=True):
                total += counts[bucket]
                if total >= want:
                    break
            cutoff = max(cutoff, float(bucket))
        keyed = [
            (-tiers.get(i, 1), -floor(sc), -ef[i], langs[i] != language, i)
            for i, sc in scores.items()
            if sc >= cutoff or i in tiers
        ]
        ranked = [k[-1] for k in heapq.nsmallest(want, keyed)]
        hits: list[Hit] = []
        seen: set[str] = set()
        for i in ranked:
            entry = entries[i]
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

    def _exact_scores(
        self, text: str, filtered: int, want: int, language: str | None
    ) -> dict[int, float]:
        """Substring hits: 100 in a key (title, tags, shortcut, pinyin), 90 in a body.

        With several words, an entry holding every word (anywhere) counts as a hit: 100 when
        all are in its key, else 90 (so ``bu huo`` finds the pinyin ``buhuo``). A single
        letter only matches the start of a title, its pinyin or its initials (``x`` finds
        新品, 箱...): anywhere else it is noise.
        """
        if len(text) == 1 and text.isascii():
            lo = bisect_left(self._prefixes, (text, -1))
            hi = bisect_left(self._prefixes, (text + "\U0010ffff", -1), lo)
            hit_ids = {i for _, i in self._prefixes[lo:hi]}
            if filtered != self._all:
                hit_ids.intersection_update(_bits_to_indices(filtered))
            return dict.fromkeys(hit_ids, 100.0)
        return self._exact_words(text.split(), filtered, want, language)

    def _exact_words(
        self, words: list[str], filtered: int, want: int, language: str | None
    ) -> dict[int, float]:
        """Exact hits; on common words, only the ones that can make the list.

        An entry scores 100 when its key holds every word, 90 when each word is in its key
        or its body. When thousands of entries qualify, most tie at 100 and the list is
        decided by usage, the title-start bonus, the language and library order. So the used
        entries and the titles starting with the query are checked, then the rest in ranking
        order (preferred language first, then library order) until ``want`` key hits.
        """
        body_score = 100.0 * self.BODY_WEIGHT
        bits = filtered
        for w in words:
            for f in _features(w):
                bits &= self._feature_bits(f)
        keys, bodies = self._keys, self._bodies
        if len(words) == 1:
            word = words[0]

            def score(i: int) -> float:
                if word in keys[i]:
                    return 100.0
                return body_score if word in bodies[i] else 0.0
        else:

            def score(i: int) -> float:
                key = keys[i]
                missing = [w for w in words if w not in key]
                if not missing:
                    return 100.0
                body = bodies[i]
                return body_score if all(w in body for w in missing) else 0.0

        scores: dict[int, float] = {}
        if bits.bit_count() <= BIG_EXACT:
            for i in _bits_to_indices(bits):
                sc = score(i)
                if sc:
                    scores[i] = sc
            return scores
        flags = bits.to_bytes((self._size + 7) // 8, "little")
        text = " ".join(words)
        lo = bisect_left(self._prefixes, (text, -1))
        hi = bisect_left(self._prefixes, (text + "\U0010ffff", -1), lo)
        special = set(self._used_entries)
        special.update(i for _, i in self._prefixes[lo:hi])
        for i in special:
            if flags[i >> 3] >> (i & 7) & 1:
                sc = score(i)
                if sc:
                    scores[i] = sc
        passes = [bits]
        if language is not None:
            preferred = bits & self._feature_bits(f"\x01lang:{language}")
            passes = [preferred, bits & ~preferred]
        found = 0
        for part in passes:
            for start in range(0, self._size, CHUNK):
                chunk = (part >> start) & CHUNK_MASK
                if not chunk:
                    continue
                for j in _bits_to_indices(chunk):
                    i = start + j
                    sc = score(i)
                    if sc == 100.0:
                        scores[i] = sc
                        found += 1
                    elif sc:
                        scores.setdefault(i, sc)
                if found >= want:
                    return scores
        return scores

    def _fuzzy_scores(self, text: str, filtered: int, scores: dict[int, float]) -> None:
        """rapidfuzz partial_ratio over the prefiltered entries not already full hits."""
        # Imported at the first fuzzy step: browsing and exact hits (the console's first
        # paint) never need it (~6 ms of imports).
        from rapidfuzz import fuzz, process

        idx = [i for i in self._candidates(text, filtered) if scores.get(i, 0.0) < 100.0]
        if not idx:
            return
        for _, score, pos in process.extract(
            text,
            [self._keys[i] for i in idx],
            scorer=fuzz.partial_ratio,
            score_cutoff=self.FUZZY_CUTOFF,
            limit=None,
        ):
            i = idx[pos]
            scores[i] = max(scores.get(i, 0.0), score)
        for _, score, pos in process.extract(
            text,
            [self._bodies[i] for i in idx],
            scorer=fuzz.partial_ratio,
            score_cutoff=self.FUZZY_CUTOFF / self.BODY_WEIGHT,
            limit=None,
        ):
            i = idx[pos]
            scores[i] = max(scores.get(i, 0.0), score * self.BODY_WEIGHT)

    def _bonus(self, text: str, scores: dict[int, float]) -> None:
        """Among full hits, a title (or its pinyin) that starts with or equals the query is
        the better answer: 补货提醒 before 食品饮料补货提醒 for "bhtx"."""
        squeezed = text.replace(" ", "")
        prefixes = {text, squeezed}
        full = [i for i, sc in scores.items() if sc >= 100.0]
        ranges = []
        for prefix in prefixes:
            lo = bisect_left(self._prefixes, (prefix, -1))
            hi = bisect_left(self._prefixes, (prefix + "\U0010ffff", -1), lo)
            ranges.append((lo, hi))
        best: dict[int, float] = {}
        if sum(hi - lo for lo, hi in ranges) <= len(full):
            for lo, hi in ranges:
                for value, i in self._prefixes[lo:hi]:
                    bonus = EXACT_BONUS if value in prefixes else PREFIX_BONUS
                    best[i] = max(best.get(i, 0.0), bonus)
        else:  # fewer hits than titles with that start: check the hits themselves
            entries = self._entries
            for i in full:
                e = entries[i]
                values = (e.title, e.pinyin_full, e.initials)
                if any(v in prefixes for v in values if v):
                    best[i] = EXACT_BONUS
                elif any(v.startswith(p) for v in values if v for p in prefixes):
                    best[i] = PREFIX_BONUS
        for i, bonus in best.items():
            if scores.get(i, 0.0) >= 100.0:
                scores[i] += bonus

    def _shortcut_tiers(self, text: str, filtered: int) -> dict[int, int]:
        """3 for entries whose shortcut is the query, 2 for a shortcut the query starts."""
        code = text.lstrip("/")
        tiers: dict[int, int] = {}
        if not code or " " in code:
            return tiers
        lo = bisect_left(self._shortcut_list, code)
        for sc in self._shortcut_list[lo:]:
            if not sc.startswith(code):
                break
            for i in self._shortcuts[sc]:
                if filtered >> i & 1:  # a handful of shortcuts: a bit test each is fine
                    tiers[i] = 3 if sc == code else 2
        return tiers

    def _filter_bits(self, query: Query) -> int:
        bits = self._all
        if query.stage is not None:
            bits &= self._feature_bits(f"\x01stage:{query.stage.value}")
        if query.language is not None:
            bits &= self._feature_bits(f"\x01lang:{query.language}")
        for prefix in query.tags:
            matching = 0
            for name in self._postings:
                if name.startswith("\x01tag:" + prefix):
                    matching |= self._feature_bits(name)
            bits &= matching
        return bits

    def _browse(self, bits: int, limit: int, language: str | None) -> list[Hit]:
        """No free text: the filtered phrases, most used first, then library order."""
        order = heapq.nsmallest(
            limit * self._max_variants,
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
            from rapidfuzz import fuzz

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
