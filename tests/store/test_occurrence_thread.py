"""Replenishment's occurrences collected on a second connection give the same day as on the
generation's own; when a commit falls between the two snapshots, or the thread fails, the
generation's connection collects them itself."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from tests.store.test_generate_identical import FOLLOW_UPS, REASONS
from tests.store.test_reference import calendar_rules, random_shop
from tui_agent.core.rules import RuleSet
from tui_agent.store import generation, occurrence_thread
from tui_agent.store.db import connect, write_tx
from tui_agent.store.followups import generate

DAYS = [date(2026, 3, 1) + timedelta(days=i) for i in range(0, 40, 3)]


def _shop(tmp: Path, name: str) -> sqlite_utils.Database:
    db = connect(tmp / f"{name}.db")
    random_shop(db, tmp, seed=3)
    return db


def _state(db: sqlite_utils.Database) -> tuple[list[Any], list[Any]]:
    return db.execute(FOLLOW_UPS).fetchall(), db.execute(REASONS).fetchall()


def _rules() -> RuleSet:
    """Every kind, and a second replenishment rule (each keeps its own-cycle lines apart)."""
    rules = calendar_rules()
    first = next(r for r in rules.rules if r.kind == "replenish")
    refill = replace(first, id="refill", lead_days=2, own_cycle_min_orders=2)
    return replace(rules, rules=(*rules.rules, refill))


def _days(db: sqlite_utils.Database) -> tuple[list[Any], list[Any]]:
    rules = _rules()
    for day in DAYS:
        generate(db, day, rules, now=datetime.combine(day, datetime.min.time()))
    return _state(db)


def test_the_thread_collects_what_the_connection_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    used: list[bool] = []
    real_rows = occurrence_thread.OccurrenceThread.rows

    def rows(self: occurrence_thread.OccurrenceThread) -> list[Any] | None:
        got = real_rows(self)
        used.append(got is not None)
        return got

    monkeypatch.setattr(occurrence_thread.OccurrenceThread, "rows", rows)
    threaded = _days(_shop(tmp_path, "threaded"))
    assert used == [True] * len(DAYS)
    monkeypatch.setattr(generation, "open_beside", lambda db: None)
    alone = _days(_shop(tmp_path, "alone"))
    assert threaded == alone
    texts = [r[3] for r in threaded[1] if r[2] in ("replenish", "refill")]
    assert any("own cycle" in t for t in texts) and any("-day cycle" in t for t in texts)
    assert {r[2] for r in threaded[1]} >= {"replenish", "refill"}  # not vacuous


def test_a_commit_between_the_snapshots_sends_the_work_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another agent's touch committed after the thread's first read and before the
    generation's snapshot: the two connections would not read the same data."""
    db = _shop(tmp_path, "shop")
    other = connect(tmp_path / "shop.db")
    real_open = occurrence_thread.open_beside
    results: list[object] = []

    def open_then_commit(d: sqlite_utils.Database) -> occurrence_thread.OccurrenceThread | None:
        beside = real_open(d)
        with write_tx(other):  # a change each time (writing the same value commits nothing)
            other.execute(
                "UPDATE customers SET notes = ? WHERE customer_id = 'C1'", [f"call {len(results)}"]
            )
        assert beside is not None
        real_rows = beside.rows

        def rows() -> list[Any] | None:
            got = real_rows()
            results.append(got)
            return got

        beside.rows = rows  # type: ignore[method-assign]
        return beside

    monkeypatch.setattr(generation, "open_beside", open_then_commit)
    got = _days(db)
    assert results == [None] * len(DAYS)
    monkeypatch.setattr(generation, "open_beside", lambda d: None)
    assert got == _days(_shop(tmp_path, "plain"))  # notes are not read by any rule


def test_a_failing_thread_leaves_the_work_to_the_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(db: sqlite_utils.Database, *args: object) -> None:
        raise sqlite3.OperationalError("disk I/O error (the test's)")

    real_start = occurrence_thread.OccurrenceThread.start

    def start(self: occurrence_thread.OccurrenceThread, *args: Any) -> None:
        rules, wide, today, work, prepare = args
        real_start(self, rules, wide, today, [(i, broken) for i, _ in work], prepare)

    monkeypatch.setattr(occurrence_thread.OccurrenceThread, "start", start)
    failed = _days(_shop(tmp_path, "failed"))
    monkeypatch.setattr(generation, "open_beside", lambda db: None)
    assert failed == _days(_shop(tmp_path, "alone"))


def test_no_second_connection_to_a_database_in_memory() -> None:
    db = sqlite_utils.Database(memory=True)
    assert occurrence_thread.open_beside(db) is None
