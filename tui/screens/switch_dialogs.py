"""Dialogs of the role keys: pick a role, confirm a production switch, show a secret."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from collectors.model import Account
from collectors.switch.roles import OfferedRole

LEVEL_LABELS = {"unknown": "unknown level"}
"""Picker labels that differ from the level as the access screens spell it."""


def level_label(role: OfferedRole) -> str:
    """Return a role's level as ``:access`` and the config spell it (``power-user``)."""
    return LEVEL_LABELS.get(role.level, role.level)


class RolePickerScreen(ModalScreen[OfferedRole | None]):
    """Lists the roles offered in an account; dismisses with the chosen one or None."""

    DEFAULT_CSS = """
    RolePickerScreen {
        align: center middle;
    }
    RolePickerScreen #role-dialog {
        width: 64;
        max-width: 100%;
    }
    RolePickerScreen OptionList {
        height: auto;
        max-height: 12;
    }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self,
        account: Account,
        roles: Sequence[OfferedRole],
        action: str,
        production: bool,
    ) -> None:
        """Offer ``roles`` of ``account`` for ``action`` (shell, console, exports)."""
        super().__init__()
        self.account = account
        self.roles = list(roles)
        self.action = action
        self.production = production

    def compose(self) -> ComposeResult:
        """Lay out the title, the role list and a hint."""
        with Vertical(id="role-dialog", classes="dialog"):
            yield Label(
                f"{self.action.capitalize()} in {self.account.name}: choose a role",
                classes="dialog-title",
            )
            width = max(len(role.name) for role in self.roles) + 2
            options = [self._option(role, width) for role in self.roles]
            yield OptionList(*options, id="roles")
            hint = "enter chooses, escape cancels."
            if self.production:
                hint = f"Production account: roles that may write ask first; {hint}"
            yield Static(hint, classes="dialog-hint")

    def _option(self, role: OfferedRole, width: int) -> Option:
        label = Text.assemble(
            (role.name.ljust(width), "bold"), (level_label(role).ljust(16), "dim")
        )
        if self.production and role.level != "read-only":
            label.append("asks first", style="red")
        return Option(label, id=role.name)

    @on(OptionList.OptionSelected, "#roles")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.roles[event.option_index])

    def action_cancel(self) -> None:
        """Close without a role."""
        self.dismiss(None)


class ConfirmSwitchScreen(ModalScreen[bool]):
    """Asks before a switch into production; dismisses with True to go ahead."""

    DEFAULT_CSS = """
    ConfirmSwitchScreen {
        align: center middle;
    }
    ConfirmSwitchScreen #confirm-dialog {
        width: 64;
        max-width: 100%;
        border: thick $error;
    }
    """
    BINDINGS = [
        Binding("y", "answer(True)", "Switch"),
        Binding("n", "answer(False)", "Cancel"),
        Binding("escape", "answer(False)", "Cancel"),
    ]

    def __init__(self, question: str) -> None:
        """Ask ``question``, which names the account and its environment."""
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        """Lay out the question and the two buttons."""
        with Vertical(id="confirm-dialog", classes="dialog"):
            yield Label("Production account", classes="dialog-title")
            yield Static(Text(self.question), id="confirm-question")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Switch (y)", variant="error", id="confirm-yes")
                yield Button("Cancel (n)", variant="primary", id="confirm-no")

    def on_mount(self) -> None:
        """Put the focus on Cancel, so a stray enter does not switch."""
        self.query_one("#confirm-no", Button).focus()

    @on(Button.Pressed, "#confirm-yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#confirm-no")
    def _no(self) -> None:
        self.dismiss(False)

    def action_answer(self, switch: bool) -> None:
        """Close with the person's choice."""
        self.dismiss(switch)


class SecretTextScreen(ModalScreen[None]):
    """Shows export lines or a sign-in URL for copying; the text is never logged."""

    DEFAULT_CSS = """
    SecretTextScreen {
        align: center middle;
    }
    SecretTextScreen #secret-dialog {
        width: 100;
        max-width: 100%;
        max-height: 100%;
    }
    SecretTextScreen TextArea {
        height: auto;
        max-height: 16;
    }
    /* Docked, so a short terminal cuts the text (which is on the clipboard)
       rather than the hint, which may carry a security warning. */
    SecretTextScreen .dialog-hint {
        width: 100%;
        dock: bottom;
    }
    """
    BINDINGS = [Binding("escape", "close", "Close")]

    def __init__(
        self, title: str, text: str, hint: str, *, soft_wrap: bool = True
    ) -> None:
        """Show ``text`` under ``title``, with ``hint`` below it.

        With ``soft_wrap`` off, each line of ``text`` stays one row on the
        screen and scrolls sideways, so a shell command is never split.
        """
        super().__init__()
        self.title_text = title
        self.text = text
        self.hint = hint
        self.soft_wrap = soft_wrap

    def compose(self) -> ComposeResult:
        """Lay out the title, the read-only text and the hint."""
        with Vertical(id="secret-dialog", classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield TextArea(
                self.text, read_only=True, soft_wrap=self.soft_wrap, id="secret-text"
            )
            yield Label(self.hint, classes="dialog-hint")

    def action_close(self) -> None:
        """Close the dialog."""
        self.dismiss(None)
