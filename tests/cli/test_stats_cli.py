"""``tui-agent stats`` and ``tui-agent export`` through click's runner."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from tests.analytics_data import add_customer, add_order, build_shop
from tui_agent.cli import main


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_stats_json(db: sqlite_utils.Database, db_path: Path) -> None:
    build_shop(db)
    code, out = _run(
        "--db", str(db_path), "--today", "2024-03-31", "stats", "--from", "2024-01-01", "--json"
    )
    assert code == 0, out
    data = json.loads(out)
    assert {"repurchase_rate", "customers", "orders", "ltv", "segments", "attribution"} <= set(data)
    assert (data["customers"], data["orders"], data["repurchase_rate"]) == (4, 6, 0.25)
    assert data["ltv"]["value"] == 570.0 and data["ltv"]["lifetime_source"] == "default"
    seg = {s["segment"]: s["customers"] for s in data["segments"]}
    assert seg["champions"] == 1 and seg["lost"] == 1
    assert data["attribution"]["total"]["touches"] == 3  # D's touch of 03-20 is maturing
    assert data["attribution"]["maturing"]["touches"] == 1
    # every compared rate carries its 95% Wilson interval: 1 of 4 repeat customers
    low, high = data["repurchase_rate_ci95"]
    assert low == pytest.approx(0.0456, abs=1e-4) and high == pytest.approx(0.6994, abs=1e-4)
    assert all("repurchase_rate_ci95" in g for g in data["segments"])
    assert data["attribution"]["window_days"] == 14


def test_stats_options(db: sqlite_utils.Database, db_path: Path) -> None:
    build_shop(db)
    code, out = _run(
        "--db", str(db_path), "--today", "2024-03-31", "stats", "--json",
        "--lifetime-years", "2", "--window-days", "1",
    )  # fmt: skip
    assert code == 0, out
    data = json.loads(out)
    assert data["ltv"]["lifetime_source"] == "configured" and data["ltv"]["value"] == 380.0
    assert data["attribution"]["total"]["converted"] == 0  # no order within a day of a touch


def test_stats_tables(db: sqlite_utils.Database, db_path: Path) -> None:
    build_shop(db)
    code, out = _run("--db", str(db_path), "--today", "2024-03-31", "stats", "--from", "2024-01-01")
    assert code == 0, out
    assert "25.0%" in out  # repurchase rate
    assert "champions" in out and "Touches by stage" in out


def test_stats_user_errors(tmp_path: Path, db: sqlite_utils.Database, db_path: Path) -> None:
    code, out = _run("--db", str(tmp_path / "missing.db"), "stats")
    assert code == 1 and "no such database" in out
    code, out = _run("--db", str(db_path), "stats", "--from", "2024-02-01", "--to", "2024-01-01")
    assert code == 2 and "after" in out
    code, _ = _run("--db", str(db_path), "stats", "--from", "yesterday")
    assert code == 2
    code, _ = _run("--db", str(db_path), "stats", "--window-days", "0")
    assert code == 2


def test_stats_on_empty_database(db: sqlite_utils.Database, db_path: Path) -> None:
    code, out = _run("--db", str(db_path), "stats", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["customers"] == 0 and data["repurchase_rate"] is None
    code, out = _run("--db", str(db_path), "stats")
    assert code == 0, out


def test_export_neutralises_formulas_and_writes_bom(
    db: sqlite_utils.Database, db_path: Path, tmp_path: Path
) -> None:
    add_customer(db, "c1", '=HYPERLINK("http://evil","点我")')
    add_customer(db, "c2", "王小明")
    add_customer(db, "@c3", "-1+1")
    add_order(db, "o1", "c1", "2024-01-01 10:00:00", 10.0)
    out_file = tmp_path / "customers.csv"
    code, out = _run("--db", str(db_path), "--today", "2024-03-31", "export", "customers",
                     str(out_file))  # fmt: skip
    assert code == 0, out
    raw = out_file.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:2] == ["customer_id", "name"]
    by_id = {r[0]: r for r in rows[1:]}
    assert by_id["c1"][1] == '\'=HYPERLINK("http://evil","点我")'
    assert by_id["c2"][1] == "王小明"
    assert "'@c3" in by_id and by_id["'@c3"][1] == "'-1+1"
    assert "3 customers rows" in out


def test_export_kinds_and_errors(db: sqlite_utils.Database, db_path: Path, tmp_path: Path) -> None:
    build_shop(db)
    for kind in ("touches", "segments"):
        f = tmp_path / f"{kind}.csv"
        code, out = _run("--db", str(db_path), "--today", "2024-03-31", "export", kind, str(f))
        assert code == 0, out
        lines = f.read_text(encoding="utf-8-sig").splitlines()
        assert len(lines) == (5 if kind == "touches" else 12)  # header + 4 touches / 11 segments
    code, _ = _run("--db", str(db_path), "export", "orders", str(tmp_path / "x.csv"))
    assert code == 2
    code, out = _run("--db", str(db_path), "export", "touches", str(tmp_path / "no" / "x.csv"))
    assert code == 1 and "x.csv" in out


def test_stats_from_later_than_to_is_a_usage_error(
    db: sqlite_utils.Database, db_path: Path
) -> None:
    """Defect 11: a period that ends before it starts is bad usage (exit 2, with the usage)."""
    build_shop(db)
    code, out = _run("--db", str(db_path), "stats", "--from", "2024-03-02", "--to", "2024-03-01")
    assert code == 2
    assert "Usage:" in out and "--from 2024-03-02 is after --to 2024-03-01" in out
    code, out = _run(
        "--db", str(db_path), "--today", "2024-03-31", "stats", "--from", "2024-04-01", "--json"
    )
    assert code == 2 and "--from 2024-04-01 is after today (2024-03-31)" in out
    code, _ = _run("--db", str(db_path), "stats", "--from", "2024-03-01", "--to", "2024-03-01")
    assert code == 0


def test_stats_json_has_clv_and_says_what_is_missing(
    db: sqlite_utils.Database, db_path: Path
) -> None:
    build_shop(db)
    code, out = _run("--db", str(db_path), "--today", "2024-03-31", "stats", "--json")
    assert code == 0, out
    clv = json.loads(out)["clv"]
    assert clv["fitted"] is False and clv["r"] is None
    assert "4 customers (need 500)" in clv["missing"]
    assert clv["thresholds"]["min_customers"] == 500
    code, out = _run("--db", str(db_path), "--today", "2024-03-31", "stats")
    assert code == 0 and "not fitted: 4 customers (need 500)" in out


def test_stats_refresh_model_fits_a_big_enough_shop(
    db: sqlite_utils.Database, db_path: Path
) -> None:
    # 600 customers over a year; every third comes back monthly
    for i in range(600):
        cid = f"c{i:03d}"
        add_customer(db, cid)
        add_order(db, f"{cid}-0", cid, f"2023-{1 + i % 12:02d}-05 10:00:00", 20.0 + i % 7)
        if i % 3 == 0:
            for k in range(1, 4):
                add_order(db, f"{cid}-{k}", cid, f"2024-{k:02d}-{1 + i % 27:02d} 10:00:00", 30.0)
    code, out = _run(
        "--db", str(db_path), "--today", "2024-03-31", "stats", "--json", "--refresh-model"
    )
    assert code == 0, out
    clv = json.loads(out)["clv"]
    assert clv["fitted"] and clv["missing"] == [] and not clv["stale"]
    assert all(clv[k] > 0 for k in ("r", "alpha", "a", "b", "p", "q", "v"))
    assert clv["customers"] == 600
    # The segments are stored with the fit, as of the same day: the next run reads them.
    from datetime import date

    from tui_agent.store.analytics import stored_segments_current

    assert stored_segments_current(db, date(2024, 3, 31))
    code, again = _run("--db", str(db_path), "--today", "2024-03-31", "stats", "--json")
    assert code == 0 and json.loads(again)["segments"] == json.loads(out)["segments"]


def test_stats_leave_out_cancelled_and_refunded_orders(db_path: Path, tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order_id,customer_id,ordered_at,amount,status,refunded\n"
        "O1,C1,2024-01-05,100,paid,\n"
        "O2,C1,2024-02-05,100,cancelled,\n"  # C1 did not buy twice
        "O3,C2,2024-01-10,100,paid,\n"
        "O4,C2,2024-02-10,100,refunded,\n"  # nor did C2
        "O5,C3,2024-01-15,100,paid,\n"
        "O6,C3,2024-02-15,100,partially_refunded,40\n",  # C3 did, for 160 in all
        encoding="utf-8",
    )
    code, out = _run("--db", str(db_path), "import", "orders", str(orders))
    assert code == 0, out
    code, out = _run(
        "--db", str(db_path), "--today", "2024-03-31", "stats", "--from", "2024-01-01", "--json"
    )
    assert code == 0, out
    data = json.loads(out)
    assert (data["customers"], data["orders"]) == (3, 4)
    assert data["repurchase_rate"] == 0.3333  # 1 of 3 customers, rounded by stats
    assert data["orders_left_out"] == {"cancelled": 1, "refunded": 1, "partially_refunded": 1}
    code, out = _run("--db", str(db_path), "--today", "2024-03-31", "stats", "--from", "2024-01-01")
    assert code == 0, out
    assert "2 orders left out of every figure: 1 cancelled, 1 refunded" in out
    assert "1 partly refunded orders counted at their amount after the refund" in out
    code, out = _run(
        "--db", str(db_path), "--today", "2024-03-31", "stats", "--from", "2024-02-06", "--json"
    )
    assert json.loads(out)["orders_left_out"] == {"refunded": 1, "partially_refunded": 1}
