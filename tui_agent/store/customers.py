"""Finding a customer and reading their whole page.

:func:`find_customers` looks a query up by customer id, phone (full, or its last digits),
WeChat id, name (substring), and the name's pinyin or initials. Exact keys use indexes (the
primary key, ``substr(phone, -4)``, ``wechat``); name, pinyin and initials are one scan with
``LIKE`` (a substring cannot use a b-tree for lookups) of a covering index that holds just
those columns (at 200k customers: about 50 ms, against 120 ms for the table itself).

The pinyin and initials live in ``customers.search_pinyin`` / ``search_initials``, computed in
Python (``core.customer_page.search_keys``: ``core.search``'s pinyin once per distinct
character, surnames read as surnames) for rows where they are NULL: new customers, and renamed
ones (a trigger clears them when the name changes). The first find after an import fills them
(:func:`fill_search_keys`, about 2.7 s of CPU for 200k customers), a batch per transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import sqlite_utils

from tui_agent.core.customer_page import (
    MATCH_RANKS,
    CustomerHit,
    CustomerPage,
    digits,
    name_syllables,
    phone_matches,
    search_keys,
)
from tui_agent.core.dates import from_db_datetime
from tui_agent.store import followups, outcomes, queries
from tui_agent.store import predictions as btyd_cache
from tui_agent.store.db import retry_busy, write_tx

DEFAULT_LIMIT = 20
_FILL_BATCH = 20_000
_FILL_CACHE_KIB = 64 * 1024
_PHONE_CHARS = frozenset("0123456789 -+()")
Params = list[Any] | dict[str, Any]
_HIT_COLS = "customer_id, name, phone, wechat, tier, opt_out, order_count, last_order_at"


# ---------------------------------------------------------------------------------------------
# Search keys


def pending_search_keys(db: sqlite_utils.Database) -> int:
    """How many customers still lack their search keys (an index lookup)."""
    row = db.execute("SELECT count(*) FROM customers WHERE search_pinyin IS NULL").fetchone()
    return int(row[0])


def fill_search_keys(db: sqlite_utils.Database, *, batch: int = _FILL_BATCH) -> int:
    """Compute the pinyin and initials of every customer that lacks them. Returns how many.

    One transaction per ``batch`` rows (a fraction of a second each), so agents logging
    touches meanwhile are never held up for long. A read-only database is left as it is (the
    search then misses pinyin).
    """
    # Each key moves its row's entry in idx_customers_search: with SQLite's default 2 MB page
    # cache the index pages are written out again batch after batch (200k customers: 9 s);
    # a bigger cache for the fill keeps them in memory (4 s). Restored afterwards.
    cache = db.execute("PRAGMA cache_size").fetchone()[0]
    db.execute(f"PRAGMA cache_size = {-_FILL_CACHE_KIB}")
    try:
        return _fill(db, batch)
    finally:
        db.execute(f"PRAGMA cache_size = {int(cache)}")


def _fill(db: sqlite_utils.Database, batch: int) -> int:
    syllable = name_syllables()
    memo: dict[str | None, tuple[str, str]] = {}  # common names come back often

    def keys(name: str | None) -> tuple[str, str]:
        found = memo.get(name)
        if found is None:
            found = memo[name] = search_keys(name, syllable)
        return found

    filled = 0
    while True:
        rows = retry_busy(
            lambda: db.execute(
                "SELECT customer_id, name FROM customers WHERE search_pinyin IS NULL LIMIT ?",
                [batch],
            ).fetchall()
        )
        if not rows:
            return filled
        values = [(*keys(name), cid) for cid, name in rows]
        try:
            with write_tx(db):
                # Only rows still NULL: a rename since the read cleared them again, and the
                # next batch computes the new name.
                db.conn.executemany(
                    "UPDATE customers SET search_pinyin = ?, search_initials = ? "
                    "WHERE customer_id = ? AND search_pinyin IS NULL",
                    values,
                )
        except sqlite3.OperationalError as exc:
            if "readonly" in str(exc) or "read-only" in str(exc):
                return filled
            raise
        filled += len(rows)


# ---------------------------------------------------------------------------------------------
# Finding


def _hit(row: Sequence[Any], matched: str) -> CustomerHit:
    cid, name, phone, wechat, tier, opt_out, order_count, last_order_at = row[:8]
    return CustomerHit(
        customer_id=cid,
        name=name,
        phone=phone,
        wechat=wechat,
        tier=tier,
        opt_out=bool(opt_out),
        order_count=int(order_count or 0),
        last_order_at=from_db_datetime(last_order_at),
        matched=matched,
        rank=MATCH_RANKS[matched],
    )


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def find_customers(
    db: sqlite_utils.Database, query: str, limit: int = DEFAULT_LIMIT
) -> list[CustomerHit]:
    """Customers matching ``query``, best first.

    Order: exact customer id, exact phone (separators and +86 ignored), exact WeChat id, exact
    name, id prefix, phone tail (the last 4 or more digits), name prefix, pinyin (full, from
    the start: ``wangf``), initials (``wf``), then substrings of name, pinyin and initials.
    Within one rank, customers with more orders come first. An empty query finds nothing.
    """
    q = query.strip()
    if not q or limit <= 0:
        return []
    if pending_search_keys(db):
        fill_search_keys(db)
    found: dict[str, CustomerHit] = {}

    def add(rows: Sequence[Sequence[Any]], matched: str) -> None:
        for row in rows:
            hit = _hit(row, matched)
            old = found.get(hit.customer_id)
            if old is None or hit.rank < old.rank:
                found[hit.customer_id] = hit

    def run(sql: str, params: Params) -> list[Any]:
        return retry_busy(lambda: db.execute(sql, params).fetchall())

    add(run(f"SELECT {_HIT_COLS} FROM customers WHERE customer_id = ?", [q]), "id")
    add(run(f"SELECT {_HIT_COLS} FROM customers WHERE wechat = ?", [q]), "wechat")
    if "*" not in q and "?" not in q and "[" not in q:
        # GLOB with a literal prefix is a range on the primary key index.
        add(
            run(
                f"SELECT {_HIT_COLS} FROM customers WHERE customer_id GLOB ? "
                "ORDER BY order_count DESC LIMIT ?",
                [q + "*", limit + 1],
            ),
            "id_prefix",
        )
    phone_like = set(q) <= _PHONE_CHARS
    qd = digits(q)
    if phone_like and len(qd) >= 4:
        for row in run(f"SELECT {_HIT_COLS} FROM customers WHERE substr(phone, -4) = ?", [qd[-4:]]):
            matched = phone_matches(row[2], qd)
            if matched:
                add([row], matched)
    # An exact id or WeChat id is what the agent meant: no scan of every name for more.
    exact = any(h.matched in ("id", "wechat") for h in found.values())
    if not phone_like and not exact:
        add_scan(run, add, q, limit)
    hits = sorted(found.values(), key=lambda h: (h.rank, -h.order_count, h.customer_id))
    return hits[:limit]


def add_scan(
    run: Callable[[str, Params], list[Any]],
    add: Callable[[Sequence[Sequence[Any]], str], None],
    q: str,
    limit: int,
) -> None:
    """Name, pinyin and initials: one scan, ranked in SQL so only ``limit`` rows come back."""
    py = "".join(c for c in q.lower() if c not in " '’-")
    use_py = bool(py) and py.isascii() and py.isalnum()
    ranks = ["name", "name_prefix", "pinyin", "initials", "name_part"]
    cases = ["WHEN name = :q THEN 0", "WHEN name LIKE :qp ESCAPE '\\' THEN 1"]
    where = ["name LIKE :qs ESCAPE '\\'"]
    if use_py:
        cases += [
            "WHEN search_pinyin LIKE :pp ESCAPE '\\' THEN 2",
            "WHEN search_initials LIKE :pp ESCAPE '\\' THEN 3",
        ]
        ranks += ["pinyin_part", "initials_part"]
        if len(py) > 1:  # one letter matches the start of a pinyin or initials only
            cases += [
                "WHEN search_pinyin LIKE :ps ESCAPE '\\' THEN 5",
                "WHEN search_initials LIKE :ps ESCAPE '\\' THEN 6",
            ]
            where += ["search_pinyin LIKE :ps ESCAPE '\\'", "search_initials LIKE :ps ESCAPE '\\'"]
        else:
            where += ["search_pinyin LIKE :pp ESCAPE '\\'", "search_initials LIKE :pp ESCAPE '\\'"]
    cases.append("ELSE 4")
    # Every column here is in idx_customers_search: the scan reads that narrow index, not
    # the wide table rows (about 2.5x faster); the hits' details come by rowid after.
    sql = (
        f"SELECT rowid, CASE {' '.join(cases)} END AS r FROM customers "
        f"WHERE {' OR '.join(where)} ORDER BY r, order_count DESC, rowid LIMIT :limit"
    )
    params = {
        "q": q,
        "qp": _like(q) + "%",
        "qs": "%" + _like(q) + "%",
        "pp": _like(py) + "%",
        "ps": "%" + _like(py) + "%",
        "limit": limit,
    }
    found = {rowid: ranks[r] for rowid, r in run(sql, params)}
    if not found:
        return
    marks = ",".join("?" * len(found))
    for row in run(f"SELECT {_HIT_COLS}, rowid FROM customers WHERE rowid IN ({marks})", [*found]):
        add([row], found[row[8]])


# ---------------------------------------------------------------------------------------------
# The customer page


def customer_page(
    db: sqlite_utils.Database, customer_id: str, today: date, *, with_segment: bool = True
) -> CustomerPage | None:
    """Everything about one customer, or None when there is no such customer.

    Every order with its lines, every touch with its outcome and any retraction, the open
    follow-ups, the customer's events (opt-out/opt-in, notes). ``with_segment`` scores the
    RFM segment (the first call of the day scores the whole base: about a second on 200k
    customers; the console passes False and fills it from its slow connection).
    """
    customer = queries.get_customer(db, customer_id)
    if customer is None:
        return None
    row = db.execute("SELECT notes FROM customers WHERE customer_id = ?", [customer_id]).fetchone()
    orders = queries.orders_for_customer(db, customer_id, limit=-1)
    touches = outcomes.touch_records(db, customer_id)
    follow_ups = followups.open_follow_ups_for(db, customer_id)
    events = [e for e in outcomes.events_for_customer(db, customer_id) if e.touch_id is None]
    segment = None
    if with_segment:
        from tui_agent.store.analytics import segment_of

        segment = segment_of(db, customer_id, today)
    prediction = btyd_cache.predictions_for(db, customer_id)
    return CustomerPage(
        customer=customer,
        notes=row[0] if row else None,
        orders=tuple(orders),
        touches=tuple(touches),
        follow_ups=tuple(follow_ups),
        segment=segment,
        events=tuple(events),
        predictions=prediction,
        prediction_missing=(
            None if prediction is not None else btyd_cache.missing_reason(db, customer_id)
        ),
    )
