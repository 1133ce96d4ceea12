"""Template helpers for moving leads (the buttons on cards and in the panel) and for cards."""

import hashlib
from dataclasses import dataclass

from django import template
from django.template.base import NodeList, Parser, Token
from django.utils.safestring import SafeString, mark_safe

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


class FingerprintNode(template.Node):
    def __init__(self, nodelist: NodeList) -> None:
        self.nodelist = nodelist

    def render(self, context: template.Context) -> SafeString:
        markup = self.nodelist.render(context)
        start = markup.find("<")
        end = markup.find(">", start)
        if start == -1 or end == -1:
            return mark_safe(markup)  # noqa: S308 - the block's own rendering, escaped as usual
        digest = hashlib.blake2b(markup.encode(), digest_size=8).hexdigest()
        return mark_safe(f'{markup[:end]} data-v="{digest}"{markup[end:]}')  # noqa: S308


@register.tag
def fingerprinted(parser: Parser, token: Token) -> FingerprintNode:
    """`{% fingerprinted %}<li …>…</li>{% endfingerprinted %}`: the element's opening tag gets
    `data-v`, a hash of the markup the block rendered. board.js keeps a card whose `data-v`
    arrives unchanged, so a board just loaded (or swapped whole after a move) does not draw
    every card again on its next live refresh: it has no earlier markup to compare with.
    """
    nodelist = parser.parse(("endfingerprinted",))
    parser.delete_first_token()
    return FingerprintNode(nodelist)
