"""Opening the shop database: pragmas, schema version, forward migrations, write transactions.

This module and its siblings in ``store`` are the only code that speaks SQL.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import sqlite_utils

SCHEMA_VERSION = 14
MMAP_BYTES = 1 << 30
BUSY_TIMEOUT_MS = 5000
T = TypeVar("T")


class DatabaseError(Exception):
    """A database that cannot be used: not SQLite, newer schema, read-only, ..."""


def _clean_imported_text(db: sqlite_utils.Database) -> None:
    """Apply core.safetext.clean_cell to the imported text columns (one scan per column;
    only rows holding a control character are rewritten)."""
    from tui_agent.core.safetext import BIDI, clean_cell

    chars = "".join(chr(c) for c in range(1, 0xA0) if c < 0x20 or c >= 0x7F)
    pattern = f"*[{chars}\u2028\u2029{BIDI}]*"
    columns = {
        "customers": ("name", "phone", "email", "wechat", "tier", "tags"),
        "products": ("name", "category"),
        "order_lines": ("product", "category"),
        "order_lines_excluded": ("product", "category"),
        "follow_up_reasons": ("text", "product", "category"),
    }
    for table, cols in columns.items():
        for col in cols:
            rows = db.execute(
                f"SELECT rowid, {col} FROM {table} WHERE {col} GLOB ?", [pattern]
            ).fetchall()
            db.conn.executemany(
                f"UPDATE {table} SET {col} = ? WHERE rowid = ?",
                [(clean_cell(text).strip(), rowid) for rowid, text in rows],
            )


def _purchase_days(db: sqlite_utils.Database) -> None:
    from tui_agent.store import purchase_days

    db.execute(
        """
        CREATE TABLE purchase_days (
            customer_id TEXT NOT NULL,
            product_key TEXT NOT NULL,  -- 'sku:' || sku, else 'cat:' || lower(trim(category))
            n_days INTEGER NOT NULL,    -- distinct order days, at least 2
            days TEXT NOT NULL,         -- those days, YYYY-MM-DD, ascending, comma separated
            PRIMARY KEY (customer_id, product_key)
        ) WITHOUT ROWID
        """
    )
    db.execute("CREATE INDEX idx_purchase_days_n ON purchase_days(n_days)")
    purchase_days.rebuild(db)


# Each migration takes the database from version N-1 to N. Append, never edit.
# A migration is SQL, or a function for what SQL cannot say; either runs inside the
# migration's transaction.
MIGRATIONS: list[str | Callable[[sqlite_utils.Database], None]] = [
    # 1: the first schema
    """
    CREATE TABLE customers (
        customer_id TEXT PRIMARY KEY,
        name TEXT,
        phone TEXT,
        email TEXT,
        wechat TEXT,
        birthday TEXT,            -- YYYY-MM-DD (year may be 0000 when unknown)
        birth_md TEXT,            -- MM-DD, indexed for the birthday rule
        tier TEXT,
        points INTEGER,
        opt_out INTEGER NOT NULL DEFAULT 0,
        tags TEXT,                -- comma separated
        language TEXT NOT NULL DEFAULT 'zh',
        order_count INTEGER NOT NULL DEFAULT 0,
        total_spent REAL NOT NULL DEFAULT 0,
        first_order_at TEXT,
        last_order_at TEXT,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%S', 'now'))
    );
    CREATE INDEX idx_customers_last_order ON customers(last_order_at);
    CREATE INDEX idx_customers_birth_md ON customers(birth_md);

    CREATE TABLE products (
        sku TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        category TEXT,
        cycle_days INTEGER,       -- repurchase cycle; NULL = category default
        related_sku TEXT
    );

    CREATE TABLE orders (
        order_id TEXT PRIMARY KEY,
        customer_id TEXT NOT NULL REFERENCES customers(customer_id),
        ordered_at TEXT NOT NULL,
        shipped_at TEXT,
        delivered_at TEXT,
        amount REAL NOT NULL DEFAULT 0,   -- sum of the lines
        seq INTEGER NOT NULL DEFAULT 0    -- the customer's nth order, 1-based
    );
    CREATE INDEX idx_orders_customer ON orders(customer_id, ordered_at);
    CREATE INDEX idx_orders_delivered ON orders(delivered_at);
    CREATE INDEX idx_orders_ordered ON orders(ordered_at);

    CREATE TABLE order_lines (
        order_id TEXT NOT NULL REFERENCES orders(order_id),
        line_no INTEGER NOT NULL,
        sku TEXT,
        product TEXT,
        category TEXT,
        quantity INTEGER NOT NULL DEFAULT 1,
        amount REAL NOT NULL,
        PRIMARY KEY (order_id, line_no)
    );
    CREATE INDEX idx_order_lines_sku ON order_lines(sku);

    CREATE TABLE follow_ups (
        id INTEGER PRIMARY KEY,
        customer_id TEXT NOT NULL REFERENCES customers(customer_id),
        stage TEXT NOT NULL,
        rule TEXT NOT NULL,
        suggested_tags TEXT NOT NULL DEFAULT '',   -- comma separated
        due_date TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending', 'done', 'skipped', 'snoozed', 'cancelled')),
        status_reason TEXT,
        snoozed_until TEXT,
        claimed_by TEXT,
        claimed_at TEXT,
        order_id TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX idx_follow_ups_status_due ON follow_ups(status, due_date);
    CREATE INDEX idx_follow_ups_customer ON follow_ups(customer_id, status);

    CREATE TABLE follow_up_reasons (
        key TEXT PRIMARY KEY,       -- one rule occurrence; makes generation idempotent
        follow_up_id INTEGER NOT NULL REFERENCES follow_ups(id),
        rule TEXT NOT NULL,
        text TEXT NOT NULL,
        order_id TEXT
    );
    CREATE INDEX idx_follow_up_reasons_fu ON follow_up_reasons(follow_up_id);

    CREATE TABLE touches (
        id INTEGER PRIMARY KEY,
        agent TEXT NOT NULL,
        customer_id TEXT NOT NULL REFERENCES customers(customer_id),
        follow_up_id INTEGER REFERENCES follow_ups(id),
        phrase_id TEXT,
        stage TEXT,
        text TEXT NOT NULL,
        channel TEXT NOT NULL DEFAULT 'clipboard',
        at TEXT NOT NULL,
        outcome TEXT
    );
    CREATE INDEX idx_touches_customer_at ON touches(customer_id, at);
    CREATE INDEX idx_touches_at ON touches(at);
    CREATE INDEX idx_touches_agent_phrase ON touches(agent, phrase_id, at);
    -- Touches are append-only: a correction is a new row.
    CREATE TRIGGER touches_no_update BEFORE UPDATE ON touches
        BEGIN SELECT RAISE(ABORT, 'touches are append-only'); END;
    CREATE TRIGGER touches_no_delete BEFORE DELETE ON touches
        BEGIN SELECT RAISE(ABORT, 'touches are append-only'); END;

    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT
    );
    """,
    # 2: stats read every order once per customer; with the amount in the index that pass
    # never touches the table (about 3x faster at 1M orders). idx_orders_customer stays for
    # code and plans that name it.
    """
    CREATE INDEX idx_orders_customer_amount ON orders(customer_id, ordered_at, amount);
    """,
    # 3: a replenishment reason names the product (and category) it is about, so the phrase
    # is filled with that product rather than the order's biggest line.
    """
    ALTER TABLE follow_up_reasons ADD COLUMN product TEXT;
    ALTER TABLE follow_up_reasons ADD COLUMN category TEXT;
    """,
    # 4: idx_orders_customer (customer_id, ordered_at) is a prefix of migration 2's covering
    # index, which serves every query it served; one index less to build on each import.
    """
    DROP INDEX IF EXISTS idx_orders_customer;
    """,
    # 5: campaigns (store/campaigns.py): a named outreach and its members. A member of the
    # contact group becomes a follow-up of stage 'campaign' on the day it is worked; the
    # holdout group is recorded and never contacted.
    """
    CREATE TABLE campaigns (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        phrase_id TEXT NOT NULL,
        audience TEXT NOT NULL,          -- JSON of core.campaigns.Audience
        holdout_pct REAL NOT NULL,
        seed TEXT NOT NULL,
        start_date TEXT NOT NULL,
        per_day INTEGER,                 -- NULL: no daily limit
        status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'ended')),
        created_by TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE campaign_members (
        campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
        customer_id TEXT NOT NULL REFERENCES customers(customer_id),
        grp TEXT NOT NULL CHECK (grp IN ('contact', 'holdout')),
        state TEXT NOT NULL
            CHECK (state IN ('waiting', 'capped', 'scheduled', 'opted_out', 'holdout', 'ended')),
        reason TEXT,                     -- why a capped member waits
        follow_up_id INTEGER REFERENCES follow_ups(id),
        position INTEGER NOT NULL,       -- order of work: most valuable first
        added_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (campaign_id, customer_id)
    );
    CREATE INDEX idx_campaign_members_state ON campaign_members(campaign_id, state, position);
    CREATE INDEX idx_campaign_members_fu ON campaign_members(follow_up_id);
    """,
    # 6: order status. `orders` holds the purchases only (paid, partially_refunded; a partial
    # refund is subtracted from the amount); cancelled, unpaid and fully refunded orders are
    # kept apart in orders_excluded with their lines, so no query that reads `orders` (the
    # lifecycle, stats, RFM, LTV, attribution) ever counts them. A re-import moves an order
    # between the two when its status changes.
    """
    ALTER TABLE orders ADD COLUMN status TEXT NOT NULL DEFAULT 'paid';
    ALTER TABLE orders ADD COLUMN refunded REAL NOT NULL DEFAULT 0;
    CREATE TABLE orders_excluded (
        order_id TEXT PRIMARY KEY,
        customer_id TEXT NOT NULL,
        ordered_at TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('cancelled', 'unpaid', 'refunded')),
        amount REAL NOT NULL DEFAULT 0
    );
    CREATE TABLE order_lines_excluded (
        order_id TEXT NOT NULL,
        line_no INTEGER NOT NULL,
        sku TEXT,
        product TEXT,
        category TEXT,
        quantity INTEGER NOT NULL DEFAULT 1,
        amount REAL NOT NULL,
        PRIMARY KEY (order_id, line_no)
    );
    """,
    # 7: the whole repurchase calendar: lunar birthdays (looked up by lunar month-day),
    # periodic upkeep (customers by first order), deferrals under the daily capacity, and the
    # flag that a reason's delivery date is assumed (the order had no delivery time).
    """
    ALTER TABLE customers ADD COLUMN lunar_birthday TEXT;
    CREATE INDEX idx_customers_lunar_birthday ON customers(lunar_birthday);
    CREATE INDEX idx_customers_first_order ON customers(first_order_at);
    ALTER TABLE follow_ups ADD COLUMN deferrals INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE follow_up_reasons ADD COLUMN delivery_assumed INTEGER NOT NULL DEFAULT 0;
    """,
    # 8: cached analytics, refreshed after imports and when the day changes (never on the
    # console's first paint): the BTYD fit (one row per fit kind, JSON parameters), each
    # customer's predictions from it, and each customer's stored RFM segment.
    """
    CREATE TABLE IF NOT EXISTS model_fits (
        kind TEXT PRIMARY KEY,        -- 'btyd'
        as_of TEXT NOT NULL,          -- the day the fit describes (YYYY-MM-DD)
        fingerprint TEXT NOT NULL,    -- the orders it was fitted on (count, max rowid, total)
        fitted_at TEXT NOT NULL,
        body TEXT NOT NULL            -- JSON: parameters, thresholds, what is missing
    );
    CREATE TABLE IF NOT EXISTS customer_predictions (
        customer_id TEXT PRIMARY KEY,
        p_alive REAL NOT NULL,
        expected_purchases_90d REAL NOT NULL,
        expected_purchases_365d REAL NOT NULL,
        expected_order_value REAL,
        clv_365d REAL,
        predicted_next_order TEXT      -- YYYY-MM-DD, NULL when more likely gone than not
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS idx_customer_predictions_p_alive
        ON customer_predictions(p_alive);
    CREATE TABLE IF NOT EXISTS customer_segments (
        customer_id TEXT PRIMARY KEY,
        segment TEXT NOT NULL,
        r INTEGER NOT NULL,
        f INTEGER NOT NULL,
        m INTEGER NOT NULL
    ) WITHOUT ROWID;
    """,
    # 9: text imported before control characters were cleaned at the door (core.safetext)
    # is cleaned the same way, so no screen shows an escape sequence from an old import.
    # Ids are left alone (they key other rows; touches are append-only).
    _clean_imported_text,
    # 10: agent logins for `tui-agent serve` (store/agents.py); the password is a salted scrypt
    # hash (core/passwords.py). A disabled agent keeps its row: touches name it.
    """
    CREATE TABLE IF NOT EXISTS agents (
        name TEXT PRIMARY KEY,
        display_name TEXT,
        password_hash TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    """,
    # 11: the customer desk. Touches stay append-only: an outcome, a retraction, an opt-out or
    # opt-in and a note are rows of touch_events (touch_id NULL for customer events). A touch
    # answering the customer's own message is marked reply (not proactive: outside the cap).
    # Finding customers: the name's pinyin and initials (filled lazily by store.customers,
    # NULL = not computed; the trigger marks a renamed customer for recomputing) in a covering
    # index the name search scans (it also finds the NULLs), the last four characters of the
    # phone and the WeChat id indexed.
    """
    CREATE TABLE touch_events (
        id INTEGER PRIMARY KEY,
        customer_id TEXT NOT NULL REFERENCES customers(customer_id),
        touch_id INTEGER REFERENCES touches(id),
        kind TEXT NOT NULL,       -- outcome | retract | opt_out | opt_in | note
        value TEXT,               -- the outcome name
        note TEXT,                -- free text: the outcome's note, the reason
        agent TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX idx_touch_events_touch ON touch_events(touch_id, kind);
    CREATE INDEX idx_touch_events_customer ON touch_events(customer_id, at);
    CREATE TRIGGER touch_events_no_update BEFORE UPDATE ON touch_events
        BEGIN SELECT RAISE(ABORT, 'touch events are append-only'); END;
    CREATE TRIGGER touch_events_no_delete BEFORE DELETE ON touch_events
        BEGIN SELECT RAISE(ABORT, 'touch events are append-only'); END;
    ALTER TABLE touches ADD COLUMN reply INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE customers ADD COLUMN notes TEXT;
    ALTER TABLE customers ADD COLUMN search_pinyin TEXT;
    ALTER TABLE customers ADD COLUMN search_initials TEXT;
    CREATE INDEX idx_customers_phone_tail ON customers(substr(phone, -4));
    CREATE INDEX idx_customers_wechat ON customers(wechat);
    CREATE INDEX idx_customers_search
        ON customers(search_pinyin, search_initials, name, order_count);
    CREATE TRIGGER customers_rename_search AFTER UPDATE OF name ON customers
        WHEN new.name IS NOT old.name
        BEGIN
            UPDATE customers SET search_pinyin = NULL, search_initials = NULL
            WHERE customer_id = new.customer_id;
        END;
    """,
    # 12: the days each customer bought each product (store/purchase_days.py), for the
    # replenish rule's own cycle; kept by the orders import, filled here from the orders.
    _purchase_days,
    # 13: where an open follow-up may have gone stale since the last check (store/stale.py):
    # the customers whose opt-out, orders or open follow-ups changed, a row each time (no
    # key: a trigger's INSERT OR IGNORE would take the conflict policy of an upsert that
    # fires it). NULL: an order was deleted and a new one could take its rowid, so the next
    # check looks at everything. No trigger watches the customers' figures: an import
    # writes 200k of them at 1.5 us a row; the check finds new orders by their rowid.
    """
    CREATE TABLE stale_check (customer_id TEXT);
    CREATE TRIGGER stale_check_opt_out AFTER UPDATE OF opt_out ON customers
        WHEN new.opt_out AND NOT old.opt_out
        BEGIN
            INSERT INTO stale_check VALUES (new.customer_id);
        END;
    CREATE TRIGGER stale_check_order AFTER UPDATE OF ordered_at, customer_id, status ON orders
        WHEN new.ordered_at IS NOT old.ordered_at OR new.customer_id IS NOT old.customer_id
            OR new.status IS NOT old.status
        BEGIN
            INSERT INTO stale_check VALUES (old.customer_id);
            INSERT INTO stale_check SELECT new.customer_id
                WHERE new.customer_id IS NOT old.customer_id;
        END;
    CREATE TRIGGER stale_check_order_deleted AFTER DELETE ON orders
        BEGIN
            INSERT INTO stale_check VALUES (NULL);
        END;
    CREATE TRIGGER stale_check_follow_up AFTER UPDATE OF status, customer_id ON follow_ups
        WHEN new.status IN ('pending', 'snoozed') AND (old.status NOT IN ('pending', 'snoozed')
            OR new.customer_id IS NOT old.customer_id)
        BEGIN
            INSERT INTO stale_check VALUES (new.customer_id);
        END;
    """,
    # 14: no query looks order lines up by sku (each statement the test suite runs was
    # explained on the 1M-line shop: only count(*) took the index), and rebuilding it was
    # 0.6 s of a 1M-line import's 10 s.
    "DROP INDEX IF EXISTS idx_order_lines_sku",
]
assert len(MIGRATIONS) == SCHEMA_VERSION


def _create_private_file(path: Path) -> None:
    """Create an empty file readable by its owner only (customer data)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)


def _read_only(path: Path) -> str:
    return (
        f"{path}: database is read-only (tui-agent writes follow-ups and touches: "
        "check the permissions of the file and its folder)"
    )


# The tables every tui-agent database has had since migration 1.
OUR_TABLES = frozenset({"customers", "orders", "order_lines", "follow_ups", "touches", "meta"})


def missing_database(path: Path) -> str:
    """The one line for a database file that does not exist."""
    return (
        f"{path}: no such database (create one with `tui-agent import customers FILE "
        f"--db {path}` or `tui-agent demo --db {path}`)"
    )


def describe_error(path: Path | str, exc: BaseException, doing: str = "") -> str | None:
    """One line for an SQLite or OS error that means the database cannot be used (read-only,
    disk full, corrupt, busy), or None when it is none of those."""
    msg = str(exc).lower()
    then = f": {doing}" if doing else ""
    if isinstance(exc, OSError) and exc.errno == 28:  # ENOSPC
        return f"{path}: disk full{then}"
    if not isinstance(exc, sqlite3.Error):
        return None
    if "full" in msg:
        return f"{path}: disk full (free some space and try again){then}"
    if "readonly" in msg or "read-only" in msg:
        return _read_only(Path(path)) + then
    if "malformed" in msg or "corrupt" in msg or "not a database" in msg:
        return (
            f"{path}: the database is corrupt ({exc}); restore it from a backup "
            f"(or try `sqlite3 {path} .recover`){then}"
        )
    if "locked" in msg or "busy" in msg:
        return (
            f"{path}: the database is busy: another program (an import?) holds it; "
            f"try again in a moment{then}"
        )
    if "disk i/o" in msg or "unable to open" in msg:
        return f"{path}: cannot read or write the database ({exc}){then}"
    return None


def connect(
    path: Path | str,
    *,
    create: bool = True,
    migrate: bool = True,
    check: bool = False,
    mmap: bool = True,
) -> sqlite_utils.Database:
    """Open (and if needed create and migrate) the shop database.

    ``create``: a missing file is created (only commands that bring data do that: import,
    demo). A file that is not a tui-agent database is refused untouched, unless it is empty.
    ``check``: run ``PRAGMA quick_check`` first (before an import writes; it reads the whole
    file, so commands that only read rely on SQLite reporting a damaged page it meets).
    ``mmap``: read pages through a memory map (scans: generation, imports, figures). Off
    for a console's connection: it reads few rows, and every mapped page it touches counts
    in its resident memory (the day's queue alone maps ~50 MB of a big shop's file).
    The connection runs in autocommit mode; writes go through :func:`write_tx`.
    """
    path = Path(path)
    if not path.exists():
        if not create:
            raise DatabaseError(missing_database(path))
        try:
            _create_private_file(path)
        except OSError as exc:
            raise DatabaseError(
                describe_error(path, exc) or f"{path}: {exc.strerror or exc}"
            ) from None
    conn = None
    try:
        conn = sqlite3.connect(
            path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # What the file is, before anything is written to it (WAL switch, migrations).
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables and (version < 1 or not tables >= OUR_TABLES):
            shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
            raise DatabaseError(
                f"{path}: not a tui-agent database (it holds other tables: {shown}); "
                "tui-agent leaves it untouched: give another --db"
            )
        if version > SCHEMA_VERSION:
            raise DatabaseError(
                f"{path}: schema version {version} is newer than this tui-agent understands "
                f"({SCHEMA_VERSION}); upgrade tui-agent"
            )
        if check:
            problems = [r[0] for r in conn.execute("PRAGMA quick_check(3)")]
            if problems != ["ok"]:
                raise DatabaseError(
                    f"{path}: the database is corrupt ({'; '.join(problems)[:200]}); "
                    f"restore it from a backup (or try `sqlite3 {path} .recover`); "
                    "nothing was written"
                )
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        # Read pages through a memory map instead of a read() call per page: generating a big
        # shop's day reads hundreds of thousands of pages, and the system calls were a third
        # of its CPU time. Only the address space is reserved; SQLite maps what it reads.
        conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES if mmap else 0}")
    except DatabaseError:
        if conn is not None:
            conn.close()
        raise
    except sqlite3.DatabaseError as exc:
        if conn is not None:
            conn.close()
        # Switching a WAL database on needs write access: a read-only file fails here, and
        # must be reported as read-only (a full disk as full), not as "not a database".
        known = describe_error(path, exc)
        if known is not None and "is corrupt" not in known:
            raise DatabaseError(known) from None
        raise DatabaseError(f"{path}: not a tui-agent database ({exc})") from None
    if mode.lower() != "wal" and not os.access(path, os.W_OK):
        conn.close()
        raise DatabaseError(_read_only(path))
    # No sqlite-utils plugins: tui-agent uses none, and finding them scans every installed
    # package's metadata (~12 ms of each command's start, the console's first paint too).
    db = sqlite_utils.Database(conn, execute_plugins=False)
    if migrate and version < SCHEMA_VERSION:
        _migrate(db, version)
    return db


def _migrate(db: sqlite_utils.Database, version: int) -> None:
    try:
        with write_tx(db):
            current = db.execute("PRAGMA user_version").fetchone()[0]
            # Another process may have migrated while we waited for the write lock.
            for target in range(current + 1, SCHEMA_VERSION + 1):
                migration = MIGRATIONS[target - 1]
                if callable(migration):
                    migration(db)
                else:
                    for statement in _split(migration):
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {target}")
    except sqlite3.OperationalError as exc:
        known = describe_error(db.conn.execute("PRAGMA database_list").fetchone()[2], exc)
        if known is not None:
            db.conn.close()
            raise DatabaseError(known) from None
        raise


def _split(script: str) -> list[str]:
    """Split a migration script into statements (triggers contain ';')."""
    statements: list[str] = []
    buf = ""
    for line in script.splitlines():
        if line.strip().startswith("--") and not buf:
            continue
        buf += line + "\n"
        if sqlite3.complete_statement(buf):
            statements.append(buf.strip())
            buf = ""
    if buf.strip():
        statements.append(buf.strip())
    return statements


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    msg = str(exc)
    return "locked" in msg or "busy" in msg


@contextmanager
def write_tx(db: sqlite_utils.Database, *, retries: int = 8) -> Iterator[sqlite_utils.Database]:
    """One write transaction (``BEGIN IMMEDIATE``), retried with backoff while SQLite is busy.

    Either everything inside commits or nothing does. Only taking the lock is retried; the body
    runs once, after the lock is held, so it never sees a half-applied state.
    """
    conn = db.conn
    retry_busy(lambda: conn.execute("BEGIN IMMEDIATE"), retries)
    try:
        yield db
        retry_busy(lambda: conn.execute("COMMIT"), retries)
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def retry_busy(fn: Callable[[], T], retries: int = 8) -> T:
    """Run a read (or autocommit write) again with backoff while SQLite reports busy."""
    delay = 0.01
    for attempt in range(retries + 1):
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or attempt == retries:
                raise
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 1.0)
    raise AssertionError("unreachable")


def get_meta(db: sqlite_utils.Database, key: str) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return None if row is None else str(row[0])


def set_meta(db: sqlite_utils.Database, key: str, value: str) -> None:
    """Set a meta value; call inside :func:`write_tx`."""
    db.execute(
        "INSERT INTO meta(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )
