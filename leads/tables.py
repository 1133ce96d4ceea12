"""The leads table's columns: how one lead record reads in a row.

The page template lays out the rows (checkboxes, htmx attributes, partials); this class owns
what each cell says, so the table and any later list of leads read the same.
"""

from dataclasses import dataclass

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timesince import timesince

from leads.sources.records import LeadRecord
from leads.templatetags.leads_ui import highlight, phone_display, wa_link

# Column name -> the source sort key that orders by it (ascending form).
SORT_KEY_BY_COLUMN: dict[str, str] = {
    "contact": "contact_name",
    "status": "status",
    "group": "group_name",
    "detected": "detected_at",
    "score": "score",
}


class LeadTable(tables.Table):
    """Contact, status, group, keyword, preview, detected time and message count of a lead."""

    contact = tables.Column(verbose_name="Contact", accessor="contact_name", empty_values=())
    status = tables.TemplateColumn(
        verbose_name="Status",
        template_name="leads/components.html#status-badge",
        extra_context={},
    )
    group = tables.Column(verbose_name="Group", accessor="source_group__name")
    keyword = tables.Column(verbose_name="Keyword", accessor="matched_keyword")
    # Intent leads' purchase-intent score; keyword leads score 0 and show a dash.
    score = tables.Column(verbose_name="Score", accessor="score", empty_values=(0, None))
    preview = tables.Column(verbose_name="Message", accessor="message_preview", empty_values=())
    detected = tables.Column(verbose_name="Detected", accessor="detected_at")
    # None when the source's list does not carry it (MoltFlow's): a dash, not a made-up 0.
    message_count = tables.Column(verbose_name="Messages", accessor="message_count", default="—")

    class Meta:
        orderable = False  # the source sorts; the page builds the header links (see headers())

    def render_contact(self, record: LeadRecord) -> SafeString:
        url = reverse("leads:detail", args=[record.id])
        name = record.contact_name or "Unknown contact"
        if not record.contact_phone:
            phone = format_html('<span class="muted">{}</span>', "number hidden")
        else:
            phone = format_html(
                '<a href="{}" rel="noopener noreferrer" target="_blank" '
                'aria-label="WhatsApp {}">{}</a>',
                wa_link(record.contact_phone),
                name,
                phone_display(record.contact_phone),
            )
        return format_html(
            '<a href="{}" hx-get="{}" hx-target="#lead-panel" hx-swap="outerHTML" '
            'hx-push-url="false" class="lead-link" dir="auto">'
            "{}</a><br>{}",
            url,
            url,
            name,
            phone,
        )

    def render_group(self, value: str) -> SafeString:
        return format_html('<span dir="auto">{}</span>', value)

    def render_keyword(self, value: str) -> SafeString:
        return format_html('<span dir="auto">{}</span>', value)

    def render_preview(self, record: LeadRecord) -> SafeString:
        return format_html(
            '<span dir="auto">{}</span>', highlight(record.message_preview, record.matched_keyword)
        )

    def render_detected(self, record: LeadRecord) -> SafeString:
        return format_html(
            '<time datetime="{}" title="{}">{} ago</time>',
            record.detected_at.isoformat(),
            record.detected_at.strftime("%Y-%m-%d %H:%M:%S %Z"),
            timesince(record.detected_at).split(",")[0],
        )


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
