from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from tui_agent.cli import main
from tui_agent.core.phrases import load_file
from tui_agent.paths import config_dir, shipped_phrases_dir
from tui_agent.store.db import write_tx


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def shop(db: sqlite_utils.Database, db_path: Path) -> Path:
    with write_tx(db):
        db.execute(
            "INSERT INTO customers(customer_id, name, tier, points, language) VALUES "
            "('C1', '王丽', '金卡', 320, 'zh'), ('C2', NULL, NULL, NULL, 'en')"
        )
        db.execute("INSERT INTO products VALUES ('S1', '玻尿酸精华', 'beauty', 45, 'S2')")
        db.execute("INSERT INTO products VALUES ('S2', '修护面霜', 'beauty', 60, NULL)")
        for cid in ("C1", "C2"):
            db.execute(
                "INSERT INTO orders(order_id, customer_id, ordered_at, delivered_at, amount, seq) "
                "VALUES (?, ?, '2026-03-02 09:00:00', '2026-03-05 10:00:00', 159, 1)",
                [f"O-{cid}", cid],
            )
            db.execute(
                "INSERT INTO order_lines VALUES (?, 1, 'S1', '玻尿酸精华', 'beauty', 1, 159)",
                [f"O-{cid}"],
            )
        db.execute(
            "INSERT INTO touches(agent, customer_id, phrase_id, text, at) VALUES "
            "('amy', 'C1', 'replenish-baby', 't', '2026-03-01 10:00:00')"
        )
    return db_path


def test_check_passes_on_shipped_library() -> None:
    code, out, _ = run("phrases", "check")
    assert code == 0
    assert out.strip().endswith(": ok")


def test_check_reports_path_line_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text(
        '[[phrase]]\nid = "x"\nstage = "upkeep"\ntitle = "t"\nbody = "{0}"\n', encoding="utf-8"
    )
    code, out, err = run("phrases", "check", str(tmp_path))
    assert code == 1
    assert out.startswith(f"{tmp_path / 'bad.toml'}:5: ")
    assert "1 problem" in err


def test_search_json_with_spans() -> None:
    code, out, _ = run("phrases", "search", "bhtx", "--json", "--limit", "3")
    assert code == 0
    hits = json.loads(out)
    assert len(hits) == 3
    assert hits[0]["id"] == "replenish" and hits[0]["title_spans"] == [[0, 4]]


def test_search_ranks_by_usage(shop: Path) -> None:
    code, out, _ = run("--agent", "amy", "phrases", "search", "补货提醒", "--db", str(shop))
    assert code == 0
    lines = out.splitlines()
    # replenish (exact title) first; among the equal 100 hits, the one amy used comes first
    assert "replenish " in lines[0] and "replenish-baby" in lines[1]


def test_search_no_match_exits_1() -> None:
    code, _, err = run("phrases", "search", "zzzzqqqq")
    assert code == 1 and "no phrase" in err


def test_add_then_edit_writes_user_file_only(tmp_path: Path) -> None:
    shipped_before = {p: p.read_bytes() for p in shipped_phrases_dir().glob("*.toml")}
    code, out, _ = run(
        "phrases",
        "add",
        "--id",
        "tea-restock",
        "--stage",
        "repurchase",
        "--title",
        "茶叶回购",
        "--body",
        "{name|亲}，新茶到了",
        "--tag",
        "replenish",
        "--shortcut",
        "/cy",
    )
    assert code == 0, out
    user_file = config_dir() / "phrases" / "my-phrases.toml"
    assert [p.id for p, _ in load_file(user_file)[0]] == ["tea-restock"]
    # editing a shipped phrase writes an override to the user file
    code, _, _ = run("phrases", "edit", "replenish", "--body", "{name|亲}，该补货啦")
    assert code == 0
    phrases = {p.id: p for p, _ in load_file(user_file)[0]}
    assert phrases["replenish"].body == "{name|亲}，该补货啦"
    assert phrases["replenish"].variant("en").body.startswith("Hi {name|there}")
    assert phrases["tea-restock"].title == "茶叶回购"
    code, out, _ = run("phrases", "show", "replenish", "--json")
    assert json.loads(out)["source"] == str(user_file)
    assert {p: p.read_bytes() for p in shipped_phrases_dir().glob("*.toml")} == shipped_before
    # add refuses an existing id; an invalid template is refused with exit 1
    assert (
        run(
            "phrases",
            "add",
            "--id",
            "replenish",
            "--stage",
            "upkeep",
            "--title",
            "x",
            "--body",
            "y",
        )[0]
        == 1
    )
    code, _, err = run("phrases", "edit", "tea-restock", "--body", "{name.__class__}")
    assert code == 1 and "attribute" in err


def test_render_fills_from_database(shop: Path) -> None:
    code, out, _ = run(
        "--agent",
        "阿青",
        "render",
        "replenish",
        "--customer",
        "C1",
        "--db",
        str(shop),
        "--today",
        "2026-04-01",
    )
    assert code == 0
    assert out.strip().startswith("王丽，您3月5日收到的玻尿酸精华")


def test_render_related_product_and_json(shop: Path) -> None:
    code, out, _ = run(
        "render",
        "related-recommend",
        "--customer",
        "C1",
        "--db",
        str(shop),
        "--json",
    )
    assert code == 0
    data = json.loads(out)
    assert "修护面霜" in data["text"] and data["complete"] is True


def test_render_missing_values_exit_1_unless_supplied(shop: Path) -> None:
    code, out, err = run("render", "coupon-returning", "--customer", "C2", "--db", str(shop))
    assert code == 1 and out == ""
    assert "missing values for: coupon" in err
    code, out, _ = run(
        "render",
        "coupon-returning",
        "--customer",
        "C2",
        "--db",
        str(shop),
        "--set",
        "coupon=BACK10",
    )
    assert code == 0 and "BACK10" in out and out.startswith("Hi there")  # English customer
    code, out, _ = run(
        "render", "coupon-returning", "--customer", "C2", "--db", str(shop), "--json"
    )
    assert code == 0 and json.loads(out)["missing"] == ["coupon"]


def test_render_unknown_customer_or_phrase(shop: Path) -> None:
    assert run("render", "replenish", "--customer", "NOPE", "--db", str(shop))[0] == 1
    assert run("render", "nope", "--customer", "C1", "--db", str(shop))[0] == 1


def test_help_texts() -> None:
    for args in (["phrases", "--help"], ["phrases", "search", "--help"], ["render", "--help"]):
        code, out, _ = run(*args)
        assert code == 0 and "Usage" in out


def _add(*extra: str) -> tuple[int, str, str]:
    return run(
        "phrases", "add", "--id", "my-refill", "--stage", "repurchase", "--title", "回购",
        "--body", "{name|亲}，该补货啦", *extra,
    )  # fmt: skip


def test_add_refuses_a_shortcut_a_shipped_phrase_uses() -> None:
    """Defect 8: `add --shortcut /bh` clashed with the shipped 补货提醒 and exited 0."""
    code, out, err = _add("--shortcut", "/bh")
    assert code == 1
    assert err.strip().splitlines()[-1].startswith("Error: shortcut /bh is already used by")
    assert "replenish" in err
    assert not (config_dir() / "phrases" / "my-phrases.toml").exists()
    code, out, _ = run("phrases", "check")
    assert code == 0, out


def test_add_refuses_a_shortcut_one_of_your_phrases_uses() -> None:
    assert _add("--shortcut", "/hb")[0] == 0
    code, _, err = run(
        "phrases", "add", "--id", "other", "--stage", "upkeep", "--title", "t", "--body", "b",
        "--shortcut", "/hb",
    )  # fmt: skip
    assert code == 1 and "shortcut /hb is already used by 'my-refill'" in err
    assert run("phrases", "check")[0] == 0


def test_edit_refuses_a_shortcut_another_phrase_uses() -> None:
    assert _add("--shortcut", "/hb")[0] == 0
    code, _, err = run("phrases", "edit", "my-refill", "--shortcut", "/bh")
    assert code == 1 and "shortcut /bh is already used by" in err
    # Keeping its own shortcut is no clash.
    assert run("phrases", "edit", "my-refill", "--shortcut", "/hb", "--title", "回购2")[0] == 0
    assert run("phrases", "check")[0] == 0
