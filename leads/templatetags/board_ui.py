"""Template helpers for moving leads (the buttons on cards and in the panel) and for cards."""

from dataclasses import dataclass

from django import template

from leads.phones import mask_phone
from leads.pipeline import STATUSES, Status, allowed_targets

register = template.Library()


@dataclass(frozen=True)
class MoveOption:
    """One button: the status it moves to, what it says, and whether it asks why."""

    status: Status
    label: str
    asks_reason: bool


def move_label(current: str, target: Status) -> str:
    """ "Reopen" for a move back up the pipeline (lost → new), else the target's name."""
    if STATUSES.index(target) < STATUSES.index(Status(current)):
        return "Reopen"
    return target.value.capitalize()


@dataclass(frozen=True)
class MoveMenu:
    """A lead's moves as buttons: the plain ones, and the ones that first ask why."""

    plain: tuple[MoveOption, ...]
    asking: tuple[MoveOption, ...]


@register.filter
def move_menu(status: str) -> MoveMenu:
    """The moves a lead in `status` may make now, from the pipeline table, as buttons."""
    options = [
        MoveOption(
            status=target,
            label=move_label(status, target),
            # Losing a lead is the one move a team wants a word about, kept in the history.
            asks_reason=target == Status.LOST,
        )
        for target in allowed_targets(status)
    ]
    return MoveMenu(
        plain=tuple(option for option in options if not option.asks_reason),
        asking=tuple(option for option in options if option.asks_reason),
    )


@register.filter
def masked_phone(phone: str | None) -> str:
    """Only the last four digits, for shared screens (`leads.phones.mask_phone`)."""
    return mask_phone(phone) if phone else ""
