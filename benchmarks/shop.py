"""The seeded big shop every measurement runs on, built once and cached under ``.data/``.

Build: ``benchmarks/gen_csv.py`` writes customers, products and order-line CSVs (seeded:
the same sizes and seed always give the same bytes); the real importer loads them into
``base.db`` (customers and products) and ``shop.db`` (plus every order and a seeded touch
history, so ``stats`` has attribution work to do). A progress bar shows each step.

The cache key holds the sizes, the seed, the schema version and a hash of the generator and
importer sources: change any of them and the shop is rebuilt. A build that dies half-way
leaves no ``done`` marker and is redone.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from benchmarks import gen_csv
from benchmarks.common import DATA, ROOT, ShopFiles, Sizes
from tui_agent.store import importer
from tui_agent.store.db import SCHEMA_VERSION, connect, write_tx

# Bump when what this module writes changes.
BUILDER_VERSION = 1
AGENTS = ("agent01", "agent02", "agent03", "agent04")
PHRASE_IDS = ("care-24h", "usage-guide", "review-invite", "replenish", "coupon-return")


def _source_hash(*paths: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes())
    return h.hexdigest()[:10]


def cache_dir(sizes: Sizes) -> Path:
    key = _source_hash(
        Path(gen_csv.__file__),
        Path(importer.__file__),
        ROOT / "tui_agent" / "store" / "csvread.py",
        ROOT / "tui_agent" / "store" / "import_stage.py",
        ROOT / "tui_agent" / "core" / "csvrows.py",
    )
    name = (
        f"shop-c{sizes.customers}-l{sizes.lines}-s{sizes.seed}-v{SCHEMA_VERSION}"
        f"-b{BUILDER_VERSION}-{key}"
    )
    return DATA / name


@contextmanager
def _bar(console: Console) -> Iterator[Progress]:
    with Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        DownloadColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        yield progress


def _watch_size(progress: Progress, task: object, path: Path, stop: threading.Event) -> None:
    """The generator has no callback; its output file's size is the progress."""
    while not stop.wait(0.2):
        if path.exists():
            progress.update(task, completed=path.stat().st_size)  # type: ignore[arg-type]


def _import_progress(progress: Progress, description: str) -> Callable[[int, int], None]:
    task = progress.add_task(description, total=None)

    def update(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    return update


def build(sizes: Sizes, console: Console | None = None) -> ShopFiles:
    """The shop for ``sizes``: from the cache when it is there, else built now."""
    console = console or Console(stderr=True)
    where = cache_dir(sizes)
    csv_dir = where / "csv"
    files = ShopFiles(csv_dir, where / "base.db", where / "shop.db", sizes.customers, sizes.lines)
    if (where / "done").exists():
        console.print(f"shop: cached at {where.relative_to(ROOT)}")
        return files
    # Older builds of the same sizes (another generator or importer version) are stale.
    prefix = f"shop-c{sizes.customers}-l{sizes.lines}-s{sizes.seed}-"
    for stale in DATA.glob(prefix + "*"):
        if stale.is_dir():
            shutil.rmtree(stale)
    where.mkdir(parents=True)
    console.print(
        f"shop: building {sizes.customers:,} customers, {sizes.lines:,} order lines "
        f"(seed {sizes.seed}) in {where.relative_to(ROOT)}"
    )
    started = time.perf_counter()
    with _bar(console) as progress:
        task = progress.add_task("generate CSV (orders.csv)", total=sizes.lines * 95)
        stop = threading.Event()
        watcher = threading.Thread(
            target=_watch_size, args=(progress, task, csv_dir / "orders.csv", stop), daemon=True
        )
        watcher.start()
        try:
            gen_csv.generate(csv_dir, sizes.lines, sizes.customers, sizes.seed)
        finally:
            stop.set()
            watcher.join()
        size = (csv_dir / "orders.csv").stat().st_size
        progress.update(task, completed=size, total=size)

        db = connect(files.base_db)
        importer.import_products(
            db, csv_dir / "products.csv", progress=_import_progress(progress, "import products")
        )
        importer.import_customers(
            db, csv_dir / "customers.csv", progress=_import_progress(progress, "import customers")
        )
        db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.conn.close()
        copy_db(files.base_db, files.shop_db)

        db = connect(files.shop_db)
        importer.import_orders(
            db, csv_dir / "orders.csv", progress=_import_progress(progress, "import orders")
        )
        _touch_history(db, sizes)
        db.conn.execute("ANALYZE")
        db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.conn.close()
    (where / "done").write_text(f"built in {time.perf_counter() - started:.1f} s\n")
    console.print(f"shop: built in {time.perf_counter() - started:.1f} s")
    return files


def _touch_history(db: object, sizes: Sizes) -> None:
    """Seeded past touches (about one per 10 customers, the last 60 days) for ``stats``.

    Written with one ``executemany`` rather than ``log_touch`` per row: this is fixture data,
    and its speed is not what is measured.
    """
    import sqlite_utils

    assert isinstance(db, sqlite_utils.Database)
    rng = random.Random(sizes.seed + 1)
    ids = [r[0] for r in db.execute("SELECT customer_id FROM customers ORDER BY customer_id")]
    end = datetime(2025, 12, 31, 18, 0)
    rows = []
    for _ in range(max(10, len(ids) // 10)):
        at = end - timedelta(minutes=rng.randrange(60 * 24 * 60))
        pid = rng.choice(PHRASE_IDS)
        rows.append(
            (
                rng.choice(AGENTS),
                rng.choice(ids),
                pid,
                "relationship",
                f"您好，这是一条回访消息（{pid}）",
                at.strftime("%Y-%m-%d %H:%M:%S"),
            )
        )
    with write_tx(db):
        db.conn.executemany(
            "INSERT INTO touches (agent, customer_id, phrase_id, stage, text, at) "
            "VALUES (?,?,?,?,?,?)",
            rows,
        )


def copy_db(src: Path, dst: Path) -> Path:
    """A private working copy of a built database (measurements never change the cache).

    Through SQLite's backup API, not a file copy: in WAL mode the last transactions may still
    sit in ``-wal``, and copying the main file alone would silently drop them (it did: the
    derived customer columns went missing and ``stats`` took its slow path).
    """
    for suffix in ("", "-wal", "-shm"):
        Path(str(dst) + suffix).unlink(missing_ok=True)
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # customer data: owner only
    os.close(fd)
    source = sqlite3.connect(src)
    target = sqlite3.connect(dst)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    return dst
