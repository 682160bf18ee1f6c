"""Reading an import's file: its encoding and delimiter, its records in batches, converted
(``core.csvrows``) in a worker process for a big file; and the reject file written back.

No staging here: :func:`converted` yields messages (the plan, batches of converted records
and rejects, the row count) that ``store.import_stage`` inserts. Only :func:`write_rejects`
reads the database (the rejects table).
"""

from __future__ import annotations

import codecs
import csv
import gc
import io
import marshal
import multiprocessing as mp
import operator
import os
import pickle
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from itertools import chain, compress, islice, repeat
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, cast

import sqlite_utils

from tui_agent.core.csvrows import (
    CsvFileError,
    Kind,
    convert_rows,
    field_names,
    plan_header,
)
from tui_agent.core.textcodec import EncodingDoubt, bom_encoding, judge

Progress = Callable[[int, int], None]  # (bytes read, total bytes)
# A platform export's pre-translation (core.formats): given the file's header, the canonical
# header to check with, its column mapping, and a function turning each batch of the file's
# rows into canonical rows (same count, same order, so lines keep the file's numbers).
BatchFn = Callable[[list[list[str]]], list[list[str]]]
Translate = Callable[[list[str]], tuple[list[str], Mapping[str, str], BatchFn]]
BATCH = 5000
PROGRESS_EVERY = 16384  # rows


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


def sniff_delimiter(given: str | None, path: Path, encoding: str) -> str:
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
def records(
    path: Path, encoding: str, progress: Progress | None, delimiter: str = ","
) -> Iterator[Records]:
    """Yield (start line, cells) for every non-blank record; the header comes first."""
    with _batches(path, encoding, progress, delimiter=delimiter) as batches:
        yield (
            (line, row) for lines, rows in batches for line, row in zip(lines, rows, strict=True)
        )


# A big file is parsed and converted in a worker process while this one inserts into the
# staging table: the two halves take about the same time, and the machine has a second core.
PIPELINE_MIN_BYTES = 16 << 20


Msg = tuple[object, ...]


LoadArgs = tuple[Kind, Path, str, "Mapping[str, str] | None", "Translate | None", float, str]


@contextmanager
def converted(args: LoadArgs, progress: Progress | None) -> Iterator[Iterator[Msg]]:
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

    def messages() -> Iterator[Msg]:
        while True:
            try:
                msg = _loads(receiver.recv_bytes())
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


def _send(sender: Connection, msg: Msg) -> None:
    """A batch of rows marshalled (plain str, int, float and None: about twice as fast as
    pickle both ways, ~0.2 s of the worker's CPU at 1M lines), anything else pickled."""
    if msg[0] == "rows":
        try:
            data = marshal.dumps(cast("tuple[Any, ...]", msg))
        except ValueError:  # a value marshal does not know
            pass
        else:
            sender.send_bytes(data)
            return
    sender.send(msg)


def _loads(data: bytes) -> Msg:
    """What :func:`_send` sent: a pickle (``Connection.send``) starts with its PROTO opcode
    (0x80), which never starts a marshalled tuple."""
    msg: Msg = pickle.loads(data) if data[:1] == b"\x80" else marshal.loads(data)
    return msg


def _convert_worker(args: LoadArgs, sender: Connection) -> None:  # pragma: no cover - forked
    """The worker's side: send each message; an error is sent too (the parent raises it). A
    parent gone (killed) closes the pipe, and the next send ends this process."""
    gc.disable()

    def progress(done: int, total: int) -> None:
        sender.send(("progress", done, total))

    try:
        for msg in _convert_file(*args, progress):
            _send(sender, msg)
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
) -> Iterator[Msg]:
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
    whose lines are scattered gets duplicate ordinals here; the importer spots that
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


def write_rejects(
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
            records(path, encoding, None, delimiter) as recs,
        ):
            writer = csv.writer(f)
            header = next(recs)[1]
            width = len(header)
            writer.writerow([*header, "line", "column", "reason"])
            pending = cursor.fetchone()
            for line, row in recs:
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
