"""The days each customer bought each product, kept as derived data (``purchase_days``).

The replenish rule's own cycle (``core.kinds.replenish``) needs, for the products of a
customer's last order, the distinct days the customer bought that product: "the same
product" is the sku, else the category (``'sku:' || sku``, else
``'cat:' || lower(trim(category))``; a line with neither is no product). Grouping every
customer's whole history for that costs seconds on a big shop, on every generation; so the
days are stored, one row per (customer, product) bought on at least two distinct days (an
own cycle needs two at the very least), with the days ascending and comma separated, and
generation reads the few rows of the customers it looks at (``store.facts``).

Kept by the orders import (:func:`after_orders_import`, inside its transaction) and by
``importer.refresh_derived`` (:func:`refresh`): every path that adds, moves or removes
orders or lines goes through one of them. Orders written some other way need
``refresh_derived`` afterwards, as the customers' derived columns do.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator

import sqlite_utils

from tui_agent.store.order_figures import ScratchThread, scratch_files

# Over this share of the customers, one pass over every line is cheaper than
# reading the customers' histories one by one (measured: ~1.4 us a line for the pass,
# ~3.4 us a line of the customers' histories).
_WHOLE_SHARE = 0.35

_PRODUCT = "CASE WHEN sku IS NULL THEN lower(trim(category)) END"


def _grouped(source: str) -> str:
    """Each (customer, sku, else normalised category) of ``source`` (rows of customer_id,
    ordered_at, sku, category) with two lines or more, and those lines' order times."""
    return (
        f"SELECT customer_id, sku, {_PRODUCT}, group_concat(ordered_at) FROM ({source}) "
        "WHERE coalesce(sku, category) IS NOT NULL "
        f"GROUP BY customer_id, sku, {_PRODUCT} HAVING count(*) >= 2"
    )


def _rows(
    execute: Callable[[str], Iterable[tuple[str, str | None, str | None, str]]], source: str
) -> Iterator[tuple[str, str, int, str]]:
    for cid, sku, category, times in execute(_grouped(source)):
        # stored times are "YYYY-MM-DD HH:MM:SS": no comma, the day is the first ten
        days = sorted({t[:10] for t in times.split(",")})
        if len(days) >= 2:
            key = f"sku:{sku}" if sku is not None else f"cat:{category}"
            yield (cid, key, len(days), ",".join(days))


_INSERT = "INSERT INTO purchase_days (customer_id, product_key, n_days, days) VALUES (?, ?, ?, ?)"


def _insert(db: sqlite_utils.Database, source: str) -> None:
    db.conn.executemany(_INSERT, list(_rows(db.execute, source)))


_ALL_LINES = (
    # lines first: one pass in their order, each order found by its key
    "SELECT o.customer_id, o.ordered_at, l.sku, l.category "
    "FROM order_lines l CROSS JOIN orders o ON o.order_id = l.order_id"
)


def rebuild(db: sqlite_utils.Database) -> None:
    """Every customer's rows from the orders (a migration, ``refresh_derived()``)."""
    db.execute("DELETE FROM purchase_days")
    _insert(db, _ALL_LINES)


def refresh(db: sqlite_utils.Database, ids_table: str | None) -> None:
    """The rows of the customers listed in the temp table ``ids_table`` (a ``customer_id``
    column; None: every customer), from their orders as they are now. Cost: the customers'
    histories, or one pass over every line when they are most of the shop."""
    if ids_table is None:
        rebuild(db)
        return
    # the customers' rowids stand in for their count (one index step, not a scan)
    n, customers = db.execute(
        f"SELECT (SELECT count(*) FROM {ids_table}), (SELECT max(rowid) FROM customers)"
    ).fetchone()
    if n > _WHOLE_SHARE * (customers or 0):
        rebuild(db)
        return
    db.execute(
        f"DELETE FROM purchase_days WHERE customer_id IN (SELECT customer_id FROM {ids_table})"
    )
    _insert(
        db,
        # LEFT JOIN: an inner join makes SQLite build a bloom filter over every line first
        # (50 ms at 1M lines); an order without lines gives a row with neither sku nor
        # category, which does not count
        "SELECT o.customer_id, o.ordered_at, l.sku, l.category "
        f"FROM {ids_table} i CROSS JOIN orders o ON o.customer_id = i.customer_id "
        "LEFT JOIN order_lines l ON l.order_id = o.order_id",
    )


def refresh_customers(db: sqlite_utils.Database, customer_ids: Iterable[str]) -> None:
    """:func:`refresh` for the given customers."""
    db.execute("DROP TABLE IF EXISTS temp._pd_ids")
    db.execute("CREATE TEMP TABLE _pd_ids (customer_id TEXT PRIMARY KEY)")
    try:
        db.conn.executemany(
            "INSERT OR IGNORE INTO _pd_ids VALUES (?)", ((c,) for c in customer_ids)
        )
        refresh(db, "temp._pd_ids")
    finally:
        db.execute("DROP TABLE IF EXISTS temp._pd_ids")


# The staged lines, as the first load's pass reads them (``_stage`` in the ``stage`` scratch).
_STAGED = "SELECT customer_id, ordered_at, sku, category FROM _stage"
DAYS_CACHE_KB = 8192  # the thread's page cache, which also sizes its sort of the lines


def start(db: sqlite_utils.Database) -> ScratchThread | None:
    """The first load's pass over the staged lines in a thread of its own (its own
    connection, into the ``days`` scratch file, table ``_pd``) while the merge writes, or None
    when the staged lines are not in a scratch file. Start it only when the merge will not
    change ``_stage``; :func:`after_orders_import` joins it."""
    files = scratch_files(db)
    if not files.get("stage") or not files.get("days"):
        return None
    if not db.execute(
        "SELECT EXISTS (SELECT 1 FROM stage.sqlite_master WHERE name = '_stage')"
    ).fetchone()[0]:
        return None

    def work(conn: sqlite3.Connection, ready: Callable[[], None]) -> None:
        conn.execute(
            "CREATE TABLE _pd (customer_id TEXT, product_key TEXT, n_days INTEGER, days TEXT)"
        )
        conn.executemany("INSERT INTO _pd VALUES (?, ?, ?, ?)", _rows(conn.execute, _STAGED))

    return ScratchThread(
        "purchase-days", files["days"], {"stage": files["stage"]}, work, DAYS_CACHE_KB
    )


def after_orders_import(
    db: sqlite_utils.Database,
    *,
    first_load: bool,
    affected: str,
    thread: ScratchThread | None = None,
) -> None:
    """Inside the orders import, once its orders and lines are written. ``first_load``: the
    database had no order before, and ``_stage`` (rows of customer_id, ordered_at, sku,
    category) holds exactly the lines now in ``order_lines``: one grouping pass over them,
    without joining the orders, done by ``thread`` (:func:`start`) when it succeeded.
    Otherwise the customers of the temp table ``affected`` (every customer whose orders the
    file added, changed or took away) are recomputed."""
    done = thread is not None and thread.join()
    if first_load:
        db.execute("DELETE FROM purchase_days")
        if done:
            db.execute(
                "INSERT INTO purchase_days (customer_id, product_key, n_days, days) "
                "SELECT customer_id, product_key, n_days, days FROM days._pd"
            )
        else:
            _insert(db, _STAGED)
    else:
        refresh(db, affected)
