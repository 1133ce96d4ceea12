"""The leads table's columns: how one lead record reads in a row.

The page template lays out the rows (checkboxes, htmx attributes, partials); this class owns
what each cell says, so the table and any later list of leads read the same.
"""

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape as esc
from typing import Any

import django_tables2 as tables
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from leads.assignments import Owner
from leads.follow_ups import FollowUp
from leads.sources.records import LeadRecord
from leads.templatetags.leads_ui import due_time, highlight, phone_display, time_tag, wa_link

# Column name -> the source sort key that orders by it (ascending form).
SORT_KEY_BY_COLUMN: dict[str, str] = {
    "contact": "contact_name",
    "status": "status",
    "group": "group_name",
    "detected": "detected_at",
    "score": "score",
}
# What an empty cell shows (django-tables2's default).
DASH = mark_safe("—")  # noqa: S308
# Stands in for a lead's id in the detail URL reversed once per page.
_URL_ID = uuid.UUID(int=0)


@dataclass(frozen=True)
class LeadRow:
    """One lead of the page and its cells (`<td>`s, escaped), ready for the template."""

    record: LeadRecord
    cells: SafeString


class LeadTable(tables.Table):
    """Contact, status, group, keyword, preview, detected time and message count of a lead.

    django-tables2 defines the columns (names, headings, order); the page's rows come from
    `lead_rows()`, which calls each column's `render_<name>(record)` directly. The library's
    own per-cell path inspects every render method's signature on every cell (400 times on a
    50-row page), which was most of the page's CPU.
    """

    contact = tables.Column(verbose_name="Contact", accessor="contact_name", empty_values=())
    status = tables.Column(verbose_name="Status", accessor="status", empty_values=())
    group = tables.Column(verbose_name="Group", accessor="source_group__name", empty_values=())
    keyword = tables.Column(verbose_name="Keyword", accessor="matched_keyword", empty_values=())
    # Intent leads' purchase-intent score; keyword leads score 0 and show a dash.
    score = tables.Column(verbose_name="Score", accessor="score", empty_values=())
    preview = tables.Column(verbose_name="Message", accessor="message_preview", empty_values=())
    detected = tables.Column(verbose_name="Detected", accessor="detected_at", empty_values=())
    # None when the source's list does not carry it (MoltFlow's): a dash, not a made-up 0.
    message_count = tables.Column(
        verbose_name="Messages", accessor="message_count", empty_values=()
    )
    # Kept beside the source's leads (issue 16), so given to the table, not read from the row.
    owner = tables.Column(verbose_name="Owner", accessor="id", empty_values=())
    follow_up = tables.Column(verbose_name="Follow-up", accessor="id", empty_values=())

    class Meta:
        orderable = False  # the source sorts; the page builds the header links (see headers())

    def __init__(
        self,
        data: Sequence[LeadRecord],
        *,
        selectable: bool = False,
        owners: Mapping[uuid.UUID, Owner] | None = None,
        follow_ups: Mapping[uuid.UUID, FollowUp] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(data, **kwargs)
        self.selectable = selectable
        self.owners = owners or {}
        self.follow_ups = follow_ups or {}
        self._records = data
        self._now = timezone.now()
        self._badges: dict[str, SafeString] = {}
        # One reverse() for the page: the detail URL differs between rows only by the id.
        self._detail_url = reverse("leads:detail", args=[_URL_ID])

    def lead_rows(self) -> list[LeadRow]:
        """Every record with its cells rendered, each cell's renderer looked up once.

        A `selectable` table puts the bulk form's checkbox first in each row (its
        `data-status` lets the page's script narrow the bulk targets to the ticked rows).
        """
        renderers = [
            (f'<td class="{esc(c.name)}" data-label="{esc(c.header)}">', self._renderer(c.name))
            for c in self.columns
        ]
        if self.selectable:
            renderers.insert(0, ("<td>", self.render_checkbox))
        return [
            LeadRow(
                record,
                # Each cell is escaped (see the renderers), between escaped openings.
                mark_safe(  # noqa: S308
                    "".join(f"{opening}{render(record)}</td>" for opening, render in renderers)
                ),
            )
            for record in self._records
        ]

    def _renderer(self, name: str) -> Callable[[LeadRecord], object]:
        renderer: Callable[[LeadRecord], object] = getattr(self, f"render_{name}")
        return renderer

    # Renderers build their HTML with f-strings and `esc` (the escaping Django's `escape`
    # does, without its lazy-string wrapper): every value from a record goes through `esc`,
    # `highlight` (which escapes) or is a number.

    def render_checkbox(self, record: LeadRecord) -> SafeString:
        label = esc(record.contact_name or "this lead")
        return mark_safe(  # noqa: S308
            f'<input type="checkbox" name="lead" value="{record.id}" '
            f'data-status="{esc(record.status)}" aria-label="Select {label}">'
        )

    def render_contact(self, record: LeadRecord) -> SafeString:
        url = self._detail_url.replace(str(_URL_ID), str(record.id))
        name = esc(record.contact_name or "Unknown contact")
        if not record.contact_phone:
            phone = '<span class="muted">number hidden</span>'
        else:
            phone = (
                f'<a href="{esc(wa_link(record.contact_phone))}" rel="noopener noreferrer" '
                # The number is the link's name (what a voice user says to follow it);
                # whose chat it opens is its description.
                f'target="_blank" title="WhatsApp chat with {name}">'
                f"{esc(phone_display(record.contact_phone))}</a>"
            )
        return mark_safe(  # noqa: S308
            f'<a href="{url}" hx-get="{url}" hx-target="#lead-panel" hx-swap="outerHTML" '
            f'hx-push-url="true" class="lead-link" dir="auto">{name}</a><br>{phone}'
        )

    def render_status(self, record: LeadRecord) -> SafeString:
        """The shared status badge, rendered once per status on the page, not once per row."""
        status = str(record.status)
        if status not in self._badges:
            self._badges[status] = mark_safe(  # noqa: S308 (a template's escaped output)
                render_to_string("leads/components.html#status-badge", {"status": status})
            )
        return self._badges[status]

    def render_group(self, record: LeadRecord) -> SafeString:
        return mark_safe(f'<span dir="auto">{esc(record.source_group.name)}</span>')  # noqa: S308

    def render_keyword(self, record: LeadRecord) -> SafeString:
        if not record.matched_keyword:
            return DASH
        return mark_safe(f'<span dir="auto">{esc(record.matched_keyword)}</span>')  # noqa: S308

    def render_score(self, record: LeadRecord) -> SafeString | int:
        return record.score or DASH

    def render_preview(self, record: LeadRecord) -> SafeString:
        marked = highlight(record.message_preview, record.matched_keyword)
        return mark_safe(f'<span dir="auto">{marked}</span>')  # noqa: S308

    def render_detected(self, record: LeadRecord) -> SafeString:
        return time_tag(record.detected_at, self._now)

    def render_message_count(self, record: LeadRecord) -> SafeString | int:
        return DASH if record.message_count is None else record.message_count

    def render_owner(self, record: LeadRecord) -> SafeString:
        owner = self.owners.get(record.id)
        if owner is None:
            return mark_safe('<span class="muted">unassigned</span>')
        return mark_safe(f'<span dir="auto">{esc(owner.label)}</span>')  # noqa: S308

    def render_follow_up(self, record: LeadRecord) -> SafeString:
        follow_up = self.follow_ups.get(record.id)
        return DASH if follow_up is None else due_time(follow_up)


@dataclass(frozen=True)
class Header:
    """One column heading: its label and, when sortable, the link's sort and aria-sort."""

    name: str
    label: str
    sort: str | None = None
    aria_sort: str | None = None


def headers(table: LeadTable, current_sort: str, supported: frozenset[str]) -> list[Header]:
    """Headings whose links toggle the sort; only sorts the source supports become links."""
    result: list[Header] = []
    for column in table.columns:
        key = SORT_KEY_BY_COLUMN.get(column.name)
        if key is None or key not in supported:
            result.append(Header(column.name, str(column.header)))
            continue
        aria: str | None = None
        next_sort = key
        if current_sort == key:
            aria, next_sort = "ascending", f"-{key}"
        elif current_sort == f"-{key}":
            aria = "descending"
        elif key in ("detected_at", "score"):
            # Newest first, highest score first: what people want on the first click.
            next_sort = f"-{key}"
        if next_sort not in supported:
            next_sort = key
        result.append(Header(column.name, str(column.header), next_sort, aria))
    return result
