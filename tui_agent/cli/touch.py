"""``tui-agent touch``: record what came of a touch, take a touch back.

Touches are append-only: an outcome and a retraction are new rows that refer to the touch.
"""

from __future__ import annotations

from pathlib import Path

import click

from tui_agent.cli.common import UserError, agent_name, db_option, echo_json, now, open_database
from tui_agent.cli.customer import event_json
from tui_agent.core.customer_page import OUTCOMES, Outcome, printable


@click.group("touch")
def touch_group() -> None:
    """Record the outcome of a touch, or take one back (undo)."""


@touch_group.command("outcome")
@click.argument("touch_id", type=click.IntRange(min=1))
@click.argument("outcome", type=click.Choice(OUTCOMES))
@click.option("--note", default=None, help="What the customer said, in a few words.")
@click.option("--agent", default=None, help="Who records it (default: config, else OS user).")
@click.option("--json", "as_json", is_flag=True, help="Print the logged event as JSON.")
@db_option
def outcome_cmd(
    touch_id: int,
    outcome: str,
    note: str | None,
    agent: str | None,
    as_json: bool,
    db_path: Path | None,
) -> None:
    """Record what came of touch TOUCH_ID: replied, satisfied, problem, question, no_reply,
    ordered or unreachable (wrong number). A new row each time; the latest one counts.
    Exits 1 for an unknown or retracted touch."""
    from tui_agent.store.outcomes import DeskError, record_outcome

    who = agent_name(agent)
    db = open_database(db_path, create=False)
    try:
        event = record_outcome(db, touch_id, outcome, agent=who, note=note, now=now())
    except DeskError as exc:
        raise UserError(str(exc)) from None
    if as_json:
        echo_json(event_json(event))
        return
    value = Outcome(outcome)
    extra = f" — {printable(event.note)}" if event.note else ""
    click.echo(
        f"touch #{touch_id} ({printable(event.customer_id)}): {value.value} "
        f"{value.label_zh}{extra} (recorded by {printable(who)})"
    )


@touch_group.command("undo")
@click.argument("touch_id", type=click.IntRange(min=1), required=False)
@click.option("--agent", default=None, help="Whose touch (default: config, else OS user).")
@click.option("--reason", default=None, help="Why it is taken back (kept with the retraction).")
@click.option(
    "--within",
    "within",
    type=click.IntRange(0, 24 * 60),
    default=None,
    help="Minutes a touch stays undoable (default: [work] undo_minutes in the config, else 10).",
)
@click.option("--json", "as_json", is_flag=True, help="Print what was retracted as JSON.")
@db_option
def undo_cmd(
    touch_id: int | None,
    agent: str | None,
    reason: str | None,
    within: int | None,
    as_json: bool,
    db_path: Path | None,
) -> None:
    """Take back the agent's own last touch (or TOUCH_ID) logged within the undo window.

    The touch stays, marked retracted (who, when, why); it no longer counts in the frequency
    cap, the day's work or the attribution. The follow-up it closed is pending again, with no
    claim, so anyone (the agent first, in the console) can work it again. Exits 1 when the
    touch is another agent's, older than the window, or already retracted.
    """
    from tui_agent.config import ConfigError, load_config
    from tui_agent.store.outcomes import UndoRefused, undo_last_touch

    who = agent_name(agent)
    if within is None:
        try:
            within = load_config().undo_minutes
        except ConfigError as exc:
            raise UserError(str(exc)) from None
    db = open_database(db_path, create=False)
    try:
        undone = undo_last_touch(
            db, who, now=now(), within_minutes=within, touch_id=touch_id, reason=reason
        )
    except UndoRefused as exc:
        raise UserError(str(exc)) from None
    if as_json:
        echo_json(
            {
                "touch_id": undone.touch_id,
                "customer_id": undone.customer_id,
                "follow_up_id": undone.follow_up_id,
                "reopened": undone.reopened,
                "retraction": event_json(undone.event),
            }
        )
        return
    back = ""
    if undone.follow_up_id is not None:
        back = (
            f"; follow-up #{undone.follow_up_id} is back in the queue"
            if undone.reopened
            else f"; follow-up #{undone.follow_up_id} is no longer open and stays as it is"
        )
    click.echo(
        f"retracted touch #{undone.touch_id} to {printable(undone.customer_id)} "
        f"({printable(undone.event.note)}){back}"
    )
