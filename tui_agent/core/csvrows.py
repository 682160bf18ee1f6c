"""Pure validation of the shop's CSV files: canonical columns, header mapping, row -> record.

No file or database access here: the store's importer streams the file and hands each row to
:func:`convert_row`; what comes back is either a typed record ready for the database (every
value already in its stored form) or the list of problems with that row, each naming the
column and the reason.
"""

from __future__ import annotations

import math
import operator
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from itertools import repeat
from pathlib import Path
from typing import Any, cast

from tui_agent.core import tomltext
from tui_agent.core.privacy import mask_phones
from tui_agent.core.safetext import BIDI, clean_cell

MAX_TEXT = 1000  # a name, tag list or product title longer than this is a broken export
MAX_ID = 200
# An order line above this is a broken export (1e308 once made a shop's revenue inf);
# `import --max-amount` or `[import] max_line_amount` in config.toml change it.
DEFAULT_MAX_LINE_AMOUNT = 1_000_000.0
MAX_REPORTED = 20  # errors kept in memory for the message; the reject file has them all


class Kind(StrEnum):
    """What a CSV file holds."""

    CUSTOMERS = "customers"
    ORDERS = "orders"
    PRODUCTS = "products"


class CsvFileError(Exception):
    """The file as a whole cannot be imported (encoding, header, mapping, broken quoting)."""

    def __init__(self, message: str, *, line: int | None = None, column: str | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column

    def format(self, path: str | Path) -> str:
        where = f"{path}:{self.line}" if self.line else str(path)
        col = f" column {self.column}:" if self.column else ""
        return mask_phones(f"{where}:{col} {self.message}")


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem with one record: the physical line it starts on, the column, the reason."""

    line: int
    column: str
    reason: str

    def format(self, path: str | Path) -> str:
        # The reason may quote the cell; a phone number in the wrong column must not leak.
        return mask_phones(f"{path}:{self.line}: column {self.column}: {self.reason}")


@dataclass
class ImportResult:
    """What an import did (or, when it raised :class:`BadRowsError`, what it found wrong)."""

    kind: Kind
    path: Path
    encoding: str = "utf-8"
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0  # bad rows (with --skip-bad: not imported, written to the reject file)
    removed: int = 0  # order lines no longer in a re-imported order
    moved: int = 0  # orders re-exported under another customer (moved to them)
    orders: int = 0  # distinct orders in an orders file (imported ones)
    customers_created: int = 0  # customers first seen in an orders file
    excluded: int = 0  # orders of the file kept out of the purchases (cancelled, unpaid, refunded)
    errors: list[RowError] = field(default_factory=list)  # the first MAX_REPORTED
    error_count: int = 0
    rejects_path: Path | None = None
    ignored_columns: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line for the terminal."""
        parts = [
            f"{self.rows_read} rows read",
            f"{self.inserted} inserted",
            f"{self.updated} updated",
            f"{self.unchanged} unchanged",
            f"{self.rejected} rejected",
        ]
        if self.removed:
            parts.append(f"{self.removed} stale lines removed")
        if self.moved:
            parts.append(f"{self.moved} orders moved to another customer")
        extra = ""
        if self.kind is Kind.ORDERS:
            extra = f" ({self.orders} orders, {self.customers_created} new customers"
            if self.excluded:
                extra += f", {self.excluded} cancelled/unpaid/refunded orders kept out"
            extra += ")"
        return f"{self.path.name}: {self.kind.value}: " + ", ".join(parts) + extra


class BadRowsError(Exception):
    """Some rows are bad and ``skip_bad`` was off: nothing was written."""

    def __init__(self, result: ImportResult):
        super().__init__(f"{result.rejected} bad rows")
        self.result = result


# --- converters: raw cell text -> stored value, or ValueError(reason) ------------------------

_EXCEL_SCI = re.compile(r"^[+-]?\d(\.\d+)?[eE]\+\d+$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?$")
_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")
_GROUPED = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_TAG_SPLIT = re.compile(r"[,，;；]")
_TRUE = frozenset({"1", "true", "yes", "y", "t", "是", "x"})
_FALSE = frozenset({"", "0", "false", "no", "n", "f", "否"})

Converter = Callable[[str], object]


def _text(raw: str) -> str | None:
    # Control characters are cleaned at the door (see core.safetext): what is stored is what
    # every screen and command shows, and what a touch logs.
    s = clean_cell(raw.strip()).strip()
    if not s:
        return None
    if len(s) > MAX_TEXT:
        raise ValueError(f"longer than {MAX_TEXT} characters ({len(s)})")
    return s


def _ident(raw: str) -> str | None:
    s = clean_cell(raw.strip()).strip()
    if not s:
        return None
    if len(s) > MAX_ID:
        raise ValueError(f"id longer than {MAX_ID} characters ({len(s)})")
    if _EXCEL_SCI.match(s):
        raise ValueError(f"{s!r} looks like a number mangled by Excel; export the column as text")
    return s


def _datetime(raw: str) -> str | None:
    s = raw.strip()
    if not s:
        return None
    if not _DATETIME.match(s):
        raise ValueError(f"{_show(s)} is not a date (YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS])")
    try:
        datetime.fromisoformat(s)
    except ValueError:
        raise ValueError(f"{_show(s)} is not a real date") from None
    return _stored_datetime(s)


def _stored_datetime(s: str) -> str:
    """A checked date or date-time in its stored form ``YYYY-MM-DD HH:MM:SS``."""
    n = len(s)
    if n == 10:
        return s + " 00:00:00"
    if s[10] == "T":
        s = s[:10] + " " + s[11:]
    return s + ":00" if n == 16 else s


def _birthday(raw: str) -> str | None:
    s = raw.strip()
    if not s:
        return None
    m = _MONTH_DAY.match(s)
    if m:  # year unknown: stored as 0000-MM-DD; 2000 is a leap year, so Feb 29 passes
        try:
            date(2000, int(m.group(1)), int(m.group(2)))
        except ValueError:
            raise ValueError(f"{_show(s)} is not a real month-day") from None
        return "0000-" + s
    value = _datetime(s)
    assert value is not None
    return value[:10]


def _lunar_birthday(raw: str) -> str | None:
    """A lunar (农历) month-day, ``MM-DD`` or ``闰MM-DD`` in a leap month."""
    s = raw.strip()
    if not s:
        return None
    from tui_agent.core.kinds.lunar import parse_lunar_md

    try:
        month, day, leap = parse_lunar_md(s)
    except ValueError:
        raise ValueError(f"{_show(s)} is not a lunar month-day (MM-DD or 闰MM-DD)") from None
    return f"{'闰' if leap else ''}{month:02d}-{day:02d}"


def _number(s: str) -> float:
    try:
        x = float(s)
    except ValueError:
        t = s.lstrip("¥￥$").strip()
        if _GROUPED.match(t):
            t = t.replace(",", "")
        try:
            x = float(t)
        except ValueError:
            raise ValueError(f"{_show(s)} is not a number") from None
    if "_" in s or not math.isfinite(x):
        raise ValueError(f"{_show(s)} is not a number")
    return x


def _amount(raw: str) -> float | None:
    s = raw.strip()
    if not s:
        return None
    x = _number(s)
    if x < 0:
        raise ValueError(f"negative amount {_show(s)}")
    return x


def _count(what: str, minimum: int, maximum: int) -> Converter:
    def convert(raw: str) -> int | None:
        s = raw.strip()
        if not s:
            return None
        x = _number(s)
        if x != int(x):
            raise ValueError(f"{_show(s)} is not a whole number")
        if x < minimum:
            raise ValueError(f"negative {what} {_show(s)}" if x < 0 else f"{what} below {minimum}")
        if x > maximum:
            raise ValueError(f"{what} {_show(s)} is too large (at most {maximum})")
        return int(x)

    return convert


def _bool(raw: str) -> int:
    s = raw.strip().lower()
    if s in _FALSE:
        return 0
    if s in _TRUE:
        return 1
    raise ValueError(f"{_show(s)} is not yes/no (use 1/0, true/false, yes/no, 是/否)")


def _tags(raw: str) -> str | None:
    s = _text(raw)
    if s is None:
        return None
    tags = [t.strip() for t in _TAG_SPLIT.split(s)]
    return ",".join(t for t in tags if t) or None


_LANGUAGES = {"zh": "zh", "中文": "zh", "chinese": "zh", "en": "en", "英文": "en", "english": "en"}


def _language(raw: str) -> str:
    """The customer's language for phrase variants: ``zh`` (the default) or ``en``, or any
    two-letter code; ``zh-CN`` and ``en_US`` style tags keep their language part."""
    s = raw.strip().lower()
    if not s:
        return "zh"
    if s in _LANGUAGES:
        return _LANGUAGES[s]
    base = s.replace("_", "-").split("-")[0]
    if len(base) == 2 and base.isascii() and base.isalpha():
        return base
    raise ValueError(f"{_show(raw)} is not a language (use zh, en or a two-letter code)")


# An order's status (see core.formats.base.STATUSES): cancelled, unpaid and refunded orders are
# kept apart from the purchases; a partial refund reduces the order's amount.
_STATUSES = ("paid", "cancelled", "unpaid", "refunded", "partially_refunded")


def _status(raw: str) -> str:
    s = raw.strip().lower()
    if not s:
        return "paid"
    if s in _STATUSES:
        return s
    raise ValueError(f"{_show(raw)} is not an order status (use {', '.join(_STATUSES)})")


def _show(s: str) -> str:
    return repr(s if len(s) <= 40 else s[:37] + "...")


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    convert: Converter
    required: bool = False


_QUANTITY = _count("quantity", 0, 1_000_000)

FIELDS: dict[Kind, tuple[FieldSpec, ...]] = {
    Kind.CUSTOMERS: (
        FieldSpec("customer_id", _ident, required=True),
        FieldSpec("name", _text),
        FieldSpec("phone", _text),
        FieldSpec("email", _text),
        FieldSpec("wechat", _text),
        FieldSpec("birthday", _birthday),
        FieldSpec("tier", _text),
        FieldSpec("points", _count("points", 0, 10**12)),
        FieldSpec("opt_out", _bool),
        FieldSpec("tags", _tags),
        FieldSpec("language", _language),
        FieldSpec("lunar_birthday", _lunar_birthday),
    ),
    Kind.ORDERS: (
        FieldSpec("order_id", _ident, required=True),
        FieldSpec("customer_id", _ident, required=True),
        FieldSpec("ordered_at", _datetime, required=True),
        FieldSpec("shipped_at", _datetime),
        FieldSpec("delivered_at", _datetime),
        FieldSpec("sku", _ident),
        FieldSpec("product", _text),
        FieldSpec("category", _text),
        FieldSpec("quantity", _QUANTITY),
        FieldSpec("amount", _amount, required=True),
        # Optional, appended (positions above are used by index): the order's status and
        # refunded amount, and the buyer's details as the platform's export gives them.
        FieldSpec("status", _status),
        FieldSpec("refunded", _amount),
        FieldSpec("customer_name", _text),
        FieldSpec("phone", _text),
        FieldSpec("email", _text),
    ),
    Kind.PRODUCTS: (
        FieldSpec("sku", _ident, required=True),
        FieldSpec("name", _text, required=True),
        FieldSpec("category", _text),
        FieldSpec("cycle_days", _count("cycle_days", 1, 3650)),
        FieldSpec("related_sku", _ident),
    ),
}


def field_names(kind: Kind) -> tuple[str, ...]:
    """The canonical columns of a kind of file, in their documented order."""
    return tuple(f.name for f in FIELDS[kind])


# --- mapping ---------------------------------------------------------------------------------


def parse_mapping_items(items: Iterable[str]) -> dict[str, str]:
    """``csv_col=field`` strings (``--map``) -> {csv column: field}. Raises ValueError."""
    mapping: dict[str, str] = {}
    for item in items:
        # Split on the last '=': a field name never holds one, a column title might.
        col, sep, fld = item.rpartition("=")
        if not sep or not col.strip() or not fld.strip():
            raise ValueError(f"--map {item!r}: expected CSV_COLUMN=FIELD")
        mapping[col.strip()] = fld.strip()
    return mapping


def parse_mapping_text(text: str) -> dict[str, str]:
    """A mapping file: TOML (``"客户ID" = "customer_id"``) or plain ``column=field`` lines."""
    try:
        data = tomltext.loads(text)
    except tomltext.TooDeeplyNested:
        raise ValueError(f"mapping file: {tomltext.TOO_DEEP}") from None
    except tomllib.TOMLDecodeError:
        lines = [
            ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")
        ]
        return parse_mapping_items(lines)
    mapping: dict[str, str] = {}
    for key, value in data.items():
        if not isinstance(value, str):
            raise ValueError(f"mapping file: {key!r} must map to a field name (a string)")
        mapping[key.strip()] = value.strip()
    return mapping


@dataclass(frozen=True, slots=True)
class Plan:
    """Which CSV column feeds which field, decided once from the header."""

    kind: Kind
    header: tuple[str, ...]
    columns: tuple[int | None, ...]  # per field of FIELDS[kind]: CSV column index or None
    labels: tuple[str, ...]  # per field: how errors name the column
    ignored: tuple[str, ...]
    max_amount: float = DEFAULT_MAX_LINE_AMOUNT  # per order line

    @property
    def present(self) -> tuple[str, ...]:
        """Fields the file provides (an import updates only these)."""
        specs = FIELDS[self.kind]
        return tuple(s.name for s, c in zip(specs, self.columns, strict=True) if c is not None)


def plan_header(
    kind: Kind,
    header: list[str],
    mapping: Mapping[str, str] | None = None,
    max_amount: float = DEFAULT_MAX_LINE_AMOUNT,
) -> Plan:
    """Match the header (and ``--map``) to the canonical fields. Raises CsvFileError (line 1)."""
    specs = FIELDS[kind]
    names = [f.name for f in specs]
    clean = [clean_cell(h.strip()).strip() for h in header]
    if not any(clean):
        raise CsvFileError("the header row is empty", line=1)
    index: dict[str, int] = {}
    for i, h in enumerate(clean):
        if h in index:
            # Which of the two would be read is a guess: say so instead of ignoring one.
            raise CsvFileError(
                f"duplicate column {h!r} (columns {index[h] + 1} and {i + 1}); "
                "rename or remove one",
                line=1,
                column=h,
            )
        if h:
            index[h] = i
    taken: dict[str, int] = {}
    for col, fld in (mapping or {}).items():
        if fld not in names:
            raise CsvFileError(
                f"--map {col}={fld}: unknown field {fld!r} for {kind.value} "
                f"(fields: {', '.join(names)})",
                line=1,
            )
        if col not in index:
            raise CsvFileError(
                f"--map {col}={fld}: the header has no column {col!r} "
                f"(columns: {', '.join(h for h in clean if h)})",
                line=1,
                column=col,
            )
        if fld in taken:
            raise CsvFileError(f"--map: two columns map to {fld!r}", line=1, column=col)
        taken[fld] = index[col]
    mapped_cols = set(taken.values())
    for i, h in enumerate(clean):
        key = h.lower()
        if i not in mapped_cols and key in names and key not in taken:
            taken[key] = i
    used = set(taken.values())
    columns = tuple(taken.get(n) for n in names)
    labels = tuple(
        _label(clean[c], n) if c is not None else n for n, c in zip(names, columns, strict=True)
    )
    missing = [s.name for s, c in zip(specs, columns, strict=True) if s.required and c is None]
    if missing:
        raise CsvFileError(
            f"missing required column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(use --map CSV_COLUMN=FIELD for other exports)",
            line=1,
        )
    ignored = tuple(h for i, h in enumerate(clean) if i not in used and h)
    return Plan(kind, tuple(clean), columns, labels, ignored, max_amount)


def _label(column: str, fld: str) -> str:
    return column if column == fld else f"{column} ({fld})"


# --- rows ------------------------------------------------------------------------------------

Record = tuple[object, ...]


def convert_row(plan: Plan, row: list[str], line: int) -> tuple[Record | None, list[RowError]]:
    """One CSV record -> (record with one value per field of FIELDS[kind], []) or (None, errors).

    ``line`` is the physical line the record starts on. Cells are text as written; a cell
    starting with ``=``, ``+``, ``-`` or ``@`` is kept as text and never evaluated.
    """
    errors: list[RowError] = []
    width = len(plan.header)
    if len(row) != width and (len(row) < width or any(c.strip() for c in row[width:])):
        errors.append(RowError(line, "-", f"row has {len(row)} fields, the header has {width}"))
        return None, errors
    values: list[object] = []
    for spec, col, label in zip(FIELDS[plan.kind], plan.columns, plan.labels, strict=True):
        if col is None:
            values.append(None)
            continue
        try:
            value = spec.convert(row[col])
        except ValueError as exc:
            errors.append(RowError(line, label, str(exc)))
            values.append(None)
            continue
        if value is None and spec.required:
            errors.append(RowError(line, label, "required value is empty"))
        values.append(value)
    if plan.kind is Kind.ORDERS and not errors:
        _check_order_dates(plan, values, line, errors)
        amount = values[_AMOUNT]
        if isinstance(amount, float) and amount > plan.max_amount:
            errors.append(
                RowError(
                    line,
                    plan.labels[_AMOUNT],
                    f"amount {amount:g} is too large "
                    f"(at most {plan.max_amount:g} per line; see --max-amount)",
                )
            )
    if errors:
        return None, errors
    if plan.kind is Kind.ORDERS and values[_QTY] is None:
        values[_QTY] = 1
    return tuple(values), errors


_ORDER_NAMES = field_names(Kind.ORDERS)
_ORDERED = _ORDER_NAMES.index("ordered_at")
_SHIPPED = _ORDER_NAMES.index("shipped_at")
_DELIVERED = _ORDER_NAMES.index("delivered_at")
_QTY = _ORDER_NAMES.index("quantity")
_AMOUNT = _ORDER_NAMES.index("amount")


def _check_order_dates(plan: Plan, values: list[object], line: int, errors: list[RowError]) -> None:
    ordered = values[_ORDERED]
    assert isinstance(ordered, str)
    for i in (_SHIPPED, _DELIVERED):
        v = values[i]
        # Stored text sorts chronologically, so a string comparison is a date comparison.
        if isinstance(v, str) and v < ordered:
            errors.append(RowError(line, plan.labels[i], f"{v} is before ordered_at {ordered}"))


# --- batches: the same results as convert_row, column by column ------------------------------
#
# Per-row conversion costs ~10 µs in CPython; a million-line orders file needs much less. Most
# batches are clean, so each column is first checked with one regular expression over the
# joined column and converted with C-level map(); anything unusual in a batch (a bad cell,
# surrounding spaces, an embedded newline, a currency sign) sends that whole batch through
# convert_row, which is the reference. Both paths must give identical records.

LinedRecord = tuple[object, ...]  # (line, *record)


class _Slow(Exception):
    """This batch needs the per-row path."""


# Every character str.isspace() accepts (tests check the list is complete).
WHITESPACE = frozenset(
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
    "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
# One regex scan finds them; iterating the characters in Python would cost more than parsing.
_ODD_SPACE = re.compile("[" + re.escape("".join(sorted(WHITESPACE - {" ", "\n"}))) + "]")
# What clean_cell would change, but for the newlines that join the column.
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029" + BIDI + "]")
_SCI_CELL = re.compile(r"^[+-]?\d(\.\d+)?[eE]\+\d+$", re.M)
# ASCII digits and in-range times only: a column that passes needs just its calendar days
# checked. Anything else (a Unicode digit, 24:00) goes the per-row way, the reference.
_DAY_RE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_TIME_RE = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]"
_DT_COLUMN = re.compile(rf"(?:(?:{_DAY_RE}(?:[ T]{_TIME_RE}(?::[0-5][0-9])?)?)?\n)*")
_DT_STORED_COLUMN = re.compile(rf"(?:(?:{_DAY_RE} {_TIME_RE}:[0-5][0-9])?\n)*")
_DAY_OF = operator.itemgetter(slice(0, 10))
_AMOUNT_COLUMN = re.compile(r"(?:(?:\d+(?:\.\d+)?)?\n)*")
_INT_COLUMN = re.compile(r"(?:\d*\n)*")
_BOOL_FAST = {"": 0, "0": 0, "1": 1}


def _joined(col: tuple[str, ...]) -> str:
    joined = "\n".join(col)
    if joined.count("\n") != len(col) - 1:  # a cell holds a newline
        raise _Slow
    return joined


def _fast_text(col: tuple[str, ...], limit: int, sci: bool) -> list[str | None]:
    joined = _joined(col)
    # A cell with surrounding whitespace needs strip(): leave it to the per-row path. Spaces
    # inside a cell are common ("奶瓶 大装"); other whitespace is rare enough to just go slow.
    if (
        _ODD_SPACE.search(joined)
        or _CONTROL.search(joined)
        or "\n " in joined
        or " \n" in joined
        or joined[:1] == " "
        or joined[-1:] == " "
        or max(map(len, col)) > limit
    ):
        raise _Slow
    if sci and ("E+" in joined or "e+" in joined) and _SCI_CELL.search(joined):
        raise _Slow
    return [s or None for s in col] if "" in col else list(col)


def _fast_datetime(col: tuple[str, ...]) -> list[str | None]:
    joined = _joined(col) + "\n"
    stored = _DT_STORED_COLUMN.fullmatch(joined) is not None
    if not stored and not _DT_COLUMN.fullmatch(joined):
        raise _Slow
    # The pattern checked the times; a batch spans few calendar days, so check each once.
    days = set(map(_DAY_OF, col))
    days.discard("")
    try:
        for day in days:
            date.fromisoformat(day)
    except ValueError:
        raise _Slow from None
    if stored:
        return [s or None for s in col] if "" in col else list(col)
    # Lines of one order repeat its dates: normalise each distinct value once.
    canon: dict[str, str | None] = {s: _stored_datetime(s) for s in set(col) if s}
    canon[""] = None
    return list(map(canon.__getitem__, col))


def _fast_amount(col: tuple[str, ...]) -> list[float | None]:
    if not _AMOUNT_COLUMN.fullmatch(_joined(col) + "\n"):
        raise _Slow
    if "" in col:
        return [float(s) if s else None for s in col]
    return list(map(float, col))


def _fast_int(col: tuple[str, ...], minimum: int, maximum: int) -> list[int | None]:
    if not _INT_COLUMN.fullmatch(_joined(col) + "\n"):
        raise _Slow
    values: list[int | None] = [int(s) if s else None for s in col]
    present = [v for v in values if v is not None]
    if present and (min(present) < minimum or max(present) > maximum):
        raise _Slow
    return values


def _fast_bool(col: tuple[str, ...]) -> list[int]:
    if not set(col) <= _BOOL_FAST.keys():
        raise _Slow
    return list(map(_BOOL_FAST.__getitem__, col))


_INT_RANGES: dict[str, tuple[int, int]] = {
    "points": (0, 10**12),
    "quantity": (0, 1_000_000),
    "cycle_days": (1, 3650),
}


def _fast_column(spec: FieldSpec, col: tuple[str, ...]) -> list[Any]:
    conv = spec.convert
    if conv is _ident:
        return _fast_text(col, MAX_ID, True)
    if conv is _text:
        return _fast_text(col, MAX_TEXT, False)
    if conv is _datetime:
        return _fast_datetime(col)
    if conv is _amount:
        return _fast_amount(col)
    if conv is _bool:
        return _fast_bool(col)
    if spec.name in _INT_RANGES:
        return _fast_int(col, *_INT_RANGES[spec.name])
    try:
        return list(map(conv, col))
    except ValueError:
        raise _Slow from None


def convert_rows(
    plan: Plan, rows: list[list[str]], lines: list[int]
) -> tuple[list[LinedRecord], list[RowError]]:
    """Convert a batch: (good records as (line, *values), errors). Same results as
    :func:`convert_row` applied to each row."""
    try:
        return _convert_fast(plan, rows, lines), []
    except _Slow:
        pass
    good: list[LinedRecord] = []
    errors: list[RowError] = []
    for row, line in zip(rows, lines, strict=True):
        record, errs = convert_row(plan, row, line)
        if record is None:
            errors.extend(errs)
        else:
            good.append((line, *record))
    return good, errors


def _convert_fast(plan: Plan, rows: list[list[str]], lines: list[int]) -> list[LinedRecord]:
    if not rows:
        return []
    if set(map(len, rows)) != {len(plan.header)}:
        raise _Slow
    cells = list(zip(*rows, strict=True))
    columns: list[Iterable[object]] = []
    for spec, col in zip(FIELDS[plan.kind], plan.columns, strict=True):
        if col is None:
            columns.append(repeat(None))
            continue
        values = _fast_column(spec, cells[col])
        if spec.required and None in values:
            raise _Slow
        columns.append(values)
    if plan.kind is Kind.ORDERS:
        # amount is required: a list of floats here, None-free (checked above)
        if max(cast("list[float]", columns[_AMOUNT])) > plan.max_amount:
            raise _Slow
        ordered = columns[_ORDERED]
        for i in (_SHIPPED, _DELIVERED):
            if plan.columns[i] is not None and any(
                d is not None and d < o  # type: ignore[operator]
                for d, o in zip(columns[i], ordered, strict=False)
            ):
                raise _Slow
        qty = columns[_QTY]
        if plan.columns[_QTY] is None:
            columns[_QTY] = repeat(1)
        elif None in qty:
            columns[_QTY] = [1 if q is None else q for q in qty]
    return list(zip(lines, *columns, strict=False))
