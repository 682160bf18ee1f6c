"""The orders import's derived figures: each involved customer's order count, total, first
and last order, and each order's seq, computed in a second thread while the merge writes the
order lines.

The tables (``_affected``, ``_all``, ``_seq``, ``_cust``) are the same wherever they are
computed: by the import's connection as TEMP tables, or by a :class:`ScratchThread` on a
connection of its own into a scratch file attached to the import's connection. The thread
reads ``_orders`` from the other scratch file (staging put it there) and, on a re-import, the
shop's orders as last committed: it is started only when the merge has changed neither
(``store.importer`` checks), so both ways give the same rows.

On a first load the thread commits ``_all`` and ``_cust`` first, then writes ``_seq`` into a
scratch file of its own (``numbers``): the import's connection writes the customers
meanwhile (:func:`_first_load_split`).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

SEQ_ORDER = "ordered_at, order_id"  # the importer and refresh_derived must agree
THREAD_CACHE_KB = 4096  # the thread's page cache (it also sizes its sorts)
STAGE_CACHE_KB = 2048  # ``_orders`` is written and read in key order: a small cache will do


_ALL = (
    "_all (customer_id TEXT, ordered_at TEXT, order_id TEXT, amount REAL, new INTEGER, "
    "PRIMARY KEY (customer_id, ordered_at, order_id)) WITHOUT ROWID"
)
_ALL_FIRST_LOAD = (
    "SELECT customer_id, ordered_at, order_id, amount, 1 FROM _orders "
    "ORDER BY customer_id, ordered_at, order_id"
)
# Keyed by order_id without a rowid and filled in key order: appending to the b-tree is far
# cheaper than inserting the window's output (customer order) at random places.
_SEQ = "_seq (order_id TEXT PRIMARY KEY, new INTEGER, rn INTEGER) WITHOUT ROWID"
_SEQ_ROWS = (
    "SELECT * FROM (SELECT order_id, new, row_number() OVER "
    f"(PARTITION BY customer_id ORDER BY {SEQ_ORDER}) FROM _all) ORDER BY order_id"
)


def compute(
    execute: Callable[[str], object], *, first_load: bool, create: str, customers: bool = True
) -> None:
    """Fill ``_affected``, ``_all``, ``_seq`` and, with ``customers``, ``_cust`` from
    ``_orders`` (and, unless ``first_load``, the shop's ``orders``). ``create``: ``CREATE
    TEMP TABLE`` or ``CREATE TABLE``. Without ``customers`` on a first load, ``_affected``
    stays empty: only ``_cust`` reads it."""
    # Derived figures are computed before writing, so each row is written once with its
    # final values (an UPDATE pass afterwards would rewrite every order and customer again).
    # _all = every order of every customer involved, as it will be after this import.
    # _all is keyed (customer, ordered_at, order): filled with one sort, it then gives each
    # customer's orders in seq order to the window below and groups the customers' figures,
    # neither sorting again.
    execute(f"{create} _affected (customer_id TEXT PRIMARY KEY)")
    execute(f"{create} {_ALL}")
    if first_load:  # no older order: the file's orders are all there is
        execute(f"INSERT INTO _all {_ALL_FIRST_LOAD}")
        if customers:
            execute("INSERT INTO _affected SELECT DISTINCT customer_id FROM _all")
    else:
        execute(
            "INSERT OR IGNORE INTO _affected SELECT customer_id FROM _orders UNION "
            "SELECT o.customer_id FROM orders o JOIN _orders s ON s.order_id = o.order_id"
        )
        execute(
            """
            INSERT INTO _all
            SELECT customer_id, ordered_at, order_id, amount, 1 FROM _orders
            UNION ALL
            SELECT o.customer_id, o.ordered_at, o.order_id, o.amount, 0 FROM orders o
            WHERE o.customer_id IN (SELECT customer_id FROM _affected)
              AND o.order_id NOT IN (SELECT order_id FROM _orders)
            ORDER BY 1, 2, 3
            """
        )
    execute(f"{create} {_SEQ}")
    execute(f"INSERT INTO _seq {_SEQ_ROWS}")
    if customers:
        _customers(execute, create)


_CUST = "_cust (customer_id TEXT PRIMARY KEY, n INTEGER, total REAL, first TEXT, last TEXT)"


def _customers(execute: Callable[[str], object], create: str) -> None:
    # Each involved customer's figures, aggregated once into a table in key order (the merge
    # then updates the customers that exist and inserts the new ones).
    execute(f"{create} {_CUST} WITHOUT ROWID")
    execute(
        """
        INSERT INTO _cust
        SELECT a.customer_id, coalesce(g.n, 0), coalesce(g.total, 0), g.first, g.last
        FROM _affected a LEFT JOIN (
            SELECT customer_id, count(*) AS n, round(sum(amount), 2) AS total,
                   min(ordered_at) AS first, max(ordered_at) AS last
            FROM _all GROUP BY customer_id) g ON g.customer_id = a.customer_id
        ORDER BY a.customer_id
        """
    )


def _first_load_split(execute: Callable[[str], object], ready: Callable[[], None]) -> None:
    """The thread's work on a first load, in two steps. First ``_all`` and the customers'
    figures ``_cust`` (from ``_all`` in its key order: no sort, the amounts summed in the same
    order as :func:`compute`; every customer there has an order), committed: ``ready`` lets
    the merge write the customers. Then ``_seq``, into the ``numbers`` scratch file, so that
    the merge reading this file and the thread writing never wait for each other's lock."""
    execute(f"CREATE TABLE {_ALL}")
    execute(f"INSERT INTO _all {_ALL_FIRST_LOAD}")
    execute(f"CREATE TABLE {_CUST} WITHOUT ROWID")
    execute(
        "INSERT INTO _cust SELECT customer_id, count(*), round(sum(amount), 2), "
        "min(ordered_at), max(ordered_at) FROM _all GROUP BY customer_id"
    )
    ready()
    execute(f"CREATE TABLE numbers.{_SEQ}")
    execute(f"INSERT INTO numbers._seq {_SEQ_ROWS}")


_PREFIX = "tui-agent-import-"


def _sweep() -> None:
    """Remove the scratch folders of imports that were killed (their process is gone): they
    hold order and customer ids. The folder is private (0700) meanwhile."""
    for folder in Path(tempfile.gettempdir()).glob(f"{_PREFIX}*-*"):
        pid = folder.name[len(_PREFIX) :].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:  # alive, someone else's
            pass


class Scratch:
    """Four scratch files of one orders import, in a private temporary folder, attached to
    the import's connection: ``stage`` (``_stage`` and ``_orders``, written while staging),
    ``figures`` and ``numbers`` (the figures thread's tables) and ``days`` (the purchase days
    thread's, see ``store.purchase_days``). Attach before any transaction; :meth:`close`
    after the last one."""

    NAMES = ("stage", "figures", "numbers", "days")

    def __init__(self, db: sqlite_utils.Database) -> None:
        _sweep()
        self.folder = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-"))
        try:
            for name in self.NAMES:
                db.execute(f"ATTACH ? AS {name}", [str(self.folder / f"{name}.db")])
            # Scratch: nothing to keep after a crash, and a rollback only happens when the
            # whole import is given up.
            for name in self.NAMES:
                db.execute(f"PRAGMA {name}.journal_mode = MEMORY")
                db.execute(f"PRAGMA {name}.synchronous = OFF")
                db.execute(f"PRAGMA {name}.cache_size = -{STAGE_CACHE_KB}")
        except BaseException:
            self.close(db)
            raise

    def close(self, db: sqlite_utils.Database) -> None:
        try:
            attached = {r[1] for r in db.execute("PRAGMA database_list").fetchall()}
            for name in self.NAMES:
                if name in attached:
                    db.execute(f"DETACH {name}")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def start(db: sqlite_utils.Database, *, first_load: bool) -> ScratchThread | None:
    """The figures' :class:`ScratchThread` for this import (its scratch files attached), or
    None when it cannot run (no scratch, or a re-import into a database that is not a
    file)."""
    files = scratch_files(db)
    if not files.get("stage") or not files.get("figures") or not (first_load or files["main"]):
        return None
    attach = {"stage": files["stage"]}
    if not first_load:
        attach["shop"] = files["main"]
    elif files.get("numbers"):
        attach["numbers"] = files["numbers"]

    def work(conn: sqlite3.Connection, ready: Callable[[], None]) -> None:
        if "numbers" in attach:
            _first_load_split(conn.execute, ready)
        else:
            compute(conn.execute, first_load=first_load, create="CREATE TABLE")

    return ScratchThread("order-figures", files["figures"], attach, work)


def scratch_files(db: sqlite_utils.Database) -> dict[str, str]:
    """The files of the databases attached to the connection, by name ('' when in memory)."""
    return {name: file for _, name, file in db.execute("PRAGMA database_list").fetchall()}


class ScratchThread:
    """``work`` on a connection of its own (SQLite releases the GIL while it works), inside
    one transaction on the scratch file ``target``, with ``attach`` (name: file) attached,
    read only but for ``stage`` and ``numbers`` (the shop as last committed; the staged rows).
    ``work`` may call its second argument to commit what it wrote so far and tell
    :meth:`wait_ready`. :meth:`join` says whether the work is done (else the caller does it
    itself)."""

    _WRITABLE = ("stage", "numbers")

    def __init__(
        self,
        name: str,
        target: str,
        attach: dict[str, str],
        work: Callable[[sqlite3.Connection, Callable[[], None]], None],
        cache_kb: int = THREAD_CACHE_KB,
    ) -> None:
        self._args = (target, attach, work, cache_kb)
        self._error: BaseException | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        target, attach, work, cache_kb = self._args
        conn = sqlite3.connect(Path(target).as_uri(), uri=True, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = OFF")
            conn.execute("PRAGMA synchronous = OFF")
            conn.execute(f"PRAGMA cache_size = -{cache_kb}")
            for name, file in attach.items():
                uri = Path(file).as_uri() + ("" if name in self._WRITABLE else "?mode=ro")
                conn.execute(f"ATTACH ? AS {name}", [uri])
                if name == "numbers":
                    conn.execute(f"PRAGMA {name}.journal_mode = OFF")
                    conn.execute(f"PRAGMA {name}.synchronous = OFF")

            def ready() -> None:
                conn.execute("COMMIT")
                self._ready.set()
                conn.execute("BEGIN")

            conn.execute("BEGIN")
            work(conn, ready)
            conn.execute("COMMIT")
        except BaseException as exc:  # the merge does the work itself
            self._error = exc
        finally:
            conn.close()

    def wait_ready(self) -> bool:
        """Wait until the work has committed its first part (True) or ended without (False)."""
        while not self._ready.wait(0.02):
            if not self._thread.is_alive():
                return self._ready.is_set()
        return True

    def join(self) -> bool:
        self._thread.join()
        return self._error is None
