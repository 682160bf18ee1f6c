"""r (record an outcome) and u (undo) on the agent's last touch: one flow for every screen.

The work queue and the customer page both log touches; they share the picker, the confirmation,
the write in a worker thread and its error lines. What differs (where the last touch is kept, the
wording of the confirmations, what to reload) is left to small hooks on each screen.
"""

from __future__ import annotations

import sqlite3
from functools import partial
from typing import TYPE_CHECKING, ClassVar

from rich.markup import escape
from textual.screen import Screen

from tui_agent.store.outcomes import DeskError

if TYPE_CHECKING:
    from tui_agent.core.customer_page import Outcome
    from tui_agent.session import Session
    from tui_agent.store.outcomes import Undone


class TouchActionsScreen(Screen[None]):
    """A screen with ``r`` (outcome) and ``u`` (undo) for this agent's last touch."""

    session: Session
    WRITE_GROUP: ClassVar[str] = "write"
    UNDO_REASON: ClassVar[str] = "undo in the console"
    NO_TOUCH: ClassVar[str] = "No touch of yours yet to record an outcome for."

    # --- hooks --------------------------------------------------------------------------------

    def _touch_status(self, text: str) -> None:
        """Show ``text`` (markup) on the screen's status line (UI thread)."""
        raise NotImplementedError

    def _last_touch(self) -> tuple[int | None, str]:
        """This agent's last touch id (None if none yet) and whom it was for."""
        raise NotImplementedError

    def _outcome_recorded(self, touch_id: int, outcome: Outcome, note: str | None) -> None:
        """Called in the worker thread once the outcome is stored."""
        raise NotImplementedError

    def _touch_undone(self, undone: Undone) -> None:
        """Called in the worker thread once the touch is retracted."""
        raise NotImplementedError

    # --- the shared flow -----------------------------------------------------------------------

    def action_outcome(self) -> None:
        from tui_agent.screens.desk_dialogs import OutcomePicker  # not for the first paint

        touch_id, who = self._last_touch()
        if touch_id is None:
            self._touch_status(self.NO_TOUCH)
            return
        self.app.push_screen(OutcomePicker(touch_id, who), partial(self._outcome_picked, touch_id))

    def _outcome_picked(self, touch_id: int, picked: object) -> None:
        if isinstance(picked, tuple):
            outcome, note = picked
            self.run_worker(
                partial(self._record_outcome, touch_id, outcome, note),
                thread=True,
                group=self.WRITE_GROUP,
            )

    def _record_outcome(self, touch_id: int, outcome: Outcome, note: str | None) -> None:
        try:
            self.session.record_outcome(touch_id, outcome, note)
        except (DeskError, ValueError, sqlite3.Error) as exc:
            self.app.call_from_thread(self._touch_status, f"[red]{escape(str(exc))}[/]")
            return
        self._outcome_recorded(touch_id, outcome, note)

    def action_undo(self) -> None:
        from tui_agent.screens.desk_dialogs import Confirm

        self.app.push_screen(
            Confirm("[b]撤回 Undo[/b] your last touch? (it stays on record, marked retracted)"),
            self._undo_confirmed,
        )

    def _undo_confirmed(self, yes: object) -> None:
        if yes is True:
            self.run_worker(self._undo_touch, thread=True, group=self.WRITE_GROUP)

    def _undo_touch(self) -> None:
        try:
            undone = self.session.undo_last_touch(reason=self.UNDO_REASON)
        except (DeskError, sqlite3.Error) as exc:
            self.app.call_from_thread(
                self._touch_status, f"[red]Nothing undone: {escape(str(exc))}[/]"
            )
            return
        self._touch_undone(undone)
