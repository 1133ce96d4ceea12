"""Template helpers for showing leads: keyword highlight, readable phones, transitions."""

import re
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from leads.phones import format_phone
from leads.pipeline import Status, allowed_targets

register = template.Library()


@register.filter
def highlight(text: str | None, keyword: str | None) -> SafeString:
    """`text` escaped, with each case-insensitive occurrence of `keyword` wrapped in <mark>.

    The text is split on the keyword first and every piece is escaped on its own, so user
    text never reaches the page unescaped and the keyword cannot match inside an entity.
    """
    text = text or ""
    if not keyword or not keyword.strip():
        return escape(text)
    pattern = re.compile(re.escape(keyword.strip()), re.IGNORECASE)
    pieces: list[str] = []
    position = 0
    for match in pattern.finditer(text):
        pieces.append(escape(text[position : match.start()]))
        pieces.append(format_html("<mark>{}</mark>", match.group(0)))
        position = match.end()
    pieces.append(escape(text[position:]))
    # Every piece above went through escape() or format_html(): joining them is safe.
    return mark_safe("".join(pieces))  # noqa: S308


@register.filter
def phone_display(phone: str | None) -> str:
    """An E.164 number in its country's international format (`leads.phones.format_phone`)."""
    return format_phone(phone)


@register.filter
def wa_link(phone: str | None) -> str:
    """The `https://wa.me/<digits>` link for a phone, or "" when the number is hidden."""
    if not phone:
        return ""
    digits = phone.lstrip("+")
    return f"https://wa.me/{digits}" if digits.isdigit() else ""


@register.filter
def transitions_from(status: str) -> list[Status]:
    """The statuses a lead in `status` may move to now (from the pipeline table)."""
    return allowed_targets(status)


@register.filter
def due_time(follow_up: Any) -> SafeString:
    """A follow-up's due time, marked (in words, not only colour) when it is overdue."""
    local = timezone.localtime(follow_up.due_at)
    label = local.strftime("%a %d %b, %H:%M")
    if follow_up.overdue:
        return format_html(
            '<time class="due due--overdue" datetime="{}">{} <strong>overdue</strong></time>',
            follow_up.due_at.isoformat(),
            label,
        )
    return format_html(
        '<time class="due" datetime="{}">{}</time>', follow_up.due_at.isoformat(), label
    )
