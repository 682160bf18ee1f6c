"""Small dialogs: missing values, snooze, skip reason, opt-out confirmation, edit text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from tui_agent.core.dates import parse_date

_CANCEL: list[BindingType] = [Binding("escape", "cancel", "Cancel", id="modal.cancel")]


class _Dialog(ModalScreen[object]):
    """Base: escape dismisses with None."""

    BINDINGS: ClassVar[list[BindingType]] = _CANCEL

    def action_cancel(self) -> None:
        self.dismiss(None)


class MissingValuesForm(_Dialog):
    """Asks for the placeholder values the customer's record lacks. Dismisses with a dict."""

    def __init__(
        self,
        missing: tuple[str, ...],
        helps: dict[str, str] | None = None,
        prefill: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.missing = missing
        self.helps = helps or {}
        self.prefill = prefill or {}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="missing-form"):
            yield Label("[b]缺少的内容 Missing values[/b] for this message")
            for name in self.missing:
                hint = self.helps.get(name, "")
                yield Label(f"[b]{name}[/b]" + (f"  [dim]{hint}[/dim]" if hint else ""))
                yield Input(self.prefill.get(name, ""), id=f"value-{name}", placeholder=name)
            yield Static("[dim]enter: next / done · escape: cancel[/dim]")

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        event.stop()
        inputs = list(self.query(Input))
        empty = [i for i in inputs if not i.value.strip()]
        if empty:
            empty[0].focus()
            return
        self.dismiss({name: i.value.strip() for name, i in zip(self.missing, inputs, strict=True)})


class SnoozePicker(_Dialog):
    """Pick 1, 3 or 7 days, or type a date. Dismisses with the date."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *_CANCEL,
        Binding("1", "days(1)", "1 day", id="snooze.1"),
        Binding("3", "days(3)", "3 days", id="snooze.3"),
        Binding("7", "days(7)", "7 days", id="snooze.7"),
    ]

    def __init__(self, today: date) -> None:
        super().__init__()
        self.today = today

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="snooze-form"):
            yield Label("[b]稍后再联系 Snooze[/b] until…")
            yield OptionList(
                *(
                    Option(f"{n}  {n} 天后 ({self.today + timedelta(days=n)})", id=str(n))
                    for n in (1, 3, 7)
                ),
                id="snooze-choices",
            )
            yield Input(placeholder="or a date: YYYY-MM-DD", id="snooze-date")
            yield Static("", id="snooze-error")

    def action_days(self, n: int) -> None:
        self.dismiss(self.today + timedelta(days=n))

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_days(int(event.option.id or 1))

    @on(Input.Submitted, "#snooze-date")
    def _typed(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            when = parse_date(event.value)
        except ValueError:
            self.query_one("#snooze-error", Static).update("[red]not a date (YYYY-MM-DD)[/red]")
            return
        if when <= self.today:
            self.query_one("#snooze-error", Static).update("[red]pick a day after today[/red]")
            return
        self.dismiss(when)


class SkipReason(_Dialog):
    """Why the follow-up is skipped: a preset on a number key, or typed. Dismisses with it."""

    def __init__(self, presets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.presets = presets[:9]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="skip-form"):
            yield Label("[b]跳过 Skip[/b] — why? a number picks a reason, or type one + enter")
            for n, text in enumerate(self.presets, start=1):
                yield Static(f"[b]{n}[/b]  {escape(text)}", classes="preset")
            yield Input(
                placeholder="e.g. 已在聊天中沟通 / talked in chat already", id="skip-reason"
            )
            yield Static("", id="skip-error")

    @on(Input.Changed, "#skip-reason")
    def _preset(self, event: Input.Changed) -> None:
        # A number key on the empty box picks that preset (the Input takes every key, so
        # this is read from what was typed, not from a binding).
        value = event.value
        if len(value) == 1 and value.isdigit() and 1 <= int(value) <= len(self.presets):
            self.dismiss(self.presets[int(value) - 1])

    @on(Input.Submitted)
    def _done(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip():
            self.dismiss(event.value.strip())
        else:
            keys = f"1-{len(self.presets)} picks a preset, " if self.presets else ""
            self.query_one("#skip-error", Static).update(
                f"[red]Nothing skipped: a reason is needed ({keys}or type one).[/red]"
            )


class ConfirmOptOut(_Dialog):
    """Confirm "do not contact": y confirms, n or escape cancels. Dismisses with a bool."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes, opt out", id="optout.yes"),
        Binding("n,escape", "answer(False)", "No", id="optout.no"),
    ]

    def __init__(self, name: str) -> None:
        super().__init__()
        self.customer_name = name

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="optout-form"):
            yield Label(f"[b]不再联系 Opt out[/b] {escape(self.customer_name)}?")
            yield Static("All their open follow-ups are cancelled. [b]y[/b] yes · [b]n[/b] no")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


@dataclass(frozen=True, slots=True)
class EditResult:
    """The edited text exactly as typed; ``save`` is False when the agent cancelled."""

    text: str
    save: bool


class EditText(_Dialog):
    """Edit the filled text before copying; ctrl+s copies the edited text exactly.

    A refused ctrl+s (a placeholder still unfilled) keeps the dialog and the edit open;
    escape hands the edit back as a draft, so ``e`` shows it again.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel (keep the edit)", id="edit.cancel"),
        Binding("ctrl+s", "save", "Copy this text", id="edit.save"),
    ]

    def __init__(self, text: str, missing: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.text = text
        self.missing = missing

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="edit-form"):
            yield Label("[b]编辑 Edit[/b] — ctrl+s copy and log · escape cancel (edit kept)")
            yield TextArea(self.text, id="edit-text", soft_wrap=True)
            yield Static("", id="edit-error")

    def action_cancel(self) -> None:
        self.dismiss(EditResult(self.query_one(TextArea).text, save=False))

    def action_save(self) -> None:
        text = self.query_one(TextArea).text
        left = [m for m in self.missing if "{" + m + "}" in text]
        error = self.query_one("#edit-error", Static)
        if left:
            error.update("[red]Not copied: still unfilled: " + escape(", ".join(left)) + "[/red]")
            return
        if not text.strip():
            error.update("[red]Not copied: the text is empty.[/red]")
            return
        self.dismiss(EditResult(text, save=True))
