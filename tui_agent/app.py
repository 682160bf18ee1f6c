"""The console application: screens, global bindings with ids, keymap and theme from config."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from tui_agent.core import clipboard
from tui_agent.screens.work_queue import WorkQueueScreen
from tui_agent.session import Session
from tui_agent.widgets.due_list import DueList
from tui_agent.widgets.phrase_search import PhraseResults, SearchBox

THEMES = ("textual-dark", "textual-light")
# Seconds after start before the stale BTYD fit and stored segments are refreshed (in a
# process of its own): the first paint and the queue come first.
MODEL_REFRESH_DELAY = 3.0
MODEL_POLL_SECONDS = 0.5  # how often that process is checked (the card's segment fills in)
# Seconds after start before the garbage collector, paused for the start (run_console), runs
# again: the first frame is out by then.
GC_PAUSE_SECONDS = 1.0


class ConsoleApp(App[None]):
    """The full-screen work console. Hand in a :class:`Session`; nothing is opened here."""

    CSS_PATH = "app.tcss"
    TITLE = "tui-agent"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("d", "stats", "Stats", id="stats"),
        Binding("m", "campaigns", "Campaigns", show=False, id="campaigns"),
        Binding("ctrl+t", "toggle_theme", "Theme", show=False, id="toggle_theme"),
    ]

    def __init__(
        self,
        session: Session,
        *,
        keymap: Mapping[str, str] | None = None,
        theme: str | None = None,
        system_copy: clipboard.Copier | None = clipboard.system_copy,
    ) -> None:
        super().__init__()
        self.session = session
        self.keymap_config = dict(keymap or {})
        self.theme_name = theme
        # pyperclip by default; tests hand in a recorder. Used only when a display exists.
        self.system_copy = system_copy
        self.work_screen = WorkQueueScreen(session)
        self.model_refresh: Any = None  # the background refresh process, once started

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            # Any key is the agent's next action: the last confirmation has been read.
            screen = self.screen if self._screen_stacks else None
            if isinstance(screen, WorkQueueScreen) and screen is not self.work_screen:
                screen.agent_acted()  # a campaign's queue
            self.work_screen.agent_acted()
        await super().on_event(event)

    def on_mount(self) -> None:
        if self.theme_name and self.theme_name in self.available_themes:
            self.theme = self.theme_name
        if self.keymap_config:
            self.set_keymap(self.keymap_config)
        self.set_timer(MODEL_REFRESH_DELAY, self._refresh_models)
        if not gc.isenabled():
            self.set_timer(GC_PAUSE_SECONDS, self._resume_gc)

    def _resume_gc(self) -> None:
        gc.freeze()  # what the start built lives as long as the console: never rescanned
        gc.enable()

    def _refresh_models(self) -> None:
        job = self.model_refresh = self.session.refresh_models_in_background()
        if job is None:
            return

        def check() -> None:
            if job.poll() is None:
                return
            timer.stop()
            if job.returncode == 0:
                self.work_screen.segments_refreshed()

        timer = self.set_interval(MODEL_POLL_SECONDS, check)

    def get_default_screen(self) -> Screen[Any]:
        # The work queue is the base screen: no blank screen is painted first.
        return self.work_screen

    def binding_groups(self) -> list[tuple[str, Iterable[BindingType]]]:
        """Every binding with an id, grouped by where it applies (for the help screen)."""
        from tui_agent.screens.campaigns import CampaignQueueScreen, CampaignsScreen
        from tui_agent.screens.customer import CustomerScreen, FindCustomer
        from tui_agent.screens.desk_dialogs import Confirm, OutcomePicker
        from tui_agent.screens.modals import ConfirmOptOut, EditText, SnoozePicker
        from tui_agent.screens.stats import StatsScreen

        return [
            ("global", self.BINDINGS),
            ("work queue", WorkQueueScreen.BINDINGS),
            ("due list", DueList.BINDINGS),
            ("search box", SearchBox.BINDINGS),
            ("phrase list", PhraseResults.BINDINGS),
            ("snooze", SnoozePicker.BINDINGS),
            ("outcome", OutcomePicker.BINDINGS),
            ("opt out", ConfirmOptOut.BINDINGS),
            ("undo", Confirm.BINDINGS),
            ("find customer", FindCustomer.BINDINGS),
            ("customer page", CustomerScreen.BINDINGS),
            ("edit", EditText.BINDINGS),
            ("stats", StatsScreen.BINDINGS),
            ("campaigns", CampaignsScreen.BINDINGS),
            ("campaign queue", CampaignQueueScreen.BINDINGS),
        ]

    # The help, stats and campaign screens are imported when first asked for: the first paint
    # (the work queue) never pays for them.

    def action_help(self) -> None:
        from tui_agent.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.binding_groups(), self.keymap_config))

    def action_stats(self) -> None:
        from tui_agent.screens.stats import StatsScreen

        if isinstance(self.screen, StatsScreen):
            self.pop_screen()
        else:
            self.push_screen(StatsScreen(self.session))

    def action_campaigns(self) -> None:
        from tui_agent.screens.campaigns import CampaignsScreen

        if not isinstance(self.screen, CampaignsScreen):
            self.push_screen(CampaignsScreen(self.session))

    def action_toggle_theme(self) -> None:
        self.theme = THEMES[1] if self.theme == THEMES[0] else THEMES[0]

    async def action_quit(self) -> None:
        """Give back our claim (its own short connection: never queued behind slow work)."""
        try:
            await asyncio.to_thread(self.session.release_held)
        except Exception as exc:  # the claim expires by itself; quitting must not fail
            self.log.warning(f"could not release the claim: {exc}")
        self.exit()

    def get_system_commands(self, screen: Screen[object]) -> Iterator[SystemCommand]:
        yield from super().get_system_commands(screen)
        work = self.work_screen
        yield SystemCommand(
            "Copy and log", "Copy the filled phrase and log the touch", work.action_copy_and_log
        )
        yield SystemCommand("Edit text", "Edit the filled text before copying", work.action_edit)
        yield SystemCommand("Snooze", "Put this follow-up off to a later day", work.action_snooze)
        yield SystemCommand("Skip", "Skip this follow-up with a reason", work.action_skip)
        yield SystemCommand("Opt out", "Mark the customer do-not-contact", work.action_opt_out)
        yield SystemCommand("Next follow-up", "Move to the next follow-up", work.action_next)
        yield SystemCommand("Search phrases", "Go to the phrase search", work.action_focus_search)
        yield SystemCommand(
            "Reveal phone", "Show or hide the full phone number", work.action_toggle_phone
        )
        yield SystemCommand(
            "Find a customer", "By name, pinyin, phone (last 4), id", work.action_find_customer
        )
        yield SystemCommand("Record outcome", "What came of your last touch", work.action_outcome)
        yield SystemCommand("Undo last touch", "Take back your last touch", work.action_undo)
        yield SystemCommand("Filter the queue", "Stage, rule, segment, tag...", work.action_filter)
        yield SystemCommand("Help", "Every key", self.action_help)
        yield SystemCommand("Stats", "Today's progress and touches", self.action_stats)
        yield SystemCommand(
            "Campaigns", "Running campaigns; work one's queue", self.action_campaigns
        )
        yield SystemCommand(
            "Toggle light/dark", "Switch between the dark and light theme", self.action_toggle_theme
        )
