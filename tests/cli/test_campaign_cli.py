"""``tui-agent campaign ...`` through click's runner."""

from __future__ import annotations

import csv
import io
import json
import stat
from pathlib import Path

import sqlite_utils
from click.testing import CliRunner

from tests.helpers import add_customer, add_order
from tui_agent.cli import main

TODAY = "2026-11-22"


def _run(db_path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--db", str(db_path), "--today", TODAY, *args])
    return result.exit_code, result.output


def _shop(db: sqlite_utils.Database) -> None:
    add_customer(
        db, "c1", name='=HYPERLINK("http://evil","点我")', phone="13812345678", tier="gold"
    )
    add_customer(db, "c2", name="王小明", phone="13987654321", tier="gold")
    add_customer(db, "c3", name="李雷", tier="gold", opt_out=1)
    add_customer(db, "c4", name="韩梅梅", tier="silver")
    for i, cid in enumerate(("c1", "c2", "c3", "c4")):
        add_order(db, f"o{i}", cid, "2026-10-01 10:00:00", None, 100 - i)


def _create(db_path: Path, *extra: str) -> tuple[int, str]:
    return _run(
        db_path, "campaign", "create", "金卡回购", "--phrase", "coupon-returning",
        "--tier", "gold", "--holdout", "0", *extra,
    )  # fmt: skip


def test_dry_run_writes_nothing(db: sqlite_utils.Database, db_path: Path) -> None:
    _shop(db)
    code, out = _create(db_path, "--dry-run", "--set", "coupon=满99减10")
    assert code == 0, out
    assert "audience 3: 3 to contact, 0 in the holdout" in out
    assert "opted out (never contacted): 1" in out
    assert out.count("  sample ") == 2  # c3 opted out: only two can be worked
    assert "满99减10" in out and "nothing written" in out
    assert db.execute("SELECT count(*) FROM campaigns").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM follow_ups").fetchone()[0] == 0


def test_create_show_json_and_rerun_merges(db: sqlite_utils.Database, db_path: Path) -> None:
    _shop(db)
    code, out = _create(db_path)
    assert code == 0, out
    assert "created: 3 member(s) added" in out
    code, out = _run(db_path, "campaign", "show", "金卡回购", "--json")
    data = json.loads(out)
    for key in ("members", "holdout", "opted_out", "capped", "done"):
        assert isinstance(data[key], int)
    assert (data["members"], data["holdout"], data["opted_out"], data["scheduled"]) == (3, 0, 1, 2)
    code, out = _create(db_path)  # the same command again: merged, nothing new
    assert code == 0 and "merged into: 0 member(s) added (3 already in)" in out
    code, out = _create(db_path, "--per-day", "5")  # other settings: refused
    assert code == 1 and "different per_day" in out
    code, out = _run(db_path, "campaign", "list", "--json")
    assert [c["name"] for c in json.loads(out)] == ["金卡回购"]


def test_usage_and_data_errors(db: sqlite_utils.Database, db_path: Path, tmp_path: Path) -> None:
    _shop(db)
    code, out = _run(db_path, "campaign", "create", "x", "--phrase", "coupon-returning")
    assert code == 2 and "at least one audience filter" in out
    code, out = _run(db_path, "campaign", "create", "x", "--phrase", "nope", "--tier", "gold")
    assert code == 1 and "no phrase 'nope'" in out
    ids = tmp_path / "ids.csv"
    ids.write_text("customer_id,note\nc1,a\nc9,b\n", encoding="utf-8")
    code, out = _run(db_path, "campaign", "create", "x", "--phrase", "coupon-returning",
                     "--customers", str(ids))  # fmt: skip
    assert code == 1 and f"{ids}:3: no customer 'c9'" in out
    ids.write_text("a,b\n1,2\n", encoding="utf-8")
    code, out = _run(db_path, "campaign", "create", "x", "--phrase", "coupon-returning",
                     "--customers", str(ids))  # fmt: skip
    assert code == 1 and f"{ids}:1: no customer_id column" in out
    assert db.execute("SELECT count(*) FROM campaigns").fetchone()[0] == 0
    code, out = _run(db_path, "campaign", "show", "nope")
    assert code == 1 and "no campaign 'nope'" in out
    assert "Traceback" not in out


def test_export_is_formula_safe_private_and_not_sent(
    db: sqlite_utils.Database, db_path: Path, tmp_path: Path
) -> None:
    _shop(db)
    _create(db_path)
    target = tmp_path / "out.csv"
    code, out = _run(db_path, "campaign", "export", "金卡回购", str(target))
    assert code == 1 and "missing values for: coupon" in out and not target.exists()
    code, out = _run(db_path, "campaign", "export", "金卡回购", str(target), "--set", "coupon==1+1")
    assert code == 0, out
    assert "2 message(s) written" in out and "not logged as sent" in out
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["customer_id", "name", "phone", "text"]
    by_id = {r[0]: r for r in rows[1:]}
    assert set(by_id) == {"c1", "c2"}  # c3 opted out
    assert by_id["c1"][1] == '\'=HYPERLINK("http://evil","点我")'
    assert by_id["c1"][3].startswith("'=HYPERLINK")  # the filled text starts with the name
    assert by_id["c1"][2] == "138****5678"
    assert db.execute("SELECT count(*) FROM touches").fetchone()[0] == 0
    code, out = _run(db_path, "campaign", "export", "金卡回购", str(target), "--set", "coupon=X",
                     "--full-phone", "--log-as-sent")  # fmt: skip
    assert code == 0 and "2 logged as sent (channel bulk)" in out
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    assert {r[2] for r in rows[1:]} == {"13812345678", "13987654321"}
    assert db.execute("SELECT count(*) FROM touches WHERE channel = 'bulk'").fetchone()[0] == 2
    code, out = _run(db_path, "campaign", "show", "金卡回购", "--json")
    assert json.loads(out)["done"] == 2


def test_report_json_and_status_commands(db: sqlite_utils.Database, db_path: Path) -> None:
    _shop(db)
    _create(db_path)
    code, out = _run(db_path, "campaign", "report", "金卡回购", "--json")
    assert code == 0, out
    data = json.loads(out)
    for key in ("contacted", "holdout", "conversion", "holdout_conversion", "lift", "lift_ci"):
        assert key in data
    assert data["contacted"] == 0 and data["warning"] == "nobody has been contacted yet"
    code, out = _run(db_path, "campaign", "report", "金卡回购")
    assert code == 0 and "contacted 0" in out and "warning" in out
    code, out = _run(db_path, "campaign", "pause", "金卡回购")
    assert code == 0 and "paused; 2 open follow-up(s) cancelled" in out
    code, out = _run(db_path, "campaign", "resume", "金卡回购")
    assert code == 0 and "active" in out and "scheduled 2" in out
    code, out = _run(db_path, "campaign", "end", "金卡回购")
    assert code == 0 and "ended" in out
    code, out = _run(db_path, "campaign", "resume", "金卡回购")
    assert code == 1 and "has ended" in out
