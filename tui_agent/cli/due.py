"""``tui-agent due``: generate (idempotently) and print the day's follow-up queue."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tui_agent.cli.common import (
    DATE,
    agent_name,
    db_option,
    echo_json,
    load_ruleset,
    open_database,
)
from tui_agent.cli.common import today as cli_today
from tui_agent.core.kinds.holiday import missing_message
from tui_agent.core.models import FollowUp, Stage
from tui_agent.core.queue_filter import QueueFilter, parse_segment
from tui_agent.core.safetext import visible
from tui_agent.core.segments import Segment
from tui_agent.store.followups import deferred_count, due_queue, generate


def follow_up_json(f: FollowUp, today: date) -> dict[str, object]:
    return {
        "id": f.id,
        "customer_id": f.customer_id,
        "customer_name": f.customer_name,
        "stage": f.stage.value,
        "rule": f.rule,
        "reasons": [r.text for r in f.reasons],
        "reason_rules": [r.rule for r in f.reasons],
        "due_date": f.due_date.isoformat(),
        "overdue_days": f.overdue_days(today),
        "status": f.status.value,
        "claimed_by": f.claimed_by,
        "suggested_tags": list(f.suggested_tags),
        "delivery_assumed": f.delivery_assumed,
    }


def _segment(ctx: click.Context, param: click.Parameter, value: str | None) -> Segment | None:
    if value is None:
        return None
    try:
        return parse_segment(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


@click.command()
@click.option(
    "--date",
    "day",
    type=DATE,
    default=None,
    help="The day to list (default: the group's --today, else today).",
)
@click.option(
    "--agent",
    default=None,
    help="Leave out follow-ups another agent holds a live claim on; with --mine, whose.",
)
@click.option(
    "--stage", type=click.Choice([s.value for s in Stage]), default=None, help="Only this stage."
)
@click.option("--rule", default=None, help="Only follow-ups for this rule (e.g. care+1).")
@click.option(
    "--segment",
    callback=_segment,
    default=None,
    help="Only customers of this RFM segment (at_risk, champions, ...; scores the whole shop).",
)
@click.option("--tag", default=None, help="Only customers (or follow-ups) with this tag.")
@click.option("--overdue", is_flag=True, help="Only follow-ups due before the day.")
@click.option(
    "--mine",
    is_flag=True,
    help="Only your customers: follow-ups you hold, or whose customer you touched before "
    "(--agent, else the config's agent, else the OS user).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (stable, for scripts).")
@db_option
@click.pass_context
def due(
    ctx: click.Context,
    day: date | None,
    agent: str | None,
    stage: str | None,
    rule: str | None,
    segment: Segment | None,
    tag: str | None,
    overdue: bool,
    mine: bool,
    as_json: bool,
    db_path: Path | None,
) -> None:
    """Generate today's follow-ups (idempotent) and print the queue, overdue first.

    The filters combine (all must hold): --stage, --rule, --segment, --tag, --overdue, --mine.
    The day is --date, else the group's --today (tui-agent --today D due), else today.
    A missing official holiday calendar for a coming year is reported on stderr.
    """
    day = day or cli_today()
    rules = load_ruleset()
    where = QueueFilter(
        stage=Stage(stage) if stage else None,
        rule=rule or None,
        segment=segment,
        tag=tag or None,
        overdue=overdue,
        mine=agent_name(agent) if mine else None,
    )
    db = open_database(db_path)
    result = generate(db, day, rules)
    missing = missing_message(rules, day)
    if missing:
        click.echo(missing, err=True)
    queue = due_queue(db, day, where=where)
    if agent:
        expiry = datetime.now() - timedelta(minutes=rules.claim_expire_minutes)
        queue = [
            f
            for f in queue
            if f.claimed_by in (None, agent) or (f.claimed_at is not None and f.claimed_at < expiry)
        ]
    if as_json:
        echo_json([follow_up_json(f, day) for f in queue])
        return
    console = Console()
    title = f"Due {day.isoformat()}: {len(queue)} follow-ups"
    if not where.empty:
        title += f" ({where.describe()})"
    table = Table(title=Text(visible(title)), title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("due", no_wrap=True)
    table.add_column("stage", no_wrap=True)
    table.add_column("customer")
    table.add_column("why", overflow="fold")
    table.add_column("claimed")
    for f in queue:
        overdue_days = f.overdue_days(day)
        # Names come from the shop's files: plain Text (no markup), control characters out.
        table.add_row(
            str(f.id),
            f.due_date.isoformat()[5:] + (f" +{overdue_days}d" if overdue_days else ""),
            f.stage.label_zh,
            # Names come from the shop's files: plain Text (no markup), controls shown.
            Text(visible(f"{f.customer_name or ''} {f.customer_id}")),
            Text(visible(" + ".join(dict.fromkeys(r.rule for r in f.reasons)))),
            Text(visible(f.claimed_by or "")),
        )
    console.print(table)
    console.print(
        f"generated: {result.created} new, {result.merged} merged, {result.capped} capped, "
        f"{result.cancelled} cancelled"
        + (
            f", {deferred_count(db, day)} deferred to tomorrow (daily capacity)"
            if rules.daily_capacity
            else ""
        ),
        style="dim",
    )
