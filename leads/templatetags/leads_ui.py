"""Template helpers for showing leads: keyword highlight, readable phones, transitions."""

import re
from datetime import datetime, timedelta
from html import escape as esc
from typing import Any

from django import template
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from leads.phones import format_phone
from leads.pipeline import Status, allowed_targets
from leads.waiting import short_age

register = template.Library()


@register.filter
def highlight(text: str | None, keyword: str | None) -> SafeString:
    """`text` escaped, with each case-insensitive occurrence of `keyword` wrapped in <mark>.

    The text is split on the keyword first and every piece is escaped on its own, so user
    text never reaches the page unescaped and the keyword cannot match inside an entity.
    """
    text = text or ""
    if not keyword or not keyword.strip():
        return mark_safe(esc(text))  # noqa: S308 (escaped)
    pattern = re.compile(re.escape(keyword.strip()), re.IGNORECASE)
    pieces: list[str] = []
    position = 0
    for match in pattern.finditer(text):
        pieces.append(esc(text[position : match.start()]))
        pieces.append(f"<mark>{esc(match.group(0))}</mark>")
        position = match.end()
    pieces.append(esc(text[position:]))
    # Every piece above went through esc(): joining them is safe.
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


# Within this much of now a moment reads as an age ("4 min ago"); further off, as a date.
RECENT = timedelta(hours=24)


def short_date(moment: datetime, now: datetime) -> str:
    """A date and time in the active locale's formats, the year only when it is not this one."""
    local = timezone.localtime(moment)
    day_format = "MONTH_DAY_FORMAT" if local.year == timezone.localtime(now).year else "DATE_FORMAT"
    return f"{formats.date_format(local, day_format)}, {formats.time_format(local, 'TIME_FORMAT')}"


def time_tag(
    moment: datetime, now: datetime | None = None, *, css: str = "", appointment: bool = False
) -> SafeString:
    """How every page shows a moment: `<time>` with its ISO value, a short form (an age for
    the last day, a locale-aware date before that or ahead) and the exact time as a tooltip.
    An `appointment` (a follow-up's due time) always reads as its date.

    Built with an f-string and `esc` (every part escaped), not `format_html`: a table page
    draws one per row, and format_html's lazy-string wrappers were most of its cost.
    """
    now = now or timezone.now()
    recent = not appointment and timedelta(0) <= now - moment < RECENT
    label = f"{short_age(moment, now)} ago" if recent else short_date(moment, now)
    exact = timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S %Z")
    css_attribute = f' class="{esc(css)}"' if css else ""
    return mark_safe(  # noqa: S308 (every value escaped)
        f'<time{css_attribute} datetime="{esc(moment.isoformat())}" title="{esc(exact)}">'
        f"{esc(label)}</time>"
    )


@register.filter
def when(moment: datetime | None) -> SafeString | str:
    """`{{ lead.detected_at|when }}`: `time_tag` in a template ("" for no moment)."""
    return time_tag(moment) if moment else ""


@register.filter
def due_time(follow_up: Any) -> SafeString:
    """A follow-up's due time, marked (in words, not only colour) when it is overdue."""
    if follow_up.overdue:
        due = time_tag(follow_up.due_at, css="due due--overdue", appointment=True)
        return format_html("{} <strong>overdue</strong>", due)
    return time_tag(follow_up.due_at, css="due", appointment=True)
