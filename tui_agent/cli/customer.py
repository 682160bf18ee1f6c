"""``tui-agent customer``: find a customer, show their page, notes, opt them out or back in.

Text from the shop's files (names, products, notes, touch texts) is hostile until shown
otherwise: every value goes through ``core.customer_page.printable`` (``core.safetext``:
controls shown as pictures, never sent raw) and JSON through ``cli.common.echo_json``. Phone
numbers are masked
unless ``--show-phone``.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import click

from tui_agent.cli.common import (
    UserError,
    agent_name,
    db_option,
    echo_json,
    now,
    open_database,
    today,
)
from tui_agent.core.customer_page import (
    CustomerHit,
    CustomerPage,
    TouchEvent,
    TouchRecord,
    prediction_line,
    printable,
)
from tui_agent.core.models import FollowUp, Order
from tui_agent.core.privacy import mask_phone
from tui_agent.store.predictions import PREDICTION_KEYS

# ---------------------------------------------------------------------------------------------
# Shared with cli/touch.py


def _dt(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return value.isoformat()


def event_json(e: TouchEvent) -> dict[str, object]:
    return {
        "id": e.id,
        "customer_id": e.customer_id,
        "touch_id": e.touch_id,
        "kind": e.kind.value,
        "value": e.value,
        "note": e.note,
        "agent": e.agent,
        "at": _dt(e.at),
    }


def _phone(phone: str | None, show: bool) -> str | None:
    return phone if show else (mask_phone(phone) or None)


# ---------------------------------------------------------------------------------------------
# JSON shapes


def hit_json(h: CustomerHit, show_phone: bool) -> dict[str, object]:
    return {
        "customer_id": h.customer_id,
        "name": h.name,
        "phone": _phone(h.phone, show_phone),
        "wechat": h.wechat,
        "tier": h.tier,
        "opt_out": h.opt_out,
        "order_count": h.order_count,
        "last_order_at": _dt(h.last_order_at),
        "matched": h.matched,
        "rank": h.rank,
    }


def _order_json(o: Order) -> dict[str, object]:
    return {
        "order_id": o.order_id,
        "ordered_at": _dt(o.ordered_at),
        "delivered_at": _dt(o.delivered_at),
        "amount": o.amount,
        "seq": o.seq,
        "lines": [
            {
                "line_no": line.line_no,
                "sku": line.sku,
                "product": line.product,
                "category": line.category,
                "quantity": line.quantity,
                "amount": line.amount,
            }
            for line in o.lines
        ],
    }


def touch_json(r: TouchRecord) -> dict[str, object]:
    t = r.touch
    return {
        "id": t.id,
        "at": _dt(t.at),
        "agent": t.agent,
        "follow_up_id": t.follow_up_id,
        "stage": t.stage,
        "phrase_id": t.phrase_id,
        "channel": t.channel,
        "reply": r.reply,
        "text": t.text,
        "outcome": r.outcome.value if r.outcome else None,
        "outcome_note": r.outcome_note,
        "outcome_by": r.outcome_by,
        "outcome_at": _dt(r.outcome_at),
        "retracted": r.retracted,
        "retraction": event_json(r.retraction) if r.retraction else None,
        "events": [event_json(e) for e in r.events],
    }


def _follow_up_json(f: FollowUp) -> dict[str, object]:
    return {
        "id": f.id,
        "stage": f.stage.value,
        "rule": f.rule,
        "due_date": f.due_date.isoformat(),
        "status": f.status.value,
        "snoozed_until": _dt(f.snoozed_until),
        "claimed_by": f.claimed_by,
        "reasons": [r.text for r in f.reasons],
    }


def page_json(p: CustomerPage, show_phone: bool) -> dict[str, object]:
    c = p.customer
    return {
        "customer_id": c.customer_id,
        "name": c.name,
        "phone": _phone(c.phone, show_phone),
        "email": c.email,
        "wechat": c.wechat,
        "birthday": _dt(c.birthday),
        "tier": c.tier,
        "points": c.points,
        "tags": list(c.tags),
        "language": c.language,
        "notes": p.notes,
        "opt_out": c.opt_out,
        "segment": p.segment,
        "order_count": c.order_count,
        "total_spent": c.total_spent,
        "orders": [_order_json(o) for o in p.orders],
        "touches": [touch_json(r) for r in p.touches],
        "follow_ups": [_follow_up_json(f) for f in p.follow_ups],
        "events": [event_json(e) for e in p.events],
        # BTYD predictions (issue 12): null with the reason when there is no fit for them
        **{k: (p.predictions or {}).get(k) for k in PREDICTION_KEYS},
        "prediction_missing": p.prediction_missing,
    }


# ---------------------------------------------------------------------------------------------
# Text


def _p(value: object) -> str:
    return printable(str(value)) if value not in (None, "") else "-"


def _print_page(p: CustomerPage, show_phone: bool) -> None:
    from tui_agent.core.segments import Segment

    c = p.customer
    echo = click.echo
    echo(f"{_p(c.name)}  {_p(c.customer_id)}")
    segment = Segment(p.segment) if p.segment else None
    seg_text = f"{segment.label_zh} {segment.label}" if segment else "-"
    echo(
        f"  tier {_p(c.tier)} · points {_p(c.points)} · segment {seg_text} · "
        f"{c.order_count} order(s), {c.total_spent:.2f} spent"
    )
    echo(f"  phone {_p(_phone(c.phone, show_phone))} · wechat {_p(c.wechat)} · email {_p(c.email)}")
    echo(f"  tags {_p(', '.join(c.tags))} · language {_p(c.language)}")
    if c.opt_out:
        why = p.opt_out_event
        by = f" ({why.at:%Y-%m-%d %H:%M} by {_p(why.agent)}: {_p(why.note)})" if why else ""
        echo(f"  OPTED OUT: do not contact{by}")
    else:
        echo("  contact: allowed")
    if p.notes:
        echo(f"  notes: {printable(p.notes)}")
    echo(f"  {prediction_line(p.predictions, p.prediction_missing)}")
    echo("")
    echo(f"Orders ({len(p.orders)})")
    for o in p.orders:
        delivered = f"delivered {o.delivered_at:%Y-%m-%d}" if o.delivered_at else "not delivered"
        echo(f"  {o.ordered_at:%Y-%m-%d}  {_p(o.order_id)}  {o.amount:.2f}  {delivered}")
        for line in o.lines:
            echo(f"      {_p(line.product or line.sku)} x{line.quantity}  {line.amount:.2f}")
    echo("")
    echo(f"Touches ({len(p.touches)})")
    for r in p.touches:
        t = r.touch
        kind = "reply" if r.reply else (t.stage or "touch")
        outcome = "-"
        if r.outcome:
            outcome = r.outcome.value
            if r.outcome_note:
                outcome += f" ({printable(r.outcome_note)})"
        echo(f"  #{t.id}  {t.at:%Y-%m-%d %H:%M}  {_p(t.agent)}  {_p(kind)}  outcome: {outcome}")
        if r.retraction:
            e = r.retraction
            echo(f"      RETRACTED {e.at:%Y-%m-%d %H:%M} by {_p(e.agent)}: {_p(e.note)}")
        for text_line in printable(t.text, newlines=True).splitlines() or [""]:
            echo(f"      {text_line}")
    echo("")
    echo(f"Open follow-ups ({len(p.follow_ups)})")
    for f in p.follow_ups:
        claimed = f" claimed by {_p(f.claimed_by)}" if f.claimed_by else ""
        echo(
            f"  #{f.id}  due {f.due_date}  {f.stage.label_zh} {f.stage.value}  {_p(f.rule)}  "
            f"{f.status.value}{claimed}"
        )


def _print_hits(hits: list[CustomerHit], show_phone: bool) -> None:
    for h in hits:
        last = f"{h.last_order_at:%Y-%m-%d}" if h.last_order_at else "-"
        opted = "  opted out" if h.opt_out else ""
        click.echo(
            f"{_p(h.customer_id)}  {_p(h.name)}  {_p(_phone(h.phone, show_phone))}  "
            f"wechat {_p(h.wechat)}  tier {_p(h.tier)}  {h.order_count} order(s), last {last}  "
            f"[{h.matched}]{opted}"
        )


# ---------------------------------------------------------------------------------------------
# Commands


@click.group("customer")
def customer_group() -> None:
    """Find a customer, show their page, write notes, opt them out or back in."""


_show_phone = click.option(
    "--show-phone", is_flag=True, help="Print phone numbers in full (default: masked 138****5678)."
)


@customer_group.command("find")
@click.argument("query")
@click.option(
    "--limit", type=click.IntRange(1, 500), default=20, show_default=True, help="Most hits."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (a list of hits, best first).")
@_show_phone
@db_option
def find_cmd(query: str, limit: int, as_json: bool, show_phone: bool, db_path: Path | None) -> None:
    """Find customers by id, phone (full or its last 4 digits), WeChat id, name, pinyin or
    initials (wangfang, wf), best first. Exits 1 when nothing matches.

    Imports compute the names' pinyin; a search computes any still missing first (a shop
    imported by an older version: about 1.1 s of CPU per 100k customers, once).
    """
    from tui_agent.store.customers import find_customers

    db = open_database(db_path, create=False)
    hits = find_customers(db, query, limit)
    if as_json:
        echo_json([hit_json(h, show_phone) for h in hits])
    else:
        _print_hits(hits, show_phone)
    if not hits:
        raise UserError(f"no customer matches {printable(query)!r}")


@customer_group.command("show")
@click.argument("customer_id")
@click.option("--json", "as_json", is_flag=True, help="Print the page as JSON (for scripts).")
@_show_phone
@db_option
def show_cmd(customer_id: str, as_json: bool, show_phone: bool, db_path: Path | None) -> None:
    """Show a customer's page: every order with its lines, every touch in full with its
    outcome and any retraction, open follow-ups, segment, tier, points, tags, notes, opt-out,
    and the BTYD predictions (P(alive), expected orders, next order, 365-day value) or why
    there are none (fitted by `tui-agent stats`).

    The segment is scored against the whole shop (a second on a big shop).
    """
    from tui_agent.store.customers import customer_page

    db = open_database(db_path, create=False)
    page = customer_page(db, customer_id, today())
    if page is None:
        raise UserError(f"no customer {printable(customer_id)!r} (try `tui-agent customer find`)")
    if as_json:
        echo_json(page_json(page, show_phone))
    else:
        _print_page(page, show_phone)


@customer_group.command("opt-out")
@click.argument("customer_id")
@click.option("--reason", default=None, help="Why (what the customer said, and where).")
@click.option("--agent", default=None, help="Who records it (default: config, else OS user).")
@click.option("--json", "as_json", is_flag=True, help="Print the logged event as JSON.")
@db_option
def opt_out_cmd(
    customer_id: str, reason: str | None, agent: str | None, as_json: bool, db_path: Path | None
) -> None:
    """Mark a customer "do not contact": their open follow-ups are cancelled, and the
    opt-out is logged as a row (who, when, why). Exits 1 if already opted out."""
    from tui_agent.store.outcomes import DeskError, opt_out
    from tui_agent.store.queries import get_customer

    who = agent_name(agent)
    db = open_database(db_path, create=False)
    customer = get_customer(db, customer_id)
    if customer is None:
        raise UserError(f"no customer {printable(customer_id)!r}")
    if customer.opt_out:
        raise UserError(f"customer {printable(customer_id)} is already opted out; nothing changed")
    try:
        event, cancelled = opt_out(db, customer_id, who, reason=reason, now=now())
    except DeskError as exc:
        raise UserError(str(exc)) from None
    if as_json:
        echo_json({**event_json(event), "cancelled_follow_ups": cancelled})
        return
    click.echo(
        f"{printable(customer.name) or customer_id} ({printable(customer_id)}) opted out by "
        f"{printable(who)}; {cancelled} open follow-up(s) cancelled"
    )


@customer_group.command("opt-in")
@click.argument("customer_id")
@click.option("--reason", required=True, help="Why (what the customer said, and where).")
@click.option("--agent", default=None, help="Who records it (default: config, else OS user).")
@click.option("--json", "as_json", is_flag=True, help="Print the logged event as JSON.")
@db_option
def opt_in_cmd(
    customer_id: str, reason: str, agent: str | None, as_json: bool, db_path: Path | None
) -> None:
    """Reverse an opt-out: the customer may be contacted again. Logged as a row (who, when,
    why); nothing is deleted. The follow-ups the opt-out cancelled stay cancelled; the next
    `tui-agent due` plans new ones. Exits 1 if the customer is not opted out."""
    from tui_agent.store.outcomes import DeskError, opt_in
    from tui_agent.store.queries import get_customer

    if not reason.strip():
        raise click.BadParameter("must say why", param_hint="--reason")
    who = agent_name(agent)
    db = open_database(db_path, create=False)
    customer = get_customer(db, customer_id)
    if customer is None:
        raise UserError(f"no customer {printable(customer_id)!r}")
    try:
        event = opt_in(db, customer_id, who, reason=reason, now=now())
    except DeskError as exc:
        raise UserError(str(exc)) from None
    if as_json:
        echo_json(event_json(event))
        return
    click.echo(
        f"{printable(customer.name) or customer_id} ({printable(customer_id)}) may be "
        f"contacted again (opt-in recorded by {printable(who)})"
    )


@customer_group.command("note")
@click.argument("customer_id")
@click.argument("text")
@click.option("--agent", default=None, help="Who writes it (default: config, else OS user).")
@click.option("--json", "as_json", is_flag=True, help="Print the logged event as JSON.")
@db_option
def note_cmd(
    customer_id: str, text: str, agent: str | None, as_json: bool, db_path: Path | None
) -> None:
    """Replace the customer's notes with TEXT ("" clears them). Every version is also kept
    as a logged row (who, when), so an overwritten note is never lost."""
    from tui_agent.store.outcomes import DeskError, set_notes

    who = agent_name(agent)
    db = open_database(db_path, create=False)
    try:
        event = set_notes(db, customer_id, text, who, now=now())
    except DeskError as exc:
        raise UserError(str(exc)) from None
    if as_json:
        echo_json(event_json(event))
        return
    what = "notes cleared" if event.note is None else "notes saved"
    click.echo(f"{printable(customer_id)}: {what} by {printable(who)}")
