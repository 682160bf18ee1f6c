from __future__ import annotations

from pathlib import Path

from tui_agent.core.models import Stage
from tui_agent.core.phrases import (
    Phrase,
    Variant,
    dumps,
    load_file,
    load_library,
    save_file,
    upsert_phrase,
)
from tui_agent.paths import shipped_phrases_dir

GOOD = """\
[[phrase]]
id = "a"
stage = "repurchase"
tags = ["replenish"]
shortcut = "/aa"
title = "补货"
body = "{name|亲}，{product}该补了"

[phrase.variants.en]
title = "Restock"
body = "Hi {name|there}"

[[phrase]]
id = "b"
stage = "loyalty"
tags = ["vip", "coupon"]
title = "会员"
body = "会员{tier}"
"""


def _write(d: Path, name: str, text: str) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    p = d / name
    p.write_text(text, encoding="utf-8")
    return p


def test_loads_phrases_and_variants(tmp_path: Path) -> None:
    _write(tmp_path, "x.toml", GOOD)
    result = load_library([tmp_path])
    assert result.problems == []
    a = result.library.get("a")
    assert a is not None
    assert a.stage is Stage.REPURCHASE
    assert a.languages == ("zh", "en")
    assert a.variant("en").title == "Restock"
    assert a.variant("fr").language == "zh"
    assert result.library.by_shortcut("aa") is a


def test_toml_syntax_error_reported_with_line_rest_still_loads(tmp_path: Path) -> None:
    _write(tmp_path, "a.toml", GOOD)
    bad = _write(tmp_path, "b.toml", '[[phrase]]\nid = "c"\ntitle = \n')
    result = load_library([tmp_path])
    assert [str(p) for p in result.problems] == [
        f"{bad}:3: not valid TOML: Invalid value (at line 3, column 9)"
    ]
    assert set(result.library.phrases) == {"a", "b"}


def test_invalid_phrases_reported_at_their_line(tmp_path: Path) -> None:
    text = GOOD + (
        '\n[[phrase]]\nid = "c"\nstage = "upkeep"\ntitle = "x"\n'  # line 24: missing body
        '\n[[phrase]]\nid = "d"\nstage = "upkeep"\ntitle = "x"\nbody = "{nmae}"\n'
        '\n[[phrase]]\nid = "a"\nstage = "upkeep"\ntitle = "dup"\nbody = "x"\n'
        '\n[[phrase]]\nid = "e"\nstage = "later"\ntitle = "x"\nbody = "x"\n'
        '\n[[phrase]]\nid = "f"\nstage = "upkeep"\ntitle = "x"\nbody = "{name.__class__}"\n'
        '\n[[phrase]]\nid = "g"\nstage = "upkeep"\ntitle = "x"\nbody = "ok"\n'
        '[phrase.variants.en]\ntitle = "x"\nbody = "{0}"\n'
    )
    path = _write(tmp_path, "p.toml", text)
    result = load_library([tmp_path])
    got = sorted((p.line, p.reason) for p in result.problems)
    lines = text.splitlines()
    assert lines[got[0][0] - 1] == "[[phrase]]" and "missing body" in got[0][1]
    assert lines[got[1][0] - 1] == 'body = "{nmae}"' and "unknown placeholder 'nmae'" in got[1][1]
    assert lines[got[2][0] - 1] == "[[phrase]]" and "duplicate id 'a'" in got[2][1]
    assert lines[got[3][0] - 1] == 'stage = "later"' and "stage must be one of" in got[3][1]
    assert lines[got[4][0] - 1].startswith("body =") and "attribute" in got[4][1]
    assert lines[got[5][0] - 1] == 'body = "{0}"' and "positional" in got[5][1]
    assert len(got) == 6
    assert all(p.path == path for p in result.problems)
    assert set(result.library.phrases) == {"a", "b"}  # the invalid ones are left out
    assert result.library.get("a").title == "补货"  # type: ignore[union-attr]


def test_unknown_key_and_bad_shortcut(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "p.toml",
        '[[phrase]]\nid = "a"\nstage = "upkeep"\ntag = ["x"]\ntitle = "t"\nbody = "b"\n'
        '[[phrase]]\nid = "b"\nstage = "upkeep"\nshortcut = "bh"\ntitle = "t"\nbody = "b"\n',
    )
    problems = load_library([tmp_path]).problems
    assert problems[0].line == 4 and "unknown key 'tag'" in problems[0].reason
    assert problems[1].line == 10 and "shortcut" in problems[1].reason


def test_user_directory_overrides_shipped(tmp_path: Path) -> None:
    shipped = tmp_path / "shipped"
    user = tmp_path / "user"
    _write(shipped, "x.toml", GOOD)
    _write(
        user,
        "mine.toml",
        '[[phrase]]\nid = "a"\nstage = "repurchase"\ntitle = "我的补货"\nbody = "自己的话"\n',
    )
    result = load_library([shipped, user])
    assert result.problems == []
    a = result.library.get("a")
    assert a is not None and a.title == "我的补货" and a.shortcut is None
    assert result.library.sources["a"] == user / "mine.toml"
    assert len(result.library) == 2


def test_shortcut_clash_is_a_problem(tmp_path: Path) -> None:
    _write(tmp_path / "s", "x.toml", GOOD)
    _write(
        tmp_path / "u",
        "y.toml",
        '[[phrase]]\nid = "z"\nstage = "upkeep"\nshortcut = "/aa"\ntitle = "t"\nbody = "b"\n',
    )
    result = load_library([tmp_path / "s", tmp_path / "u"])
    assert len(result.problems) == 1
    assert result.problems[0].line == 4 and "/aa" in result.problems[0].reason


def test_round_trip_is_lossless(tmp_path: Path) -> None:
    original = load_library([shipped_phrases_dir()]).library
    out = tmp_path / "rt.toml"
    save_file(out, original)
    loaded, problems = load_file(out)
    assert problems == []
    assert [p for p, _ in loaded] == list(original)
    # and saving again gives the same bytes
    assert dumps(p for p, _ in loaded) == out.read_text(encoding="utf-8")


def test_round_trip_tricky_text(tmp_path: Path) -> None:
    p = Phrase(
        "t",
        Stage.UPKEEP,
        (Variant("zh", "q\"uote\\ 's", '行一\n行二\t"""三"""\n{{x}} {name|亲}'),),
        ("a b", "c"),
    )
    save_file(tmp_path / "t.toml", [p])
    loaded, problems = load_file(tmp_path / "t.toml")
    assert problems == [] and loaded[0][0] == p


def test_upsert_keeps_other_phrases(tmp_path: Path) -> None:
    path = _write(tmp_path, "x.toml", GOOD)
    before = {p.id: p for p, _ in load_file(path)[0]}
    new_a = Phrase("a", Stage.UPKEEP, (Variant("zh", "新", "新的"),))
    upsert_phrase(path, new_a)
    upsert_phrase(path, Phrase("c", Stage.LOYALTY, (Variant("en", "C", "c"),)))
    after = {p.id: p for p, _ in load_file(path)[0]}
    assert after["a"] == new_a
    assert after["b"] == before["b"]
    assert list(after) == ["a", "b", "c"]


def test_suggest_prefers_tags_then_stage_then_language(tmp_path: Path) -> None:
    lib = load_library([shipped_phrases_dir()]).library
    care = lib.suggest(Stage.FIRST_PURCHASE, ["care", "delivery"], "zh")
    assert care is not None and {"care", "delivery"} <= set(care.tags)
    winback = lib.suggest("repurchase", ["winback", "coupon"], "en")
    assert winback is not None and winback.id == "winback-coupon" and "en" in winback.languages
    assert lib.suggest(Stage.LOYALTY, ["birthday"], "zh").id == "birthday"  # type: ignore[union-attr]
    _write(tmp_path, "x.toml", GOOD)
    small = load_library([tmp_path]).library
    assert small.suggest(Stage.UPKEEP, ["nothing"], "zh") is None
    assert small.suggest(Stage.LOYALTY, [], "zh").id == "b"  # type: ignore[union-attr]


def test_shipped_library_is_valid_and_complete() -> None:
    result = load_library([shipped_phrases_dir()])
    assert result.problems == []
    lib = result.library
    assert len(lib) >= 80
    assert {p.stage for p in lib} == set(Stage)
    needed = {
        *("order-confirm", "shipping", "care", "delivery", "satisfaction", "usage", "review"),
        *("related", "upgrade", "replenish", "coupon", "new-product", "birthday", "holiday"),
        *("member-day", "winback", "vip", "after-sales"),
    }
    tags = {t for p in lib for t in p.tags}
    assert needed <= tags
    for category in ("food", "beauty", "clothing", "baby", "electronics"):
        assert any({"replenish", category} <= set(p.tags) for p in lib), category
    assert sum("en" in p.languages for p in lib) >= 40
