"""Importing a shop platform's own orders export (Shopify, Taobao/Tmall, JD, Douyin,
WooCommerce) through the orders importer.

The platform file is read as it is (its encoding detected as for any CSV); each batch of its
rows is translated by the format's preset (``core.formats``) into canonical rows before the
usual checks, so a row error names the platform file's own line and column. Taobao's
订单报表 (orders) and 宝贝报表 (items) are joined by 订单编号: the items file is read row by
row, the orders file is held in memory as {order id: its row} (one row per order).
"""

from __future__ import annotations

import csv
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path

import sqlite_utils

from tui_agent.core.csvrows import CsvFileError, ImportResult, Kind, field_names, plan_header
from tui_agent.core.formats import (
    PRESETS,
    FormatError,
    Preset,
    Translator,
    recognise,
    shop_time,
    taobao,
    unescape,
)
from tui_agent.store import importer
from tui_agent.store.csvread import sniff_delimiter


@dataclass(frozen=True, slots=True)
class PlatformImport:
    """What was imported: the result, the preset used (None: canonical) and the file whose
    lines the row errors refer to."""

    result: ImportResult
    preset: Preset | None
    path: Path
    side_path: Path | None = None


def _rows(path: Path, encoding: str, delimiter: str | None = None) -> list[list[str]]:
    try:
        sep = sniff_delimiter(delimiter, path, encoding)
        with open(path, encoding=encoding, newline="") as f:
            return [r for r in csv.reader(f, delimiter=sep) if r and any(c.strip() for c in r)]
    except (UnicodeDecodeError, LookupError):
        raise CsvFileError("cannot be read (try --encoding utf-8 or gbk)") from None
    except csv.Error as exc:
        raise CsvFileError(f"broken CSV: {exc}") from None


def read_header(path: Path, encoding: str | None = None, delimiter: str | None = None) -> list[str]:
    """The file's first non-blank row (for recognising the format), its cells separated as
    the import will read them (a tab-separated "Unicode text" export from Excel too)."""
    try:
        enc = importer.normalise_encoding(encoding, path)
        sep = sniff_delimiter(delimiter, path, enc)
        with open(path, encoding=enc, newline="") as f:
            for row in csv.reader(f, delimiter=sep):
                if row and any(c.strip() for c in row):
                    return row
    except (UnicodeDecodeError, LookupError):
        raise CsvFileError("cannot be read (try --encoding utf-8 or gbk)", line=1) from None
    except csv.Error as exc:
        raise CsvFileError(f"broken CSV: {exc}", line=1) from None
    raise CsvFileError("the file is empty (no header row)")


def identify(
    path: Path, encoding: str | None = None, delimiter: str | None = None
) -> Preset | None:
    """The platform export the file's header names, or None."""
    return recognise(read_header(path, encoding, delimiter))


class SideFileError(Exception):
    """The second file of a pair (Taobao's 订单报表) is not usable; ``path`` names it."""

    def __init__(self, path: Path, error: CsvFileError):
        super().__init__(error.message)
        self.path = path
        self.error = error


def import_platform_orders(
    db: sqlite_utils.Database,
    files: Sequence[Path],
    *,
    fmt: str | None,
    shop_tz: tzinfo | None,
    mapping: Mapping[str, str] | None = None,
    skip_bad: bool = False,
    rejects: Path | None = None,
    encoding: str | None = None,
    progress: importer.Progress | None = None,
    max_amount: float | None = None,
    delimiter: str | None = None,
) -> PlatformImport:
    """Import one platform export (or Taobao's two files). ``fmt`` None: recognised from the
    header; ``"canonical"``: the project's own CSV. Raises CsvFileError (about ``files[0]``),
    SideFileError, BadRowsError as :func:`importer.import_orders`."""
    # Each file's encoding is settled once (detecting it reads the whole file) and handed on.
    encodings = {f: importer.normalise_encoding(encoding, f) for f in files}
    presets = [identify(f, encodings[f], delimiter) for f in files]
    main, preset = files[0], presets[0]
    if fmt == "canonical":
        preset = None
    elif fmt is not None:
        if fmt == "taobao":
            preset = presets[0] if presets[0] in (taobao.PRESET, taobao.LINES) else taobao.PRESET
        else:
            preset = PRESETS[fmt]
    side: dict[str, tuple[Sequence[str], Sequence[str]]] | None = None
    side_path: Path | None = None
    if len(files) > 1:
        if fmt not in (None, "taobao") or not {taobao.PRESET, taobao.LINES} <= set(presets):
            raise CsvFileError(
                "two files are joined only for Taobao/Tmall: the 订单报表 and its 宝贝报表"
            )
        i = presets.index(taobao.LINES)
        main, side_path = files[i], files[1 - i]
        preset = taobao.LINES
        side = _orders_by_id(side_path, encodings[side_path], delimiter)
    elif preset is taobao.LINES:
        raise CsvFileError(
            "a 宝贝报表 alone has no buyer or order time: give its 订单报表 too "
            "(FILE --lines 宝贝报表.csv)"
        )
    if mapping and preset is not None:
        raise CsvFileError("--map is for the canonical format only")
    if preset is None:
        translate = _canonical_times(shop_tz, mapping)
    else:
        translate = _translate(preset, shop_tz, side)
    result = importer.import_orders(
        db,
        main,
        skip_bad=skip_bad,
        rejects=rejects,
        encoding=encodings[main],
        progress=progress,
        translate=translate,
        max_amount=max_amount,
        delimiter=delimiter,
    )
    return PlatformImport(result, preset, main, side_path)


def _translate(
    preset: Preset,
    shop_tz: tzinfo | None,
    side: Mapping[str, tuple[Sequence[str], Sequence[str]]] | None,
) -> importer.Translate:
    def start(header: list[str]) -> tuple[list[str], Mapping[str, str], importer.BatchFn]:
        try:
            t = Translator(preset, header, shop_tz, side=side, side_label="订单报表")
        except FormatError as exc:
            raise CsvFileError(str(exc), line=1) from None
        return t.header, t.mapping, t.rows

    return start


_TIME_FIELDS = ("ordered_at", "shipped_at", "delivered_at")
_PLAIN_TIME_LEN = len("YYYY-MM-DD HH:MM:SS")


def _canonical_times(
    shop_tz: tzinfo | None, mapping: Mapping[str, str] | None
) -> importer.Translate:
    """The canonical CSV as it is, except times with a UTC offset, converted to the shop's
    zone. A batch whose time cells are all short enough to have no offset (the usual case) is
    passed on untouched: one C-level length check per column."""

    def start(header: list[str]) -> tuple[list[str], Mapping[str, str], importer.BatchFn]:
        plan = plan_header(Kind.ORDERS, header, mapping)
        names = field_names(Kind.ORDERS)
        cols = [plan.columns[names.index(f)] for f in _TIME_FIELDS]
        present = [c for c in cols if c is not None]

        def batch(rows: list[list[str]]) -> list[list[str]]:
            for c in present:
                try:
                    longest = max(map(len, map(operator.itemgetter(c), rows)))
                except IndexError:  # a short row: converted one by one below
                    longest = _PLAIN_TIME_LEN + 1
                if longest <= _PLAIN_TIME_LEN:
                    continue
                for row in rows:
                    if c < len(row) and len(row[c].strip()) > _PLAIN_TIME_LEN:
                        row[c] = shop_time(row[c], shop_tz)
            return rows

        return header, mapping or {}, batch

    return start


def _orders_by_id(
    path: Path, encoding: str, delimiter: str | None
) -> dict[str, tuple[Sequence[str], Sequence[str]]]:
    try:
        rows = _rows(path, encoding, delimiter)
    except CsvFileError as exc:
        raise SideFileError(path, exc) from None
    if not rows:
        raise SideFileError(path, CsvFileError("the file is empty (no header row)"))
    header = [unescape(h) for h in rows[0]]
    try:
        key = header.index(taobao.PRESET.order_id)
    except ValueError:
        raise SideFileError(
            path, CsvFileError(f"no column {taobao.PRESET.order_id}", line=1)
        ) from None
    out: dict[str, tuple[Sequence[str], Sequence[str]]] = {}
    for row in rows[1:]:
        if key < len(row):
            out.setdefault(unescape(row[key]), (header, row))
    return out
