"""Compressed responses: pages and exports gzip, streams stay streams, event streams stay plain."""

import csv
import gzip
import io
import json

import pytest
from django.contrib.auth.models import User
from django.http import HttpResponse, StreamingHttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse

from leads.compression import CompressionMiddleware
from leads.events import current_token
from leads.roles import MANAGER, set_user_role
from tests.factories import make_lead

pytestmark = pytest.mark.django_db
GZIP = {"Accept-Encoding": "gzip, deflate, br"}


@pytest.fixture
def manager_client() -> Client:
    user = User.objects.create_user("manager", password="pw")
    set_user_role(user, MANAGER)
    client = Client()
    client.force_login(user)
    return client


def streamed(response: StreamingHttpResponse) -> list[bytes]:
    return [bytes(chunk) for chunk in response.streaming_content]


def test_the_table_page_is_compressed_for_browsers_that_accept_gzip(
    manager_client: Client,
) -> None:
    for _ in range(20):
        make_lead()

    plain = manager_client.get("/leads/")
    compressed = manager_client.get("/leads/", headers=GZIP)

    assert "Content-Encoding" not in plain
    assert compressed["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in compressed["Vary"] and "HX-Request" in compressed["Vary"]
    assert len(compressed.content) * 4 < len(plain.content)
    assert b"Dana Levi" in gzip.decompress(compressed.content)


def test_the_csv_export_still_streams_and_unzips_to_the_same_file(
    manager_client: Client,
) -> None:
    for _ in range(30):
        make_lead()
    url = reverse("leads:export", args=["csv"])

    plain = b"".join(streamed(manager_client.get(url)))
    response = manager_client.get(url, headers=GZIP)

    assert response.streaming
    assert response["Content-Encoding"] == "gzip"
    assert "Content-Length" not in response
    chunks = streamed(response)
    # Compressed and flushed chunk by chunk, not gathered into one body first.
    assert len([chunk for chunk in chunks if chunk]) > 3
    unzipped = gzip.decompress(b"".join(chunks))
    assert unzipped == plain
    rows = list(csv.reader(io.StringIO(unzipped.decode("utf-8-sig"))))
    assert len(rows) == 31


def test_the_live_poll_answers_the_same_with_gzip_accepted(manager_client: Client) -> None:
    token = current_token()
    url = reverse("leads:live-events")

    unchanged = manager_client.get(url, {"after": token.last, "seen": token.seen}, headers=GZIP)
    changed = manager_client.get(url, {"after": -1, "seen": 0}, headers=GZIP)

    assert unchanged.status_code == 204 and unchanged.content == b""
    assert "Content-Encoding" not in unchanged
    body = changed.content
    if changed.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    assert json.loads(body)["last"] == token.last


def test_an_event_stream_is_never_compressed() -> None:
    events = [b"retry: 2000\n\n", b": heartbeat\n\n" * 30, b"data: {}\n\n"]

    def stream(request: object) -> StreamingHttpResponse:
        return StreamingHttpResponse(iter(events), content_type="text/event-stream")

    request = RequestFactory().get("/live/stream", headers=GZIP)
    response = CompressionMiddleware(stream)(request)

    assert "Content-Encoding" not in response
    assert streamed(response) == events


def test_a_large_json_answer_is_compressed_like_a_page() -> None:
    def answer(request: object) -> HttpResponse:
        return HttpResponse(b'{"leads": []}' * 100, content_type="application/json")

    response = CompressionMiddleware(answer)(RequestFactory().get("/api/v2/leads", headers=GZIP))

    assert response["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.content) == b'{"leads": []}' * 100
