"""The import's floor: ``csv.reader`` -> ``executemany`` of the same file into an indexed table.

    python -m benchmarks.import_floor ORDERS.csv SCRATCH.db

What any CSV import into SQLite costs on this machine before validation, numbering and the
merge: every cell stored as text in one transaction, with an index on the first column.
The benchmark runs it in a fresh process beside the real import and reports the ratio.
"""

from __future__ import annotations

import csv
import sqlite3
import sys
from itertools import islice
from pathlib import Path


def main() -> None:
    src, target = Path(sys.argv[1]), Path(sys.argv[2])
    target.unlink(missing_ok=True)
    conn = sqlite3.connect(target, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    with src.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        cols = ", ".join(f"c{i}" for i in range(len(header)))
        conn.execute(f"CREATE TABLE t ({cols})")
        conn.execute("CREATE INDEX t_c0 ON t(c0)")
        insert = f"INSERT INTO t VALUES ({', '.join('?' * len(header))})"
        conn.execute("BEGIN")
        while batch := list(islice(reader, 5000)):
            conn.executemany(insert, batch)
        conn.execute("COMMIT")
    conn.close()
    target.unlink()
    Path(f"{target}-wal").unlink(missing_ok=True)
    Path(f"{target}-shm").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
