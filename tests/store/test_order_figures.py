"""The orders merge's figures computed in a second thread give the same database as computed
by the import's own connection, on a first load and on a re-import, and so do a first load's
purchase days; the scratch files go."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tui_agent.core.csvrows import BadRowsError
from tui_agent.store import order_figures, purchase_days
from tui_agent.store.db import connect
from tui_agent.store.importer import import_orders

HEAD = "order_id,customer_id,ordered_at,delivered_at,sku,product,category,quantity,amount\n"
FIRST = HEAD + (
    "O1,C1,2026-01-02 10:00,,S1,Tea,food,1,0.1\n"
    "O1,C1,2026-01-02 10:00,2026-01-05,S2,Cup,home,2,0.2\n"
    "O2,C2,2026-01-03 10:00,,S1,Tea,food,1,10\n"
    "O3,C1,2026-01-01 10:00,,S3,Pot,home,1,5\n"
)
# O2 moves to C1, O4 is new and earliest for C2, O1 loses a line.
AGAIN = HEAD + (
    "O1,C1,2026-01-02 10:00,,S1,Tea,food,1,0.1\n"
    "O2,C1,2026-01-03 10:00,,S1,Tea,food,1,10\n"
    "O4,C2,2025-12-30 10:00,,S2,Cup,home,3,7.5\n"
)


def snapshot(path: Path) -> str:
    db = connect(path)
    tables = {
        t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
        for t in ("orders", "order_lines", "products", "follow_ups")
    }
    tables["customers"] = db.execute(
        "SELECT customer_id, order_count, total_spent, first_order_at, last_order_at "
        "FROM customers ORDER BY 1"
    ).fetchall()
    return repr(tables)


def test_thread_and_connection_give_the_same_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, again = tmp_path / "first.csv", tmp_path / "again.csv"
    first.write_text(FIRST, encoding="utf-8")
    again.write_text(AGAIN, encoding="utf-8")
    started: list[bool] = []
    real_start = order_figures.start

    def counted(*args: object, **kwargs: object) -> object:
        thread = real_start(*args, **kwargs)  # type: ignore[arg-type]
        started.append(thread is not None)
        return thread

    outcomes = []
    for threaded in (True, False):
        if threaded:
            monkeypatch.setattr(order_figures, "start", counted)
        else:
            monkeypatch.setattr(order_figures, "start", lambda *a, **k: None)
        path = tmp_path / f"{threaded}.db"
        results = [import_orders(connect(path), f).summary() for f in (first, again)]
        outcomes.append((results, snapshot(path)))
    assert started == [True, True]  # a first load and a re-import
    assert outcomes[0] == outcomes[1]


def test_the_scratch_files_go_after_an_import_good_or_bad(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text(FIRST, encoding="utf-8")
    bad.write_text(HEAD + "O9,C9,not a date,,S1,Tea,food,1,1\n", encoding="utf-8")
    db = connect(tmp_path / "s.db")
    import_orders(db, good)
    with pytest.raises(BadRowsError):
        import_orders(db, bad)
    assert list(scratch.iterdir()) == []
    assert {r[1] for r in db.execute("PRAGMA database_list").fetchall()} == {"main", "temp"}


def test_a_killed_imports_scratch_folder_is_swept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    # pid 2**22 + 1 is above Linux's pid_max: no such process.
    dead = scratch / f"tui-agent-import-{2**22 + 1}-abc"
    dead.mkdir()
    (dead / "stage.db").write_bytes(b"order ids")
    alive = scratch / "tui-agent-import-1-abc"  # init: always there
    alive.mkdir()
    path = tmp_path / "o.csv"
    path.write_text(FIRST, encoding="utf-8")
    import_orders(connect(tmp_path / "s.db"), path)
    assert sorted(p.name for p in scratch.iterdir()) == [alive.name]


DAYS = HEAD + (
    "O1,C1,2026-01-02 10:00,,S1,Tea,food,1,1\n"
    "O1,C1,2026-01-02 10:00,,,,Food ,1,1\n"
    "O2,C1,2026-01-05 09:00,,S1,Tea,food,1,1\n"
    "O3,C1,2026-01-05 18:00,,,,food,1,1\n"
    "O3,C1,2026-01-05 18:00,,S2,Cup,home,1,1\n"
    "O4,C2,2026-01-06 10:00,,S2,Cup,home,1,1\n"
    "O5,C2,2026-01-09 10:00,,S2,Cup,home,1,1\n"
    "O6,C3,2026-01-09 10:00,,S1,Tea,food,1,1\n"
)


def test_a_first_loads_purchase_days_are_the_same_from_their_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "days.csv"
    path.write_text(DAYS, encoding="utf-8")
    real_start = purchase_days.start
    started: list[order_figures.ScratchThread | None] = []

    def counted(db: object) -> object:
        thread = real_start(db)  # type: ignore[arg-type]
        started.append(thread)
        return thread

    outcomes = []
    for threaded in (True, False):
        monkeypatch.setattr(purchase_days, "start", counted if threaded else lambda db: None)
        db = connect(tmp_path / f"{threaded}.db")
        import_orders(db, path)
        outcomes.append(db.execute("SELECT * FROM purchase_days ORDER BY 1, 2").fetchall())
    assert len(started) == 1 and started[0] is not None and started[0].join()  # it did the work
    assert outcomes[0] == outcomes[1]
    assert outcomes[0] == [
        ("C1", "cat:food", 2, "2026-01-02,2026-01-05"),
        ("C1", "sku:S1", 2, "2026-01-02,2026-01-05"),
        ("C2", "sku:S2", 2, "2026-01-06,2026-01-09"),
    ]


@pytest.mark.parametrize("fails", ["before its first commit", "after its first commit"])
def test_a_first_load_whose_figures_thread_fails_is_finished_by_the_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fails: str
) -> None:
    """The thread commits the customers' figures first, and the import writes them while
    the thread numbers the orders: wherever the thread fails, the import computes what is
    missing and the database is the one without a thread."""
    first = tmp_path / "first.csv"
    first.write_text(FIRST, encoding="utf-8")
    calls: list[str] = []

    real_split = order_figures._first_load_split

    def failing(execute: Callable[[str], object], ready: Callable[[], None]) -> None:
        calls.append(fails)

        def broken(sql: str) -> object:  # the statements after the first commit fail
            if fails.startswith("before") or "numbers." in sql:
                raise sqlite3.OperationalError("disk I/O error (the test's)")
            return execute(sql)

        real_split(broken, ready)

    monkeypatch.setattr(order_figures, "_first_load_split", failing)
    failed = import_orders(connect(tmp_path / "failed.db"), first).summary()
    monkeypatch.setattr(order_figures, "start", lambda *a, **k: None)
    plain = import_orders(connect(tmp_path / "plain.db"), first).summary()
    assert calls == [fails]
    assert failed == plain
    assert snapshot(tmp_path / "failed.db") == snapshot(tmp_path / "plain.db")
