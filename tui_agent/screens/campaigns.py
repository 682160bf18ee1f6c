"""Campaigns (key m): the running campaigns with their progress; enter works one's queue."""

from __future__ import annotations

import sqlite3
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from tui_agent.screens.work_queue import WorkQueueScreen
from tui_agent.session import QueueState, Session
from tui_agent.store.campaigns import Summary


class CampaignsScreen(Screen[None]):
    """The list of campaigns not ended, one row each; enter opens its queue."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,m", "app.pop_screen", "Back", id="campaigns.back"),
        Binding("r", "refresh", "Refresh", id="campaigns.refresh"),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.names: dict[str, str] = {}  # row key -> campaign name

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="campaign-list", cursor_type="row", zebra_stripes=True)
        yield Static("Loading campaigns…", id="campaign-status")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"营销活动 campaigns · {self.session.today}"
        table = self.query_one(DataTable)
        for label in ("活动 campaign", "status", "done", "today", "waiting", "capped"):
            table.add_column(label, key=label)
        for label in ("opted out", "holdout", "converted"):
            table.add_column(label, key=label)
        table.focus()
        self.action_refresh()

    def on_screen_resume(self) -> None:
        self.action_refresh()

    def action_refresh(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="campaigns")
    def load(self) -> None:
        summaries = self.session.campaigns()
        self.app.call_from_thread(self._show, summaries)

    def _show(self, summaries: list[Summary]) -> None:
        table = self.query_one(DataTable)
        table.clear()
        self.names = {}
        for i, s in enumerate(summaries):
            n = s.counts
            rate = s.report.contacted.rate
            converted = "—" if rate is None else f"{rate.value:.0%} of {s.report.contacted.members}"
            key = str(i)
            self.names[key] = s.name
            table.add_row(
                Text(s.name),  # never markup: a name is the shop's text
                s.status,
                f"{n['done']}/{n['contact'] - n['opted_out']}",
                str(n["scheduled"]),
                str(n["waiting"]),
                str(n["capped"]),
                str(n["opted_out"]),
                str(n["holdout"]),
                converted,
                key=key,
            )
        self.query_one("#campaign-status", Static).update(
            "enter: work the campaign's queue · esc: back"
            if summaries
            else "No running campaigns (tui-agent campaign create NAME --phrase ID ...)."
        )

    @on(DataTable.RowSelected, "#campaign-list")
    def _open(self, event: DataTable.RowSelected) -> None:
        name = self.names.get(str(event.row_key.value))
        if name is not None:
            self.app.push_screen(CampaignQueueScreen(self.session, name))


class CampaignQueueScreen(WorkQueueScreen):
    """The work queue screen over one campaign's follow-ups: the same keys, the same loop."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="campaign_queue.back"),
    ]

    def __init__(self, session: Session, name: str) -> None:
        super().__init__(session)
        self.campaign = name

    def _apply_queue(self, state: QueueState) -> None:
        super()._apply_queue(state)
        # After the base class's on_mount (Textual runs both), so this title stays.
        self.title = f"营销活动 {self.campaign} · {self.session.agent} · {self.session.today}"

    @work(thread=True, exclusive=True, group="queue")
    def load_queue(self, generate: bool = False) -> None:
        """This campaign's open follow-ups (the day's generation is the main screen's)."""
        try:
            state = self.session.campaign_queue(self.campaign)
        except sqlite3.Error as exc:  # the next refresh tries again; never crash the console
            self.app.call_from_thread(self._waiting, f"waiting for the database ({exc})")
            return
        self.app.call_from_thread(self._apply_queue, state)
