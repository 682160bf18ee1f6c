"""The main screen: due list, customer card, phrase search and preview, one key to copy."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, ClassVar

from rich.markup import escape
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.geometry import Size
from textual.widgets import DataTable, Header, Static
from textual.worker import get_current_worker

from tui_agent.core import clipboard
from tui_agent.core.customer_page import Outcome
from tui_agent.core.phrases import Phrase
from tui_agent.core.queue_filter import QueueFilter
from tui_agent.messages import PhraseChosen, PhraseHighlighted, TouchLogged
from tui_agent.phrasing import Filled
from tui_agent.screens.touch_actions import TouchActionsScreen
from tui_agent.session import Opened, Opening, QueueState, Session
from tui_agent.store.followups import ClaimLost
from tui_agent.store.outcomes import DeskError, Undone
from tui_agent.widgets.customer_card import CustomerCardView
from tui_agent.widgets.due_list import DueList
from tui_agent.widgets.footer import KeyFooter
from tui_agent.widgets.phrase_search import PhraseSearch
from tui_agent.widgets.preview import Preview

if TYPE_CHECKING:
    from tui_agent.app import ConsoleApp

# The dialogs and the customer screens are imported when first opened: the first paint (this
# screen) never needs them (~10 ms of imports, TextArea among them).

REFRESH_SECONDS = 5.0
GENERATION_POLL_SECONDS = 0.2  # how often the day's generation process is checked
# How long the screen's mount waits for the prefetched first frame's rows (~0.03 s of reading)
# before it shows "Loading" and lets a worker wait for them instead (a database stalled).
OPENING_WAIT_SECONDS = 0.3
MIN_WIDTH, MIN_HEIGHT = 80, 24  # the smallest terminal the layout supports
WRITE_RETRY_SECONDS = 1.0
WRITE_ATTEMPTS = 600  # ten minutes of a locked database before the write is given up
SHOP_WIDE = frozenset({"coupon", "shop_name", "agent_name"})


class WorkQueueScreen(TouchActionsScreen):
    """Works the day's queue. Database calls run in thread workers via :class:`Session`."""

    NO_TOUCH: ClassVar[str] = "No touch of yours yet today to record an outcome for."

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_search", "Search", id="focus_search"),
        Binding("e", "edit", "Edit", id="edit"),
        Binding("s", "snooze", "Snooze", id="snooze"),
        Binding("x", "skip", "Skip", id="skip"),
        Binding("o", "opt_out", "Opt out", id="opt_out"),
        Binding("n", "next", "Next", id="next"),
        Binding("p", "toggle_phone", "Phone", show=False, id="reveal_phone"),
        Binding("ctrl+y", "copy_and_log", "Copy+log", show=False, id="copy_and_log"),
        Binding("c", "find_customer", "Customer", id="find_customer"),
        Binding("r", "outcome", "Outcome", id="record_outcome"),
        Binding("u", "undo", "Undo", id="undo_touch"),
        Binding("f", "filter", "Filter", id="filter_queue"),
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
        self._note = ""  # the last write's confirmation, kept until the agent's next key
        self._info = ""  # what the status line says about the follow-up on screen
        self._notice_checked = False  # the start notice (load_notice) looked for
        self._notice_due = False  # look for it once the first card (or an empty day) shows
        self._first_shown = False  # the first card (or an empty day) is on screen
        self._generate_pending = False  # today's generation process waits for that
        self._resumed = False  # shown once: the first show's queue is on_mount's load
        # The first follow-up's card, read with the first queue load (one frame shows both).
        self._preloaded: tuple[Opened, str | None] | None = None
        # The follow-up this screen holds a claim on (opened for work), shown as "me".
        self.claimed: int | None = None
        self._previewing: int | None = None  # the preview worker in flight
        self.draft: str | None = None  # the agent's edit of this follow-up's text
        self.last_touch: int | None = None  # this agent's last touch (r records its outcome)
        self.last_touch_who = ""
        self.filter = QueueFilter()
        self.filter_text = ""
        self.capped: str | None = None  # why a touch now would break the frequency cap
        self.generating: subprocess.Popen[bytes] | None = None  # the day's generation

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
        yield Static("Loading today's follow-ups…", id="status", markup=True)
        yield Static(
            f"Terminal too small: tui-agent needs at least {MIN_WIDTH}x{MIN_HEIGHT}. "
            "Nothing is copied until the window is larger.",
            id="too-small",
        )
        yield KeyFooter()

    def on_mount(self) -> None:
        self.title = f"tui-agent · {self.session.agent} · {self.session.today}"
        self.query_one(DueList).focus()
        self._fit(self.app.size)
        main = self is getattr(self.app, "work_screen", None)
        # The console's prefetch read it while Textual loaded: in the very first frame. Its
        # last rows may still be coming (the UI thread held the interpreter lock meanwhile).
        opening = self.session.take_opening(OPENING_WAIT_SECONDS) if main else None
        if opening is None:
            self.load_queue(generate=True)
        else:
            self._apply_opening(opening)
            if self.session.rules_file is not None and not opening.generated:
                self._generation_due()
            else:
                self.generate_here()
        self.set_interval(REFRESH_SECONDS, self.load_queue)

    def on_screen_resume(self) -> None:
        """Back from another screen that may have worked the session's one claim (and the
        first time shown: what the agent should know at start)."""
        if not self._notice_checked and self is getattr(self.app, "work_screen", None):
            self._notice_checked = True  # the day's queue only, not a campaign's
            # Looked for once the first card is shown: it imports the holidays package and
            # builds a year's calendar (~0.15 s of CPU the first paint should not share).
            self._notice_due = True
            if self._first_shown:  # shown already, at mount (the console's prefetch)
                self._first_card_shown()
        if self.claimed is not None and self.claimed != self.session.held:
            self.query_one(DueList).mark_claim(self.claimed, Text(""))
            self.claimed = None
            if self.opened is not None:
                self.opened = replace(self.opened, claimed=False, holder=None)
        if not self._resumed:
            self._resumed = True  # first shown: on_mount's load is under way, not a second
            return
        self.load_queue()

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size)

    def _fit(self, size: Size) -> None:
        """Lay the screen out for a terminal of ``size`` (on mount too: the first frame is
        laid out right, not re-laid and painted again at the first resize event)."""
        width, height = size
        small = width < MIN_WIDTH or height < MIN_HEIGHT
        self.set_class(small, "-too-small")
        if small:
            return
        # The card and phrases get what they need; the list gets the rest (more rows on a
        # tall terminal, never fewer than four).
        usable = height - 3  # header, status line, footer
        work = max(12, usable - 8) if usable < 30 else min(24, int(usable * 0.48))
        self.query_one("#work").styles.height = min(work, usable - 7)

    @property
    def too_small(self) -> bool:
        return self.has_class("-too-small")

    def _phrase_title(self, phrase_id: str) -> str | None:
        phrase = self.session.phrases.get(phrase_id)
        return phrase.title if phrase else None

    # --- loading --------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="queue")
    def load_queue(self, generate: bool = False) -> None:
        """Reload the queue (others' claims, work done elsewhere); generate today's on start."""
        try:
            if not generate:
                self.app.call_from_thread(self._apply_queue, self._load_state())
            else:
                # The first load: the agent's phrase ranking and the first card come with
                # the list, so the first full frame is one update, not three.
                opening = self.session.take_opening() or self.session.opening()
                self.app.call_from_thread(self._apply_opening, opening)
                if self.session.rules_file is not None and not opening.generated:
                    # In a process of its own, started once the first card is shown.
                    self.app.call_from_thread(self._generation_due)
                    return
                self._generate_here()
        except sqlite3.Error as exc:  # the next refresh tries again; never crash the console
            self.app.call_from_thread(
                self._waiting, f"waiting for the database ({_why(exc)}); the list may be old"
            )

    def _apply_opening(self, opening: Opening) -> None:
        """The first load: the list, and the card of its first row read with it."""
        if opening.first is not None:
            self._preloaded = (opening.first, opening.capped)
        try:
            self._apply_queue(opening.state)
        finally:
            self._preloaded = None

    def _generate_here(self) -> None:
        """Generate today's follow-ups in this process (a worker thread) and show them."""
        result = self.session.generate()
        if result is not None and (result.created or result.unsnoozed or result.merged):
            self.app.call_from_thread(self._apply_queue, self._load_state())

    def _generation_due(self) -> None:
        self._generate_pending = True
        if self._first_shown:
            self._first_card_shown()

    @work(thread=True, group="generate")
    def start_generation(self) -> None:
        """Today's generation in a low-priority process; here if that cannot start."""
        try:
            job = self.session.generate_in_background()
            if job is not None:  # the list fills in when the process is done
                self.app.call_from_thread(self._await_generation, job)
            else:
                self._generate_here()
        except sqlite3.Error as exc:
            self.app.call_from_thread(
                self._waiting, f"waiting for the database ({_why(exc)}); the list may be old"
            )

    @work(thread=True, group="generate")
    def generate_here(self) -> None:
        try:
            self._generate_here()
        except sqlite3.Error as exc:
            self.app.call_from_thread(
                self._waiting, f"waiting for the database ({_why(exc)}); the list may be old"
            )

    def _await_generation(self, job: subprocess.Popen[bytes]) -> None:
        """Poll the day's generation process; reload the list when it has exited."""
        self.generating = job

        def check() -> None:
            if job.poll() is None:
                return
            timer.stop()
            self.generating = None
            if job.returncode != 0:
                self.generate_here()  # it could not: generate in this process instead
            else:
                self.load_queue()

        timer = self.set_interval(GENERATION_POLL_SECONDS, check)

    @work(thread=True, group="notice")
    def load_notice(self) -> None:
        """The start notice (a missing holiday calendar): on the status line until a key."""
        notice = self.session.start_notice()
        if notice:
            self.app.call_from_thread(self._show_notice, notice)

    def _first_card_shown(self) -> None:
        """After the first paint: what start-up work was put off until then."""
        self._first_shown = True
        # Once that frame is out: the card may have been shown at mount, before any paint.
        if self._generate_pending:
            self._generate_pending = False
            self.call_after_refresh(self.start_generation)
        if self._notice_due:
            self._notice_due = False
            self.call_after_refresh(self.load_notice)

    def _show_notice(self, notice: str) -> None:
        self._note = escape(notice)
        self._set_info(self._info)

    def _apply_queue(self, state: QueueState) -> None:
        self.sub_title = self._progress(state)
        table = self.query_one(DueList)
        before = table.current_id()
        before_index = table.order.index(before) if before in table.order else 0
        if self.claimed is not None:
            held = next((i for i in state.items if i.id == self.claimed), None)
            if held is None or held.claimed_by != self.session.agent:
                # Done elsewhere, or the claim expired and someone took it: it is not ours.
                self.claimed = None
        table.set_items(
            state.items,
            self.session.today,
            self.session.agent,
            self.session.held_by_other,
            mine=self.claimed,
        )
        if self._first_load:
            self._first_load = False
            self._set_info(
                f"{len(state.items)} follow-ups due · enter copies the phrase and logs it"
            )
        if not self.is_current:
            return  # a screen above (a campaign's queue) is working the session's one claim
        current = self.opened.follow_up.id if self.opened else None
        if current is None or current not in table.items:
            # The previewed one has left the list: the row now at its place is the next one.
            self._select_from(min(before_index, max(0, len(table.order) - 1)))
            return
        if table.current_id() != current:
            table.select_id(current)
        fresh = table.items[current]
        if self.opened is not None and current != self.claimed:
            was = self.opened.holder
            now = fresh.claimed_by if self.session.held_by_other(fresh) else None
            if was != now:  # someone started or stopped working the one we look at
                self.opened = replace(self.opened, follow_up=fresh, holder=now)
                self._show_info(self.opened)

    def _load_state(self) -> QueueState:
        if self.filter.empty:
            return self.session.queue()
        return self.session.queue_where(self.filter)

    def _progress(self, state: QueueState) -> str:
        # One definition: worked = touched, skipped or snoozed today; left = still due.
        left = state.total - state.done
        shown = "" if self.filter.empty else f" · filter: {self.filter.describe()}"
        deferred = f" · {state.deferred} deferred (daily capacity)" if state.deferred else ""
        return f"今日 worked {state.done}/{state.total} · left {left}{deferred}{shown}"

    def _select_from(self, index: int) -> None:
        """Preview the first follow-up at or after ``index`` that nobody else is working."""
        table = self.query_one(DueList)
        order = table.order
        for fid in order[index:] + order[:index]:
            if not self.session.held_by_other(table.items[fid]):
                table.select_id(fid)
                self._cursor_on(fid)
                return
        self._release_claim()
        self.opened = None
        self._previewing = None
        self.query_one(CustomerCardView).card = None
        self.query_one(Preview).show(None)
        self._first_card_shown()
        self._set_info(
            "Nothing left to do today. 今日完成 🎉"
            if not order
            else "All remaining follow-ups are held by others."
        )

    @on(DataTable.RowHighlighted, "#due-list")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        fid = int(str(event.row_key.value))
        if fid != self.query_one(DueList).current_id():
            return  # a stale event from a table rebuild; the cursor is elsewhere by now
        self._cursor_on(fid)

    def _cursor_on(self, fid: int) -> None:
        """The cursor rests on ``fid``: preview it (read-only); a claim on another goes back."""
        if fid == self._previewing or (self.opened is not None and self.opened.follow_up.id == fid):
            return
        if self.claimed is not None and self.claimed != fid:
            self._release_claim()
        self._previewing = fid
        if self._preloaded is not None and self._preloaded[0].follow_up.id == fid:
            self._show_opened(*self._preloaded)
        else:
            self.preview_follow_up(fid)

    def _release_claim(self) -> None:
        if self.claimed is None:
            return
        self.query_one(DueList).mark_claim(self.claimed, Text(""))
        self.claimed = None
        self.give_back()

    @work(thread=True, group="claim")
    def give_back(self) -> None:
        try:
            self.session.give_back()
        except sqlite3.Error as exc:  # the claim expires by itself
            self.log.warning(f"could not give the claim back: {exc}")

    @work(thread=True, exclusive=True, group="open")
    def preview_follow_up(self, follow_up_id: int) -> None:
        """Load the card of the follow-up under the cursor (claims nothing)."""
        try:
            # A touch now would break the frequency cap (a manual touch earlier today): why.
            found = self.session.preview_for_work(follow_up_id)
        except (sqlite3.Error, DeskError) as exc:
            self.app.call_from_thread(self._waiting, f"could not load the card ({_why(exc)})")
            return
        if get_current_worker().is_cancelled or found is None:
            return
        self.app.call_from_thread(self._show_opened, *found)

    def _show_opened(self, opened: Opened, capped: str | None = None) -> None:
        if self.query_one(DueList).current_id() != opened.follow_up.id:
            return  # the cursor moved on meanwhile; that follow-up's worker will report
        self._previewing = None
        card_view = self.query_one(CustomerCardView)
        if self.opened is None or self.opened.card.customer.customer_id != (
            opened.card.customer.customer_id
        ):
            card_view.show_phone = False  # a revealed phone is for one customer only
        self.opened = opened
        self.capped = capped
        self.supplied = {}
        self.draft = None
        card_view.card = opened.card
        self.load_segment(opened.card.customer.customer_id)
        item = opened.follow_up
        language = opened.card.customer.language
        category = opened.context.get("category")
        suggested = self.session.phrases.suggest(
            item.stage,
            item.suggested_tags,
            language,
            category if isinstance(category, str) else None,
        )
        if opened.phrase_id:  # a campaign's follow-up: its own phrase
            suggested = self.session.phrases.get(opened.phrase_id) or suggested
        self.phrase = suggested
        search = self.query_one(PhraseSearch)
        search.language = language
        search.suggested = suggested
        search.preselect(suggested)
        self._refill()
        self._show_info(opened)
        self._first_card_shown()

    def _show_info(self, opened: Opened) -> None:
        item = opened.follow_up
        if opened.holder and opened.holder != self.session.agent:
            who = escape(f"{item.customer_name} is being worked by {opened.holder}")
            self._set_info(f"[b red]{who}[/] — n for the next one")
            return
        reasons = " + ".join(r.text.split(":")[0] for r in item.reasons) or item.rule
        info = escape(f"{item.stage.label_zh} · {reasons}")
        if self.capped and item.id == (self.opened.follow_up.id if self.opened else None):
            info = f"[b yellow]⚠ {escape(self.capped)}[/] — x skip · s snooze · {info}"
        self._set_info(info)

    # --- claiming for work ------------------------------------------------------------------

    def _with_claim(self, then: Callable[[Opened], object]) -> None:
        """Run ``then`` once the follow-up on screen is claimed for this agent."""
        opened = self.opened
        if opened is None:
            self._set_info("No follow-up selected.")
            return
        if self.query_one(DueList).current_id() != opened.follow_up.id:
            # The key came before the card of the row under the cursor: never work the
            # previous one by mistake.
            # Kept until the next key (a preview arriving must not erase it).
            self._note = (
                "[yellow]Not done: that follow-up's card was still loading; press the key again.[/]"
            )
            self._set_info(self._info)
            return
        if self.claimed == opened.follow_up.id:
            then(opened)
            return
        if opened.holder and opened.holder != self.session.agent:
            self._set_info(f"[red]Held by {escape(opened.holder)}; not yours to work.[/]")
            return
        self.claim_for_work(opened.follow_up.id, then)

    @work(thread=True, group="claim")
    def claim_for_work(self, follow_up_id: int, then: Callable[[Opened], object]) -> None:
        attempt = 0
        while True:
            try:
                claimed, holder = self.session.work(follow_up_id)
                break
            except sqlite3.Error as exc:
                attempt += 1
                if get_current_worker().is_cancelled or attempt > WRITE_ATTEMPTS:
                    self.app.call_from_thread(
                        self._write_failed, f"Not opened: the database failed ({exc})"
                    )
                    return
                self.app.call_from_thread(
                    self._waiting, f"waiting for the database ({_why(exc)}) — nothing copied yet"
                )
                time.sleep(WRITE_RETRY_SECONDS)
        self.app.call_from_thread(self._claim_result, follow_up_id, claimed, holder, then)

    def _claim_result(
        self, fid: int, claimed: bool, holder: str | None, then: Callable[[Opened], object]
    ) -> None:
        table = self.query_one(DueList)
        opened = self.opened
        if opened is None or opened.follow_up.id != fid or table.current_id() != fid:
            if claimed:  # the agent moved on while the claim was taken: give it back
                self.give_back()
            return
        if not claimed:
            self.opened = replace(opened, holder=holder)
            if holder:
                table.mark_claim(fid, Text(holder, style="bold red"))
                self._set_info(f"[red]Held by {escape(holder)}; not yours to work.[/]")
            else:
                self._set_info("[red]This follow-up is no longer open; not copied.[/]")
            self.load_queue()
            return
        if self.claimed is not None and self.claimed != fid:
            table.mark_claim(self.claimed, Text(""))
        self.claimed = fid
        self.opened = replace(opened, claimed=True, holder=self.session.agent)
        table.mark_claim(fid, Text("me", style="green"))
        then(self.opened)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """Going to the phrases (/, Tab, a click) opens the follow-up for work."""
        pane = self.query_one("#phrase-pane")
        if event.widget is pane or pane in event.widget.ancestors:
            self._with_claim(lambda _opened: None)

    @work(thread=True, exclusive=True, group="segment")
    def load_segment(self, customer_id: str) -> None:
        """The segment comes from analytics: fill it in later. The real console reads only
        the stored segments (see :meth:`segments_refreshed`); scoring the whole shop for one
        card costs seconds and 100+ MB."""
        try:
            segment = self.session.segment(
                customer_id, stored_only=self.session.rules_file is not None
            )
        except sqlite3.Error:
            return  # the card shows "—" for the segment
        if segment and not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_segment, customer_id, segment)

    def segments_refreshed(self) -> None:
        """The model refresh process has stored today's segments: fill in the card's."""
        if self.opened is not None:
            self.load_segment(self.opened.card.customer.customer_id)

    def _show_segment(self, customer_id: str, segment: str) -> None:
        # The worker may report after the screen was taken down (the console quitting).
        found = self.query(CustomerCardView)
        if not found:
            return
        view = found.first()
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
        if event.phrase is None:
            self.phrase = None
            self._refill()
            self._set_info("No phrase matches the search; nothing copied (change or clear it).")
            return
        self.phrase = event.phrase
        self._refill()
        self.action_copy_and_log()

    @on(DataTable.RowSelected, "#due-list")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        if int(str(event.row_key.value)) == self.query_one(DueList).current_id():
            self.action_copy_and_log()

    def action_copy_and_log(self) -> None:
        if self.too_small:
            self._set_info("Terminal too small: nothing copied.")
            return
        if self.opened is None:
            self._set_info("No follow-up selected.")
            return
        if self.phrase is None or self.filled is None:
            self._set_info("No phrase selected; nothing copied (/ to search).")
            return
        self._with_claim(self._copy_filled)

    def _copy_filled(self, opened: Opened) -> None:
        if self.phrase is None or self.filled is None or self.too_small:
            return
        if self.filled.missing:
            from tui_agent.screens.modals import MissingValuesForm

            helps = self.session.phrases.placeholder_help()
            form = MissingValuesForm(self.filled.missing, helps, self.remembered)
            self.app.push_screen(form, self._got_values)
            return
        self.send(opened, self.filled.text, self.phrase.id)

    def _got_values(self, values: object) -> None:
        if isinstance(values, dict):
            self.supplied.update(values)
            # Shop-wide values are offered again for the next customer (still confirmed).
            self.remembered.update({k: v for k, v in values.items() if k in SHOP_WIDE})
            self._refill()
            # See before copying: the filled text is in the preview; enter copies it.
            self._set_info("Filled in: check the preview; [b]enter[/] copies and logs it.")
            self.query_one(DueList).focus()

    def action_edit(self) -> None:
        if self.opened is None or self.filled is None:
            self._set_info("No phrase selected; nothing to edit.")
            return
        self._with_claim(self._open_editor)

    def _open_editor(self, opened: Opened) -> None:
        if self.filled is None:
            return
        from tui_agent.screens.modals import EditText

        text = self.draft if self.draft is not None else self.filled.text
        self.app.push_screen(EditText(text, self.filled.missing), self._edited)

    def _edited(self, result: object) -> None:
        from tui_agent.screens.modals import EditResult

        if not isinstance(result, EditResult) or self.opened is None:
            return
        self.draft = result.text  # an edit survives a cancel: e brings it back
        if result.save and self.claimed == self.opened.follow_up.id:
            self.send(
                self.opened,
                result.text,
                self.phrase.id if self.phrase else None,
                channel="clipboard-edited",
            )

    @work(thread=True, group="write")
    def send(
        self, opened: Opened, text: str, phrase_id: str | None, channel: str = "clipboard"
    ) -> None:
        """Log the touch first (one transaction), then copy; never copy what was not logged.

        A database that stays busy (an import holding the write lock) or fails is retried
        here in the background; the agent's text stays on screen meanwhile.
        """
        name = opened.follow_up.customer_name or opened.follow_up.customer_id
        attempt = 0
        while True:
            try:
                touch_id = self.session.log_touch(
                    opened.follow_up, text, phrase_id, channel=channel
                )
                break
            except ClaimLost as exc:
                self.app.call_from_thread(self._write_failed, f"Not copied: {exc}")
                return
            except sqlite3.Error as exc:
                attempt += 1
                if get_current_worker().is_cancelled or attempt > WRITE_ATTEMPTS:
                    self.app.call_from_thread(
                        self._write_failed, f"Not copied: the database failed ({exc})"
                    )
                    return
                self.app.call_from_thread(
                    self._waiting, f"waiting for the database ({_why(exc)}) — not copied yet"
                )
                time.sleep(WRITE_RETRY_SECONDS)
        result = clipboard.copy_text(
            text,
            osc52=lambda t: self.app.call_from_thread(self.app.copy_to_clipboard, t),
            system=self.console.system_copy,
            tmux=clipboard.tmux_set_clipboard(),
        )
        note = escape(f"touch #{touch_id} logged for {name} · {result.describe()}")
        self.app.call_from_thread(self._touched, touch_id, name)
        self.app.call_from_thread(
            self._after_write, note, TouchLogged(touch_id, opened.follow_up.id)
        )

    def _touched(self, touch_id: int, name: str) -> None:
        self.last_touch = touch_id
        self.last_touch_who = name

    def _waiting(self, text: str) -> None:
        self._set_info(f"[b yellow]{escape(text)}[/]")

    def _write_failed(self, text: str) -> None:
        self._note = ""
        self._set_info(f"[b red]{escape(text)}[/]")
        self.load_queue()

    def _after_write(self, note: str, message: TouchLogged | None = None) -> None:
        self._note = note  # stays on the status line until the agent's next action
        self._set_info("")
        self.query_one(DueList).focus()  # so e, s, x, o, n work at once on the next one
        if message is not None:
            self.app.post_message(message)
        self.claimed = None
        self.opened = None
        self.load_queue()

    # --- other actions -----------------------------------------------------------------------

    def agent_acted(self) -> None:
        """A key from the agent: the last write's confirmation has been seen."""
        if self._note:
            self._note = ""
            self._set_info(self._info)

    def action_focus_search(self) -> None:
        self.query_one("#search").focus()

    def action_find_customer(self) -> None:
        from tui_agent.screens.customer import FindCustomer

        self.app.push_screen(FindCustomer(self.session), self._found)

    def _found(self, customer_id: object) -> None:
        if isinstance(customer_id, str):
            self._release_claim()  # working someone else now: the follow-up goes back
            from tui_agent.screens.customer import CustomerScreen

            self.app.push_screen(CustomerScreen(self.session, customer_id))

    def _touch_status(self, text: str) -> None:
        self._set_info(text)

    def _last_touch(self) -> tuple[int | None, str]:
        return self.last_touch, self.last_touch_who

    def _outcome_recorded(self, touch_id: int, outcome: Outcome, note: str | None) -> None:
        text = f"touch #{touch_id}: {outcome.label_zh} {outcome.label}" + (
            f" ({note})" if note else ""
        )
        self.app.call_from_thread(self._set_info, escape(f"Outcome recorded · {text}"))

    def _touch_undone(self, undone: Undone) -> None:
        back = " · the follow-up is back in the queue" if undone.reopened else ""
        note = escape(f"Touch #{undone.touch_id} taken back (retracted){back}")
        self.app.call_from_thread(self._undone, note, undone.touch_id)

    def _undone(self, note: str, touch_id: int) -> None:
        if self.last_touch == touch_id:
            self.last_touch = None
        self._set_info(note)
        self.load_queue()

    def action_filter(self) -> None:
        from tui_agent.screens.desk_dialogs import FilterForm

        self.app.push_screen(FilterForm(self.filter_text, self.session.agent), self._filtered)

    def _filtered(self, chosen: object) -> None:
        if isinstance(chosen, QueueFilter):
            self.filter = chosen
            self.filter_text = (
                ""
                if chosen.empty
                else chosen.describe().replace(f"mine={self.session.agent}", "mine")
            )
            self._set_info(f"Showing: {escape(chosen.describe())}")
            self.load_queue()

    def action_toggle_phone(self) -> None:
        card = self.query_one(CustomerCardView)
        card.show_phone = not card.show_phone

    def action_next(self) -> None:
        table = self.query_one(DueList)
        table.focus()
        current = table.current_id()
        index = table.order.index(current) + 1 if current in table.order else 0
        if table.order:
            self._select_from(index % len(table.order))

    def action_snooze(self) -> None:
        from tui_agent.screens.modals import SnoozePicker

        self._with_claim(
            lambda _o: self.app.push_screen(SnoozePicker(self.session.today), self._snoozed)
        )

    def _snoozed(self, until: object) -> None:
        if isinstance(until, date) and self.opened:
            self.close_follow_up(self.opened, "snooze", until)

    def action_skip(self) -> None:
        from tui_agent.screens.modals import SkipReason

        presets = self.session.config.skip_presets
        self._with_claim(lambda _o: self.app.push_screen(SkipReason(presets), self._skipped))

    def _skipped(self, reason: object) -> None:
        if isinstance(reason, str) and self.opened:
            self.close_follow_up(self.opened, "skip", reason)

    def action_opt_out(self) -> None:
        from tui_agent.screens.modals import ConfirmOptOut

        def ask(opened: Opened) -> None:
            name = opened.card.customer.name or opened.card.customer.customer_id
            self.app.push_screen(ConfirmOptOut(name), self._opted_out)

        self._with_claim(ask)

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
            self.app.call_from_thread(self._write_failed, f"Not changed: {exc}")
            return
        except sqlite3.Error as exc:
            self.app.call_from_thread(
                self._write_failed, f"Not changed: the database is busy or failed ({exc})"
            )
            return
        self.app.call_from_thread(self._after_write, note)

    def _set_info(self, info: str) -> None:
        """The status line: the last write's confirmation (until the next key), then ``info``."""
        self._info = info
        text = f"{self._note} │ next: {info}" if self._note and info else (self._note or info)
        self.query_one("#status", Static).update(text)


def _why(exc: Exception) -> str:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return "another program is writing, e.g. an import"
    return str(exc)
