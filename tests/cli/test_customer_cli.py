"""``tui-agent customer find|show|opt-in|opt-out`` and ``tui-agent touch outcome|undo``."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from tests.helpers import add_customer, add_order
from tui_agent.cli import main
from tui_agent.core.dates import to_db
from tui_agent.store import followups as fu
from tui_agent.store.db import write_tx

CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
HOSTILE = "坏\x1b[2J\x1b]52;c;aGk=\x07人\x9b31m"


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, list(args))
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture
def shop(db: sqlite_utils.Database, db_path: Path) -> Path:
    with write_tx(db):
        add_customer(
            db, "C1", name="王芳", phone="13812345678", wechat="wf88", tier="金卡会员", points=320,
            tags="VIP,敏感肌",
        )  # fmt: skip
        add_customer(db, "C2", name=HOSTILE, phone="13900001111")
        add_order(db, "O1", "C1", "2026-11-01 10:00:00", "2026-11-03 10:00:00", 199,
                  lines=[("S1", "玻尿酸精华", "beauty")])  # fmt: skip
        add_order(db, "O2", "C2", "2026-11-02 10:00:00", None, 20, lines=[("S2", HOSTILE, None)])
        db.execute(
            "INSERT INTO follow_ups (id, customer_id, stage, rule, due_date, created_at, "
            "updated_at) VALUES (7, 'C1', 'satisfaction', 'check+3', '2026-11-06', 'x', 'x')"
        )
    return db_path


def log(
    db: sqlite_utils.Database, agent: str, cid: str, at: datetime, fid: int | None = None
) -> int:
    return fu.log_touch(
        db, agent=agent, customer_id=cid, text=f"您好 {HOSTILE}", follow_up_id=fid, now=at
    )


def assert_clean(text: str) -> None:
    assert not CONTROL.search(text), repr(text)


# ---------------------------------------------------------------------------------------------
# customer find


def test_find_by_phone_tail_text_and_json(shop: Path) -> None:
    code, out, _ = run("customer", "find", "5678", "--db", str(shop))
    assert code == 0
    assert out.startswith("C1  王芳  138****5678  wechat wf88  tier 金卡会员  1 order(s)")
    assert "[phone_tail]" in out and "13812345678" not in out
    code, out, _ = run("customer", "find", "5678", "--db", str(shop), "--json", "--show-phone")
    assert code == 0
    (hit,) = json.loads(out)
    assert hit["customer_id"] == "C1" and hit["phone"] == "13812345678"
    assert hit["matched"] == "phone_tail" and hit["rank"] == 5


def test_find_by_pinyin_initials_and_wechat(shop: Path) -> None:
    for query, matched in (("wangfang", "pinyin"), ("wf", "initials"), ("wf88", "wechat")):
        code, out, _ = run("customer", "find", query, "--db", str(shop), "--json")
        assert code == 0 and json.loads(out)[0]["matched"] == matched


def test_find_no_match_exits_1(shop: Path) -> None:
    code, out, err = run("customer", "find", "nobody", "--db", str(shop))
    assert code == 1 and out == "" and "no customer matches 'nobody'" in err
    code, out, _ = run("customer", "find", "nobody", "--db", str(shop), "--json")
    assert code == 1 and json.loads(out) == []


def test_find_usage_errors_exit_2(shop: Path) -> None:
    assert run("customer", "find", "--db", str(shop))[0] == 2
    assert run("customer", "find", "x", "--limit", "0", "--db", str(shop))[0] == 2


def test_hostile_names_never_reach_the_terminal_raw(shop: Path) -> None:
    db = sqlite_utils.Database(shop)
    log(db, "lily", "C2", datetime(2026, 11, 29, 9, 0))
    code, out, _ = run("customer", "find", "坏", "--db", str(shop))
    assert code == 0 and "坏␛[2J" in out
    assert_clean(out)
    code, out, _ = run("customer", "show", "C2", "--db", str(shop))
    assert code == 0
    assert_clean(out)
    code, out, _ = run("customer", "show", "C2", "--db", str(shop), "--json")
    assert code == 0
    assert_clean(out)
    assert json.loads(out)["name"] == HOSTILE  # the JSON value itself is intact


# ---------------------------------------------------------------------------------------------
# customer show


def test_show_json_has_the_whole_page(shop: Path) -> None:
    db = sqlite_utils.Database(shop)
    tid = log(db, "lily", "C1", datetime(2026, 11, 6, 9, 0), fid=None)
    code, _, _ = run("touch", "outcome", str(tid), "satisfied", "--note", "很好用", "--db",
                     str(shop), "--agent", "lily")  # fmt: skip
    assert code == 0
    code, out, _ = run(
        "--today", "2026-11-29", "customer", "show", "C1", "--db", str(shop), "--json"
    )
    assert code == 0
    page = json.loads(out)
    assert {"customer_id", "name", "orders", "touches", "follow_ups", "segment"} <= set(page)
    assert (page["customer_id"], page["name"], page["phone"]) == ("C1", "王芳", "138****5678")
    assert (
        page["tier"] == "金卡会员" and page["points"] == 320 and page["tags"] == ["VIP", "敏感肌"]
    )
    assert page["orders"][0]["lines"][0]["product"] == "玻尿酸精华"
    (touch,) = page["touches"]
    assert touch["id"] == tid and touch["outcome"] == "satisfied"
    assert touch["outcome_note"] == "很好用" and touch["retracted"] is False
    assert [f["id"] for f in page["follow_ups"]] == [7]
    assert page["segment"] is not None and page["opt_out"] is False


def test_show_text(shop: Path) -> None:
    db = sqlite_utils.Database(shop)
    log(db, "lily", "C1", datetime(2026, 11, 6, 9, 0))
    code, out, _ = run("customer", "show", "C1", "--db", str(shop))
    assert code == 0
    assert out.startswith("王芳  C1\n  tier 金卡会员 · points 320 · segment ")
    assert "Orders (1)\n  2026-11-01  O1  199.00  delivered 2026-11-03\n      玻尿酸精华 x1" in out
    assert "Touches (1)\n  #1  2026-11-06 09:00  lily  touch  outcome: -" in out
    assert "Open follow-ups (1)\n  #7  due 2026-11-06  满意度确认 satisfaction  check+3" in out


def test_show_unknown_customer_exits_1(shop: Path) -> None:
    code, _, err = run("customer", "show", "nope", "--db", str(shop))
    assert code == 1 and "no customer 'nope'" in err


def test_commands_never_create_a_database(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    for args in (
        ("customer", "find", "x"),
        ("customer", "show", "C1"),
        ("customer", "opt-in", "C1", "--reason", "r"),
        ("touch", "outcome", "1", "replied"),
        ("touch", "undo"),
    ):
        code, _, err = run(*args, "--db", str(missing))
        assert code == 1 and "no such database" in err
    assert not missing.exists()


# ---------------------------------------------------------------------------------------------
# opt-out and opt-in


def test_opt_out_then_opt_in_logged_and_shown(shop: Path) -> None:
    code, out, _ = run("customer", "opt-out", "C1", "--reason", "电话里说别发了", "--agent", "lily",
                       "--db", str(shop))  # fmt: skip
    assert code == 0 and "1 open follow-up(s) cancelled" in out
    code, _, err = run("customer", "opt-out", "C1", "--agent", "lily", "--db", str(shop))
    assert code == 1 and "already opted out" in err
    code, out, _ = run("customer", "show", "C1", "--db", str(shop))
    assert "OPTED OUT: do not contact (" in out and "by lily: 电话里说别发了)" in out
    code, out, _ = run("customer", "opt-in", "C1", "--reason", "客户要求恢复", "--agent", "mike",
                       "--db", str(shop), "--json")  # fmt: skip
    assert code == 0
    event = json.loads(out)
    assert (event["kind"], event["agent"], event["note"]) == ("opt_in", "mike", "客户要求恢复")
    code, out, _ = run("customer", "show", "C1", "--db", str(shop), "--json")
    page = json.loads(out)
    assert page["opt_out"] is False
    assert [e["kind"] for e in page["events"]] == ["opt_out", "opt_in"]


def test_opt_in_errors(shop: Path) -> None:
    code, _, err = run("customer", "opt-in", "C1", "--reason", "x", "--db", str(shop))
    assert code == 1 and "not opted out" in err
    assert run("customer", "opt-in", "C1", "--db", str(shop))[0] == 2  # --reason required
    assert run("customer", "opt-in", "C1", "--reason", " ", "--db", str(shop))[0] == 2
    code, _, err = run("customer", "opt-in", "nope", "--reason", "x", "--db", str(shop))
    assert code == 1 and "no customer 'nope'" in err


# ---------------------------------------------------------------------------------------------
# touch outcome and undo


def test_touch_outcome_text_json_and_errors(shop: Path) -> None:
    db = sqlite_utils.Database(shop)
    tid = log(db, "lily", "C1", datetime(2026, 11, 6, 9, 0))
    code, out, _ = run(
        "touch", "outcome", str(tid), "question", "--agent", "lily", "--db", str(shop)
    )
    assert code == 0 and out.strip() == f"touch #{tid} (C1): question 有疑问 (recorded by lily)"
    code, out, _ = run("touch", "outcome", str(tid), "ordered", "--note", "买了两瓶", "--json",
                       "--agent", "mike", "--db", str(shop))  # fmt: skip
    assert code == 0
    event = json.loads(out)
    assert (event["kind"], event["value"], event["note"]) == ("outcome", "ordered", "买了两瓶")
    code, _, err = run("touch", "outcome", str(tid), "happy", "--db", str(shop))
    assert code == 2 and "'happy' is not one of" in err
    code, _, err = run("touch", "outcome", "999", "replied", "--db", str(shop))
    assert code == 1 and "touch #999 does not exist" in err
    assert run("touch", "outcome", "0", "replied", "--db", str(shop))[0] == 2


def test_touch_undo_inside_and_outside_the_window(shop: Path) -> None:
    db = sqlite_utils.Database(shop)
    assert fu.claim(db, 7, "lily", now=datetime.now())
    recent = log(db, "lily", "C1", datetime.now().replace(microsecond=0), fid=7)
    code, out, _ = run(
        "touch", "undo", "--agent", "lily", "--reason", "发错人了", "--db", str(shop)
    )
    assert code == 0
    assert (
        out.strip()
        == f"retracted touch #{recent} to C1 (发错人了); follow-up #7 is back in the queue"
    )
    row = db.execute("SELECT status, claimed_by FROM follow_ups WHERE id = 7").fetchone()
    assert row == ("pending", None)
    code, _, err = run("touch", "undo", str(recent), "--agent", "lily", "--db", str(shop))
    assert code == 1 and "already retracted" in err
    old = log(db, "lily", "C2", datetime.now().replace(microsecond=0) - timedelta(minutes=30))
    code, _, err = run("touch", "undo", "--agent", "lily", "--db", str(shop))
    assert code == 1 and f"touch #{old} was logged 30 min ago" in err
    code, out, _ = run("touch", "undo", "--agent", "lily", "--within", "45", "--json", "--db",
                       str(shop))  # fmt: skip
    assert code == 0
    undone = json.loads(out)
    assert undone["touch_id"] == old and undone["follow_up_id"] is None
    assert undone["retraction"]["kind"] == "retract"


def test_touch_undo_refuses_another_agents_touch(shop: Path) -> None:
    db = sqlite_utils.Database(shop)
    tid = log(db, "mike", "C1", datetime.now().replace(microsecond=0))
    code, _, err = run("touch", "undo", str(tid), "--agent", "lily", "--db", str(shop))
    assert code == 1 and f"touch #{tid} was logged by mike, not lily" in err
    code, _, err = run("touch", "undo", "--agent", "lily", "--db", str(shop))
    assert code == 1 and "lily has no touch to take back" in err


def test_touch_undo_window_from_the_config(shop: Path, tmp_path: Path) -> None:
    from tui_agent.paths import config_file

    config = config_file()
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("[work]\nundo_minutes = 60\n", encoding="utf-8")
    db = sqlite_utils.Database(shop)
    at = datetime.now().replace(microsecond=0) - timedelta(minutes=30)
    db.execute(
        "INSERT INTO touches (agent, customer_id, text, at) VALUES ('lily', 'C1', 't', ?)",
        [to_db(at)],
    )
    assert run("touch", "undo", "--agent", "lily", "--db", str(shop))[0] == 0
    config.write_text("[work]\nundo_minutes = 'ten'\n", encoding="utf-8")
    code, _, err = run("touch", "undo", "--agent", "lily", "--db", str(shop))
    assert code == 1 and "work.undo_minutes must be a whole number of minutes" in err


def test_help_is_true_for_every_new_command() -> None:
    for args, words in (
        (("customer",), ["find", "show", "note", "opt-in", "opt-out"]),
        (("customer", "find"), ["last 4 digits", "--json", "--limit", "--show-phone"]),
        (("customer", "show"), ["every order", "--json"]),
        (("customer", "opt-in"), ["--reason", "nothing is deleted"]),
        (("touch",), ["outcome", "undo"]),
        (("touch", "outcome"), ["no_reply", "--note", "--json"]),
        (("touch", "undo"), ["--within", "--reason", "--agent"]),
        (("due",), ["--stage", "--rule", "--segment", "--tag", "--overdue", "--mine"]),
    ):
        code, out, _ = run(*args, "--help")
        flat = " ".join(out.split())
        assert code == 0 and all(w in flat for w in words), (args, out)


def test_note_replaces_the_notes_and_keeps_every_version(shop: Path) -> None:
    code, out, _ = run("customer", "note", "C1", "晚上联系", "--agent", "lily", "--db", str(shop))
    assert code == 0 and out.strip() == "C1: notes saved by lily"
    code, out, _ = run("customer", "note", "C1", "只用微信", "--agent", "mike", "--db", str(shop),
                       "--json")  # fmt: skip
    assert code == 0 and json.loads(out)["note"] == "只用微信"
    page = json.loads(run("customer", "show", "C1", "--db", str(shop), "--json")[1])
    assert page["notes"] == "只用微信"
    assert [(e["kind"], e["note"]) for e in page["events"]] == [
        ("note", "晚上联系"), ("note", "只用微信"),
    ]  # fmt: skip
    assert "notes: 只用微信" in run("customer", "show", "C1", "--db", str(shop))[1]
    code, out, _ = run("customer", "note", "C1", "", "--db", str(shop))
    assert code == 0 and "notes cleared" in out
    code, _, err = run("customer", "note", "nope", "x", "--db", str(shop))
    assert code == 1 and "customer nope does not exist" in err


# ---------------------------------------------------------------------------------------------
# BTYD predictions on the customer's page (issue 12)


def _fit(db: sqlite_utils.Database, *, fitted: bool = True) -> None:
    body = {"fitted": fitted, "missing": [] if fitted else ["2 customers (need 500)"]}
    with write_tx(db):
        db.execute(
            "INSERT INTO model_fits(kind, as_of, fingerprint, fitted_at, body) "
            "VALUES ('btyd', '2026-11-29', 'x', '2026-11-29 08:00:00', ?)",
            [json.dumps(body)],
        )
        if fitted:
            db.execute(
                "INSERT INTO customer_predictions VALUES "
                "('C1', 0.8234, 0.41, 1.37, 180.0, 1240.4, '2026-12-20')"
            )


def test_show_json_has_the_predictions_at_top_level(shop: Path) -> None:
    _fit(sqlite_utils.Database(shop))
    code, out, _ = run("customer", "show", "C1", "--db", str(shop), "--json")
    assert code == 0
    page = json.loads(out)
    assert page["p_alive"] == 0.8234
    assert page["expected_purchases_90d"] == 0.41 and page["expected_purchases_365d"] == 1.37
    assert page["predicted_next_order"] == "2026-12-20" and page["clv_365d"] == 1240.4
    assert page["prediction_missing"] is None
    # fitted, but C2 has no row: null keys and the reason
    page2 = json.loads(run("customer", "show", "C2", "--db", str(shop), "--json")[1])
    assert page2["p_alive"] is None and page2["clv_365d"] is None
    assert "C2" not in page2["prediction_missing"] and page2["prediction_missing"]


def test_show_says_why_there_is_no_prediction(shop: Path) -> None:
    code, out, _ = run("customer", "show", "C1", "--db", str(shop), "--json")
    page = json.loads(out)
    assert code == 0 and page["p_alive"] is None and page["predicted_next_order"] is None
    assert "no fit yet" in page["prediction_missing"]
    code, out, _ = run("customer", "show", "C1", "--db", str(shop))
    assert "  no prediction: no fit yet" in out
    _fit(sqlite_utils.Database(shop), fitted=False)
    page = json.loads(run("customer", "show", "C1", "--db", str(shop), "--json")[1])
    assert page["prediction_missing"] == "too little data: 2 customers (need 500)"


def test_show_text_has_the_prediction_line(shop: Path) -> None:
    _fit(sqlite_utils.Database(shop))
    code, out, _ = run("customer", "show", "C1", "--db", str(shop))
    assert code == 0
    assert "  P(alive) 0.82 · next order ~2026-12-20 · 365-day value ¥1,240" in out
