"""Each order's header computed batch by batch while staging equals the one GROUP BY over its
staged lines (the reference), scattered orders and disagreeing lines included."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import sqlite_utils
from hypothesis import given, settings
from hypothesis import strategies as st

from tui_agent.core.csvrows import BadRowsError, Kind, field_names
from tui_agent.store import import_stage
from tui_agent.store.csvread import _Numbering
from tui_agent.store.db import connect
from tui_agent.store.import_stage import (
    _HEADER_SQL,
    _INSERT_HEADER,
    _ORDERS_TABLE,
    _Headers,
    _headers_of_scattered,
    create_staging,
)
from tui_agent.store.importer import import_orders

NAMES = field_names(Kind.ORDERS)
DATES = ["2026-01-02 10:00:00", "2026-01-03 09:00:00", None]
line_st = st.tuples(
    st.sampled_from(["O1", "O2", "O3", "O4"]),
    st.sampled_from(["C1", "C2"]),
    st.sampled_from(DATES[:2]),
    st.sampled_from(DATES),
    st.sampled_from(DATES),
    st.sampled_from(["S1", "S2", "S3", None]),
    st.sampled_from([0.1, 0.2, 0.7, 1e-3, 123.456, 19.99, -0.0, 1e6]),
)


def stage(lines: list[tuple[object, ...]], cuts: list[int]) -> list[list[tuple[object, ...]]]:
    """The lines as the reading worker sends them: batches of (line, *record, line_no, dup)."""
    records = []
    for i, (order, cust, at, ship, deliv, sku, amount) in enumerate(lines):
        rec: list[object] = [None] * len(NAMES)
        values = dict(order_id=order, customer_id=cust, ordered_at=at, shipped_at=ship,
                      delivered_at=deliv, sku=sku, amount=amount, quantity=1)  # fmt: skip
        for name, value in values.items():
            rec[NAMES.index(name)] = value
        records.append((i + 2, *rec))
    numbering, batches, i = _Numbering(), [], 0
    for size in cuts:
        batch = records[i : i + size]
        i += size
        batches.append([r + n for r, n in zip(batch, numbering.number(batch), strict=True)])
    return batches


@settings(max_examples=300, deadline=None)
@given(
    st.lists(line_st, min_size=1, max_size=30),
    st.lists(st.integers(1, 8), min_size=1, max_size=30),
    st.booleans(),
)
def test_headers_while_staging_match_the_group_by(
    lines: list[tuple[object, ...]], cuts: list[int], by_order: bool
) -> None:
    if by_order:  # the common export: an order's lines together, order ids rising
        lines = sorted(lines, key=lambda x: str(x[0]))
    cuts = [*cuts, len(lines)]
    db = sqlite_utils.Database(memory=True)
    db.execute("ATTACH ':memory:' AS stage")
    create_staging(db, Kind.ORDERS)
    db.execute(_ORDERS_TABLE)
    cols = ["line", *NAMES, "line_no", "dup_sku"]
    insert = f"INSERT INTO _stage ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    headers = _Headers()
    for batch in stage(lines, cuts):
        db.conn.executemany(insert, batch)
        db.conn.executemany(_INSERT_HEADER, headers.add(batch))
    db.conn.executemany(_INSERT_HEADER, headers.close())
    _headers_of_scattered(db, ascending=headers.ascending)
    got = db.execute("SELECT * FROM _orders ORDER BY order_id").fetchall()

    db.execute("CREATE INDEX IF NOT EXISTS temp._stage_order ON _stage(order_id, line)")
    db.execute("DROP TABLE _orders")
    db.execute(_ORDERS_TABLE)
    db.execute("INSERT INTO _orders " + _HEADER_SQL.format(where=""))
    want = db.execute("SELECT * FROM _orders ORDER BY order_id").fetchall()
    assert repr(got) == repr(want)
    orders = [o for o, *_ in lines]
    heads = [o for i, o in enumerate(orders) if i == 0 or orders[i - 1] != o]
    assert headers.ascending == all(a < b for a, b in itertools.pairwise(heads))


ORDERS = """order_id,customer_id,ordered_at,delivered_at,sku,product,category,quantity,amount
O1,C1,2026-01-02 10:00,,S1,Tea,food,1,0.1
O1,C1,2026-01-02 10:00,2026-01-05,S2,Cup,home,2,0.2
O3,C2,2026-01-04 10:00,,S1,Tea,food,1,0.7
O2,C1,2026-01-03 10:00,,S3,Pot,home,1,10
O3,C2,2026-01-04 10:00,2026-01-06,S2,Cup,home,1,0.1
O4,C3,2026-01-05 10:00,,S1,Tea,food,1,5
O4,C3,2026-01-05 10:00,,S2,Cup,home,1,5
O5,C4,2026-01-05 10:00,,S1,Tea,food,1,5
O5,C4,2026-01-06 10:00,,S2,Cup,home,1,5
"""


@pytest.mark.parametrize("skip_bad", [False, True])
def test_an_import_is_the_same_with_headers_from_sql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, skip_bad: bool
) -> None:
    """The SQL path (SQLite 3.43+) and the staging path give the same database and errors:
    a scattered order (O3), orders out of id order, an order whose lines disagree (O5)."""
    path = tmp_path / "o.csv"
    path.write_text(ORDERS, encoding="utf-8")
    outcomes = []
    for while_staging in (True, False):
        monkeypatch.setattr(import_stage, "HEADERS_WHILE_STAGING", while_staging)
        db = connect(tmp_path / f"{while_staging}.db")
        try:
            result = import_orders(db, path, skip_bad=skip_bad, rejects=tmp_path / "r.csv")
            errors = [(e.line, e.column, e.reason) for e in result.errors]
        except BadRowsError as exc:
            errors = [(e.line, e.column, e.reason) for e in exc.result.errors]
        tables = {
            t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
            for t in ("orders", "order_lines", "products")
        }
        tables["customers"] = db.execute(
            "SELECT customer_id, order_count, total_spent, first_order_at, last_order_at "
            "FROM customers ORDER BY 1"
        ).fetchall()
        outcomes.append((repr(tables), errors))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][1]  # O5 is bad
