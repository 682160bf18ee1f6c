from __future__ import annotations

import csv
from pathlib import Path

import pytest
import sqlite_utils
from hypothesis import given, settings
from hypothesis import strategies as st

from tui_agent.core.csvrows import BadRowsError, CsvFileError
from tui_agent.store.db import get_meta, write_tx
from tui_agent.store.importer import (
    import_customers,
    import_orders,
    import_products,
    refresh_derived,
)

ORDERS_HEAD = "order_id,customer_id,ordered_at,delivered_at,sku,product,category,quantity,amount\n"


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def dump(db: sqlite_utils.Database) -> dict[str, list[tuple[object, ...]]]:
    return {
        t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
        for t in ("customers", "orders", "order_lines", "products", "meta")
    }


def one(db: sqlite_utils.Database, sql: str, *params: object) -> object:
    return db.execute(sql, list(params)).fetchone()[0]


@pytest.fixture
def orders_csv(tmp_path: Path) -> Path:
    # C1: three orders on Jan 1, Jan 11 and Jan 31 -> gaps 10 and 20 days.
    # C2: two orders 5 days apart. C3: one order. Shop average gap = (10+20+5)/3 = 11.67.
    return write(
        tmp_path,
        "orders.csv",
        ORDERS_HEAD
        + "O1,C1,2026-01-01,2026-01-03,S1,豆浆粉,food,2,30\n"
        + "O1,C1,2026-01-01,2026-01-03,S2,面膜,beauty,1,19.9\n"
        + "O3,C1,2026-01-31 08:00,,S1,豆浆粉,food,1,15\n"
        + "O2,C1,2026-01-11,,S1,豆浆粉,food,1,15.05\n"
        + "O4,C2,2026-03-01,,S3,T恤,clothing,1,99\n"
        + "O5,C2,2026-03-06,,S3,T恤,clothing,1,101\n"
        + "O6,C3,2026-02-28 23:59:59,,,,,,5\n",
    )


def test_orders_and_derived_columns_by_hand(db: sqlite_utils.Database, orders_csv: Path) -> None:
    result = import_orders(db, orders_csv)
    assert (result.rows_read, result.inserted, result.updated, result.unchanged) == (7, 7, 0, 0)
    assert (result.orders, result.customers_created, result.rejected) == (6, 3, 0)
    c1 = db.execute(
        "SELECT order_count, total_spent, first_order_at, last_order_at FROM customers "
        "WHERE customer_id = 'C1'"
    ).fetchone()
    assert c1 == (3, 79.95, "2026-01-01 00:00:00", "2026-01-31 08:00:00")
    assert one(db, "SELECT amount FROM orders WHERE order_id = 'O1'") == 49.9
    seqs = db.execute("SELECT order_id, seq FROM orders ORDER BY order_id").fetchall()
    assert seqs == [("O1", 1), ("O2", 2), ("O3", 3), ("O4", 1), ("O5", 2), ("O6", 1)]
    lines = db.execute("SELECT line_no, sku, quantity FROM order_lines WHERE order_id='O1'")
    assert lines.fetchall() == [(1, "S1", 2), (2, "S2", 1)]
    assert one(db, "SELECT quantity FROM order_lines WHERE order_id = 'O6'") == 1
    # gaps: 10, 20 + 8 hours (O3 at 08:00), 5 -> (35 + 1/3) / 3
    assert get_meta(db, "avg_gap_days") == f"{(35 + 8 / 24) / 3:.2f}"
    assert one(db, "SELECT name FROM products WHERE sku = 'S2'") == "面膜"


def test_reimport_changes_nothing(db: sqlite_utils.Database, orders_csv: Path) -> None:
    import_orders(db, orders_csv)
    before = dump(db)
    # Log every write to the real tables: a re-import must not even rewrite a row in place.
    db.execute("CREATE TEMP TABLE writes (t TEXT)")
    for table in ("customers", "orders", "order_lines", "products"):
        for event in ("INSERT", "UPDATE", "DELETE"):
            db.execute(
                f"CREATE TEMP TRIGGER log_{table}_{event} AFTER {event} ON main.{table} "
                f"BEGIN INSERT INTO writes VALUES ('{table} {event}'); END"
            )
    again = import_orders(db, orders_csv)
    assert (again.inserted, again.updated, again.unchanged, again.customers_created) == (0, 0, 7, 0)
    assert dump(db) == before
    assert db.execute("SELECT * FROM writes").fetchall() == []


def test_changed_line_and_stale_line(
    db: sqlite_utils.Database, orders_csv: Path, tmp_path: Path
) -> None:
    import_orders(db, orders_csv)
    fixed = write(
        tmp_path, "fix.csv", ORDERS_HEAD + "O1,C1,2026-01-01,2026-01-03,S1,豆浆粉,food,2,28\n"
    )
    result = import_orders(db, fixed)
    assert (result.inserted, result.updated, result.unchanged, result.removed) == (0, 1, 0, 1)
    assert one(db, "SELECT count(*) FROM order_lines WHERE order_id = 'O1'") == 1
    assert one(db, "SELECT amount FROM orders WHERE order_id = 'O1'") == 28
    assert one(db, "SELECT total_spent FROM customers WHERE customer_id = 'C1'") == 58.05


def test_moving_an_order_refreshes_the_old_owner(
    db: sqlite_utils.Database, orders_csv: Path, tmp_path: Path
) -> None:
    import_orders(db, orders_csv)
    moved = write(tmp_path, "m.csv", ORDERS_HEAD + "O6,C2,2026-02-28,,,,,,5\n")
    import_orders(db, moved)
    assert one(db, "SELECT order_count FROM customers WHERE customer_id = 'C3'") == 0
    assert one(db, "SELECT order_count FROM customers WHERE customer_id = 'C2'") == 3


def test_bad_rows_write_nothing_and_report_lines(db: sqlite_utils.Database, tmp_path: Path) -> None:
    text = (
        ORDERS_HEAD
        + 'O1,C1,2026-01-01,,S1,"two\nline name",food,1,10\n'  # lines 2-3
        + "O2,C1,2026-13-01,,S1,x,food,1,10\n"  # line 4: bad date
        + "\n"  # line 5: blank
        + "O3,C2,2026-01-01,,S1,x,food,1,-3\n"  # line 6: negative amount
    )
    path = write(tmp_path, "o.csv", text)
    with pytest.raises(BadRowsError) as info:
        import_orders(db, path)
    result = info.value.result
    assert [(e.line, e.column) for e in result.errors] == [(4, "ordered_at"), (6, "amount")]
    assert result.rejected == 2 and result.rows_read == 3
    assert dump(db) == {t: [] for t in ("customers", "orders", "order_lines", "products", "meta")}
    assert (
        "_stage" not in db.execute("SELECT group_concat(name) FROM temp.sqlite_master").fetchone()
    )


def test_line_numbers_after_multiline_record(db: sqlite_utils.Database, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "c.csv",
        'customer_id,name,tags\nC1,"A\nB\nC",x\nC2,ok,y\n,nobody,z\n',
    )
    with pytest.raises(BadRowsError) as info:
        import_customers(db, path)
    assert [(e.line, e.column) for e in info.value.result.errors] == [(6, "customer_id")]


def test_cross_row_errors(db: sqlite_utils.Database, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "o.csv",
        ORDERS_HEAD
        + "O1,C1,2026-01-01,,S1,x,food,1,10\n"
        + "O1,C2,2026-01-01,,S2,x,food,1,10\n"  # line 3: other customer
        + "O1,C1,2026-01-02,,S3,x,food,1,10\n"  # line 4: other order time
        + "O1,C1,2026-01-01,,S1,x,food,1,10\n",  # line 5: same sku again
    )
    with pytest.raises(BadRowsError) as info:
        import_orders(db, path)
    got = [(e.line, e.column, e.reason) for e in info.value.result.errors]
    assert got == [
        (3, "customer_id", "order O1 belongs to customer C1 on line 2"),
        (4, "ordered_at", "order O1 was ordered at 2026-01-01 00:00:00 on line 2"),
        (5, "sku", "duplicate line: order O1 already has sku S1 on line 2"),
    ]


def test_duplicate_customer_and_product_ids(db: sqlite_utils.Database, tmp_path: Path) -> None:
    c = write(tmp_path, "c.csv", "customer_id,name\nC1,a\nC2,b\nC1,c\n")
    with pytest.raises(BadRowsError) as info:
        import_customers(db, c)
    [err] = info.value.result.errors
    assert (err.line, err.column, err.reason) == (
        4,
        "customer_id",
        "duplicate customer_id C1 (first on line 2)",
    )
    p = write(tmp_path, "p.csv", "sku,name\nS1,a\nS1,b\n")
    with pytest.raises(BadRowsError, match="1 bad rows"):
        import_products(db, p)


def test_skip_bad_imports_whole_good_orders_and_writes_rejects(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "o.csv",
        ORDERS_HEAD
        + "O1,C1,2026-01-01,,S1,=SUM(A1),food,1,10\n"
        + "O2,C2,2026-01-01,,S1,x,food,1,10\n"
        + "O2,C2,2026-01-01,,S2,x,food,1,abc\n"
        + "O3,C3,2026-01-01,,S1,x,food,1,10\n",
    )
    result = import_orders(db, path, skip_bad=True)
    assert (result.inserted, result.rejected, result.orders) == (2, 2, 2)
    assert result.rejects_path == tmp_path / "o.rejects.csv"
    assert [r[0] for r in db.execute("SELECT order_id FROM orders ORDER BY 1")] == ["O1", "O3"]
    with open(result.rejects_path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == [*ORDERS_HEAD.strip().split(","), "line", "column", "reason"]
    assert rows[1][:9] == ["O2", "C2", "2026-01-01", "", "S1", "x", "food", "1", "10"]
    assert rows[1][9:] == ["3", "order_id", "another line of order O2 is bad (line 4)"]
    assert rows[2][8:] == ["abc", "4", "amount", "'abc' is not a number"]
    assert one(db, "SELECT product FROM order_lines WHERE order_id = 'O1'") == "=SUM(A1)"
    # The reject file, once fixed, imports cleanly.
    fixed = result.rejects_path.read_text(encoding="utf-8-sig").replace(",abc,", ",12,")
    again = import_orders(db, write(tmp_path, "fixed.csv", fixed))
    assert (again.inserted, again.orders) == (2, 1)
    assert one(db, "SELECT amount FROM orders WHERE order_id = 'O2'") == 22


def test_gbk_and_bom_files(db: sqlite_utils.Database, tmp_path: Path) -> None:
    text = "customer_id,name,tags\nC1,王芳,回头客\n"
    gbk = write(tmp_path, "gbk.csv", text, "gbk")
    result = import_customers(db, gbk)
    assert result.encoding == "gb18030"
    assert one(db, "SELECT name FROM customers") == "王芳"
    bom = write(tmp_path, "bom.csv", "\ufeff" + text.replace("王芳", "李娜"))
    result = import_customers(db, bom)
    assert (result.encoding, result.updated) == ("utf-8-sig", 1)
    assert one(db, "SELECT name FROM customers") == "李娜"
    with pytest.raises(CsvFileError, match="cannot be read as utf-8") as info:
        import_customers(db, gbk, encoding="utf-8")
    assert info.value.line == 2


def test_customers_update_only_present_columns_and_never_clear_opt_out(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    first = write(
        tmp_path, "a.csv", "customer_id,name,phone,birthday,opt_out\nC1,王芳,138,1990-02-28,1\n"
    )
    import_customers(db, first)
    assert one(db, "SELECT birth_md FROM customers") == "02-28"
    second = write(tmp_path, "b.csv", "customer_id,name,opt_out\nC1,王小芳,0\n")
    result = import_customers(db, second)
    assert result.updated == 1
    row = db.execute("SELECT name, phone, opt_out FROM customers").fetchone()
    assert row == ("王小芳", "138", 1)
    assert import_customers(db, second).unchanged == 1


def test_products_keep_cycle_when_orders_name_them(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    p = write(tmp_path, "p.csv", "sku,name,category,cycle_days,related_sku\nS1,豆浆粉,food,20,S2\n")
    assert import_products(db, p).inserted == 1
    o = write(tmp_path, "o.csv", ORDERS_HEAD + "O1,C1,2026-01-01,,S1,豆浆粉 新包装,,1,10\n")
    import_orders(db, o)
    row = db.execute("SELECT name, category, cycle_days, related_sku FROM products").fetchone()
    assert row == ("豆浆粉 新包装", "food", 20, "S2")


def test_mapping_through_the_api(db: sqlite_utils.Database, tmp_path: Path) -> None:
    path = write(tmp_path, "t.csv", "订单号,买家,下单时间,实付\nT1,B1,2026-05-05 10:00,88\n")
    mapping = {
        "订单号": "order_id",
        "买家": "customer_id",
        "下单时间": "ordered_at",
        "实付": "amount",
    }
    result = import_orders(db, path, mapping=mapping)
    assert result.inserted == 1
    assert one(db, "SELECT total_spent FROM customers WHERE customer_id = 'B1'") == 88


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("customer_id,name\n", None),
        ("name\nx\n", "missing required column customer_id"),
    ],
)
def test_file_level_errors(
    db: sqlite_utils.Database, tmp_path: Path, text: str, message: str | None
) -> None:
    path = write(tmp_path, "c.csv", text)
    if message is None:
        assert import_customers(db, path).rows_read == 0
    else:
        with pytest.raises(CsvFileError, match=message):
            import_customers(db, path)


def test_refresh_derived_for_some_customers(db: sqlite_utils.Database, orders_csv: Path) -> None:
    import_orders(db, orders_csv)
    with write_tx(db):
        db.execute("UPDATE order_lines SET amount = 100 WHERE order_id = 'O6'")
        db.execute("UPDATE customers SET birthday = '0000-02-29'")
        refresh_derived(db, ["C3"])
    assert one(db, "SELECT total_spent FROM customers WHERE customer_id = 'C3'") == 100
    assert one(db, "SELECT birth_md FROM customers WHERE customer_id = 'C3'") == "02-29"
    assert one(db, "SELECT birth_md FROM customers WHERE customer_id = 'C1'") is None
    with write_tx(db):
        refresh_derived(db)
    assert one(db, "SELECT birth_md FROM customers WHERE customer_id = 'C1'") == "02-29"


def test_progress_reports_bytes(db: sqlite_utils.Database, orders_csv: Path) -> None:
    seen: list[tuple[int, int]] = []
    import_orders(db, orders_csv, progress=lambda done, total: seen.append((done, total)))
    size = orders_csv.stat().st_size
    assert seen[-1] == (size, size)


def test_other_agents_can_write_while_the_file_is_read(
    db: sqlite_utils.Database, db_path: Path, orders_csv: Path
) -> None:
    import sqlite3

    wrote: list[bool] = []

    def meanwhile(done: int, total: int) -> None:
        other = sqlite3.connect(db_path, timeout=0, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # fails at once if the importer held the write lock
        other.execute("INSERT INTO meta VALUES ('agent', 'was here')")
        other.execute("COMMIT")
        other.close()
        wrote.append(True)

    import_orders(db, orders_csv, progress=meanwhile)
    assert wrote
    assert get_meta(db, "agent") == "was here"
    assert one(db, "SELECT count(*) FROM orders") == 6


def _log_writes(db: sqlite_utils.Database) -> None:
    db.execute("CREATE TEMP TABLE IF NOT EXISTS writes (t TEXT)")
    for table in ("customers", "orders", "order_lines", "products", "meta"):
        for event in ("INSERT", "UPDATE", "DELETE"):
            db.execute(
                f"CREATE TEMP TRIGGER IF NOT EXISTS log_{table}_{event} AFTER {event} "
                f"ON main.{table} BEGIN INSERT INTO writes VALUES ('{table} {event}'); END"
            )


def test_importer_and_refresh_derived_agree(
    db: sqlite_utils.Database, orders_csv: Path, tmp_path: Path
) -> None:
    import_orders(db, orders_csv)
    # An earlier order for C1 arrives later: C1's existing orders move up one.
    early = write(tmp_path, "early.csv", ORDERS_HEAD + "O0,C1,2025-12-24,,S9,x,,1,1\n")
    import_orders(db, early)
    seqs = db.execute("SELECT order_id, seq FROM orders WHERE customer_id = 'C1' ORDER BY seq")
    assert seqs.fetchall() == [("O0", 1), ("O1", 2), ("O2", 3), ("O3", 4)]
    _log_writes(db)
    with write_tx(db):
        refresh_derived(db)
    assert db.execute("SELECT * FROM writes").fetchall() == []


def test_bulk_path_rebuilds_the_same_indexes(
    db: sqlite_utils.Database, orders_csv: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from tui_agent.store import importer
    from tui_agent.store.db import connect

    def indexes(d: sqlite_utils.Database) -> list[tuple[str, str]]:
        return d.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name"
        ).fetchall()

    before = indexes(db)
    plain = connect(tmp_path / "plain.db")
    import_orders(plain, orders_csv)
    monkeypatch.setattr(importer, "BULK_MIN_ROWS", 1)
    import_orders(db, orders_csv)
    assert indexes(db) == before
    assert dump(db)["orders"] == dump(plain)["orders"]
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_scattered_lines_of_an_order_are_numbered_in_file_order(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "o.csv",
        ORDERS_HEAD
        + "O1,C1,2026-01-01,,S1,a,,1,1\n"
        + "O2,C2,2026-01-01,,S1,b,,1,2\n"
        + "O1,C1,2026-01-01,,S2,c,,1,3\n"
        + "O2,C2,2026-01-01,,S2,d,,1,4\n"
        + "O1,C1,2026-01-01,,S3,e,,1,5\n",
    )
    result = import_orders(db, path)
    assert result.orders == 2
    lines = db.execute("SELECT order_id, line_no, product FROM order_lines ORDER BY 1, 2")
    assert lines.fetchall() == [
        ("O1", 1, "a"), ("O1", 2, "c"), ("O1", 3, "e"), ("O2", 1, "b"), ("O2", 2, "d"),
    ]  # fmt: skip
    assert one(db, "SELECT amount FROM orders WHERE order_id = 'O1'") == 9
    assert import_orders(db, path).unchanged == 5


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["O1", "O2", "O3"]), st.sampled_from(["S1", "S2", "S3", None])),
        min_size=1,
        max_size=30,
    ),
    st.lists(st.integers(1, 8), min_size=1, max_size=30),
)
def test_line_numbering_by_batch_matches_line_by_line(
    lines: list[tuple[str, str | None]], cuts: list[int]
) -> None:
    from tui_agent.store.csvread import _ORDER_AT, _SKU_AT, _Numbering

    def record(order: str, sku: str | None) -> tuple[object, ...]:
        rec: list[object] = [0] * (_SKU_AT + 1)
        rec[_ORDER_AT], rec[_SKU_AT] = order, sku
        return tuple(rec)

    records = [record(o, s) for o, s in lines]
    fast, slow = _Numbering(), _Numbering()
    got: list[tuple[int, int]] = []
    want: list[tuple[int, int]] = []
    i = 0
    for size in cuts:
        batch = records[i : i + size]
        i += size
        got += fast.number(batch)
        want += slow._one_by_one([r[_ORDER_AT] for r in batch], [r[_SKU_AT] for r in batch])
        if i >= len(records):
            break
    assert got == want
    assert (fast.order, fast.count, fast.skus) == (slow.order, slow.count, slow.skus)


def test_products_come_from_the_last_imported_line_of_each_sku(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "orders.csv",
        ORDERS_HEAD
        + "O1,C1,2026-01-01,,S1,豆浆粉,food,1,10\n"
        + "O2,C2,2026-01-02,,S1,豆浆粉 新包装,drink,1,10\n"
        + "O3,C3,2026-01-03,,S2,面膜,beauty,1,10\n"
        + "O3,C3,2026-01-03,,S1,豆浆粉 坏行,food,1,-5\n",  # bad: O3 is rejected whole
    )
    import_orders(db, path, skip_bad=True)
    products = db.execute("SELECT sku, name, category FROM products ORDER BY sku").fetchall()
    assert products == [("S1", "豆浆粉 新包装", "drink")]
    ok = write(tmp_path, "ok.csv", ORDERS_HEAD + "O9,C9,2026-02-01,,S2,面膜 大,beauty,1,10\n")
    import_orders(db, ok)
    assert one(db, "SELECT name FROM products WHERE sku = 'S2'") == "面膜 大"


def test_imports_keep_every_reference_whole(db: sqlite_utils.Database, tmp_path: Path) -> None:
    # The merge runs with foreign-key enforcement off (it writes what its rows refer to);
    # check the result, including after a skip-bad import that drops whole orders.
    path = write(
        tmp_path,
        "orders.csv",
        ORDERS_HEAD
        + "O1,C1,2026-01-01,,S1,豆浆粉,food,1,10\n"
        + "O2,C2,2026-01-02,,S1,豆浆粉,food,1,10\n"
        + "O2,C2,2026-01-02,,S2,面膜,beauty,1,oops\n"
        + "O3,C3,2026-01-03,,S2,面膜,beauty,1,10\n",
    )
    import_orders(db, path, skip_bad=True)
    import_orders(db, path, skip_bad=True)
    assert one(db, "SELECT count(*) FROM orders") == 2
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert one(db, "PRAGMA foreign_keys") == 1  # back on for the rest of the session


_BOTH_WAYS = {
    "good, with a two-line cell and a blank line": ORDERS_HEAD
    + 'O1,C1,2026-01-01,,S1,"two\nline name",food,1,10\n'
    + "\n"
    + "O1,C1,2026-01-01,,S2,面膜,beauty,2,19.9\n"
    + "O2,C2,2026-01-05 10:00,2026-01-07,S1,x,food,,5\n",
    "bad rows and an order's lines disagreeing": ORDERS_HEAD
    + "O1,C1,2026-01-01,,S1,x,food,1,10\n"
    + "O2,C1,2026-13-01,,S1,x,food,1,10\n"
    + "O3,C2,2026-01-01,,S1,x,food,1,-3\n"
    + "O1,C9,2026-01-01,,S2,y,food,1,10\n"
    + "O4,C3,2026-01-01,,S1,x,food,1,10\n",
    "a stray quote (read as text)": ORDERS_HEAD
    + "O1,C1,2026-01-01,,S1,x,food,1,10\n"
    + 'O2,C1,2026-01-01,,S1,"x"y,food,1,10\n',
    "a cell beyond the csv module's limit on line 3": ORDERS_HEAD
    + "O1,C1,2026-01-01,,S1,x,food,1,10\n"
    + 'O2,C1,2026-01-01,,S1,"'
    + "x" * 200_000
    + '",food,1,10\n',
    "no order_id column": "customer_id,ordered_at,amount\nC1,2026-01-01,3\n",
    "bad bytes": ORDERS_HEAD + "O1,C1,2026-01-01,,S1,x,food,1,10\n",
}


@pytest.mark.parametrize("skip_bad", [False, True])
@pytest.mark.parametrize("case", list(_BOTH_WAYS))
def test_worker_process_and_in_process_reading_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str, skip_bad: bool
) -> None:
    """A big file is read and converted in a worker process: the same database, the same
    errors (line, column, reason), the same reject file as reading in this process."""
    from tui_agent.store import csvread
    from tui_agent.store.db import connect

    text = _BOTH_WAYS[case]
    outcomes = []
    for threshold in (1 << 60, 0):  # in this process, then in a worker process
        monkeypatch.setattr(csvread, "PIPELINE_MIN_BYTES", threshold)
        folder = tmp_path / str(threshold)
        folder.mkdir()
        path = folder / "o.csv"
        data = text.encode()
        if case == "bad bytes":
            data = data.replace(b"O1,C1", b"O1,C\xff", 1)
        path.write_bytes(data)
        db = connect(folder / "shop.db")
        seen: list[tuple[int, int]] = []
        try:
            result = import_orders(
                db,
                path,
                skip_bad=skip_bad,
                encoding="utf-8",
                progress=lambda done, total, seen=seen: seen.append((done, total)),
            )
            outcome: object = (
                result.summary(),
                [(e.line, e.column, e.reason) for e in result.errors],
            )
        except BadRowsError as exc:
            r = exc.result
            outcome = ("bad", r.rejected, [(e.line, e.column, e.reason) for e in r.errors])
        except CsvFileError as exc:
            outcome = ("file", exc.format("o.csv"))
        rejects = folder / "o.rejects.csv"
        db.execute("UPDATE customers SET created_at = ''")  # the clock is not compared
        outcomes.append(
            (
                outcome,
                dump(db),
                rejects.read_text(encoding="utf-8-sig") if rejects.exists() else None,
                seen[-1:] if isinstance(outcome, tuple) and outcome[0] != "file" else None,
                db.execute("SELECT group_concat(name) FROM temp.sqlite_master").fetchone()[0],
            )
        )
        db.close()
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] != ("file", "")  # something was compared


def test_no_memory_map_while_importing(db: sqlite_utils.Database, orders_csv: Path) -> None:
    """Pages read through the map stay in the process's memory: the import turns the map
    off (its page cache is the bound) and gives the connection its setting back after."""
    before = one(db, "PRAGMA mmap_size")
    during: list[object] = []
    import_orders(db, orders_csv, progress=lambda *_: during.append(one(db, "PRAGMA mmap_size")))
    assert during and set(during) == {0}
    assert one(db, "PRAGMA mmap_size") == before


def test_imports_fill_the_customers_search_keys(db: sqlite_utils.Database, tmp_path: Path) -> None:
    """The first find after an import must not compute every customer's pinyin (issue 9)."""
    from tui_agent.store.customers import pending_search_keys

    path = write(tmp_path, "customers.csv", "customer_id,name\nC1,王芳\nC2,李娜\n")
    import_customers(db, path)
    assert pending_search_keys(db) == 0
    assert one(db, "SELECT search_initials FROM customers WHERE customer_id = 'C1'") == "wf"
    # orders create customers too (name unknown), and a rename re-keys the customer
    orders = write(tmp_path, "orders.csv", ORDERS_HEAD + "O9,C9,2026-01-01,,S1,豆浆粉,food,1,30\n")
    import_orders(db, orders)
    path = write(tmp_path, "customers2.csv", "customer_id,name\nC1,张伟\n")
    import_customers(db, path)
    assert pending_search_keys(db) == 0
    assert one(db, "SELECT search_initials FROM customers WHERE customer_id = 'C1'") == "zw"
