"""``tui-agent campaign ...``: one phrase across an audience, worked one by one, with a holdout."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import click
import sqlite_utils

from tui_agent.cli.common import (
    DATE,
    UserError,
    agent_name,
    db_option,
    echo_json,
    load_ruleset,
)
from tui_agent.cli.common import now as cli_now
from tui_agent.cli.common import open_database as _open
from tui_agent.cli.common import today as cli_today
from tui_agent.core import campaigns as cc
from tui_agent.core.export import private_file, safe_cell
from tui_agent.core.metrics import DEFAULT_WINDOW_DAYS
from tui_agent.core.privacy import mask_phone
from tui_agent.core.segments import Segment

_SET_RE = re.compile(r"^([a-z_]+)=(.*)$", re.S)


def _db(db_path: Path | None, *, create: bool = False) -> sqlite_utils.Database:
    return _open(db_path, create=create)


def _fail(exc: cc.CampaignError) -> UserError:
    return UserError(str(exc))


def _supplied(values: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        m = _SET_RE.match(item)
        if m is None:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--set")
        out[m.group(1)] = m.group(2)
    return out


Filler = Callable[[str], tuple[str, str, str, tuple[str, ...]]]


def _filler(
    db: sqlite_utils.Database, phrase_id: str, today: date, supplied: dict[str, str]
) -> Filler:
    """A function customer id -> (name, phone, filled text, missing placeholders), filled as
    the console fills it: the customer's record and latest order, the shop's config."""
    from tui_agent import paths
    from tui_agent.config import ConfigError, load_config
    from tui_agent.core.phrases import load_library
    from tui_agent.core.render import TemplateError, build_context, render_with
    from tui_agent.store.queries import get_customer, get_product, latest_order

    phrase = load_library(paths.phrase_dirs()).library.get(phrase_id)
    if phrase is None:
        raise UserError(f"no phrase {phrase_id!r} (tui-agent phrases list)")
    try:
        config = load_config()
    except ConfigError as exc:
        raise UserError(str(exc)) from None
    agent = agent_name()

    def fill(customer_id: str) -> tuple[str, str, str, tuple[str, ...]]:
        customer = get_customer(db, customer_id)
        if customer is None:
            raise UserError(f"no customer {customer_id!r}")
        order = latest_order(db, customer_id)
        related = category = None
        if order is not None and order.lines:
            main = max(order.lines, key=lambda line: line.amount)
            product = get_product(db, main.sku) if main.sku else None
            if product is not None:
                category = product.category
                if product.related_sku:
                    rel = get_product(db, product.related_sku)
                    related = rel.name if rel else None
        variant = phrase.variant(customer.language)
        context = build_context(
            customer,
            order,
            today=today,
            shop_name=config.shop_name_for(variant.language),
            agent_name=agent,
            related_product=related,
            coupon=config.coupon,
            category=category,
        )
        try:
            r = render_with(variant.body, context, supplied)
        except TemplateError as exc:
            raise UserError(f"phrase {phrase_id!r}: {exc}") from None
        return customer.name or "", customer.phone or "", r.text, tuple(r.missing)

    return fill


@click.group("campaign")
def campaign_group() -> None:
    """Campaigns (批量触达): one phrase across an audience, worked one by one in the console.

    Members become follow-ups of stage `campaign`, paced per day, under the opt-out and the
    frequency cap; a random holdout group is recorded and never contacted, so `campaign
    report` can say what the campaign changed.
    """


def _audience(
    segment: str | None,
    tags: tuple[str, ...],
    tier: str | None,
    category: str | None,
    before: date | None,
    after: date | None,
    min_orders: int | None,
    customers: Path | None,
) -> cc.Audience:
    ids: tuple[str, ...] | None = None
    if customers is not None:
        try:
            raw = customers.read_bytes()
        except OSError as exc:
            raise UserError(f"{customers}: {exc.strerror or exc}") from None
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = raw.decode("gb18030")
            except UnicodeDecodeError:
                raise UserError(f"{customers}: neither UTF-8 nor GBK text") from None
        try:
            ids = tuple(cc.parse_customer_list(text, str(customers)))
        except cc.CampaignError as exc:
            raise _fail(exc) from None
    audience = cc.Audience(
        segment=segment,
        tags=tuple(dict.fromkeys(t.strip() for t in tags if t.strip())),
        tier=tier,
        category=category,
        last_order_before=before,
        last_order_after=after,
        min_orders=min_orders,
        customer_ids=ids,
    )
    if audience == cc.Audience():
        raise click.UsageError(
            "give at least one audience filter (--segment, --tag, --tier, --category, "
            "--last-order-before/--after, --min-orders, --customers)"
        )
    return audience


def _check_listed(db: sqlite_utils.Database, customers: Path | None, audience: cc.Audience) -> None:
    """Every listed id must be a customer: a typo is reported with its line, never dropped."""
    if customers is None or audience.customer_ids is None:
        return
    from tui_agent.store.campaigns import unknown_customers

    missing = unknown_customers(db, audience.customer_ids)
    if missing:
        text = customers.read_bytes().decode("utf-8-sig", errors="replace")
        lines = cc.parse_customer_list(text, str(customers))
        first = missing[0]
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise UserError(
            f"{customers}:{lines.get(first, '?')}: no customer {cc.printable(first)!r}{more}"
        )


@campaign_group.command("create")
@click.argument("name")
@click.option("--phrase", "phrase_id", required=True, help="The phrase every member gets.")
@click.option(
    "--segment", type=click.Choice([s.value for s in Segment]), default=None, help="RFM segment."
)
@click.option("--tag", "tags", multiple=True, help="Customer tag (repeat: every tag must be on).")
@click.option("--tier", default=None, help="Member tier, exactly as imported.")
@click.option("--category", default=None, help="Bought in this category (any order).")
@click.option("--last-order-before", "before", type=DATE, default=None, help="Last order before D.")
@click.option("--last-order-after", "after", type=DATE, default=None, help="Last order on/after D.")
@click.option("--min-orders", type=click.IntRange(min=1), default=None, help="At least N orders.")
@click.option(
    "--customers",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Only these customers: a CSV with a customer_id column (or ids one per line).",
)
@click.option(
    "--holdout",
    "holdout_pct",
    type=click.FloatRange(0, 100, max_open=True),
    default=10.0,
    show_default=True,
    help="Percent of the audience held out (never contacted) to measure the lift.",
)
@click.option(
    "--seed", default=None, help="Seed of the holdout draw (default: the campaign's name)."
)
@click.option("--start", type=DATE, default=None, help="First day of work (default: today).")
@click.option(
    "--per-day", type=click.IntRange(min=1), default=None, help="At most N members a day."
)
@click.option(
    "--dry-run", is_flag=True, help="Print sizes and three filled samples; write nothing."
)
@click.option(
    "--set", "values", multiple=True, metavar="NAME=VALUE", help="Fill a placeholder (samples)."
)
@db_option
def create_cmd(
    name: str,
    phrase_id: str,
    segment: str | None,
    tags: tuple[str, ...],
    tier: str | None,
    category: str | None,
    before: date | None,
    after: date | None,
    min_orders: int | None,
    customers: Path | None,
    holdout_pct: float,
    seed: str | None,
    start: date | None,
    per_day: int | None,
    dry_run: bool,
    values: tuple[str, ...],
    db_path: Path | None,
) -> None:
    """Create campaign NAME over the customers matching every filter given (AND).

    Members in the contact group become follow-ups of stage `campaign` from --start on, at
    most --per-day a day, most valuable customers first. Opted-out customers are never
    contacted; customers over the frequency cap wait and are retried on later days.

    Running create again with the same NAME and the same settings MERGES: customers who
    match the audience now and are not members yet are added (the holdout draw is per
    customer, so nobody changes group). The same NAME with different settings is refused.
    """
    from tui_agent.store import campaigns as sc

    try:
        name = cc.check_name(name)
    except cc.CampaignError as exc:
        raise _fail(exc) from None
    today = cli_today()
    audience = _audience(segment, tags, tier, category, before, after, min_orders, customers)
    rules = load_ruleset()
    db = _db(db_path)
    try:
        _check_listed(db, customers, audience)
        fill = _filler(db, phrase_id, today, _supplied(values))
        wanted = cc.Campaign(
            id=0,
            name=name,
            phrase_id=phrase_id,
            audience=audience,
            holdout_pct=holdout_pct,
            seed=seed if seed is not None else name,
            start=start or today,
            per_day=per_day,
            status="active",
            created_by=agent_name(),
        )
        if dry_run:
            p = sc.preview(db, audience, holdout_pct, wanted.seed, wanted.start, rules)
            existing = sc.get_campaign(db, name)
            _print_preview(wanted, p, fill, existing)
            return
        try:
            done = sc.create(db, wanted, today, rules, now=cli_now(today))
        except cc.CampaignError as exc:
            raise _fail(exc) from None
        counts = sc.member_counts(db, name)
    finally:
        db.close()
    verb = "merged into" if done.existing else "created"
    click.echo(
        f"campaign {name} {verb}: {done.added} member(s) added"
        + (f" ({done.existing} already in)" if done.existing else "")
        + f"; {counts['members']} members: {counts['contact']} to contact, "
        f"{counts['holdout']} in the holdout ({holdout_pct:g}%, seed {wanted.seed!r})"
    )
    click.echo(
        f"  opted out {counts['opted_out']}, capped {counts['capped']} (they wait), "
        f"scheduled {counts['scheduled']}, waiting {counts['waiting']}; "
        f"start {wanted.start}, per day {per_day or 'no limit'}"
    )


def _print_preview(wanted: cc.Campaign, p: Any, fill: Filler, existing: cc.Campaign | None) -> None:
    click.echo(f"dry run: campaign {wanted.name} ({wanted.audience.describe()})")
    if existing is not None:
        same = existing.same_settings(wanted)
        click.echo(
            "  a campaign of this name exists: "
            + ("create would merge new matches into it" if same else "create would be refused")
        )
    click.echo(
        f"  audience {p.audience}: {p.contact} to contact, {p.holdout} in the holdout "
        f"({wanted.holdout_pct:g}%, seed {wanted.seed!r})"
    )
    click.echo(f"  opted out (never contacted): {p.opted_out}")
    click.echo(f"  over the frequency cap on {wanted.start} (they wait): {p.capped}")
    for cid in p.samples:
        name, _phone, text, missing = fill(cid)
        note = f"  [missing: {', '.join(missing)}]" if missing else ""
        click.echo(f"  sample {cc.printable(cid)} {cc.printable(name)}: {cc.printable(text)}{note}")
    click.echo("  nothing written")


def _campaign_json(c: cc.Campaign, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "name": c.name,
        "status": c.status,
        "phrase_id": c.phrase_id,
        "audience": json.loads(c.audience.to_json()),
        "holdout_pct": c.holdout_pct,
        "seed": c.seed,
        "start": c.start.isoformat(),
        "per_day": c.per_day,
        **counts,
    }


@campaign_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@db_option
def list_cmd(as_json: bool, db_path: Path | None) -> None:
    """Every campaign with its status and progress."""
    from tui_agent.store import campaigns as sc

    db = _db(db_path)
    try:
        rows = [(c, sc.member_counts(db, c.name)) for c in sc.list_campaigns(db)]
    finally:
        db.close()
    if as_json:
        echo_json([_campaign_json(c, n) for c, n in rows])
        return
    if not rows:
        click.echo("no campaigns (tui-agent campaign create NAME --phrase ID ...)")
        return
    for c, n in rows:
        click.echo(
            f"{cc.printable(c.name)}  {c.status}  from {c.start}  done {n['done']}/{n['contact'] - n['opted_out']}"
            f"  scheduled {n['scheduled']}  waiting {n['waiting']}  capped {n['capped']}"
            f"  opted out {n['opted_out']}  holdout {n['holdout']}"
        )


@campaign_group.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (integer counts) for scripts.")
@db_option
def show_cmd(name: str, as_json: bool, db_path: Path | None) -> None:
    """A campaign's settings and counts: members, holdout, opted_out, capped, done, ..."""
    from tui_agent.store import campaigns as sc

    db = _db(db_path)
    try:
        c = sc.get_campaign(db, name)
        if c is None:
            raise UserError(f"no campaign {name!r} (tui-agent campaign list)")
        counts = sc.member_counts(db, name)
        capped = sc.capped_reasons(db, name)
    finally:
        db.close()
    if as_json:
        echo_json(_campaign_json(c, counts))
        return
    click.echo(f"campaign {cc.printable(c.name)} ({c.status})")
    click.echo(f"  phrase {c.phrase_id}; audience: {cc.printable(c.audience.describe())}")
    click.echo(
        f"  start {c.start}, per day {c.per_day or 'no limit'}, holdout {c.holdout_pct:g}% "
        f"(seed {cc.printable(c.seed)!r})"
    )
    for key, value in counts.items():
        click.echo(f"  {key:<10} {value}")
    for cid, why in capped:
        click.echo(f"  waiting: {cc.printable(cid)}: {why}")


def _status_cmd(status: str, verb: str) -> click.Command:
    @click.command(verb)
    @click.argument("name")
    @db_option
    def cmd(name: str, db_path: Path | None) -> None:
        from tui_agent.store import campaigns as sc

        today = cli_today()
        rules = load_ruleset()
        db = _db(db_path)
        try:
            cancelled = sc.set_status(db, name, status, today, rules, now=cli_now(today))
            counts = sc.member_counts(db, name)
        except cc.CampaignError as exc:
            raise _fail(exc) from None
        finally:
            db.close()
        extra = f"; {cancelled} open follow-up(s) cancelled" if cancelled else ""
        click.echo(f"campaign {name} {status}{extra}; scheduled {counts['scheduled']}")

    cmd.help = {
        "pause": "Pause NAME: its open follow-ups are cancelled and wait for resume.",
        "resume": "Resume NAME: today's share is scheduled again.",
        "end": "End NAME: open follow-ups are cancelled; members not worked are closed.",
    }[verb]
    return cmd


campaign_group.add_command(_status_cmd("paused", "pause"))
campaign_group.add_command(_status_cmd("active", "resume"))
campaign_group.add_command(_status_cmd("ended", "end"))


EXPORT_HEADER = ("customer_id", "name", "phone", "text")


@campaign_group.command("export")
@click.argument("name")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--full-phone", is_flag=True, help="Write whole phone numbers (default: masked).")
@click.option("--log-as-sent", is_flag=True, help="Log each row as a touch (channel `bulk`).")
@click.option("--set", "values", multiple=True, metavar="NAME=VALUE", help="Fill a placeholder.")
@db_option
def export_cmd(
    name: str,
    file: Path,
    full_phone: bool,
    log_as_sent: bool,
    values: tuple[str, ...],
    db_path: Path | None,
) -> None:
    """Write the filled messages of NAME's contact group to FILE.csv for a bulk-send tool.

    Members not opted out, not yet worked and under the frequency cap today. UTF-8 with a
    BOM, mode 0600, text cells a spreadsheet would run (= + - @) get a leading apostrophe.
    Exporting is not sending: only --log-as-sent records the rows as touches (channel
    `bulk`) and closes those members' follow-ups.
    """
    from tui_agent.store import campaigns as sc

    supplied = _supplied(values)
    today = cli_today()
    rules = load_ruleset()
    db = _db(db_path)
    try:
        c = sc.get_campaign(db, name)
        if c is None:
            raise UserError(f"no campaign {name!r} (tui-agent campaign list)")
        try:
            ids, capped = sc.export_members(db, name, today, rules)
        except cc.CampaignError as exc:
            raise _fail(exc) from None
        fill = _filler(db, c.phrase_id, today, supplied)
        rows = []
        for cid in ids:
            cname, phone, text, missing = fill(cid)
            if missing:
                raise UserError(
                    f"customer {cc.printable(cid)!r}: missing values for: {', '.join(missing)} "
                    "(give them with --set NAME=VALUE); nothing written"
                )
            rows.append((cid, cname, phone if full_phone else mask_phone(phone), text))
        _write_private_csv(file, EXPORT_HEADER, rows)
        logged = 0
        if log_as_sent:
            try:
                logged = sc.log_bulk(
                    db, name, [(r[0], r[3]) for r in rows], agent_name(), today, now=cli_now(today)
                )
            except cc.CampaignError as exc:
                raise _fail(exc) from None
    finally:
        db.close()
    click.echo(
        f"{len(rows)} message(s) written to {file}"
        + (f"; {capped} over the frequency cap left out" if capped else "")
        + (f"; {logged} logged as sent (channel bulk)" if log_as_sent else "; not logged as sent")
    )


def _write_private_csv(file: Path, header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Customer data: the file is readable by its owner only (0600), cells spreadsheet-safe."""
    try:
        with private_file(file, encoding="utf-8-sig") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            writer.writerows([safe_cell(v) for v in row] for row in rows)
    except OSError as exc:
        raise UserError(f"{file}: {exc.strerror or exc}") from None


@campaign_group.command("report")
@click.argument("name")
@click.option(
    "--window-days",
    type=click.IntRange(min=1),
    default=DEFAULT_WINDOW_DAYS,
    show_default=True,
    help="An order within N days after the touch (holdout: after the start) counts.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@db_option
def report_cmd(name: str, window_days: int, as_json: bool, db_path: Path | None) -> None:
    """Conversion of the contacted members against the holdout, with 95% intervals and lift."""
    from tui_agent.store import campaigns as sc

    db = _db(db_path)
    try:
        try:
            r = sc.report(db, name, window_days)
        except cc.CampaignError as exc:
            raise _fail(exc) from None
    finally:
        db.close()
    if as_json:
        echo_json(r.to_dict())
        return
    for line in report_lines(r):
        click.echo(line)


def _pct(i: Any) -> str:
    if i is None:
        return "-"
    return f"{i.value * 100:.1f}% (95% CI {i.low * 100:.1f}-{i.high * 100:.1f}%)"


def report_lines(r: cc.Report) -> list[str]:
    c, h = r.contacted, r.holdout
    lift = r.lift
    rpm = "-" if c.revenue_per_member is None else f"{c.revenue_per_member:,.2f}"
    hrpm = "-" if h.revenue_per_member is None else f"{h.revenue_per_member:,.2f}"
    lines = [
        f"campaign {cc.printable(r.name)}: orders within {r.window_days} days",
        f"  contacted {c.members}, ordered {c.converted}: {_pct(c.rate)}, revenue per member {rpm}",
        f"  holdout   {h.members}, ordered {h.converted}: {_pct(h.rate)}, revenue per member {hrpm}",
    ]
    if lift is not None:
        lines.append(
            f"  lift {lift.value * 100:+.1f} pp (95% CI {lift.low * 100:+.1f} to "
            f"{lift.high * 100:+.1f} pp)"
        )
    else:
        lines.append("  lift -")
    if r.warning:
        lines.append(f"  warning: {r.warning}")
    return lines
