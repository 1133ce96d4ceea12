"""The leads table's rows: every cell escaped, rendered without django-tables2's per-cell path."""

import io

import django_tables2.utils
import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from leads.roles import MANAGER, VIEWER, set_user_role
from leads.templatetags.leads_ui import highlight
from tests.factories import make_group, make_lead

pytestmark = pytest.mark.django_db
TABLE = "/leads/"


def client_for(role: str) -> Client:
    user = User.objects.create_user(f"user-{role}", password="pw")
    set_user_role(user, role)
    client = Client()
    client.force_login(user)
    return client


def test_every_cell_escapes_what_people_wrote() -> None:
    group = make_group(name='<i>Deals</i> "IL"')
    make_lead(group, name='Dana "<b>" Levi', keyword="<u>", preview="the <u> price & more")

    body = client_for(MANAGER).get(TABLE).content.decode()

    assert "<i>Deals</i>" not in body
    assert "&lt;i&gt;Deals&lt;/i&gt; &quot;IL&quot;" in body
    assert '<b>"' not in body and "<u>" not in body
    # The name inside attributes (the checkbox's and the WhatsApp link's labels) too.
    assert 'aria-label="Select Dana &quot;&lt;b&gt;&quot; Levi"' in body
    assert 'title="WhatsApp chat with Dana &quot;&lt;b&gt;&quot; Levi"' in body
    assert "the <mark>&lt;u&gt;</mark> price &amp; more" in body


def test_a_page_never_inspects_a_render_methods_signature(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """django-tables2 inspects the signature for every cell; 400 of them were most of a page."""
    for _ in range(3):
        make_lead()

    def refuse(fn: object) -> None:
        raise AssertionError(f"signature inspected for {fn!r}")

    monkeypatch.setattr(django_tables2.utils, "signature", refuse)
    response = client_for(MANAGER).get(TABLE)

    assert response.status_code == 200
    assert response.content.decode().count('name="lead"') == 3


def test_rows_carry_a_checkbox_only_for_those_who_may_bulk_change() -> None:
    lead = make_lead(status="contacted")

    manager_page = client_for(MANAGER).get(TABLE).content.decode()
    viewer_page = client_for(VIEWER).get(TABLE).content.decode()

    assert f'value="{lead.id}" data-status="contacted"' in manager_page
    assert 'name="lead"' not in viewer_page
    assert f'id="lead-{lead.id}" data-status="contacted"' in viewer_page
    assert '<span class="badge badge--contacted">Contacted</span>' in viewer_page


def test_the_render_benchmark_runs_and_names_its_peer() -> None:
    for _ in range(3):
        make_lead()
    out = io.StringIO()

    call_command("bench_render", rows=3, runs=1, stdout=out)

    report = out.getvalue()
    assert "3-row cells, LeadTable.lead_rows()" in report
    assert "django-tables2 per-cell path" in report
    assert "load average" in report


def test_sorting_by_status_follows_the_pipeline_newest_first_within_a_status() -> None:
    group = make_group()
    for status in ("lost", "new", "converted", "contacted", "new", "qualified"):
        make_lead(group, status=status)
    client = client_for(VIEWER)

    def statuses(sort: str) -> list[str]:
        rows = client.get(TABLE, {"sort": sort}).context["rows"]
        return [str(row.status) for row in rows]

    pipeline = ["new", "new", "contacted", "qualified", "converted", "lost"]
    assert statuses("status") == pipeline
    assert statuses("-status") == pipeline[::-1][:4] + ["new", "new"]
    newest_new = client.get(TABLE, {"sort": "status"}).context["rows"][:2]
    assert newest_new[0].detected_at > newest_new[1].detected_at


def test_highlight_marks_the_keyword_in_any_case_and_escapes_every_piece() -> None:
    text = '<b>Price</b> & "price" <script>'
    assert highlight(text, "price") == (
        "&lt;b&gt;<mark>Price</mark>&lt;/b&gt; &amp; &quot;<mark>price</mark>&quot; &lt;script&gt;"
    )
    # A keyword that spells markup is matched as text, never let through.
    assert highlight("<i>", "<i>") == "<mark>&lt;i&gt;</mark>"
    assert highlight("<i>", "") == "&lt;i&gt;"
