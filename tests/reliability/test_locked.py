"""Issue 15 item 5 (the commands' part): when another writer holds the database longer than
the busy timeout, `due` and the other commands print one line and exit 1; nothing is lost."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from tui_agent.cli import main
from tui_agent.store import db as dbmod
from tui_agent.store.db import connect


@pytest.mark.parametrize(
    "args",
    [
        ["due", "--date", "2026-01-05"],
        ["import", "customers", "CSV"],
    ],
)
def test_commands_on_a_locked_database_print_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    path = tmp_path / "s.db"
    connect(path).close()
    csv = tmp_path / "c.csv"
    csv.write_text("customer_id,name\nC1,王芳\n", encoding="utf-8")
    args = [str(csv) if a == "CSV" else a for a in args]
    monkeypatch.setattr(dbmod, "BUSY_TIMEOUT_MS", 50)
    real = dbmod.write_tx

    def few_retries(db: object, *, retries: int = 8) -> object:
        return real(db, retries=1)  # type: ignore[arg-type]

    monkeypatch.setattr(dbmod, "write_tx", few_retries)
    monkeypatch.setattr("tui_agent.store.followups.write_tx", few_retries, raising=False)
    monkeypatch.setattr("tui_agent.store.importer.write_tx", few_retries, raising=False)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # an import merging, for longer than the timeout
    try:
        r = CliRunner().invoke(main, ["--db", str(path), *args])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert r.exit_code == 1, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1, r.output
    assert "busy" in lines[0] and "try again" in lines[0]
    assert connect(path).execute("SELECT count(*) FROM customers").fetchone()[0] == 0


def test_a_big_import_says_at_start_that_agents_will_wait(tmp_path: Path) -> None:
    csv = tmp_path / "orders.csv"
    line = "O{},C{},2026-01-02 10:00:00,,S1,挂耳咖啡,food,1,39.90\n"
    with csv.open("w", encoding="utf-8") as f:
        f.write(
            "order_id,customer_id,ordered_at,delivered_at,sku,product,category,quantity,amount\n"
        )
        for i in range(240_000):
            f.write(line.format(i, i % 5000))
    r = CliRunner().invoke(main, ["--db", str(tmp_path / "s.db"), "import", "orders", str(csv)])
    assert r.exit_code == 0, r.output
    first = r.output.splitlines()[0]
    assert first.startswith("note: orders.csv is big") and "agents' touches wait" in first
