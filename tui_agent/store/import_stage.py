"""Staging an import: the converted records into TEMP tables of the import's connection, then
the checks that need other rows (duplicate keys, an order's lines disagreeing), all before
the write lock is taken (``store.importer`` merges afterwards).
"""

from __future__ import annotations

import functools
import gc
import operator
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import compress, islice, repeat
from pathlib import Path
from typing import Any, cast

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
from tui_agent.store.csvread import Msg, Progress, Translate, _Numbering, converted

MAX_SEEN_SKUS = 100_000  # distinct skus remembered while reading; beyond, SQL finds them


def create_staging(db: sqlite_utils.Database, kind: Kind, schema: str = "temp") -> None:
    """``_stage`` in ``schema``: TEMP, or an orders import's ``stage`` scratch file (where a
    thread of its own can read it, ``store.purchase_days``)."""
    cols = ", ".join(field_names(kind))
    db.execute("DROP TABLE IF EXISTS temp._stage")
    db.execute(f"DROP TABLE IF EXISTS {schema}._stage")
    db.execute("DROP TABLE IF EXISTS temp._rejects")
    # Orders also stage each line's ordinal within its order (see load).
    extra = ", line_no INTEGER, dup_sku INTEGER" if kind is Kind.ORDERS else ""
    db.execute(f"CREATE TABLE {schema}._stage (line INTEGER PRIMARY KEY, {cols}{extra})")
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
        keep += [_LINE_NO_AT, _LINE_NO_AT + 1]
        names += ["line_no", "dup_sku"]
    insert = f"INSERT INTO _stage ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    reject = "INSERT INTO _rejects VALUES (?, ?, ?, ?)"
    project = operator.itemgetter(*keep)
    headers = _Headers() if kind is Kind.ORDERS and HEADERS_WHILE_STAGING else None
    if headers is not None:
        db.execute(_ORDERS_TABLE)
    # Each sku's product and category from its last line in the file, gathered while
    # reading (C-level dict updates) instead of a grouping pass over the staged lines.
    seen: dict[object, tuple[object, ...]] | None = {} if kind is Kind.ORDERS else None
    sku_of = operator.itemgetter(_SKU_AT)
    product_of = operator.itemgetter(_SKU_AT + 1, _SKU_AT + 2)
    # Numbering in this process rather than the reading worker's: the worker is the slower
    # of the two (this one waited ~1 s for its batches at 1M lines).
    numbering = _Numbering() if kind is Kind.ORDERS else None
    for msg in messages:
        if msg[0] == "rows":
            good = cast("list[tuple[object, ...]]", msg[1])
            if numbering is not None:
                # Each line's ordinal within its order and whether its sku repeats there,
                # appended to its record: (line, *values, line_no, dup_sku).
                good = list(map(operator.add, good, numbering.number(good)))
            picked: Iterable[tuple[object, ...]] = map(project, good)
            if kind is Kind.ORDERS:
                if headers is not None:
                    db.conn.executemany(_INSERT_HEADER, headers.add(good))
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
            if headers is not None:
                db.conn.executemany(_INSERT_HEADER, headers.close())
                _headers_of_scattered(db, ascending=headers.ascending)
            result.rows_read = rows
            result.ignored_columns = plan.ignored
            return plan
    raise AssertionError("the converted stream ended early")


def _headers_of_scattered(db: sqlite_utils.Database, *, ascending: bool) -> None:
    """When the file's lines are not in order id order, the (order_id, line) index that the
    checks and the merge then need; the headers of orders whose lines are scattered, again
    from all their lines."""
    if ascending:
        return
    _index_stage(db)
    if db.execute("SELECT EXISTS (SELECT 1 FROM _orders WHERE scattered)").fetchone()[0]:
        # INDEXED BY: each order's lines in line order, so its amount is summed as always.
        where = "INDEXED BY _stage_order WHERE order_id IN (SELECT order_id FROM _orders WHERE scattered)"
        db.execute("INSERT OR REPLACE INTO _orders " + _HEADER_SQL.format(where=where))


def _stage_schema(db: sqlite_utils.Database) -> str:
    """Where ``_stage`` is: ``temp``, else the ``stage`` scratch file."""
    temp = db.execute("SELECT EXISTS (SELECT 1 FROM temp.sqlite_master WHERE name = '_stage')")
    return "temp" if temp.fetchone()[0] else "stage"


def _index_stage(db: sqlite_utils.Database) -> None:
    """``_stage``'s (order_id, line) index, in the schema of the table."""
    db.execute(
        f"CREATE INDEX IF NOT EXISTS {_stage_schema(db)}._stage_order ON _stage(order_id, line)"
    )


def stage_index(db: sqlite_utils.Database) -> bool:
    """Whether ``_stage`` has its (order_id, line) index."""
    return bool(
        db.execute(
            f"SELECT EXISTS (SELECT 1 FROM {_stage_schema(db)}.sqlite_master "
            "WHERE name = '_stage_order')"
        ).fetchone()[0]
    )


# In (line, *record, line_no, dup_sku) (see csvread._Numbering).
_ORDER_AT, _SKU_AT = 1, field_names(Kind.ORDERS).index("sku") + 1
_LINE_NO_AT = len(field_names(Kind.ORDERS)) + 1


# Each order's header, as one GROUP BY order_id over its staged lines gives it. Staging
# computes it batch by batch instead (_Headers), but for the orders whose lines are
# scattered in the file, which are computed again with this.
_HEADER_SQL = """
    SELECT order_id, min(customer_id), min(ordered_at), max(shipped_at), max(delivered_at),
           count(*), round(sum(amount), 2),
           min(customer_id) != max(customer_id) OR min(ordered_at) != max(ordered_at)
               OR max(dup_sku) = 1 OR max(line_no) < count(*),
           max(line_no) < count(*)
    FROM _stage {where} GROUP BY order_id
"""
_ORDERS_TABLE = """
    CREATE TABLE stage._orders (order_id TEXT PRIMARY KEY, customer_id TEXT, ordered_at TEXT,
                               shipped_at TEXT, delivered_at TEXT, n INTEGER, amount REAL,
                               suspect INTEGER, scattered INTEGER)
"""
# A second run of an order's lines (scattered in the file) conflicts with its first: both
# are marked, and the order is computed again by _HEADER_SQL at the end of staging.
_INSERT_HEADER = (
    "INSERT INTO _orders VALUES (?, ?, ?, ?, ?, ?, round(?, 2), ?, 0) "
    "ON CONFLICT(order_id) DO UPDATE SET suspect = 1, scattered = 1"
)
# SQLite's sum() of REAL values before 3.43 is a plain left fold, which Python repeats
# exactly; later versions compensate (Kahan-Babuska-Neumaier), so there the headers are left
# to SQL (_HEADER_SQL over every line) for identical amounts.
HEADERS_WHILE_STAGING = sqlite3.sqlite_version_info < (3, 43, 0)
_CUST_AT, _ORDERED_AT, _SHIPPED_AT, _DELIVERED_AT = 2, 3, 4, 5  # in (line, *record)
_AMOUNT_AT = field_names(Kind.ORDERS).index("amount") + 1


def _fold(amounts: list[float]) -> float:
    """sum() as SQLite 3.40 does it: from 0.0, one by one."""
    return functools.reduce(operator.add, amounts, 0.0)


class _Headers:
    """Each order's header (customer, dates, line count, unrounded amount, suspect) from its
    run of lines, as _HEADER_SQL would give it, batch by batch while staging.

    A run straddling two batches is carried over as a partial header and continued (the
    amount's fold goes on from the partial sum, so it stays the same sum). ``ascending``:
    whether the runs' order ids rise through the file, that is, whether the file's line order
    is also (order id, line) order.
    """

    def __init__(self) -> None:
        # [order, customer lo, hi, ordered_at lo, hi, shipped max, delivered max, n, sum, dup]
        self.open: list[Any] | None = None
        self.ascending = True

    def add(self, good: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
        """The headers of the runs this batch completes (the last run stays open)."""
        n = len(good)
        if not n:
            return []
        out: list[tuple[object, ...]] = []
        nos = list(map(_NO, good))
        starts = list(compress(range(n), map(operator.eq, nos, repeat(1))))
        dups = list(map(_DUP, good))
        first = starts[0] if starts else n
        if first:  # the batch goes on with the open run
            assert self.open is not None
            self.open = _fold_run(self.open, good, dups, 0, first)
        if not starts:
            return out
        if self.open is not None:
            out.append(_row(self.open))
        heads = list(map(good.__getitem__, starts))
        ids = list(map(_OID, heads))
        if self.ascending and (
            (self.open is not None and not self.open[0] < ids[0])
            or not all(map(operator.lt, ids, islice(ids, 1, None)))
        ):
            self.ascending = False
        ends = [*starts[1:], n]
        if not any(dups) and _agree_within_runs(good, nos):
            # The common case, column-wise: within each run the customer and the dates are
            # the same on every line, so the first line's are the run's.
            amounts = list(map(_AMT, good))
            totals = list(map(_fold, map(amounts.__getitem__, map(slice, starts, ends))))
            lengths = list(map(operator.sub, ends, starts))
            out.extend(
                zip(
                    ids,
                    map(_CUST, heads),
                    map(_ORDERED, heads),
                    map(_SHIPPED, heads),
                    map(_DELIVERED, heads),
                    lengths,
                    totals,
                    repeat(0),
                )
            )
            last = out.pop()
            self.open = [last[0], last[1], last[1], last[2], last[2], last[3], last[4],
                         last[5], last[6], 0]  # fmt: skip
            return out
        for lo, hi in zip(starts, ends, strict=True):
            state = _fold_run(None, good, dups, lo, hi)
            if hi == n:
                self.open = state
            else:
                out.append(_row(state))
        return out

    def close(self) -> list[tuple[object, ...]]:
        """The last run's header."""
        return [_row(self.open)] if self.open is not None else []


_NO, _DUP = operator.itemgetter(_LINE_NO_AT), operator.itemgetter(_LINE_NO_AT + 1)
_OID, _CUST = operator.itemgetter(_ORDER_AT), operator.itemgetter(_CUST_AT)
_ORDERED, _SHIPPED = operator.itemgetter(_ORDERED_AT), operator.itemgetter(_SHIPPED_AT)
_DELIVERED, _AMT = operator.itemgetter(_DELIVERED_AT), operator.itemgetter(_AMOUNT_AT)


def _agree_within_runs(good: list[tuple[object, ...]], nos: list[int]) -> bool:
    """Whether the customer and the dates are the same on every line of each run (a line
    goes on with its run when its line_no is not 1)."""
    goes_on = list(map(operator.ne, islice(nos, 1, None), repeat(1)))
    for get in (_CUST, _ORDERED, _SHIPPED, _DELIVERED):
        col = list(map(get, good))
        if any(compress(map(operator.ne, col, islice(col, 1, None)), goes_on)):
            return False
    return True


def _fold_run(
    state: list[Any] | None, good: list[tuple[object, ...]], dups: list[int], lo: int, hi: int
) -> list[Any]:
    """``state`` (a run's partial header, or None) continued with records ``lo:hi``, one by
    one: min and max as SQL's (NULL dates ignored), the amount summed in line order."""
    for i in range(lo, hi):
        r = good[i]
        cust, at, ship, deliv, amount = r[2], r[3], r[4], r[5], r[_AMOUNT_AT]
        if state is None:
            state = [
                r[_ORDER_AT],
                cust,
                cust,
                at,
                at,
                ship,
                deliv,
                1,
                0.0 + cast("float", amount),
                dups[i],
            ]
            continue
        state[1], state[2] = min(state[1], cust), max(state[2], cust)
        state[3], state[4] = min(state[3], at), max(state[4], at)
        if ship is not None and (state[5] is None or ship > state[5]):
            state[5] = ship
        if deliv is not None and (state[6] is None or deliv > state[6]):
            state[6] = deliv
        state[7] += 1
        state[8] += amount
        state[9] = max(state[9], dups[i])
    assert state is not None
    return state


def _row(state: list[Any]) -> tuple[object, ...]:
    order, c_lo, c_hi, t_lo, t_hi, ship, deliv, n, total, dup = state
    return (order, c_lo, t_lo, ship, deliv, n, total, int(c_lo != c_hi or t_lo != t_hi or dup))


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
    # Each order's header, its final amount (the file holds every line of the orders it
    # names; stale lines are removed in the merge) and whether its lines disagree, usually
    # computed while staging (see _Headers). A split shipment is delivered when its last
    # part arrives.
    if not db.execute(
        "SELECT EXISTS (SELECT 1 FROM stage.sqlite_master WHERE name = '_orders')"
    ).fetchone()[0]:
        _index_stage(db)
        db.execute(_ORDERS_TABLE)
        db.execute("INSERT INTO _orders " + _HEADER_SQL.format(where=""))
    if "status" in plan.present or "refunded" in plan.present:
        _index_stage(db)  # order_status reads each order's first line
    if not db.execute("SELECT EXISTS (SELECT 1 FROM _orders WHERE suspect)").fetchone()[0]:
        # Nothing to check line by line.
        _settle(db, result, label, skip_bad)
        return
    _index_stage(db)
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
    _settle(db, result, label, skip_bad)


def _settle(
    db: sqlite_utils.Database, result: ImportResult, label: dict[str, str], skip_bad: bool
) -> None:
    """Count the rejects; with ``skip_bad``, every line of an order with a bad line is
    rejected, and they leave the staging tables."""
    if skip_bad and db.execute("SELECT EXISTS (SELECT 1 FROM _rejects)").fetchone()[0]:
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
    if result.rejected and skip_bad:
        db.execute("DELETE FROM _stage WHERE line IN (SELECT line FROM _rejects)")
        db.execute("DELETE FROM _orders WHERE order_id IN (SELECT key FROM _rejects)")


CHECKS: dict[Kind, _Step] = {
    Kind.CUSTOMERS: _check_customers,
    Kind.ORDERS: _check_orders,
    Kind.PRODUCTS: _check_products,
}
