from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tui_agent.core.models import Stage
from tui_agent.core.phrases import Phrase, Variant, load_library
from tui_agent.core.search import (
    PhraseIndex,
    PhraseUsage,
    PinyinCache,
    build_index,
    default_pinyin,
    parse_query,
    pinyin_cache_path,
)
from tui_agent.paths import cache_dir, shipped_phrases_dir

NOW = datetime(2026, 3, 20, 12, 0)


@pytest.fixture(scope="module")
def index() -> PhraseIndex:
    return PhraseIndex(load_library([shipped_phrases_dir()]).library)


def _ids(index: PhraseIndex, query: str, **kw: object) -> list[str]:
    return [h.phrase.id for h in index.search(query, **kw)]  # type: ignore[arg-type]


def _p(
    pid: str, title: str, body: str = "正文", tags: tuple[str, ...] = (), **kw: object
) -> Phrase:
    return Phrase(pid, Stage.UPKEEP, (Variant("zh", title, body),), tags, **kw)  # type: ignore[arg-type]


def test_chinese_text(index: PhraseIndex) -> None:
    ids = _ids(index, "补货提醒")
    assert ids[0] == "replenish"
    assert "replenish-beauty" in ids[:6]


def test_pinyin_initials(index: PhraseIndex) -> None:
    assert _ids(index, "bhtx")[0] == "replenish"
    assert _ids(index, "hptx")[0] == "review-photo-reward"
    assert _ids(index, "srzf")[0] == "birthday"


def test_full_pinyin(index: PhraseIndex) -> None:
    assert _ids(index, "buhuo")[0] == "replenish"
    assert _ids(index, "haoping")[0] in {"review-invite", "review-photo-reward"}


def test_english(index: PhraseIndex) -> None:
    hits = index.search("review invitation")
    assert hits[0].phrase.id == "review-invite"
    assert hits[0].language == "en"


def test_typos_tolerated(index: PhraseIndex) -> None:
    assert "replenish" in _ids(index, "补货题醒")[:5]
    assert _ids(index, "birthdya")[0].startswith("birthday")
    assert "review-invite" in _ids(index, "reveiw invitaton")[:3]


def test_shortcut_exact_then_prefix_then_fuzzy() -> None:
    idx = PhraseIndex(
        [
            _p("text", "vip 会员"),  # text hit for "vip"
            _p("prefix", "其他", shortcut="/vipx"),
            _p("exact", "再其他", shortcut="/vip"),
        ]
    )
    assert _ids(idx, "/vip") == ["exact", "prefix", "text"]
    assert _ids(idx, "vip") == ["exact", "prefix", "text"]
    assert [h.tier for h in idx.search("vip")] == [3, 2, 1]


def test_shortcut_in_shipped_library(index: PhraseIndex) -> None:
    assert _ids(index, "/bh")[0] == "replenish"
    assert _ids(index, "/hp")[0] == "review-invite"


def test_filters_narrow_the_set(index: PhraseIndex) -> None:
    hits = index.search("#coupon 会员", limit=50)
    assert len(hits) >= 2 and all("coupon" in h.phrase.tags for h in hits)
    unfiltered = index.search("会员", limit=50)
    assert len(unfiltered) > len(hits)
    staged = index.search("stage:loyalty", limit=100)
    assert staged and all(h.phrase.stage is Stage.LOYALTY for h in staged)
    assert len(staged) == sum(
        1 for p in load_library([shipped_phrases_dir()]).library if p.stage is Stage.LOYALTY
    )
    assert all(h.language == "en" for h in index.search("lang:en thanks"))
    assert _ids(index, "stage:复购唤醒 #winback")[0].startswith("winback")


def test_parse_query() -> None:
    q = parse_query("#VIP stage:loyalty lang:en 生日 快乐 stage:nonsense")
    assert q.tags == ("vip",)
    assert q.stage is Stage.LOYALTY
    assert q.language == "en"
    assert q.text == "生日 快乐 stage:nonsense"


def test_highlight_spans_chinese_english_pinyin() -> None:
    idx = PhraseIndex(
        [
            _p("a", "食品补货提醒", "您的补货到了，补货快"),
            Phrase("b", Stage.UPKEEP, (Variant("en", "Restock reminder", "time to restock"),)),
        ]
    )
    hit = idx.search("补货")[0]
    assert hit.title_spans == ((2, 4),)
    assert hit.body_spans == ((2, 4), (7, 9))
    assert idx.search("bhtx")[0].title_spans == ((2, 6),)
    assert idx.search("tixing")[0].title_spans == ((4, 6),)
    en = idx.search("restock")[0]
    assert en.phrase.id == "b" and en.title_spans == ((0, 7),) and en.body_spans == ((8, 15),)
    typo = idx.search("remindr")[0]
    assert typo.phrase.id == "b"
    s, e = typo.title_spans[0]
    assert "Restock reminder"[s:e].lower().startswith("remind")


def test_usage_breaks_ties_by_frequency_and_recency() -> None:
    phrases = [_p("p1", "补货提醒一"), _p("p2", "补货提醒二"), _p("p3", "补货提醒三")]
    idx = PhraseIndex(phrases, now=NOW)
    assert _ids(idx, "补货") == ["p1", "p2", "p3"]
    idx.set_usage(
        {
            "p3": PhraseUsage(5, NOW - timedelta(days=1)),
            "p2": PhraseUsage(1, NOW - timedelta(days=1)),
        },
        NOW,
    )
    assert _ids(idx, "补货") == ["p3", "p2", "p1"]
    # same count: the more recent one wins
    idx.set_usage({"p1": PhraseUsage(2, NOW), "p2": PhraseUsage(2, NOW - timedelta(days=60))}, NOW)
    assert _ids(idx, "补货") == ["p1", "p2", "p3"]
    # usage never beats a better text score
    idx2 = PhraseIndex([_p("exact", "回购"), _p("used", "回购券提醒")], now=NOW)
    idx2.set_usage({"used": PhraseUsage(50, NOW)}, NOW)
    assert _ids(idx2, "回购")[0] == "exact"
    # empty query lists most used first
    assert _ids(idx2, "")[0] == "used"


def test_one_hit_per_phrase_preferring_language_on_ties(index: PhraseIndex) -> None:
    ids = _ids(index, "vip", limit=50)
    assert len(ids) == len(set(ids))
    hits = index.search("#birthday", language="en")
    assert hits[0].language == "en"


def test_pinyin_cache_avoids_recomputation(tmp_path: Path) -> None:
    calls: list[str] = []

    def counting(text: str) -> list[str]:
        calls.append(text)
        return default_pinyin(text)

    path = tmp_path / "pinyin.json"
    phrases = [_p("a", "补货提醒"), _p("b", "好评邀请"), _p("c", "English only")]
    PhraseIndex(phrases, cache=PinyinCache(path, counting))
    assert sorted(calls) == ["好评邀请", "补货提醒"]
    calls.clear()
    second = PinyinCache(path, counting)
    idx = PhraseIndex(phrases, cache=second)
    assert calls == [] and second.computed == 0
    assert _ids(idx, "hpyq") == ["b"]
    changed = [phrases[0], _p("b", "好评返现"), phrases[2]]
    PhraseIndex(changed, cache=PinyinCache(path, counting))
    assert calls == ["好评返现"]


def test_damaged_cache_is_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "pinyin.json"
    path.write_text("{not json", encoding="utf-8")
    cache = PinyinCache(path)
    idx = PhraseIndex([_p("a", "补货提醒")], cache=cache)
    assert cache.computed == 1 and _ids(idx, "bhtx") == ["a"]


def test_build_index_uses_the_user_cache_dir() -> None:
    lib = load_library([shipped_phrases_dir()]).library
    build_index(lib, cache_dir())
    assert pinyin_cache_path(cache_dir()).is_file()
    cache = PinyinCache(pinyin_cache_path(cache_dir()))
    PhraseIndex(lib, cache=cache)
    assert cache.computed == 0


def test_default_pinyin_is_aligned() -> None:
    text = "补货A1 提醒（重要）"
    syl = default_pinyin(text)
    assert len(syl) == len(text)
    assert syl[:2] == ["bu", "huo"] and syl[2] == "a"


def test_single_letter_matches_title_starts_only() -> None:
    idx = PhraseIndex([_p("a", "新品上架", "body with x inside"), _p("b", "补货提醒", "xxx")])
    assert _ids(idx, "x") == ["a"]  # xinpin..., not the body that happens to hold an x


def test_many_equal_hits_still_rank_by_usage() -> None:
    phrases = [_p(f"p{i:03d}", f"补货提醒{i}") for i in range(300)]
    idx = PhraseIndex(phrases, now=NOW)
    idx.set_usage({"p250": PhraseUsage(3, NOW)}, NOW)
    ids = _ids(idx, "补货", limit=5)
    assert ids[0] == "p250" and len(ids) == 5


def test_common_word_shortcut_path_gives_the_same_ranking(monkeypatch: pytest.MonkeyPatch) -> None:
    import tui_agent.core.search as search_module

    phrases = [
        Phrase(
            f"p{i:04d}",
            Stage.UPKEEP,
            (
                Variant("zh", f"老客{i}补货" if i % 100 else f"补货提醒{i}", "正文补货"),
                Variant("en", f"Restock {i} 补货", "body"),
            ),
        )
        for i in range(400)
    ]
    used = {"p0390": PhraseUsage(4, NOW), "p0123": PhraseUsage(1, NOW - timedelta(days=3))}
    expected = {}
    for language in (None, "en", "zh"):
        idx = PhraseIndex(phrases, usage=used, now=NOW)
        expected[language] = [
            (h.phrase.id, h.language) for h in idx.search("补货", language=language)
        ]
    monkeypatch.setattr(search_module, "BIG_EXACT", 10)
    monkeypatch.setattr(search_module, "CHUNK", 64)
    monkeypatch.setattr(search_module, "CHUNK_MASK", (1 << 64) - 1)
    for language in (None, "en", "zh"):
        idx = PhraseIndex(phrases, usage=used, now=NOW)
        got = [(h.phrase.id, h.language) for h in idx.search("补货", language=language)]
        assert got == expected[language]
    # titles starting with the word (+5), then usage, then library order
    assert [pid for pid, _ in expected[None][:7]] == [
        *("p0000", "p0100", "p0200", "p0300", "p0390", "p0123", "p0001"),
    ]
    assert expected["en"][4:6] == [("p0390", "en"), ("p0123", "en")]
