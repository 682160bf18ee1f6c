"""What every platform preset shares: the preset record, Excel's escapes, times and statuses.

A preset is data: which of the platform's columns holds each canonical field, how its ids,
times, amounts and statuses are written. :class:`Translator` turns the platform's rows into
canonical order rows (one per order line) that ``core.csvrows`` then checks like any other file,
so a row error keeps the original file's line and names the platform's own column.

A cell the translator cannot read is passed on as written: the canonical check then rejects it
with its usual reason (``'1.23457E+11' looks like a number mangled by Excel``), never silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# The canonical statuses. ``unpaid`` is the platforms' "waiting for payment": like cancelled
# and fully refunded orders, never a purchase.
PAID = "paid"
CANCELLED = "cancelled"
UNPAID = "unpaid"
REFUNDED = "refunded"
PARTIALLY_REFUNDED = "partially_refunded"
STATUSES = (PAID, CANCELLED, UNPAID, REFUNDED, PARTIALLY_REFUNDED)
EXCLUDED = frozenset({CANCELLED, UNPAID, REFUNDED})

# The canonical order fields a translator fills, in the order of its output row.
OUT_FIELDS = (
    "order_id",
    "customer_id",
    "ordered_at",
    "shipped_at",
    "delivered_at",
    "sku",
    "product",
    "category",
    "quantity",
    "amount",
    "status",
    "refunded",
    "customer_name",
    "phone",
    "email",
)


class FormatError(ValueError):
    """The file is not the export the preset describes (a missing column); names the column."""


def unescape(cell: str) -> str:
    """A cell as Excel-proof exports write it -> its text: ``="123"`` and ``'123`` -> ``123``."""
    s = cell.strip()
    if len(s) >= 3 and s[0] == "=" and s[1] == '"' and s[-1] == '"':
        return s[2:-1].replace('""', '"').strip()
    if s[:1] in ("'", "\t"):
        return s[1:].strip()
    return s


def is_masked(value: str) -> bool:
    """A value the platform masked for privacy (``138****1234``, ``张**``): shown, never a key."""
    return "*" in value


_TIME = re.compile(
    r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"
    r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?"
    r"\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)


def zone(name: str | None) -> tzinfo | None:
    """A time zone by IANA name; ``None`` (or empty) means the machine's own. Raises ValueError."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (use a name such as Asia/Shanghai)") from None


def shop_time(raw: str, shop_tz: tzinfo | None, source_tz: tzinfo | None = None) -> str:
    """A platform's timestamp -> ``YYYY-MM-DD HH:MM:SS`` in the shop's time zone.

    An offset in the text (``+0800``, ``+08:00``, ``Z``) is honoured; a time without one is
    in ``source_tz`` (a zone named by the export itself), else already the shop's. Slashes
    and one-digit months (Excel's ``2026/2/5 9:03``) are accepted. Text that is not a time is
    returned unchanged for the canonical check to reject.
    """
    s = unescape(raw)
    m = _TIME.match(s)
    if not m:
        return s
    y, mo, d, hh, mi, ss, off = m.groups()
    try:
        t = datetime(int(y), int(mo), int(d), int(hh or 0), int(mi or 0), int(ss or 0))
    except ValueError:
        return s
    aware = None
    if off:
        o = off.upper()
        if o in ("Z", "UTC", "GMT"):
            o = "+00:00"
        elif ":" not in o:
            o = o[:3] + ":" + o[3:]
        aware = datetime.fromisoformat(t.isoformat() + o)
    elif source_tz is not None:
        aware = t.replace(tzinfo=source_tz)
    if aware is not None:
        # astimezone(None) is the machine's local zone: the default shop time zone.
        t = aware.astimezone(shop_tz).replace(tzinfo=None)
    return t.isoformat(sep=" ")  # no microseconds: YYYY-MM-DD HH:MM:SS


def number(raw: str) -> float | None:
    """A money or count cell -> float; None when empty or unreadable (left to the check)."""
    s = unescape(raw).lstrip("¥￥$€£").replace(",", "").strip()
    if not s:
        return None
    try:
        return float(s)
    except ValueError:
        return None


def after_refund(status: str, refunded: str, *, closed_was_paid: bool = False) -> str:
    """``status`` adjusted by the order's refunded amount (a cell): a paid order with a refund
    is partially refunded; with ``closed_was_paid`` a closed one was paid first (refunded)."""
    if (number(refunded) or 0.0) <= 0:
        return status
    if status == PAID:
        return PARTIALLY_REFUNDED
    if closed_was_paid and status == CANCELLED:
        return REFUNDED
    return status


def money(x: float) -> str:
    return f"{x:.2f}"


StatusRule = Callable[[Mapping[str, str]], str]


@dataclass(frozen=True, slots=True)
class Preset:
    """One platform's orders export, declaratively.

    Each field names the platform's column (as its header writes it). ``customer_id`` lists
    columns tried in turn, skipping empty and masked values. ``price`` is the unit price (the
    line amount is price x quantity minus ``line_discount``) unless ``price_is_total``.
    ``order_level``: columns the platform writes only on an order's first line (Shopify),
    filled in on the order's other lines. ``status`` reads the order's cells (by column name,
    already unescaped) and returns a canonical status.
    """

    key: str
    title: str  # "Shopify orders export"
    signature: tuple[str, ...]  # header columns that together identify the export
    order_id: str
    customer_id: tuple[str, ...]
    ordered_at: str
    price: str
    status: StatusRule
    status_columns: tuple[str, ...]  # the columns ``status`` reads (named in its errors)
    quantity: str | None = None
    price_is_total: bool = False
    line_discount: str | None = None
    shipped_at: str | None = None
    delivered_at: str | None = None
    sku: tuple[str, ...] = ()  # first non-empty wins (merchant code before platform id)
    product: str | None = None
    category: str | None = None
    refunded: str | None = None
    customer_name: str | None = None
    phone: tuple[str, ...] = ()
    email: str | None = None
    timezone: str | None = None  # a column naming the zone of the export's times
    order_level: tuple[str, ...] = ()
    menu: str = ""  # where the export is found, for help and README
    optional: tuple[str, ...] = field(default=())  # columns a preset reads only when present

    def columns(self) -> tuple[str, ...]:
        """Every column the preset reads."""
        cols: list[str | None] = [
            self.order_id,
            *self.customer_id,
            self.ordered_at,
            self.price,
            *self.status_columns,
            self.quantity,
            self.line_discount,
            self.shipped_at,
            self.delivered_at,
            *self.sku,
            self.product,
            self.category,
            self.refunded,
            self.customer_name,
            *self.phone,
            self.email,
            self.timezone,
        ]
        seen: dict[str, None] = {}
        for c in cols:
            if c:
                seen[c] = None
        return tuple(seen)

    def matches(self, header: Sequence[str]) -> bool:
        names = {unescape(h) for h in header}
        return all(s in names for s in self.signature)


class Translator:
    """A platform file's rows -> canonical order rows, one batch at a time (stateful: an
    order's lines may straddle two batches).

    ``header`` is the canonical header to check the rows with: each field labelled by the
    platform column it comes from, so a row error names the column the user can find.
    ``mapping`` maps those labels to the canonical fields.
    """

    def __init__(
        self,
        preset: Preset,
        header: Sequence[str],
        shop_tz: tzinfo | None,
        *,
        side: Mapping[str, tuple[Sequence[str], Sequence[str]]] | None = None,
        side_label: str = "",
    ) -> None:
        self.preset = preset
        self.shop_tz = shop_tz
        names = [unescape(h) for h in header]
        self.index: dict[str, int] = {}
        for i, n in enumerate(names):
            self.index.setdefault(n, i)
        self.width = len(names)
        # Only the columns the preset reads are looked at (an export has dozens more).
        wanted = set(preset.columns()) | set(preset.order_level)
        self.read = [(c, i) for c, i in self.index.items() if c in wanted]
        self._times: dict[tuple[str, tzinfo | None], str] = {}
        # side: order-level columns from a second file (Taobao's 订单报表 joined to the
        # 宝贝报表 by order id): {order id: (its header, its cells)}.
        self.side = side
        missing = [
            c
            for c in preset.columns()
            if c not in self.index
            and c not in preset.optional
            and not (side is not None and c in _side_header(side))
        ]
        if missing:
            raise FormatError(
                f"not a {preset.title}: missing column{'s' if len(missing) > 1 else ''} "
                + ", ".join(missing)
            )
        self.side_label = side_label
        self._prev_order: str | None = None
        self._prev_cells: dict[str, str] = {}
        self.header, self.mapping = self._labels()

    def _labels(self) -> tuple[list[str], dict[str, str]]:
        p = self.preset
        sources: dict[str, str] = {
            "order_id": p.order_id,
            "customer_id": "/".join(p.customer_id),
            "ordered_at": p.ordered_at,
            "shipped_at": p.shipped_at or "",
            "delivered_at": p.delivered_at or "",
            "sku": "/".join(p.sku),
            "product": p.product or "",
            "category": p.category or "",
            "quantity": p.quantity or "",
            "amount": p.price,
            "status": "/".join(p.status_columns),
            "refunded": p.refunded or "",
            "customer_name": p.customer_name or "",
            "phone": "/".join(p.phone),
            "email": p.email or "",
        }
        labels: list[str] = []
        used: set[str] = set()
        for f in OUT_FIELDS:
            src = sources[f] or f
            if self.side is not None and src and self._from_side(src.split("/")[0]):
                src = f"{src} ({self.side_label})"
            label = src if src not in used else f"{src} [{f}]"
            used.add(label)
            labels.append(label)
        return labels, dict(zip(labels, OUT_FIELDS, strict=True))

    def _from_side(self, col: str) -> bool:
        return self.side is not None and col not in self.index

    def rows(self, rows: Sequence[Sequence[str]]) -> list[list[str]]:
        """Translate a batch; the output rows line up with the input rows."""
        return [self._row(r) for r in rows]

    def _row(self, row: Sequence[str]) -> list[str]:
        p = self.preset
        if len(row) != self.width and (
            len(row) < self.width or any(c.strip() for c in row[self.width :])
        ):
            # A broken row: hand on a row of the wrong width so the check reports it.
            return [""] * (len(OUT_FIELDS) + (1 if len(row) > self.width else -1))
        cells: dict[str, str] = {c: unescape(row[i]) for c, i in self.read}
        order = cells.get(p.order_id, "")
        if self.side is not None:
            got = self.side.get(order)
            if got is not None:
                for c, v in zip(got[0], got[1], strict=False):
                    cells.setdefault(c, unescape(v))
        if p.order_level:
            if order and order == self._prev_order:
                for c in p.order_level:
                    if not cells.get(c):
                        cells[c] = self._prev_cells.get(c, "")
            else:
                self._prev_order = order
                self._prev_cells = {c: cells.get(c, "") for c in p.order_level}
        return self._canonical(cells, row)

    def _canonical(self, cells: dict[str, str], row: Sequence[str]) -> list[str]:
        p = self.preset

        def get(col: str | None) -> str:
            return cells.get(col, "") if col else ""

        customer = ""
        for c in p.customer_id:
            v = get(c)
            # "0" is how exports write "no account" (a WooCommerce guest).
            if v and v != "0" and not is_masked(v):
                customer = v
                break
        source_tz = None
        if p.timezone and get(p.timezone):
            try:
                source_tz = zone(get(p.timezone))
            except ValueError:
                source_tz = None
        qty_text = get(p.quantity)
        qty = number(qty_text) if p.quantity else 1.0
        price = number(get(p.price))
        amount = get(p.price)
        if price is not None and not p.price_is_total and qty is not None:
            discount = number(get(p.line_discount)) or 0.0
            amount = money(max(price * qty - discount, 0.0))
        elif price is not None:
            amount = money(price)
        phone = next((get(c) for c in p.phone if get(c)), "")
        sku = next((get(c) for c in p.sku if get(c)), "")

        def when(col: str | None) -> str:
            v = get(col)
            if not v:
                return ""
            # An order's lines repeat its times: convert each distinct one once.
            key = (v, source_tz)
            t = self._times.get(key)
            if t is None:
                if len(self._times) > 100_000:
                    self._times.clear()
                t = self._times[key] = shop_time(v, self.shop_tz, source_tz)
            return t

        return [
            get(p.order_id),
            customer,
            when(p.ordered_at),
            when(p.shipped_at),
            when(p.delivered_at),
            sku,
            get(p.product),
            get(p.category),
            qty_text if p.quantity else "1",
            amount,
            p.status(cells),
            get(p.refunded),
            get(p.customer_name),
            phone,
            get(p.email),
        ]


def _side_header(side: Mapping[str, tuple[Sequence[str], Sequence[str]]]) -> set[str]:
    for head, _cells in side.values():
        return set(head)
    return set()


def lookup(table: Mapping[str, str], default: str | None = None) -> Callable[[str], str]:
    """A status text -> canonical status; an unknown text is returned as is (a row error)."""

    def status(text: str) -> str:
        s = text.strip()
        if not s:
            return default or PAID
        return table.get(s, table.get(s.lower(), s if default is None else default))

    return status
