"""Consistent copies of the shop database while agents keep working (``tui-agent backup``).

SQLite's online backup API copies the database as one read transaction: in WAL mode writers
go on meanwhile, and the copy holds exactly what was committed when it started. A file copy of
a WAL database may miss (or tear) the transactions still in the ``-wal`` file.
"""

from __future__ import annotations

import os
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tui_agent.store.db import BUSY_TIMEOUT_MS, retry_busy


class BackupError(Exception):
    """A backup that could not be made; the message names the path."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    size: int
    removed: tuple[Path, ...]


def _name_re(stem: str) -> re.Pattern[str]:
    return re.compile(re.escape(stem) + r"-\d{8}-\d{6}(?:-\d+)?\.db")


def backup_database(
    source: Path, dest_dir: Path, *, keep: int | None = None, now: datetime | None = None
) -> BackupResult:
    """Copy ``source`` to ``dest_dir/<stem>-YYYYMMDD-HHMMSS.db``; keep the newest ``keep``.

    The copy is written under a temporary name, checked (``PRAGMA quick_check``), made a
    single-file database (rollback journal), flushed to disk and only then renamed, so a
    backup file that exists is complete. Older backups are removed only after that.
    """
    if not source.is_file():
        raise BackupError(f"{source}: no such database")
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"{dest_dir}: {exc.strerror or exc}") from None
    if not dest_dir.is_dir():
        raise BackupError(f"{dest_dir}: not a directory")
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    target = dest_dir / f"{source.stem}-{stamp}.db"
    n = 1
    while target.exists():
        target = dest_dir / f"{source.stem}-{stamp}-{n}.db"
        n += 1
    partial = target.with_name(f".{target.name}.partial")
    try:
        _copy(source, partial)
        os.replace(partial, target)
        _fsync_dir(dest_dir)
    except sqlite3.DatabaseError as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"{source}: {exc}") from None
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"{dest_dir}: {exc.strerror or exc}") from None
    removed: list[Path] = []
    if keep is not None:
        pattern = _name_re(source.stem)
        ours = sorted(
            (p for p in dest_dir.iterdir() if pattern.fullmatch(p.name)),
            key=lambda p: (p.name[: len(source.stem) + 16], p.stat().st_mtime),
        )
        for old in ours[: max(0, len(ours) - keep)]:
            old.unlink()
            removed.append(old)
    return BackupResult(target, target.stat().st_size, tuple(removed))


def _copy(source: Path, partial: Path) -> None:
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # customer data
    os.close(fd)
    uri = f"{source.resolve().as_uri()}?mode=ro"
    src = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    dst = sqlite3.connect(partial, isolation_level=None)
    try:
        # pages=-1: the whole database in one step, i.e. one read transaction. Copying in
        # slices would restart from scratch each time another connection writes.
        retry_busy(lambda: src.backup(dst, pages=-1))
        dst.execute("PRAGMA journal_mode = DELETE")
        check = dst.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise sqlite3.DatabaseError(f"the copy fails quick_check: {check}")
    finally:
        dst.close()
        src.close()
    fd = os.open(partial, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
