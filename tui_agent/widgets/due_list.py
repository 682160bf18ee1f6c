"""The day's due follow-ups: stage, customer, reason, overdue days, who holds the claim."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from tui_agent.core.models import FollowUp

_STAGE_STYLE = {
    "first_purchase": "bold cyan",
    "satisfaction": "bold green",
    "upkeep": "bold blue",
    "repurchase": "bold magenta",
    "loyalty": "bold yellow",
}


class DueList(DataTable[Text | str]):
    """A table of follow-ups keyed by follow-up id; j/k move like Down/Up."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="due_list.down"),
        Binding("k", "cursor_up", "Up", show=False, id="due_list.up"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.items: dict[int, FollowUp] = {}
        self.order: list[int] = []

    def on_mount(self) -> None:
        self.add_column("阶段 stage", key="stage", width=10)
        self.add_column("客户 customer", key="customer", width=14)
        self.add_column("原因 reason", key="reason", width=28)
        self.add_column("逾期", key="overdue", width=4)
        self.add_column("认领 claim", key="claim", width=10)

    def on_resize(self) -> None:
        # The reason column takes what the fixed columns leave (cell padding is 1 each side).
        fixed = 10 + 14 + 4 + 10 + 2 * 5 + 2 + 2  # cell padding, border, scrollbar
        reason = self.columns.get(ColumnKey("reason"))
        if reason is not None:
            reason.width = max(16, self.size.width - fixed)
            self.refresh()

    def mark_claim(self, follow_up_id: int, text: Text) -> None:
        """Show a claim change at once, before the next refresh."""
        if follow_up_id in self.items:
            self.update_cell(str(follow_up_id), "claim", text)

    def set_items(
        self,
        items: Sequence[FollowUp],
        today: date,
        agent: str,
        held_by_other: Callable[[FollowUp], bool],
        *,
        mine: int | None = None,
    ) -> None:
        """Show ``items``; the cursor stays on the same follow-up when it is still listed.

        Rows are keyed by follow-up id. ``mine`` is the one follow-up this console holds
        (shown as ``me``); any other row the database says is ours shows blank.
        """
        current = self.current_id()
        new_order = [i.id for i in items]
        self.items = {i.id: i for i in items}
        rows = [self._cells(i, today, agent, held_by_other(i), i.id == mine) for i in items]
        if new_order == self.order:
            for fid, cells in zip(new_order, rows, strict=True):
                for key, value in zip(
                    ("stage", "customer", "reason", "overdue", "claim"), cells, strict=True
                ):
                    self.update_cell(str(fid), key, value)
            return
        self.order = new_order
        self.clear()
        for fid, cells in zip(new_order, rows, strict=True):
            self.add_row(*cells, key=str(fid))
        if current is not None and current in self.items:
            self.move_cursor(row=self.order.index(current), animate=False, scroll=True)

    def _cells(
        self, item: FollowUp, today: date, agent: str, other: bool, mine: bool
    ) -> tuple[Text | str, ...]:
        stage = Text(item.stage.label_zh, style=_STAGE_STYLE.get(item.stage.value, ""))
        reason = item.reasons[0].text if item.reasons else item.rule
        late = item.overdue_days(today)
        overdue = Text(f"{late}天", style="bold red") if late else Text("")
        if mine:
            claim = Text("me", style="green")
        elif item.claimed_by is None or item.claimed_by == agent:
            claim = Text("")
        else:
            claim = Text(item.claimed_by, style="bold red" if other else "dim")
        # Text, not str: a str cell is read as markup, and names may contain "[".
        name = Text(item.customer_name or item.customer_id)
        return stage, name, Text(reason), overdue, claim

    def current_id(self) -> int | None:
        """The follow-up under the cursor, if any."""
        if not self.order or not (0 <= self.cursor_row < len(self.order)):
            return None
        return self.order[self.cursor_row]

    def select_id(self, follow_up_id: int) -> None:
        if follow_up_id in self.items:
            self.move_cursor(row=self.order.index(follow_up_id), animate=False)
