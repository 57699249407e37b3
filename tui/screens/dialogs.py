"""Modal dialogs: the MFA code, the keys help and the "too small" notice."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.validation import Regex
from textual.widgets import Button, Input, Label, Static

from tui.views import views

MFA_PATTERN = r"^[0-9]{6}$"


class MfaScreen(ModalScreen[str | None]):
    """Asks for a 6-digit MFA code; dismisses with the code or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, serial: str, *, demo: bool = False) -> None:
        """Ask for the code of the MFA device ``serial``."""
        super().__init__()
        self.serial = serial
        self.demo = demo

    def compose(self) -> ComposeResult:
        """Lay out the prompt, the masked input and the buttons."""
        with Vertical(id="mfa-dialog", classes="dialog"):
            yield Label("MFA code needed", classes="dialog-title")
            yield Static(Text(f"Device: {self.serial}"), id="mfa-serial")
            yield Input(
                placeholder="6 digits",
                password=True,
                restrict=r"[0-9]*",
                max_length=6,
                validators=[Regex(MFA_PATTERN, failure_description="Enter 6 digits.")],
                validate_on=["submitted"],
                id="mfa-code",
            )
            yield Label("", id="mfa-error")
            if self.demo:
                yield Label("Demo organization: any 6 digits work.", id="mfa-hint")
            with Horizontal(classes="dialog-buttons"):
                yield Button("OK", variant="primary", id="mfa-ok")
                yield Button("Cancel", id="mfa-cancel")

    @on(Input.Submitted, "#mfa-code")
    def _submitted(self, event: Input.Submitted) -> None:
        self._submit(event.value)

    @on(Button.Pressed, "#mfa-ok")
    def _ok(self) -> None:
        self._submit(self.query_one("#mfa-code", Input).value)

    @on(Button.Pressed, "#mfa-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    def _submit(self, code: str) -> None:
        field = self.query_one("#mfa-code", Input)
        result = field.validate(code)
        if result is not None and not result.is_valid:
            self.query_one("#mfa-error", Label).update(
                f"The code must be 6 digits; {len(code)} entered."
            )
            field.focus()
            return
        self.dismiss(code)

    def action_cancel(self) -> None:
        """Close without a code; the app keeps the last snapshot."""
        self.dismiss(None)


class KeysScreen(ModalScreen[None]):
    """The keys of the screen below and the ``:`` commands."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close", key_display="?"),
        Binding("q", "dismiss", "Close", show=False),
    ]

    def __init__(self, below: Screen[object]) -> None:
        """Describe the keys active on ``below``."""
        super().__init__()
        self.below = below

    def compose(self) -> ComposeResult:
        """Lay out the keys table and the commands table."""
        with Vertical(id="keys-dialog", classes="dialog"):
            yield Label("Keys and commands", classes="dialog-title")
            with VerticalScroll():
                yield Static(self._keys(), id="keys-table")
                yield Static(self._commands(), id="commands-table")
            yield Label("escape or ? closes", classes="dialog-hint")

    def _keys(self) -> Table:
        table = Table(box=None, show_header=False, padding=(0, 2, 0, 0), expand=True)
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column(ratio=1)
        table.add_row("arrows, pgup, pgdn", "move the cursor")
        table.add_row("enter", "open the selected team, account or error")
        table.add_row("tab", "next widget; on tabs, left and right switch tabs")
        seen = set()
        # The app's own keys kept out of the footer belong here too, unlike
        # Textual's hidden ones (ctrl+q, widgets' cursor keys).
        app_bindings = type(self.app).BINDINGS
        for key, active in self.below.active_bindings.items():
            binding = active.binding
            listed = binding.show or binding in app_bindings
            if not listed or binding.description in seen:
                continue
            seen.add(binding.description)
            table.add_row(binding.key_display or key, binding.description)
        table.add_row("ctrl+p", "command palette: teams, accounts, views")
        return table

    def _commands(self) -> Table:
        from tui.commands import APP_COMMANDS

        table = Table(box=None, show_header=False, padding=(0, 2, 0, 0), expand=True)
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column(ratio=1)
        for name, description in APP_COMMANDS.items():
            table.add_row(f":{name}", description)
        for view in views():
            usage = f":{view.name} {view.argument}".rstrip()
            table.add_row(usage, view.description)
        return table

    async def action_dismiss(self, result: None = None) -> None:
        """Close the help."""
        self.dismiss(result)


class TooSmallScreen(Screen[None]):
    """Shown instead of the dashboard while the terminal is below the minimum."""

    BINDINGS = [Binding("q", "app.quit", "Quit")]

    def __init__(self, min_width: int, min_height: int) -> None:
        """Remember the minimum size to state it."""
        super().__init__()
        self.min_width = min_width
        self.min_height = min_height

    def compose(self) -> ComposeResult:
        """Lay out the notice."""
        yield Static("", id="too-small")

    def on_mount(self) -> None:
        """Write the notice for the current size."""
        self._describe()

    def on_resize(self) -> None:
        """Keep the stated size current."""
        self._describe()

    def _describe(self) -> None:
        width, height = self.app.size
        self.query_one("#too-small", Static).update(
            f"Terminal too small: {width}x{height}.\n"
            f"orgtop needs at least {self.min_width}x{self.min_height}.\n"
            "Enlarge the window, or press q to quit."
        )
