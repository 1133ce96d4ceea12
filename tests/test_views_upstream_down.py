"""The dashboard on a MoltFlow account that stops answering: the page still works.

The upstream is an `httpx.MockTransport` installed as the process's transport (the process
boundary); the source, client and views are the real ones.
"""

import uuid
from collections.abc import Iterator

import httpx
import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client

from leads.client import install_transport
from leads.sources.moltflow import MoltflowSource

pytestmark = pytest.mark.django_db

GROUP = {"id": str(uuid.uuid4()), "name": "Real Estate IL"}
LEAD = {
    "id": str(uuid.uuid4()),
    "contact_phone": "+972521234567",
    "contact_name": "דנה לוי",
    "lead_status": "new",
    "lead_score": 0,
    "lead_detected_at": "2026-11-25T08:00:00Z",
    "source_group": GROUP,
    "trigger": {
        "matched_keyword": "price",
        "message_preview": "what's the price?",
        "monitor_mode": "keywords",
        "detected_at": "2026-11-25T08:00:00Z",
    },
}


class Upstream:
    """A MoltFlow that answers until told it is down."""

    def __init__(self) -> None:
        self.down = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused")
        path = request.url.path.removeprefix("/api/v2")
        if path == "/leads":
            body = {"leads": [LEAD], "total": 1, "limit": 50, "offset": 0}
        elif path == "/sessions":
            body = []
        else:
            body = {"items": [], "total": 0}
        return httpx.Response(200, json=body, headers={"X-RateLimit-Limit": "60"})


@pytest.fixture
def upstream(settings) -> Iterator[Upstream]:
    settings.LEADS_SOURCE = "moltflow"
    settings.MOLTFLOW_API_URL = "https://moltflow.example/api/v2"
    settings.MOLTFLOW_API_KEY = "mf_test"
    fake = Upstream()
    install_transport(httpx.MockTransport(fake))
    cache.clear()
    yield fake
    install_transport(None)
    cache.clear()


@pytest.fixture
def viewer_client() -> Client:
    client = Client()
    client.force_login(User.objects.create_user("vera", password="pw"))
    return client


def test_the_table_shows_the_last_good_leads_with_a_stale_banner_when_moltflow_is_down(
    upstream: Upstream, viewer_client: Client
) -> None:
    first = viewer_client.get("/leads/")
    assert first.status_code == 200
    assert "דנה לוי" in first.content.decode()
    assert "not answering" not in first.content.decode()

    upstream.down = True
    MoltflowSource.from_settings().client.invalidate()  # as when the short cache expires
    page = viewer_client.get("/leads/")

    html = page.content.decode()
    assert page.status_code == 200
    assert "The lead source is not answering since" in html
    assert "Cannot connect" in html
    assert "דנה לוי" in html  # the last good data, not an empty page


def test_a_page_never_loaded_before_still_renders_with_the_reason(
    upstream: Upstream, viewer_client: Client
) -> None:
    upstream.down = True

    page = viewer_client.get("/leads/")

    assert page.status_code == 200
    assert "not answering" in page.content.decode()
    assert "Traceback" not in page.content.decode()
