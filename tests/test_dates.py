"""One way to show a moment on every page (issue 15, item 11): an age for the last day, a
date in the reader's locale before that, the exact time as a tooltip."""

from datetime import UTC, datetime, timedelta

from django.utils import translation

from leads.templatetags.leads_ui import time_tag

NOW = datetime(2026, 12, 2, 13, 0, 0, tzinfo=UTC)
DEC_1 = datetime(2026, 12, 1, 7, 30, tzinfo=UTC)


def test_the_last_day_reads_as_an_age_with_the_exact_time_in_the_tooltip() -> None:
    html = time_tag(NOW - timedelta(hours=3, minutes=10), NOW)
    assert html == (
        '<time datetime="2026-12-02T09:50:00+00:00" title="2026-12-02 09:50:00 UTC">3 h ago</time>'
    )


def test_older_moments_read_as_a_date_with_the_year_only_when_it_is_another() -> None:
    assert ">December 1, 7:30 a.m.</time>" in time_tag(DEC_1, NOW)
    assert ">Oct. 28, 2025, 1:30 p.m.</time>" in time_tag(
        datetime(2025, 10, 28, 13, 30, tzinfo=UTC), NOW
    )


def test_the_date_follows_the_locale() -> None:
    with translation.override("de"):
        assert ">1. Dezember, 07:30</time>" in time_tag(DEC_1, NOW)


def test_a_moment_ahead_and_an_appointment_read_as_dates() -> None:
    assert ">December 2, 3 p.m.</time>" in time_tag(NOW + timedelta(hours=2), NOW)
    soon_past = NOW - timedelta(hours=1)
    assert ">December 2, noon</time>" in time_tag(soon_past, NOW, appointment=True)


def test_a_css_class_is_escaped_like_every_other_part() -> None:
    html = time_tag(DEC_1, NOW, css='due" onclick="x')
    assert html.startswith('<time class="due&quot; onclick=&quot;x" datetime=')
