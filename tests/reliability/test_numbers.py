"""Issue 15 item 9: amounts are bounded (a configurable maximum per line), and JSON output
never holds NaN or Infinity."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tui_agent.cli import main
from tui_agent.cli.common import to_json
from tui_agent.core.csvrows import BadRowsError
from tui_agent.store import importer
from tui_agent.store.db import connect

HEADER = "order_id,customer_id,ordered_at,sku,amount\n"


@pytest.mark.parametrize("amount", ["1e308", "1e300", "99999999999", "1,000,000,001.00"])
def test_absurd_amount_is_a_bad_row(tmp_path: Path, amount: str) -> None:
    src = tmp_path / "o.csv"
    src.write_text(HEADER + f'O1,C1,2026-01-02,S1,"{amount}"\nO2,C1,2026-01-03,S1,10\n')
    db = connect(tmp_path / "s.db")
    with pytest.raises(BadRowsError) as info:
        importer.import_orders(db, src)
    assert "amount" in info.value.result.errors[0].reason
    assert "at most" in info.value.result.errors[0].reason
    assert db.execute("SELECT count(*) FROM orders").fetchone()[0] == 0


def test_maximum_is_configurable(tmp_path: Path) -> None:
    src = tmp_path / "o.csv"
    src.write_text(HEADER + "O1,C1,2026-01-02,S1,5000\n")
    db_path = tmp_path / "s.db"
    r = CliRunner().invoke(
        main, ["--db", str(db_path), "import", "orders", str(src), "--max-amount", "1000"]
    )
    assert r.exit_code == 1 and "at most 1000" in r.output, r.output
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "config.toml").write_text("[import]\nmax_line_amount = 100000\n")
    r = CliRunner().invoke(
        main,
        ["--db", str(db_path), "import", "orders", str(src)],
        env={"TUI_AGENT_CONFIG_DIR": str(conf)},
    )
    assert r.exit_code == 0, r.output


def test_stats_json_is_strict_even_on_a_database_holding_infinity(tmp_path: Path) -> None:
    db_path = tmp_path / "s.db"
    src = tmp_path / "o.csv"
    src.write_text(HEADER + "O1,C1,2026-01-02,S1,10\nO2,C1,2026-02-03,S1,10\n")
    importer.import_orders(connect(db_path), src)
    db = connect(db_path)
    db.execute("UPDATE orders SET amount = 1e308 * 10")  # written by another tool
    db.execute("UPDATE customers SET total_spent = 1e308 * 10")
    db.close()
    r = CliRunner().invoke(main, ["--today", "2026-03-01", "--db", str(db_path), "stats", "--json"])
    assert r.exit_code == 0, r.output
    assert "Infinity" not in r.output and "NaN" not in r.output
    json.loads(r.output, parse_constant=lambda c: pytest.fail(f"non-strict JSON {c}"))


def test_to_json_replaces_non_finite_numbers() -> None:
    text = to_json({"a": float("inf"), "b": [float("nan"), 1.5], "c": {"d": -float("inf")}})
    assert json.loads(text) == {"a": None, "b": [None, 1.5], "c": {"d": None}}
