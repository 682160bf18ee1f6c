"""Filling a phrase's placeholders from the customer's record and latest order.

A phrase file is data, never code. The template language is deliberately tiny and parsed
here by hand (``str.format`` is never used): a placeholder is a bare name from
:data:`PLACEHOLDERS`, with an optional date format and an optional fallback::

    {name}                    the customer's name
    {name|亲}                 the name, or 亲 when the record has none
    {delivered_at:%m月%d日}   a date in the given format (%Y %y %m %d %-m %-d %H %M %%)
    {delivered_at:%-m月%-d日|最近}   format and fallback together
    {{ and }}                 literal braces

Anything else inside braces (attribute or index access, positional fields, conversions such
as ``!r``, padding or width specs, unknown names) raises :class:`TemplateError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from tui_agent.core.models import Customer, Order


class Kind(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"


@dataclass(frozen=True, slots=True)
class Placeholder:
    """One known placeholder: its value kind and what it means (for the README and the UI)."""

    name: str
    kind: Kind
    help: str


# The one table of known placeholders: the renderer, the phrase linter and the docs use it.
PLACEHOLDERS: dict[str, Placeholder] = {
    p.name: p
    for p in (
        Placeholder("name", Kind.TEXT, "customer's name or nickname"),
        Placeholder("product", Kind.TEXT, "main product of the latest order"),
        Placeholder("category", Kind.TEXT, "category of that product"),
        Placeholder("order_id", Kind.TEXT, "latest order number"),
        Placeholder("amount", Kind.NUMBER, "latest order amount"),
        Placeholder("ordered_at", Kind.DATE, "latest order date"),
        Placeholder("delivered_at", Kind.DATE, "delivery date of the latest order"),
        Placeholder("days_since_delivery", Kind.NUMBER, "days since that delivery"),
        Placeholder("days_since_order", Kind.NUMBER, "days since the latest order"),
        Placeholder("order_count", Kind.NUMBER, "number of orders the customer placed"),
        Placeholder("related_product", Kind.TEXT, "related or upgrade product to recommend"),
        Placeholder("coupon", Kind.TEXT, "coupon code or description"),
        Placeholder("tier", Kind.TEXT, "member tier"),
        Placeholder("points", Kind.NUMBER, "member points"),
        Placeholder("shop_name", Kind.TEXT, "the shop's name"),
        Placeholder("agent_name", Kind.TEXT, "the agent's name"),
        Placeholder("today", Kind.DATE, "today's date"),
    )
}

MAX_FORMAT_LEN = 32
MAX_FALLBACK_LEN = 64
_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
# Our own strftime subset: no locale, no platform differences, no width or padding tricks.
_DATE_DIRECTIVE = re.compile(r"%(-?[mdHM]|[Yy%])")


class TemplateError(ValueError):
    """A template that is not valid or not safe; the message says which placeholder and why."""


@dataclass(frozen=True, slots=True)
class Field:
    """One parsed placeholder."""

    name: str
    format: str | None
    fallback: str | None
    start: int  # offset of "{" in the template
    end: int  # offset after "}"


@dataclass(frozen=True, slots=True)
class Rendered:
    """The filled text and the placeholders that could not be filled (in template order).

    When ``missing`` is not empty, ``text`` still shows those placeholders as ``{name}`` and
    must not be copied to the customer: ask the agent for the values instead.
    """

    text: str
    missing: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.missing


def parse(template: str) -> list[str | Field]:
    """Split a template into literal text and placeholders; raise TemplateError if invalid."""
    parts: list[str | Field] = []
    buf: list[str] = []
    i, n = 0, len(template)
    while i < n:
        ch = template[i]
        if ch == "{":
            if template.startswith("{{", i):
                buf.append("{")
                i += 2
                continue
            close = template.find("}", i + 1)
            if close < 0:
                raise TemplateError(f"unclosed '{{' at offset {i} (write '{{{{' for a brace)")
            inner = template[i + 1 : close]
            if "{" in inner:
                raise TemplateError(f"nested '{{' in placeholder at offset {i}")
            if buf:
                parts.append("".join(buf))
                buf = []
            parts.append(_parse_field(inner, i, close + 1))
            i = close + 1
        elif ch == "}":
            if template.startswith("}}", i):
                buf.append("}")
                i += 2
                continue
            raise TemplateError(f"single '}}' at offset {i} (write '}}}}' for a brace)")
        else:
            buf.append(ch)
            i += 1
    if buf:
        parts.append("".join(buf))
    return parts


def _parse_field(inner: str, start: int, end: int) -> Field:
    spec, bar, fallback = inner.partition("|")
    name, colon, fmt = spec.partition(":")
    shown = "{" + inner + "}"
    if not _NAME.match(name):
        if name.isdigit() or not name:
            raise TemplateError(f"{shown}: positional placeholders are not allowed; use a name")
        if any(c in name for c in ".[]"):
            raise TemplateError(f"{shown}: attribute and index access are not allowed")
        if "!" in name:
            raise TemplateError(f"{shown}: conversions such as !r are not allowed")
        raise TemplateError(f"{shown}: {name!r} is not a placeholder name")
    known = PLACEHOLDERS.get(name)
    if known is None:
        raise TemplateError(f"{shown}: unknown placeholder {name!r}")
    if bar and len(fallback) > MAX_FALLBACK_LEN:
        raise TemplateError(f"{shown}: fallback longer than {MAX_FALLBACK_LEN} characters")
    if colon:
        if known.kind is not Kind.DATE:
            raise TemplateError(f"{shown}: a format is only allowed on dates")
        if not fmt or len(fmt) > MAX_FORMAT_LEN:
            raise TemplateError(f"{shown}: date format must be 1-{MAX_FORMAT_LEN} characters")
        if "%" in _DATE_DIRECTIVE.sub("", fmt):
            raise TemplateError(
                f"{shown}: unsupported date directive (use %Y %y %m %d %-m %-d %H %M)"
            )
    return Field(name, fmt if colon else None, fallback if bar else None, start, end)


def placeholders(template: str) -> list[str]:
    """The placeholder names a template uses, in order, without repeats (raises if invalid)."""
    seen: dict[str, None] = {}
    for part in parse(template):
        if isinstance(part, Field):
            seen.setdefault(part.name, None)
    return list(seen)


def format_date(value: date, fmt: str) -> str:
    """Format a date with the safe directive subset (``%-m`` and ``%-d`` drop the zero)."""
    hour = value.hour if isinstance(value, datetime) else 0
    minute = value.minute if isinstance(value, datetime) else 0
    table = {
        "Y": f"{value.year:04d}",
        "y": f"{value.year % 100:02d}",
        "m": f"{value.month:02d}",
        "-m": str(value.month),
        "d": f"{value.day:02d}",
        "-d": str(value.day),
        "H": f"{hour:02d}",
        "-H": str(hour),
        "M": f"{minute:02d}",
        "-M": str(minute),
        "%": "%",
    }
    return _DATE_DIRECTIVE.sub(lambda m: table[m.group(1)], fmt)


def _value_text(value: object, field: Field) -> str | None:
    """The text for one value, or None when the value counts as missing."""
    if value is None:
        return None
    if isinstance(value, bool):
        return None  # never a meaningful phrase value; refuse rather than print "True"
    if isinstance(value, date):
        if field.format:
            return format_date(value, field.format)
        return value.date().isoformat() if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, float):
        text = f"{value:.2f}".rstrip("0").rstrip(".")
    elif isinstance(value, int | str):
        text = str(value)
    else:
        return None
    return text if text.strip() else None


def render(template: str, context: Mapping[str, object]) -> Rendered:
    """Fill a template from ``context`` (see :func:`build_context`).

    Values are inserted as plain text, never interpreted again. A placeholder whose value is
    missing or empty uses its fallback if it has one, else it stays as ``{name}`` in the text
    and is listed in ``missing``.
    """
    out: list[str] = []
    missing: dict[str, None] = {}
    for part in parse(template):
        if isinstance(part, str):
            out.append(part)
            continue
        text = _value_text(context.get(part.name), part)
        if text is None:
            text = part.fallback
        if text is None:
            missing.setdefault(part.name, None)
            text = "{" + part.name + "}"
        out.append(text)
    return Rendered("".join(out), tuple(missing))


def render_with(
    template: str, context: Mapping[str, object], supplied: Mapping[str, str]
) -> Rendered:
    """Render with values the agent typed in for placeholders the record could not fill."""
    merged: dict[str, object] = dict(context)
    for key, value in supplied.items():
        if value.strip():
            merged[key] = value
    return render(template, merged)


def build_context(
    customer: Customer,
    order: Order | None,
    *,
    today: date,
    shop_name: str,
    agent_name: str,
    related_product: str | None = None,
    coupon: str | None = None,
    category: str | None = None,
    product: str | None = None,
) -> dict[str, object]:
    """The placeholder values for one customer and their latest order.

    ``category`` overrides the order line's category (the product table may know better);
    ``product`` names the product a follow-up is about (a replenishment is about one line,
    not the order's biggest).
    Keys with no value are present with ``None`` so :func:`render` reports them as missing.
    """
    ctx: dict[str, object] = dict.fromkeys(PLACEHOLDERS)
    ctx.update(
        name=(customer.name or "").strip() or None,
        tier=customer.tier,
        points=customer.points,
        order_count=customer.order_count or None,
        shop_name=shop_name,
        agent_name=agent_name,
        today=today,
        related_product=related_product,
        coupon=coupon,
    )
    if order is not None:
        ctx["order_id"] = order.order_id
        ctx["amount"] = order.amount
        ctx["ordered_at"] = order.ordered_at.date()
        ctx["days_since_order"] = max(0, (today - order.ordered_at.date()).days)
        if order.delivered_at is not None:
            ctx["delivered_at"] = order.delivered_at.date()
            ctx["days_since_delivery"] = max(0, (today - order.delivered_at.date()).days)
        if order.lines:
            main = max(order.lines, key=lambda line: line.amount)
            ctx["product"] = main.product
            ctx["category"] = main.category
    if product:
        ctx["product"] = product
    if category:
        ctx["category"] = category
    return ctx
