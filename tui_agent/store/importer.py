"""Importing customers, orders and products from CSV, and the derived columns the scheduler uses.

The shape: rows are streamed from the file, validated in batches (``core.csvrows``, read by
``store.csvread``) and loaded into TEMP staging tables of this connection (an orders
import: into scratch files attached to it, ``order_figures.Scratch``), and checked
(``store.import_stage``), before any lock on the shop database is taken. Then one write
transaction: set-based ``INSERT ... SELECT ... ON CONFLICT DO UPDATE`` statements merge into
the real tables, touching only rows whose values changed. Python memory stays bounded
whatever the file size: the staging and reject tables live in SQLite's temp store or the
scratch files, not in lists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import sqlite_utils

from tui_agent.core.csvrows import (
    DEFAULT_MAX_LINE_AMOUNT,
    BadRowsError,
    CsvFileError,
    ImportResult,
    Kind,
    Plan,
)
from tui_agent.store import order_figures, order_status, purchase_days
from tui_agent.store.csvread import (
    BatchFn,
    Progress,
    Translate,
    detect_encoding,
    normalise_encoding,
    rejects_target,
    sniff_delimiter,
    write_rejects,
)
from tui_agent.store.db import get_meta, retry_busy, set_meta, write_tx
from tui_agent.store.import_stage import CHECKS, create_staging, drop_temp, load, stage_index

# Page caches during an import (fixed, so memory stays bounded). The main cache also sizes
# SQLite's sort buffers; 64 MB each measured 215-262 MB peak RSS at 1M lines, 32 MB 157 MB
# at no measurable cost in CPU.
IMPORT_CACHE_KB = 32768
IMPORT_TEMP_CACHE_KB = 32768
BULK_MIN_ROWS = 50_000  # orders in one file before indexes are rebuilt rather than updated

__all__ = [
    "BadRowsError",
    "BatchFn",
    "CsvFileError",
    "ImportResult",
    "Progress",
    "Translate",
    "detect_encoding",
    "import_customers",
    "import_orders",
    "import_products",
    "normalise_encoding",
    "refresh_derived",
    "rejects_target",
]


def _run(
    db: sqlite_utils.Database,
    kind: Kind,
    path: Path | str,
    merge: Callable[[sqlite_utils.Database, Plan, ImportResult, bool], None],
    *,
    mapping: Mapping[str, str] | None,
    skip_bad: bool,
    rejects: Path | str | None,
    encoding: str | None,
    progress: Progress | None,
    translate: Translate | None = None,
    max_amount: float | None = None,
    delimiter: str | None = None,
) -> ImportResult:
    max_amount = DEFAULT_MAX_LINE_AMOUNT if max_amount is None else max_amount
    path = Path(path)
    if not path.is_file():
        raise CsvFileError("no such file")
    out = rejects_target(path, rejects) if skip_bad else None
    enc = normalise_encoding(encoding, path)
    delim = sniff_delimiter(delimiter, path, enc)
    result = ImportResult(kind=kind, path=path, encoding=enc)
    # A bigger page cache for the bulk merge (fixed size, so memory stays bounded).
    old_cache = db.execute("PRAGMA main.cache_size").fetchone()[0]
    old_temp = db.execute("PRAGMA temp.cache_size").fetchone()[0]
    # SQLite here is built with SECURE_DELETE: dropping the staging tables would overwrite
    # every freed page of the temp file with zeros (0.3-0.6 s at 1M lines). The temp file is
    # private to this connection and deleted when it closes; the shop's file keeps the setting.
    old_secure = db.execute("PRAGMA temp.secure_delete").fetchone()[0]
    db.execute("PRAGMA temp.secure_delete = 0")
    # No memory map while importing: every page the merge reads or writes would stay mapped
    # and count in the process's memory (measured +32 MB at 1M lines on a fresh shop, the
    # whole file on a re-import); the page cache above is the bound.
    old_mmap = db.execute("PRAGMA mmap_size").fetchone()[0]
    db.execute("PRAGMA mmap_size = 0")
    db.execute(f"PRAGMA main.cache_size = -{IMPORT_CACHE_KB}")
    db.execute(f"PRAGMA temp.cache_size = -{IMPORT_TEMP_CACHE_KB}")
    # The merge writes every customer and order that its rows refer to, in the same
    # transaction, so SQLite's per-row foreign-key lookups would prove nothing and cost ~2 s
    # per million lines. Off for this connection during the import only (tests check the
    # result with PRAGMA foreign_key_check).
    old_fk = db.execute("PRAGMA foreign_keys").fetchone()[0]
    db.execute("PRAGMA foreign_keys = OFF")
    scratch = order_figures.Scratch(db) if kind is Kind.ORDERS else None
    if scratch is not None:  # _stage is staged there, not in the temp store
        db.execute(f"PRAGMA stage.cache_size = -{IMPORT_TEMP_CACHE_KB}")
    try:
        # Parsing and staging touch only this connection's temp tables (and scratch files), so
        # they run before the write lock is taken: agents keep logging touches while a big file
        # is being read.
        create_staging(db, kind, "temp" if scratch is None else "stage")
        db.execute("BEGIN")
        plan = load(db, kind, path, enc, mapping, progress, result, translate, max_amount, delim)
        # The checks that need other rows read the staged rows only: still before the write
        # lock, so agents wait only for the merge (and a file with bad rows not at all).
        CHECKS[kind](db, plan, result, skip_bad)
        db.execute("COMMIT")
        if result.rejected and not skip_bad:
            raise BadRowsError(result)
        with write_tx(db) if scratch is None else _merge_tx(db):
            merge(db, plan, result, skip_bad)
            if result.rejected:
                assert out is not None
                write_rejects(db, path, enc, out, delim)
                result.rejects_path = out
    finally:
        if db.conn.in_transaction:  # an error while staging
            db.execute("ROLLBACK")
        drop_temp(db)
        if scratch is not None:
            scratch.close(db)
        db.execute(f"PRAGMA main.cache_size = {old_cache}")
        db.execute(f"PRAGMA temp.cache_size = {old_temp}")
        db.execute(f"PRAGMA temp.secure_delete = {int(old_secure)}")
        db.execute(f"PRAGMA mmap_size = {int(old_mmap)}")
        db.execute(f"PRAGMA foreign_keys = {int(old_fk)}")
    return result


@contextmanager
def _merge_tx(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """:func:`write_tx` for the orders merge, with the write lock taken on the shop's file only
    (a deferred BEGIN, then a write that changes nothing): ``BEGIN IMMEDIATE`` would lock the
    attached scratch files too, and the figures thread writes one of them meanwhile."""
    conn = db.conn
    conn.execute("BEGIN")
    try:
        retry_busy(lambda: conn.execute("UPDATE main.meta SET key = key WHERE 0"))
        yield db
        retry_busy(lambda: conn.execute("COMMIT"))
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _changed(cols: Iterable[str], left: str, right: str) -> str:
    return " OR ".join(f"{left}.{c} IS NOT {right}.{c}" for c in cols) or "0"


# --- customers ---------------------------------------------------------------------------------


def _merge_customers(
    db: sqlite_utils.Database, plan: Plan, result: ImportResult, skip_bad: bool
) -> None:
    cols = [c for c in plan.present if c != "customer_id"]
    plain = [c for c in cols if c != "opt_out"]
    # An import may set "do not contact" but never clear it: an opt-out recorded by an agent
    # must survive the next nightly export that still says 0.
    opt = "opt_out" in cols
    same = (
        " AND ".join(
            [f"c.{c} IS s.{c}" for c in plain]
            + (["max(c.opt_out, s.opt_out) = c.opt_out"] if opt else [])
        )
        or "1"
    )
    inserted, unchanged = db.execute(
        f"SELECT count(*) FILTER (WHERE c.customer_id IS NULL), "
        f"count(*) FILTER (WHERE c.customer_id IS NOT NULL AND {same}) "
        "FROM _stage s LEFT JOIN customers c ON c.customer_id = s.customer_id"
    ).fetchone()
    sets = [f"{c} = excluded.{c}" for c in plain]
    changed = [f"customers.{c} IS NOT excluded.{c}" for c in plain]
    if opt:
        sets.append("opt_out = max(customers.opt_out, excluded.opt_out)")
        changed.append("excluded.opt_out > customers.opt_out")
    all_cols = ["customer_id", *cols]
    conflict = (
        f"DO UPDATE SET {', '.join(sets)} WHERE {' OR '.join(changed)}" if sets else "DO NOTHING"
    )
    with _bulk_indexes(db, "customers", inserted):
        db.execute(
            f"INSERT INTO customers ({', '.join(all_cols)}) "
            f"SELECT {', '.join(all_cols)} FROM _stage WHERE 1 ORDER BY line "
            f"ON CONFLICT(customer_id) {conflict}"
        )
    total = db.execute("SELECT count(*) FROM _stage").fetchone()[0]
    result.inserted, result.unchanged = inserted, unchanged
    result.updated = total - inserted - unchanged
    # Orders are untouched, so of the derived columns only the birthday's MM-DD can change.
    _refresh_birth_md(db, "customer_id IN (SELECT customer_id FROM _stage)")


# --- products ----------------------------------------------------------------------------------


def _merge_products(
    db: sqlite_utils.Database, plan: Plan, result: ImportResult, skip_bad: bool
) -> None:
    cols = [c for c in plan.present if c != "sku"]
    same = " AND ".join(f"p.{c} IS s.{c}" for c in cols) or "1"
    inserted, unchanged = db.execute(
        f"SELECT count(*) FILTER (WHERE p.sku IS NULL), "
        f"count(*) FILTER (WHERE p.sku IS NOT NULL AND {same}) "
        "FROM _stage s LEFT JOIN products p ON p.sku = s.sku"
    ).fetchone()
    all_cols = ["sku", *cols]
    db.execute(
        f"INSERT INTO products ({', '.join(all_cols)}) "
        f"SELECT {', '.join(all_cols)} FROM _stage WHERE 1 ORDER BY line "
        f"ON CONFLICT(sku) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in cols)} "
        f"WHERE {_changed(cols, 'products', 'excluded')}"
    )
    total = db.execute("SELECT count(*) FROM _stage").fetchone()[0]
    result.inserted, result.unchanged = inserted, unchanged
    result.updated = total - inserted - unchanged


# --- orders ------------------------------------------------------------------------------------

_LINE_COLS = ("sku", "product", "category", "quantity", "amount")
_SEQ_ORDER = order_figures.SEQ_ORDER  # the importer and refresh_derived must agree


def _merge_orders(
    db: sqlite_utils.Database, plan: Plan, result: ImportResult, skip_bad: bool
) -> None:
    order_status.set_aside(db, plan, result)
    result.orders = db.execute("SELECT count(*) FROM _orders").fetchone()[0]
    if db.execute("SELECT EXISTS (SELECT 1 FROM _orders WHERE scattered)").fetchone()[0]:
        _renumber_scattered(db)

    # A first load (no order in the database yet) has nothing to compare or clean up: the
    # "changed" counts, the seq of older orders and the stale-line delete are skipped.
    first_load = not db.execute("SELECT EXISTS (SELECT 1 FROM orders)").fetchone()[0]

    # The customers' figures and the orders' seq (order_figures) are computed in a second
    # thread while this one writes the lines, when the merge has not changed what the thread
    # reads (_orders; the shop's orders as committed): no order set aside, no refund.
    thread = None
    if (
        not result.excluded
        and not db.execute("SELECT EXISTS (SELECT 1 FROM _ostatus WHERE refunded > 0)").fetchone()[
            0
        ]
    ):
        thread = order_figures.start(db, first_load=first_load)
    # On a first load the thread commits the customers' figures first: they are written
    # while the thread is still numbering the orders (waiting for the whole was ~0.5 s of a
    # 1M-line import).
    split = False
    try:
        if not first_load:
            _moved_orders(db, result)
        if "sku" in plan.present:
            _products_from_lines(db, fresh=not result.rejected)
        _merge_lines(db, result, first_load=first_load)
        if thread is not None and first_load and thread.wait_ready():
            _write_customers(db, result)
            split = True
    finally:
        done = thread is not None and thread.join()
    # A first load's purchase days (one grouping pass over the staged lines) likewise, in a
    # thread of its own while the orders are written (started once the figures thread is
    # done, which the merge waits for): the merge changes _stage only when it sets orders
    # aside.
    days = purchase_days.start(db) if first_load and not result.excluded else None
    try:
        if not done:
            order_figures.compute(
                db.execute, first_load=first_load, create="CREATE TEMP TABLE", customers=not split
            )
        if not split:
            _write_customers(db, result)
        _write_orders(db, plan, result, first_load=first_load)
    finally:
        if days is not None:
            days.join()  # before the scratch files go, on an error too
    purchase_days.after_orders_import(db, first_load=first_load, affected="_affected", thread=days)
    order_status.after_merge(db, plan)
    _refresh_avg_gap(db)


def _write_customers(db: sqlite_utils.Database, result: ImportResult) -> None:
    """The customers' figures (``_cust``), once the lines are written (see
    :func:`_merge_orders`)."""
    n_affected = db.execute("SELECT count(*) FROM _cust").fetchone()[0]
    figures = ("order_count", "total_spent", "first_order_at", "last_order_at")
    with _bulk_indexes(db, "customers", n_affected, updates=figures):
        db.execute(
            """
            UPDATE customers SET order_count = s.n, total_spent = s.total,
                                 first_order_at = s.first, last_order_at = s.last
            FROM _cust s
            WHERE customers.customer_id = s.customer_id
              AND (customers.order_count IS NOT s.n OR customers.total_spent IS NOT s.total
                   OR customers.first_order_at IS NOT s.first
                   OR customers.last_order_at IS NOT s.last)
            """
        )
        created = db.execute(
            "INSERT INTO customers (customer_id, order_count, total_spent, first_order_at, "
            "last_order_at) SELECT customer_id, n, total, first, last FROM _cust s "
            "WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.customer_id = s.customer_id)"
        )
    result.customers_created = created.rowcount


def _write_orders(
    db: sqlite_utils.Database, plan: Plan, result: ImportResult, *, first_load: bool
) -> None:
    """The orders with their ``seq`` (``_seq``), once the lines are written."""
    # A known shipping/delivery date is never erased by an export that leaves the cell empty.
    date_cols = [c for c in ("shipped_at", "delivered_at") if c in plan.present]
    sets = [
        "customer_id = excluded.customer_id",
        "ordered_at = excluded.ordered_at",
        "amount = excluded.amount",
        "seq = excluded.seq",
    ] + [f"{c} = coalesce(excluded.{c}, orders.{c})" for c in date_cols]
    changed = [
        "orders.customer_id IS NOT excluded.customer_id",
        "orders.ordered_at IS NOT excluded.ordered_at",
        "orders.amount IS NOT excluded.amount",
        "orders.seq IS NOT excluded.seq",
    ] + [f"(excluded.{c} IS NOT NULL AND orders.{c} IS NOT excluded.{c})" for c in date_cols]
    with _bulk_indexes(db, "orders", result.orders):
        db.execute(
            "INSERT INTO orders (order_id, customer_id, ordered_at, shipped_at, delivered_at, "
            "amount, seq) "
            "SELECT o.order_id, customer_id, ordered_at, shipped_at, delivered_at, amount, s.rn "
            "FROM _orders o JOIN _seq s ON s.order_id = o.order_id WHERE 1 ORDER BY o.order_id "
            f"ON CONFLICT(order_id) DO UPDATE SET {', '.join(sets)} WHERE {' OR '.join(changed)}"
        )
    if not first_load:
        # Orders not in the file move up or down when the file adds an earlier one.
        db.execute(
            "UPDATE orders SET seq = s.rn FROM _seq s "
            "WHERE s.new = 0 AND orders.order_id = s.order_id AND orders.seq IS NOT s.rn"
        )


def _merge_lines(db: sqlite_utils.Database, result: ImportResult, *, first_load: bool) -> None:
    """The order lines: upserted from the staged lines, the stale ones removed."""
    # Lines are keyed by their ordinal within the order in the file; see README.
    if first_load:
        # Every line read is staged and nothing left _stage unless lines were rejected or
        # orders set aside: the count is known without a pass under the lock.
        if result.rejected or result.excluded:
            total = db.execute("SELECT count(*) FROM _stage").fetchone()[0]
        else:
            total = result.rows_read
        inserted, unchanged = total, 0
    else:
        # A line is unchanged only if its order still belongs to the same customer.
        same = " AND ".join(f"l.{c} IS s.{c}" for c in _LINE_COLS)
        inserted, unchanged, total = db.execute(
            f"SELECT count(*) FILTER (WHERE l.order_id IS NULL), "
            f"count(*) FILTER (WHERE l.order_id IS NOT NULL AND {same} "
            "AND s.order_id NOT IN (SELECT order_id FROM _reowned)), count(*) "
            "FROM _stage s LEFT JOIN order_lines l ON l.order_id = s.order_id "
            "AND l.line_no = s.line_no"
        ).fetchone()
    result.inserted, result.unchanged = inserted, unchanged
    result.updated = total - inserted - unchanged
    # In (order_id, line_no) order: the temp index's, or the file's when that is the same
    # (the staging left the index out: the file's order ids rise).
    by = "order_id, line" if stage_index(db) else "line"
    with _bulk_indexes(db, "order_lines", total):
        db.execute(
            f"INSERT INTO order_lines (order_id, line_no, {', '.join(_LINE_COLS)}) "
            f"SELECT order_id, line_no, {', '.join(_LINE_COLS)} FROM _stage WHERE 1 "
            f"ORDER BY {by} "
            f"ON CONFLICT(order_id, line_no) DO UPDATE SET "
            f"{', '.join(f'{c} = excluded.{c}' for c in _LINE_COLS)} "
            f"WHERE {_changed(_LINE_COLS, 'order_lines', 'excluded')}"
        )
    # The file is the whole truth about each order it names: lines beyond it are stale.
    # One range probe per order of the file (line_no > n), rather than a lookup per line.
    if not first_load:
        cur = db.execute(
            "DELETE FROM order_lines WHERE rowid IN (SELECT l.rowid FROM _orders s "
            "JOIN order_lines l ON l.order_id = s.order_id AND l.line_no > s.n)"
        )
        result.removed = cur.rowcount


def _renumber_scattered(db: sqlite_utils.Database) -> None:
    """Lines of an order scattered in the file are numbered in file order (staging numbered
    each run of them from 1)."""
    db.execute(
        """
        UPDATE _stage SET line_no = w.rn
        FROM (SELECT line, row_number() OVER (PARTITION BY order_id ORDER BY line) AS rn
              FROM _stage WHERE order_id IN (SELECT order_id FROM _orders WHERE scattered)) AS w
        WHERE _stage.line = w.line
        """
    )


def _moved_orders(db: sqlite_utils.Database, result: ImportResult) -> None:
    """Orders the file gives to another customer than the database: counted, and the open
    follow-ups they caused for the old customer cancelled (saying where the order went).
    Their reasons' keys are set aside, so the next generation gives the new owner theirs.
    Call inside the import's transaction, before the orders are written."""
    db.execute(
        "CREATE TEMP TABLE _reowned AS SELECT s.order_id, o.customer_id AS old, "
        "s.customer_id AS new FROM _orders s JOIN orders o ON o.order_id = s.order_id "
        "WHERE o.customer_id IS NOT s.customer_id"
    )
    result.moved = db.execute("SELECT count(*) FROM _reowned").fetchone()[0]
    if not result.moved:
        return
    now = datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    db.execute(
        """
        UPDATE follow_ups SET status = 'cancelled',
               status_reason = 'order ' || m.order_id || ' now belongs to customer '
                               || m.new || ' (re-import)',
               claimed_by = NULL, updated_at = ?
        FROM _reowned m
        WHERE follow_ups.customer_id = m.old
          AND follow_ups.status IN ('pending', 'snoozed')
          AND (follow_ups.order_id = m.order_id OR follow_ups.id IN
               (SELECT follow_up_id FROM follow_up_reasons WHERE order_id = m.order_id))
        """,
        [now],
    )
    db.execute(
        """
        UPDATE follow_up_reasons SET key = key || '@moved#' || follow_up_id
        WHERE order_id IN (SELECT order_id FROM _reowned)
          AND follow_up_id IN (SELECT f.id FROM follow_ups f JOIN _reowned m
                               ON f.customer_id = m.old)
        """
    )


@contextmanager
def _bulk_indexes(
    db: sqlite_utils.Database, table: str, incoming: int, updates: Iterable[str] = ()
) -> Iterator[None]:
    """Drop a table's secondary indexes around a bulk write and rebuild them after.

    Building an index once from sorted data is much cheaper than inserting hundreds of
    thousands of random keys into it (measured: about half the time of the orders insert).
    Done for every index when the file brings at least twice the rows the table holds (a
    first load); else, when the write changes the columns ``updates`` in at least a quarter
    of the rows, for the indexes on those columns (an orders file rewriting most customers'
    order figures: 1.08 -> 0.79 s CPU at 175k of 200k customers). The definitions come from
    sqlite_master, so the schema ends up exactly as it was. Inside the import's transaction:
    on an error the rollback brings the indexes back, and readers never see them missing.
    """
    existing = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    updates = set(updates)
    if incoming < BULK_MIN_ROWS or (incoming < 2 * existing and not updates):
        yield
        return
    indexes = db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
        "AND sql IS NOT NULL",
        [table],
    ).fetchall()
    if incoming < 2 * existing:
        if 4 * incoming < existing:
            yield
            return
        indexes = [(name, sql) for name, sql in indexes if _index_columns(db, name) & updates]
    for name, _sql in indexes:
        db.execute(f'DROP INDEX "{name}"')
    yield
    for _name, sql in indexes:
        db.execute(sql)


def _index_columns(db: sqlite_utils.Database, index: str) -> set[str]:
    """The columns an index is on (an expression's columns are not named: empty set then)."""
    names = [r[2] for r in db.execute(f'PRAGMA index_info("{index}")').fetchall()]
    return set() if None in names else set(names)


def _products_from_lines(db: sqlite_utils.Database, *, fresh: bool) -> None:
    """Products named by order lines (the file's last line per sku wins); a product's cycle and
    related sku are left alone.

    ``fresh``: every staged line is imported, so ``_prod`` as gathered while reading (if it
    was) is right; otherwise it is rebuilt from the lines that remain.
    """
    has_prod = db.execute(
        "SELECT EXISTS (SELECT 1 FROM temp.sqlite_master WHERE name = '_prod')"
    ).fetchone()[0]
    if not (fresh and has_prod):
        db.execute("DROP TABLE IF EXISTS temp._prod")
        # SQLite takes the bare columns of an aggregate query from the row holding the
        # max(), so one grouping pass finds each sku's last line.
        db.execute(
            "CREATE TEMP TABLE _prod AS SELECT sku, product, category, max(line) AS line "
            "FROM _stage WHERE sku IS NOT NULL GROUP BY sku"
        )
    db.execute(
        "INSERT INTO products (sku, name, category) SELECT sku, coalesce(product, sku), category "
        "FROM _prod WHERE 1 ON CONFLICT(sku) DO NOTHING"
    )
    db.execute(
        """
        UPDATE products SET name = coalesce(s.product, products.name),
                            category = coalesce(s.category, products.category)
        FROM _prod AS s
        WHERE products.sku = s.sku
          AND ((s.product IS NOT NULL AND s.product IS NOT products.name)
               OR (s.category IS NOT NULL AND s.category IS NOT products.category))
        """
    )


# --- derived columns ---------------------------------------------------------------------------


def refresh_derived(db: sqlite_utils.Database, customer_ids: Iterable[str] | None = None) -> None:
    """Recompute what the scheduler reads instead of re-aggregating orders every morning.

    customers: order_count, total_spent, first_order_at, last_order_at, birth_md (MM-DD);
    orders: amount (sum of its lines, rounded to cents) and seq (the customer's nth order by
    ordered_at, ties by order_id);
    meta ``avg_gap_days``: the shop's mean days between two consecutive orders of one
    customer, over customers with 2+ orders (removed when there are none).
    ``customer_ids=None`` refreshes every customer. Call inside :func:`write_tx`.
    """
    if customer_ids is None:
        _refresh(db, None)
        return
    db.execute("DROP TABLE IF EXISTS temp._derived_ids")
    db.execute("CREATE TEMP TABLE _derived_ids (customer_id TEXT PRIMARY KEY)")
    db.conn.executemany(
        "INSERT OR IGNORE INTO _derived_ids VALUES (?)", ((c,) for c in customer_ids)
    )
    try:
        _refresh(db, "_derived_ids")
    finally:
        db.execute("DROP TABLE IF EXISTS temp._derived_ids")


def _refresh(db: sqlite_utils.Database, ids_table: str | None) -> None:
    def only(col: str) -> str:
        return f"{col} IN (SELECT customer_id FROM {ids_table})" if ids_table else "1"

    _refresh_amounts(db, only("o.customer_id"))
    db.execute(
        f"""
        UPDATE orders SET seq = s.rn
        FROM (SELECT order_id, row_number() OVER
                     (PARTITION BY customer_id ORDER BY {_SEQ_ORDER}) AS rn
              FROM orders WHERE {only("customer_id")}) AS s
        WHERE orders.order_id = s.order_id AND orders.seq IS NOT s.rn
        """
    )
    db.execute(
        f"""
        UPDATE customers SET order_count = s.n, total_spent = s.total,
                             first_order_at = s.first, last_order_at = s.last
        FROM (SELECT c.customer_id, count(o.order_id) AS n,
                     round(coalesce(sum(o.amount), 0), 2) AS total,
                     min(o.ordered_at) AS first, max(o.ordered_at) AS last
              FROM customers c LEFT JOIN orders o ON o.customer_id = c.customer_id
              WHERE {only("c.customer_id")} GROUP BY c.customer_id) AS s
        WHERE customers.customer_id = s.customer_id
          AND (customers.order_count IS NOT s.n OR customers.total_spent IS NOT s.total
               OR customers.first_order_at IS NOT s.first OR customers.last_order_at IS NOT s.last)
        """
    )
    _refresh_birth_md(db, only("customer_id"))
    _refresh_avg_gap(db)
    purchase_days.refresh(db, ids_table)


def _refresh_birth_md(db: sqlite_utils.Database, where: str) -> None:
    md = "CASE WHEN birthday IS NULL THEN NULL ELSE substr(birthday, 6, 5) END"
    db.execute(f"UPDATE customers SET birth_md = {md} WHERE {where} AND birth_md IS NOT {md}")


def _refresh_avg_gap(db: sqlite_utils.Database) -> None:
    # The sum of a customer's consecutive gaps is last - first, so no window is needed.
    days, gaps = db.execute(
        "SELECT sum(julianday(last_order_at) - julianday(first_order_at)), sum(order_count - 1) "
        "FROM customers WHERE order_count >= 2"
    ).fetchone()
    if gaps:
        value = f"{days / gaps:.2f}"
        if get_meta(db, "avg_gap_days") != value:  # a re-import rewrites nothing
            set_meta(db, "avg_gap_days", value)
    else:
        db.execute("DELETE FROM meta WHERE key = 'avg_gap_days'")


def _refresh_amounts(db: sqlite_utils.Database, where: str) -> None:
    db.execute(
        f"""
        UPDATE orders SET amount = s.total
        FROM (SELECT o.order_id,
                     max(0, round(coalesce(sum(l.amount), 0) - o.refunded, 2)) AS total
              FROM orders o LEFT JOIN order_lines l ON l.order_id = o.order_id
              WHERE {where} GROUP BY o.order_id) AS s
        WHERE orders.order_id = s.order_id AND orders.amount IS NOT s.total
        """
    )


# --- public API --------------------------------------------------------------------------------


def import_customers(
    db: sqlite_utils.Database,
    path: Path | str,
    *,
    mapping: Mapping[str, str] | None = None,
    skip_bad: bool = False,
    rejects: Path | str | None = None,
    encoding: str | None = None,
    progress: Progress | None = None,
    max_amount: float | None = None,
    delimiter: str | None = None,
) -> ImportResult:
    """Upsert customers by ``customer_id``; only the file's columns are updated.

    Call outside any open transaction: the import manages its own (see the module doc).

    Raises CsvFileError (file unusable) or BadRowsError (bad rows, ``skip_bad`` off: nothing
    written). With ``skip_bad`` the good rows are imported and the bad ones written to
    ``rejects`` (default ``NAME.rejects.csv`` next to the file).
    """
    result = _run(
        db,
        Kind.CUSTOMERS,
        path,
        _merge_customers,
        mapping=mapping,
        skip_bad=skip_bad,
        rejects=rejects,
        encoding=encoding,
        progress=progress,
        max_amount=max_amount,
        delimiter=delimiter,
    )
    _fill_search_keys(db)
    return result


def import_orders(
    db: sqlite_utils.Database,
    path: Path | str,
    *,
    mapping: Mapping[str, str] | None = None,
    skip_bad: bool = False,
    rejects: Path | str | None = None,
    encoding: str | None = None,
    progress: Progress | None = None,
    translate: Translate | None = None,
    max_amount: float | None = None,
    delimiter: str | None = None,
) -> ImportResult:
    """Upsert orders and their lines (one CSV row per line), creating unknown customers.

    Each order named in the file is replaced by the file's lines (keyed by their ordinal within
    the order). Products are upserted from the lines. Derived columns are refreshed for every
    customer involved. Cancelled, unpaid and refunded orders are kept apart (see
    ``store.order_status``). ``translate`` reads a platform's export (``core.formats``).
    Errors as for :func:`import_customers`.
    """
    result = _run(
        db,
        Kind.ORDERS,
        path,
        _merge_orders,
        mapping=mapping,
        skip_bad=skip_bad,
        rejects=rejects,
        encoding=encoding,
        progress=progress,
        translate=translate,
        max_amount=max_amount,
        delimiter=delimiter,
    )
    _fill_search_keys(db)
    return result


def _fill_search_keys(db: sqlite_utils.Database) -> None:
    """The new and renamed customers' pinyin search keys, right after the import committed
    (in batches of their own, so agents are never held up), so the first find after an
    import does not compute them (2.7 s at 200k customers)."""
    from tui_agent.store.customers import fill_search_keys

    fill_search_keys(db)


def import_products(
    db: sqlite_utils.Database,
    path: Path | str,
    *,
    mapping: Mapping[str, str] | None = None,
    skip_bad: bool = False,
    rejects: Path | str | None = None,
    encoding: str | None = None,
    progress: Progress | None = None,
    max_amount: float | None = None,
    delimiter: str | None = None,
) -> ImportResult:
    """Upsert products by ``sku`` (name, category, cycle_days, related_sku)."""
    return _run(
        db,
        Kind.PRODUCTS,
        path,
        _merge_products,
        mapping=mapping,
        skip_bad=skip_bad,
        rejects=rejects,
        encoding=encoding,
        progress=progress,
        max_amount=max_amount,
        delimiter=delimiter,
    )
