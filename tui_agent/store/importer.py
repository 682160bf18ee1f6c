"""Importing customers, orders and products from CSV, and the derived columns the scheduler uses.

The shape: rows are streamed from the file, validated in batches (``core.csvrows``) and loaded
into a TEMP staging table of this connection, before any lock on the shop database is taken.
Then one write transaction: checks that need other rows (duplicates, an order's lines
disagreeing) run as SQL over the staging table, and set-based ``INSERT ... SELECT ... ON
CONFLICT DO UPDATE`` statements merge into the real tables, touching only rows whose values
changed. Python memory stays bounded whatever the file size: the staging and reject tables
live in SQLite's temp store, not in lists.
"""

from __future__ import annotations

import codecs
import csv
import gc
import io
import multiprocessing as mp
import operator
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from itertools import chain, compress, islice, repeat
from multiprocessing.connection import Connection
from pathlib import Path
from typing import cast

import sqlite_utils

from tui_agent.core.csvrows import (
    DEFAULT_MAX_LINE_AMOUNT,
    MAX_REPORTED,
    BadRowsError,
    CsvFileError,
    ImportResult,
    Kind,
    Plan,
    RowError,
    convert_rows,
    field_names,
    plan_header,
)
from tui_agent.core.textcodec import EncodingDoubt, bom_encoding, judge
from tui_agent.store import order_status, purchase_days
from tui_agent.store.db import get_meta, set_meta, write_tx

Progress = Callable[[int, int], None]  # (bytes read, total bytes)
# A platform export's pre-translation (core.formats): given the file's header, the canonical
# header to check with, its column mapping, and a function turning each batch of the file's
# rows into canonical rows (same count, same order, so lines keep the file's numbers).
BatchFn = Callable[[list[list[str]]], list[list[str]]]
Translate = Callable[[list[str]], tuple[list[str], Mapping[str, str], BatchFn]]
BATCH = 5000
PROGRESS_EVERY = 16384  # rows
# Page caches during an import (fixed, so memory stays bounded). The main cache also sizes
# SQLite's sort buffers; 64 MB each measured 215-262 MB peak RSS at 1M lines, 32 MB 157 MB
# at no measurable cost in CPU.
IMPORT_CACHE_KB = 32768
IMPORT_TEMP_CACHE_KB = 32768
MAX_SEEN_SKUS = 100_000  # distinct skus remembered while reading; beyond, SQL finds them
BULK_MIN_ROWS = 50_000  # orders in one file before indexes are rebuilt rather than updated

__all__ = [
    "BadRowsError",
    "CsvFileError",
    "ImportResult",
    "detect_encoding",
    "import_customers",
    "import_orders",
    "import_products",
    "normalise_encoding",
    "refresh_derived",
]


# --- reading the file --------------------------------------------------------------------------


SAMPLE_BYTES = 1 << 20  # what the plausibility check reads (whole lines)


def detect_encoding(path: Path) -> str:
    """The file's encoding: what a BOM says (UTF-8, UTF-16), else UTF-8 or GB18030 (the
    superset of GBK that Chinese Excel writes) as :func:`core.textcodec.judge` decides from
    byte validity and whether the text is plausible.

    Raises CsvFileError asking for ``--encoding`` when neither reads as plausible text.
    The UTF-8 check streams the whole file in 1 MB chunks: a file that is mostly ASCII with
    a few GBK names near the end is still recognised.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    valid = True
    with open(path, "rb") as f:
        sample = f.read(SAMPLE_BYTES)
        announced = bom_encoding(sample[:4])
        if announced is not None:
            return announced
        chunk = sample
        try:
            while chunk:
                decoder.decode(chunk)
                chunk = f.read(1 << 20)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            valid = False
    if len(sample) == SAMPLE_BYTES and b"\n" in sample:
        sample = sample[: sample.rindex(b"\n") + 1]  # whole lines: no character cut in two
    try:
        return judge(sample, valid)
    except EncodingDoubt as exc:
        raise CsvFileError(
            f"cannot tell the file's encoding: {exc}; give --encoding utf-8 or --encoding gbk"
        ) from None


def _delimiter(given: str | None, path: Path, encoding: str) -> str:
    """The cell separator: as given, else sniffed from the header line (a tab-separated
    "Unicode text" export from Excel, or semicolons), else a comma."""
    if given:
        if len(given) != 1 or given in '"\r\n':
            raise CsvFileError(f"--delimiter {given!r}: give one character (\\t for tab)")
        return given
    try:
        with open(path, encoding=encoding, newline="", errors="replace") as f:
            header = f.readline(1 << 16)
    except (OSError, LookupError):
        return ","
    counts = {d: header.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def normalise_encoding(encoding: str | None, path: Path) -> str:
    """The codec to read ``path`` with: ``encoding`` as given (checked), or detected when
    None or ``auto``. Raises CsvFileError."""
    if not encoding or encoding.lower() == "auto":
        return detect_encoding(path)
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise CsvFileError(f"unknown encoding {encoding!r}") from None
    # A BOM is never data: read UTF-8 as utf-8-sig so an Excel BOM does not stick to the header.
    return "utf-8-sig" if name == "utf-8" else name


Records = Iterator[tuple[int, list[str]]]
Batches = Iterator[tuple[list[int], list[list[str]]]]


def _first_bad_line(path: Path, encoding: str) -> int:
    """The physical line of the first undecodable byte (the text layer reads ahead in chunks)."""
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                raw.decode(encoding)
            except UnicodeDecodeError:
                return number
    return 1


@contextmanager
def _batches(
    path: Path,
    encoding: str,
    progress: Progress | None,
    size: int = BATCH,
    delimiter: str = ",",
) -> Iterator[Batches]:
    """Yield (start lines, records) of the non-blank records, in batches of ``size``.

    The header comes first, alone in its batch. Batching here rather than per record keeps
    the per-record Python work to one loop (it is most of the cost of reading a big file).
    """
    raw = open(path, "rb")  # noqa: SIM115 - closed by the context manager below
    try:
        total = os.fstat(raw.fileno()).st_size
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")

        def gen() -> Batches:
            reader = csv.reader(text, delimiter=delimiter)
            prev = 0
            limit = 1  # the header alone
            n = 0
            report_at = PROGRESS_EVERY
            lines: list[int] = []
            rows: list[list[str]] = []
            while True:
                try:
                    for row in reader:
                        start = prev + 1
                        prev = reader.line_num
                        if row and any(row):
                            lines.append(start)
                            rows.append(row)
                            if len(rows) >= limit:
                                break
                    else:
                        break
                except UnicodeDecodeError:
                    shown = "utf-8" if encoding == "utf-8-sig" else encoding
                    raise CsvFileError(
                        f"cannot be read as {shown} (try --encoding utf-8 or gbk)",
                        line=_first_bad_line(path, encoding),
                    ) from None
                except csv.Error as exc:
                    raise CsvFileError(f"broken CSV: {exc}", line=prev + 1) from None
                yield lines, rows
                n += len(rows)
                lines, rows, limit = [], [], size
                if progress is not None and n >= report_at:
                    progress(raw.tell(), total)
                    report_at = n + PROGRESS_EVERY
            if rows:
                yield lines, rows
            if progress is not None:
                progress(total, total)

        yield gen()
    finally:
        raw.close()


@contextmanager
def _records(
    path: Path, encoding: str, progress: Progress | None, delimiter: str = ","
) -> Iterator[Records]:
    """Yield (start line, cells) for every non-blank record; the header comes first."""
    with _batches(path, encoding, progress, delimiter=delimiter) as batches:
        yield (
            (line, row) for lines, rows in batches for line, row in zip(lines, rows, strict=True)
        )


# --- staging -----------------------------------------------------------------------------------


def _create_staging(db: sqlite_utils.Database, kind: Kind) -> None:
    cols = ", ".join(field_names(kind))
    db.execute("DROP TABLE IF EXISTS temp._stage")
    db.execute("DROP TABLE IF EXISTS temp._rejects")
    # Orders also stage each line's ordinal within its order (see _load).
    extra = ", line_no INTEGER, dup_sku INTEGER" if kind is Kind.ORDERS else ""
    db.execute(f"CREATE TEMP TABLE _stage (line INTEGER PRIMARY KEY, {cols}{extra})")
    db.execute(
        "CREATE TEMP TABLE _rejects (line INTEGER NOT NULL, col TEXT, reason TEXT, key TEXT)"
    )


def _drop_temp(db: sqlite_utils.Database) -> None:
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


# A big file is parsed and converted in a worker process while this one inserts into the
# staging table: the two halves take about the same time, and the machine has a second core.
PIPELINE_MIN_BYTES = 16 << 20
_Msg = tuple[object, ...]


def _load(
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
        with _converted(args, progress) as messages:
            return _stage_messages(db, kind, messages, result)
    finally:
        if gc_was_on:
            gc.enable()


def _stage_messages(
    db: sqlite_utils.Database, kind: Kind, messages: Iterator[_Msg], result: ImportResult
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


_LoadArgs = tuple[Kind, Path, str, "Mapping[str, str] | None", "Translate | None", float, str]


@contextmanager
def _converted(args: _LoadArgs, progress: Progress | None) -> Iterator[Iterator[_Msg]]:
    """:func:`_convert_file`'s messages, from a worker process for a big file (when the
    platform can fork), else from this process."""
    path = args[1]
    try:
        big = os.path.getsize(path) >= PIPELINE_MIN_BYTES
    except OSError:
        big = False
    if not big or "fork" not in mp.get_all_start_methods():
        yield _convert_file(*args, progress)
        return
    ctx = mp.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    worker = ctx.Process(target=_convert_worker, args=(args, sender), daemon=True)
    worker.start()
    sender.close()

    def messages() -> Iterator[_Msg]:
        while True:
            try:
                msg: _Msg = receiver.recv()
            except EOFError:
                raise CsvFileError("the file could not be read (the reader stopped)") from None
            kind = msg[0]
            if kind == "progress":
                if progress is not None:
                    progress(msg[1], msg[2])  # type: ignore[arg-type]
            elif kind == "csv_error":
                raise CsvFileError(msg[1], line=msg[2], column=msg[3])  # type: ignore[arg-type]
            elif kind == "error":
                raise msg[1]  # type: ignore[misc]
            else:
                yield msg
                if kind == "end":
                    return

    try:
        yield messages()
    finally:
        receiver.close()
        if worker.is_alive():
            worker.kill()
        worker.join()


def _convert_worker(args: _LoadArgs, sender: Connection) -> None:  # pragma: no cover - forked
    """The worker's side: send each message; an error is sent too (the parent raises it). A
    parent gone (killed) closes the pipe, and the next send ends this process."""
    gc.disable()

    def progress(done: int, total: int) -> None:
        sender.send(("progress", done, total))

    try:
        for msg in _convert_file(*args, progress):
            sender.send(msg)
    except CsvFileError as exc:
        sender.send(("csv_error", exc.message, exc.line, exc.column))
    except BrokenPipeError:
        pass
    except BaseException as exc:  # handed to the parent as it is
        try:
            sender.send(("error", exc))
        except Exception:  # an exception that cannot be pickled
            sender.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
    finally:
        sender.close()


def _convert_file(
    kind: Kind,
    path: Path,
    encoding: str,
    mapping: Mapping[str, str] | None,
    translate: Translate | None,
    max_amount: float,
    delimiter: str,
    progress: Progress | None,
) -> Iterator[_Msg]:
    """Read and convert the file: ``("plan", plan)``, then ``("rows", records as (line,
    *values), reject rows)`` per batch, then ``("end", rows read)``. No database access: this
    may run in a worker process."""
    key_field = "order_id" if kind is Kind.ORDERS else None
    with _batches(path, encoding, progress, delimiter=delimiter) as batches:
        first = next(batches, None)
        if first is None:
            raise CsvFileError("the file is empty (no header row)")
        header = first[1][0]
        batch_fn: BatchFn | None = None
        if translate is not None:
            header, mapping, batch_fn = translate(header)
        plan = plan_header(kind, header, mapping, max_amount)
        key_col = plan.columns[field_names(kind).index(key_field)] if key_field else None
        yield ("plan", plan)
        rows = 0
        for lines, batch in batches:
            rows += len(batch)
            if batch_fn is not None:
                batch = batch_fn(batch)
            good, errors = convert_rows(plan, batch, lines)
            rejected: list[tuple[object, ...]] = []
            if errors:
                by_line = dict(zip(lines, batch, strict=True))
                rejected = [
                    (e.line, e.column, e.reason, _key(by_line[e.line], key_col)) for e in errors
                ]
            yield ("rows", good, rejected)
    yield ("end", rows)


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


def _key(row: list[str], col: int | None) -> str | None:
    """The order id of a bad row, so its order's other lines can be rejected with it."""
    return row[col].strip() if col is not None and col < len(row) else None


def _collect_errors(db: sqlite_utils.Database, result: ImportResult) -> None:
    result.rejected = db.execute("SELECT count(DISTINCT line) FROM _rejects").fetchone()[0]
    result.error_count = db.execute("SELECT count(*) FROM _rejects").fetchone()[0]
    result.errors = [
        RowError(line, col, reason)
        for line, col, reason in db.execute(
            "SELECT line, col, reason FROM _rejects ORDER BY line, rowid LIMIT ?", [MAX_REPORTED]
        ).fetchall()
    ]


def _write_rejects(
    db: sqlite_utils.Database, path: Path, encoding: str, out: Path, delimiter: str = ","
) -> None:
    """Second pass over the input: copy each rejected record with its line, column and reason.

    Re-reading the file (only when something was rejected) keeps the original cells exactly
    as written without holding any of them in memory during the import.
    """
    cursor = db.execute(
        "SELECT line, group_concat(col, '; '), group_concat(reason, '; ') "
        "FROM (SELECT * FROM _rejects ORDER BY line, rowid) GROUP BY line ORDER BY line"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    # Written under a temporary name in the same folder and renamed when complete: a killed
    # import never leaves a partial file that looks whole (nor truncates an older one).
    # A fresh file created 0600: customer data, whatever the umask or the old file's mode.
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        # utf-8-sig: Excel opens it with the Chinese intact; the importer reads it back as is.
        with (
            open(fd, "w", encoding="utf-8-sig", newline="") as f,
            _records(path, encoding, None, delimiter) as records,
        ):
            writer = csv.writer(f)
            header = next(records)[1]
            width = len(header)
            writer.writerow([*header, "line", "column", "reason"])
            pending = cursor.fetchone()
            for line, row in records:
                if pending is None:
                    break
                if line == pending[0]:
                    # A row with the wrong number of cells is padded (or its extra cells
                    # moved after the reason), so line, column and reason stay under their
                    # own headers and no cell is lost.
                    cells = row[:width] + [""] * (width - len(row))
                    writer.writerow([*cells, line, pending[1], pending[2], *row[width:]])
                    pending = cursor.fetchone()
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        cursor.close()


def rejects_target(path: Path, rejects: Path | str | None) -> Path:
    """Where the reject file goes; refuses (CsvFileError) the input itself, under any name
    (the same path, a symlink or a hard link to it), before anything is opened for writing."""
    out = Path(rejects) if rejects else path.with_name(path.stem + ".rejects.csv")
    same = os.path.realpath(out) == os.path.realpath(path)
    if not same and out.exists():
        try:
            same = os.path.samefile(out, path)
        except OSError:
            same = False
    if same:
        raise CsvFileError(f"the reject file {out} is the input file; give another --rejects")
    return out


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
    delim = _delimiter(delimiter, path, enc)
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
    try:
        # Parsing and staging touch only this connection's temp tables, so they run before the
        # write lock is taken: agents keep logging touches while a big file is being read.
        _create_staging(db, kind)
        db.execute("BEGIN")
        plan = _load(db, kind, path, enc, mapping, progress, result, translate, max_amount, delim)
        # The checks that need other rows read the staged rows only: still before the write
        # lock, so agents wait only for the merge (and a file with bad rows not at all).
        _CHECKS[kind](db, plan, result, skip_bad)
        db.execute("COMMIT")
        if result.rejected and not skip_bad:
            raise BadRowsError(result)
        with write_tx(db):
            merge(db, plan, result, skip_bad)
            if result.rejected:
                assert out is not None
                _write_rejects(db, path, enc, out, delim)
                result.rejects_path = out
    finally:
        if db.conn.in_transaction:  # an error while staging
            db.execute("ROLLBACK")
        _drop_temp(db)
        db.execute(f"PRAGMA main.cache_size = {old_cache}")
        db.execute(f"PRAGMA temp.cache_size = {old_temp}")
        db.execute(f"PRAGMA temp.secure_delete = {int(old_secure)}")
        db.execute(f"PRAGMA mmap_size = {int(old_mmap)}")
        db.execute(f"PRAGMA foreign_keys = {int(old_fk)}")
    return result


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
    _collect_errors(db, result)
    if skip_bad and result.rejected:
        db.execute("DELETE FROM _stage WHERE line IN (SELECT line FROM _rejects)")


def _changed(cols: Iterable[str], left: str, right: str) -> str:
    return " OR ".join(f"{left}.{c} IS NOT {right}.{c}" for c in cols) or "0"


# --- customers ---------------------------------------------------------------------------------


def _check_customers(
    db: sqlite_utils.Database, plan: Plan, result: ImportResult, skip_bad: bool
) -> None:
    _check_and_count(db, result, skip_bad, "customer_id", plan.labels[0])


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


def _check_products(
    db: sqlite_utils.Database, plan: Plan, result: ImportResult, skip_bad: bool
) -> None:
    _check_and_count(db, result, skip_bad, "sku", plan.labels[0])


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
_SEQ_ORDER = "ordered_at, order_id"  # the importer and refresh_derived must agree


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
    _collect_errors(db, result)
    if result.rejected and not skip_bad:
        return
    if result.rejected:
        db.execute("DELETE FROM _stage WHERE line IN (SELECT line FROM _rejects)")
        db.execute("DELETE FROM _orders WHERE order_id IN (SELECT key FROM _rejects)")


def _merge_orders(
    db: sqlite_utils.Database, plan: Plan, result: ImportResult, skip_bad: bool
) -> None:
    order_status.set_aside(db, plan, result)
    result.orders = db.execute("SELECT count(*) FROM _orders").fetchone()[0]
    db.execute(
        """
        UPDATE _stage SET line_no = w.rn
        FROM (SELECT line, row_number() OVER (PARTITION BY order_id ORDER BY line) AS rn
              FROM _stage WHERE order_id IN (SELECT order_id FROM _orders WHERE scattered)) AS w
        WHERE _stage.line = w.line
        """
    )

    # A first load (no order in the database yet) has nothing to compare or clean up: the
    # "changed" counts, the seq of older orders and the stale-line delete are skipped.
    first_load = not db.execute("SELECT EXISTS (SELECT 1 FROM orders)").fetchone()[0]

    # Derived figures are computed here, before writing, so each row is written once with its
    # final values (an UPDATE pass afterwards would rewrite every order and customer again).
    # _all = every order of every customer involved, as it will be after this import.
    # _all is keyed (customer, ordered_at, order): filled with one sort, it then gives each
    # customer's orders in seq order to the window below and groups the customers' figures,
    # neither sorting again.
    db.execute("CREATE TEMP TABLE _affected (customer_id TEXT PRIMARY KEY)")
    db.execute(
        "CREATE TEMP TABLE _all (customer_id TEXT, ordered_at TEXT, order_id TEXT, "
        "amount REAL, new INTEGER, PRIMARY KEY (customer_id, ordered_at, order_id)) WITHOUT ROWID"
    )
    if first_load:  # no older order: the file's orders are all there is
        db.execute(
            "INSERT INTO _all SELECT customer_id, ordered_at, order_id, amount, 1 FROM _orders "
            "ORDER BY customer_id, ordered_at, order_id"
        )
        db.execute("INSERT INTO _affected SELECT DISTINCT customer_id FROM _all")
    else:
        db.execute(
            "INSERT OR IGNORE INTO _affected SELECT customer_id FROM _orders UNION "
            "SELECT o.customer_id FROM orders o JOIN _orders s ON s.order_id = o.order_id"
        )
        db.execute(
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
    # Keyed by order_id without a rowid and filled in key order: appending to the b-tree is
    # far cheaper than inserting the window's output (customer order) at random places.
    db.execute(
        "CREATE TEMP TABLE _seq (order_id TEXT PRIMARY KEY, new INTEGER, rn INTEGER) WITHOUT ROWID"
    )
    db.execute(
        f"INSERT INTO _seq SELECT * FROM (SELECT order_id, new, row_number() OVER "
        f"(PARTITION BY customer_id ORDER BY {_SEQ_ORDER}) FROM _all) ORDER BY order_id"
    )
    if not first_load:
        _moved_orders(db, result)
    # Each involved customer's figures, aggregated once into a table in key order; then one
    # UPDATE ... FROM for the customers that exist (only rows whose figures change) and one
    # INSERT for the new ones. An upsert over the same rows costs twice as much (measured at
    # 200k customers: 2.4 s against 1.2 s), its conflict path being a failed insert each time.
    db.execute(
        "CREATE TEMP TABLE _cust (customer_id TEXT PRIMARY KEY, n INTEGER, total REAL, "
        "first TEXT, last TEXT) WITHOUT ROWID"
    )
    db.execute(
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
    n_affected = db.execute("SELECT count(*) FROM _cust").fetchone()[0]
    with _bulk_indexes(db, "customers", n_affected):
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

    if "sku" in plan.present:
        _products_from_lines(db, fresh=not result.rejected)

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

    # Lines are keyed by their ordinal within the order in the file; see README.
    if first_load:
        inserted = total = db.execute("SELECT count(*) FROM _stage").fetchone()[0]
        unchanged = 0
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
    with _bulk_indexes(db, "order_lines", total):
        db.execute(
            f"INSERT INTO order_lines (order_id, line_no, {', '.join(_LINE_COLS)}) "
            f"SELECT order_id, line_no, {', '.join(_LINE_COLS)} FROM _stage WHERE 1 "
            "ORDER BY order_id, line "  # the temp index's order, the same as by line_no
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
    purchase_days.after_orders_import(
        db,
        first_load=first_load,
        staged="SELECT customer_id, ordered_at, sku, category FROM _stage",
        affected="_affected",
    )
    order_status.after_merge(db, plan)
    _refresh_avg_gap(db)


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
def _bulk_indexes(db: sqlite_utils.Database, table: str, incoming: int) -> Iterator[None]:
    """Drop a table's secondary indexes around a bulk insert and rebuild them after.

    Building an index once from sorted data is much cheaper than inserting hundreds of
    thousands of random keys into it (measured: about half the time of the orders insert).
    Only done when the file brings at least twice the rows the table holds (a first load);
    the definitions come from sqlite_master, so the schema ends up exactly as it was. Inside
    the import's transaction: on an error the rollback brings the indexes back, and readers
    never see them missing.
    """
    existing = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    if incoming < BULK_MIN_ROWS or incoming < 2 * existing:
        yield
        return
    indexes = db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
        "AND sql IS NOT NULL",
        [table],
    ).fetchall()
    for name, _sql in indexes:
        db.execute(f'DROP INDEX "{name}"')
    yield
    for _name, sql in indexes:
        db.execute(sql)


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


_CHECKS: dict[Kind, _Step] = {
    Kind.CUSTOMERS: _check_customers,
    Kind.ORDERS: _check_orders,
    Kind.PRODUCTS: _check_products,
}
