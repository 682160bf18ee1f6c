"""``tui-agent due``: generate (idempotently) and print the day's follow-up queue."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from tui_agent.cli.common import DATE, db_option, echo_json, load_ruleset, open_database
from tui_agent.core.kinds.holiday import missing_message
from tui_agent.core.models import FollowUp
from tui_agent.core.safetext import visible
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
    help="Leave out follow-ups another agent holds a live claim on.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (stable, for scripts).")
@db_option
@click.pass_context
def due(
    ctx: click.Context, day: date | None, agent: str | None, as_json: bool, db_path: Path | None
) -> None:
    """Generate today's follow-ups (idempotent) and print the queue, overdue first.

    The day is --date, else the group's --today (tui-agent --today D due), else today.
    A missing official holiday calendar for a coming year is reported on stderr.
    """
    root_today = ctx.find_root().params.get("today")
    day = day or (root_today if isinstance(root_today, date) else None) or date.today()
    rules = load_ruleset()
    db = open_database(db_path)
    result = generate(db, day, rules)
    missing = missing_message(rules, day)
    if missing:
        click.echo(missing, err=True)
    queue = due_queue(db, day)
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
    table = Table(title=f"Due {day.isoformat()}: {len(queue)} follow-ups", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("due", no_wrap=True)
    table.add_column("stage", no_wrap=True)
    table.add_column("customer")
    table.add_column("why", overflow="fold")
    table.add_column("claimed")
    for f in queue:
        overdue = f.overdue_days(day)
        table.add_row(
            str(f.id),
            f.due_date.isoformat()[5:] + (f" +{overdue}d" if overdue else ""),
            f.stage.label_zh,
            visible(f"{f.customer_name or ''} {f.customer_id}"),
            visible(" + ".join(dict.fromkeys(r.rule for r in f.reasons))),
            visible(f.claimed_by or ""),
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
