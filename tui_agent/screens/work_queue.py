"""The main screen: due list, customer card, phrase search and preview, one key to copy."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, ClassVar

from rich.markup import escape
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static
from textual.worker import get_current_worker

from tui_agent.core import clipboard
from tui_agent.core.phrases import Phrase
from tui_agent.messages import PhraseChosen, PhraseHighlighted, TouchLogged
from tui_agent.phrasing import Filled
from tui_agent.screens.modals import (
    ConfirmOptOut,
    EditText,
    MissingValuesForm,
    SkipReason,
    SnoozePicker,
)
from tui_agent.session import Opened, QueueState, Session
from tui_agent.store.followups import ClaimLost
from tui_agent.widgets.customer_card import CustomerCardView
from tui_agent.widgets.due_list import DueList
from tui_agent.widgets.phrase_search import PhraseSearch
from tui_agent.widgets.preview import Preview

if TYPE_CHECKING:
    from tui_agent.app import ConsoleApp

REFRESH_SECONDS = 5.0
SHOP_WIDE = frozenset({"coupon", "shop_name", "agent_name"})


class WorkQueueScreen(Screen[None]):
    """Works the day's queue. Database calls run in thread workers via :class:`Session`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_search", "Search", id="focus_search"),
        Binding("e", "edit", "Edit", id="edit"),
        Binding("s", "snooze", "Snooze", id="snooze"),
        Binding("x", "skip", "Skip", id="skip"),
        Binding("o", "opt_out", "Opt out", id="opt_out"),
        Binding("n", "next", "Next", id="next"),
        Binding("p", "toggle_phone", "Phone", show=False, id="reveal_phone"),
        Binding("ctrl+y", "copy_and_log", "Copy+log", show=False, id="copy_and_log"),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.opened: Opened | None = None
        self.phrase: Phrase | None = None
        self.filled: Filled | None = None
        self.supplied: dict[str, str] = {}  # values typed for this follow-up
        self.remembered: dict[str, str] = {}  # shop-wide values typed earlier today
        self._first_load = True
        self._note = ""  # the last write's outcome, kept on the status line
        self._auto = False  # the open in progress was picked by the console, not the agent
        self._retry = False  # re-pick after the next refresh (an automatic pick lost its claim)
        # The follow-up whose open worker is running, and the row showing our claim.
        self._opening: int | None = None
        self._marked: int | None = None

    @property
    def console(self) -> ConsoleApp:
        from tui_agent.app import ConsoleApp

        assert isinstance(self.app, ConsoleApp)
        return self.app

    def compose(self) -> ComposeResult:
        yield Header()
        yield DueList(id="due-list")
        with Horizontal(id="work"):
            card = CustomerCardView(id="card")
            card.today = self.session.today
            card.phrase_title = self._phrase_title
            yield card
            with Vertical(id="phrase-pane"):
                yield PhraseSearch(self.session.phrases, id="phrase-search")
                yield Preview(id="preview")
        yield Static("Loading today's follow-ups…", id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"tui-agent · {self.session.agent} · {self.session.today}"
        self.query_one(DueList).focus()
        self.load_queue(generate=True)
        self.set_interval(REFRESH_SECONDS, self.load_queue)

    def _phrase_title(self, phrase_id: str) -> str | None:
        phrase = self.session.phrases.get(phrase_id)
        return phrase.title if phrase else None

    # --- loading --------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="queue")
    def load_queue(self, generate: bool = False) -> None:
        """Reload the queue (others' claims, work done elsewhere); generate today's on start."""
        state = self.session.queue()
        self.app.call_from_thread(self._apply_queue, state)
        if generate:
            self.session.load_usage()
            result = self.session.generate()
            if result is not None and (result.created or result.unsnoozed or result.merged):
                self.app.call_from_thread(self._apply_queue, self.session.queue())

    def _apply_queue(self, state: QueueState) -> None:
        self.sub_title = f"今日进度 done {state.done} / {state.total}"
        table = self.query_one(DueList)
        before = table.current_id()
        before_index = table.order.index(before) if before in table.order else 0
        table.set_items(
            state.items, self.session.today, self.session.agent, self.session.held_by_other
        )
        if self._first_load:
            self._first_load = False
            self._status(f"{len(state.items)} follow-ups due · enter copies the phrase and logs it")
        if not self.is_current:
            return  # a screen above (a campaign's queue) is working the session's one claim
        current = self.opened.follow_up.id if self.opened else None
        if self._retry and self.opened is not None and current in table.items:
            # An automatic pick lost the race for its claim: with fresh claims, pick again.
            self._retry = False
            self.opened = None
            self._select_from(table.order.index(current))
        elif current is None or current not in table.items:
            # The worked one has left the list: the row now at its place is the next one.
            self._select_from(min(before_index, max(0, len(table.order) - 1)))
        elif table.current_id() != current:
            table.select_id(current)

    def _select_from(self, index: int) -> None:
        """Select the first follow-up at or after ``index`` that nobody else is working."""
        table = self.query_one(DueList)
        order = table.order
        for fid in order[index:] + order[:index]:
            if not self.session.held_by_other(table.items[fid]):
                self._open(fid, auto=True)
                table.select_id(fid)
                return
        self.opened = None
        self.query_one(CustomerCardView).card = None
        self._status(
            "Nothing left to do today. 今日完成 🎉"
            if not order
            else "All remaining follow-ups are held by others."
        )

    @on(DataTable.RowHighlighted, "#due-list")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        fid = int(str(event.row_key.value))
        if fid != self._opening and (self.opened is None or self.opened.follow_up.id != fid):
            self._open(fid)

    def _open(self, follow_up_id: int, *, auto: bool = False) -> None:
        self._auto = auto
        self._opening = follow_up_id
        self.open_follow_up(follow_up_id)

    @work(thread=True, exclusive=True, group="open")
    def open_follow_up(self, follow_up_id: int) -> None:
        """Claim the follow-up and load the card (releases this agent's previous claim)."""
        opened = self.session.open(follow_up_id)
        if get_current_worker().is_cancelled or opened is None:
            return
        self.app.call_from_thread(self._show_opened, opened)

    def _show_opened(self, opened: Opened) -> None:
        if self.query_one(DueList).current_id() != opened.follow_up.id:
            return  # the cursor moved on meanwhile; that follow-up's worker will report
        self._opening = None
        self.opened = opened
        if not opened.claimed:
            # Our list was stale: refresh it; an automatic pick then moves on by itself.
            self._retry = self._auto
            self.load_queue()
        self.supplied = {}
        self.query_one(CustomerCardView).card = opened.card
        self.load_segment(opened.card.customer.customer_id)
        item = opened.follow_up
        language = opened.card.customer.language
        suggested = self.session.phrases.suggest(item.stage, item.suggested_tags, language)
        if opened.phrase_id:  # a campaign's follow-up: its own phrase
            suggested = self.session.phrases.get(opened.phrase_id) or suggested
        self.phrase = suggested
        search = self.query_one(PhraseSearch)
        search.language = language
        search.preselect(suggested)
        self._refill()
        note, self._note = self._note, ""
        holder = "me" if opened.claimed else (opened.holder or "")
        table = self.query_one(DueList)
        if self._marked is not None and self._marked != item.id:
            table.mark_claim(self._marked, Text(""))  # the session gave that claim back
        table.mark_claim(item.id, Text(holder, style="green" if opened.claimed else "bold red"))
        self._marked = item.id if opened.claimed else None
        if opened.claimed:
            reasons = " + ".join(r.text.split(":")[0] for r in item.reasons) or item.rule
            info = escape(f"{item.stage.label_zh} · {reasons}")
        else:
            who = escape(f"{item.customer_name} is being worked by {opened.holder}")
            info = f"[b red]{who}[/] — n for the next one"
        self._status(f"{note} │ next: {info}" if note else info)

    @work(thread=True, exclusive=True, group="segment")
    def load_segment(self, customer_id: str) -> None:
        """The segment comes from analytics (seconds on the first call): fill it in later."""
        segment = self.session.segment(customer_id)
        if segment and not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_segment, customer_id, segment)

    def _show_segment(self, customer_id: str, segment: str) -> None:
        view = self.query_one(CustomerCardView)
        if view.card is not None and view.card.customer.customer_id == customer_id:
            view.card = replace(view.card, segment=segment)

    # --- phrase and preview ---------------------------------------------------------------

    @on(PhraseHighlighted)
    def _phrase_highlighted(self, event: PhraseHighlighted) -> None:
        self.phrase = event.phrase
        self._refill()

    def _refill(self) -> None:
        if self.opened is None or self.phrase is None:
            self.filled = None
        else:
            self.filled = self.session.phrases.fill(
                self.phrase, self.opened.context, self.supplied, self.opened.card.customer.language
            )
        self.query_one(Preview).show(self.filled)

    @on(PhraseChosen)
    def _phrase_chosen(self, event: PhraseChosen) -> None:
        if event.phrase is not None:
            self.phrase = event.phrase
            self._refill()
        self.action_copy_and_log()

    @on(DataTable.RowSelected, "#due-list")
    def _row_selected(self) -> None:
        self.action_copy_and_log()

    def _workable(self) -> Opened | None:
        if self.opened is None:
            self._status("No follow-up selected.")
            return None
        if not self.opened.claimed:
            self._status(f"[red]Held by {escape(self.opened.holder or '?')}; not yours to work.[/]")
            return None
        return self.opened

    def action_copy_and_log(self) -> None:
        if self._workable() is None or self.phrase is None or self.filled is None:
            if self.opened is not None and self.phrase is None:
                self._status("Pick a phrase first (/ to search).")
            return
        if self.filled.missing:
            helps = self.session.phrases.placeholder_help()
            form = MissingValuesForm(self.filled.missing, helps, self.remembered)
            self.app.push_screen(form, self._got_values)
            return
        self.send(self.opened, self.filled.text, self.phrase.id)

    def _got_values(self, values: object) -> None:
        if isinstance(values, dict):
            self.supplied.update(values)
            # Shop-wide values are offered again for the next customer (still confirmed).
            self.remembered.update({k: v for k, v in values.items() if k in SHOP_WIDE})
            self._refill()
            self.action_copy_and_log()

    def action_edit(self) -> None:
        if self._workable() is None or self.filled is None:
            return
        self.app.push_screen(EditText(self.filled.text), self._edited)

    def _edited(self, text: object) -> None:
        if isinstance(text, str) and self.opened is not None:
            if self.filled is not None and any("{" + m + "}" in text for m in self.filled.missing):
                self._status("[red]The text still has an unfilled placeholder; not copied.[/]")
                return
            self.send(
                self.opened,
                text,
                self.phrase.id if self.phrase else None,
                channel="clipboard-edited",
            )

    @work(thread=True, group="write")
    def send(
        self, opened: Opened, text: str, phrase_id: str | None, channel: str = "clipboard"
    ) -> None:
        """Log the touch first (one transaction), then copy; never copy what was not logged."""
        try:
            touch_id = self.session.log_touch(opened.follow_up, text, phrase_id, channel=channel)
        except ClaimLost as exc:
            self.app.call_from_thread(self._status, f"[b red]Not copied:[/] {escape(str(exc))}")
            self.app.call_from_thread(self.load_queue)
            return
        result = clipboard.copy_text(
            text,
            osc52=lambda t: self.app.call_from_thread(self.app.copy_to_clipboard, t),
            system=self.console.system_copy,
        )
        name = opened.follow_up.customer_name or opened.follow_up.customer_id
        note = escape(f"{result.describe()} · touch #{touch_id} logged for {name}")
        self.app.call_from_thread(
            self._after_write, note, TouchLogged(touch_id, opened.follow_up.id)
        )

    def _after_write(self, note: str, message: TouchLogged | None = None) -> None:
        self._status(note)
        self._note = note  # kept in front when the next follow-up opens
        self.query_one(DueList).focus()  # so e, s, x, o, n work at once on the next one
        if message is not None:
            self.app.post_message(message)
        self.opened = None
        self.load_queue()

    # --- other actions -----------------------------------------------------------------------

    def action_focus_search(self) -> None:
        self.query_one("#search").focus()

    def action_toggle_phone(self) -> None:
        card = self.query_one(CustomerCardView)
        card.show_phone = not card.show_phone

    def action_next(self) -> None:
        table = self.query_one(DueList)
        current = table.current_id()
        index = table.order.index(current) + 1 if current in table.order else 0
        if table.order:
            self._select_from(index % len(table.order))

    def action_snooze(self) -> None:
        if self._workable():
            self.app.push_screen(SnoozePicker(self.session.today), self._snoozed)

    def _snoozed(self, until: object) -> None:
        if isinstance(until, date) and self.opened:
            self.close_follow_up(self.opened, "snooze", until)

    def action_skip(self) -> None:
        if self._workable():
            self.app.push_screen(SkipReason(), self._skipped)

    def _skipped(self, reason: object) -> None:
        if isinstance(reason, str) and self.opened:
            self.close_follow_up(self.opened, "skip", reason)

    def action_opt_out(self) -> None:
        if opened := self._workable():
            name = opened.card.customer.name or opened.card.customer.customer_id
            self.app.push_screen(ConfirmOptOut(name), self._opted_out)

    def _opted_out(self, yes: object) -> None:
        if yes is True and self.opened:
            self.close_follow_up(self.opened, "opt_out", None)

    @work(thread=True, group="write")
    def close_follow_up(self, opened: Opened, how: str, value: object) -> None:
        item = opened.follow_up
        name = item.customer_name or item.customer_id
        try:
            if how == "snooze":
                assert isinstance(value, date)
                self.session.snooze(item, value)
                note = escape(f"Snoozed {name} until {value}")
            elif how == "skip":
                self.session.skip(item, str(value))
                note = escape(f"Skipped {name}: {value}")
            else:
                n = self.session.opt_out(item)
                note = escape(f"{name} opted out; {n} open follow-up(s) cancelled")
        except ClaimLost as exc:
            note = f"[b red]Not changed:[/] {escape(str(exc))}"
        self.app.call_from_thread(self._after_write, note)

    def _status(self, text: str) -> None:
        self.query_one("#status", Static).update(text)
