"""The stored purchase days (``store.purchase_days``) always equal what the orders say, through
every path that writes orders, and generation's own-cycle look-up through them finds exactly
what the query over the whole history finds (``facts._own_cycle_live``), a past ``--today``
included."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import sqlite_utils

from tests.store.test_reference import calendar_rules, random_shop, write
from tui_agent.store import facts
from tui_agent.store.db import MIGRATIONS, SCHEMA_VERSION, _split, connect, write_tx
from tui_agent.store.importer import import_orders, refresh_derived

HEAD = ["order_id", "customer_id", "ordered_at", "delivered_at", "sku", "category", "amount"]
Rows = dict[tuple[str, str], tuple[int, str]]


def _key(sku: str | None, category: str | None) -> str | None:
    """The same product, as SQLite's trim() and lower() see it (spaces, ASCII letters)."""
    if sku is not None:
        return f"sku:{sku}"
    if category is None:
        return None
    return "cat:" + "".join(ch.lower() if ch.isascii() else ch for ch in category.strip(" "))


def expected(db: sqlite_utils.Database) -> Rows:
    days: dict[tuple[str, str], set[str]] = defaultdict(set)
    for cid, at, sku, category in db.execute(
        "SELECT o.customer_id, o.ordered_at, l.sku, l.category FROM orders o "
        "JOIN order_lines l ON l.order_id = o.order_id"
    ):
        key = _key(sku, category)
        if key is not None:
            days[(cid, key)].add(at[:10])
    return {pair: (len(ds), ",".join(sorted(ds))) for pair, ds in days.items() if len(ds) >= 2}


def stored(db: sqlite_utils.Database) -> Rows:
    return {
        (cid, key): (n, days)
        for cid, key, n, days in db.execute(
            "SELECT customer_id, product_key, n_days, days FROM purchase_days"
        )
    }


def _import(db: sqlite_utils.Database, tmp: Path, name: str, rows: list[list[object]]) -> None:
    import_orders(db, write(tmp / name, [HEAD, *rows]))


def test_fresh_import_stores_every_product_bought_on_two_days(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    random_shop(db, tmp_path, seed=7)
    want = expected(db)
    assert stored(db) == want
    assert any(n >= 3 for n, _ in want.values()) and any(k.startswith("cat:") for _, k in want)


def test_a_first_file_groups_by_sku_else_category_and_counts_days(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    _import(
        db,
        tmp_path,
        "o.csv",
        [
            ["A1", "A", "2026-01-01 09:00", "", "TEA", "food", 10],
            ["A1", "A", "2026-01-01 09:00", "", "", "Snack ", 10],
            ["A2", "A", "2026-01-01 18:00", "", "TEA", "drink", 10],  # same day: one day
            ["A3", "A", "2026-01-05 09:00", "", "TEA", "", 10],
            ["A3", "A", "2026-01-05 09:00", "", "", "snack", 10],
            ["A4", "A", "2026-01-09 09:00", "", "", "", 10],  # neither: no product
            ["A5", "A", "2026-01-12 09:00", "", "", "", 10],
            ["B1", "B", "2026-01-01 09:00", "", "TEA", "", 10],  # once: not stored
        ],
    )
    assert stored(db) == {
        ("A", "sku:TEA"): (2, "2026-01-01,2026-01-05"),
        ("A", "cat:snack"): (2, "2026-01-01,2026-01-05"),
    }
    assert stored(db) == expected(db)


def test_a_second_file_adds_days_for_its_customers_only(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    random_shop(db, tmp_path, seed=11)
    before = stored(db)
    _import(
        db,
        tmp_path,
        "more.csv",
        [
            ["N1", "C1", "2026-03-02 09:00", "", "TEA", "", 10],
            ["N2", "C1", "2026-03-09 09:00", "", "TEA", "", 10],
            ["N2", "C1", "2026-03-09 09:00", "", "", "NEW", 10],
            ["N3", "C2", "2026-03-09 09:00", "", "MASK", "", 10],
            ["N4", "NEWCUST", "2026-03-01 09:00", "", "TEA", "", 10],
            ["N5", "NEWCUST", "2026-03-03 09:00", "", "TEA", "", 10],
        ],
    )
    after = stored(db)
    assert after == expected(db)
    assert after[("NEWCUST", "sku:TEA")] == (2, "2026-03-01,2026-03-03")
    assert after[("C1", "sku:TEA")][1].endswith("2026-03-02,2026-03-09")
    # the customers the file does not name keep their rows as they were
    others = {p: v for p, v in before.items() if p[0] not in ("C1", "C2")}
    assert others == {p: v for p, v in after.items() if p[0] not in ("C1", "C2", "NEWCUST")}


def test_reimport_that_moves_changes_or_shortens_orders(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    rows: list[list[object]] = [
        ["X1", "A", "2026-01-01 09:00", "", "TEA", "", 10],
        ["X1", "A", "2026-01-01 09:00", "", "MASK", "", 10],
        ["X2", "A", "2026-01-08 09:00", "", "TEA", "", 10],
        ["X2", "A", "2026-01-08 09:00", "", "MASK", "", 10],
        ["X3", "A", "2026-01-15 09:00", "", "TEA", "", 10],
        ["Y1", "B", "2026-01-03 09:00", "", "TEA", "", 10],
    ]
    _import(db, tmp_path, "o.csv", rows)
    assert stored(db) == {
        ("A", "sku:TEA"): (3, "2026-01-01,2026-01-08,2026-01-15"),
        ("A", "sku:MASK"): (2, "2026-01-01,2026-01-08"),
    }
    # X3 now belongs to B; X2 lost its MASK line; X1's date moved a week
    _import(
        db,
        tmp_path,
        "fix.csv",
        [
            ["X1", "A", "2025-12-25 09:00", "", "TEA", "", 10],
            ["X1", "A", "2025-12-25 09:00", "", "MASK", "", 10],
            ["X2", "A", "2026-01-08 09:00", "", "TEA", "", 10],
            ["X3", "B", "2026-01-15 09:00", "", "TEA", "", 10],
        ],
    )
    assert (
        stored(db)
        == expected(db)
        == {
            ("A", "sku:TEA"): (2, "2025-12-25,2026-01-08"),
            ("B", "sku:TEA"): (2, "2026-01-03,2026-01-15"),
        }
    )


def test_an_order_cancelled_by_a_reimport_leaves_its_customers_days(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    head = "order_id,customer_id,ordered_at,delivered_at,sku,amount,status\n"
    first = tmp_path / "o.csv"
    first.write_text(
        head
        + "Z1,A,2026-01-01 09:00,,TEA,10,paid\n"
        + "Z2,A,2026-01-08 09:00,,TEA,10,paid\n"
        + "Z3,A,2026-01-15 09:00,,TEA,10,paid\n"
    )
    import_orders(db, first)
    assert stored(db)[("A", "sku:TEA")][0] == 3
    update = tmp_path / "status.csv"
    update.write_text(head + "Z3,A,2026-01-15 09:00,,TEA,10,cancelled\n")
    import_orders(db, update)
    assert stored(db) == expected(db) == {("A", "sku:TEA"): (2, "2026-01-01,2026-01-08")}
    update.write_text(head + "Z2,A,2026-01-08 09:00,,TEA,10,refunded\n")
    import_orders(db, update)
    assert stored(db) == expected(db) == {}
    update.write_text(head + "Z3,A,2026-01-15 09:00,,TEA,10,paid\n")  # a purchase again
    import_orders(db, update)
    assert stored(db) == expected(db) == {("A", "sku:TEA"): (2, "2026-01-01,2026-01-15")}


def test_refresh_derived_recomputes_orders_written_another_way(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    random_shop(db, tmp_path, seed=7)
    with write_tx(db):
        db.execute("DELETE FROM purchase_days WHERE substr(customer_id, -1) IN ('1', '4', '7')")
        db.execute("UPDATE order_lines SET sku = 'TEA' WHERE sku = 'MASK'")
        refresh_derived(db, [f"C{i}" for i in range(80)])
    assert stored(db) == expected(db)
    with write_tx(db):
        db.execute("DELETE FROM purchase_days")
        refresh_derived(db)
    assert stored(db) == expected(db)


def test_migration_fills_the_table_for_an_existing_shop(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for version, step in enumerate(MIGRATIONS[:11], start=1):
        if isinstance(step, str):
            for statement in _split(step):
                conn.execute(statement)
        else:
            step(sqlite_utils.Database(conn))
        conn.execute(f"PRAGMA user_version = {version}")
    conn.execute("INSERT INTO customers (customer_id) VALUES ('A'), ('B')")
    for oid, cid, at, sku, category in [
        ("O1", "A", "2026-01-01 09:00:00", "TEA", None),
        ("O2", "A", "2026-01-09 09:00:00", "TEA", None),
        ("O3", "A", "2026-01-09 10:00:00", None, " Food"),
        ("O4", "A", "2026-01-20 10:00:00", None, "food"),
        ("O5", "B", "2026-01-20 10:00:00", "TEA", None),
    ]:
        conn.execute(
            "INSERT INTO orders (order_id, customer_id, ordered_at) VALUES (?, ?, ?)",
            [oid, cid, at],
        )
        conn.execute(
            "INSERT INTO order_lines (order_id, line_no, sku, category, amount) "
            "VALUES (?, 1, ?, ?, 1)",
            [oid, sku, category],
        )
    conn.commit()
    conn.close()
    db = connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 12
    assert (
        stored(db)
        == expected(db)
        == {
            ("A", "sku:TEA"): (2, "2026-01-01,2026-01-09"),
            ("A", "cat:food"): (2, "2026-01-09,2026-01-20"),
        }
    )


def _current(db: sqlite_utils.Database, today: date) -> set[facts.LineFact]:
    rules = calendar_rules()
    rule = next(r for r in rules.rules if r.kind == "replenish" and r.own_cycle_min_orders)
    return set(facts._own_cycle_current(db, rules, rule, today))


def _reference(db: sqlite_utils.Database, today: date) -> set[facts.LineFact]:
    rules = calendar_rules()
    rule = next(r for r in rules.rules if r.kind == "replenish" and r.own_cycle_min_orders)
    return set(facts._own_cycle_live(db, rules, rule, today))


def test_stored_days_find_what_the_whole_history_finds_on_every_day(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    """Orders run from September to the end of February: a day in between has orders after
    it (those customers are read the slow way, the others from the stored days)."""
    random_shop(db, tmp_path, seed=7)
    day, found = date(2025, 10, 1), 0
    while day <= date(2026, 4, 30):
        got = _current(db, day)
        assert got == _reference(db, day), day
        found += len(got)
        day += timedelta(days=3)
    assert found > 50


def test_a_past_today_does_not_count_the_days_after_it(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    rows: list[list[object]] = [
        [f"T{i}", "A", f"{d} 09:00", f"{d} 18:00", "TEA", "", 10]
        for i, d in enumerate(["2026-01-01", "2026-01-21", "2026-02-10", "2026-03-02"])
    ]
    _import(db, tmp_path, "o.csv", rows)
    # on 5 March the stored days answer; on 25 February the order of 2 March is in the future:
    # only the three days before it count (own cycle from 3 orders, not 4)
    for today, days in ((date(2026, 3, 5), 4), (date(2026, 2, 25), 3)):
        [line] = _current(db, today)
        assert line == next(iter(_reference(db, today)))
        assert len(line.own_gaps) + 1 == days


def test_every_products_latest_line_from_the_stored_days(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    """A rule that does not stop on repurchase (and the planner's comparison path) reads
    every product's latest line: stored days, the slow grouping for customers with orders
    after ``today``; the same lines as the grouping over the whole history."""
    random_shop(db, tmp_path, seed=11)
    rule = next(r for r in calendar_rules().rules if r.own_cycle_min_orders)
    day, found = date(2025, 10, 1), 0
    while day <= date(2026, 4, 30):
        got = facts._own_cycle_latest(db, rule, day)
        assert len(got) == len(set(got))
        assert set(got) == set(facts._own_cycle_lines(db, rule, day)), day
        found += len(got)
        day += timedelta(days=3)
    assert found > 100
