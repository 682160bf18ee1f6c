"""Staging an import: the converted records into TEMP tables of the import's connection, then
the checks that need other rows (duplicate keys, an order's lines disagreeing), all before
the write lock is taken (``store.importer`` merges afterwards).
"""

from __future__ import annotations

import gc
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import chain, compress, islice, repeat
from pathlib import Path
from typing import cast

import sqlite_utils

from tui_agent.core.csvrows import (
    DEFAULT_MAX_LINE_AMOUNT,
    MAX_REPORTED,
    ImportResult,
    Kind,
    Plan,
    RowError,
    field_names,
)
from tui_agent.store.csvread import Msg, Progress, Translate, converted

MAX_SEEN_SKUS = 100_000  # distinct skus remembered while reading; beyond, SQL finds them


def create_staging(db: sqlite_utils.Database, kind: Kind) -> None:
    cols = ", ".join(field_names(kind))
    db.execute("DROP TABLE IF EXISTS temp._stage")
    db.execute("DROP TABLE IF EXISTS temp._rejects")
    # Orders also stage each line's ordinal within its order (see load).
    extra = ", line_no INTEGER, dup_sku INTEGER" if kind is Kind.ORDERS else ""
    db.execute(f"CREATE TEMP TABLE _stage (line INTEGER PRIMARY KEY, {cols}{extra})")
    db.execute(
        "CREATE TEMP TABLE _rejects (line INTEGER NOT NULL, col TEXT, reason TEXT, key TEXT)"
    )


def drop_temp(db: sqlite_utils.Database) -> None:
    for t in (
        "_stage",
        "_rejects",
        "_orders",
        "_lines",
        "_affected",
        "_chk",
        "_all",
        "_seq",
        "_prod",
        "_reowned",
        "_cust",
    ):
        db.execute(f"DROP TABLE IF EXISTS temp.{t}")


def load(
    db: sqlite_utils.Database,
    kind: Kind,
    path: Path,
    encoding: str,
    mapping: Mapping[str, str] | None,
    progress: Progress | None,
    result: ImportResult,
    translate: Translate | None = None,
    max_amount: float = DEFAULT_MAX_LINE_AMOUNT,
    delimiter: str = ",",
) -> Plan:
    """Stream the file into ``_stage`` (good rows) and ``_rejects`` (problems)."""
    # The cyclic collector finds nothing here (no reference cycles are made) but would scan
    # the young objects of every batch again and again: about 1 s per million lines.
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        args = (kind, path, encoding, mapping, translate, max_amount, delimiter)
        with converted(args, progress) as messages:
            return _stage_messages(db, kind, messages, result)
    finally:
        if gc_was_on:
            gc.enable()


def _stage_messages(
    db: sqlite_utils.Database, kind: Kind, messages: Iterator[Msg], result: ImportResult
) -> Plan:
    """Insert what :func:`_convert_file` produces: the plan, batches of converted records and
    rejects, and at the end the row count. Numbering an order's lines and gathering each
    sku's product happen here, in the process that inserts (it has time to spare)."""
    plan = next(messages)[1]
    assert isinstance(plan, Plan)
    # Binding a parameter costs more than SQLite's insert itself: fields the file
    # lacks are left out of the statement (the column stays NULL). A missing
    # quantity is not NULL but 1 (convert_rows fills it in).
    keep = [0] + [
        i + 1
        for i, (c, name) in enumerate(zip(plan.columns, field_names(kind), strict=True))
        if c is not None or (kind is Kind.ORDERS and name == "quantity")
    ]
    names = ["line"] + [field_names(kind)[i - 1] for i in keep[1:]]
    if kind is Kind.ORDERS:
        names += ["line_no", "dup_sku"]
    insert = f"INSERT INTO _stage ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    reject = "INSERT INTO _rejects VALUES (?, ?, ?, ?)"
    project = operator.itemgetter(*keep)
    numbering = _Numbering()
    # Each sku's product and category from its last line in the file, gathered while
    # reading (C-level dict updates) instead of a grouping pass over the staged lines.
    seen: dict[object, tuple[object, ...]] | None = {} if kind is Kind.ORDERS else None
    sku_of = operator.itemgetter(_SKU_AT)
    product_of = operator.itemgetter(_SKU_AT + 1, _SKU_AT + 2)
    for msg in messages:
        if msg[0] == "rows":
            good = cast("list[tuple[object, ...]]", msg[1])
            picked: Iterable[tuple[object, ...]] = map(project, good)
            if kind is Kind.ORDERS:
                picked = map(operator.add, picked, numbering.number(good))
                if seen is not None:
                    seen.update(zip(map(sku_of, good), map(product_of, good), strict=True))
                    if len(seen) > MAX_SEEN_SKUS:
                        seen = None
            db.conn.executemany(insert, picked)
            if msg[2]:
                db.conn.executemany(reject, msg[2])  # type: ignore[arg-type]
        else:
            rows = msg[1]
            assert isinstance(rows, int)
            if seen is not None:
                seen.pop(None, None)
                db.execute("CREATE TEMP TABLE _prod (sku TEXT, product TEXT, category TEXT)")
                db.conn.executemany(
                    "INSERT INTO _prod VALUES (?, ?, ?)", ((k, *v) for k, v in seen.items())
                )
            result.rows_read = rows
            result.ignored_columns = plan.ignored
            return plan
    raise AssertionError("the converted stream ended early")


_ORDER_AT = 1  # in (line, *record)


_SKU_AT = field_names(Kind.ORDERS).index("sku") + 1


class _Numbering:
    """Each order line's ordinal within its order, and whether its sku repeats in the order.

    Exports list an order's lines together, so the ordinal is a counter that restarts when
    the order id changes, and a repeated sku is spotted within that run of lines. An order
    whose lines are scattered gets duplicate ordinals here; _merge_orders spots that
    (max(line_no) < count) and renumbers and checks it in SQL. State carries over from one
    batch to the next, since an order's lines may straddle two batches.
    """

    def __init__(self) -> None:
        self.order: object = None
        self.count = 0
        self.skus: set[object] = set()

    def number(self, good: list[tuple[object, ...]]) -> list[tuple[int, int]]:
        """(line_no, dup_sku) for each record of a batch, in order."""
        if not good:
            return []
        orders = list(map(operator.itemgetter(_ORDER_AT), good))
        skus = list(map(operator.itemgetter(_SKU_AT), good))
        # Where each run of one order's lines starts and how long it is, C-level (a Python
        # loop over the runs cost 0.4 s per million lines).
        n = len(good)
        starts = [0, *compress(range(1, n), map(operator.ne, orders, islice(orders, 1, None)))]
        lengths = list(map(operator.sub, [*starts[1:], n], starts))
        head, head_len = orders[0], lengths[0]
        go_on = head == self.order  # the batch continues the previous batch's last order
        # The common case, column-wise: every line has a sku, no (order, sku) pair repeats in
        # the batch, and the continued order (if any) brings no sku it already had.
        if (
            None in skus
            or len(set(zip(orders, skus, strict=True))) != len(good)
            or (go_on and not self.skus.isdisjoint(skus[:head_len]))
        ):
            return self._one_by_one(orders, skus)
        ends = list(map(operator.add, lengths, repeat(1)))
        if go_on:
            ends[0] += self.count
        numbers = list(chain.from_iterable(map(range, repeat(1), ends)))
        if go_on:
            del numbers[: self.count]
        last, last_len = orders[-1], lengths[-1]
        tail = set(skus[n - last_len :])
        self.skus = self.skus | tail if go_on and len(lengths) == 1 else tail
        self.order, self.count = last, numbers[-1]
        return list(zip(numbers, repeat(0)))

    def _one_by_one(self, orders: list[object], skus: list[object]) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        prev, n, seen = self.order, self.count, self.skus
        for order, sku in zip(orders, skus, strict=True):
            if order == prev:
                n += 1
            else:
                n = 1
                prev = order
                seen = set()
            dup = 0
            if sku is not None:
                if sku in seen:
                    dup = 1
                else:
                    seen.add(sku)
            out.append((n, dup))
        self.order, self.count, self.skus = prev, n, seen
        return out


def collect_errors(db: sqlite_utils.Database, result: ImportResult) -> None:
    result.rejected = db.execute("SELECT count(DISTINCT line) FROM _rejects").fetchone()[0]
    result.error_count = db.execute("SELECT count(*) FROM _rejects").fetchone()[0]
    result.errors = [
        RowError(line, col, reason)
        for line, col, reason in db.execute(
            "SELECT line, col, reason FROM _rejects ORDER BY line, rowid LIMIT ?", [MAX_REPORTED]
        ).fetchall()
    ]


_Step = Callable[[sqlite_utils.Database, Plan, ImportResult, bool], None]


def _check_and_count(
    db: sqlite_utils.Database, result: ImportResult, skip_bad: bool, dup_key: str, label: str
) -> None:
    """Rows repeating an earlier row's key are bad; then settle what is rejected."""
    db.execute(
        f"""
        INSERT INTO _rejects
        SELECT line, ?, 'duplicate {dup_key} ' || {dup_key} || ' (first on line ' || f || ')',
               {dup_key}
        FROM (SELECT line, {dup_key},
                     first_value(line) OVER (PARTITION BY {dup_key} ORDER BY line) AS f
              FROM _stage)
        WHERE line != f
        """,
        [label],
    )
    collect_errors(db, result)
    if skip_bad and result.rejected:
        db.execute("DELETE FROM _stage WHERE line IN (SELECT line FROM _rejects)")


def _check_customers(
    db: sqlite_utils.Database, plan: Plan, result: ImportResult, skip_bad: bool
) -> None:
    _check_and_count(db, result, skip_bad, "customer_id", plan.labels[0])


def _check_products(
    db: sqlite_utils.Database, plan: Plan, result: ImportResult, skip_bad: bool
) -> None:
    _check_and_count(db, result, skip_bad, "sku", plan.labels[0])


def _check_orders(
    db: sqlite_utils.Database, plan: Plan, result: ImportResult, skip_bad: bool
) -> None:
    """What can be known from the staged lines alone: each order's header and whether its
    lines agree, the rejects. Only temp tables: this runs before the write lock is taken."""
    names = field_names(Kind.ORDERS)
    label = dict(zip(names, plan.labels, strict=True))
    db.execute("CREATE INDEX temp._stage_order ON _stage(order_id, line)")
    # One pass over the lines gives each order's header, its final amount (the file holds
    # every line of the orders it names; stale lines are removed below) and whether its lines
    # disagree. A split shipment is delivered when its last part arrives.
    db.execute(
        """
        CREATE TEMP TABLE _orders (order_id TEXT PRIMARY KEY, customer_id TEXT, ordered_at TEXT,
                                   shipped_at TEXT, delivered_at TEXT, n INTEGER, amount REAL,
                                   suspect INTEGER, scattered INTEGER)
        """
    )
    db.execute(
        """
        INSERT INTO _orders
        SELECT order_id, min(customer_id), min(ordered_at), max(shipped_at), max(delivered_at),
               count(*), round(sum(amount), 2),
               min(customer_id) != max(customer_id) OR min(ordered_at) != max(ordered_at)
                   OR max(dup_sku) = 1 OR max(line_no) < count(*),
               max(line_no) < count(*)
        FROM _stage GROUP BY order_id
        """
    )
    # Lines of one order must agree on who ordered and when; the first line sets the order.
    # The same sku twice in one order is taken for a duplicated row (two concatenated
    # exports, a copy-paste) rather than a second line: it would double the order's amount.
    # The window query is costly, so it only runs over the suspect orders.
    db.execute(
        """
        CREATE TEMP TABLE _chk AS
        SELECT * FROM (
            SELECT line, order_id, customer_id, ordered_at, sku,
                   first_value(line) OVER w AS l0,
                   first_value(customer_id) OVER w AS c0,
                   first_value(ordered_at) OVER w AS t0,
                   CASE WHEN sku IS NULL THEN line ELSE first_value(line) OVER
                        (PARTITION BY order_id, sku ORDER BY line) END AS ls
            FROM _stage
            WHERE order_id IN (SELECT order_id FROM _orders WHERE suspect)
            WINDOW w AS (PARTITION BY order_id ORDER BY line))
        WHERE customer_id IS NOT c0 OR ordered_at IS NOT t0 OR ls != line
        """
    )
    db.execute(
        "INSERT INTO _rejects SELECT line, ?, 'order ' || order_id || ' belongs to customer ' "
        "|| c0 || ' on line ' || l0, order_id FROM _chk WHERE customer_id IS NOT c0",
        [label["customer_id"]],
    )
    db.execute(
        "INSERT INTO _rejects SELECT line, ?, 'order ' || order_id || ' was ordered at ' "
        "|| t0 || ' on line ' || l0, order_id FROM _chk WHERE ordered_at IS NOT t0",
        [label["ordered_at"]],
    )
    db.execute(
        "INSERT INTO _rejects SELECT line, ?, 'duplicate line: order ' || order_id || "
        "' already has sku ' || sku || ' on line ' || ls, order_id FROM _chk WHERE ls != line",
        [label["sku"]],
    )
    if skip_bad:
        # An order is imported whole or not at all: a partial order would carry a wrong amount,
        # and importing the fixed reject file later would renumber its lines.
        db.execute(
            """
            INSERT INTO _rejects
            SELECT s.line, ?, 'another line of order ' || s.order_id || ' is bad (line '
                   || b.first || ')', s.order_id
            FROM _stage s JOIN (SELECT key, min(line) AS first FROM _rejects
                                WHERE key IS NOT NULL GROUP BY key) b ON b.key = s.order_id
            WHERE s.line NOT IN (SELECT line FROM _rejects)
            """,
            [label["order_id"]],
        )
    collect_errors(db, result)
    if result.rejected and not skip_bad:
        return
    if result.rejected:
        db.execute("DELETE FROM _stage WHERE line IN (SELECT line FROM _rejects)")
        db.execute("DELETE FROM _orders WHERE order_id IN (SELECT key FROM _rejects)")


CHECKS: dict[Kind, _Step] = {
    Kind.CUSTOMERS: _check_customers,
    Kind.ORDERS: _check_orders,
    Kind.PRODUCTS: _check_products,
}
