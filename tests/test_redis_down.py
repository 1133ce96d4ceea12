"""Redis down: with `REDIS_URL` pointing at a port nobody listens on, nothing answers 500.

A real failure (a refused connection to 127.0.0.1:1), no mocks: each process then answers
from its own memory, as it does without `REDIS_URL`.
"""

import logging
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client

from dashboard.settings import cache_settings
from leads import shared_cache
from leads.models import WallLink
from leads.roles import MANAGER
from leads.shared_cache import FallbackRedisCache
from tests.factories import make_group, make_lead, make_session
from tests.people import person, signed_in

DEAD_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture(autouse=True)
def redis_not_yet_known_down(monkeypatch) -> None:
    # Every test starts as a process that has not met the outage yet.
    monkeypatch.setattr(shared_cache, "_down_until", {})


def dead_cache() -> FallbackRedisCache:
    return FallbackRedisCache(DEAD_REDIS, cache_settings(DEAD_REDIS)["default"])


def test_a_dead_redis_is_answered_from_this_processs_memory() -> None:
    cache = dead_cache()

    cache.set("a", 1)
    assert cache.add("lock", 1) is True
    assert cache.add("lock", 1) is False  # single-flight still holds within the process
    assert cache.get_many(["a", "lock", "b"]) == {"a": 1, "lock": 1}
    assert cache.unreachable()


def test_the_outage_is_logged_once(caplog) -> None:
    cache = dead_cache()
    with caplog.at_level(logging.WARNING, logger="leads.shared_cache"):
        for _ in range(5):
            cache.get("a")
    assert [r.getMessage()[:30] for r in caplog.records] == ["Redis at redis://127.0.0.1:1/0"]


@pytest.fixture
def dead_redis(settings) -> Iterator[None]:
    settings.CACHES = cache_settings(DEAD_REDIS)
    yield


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["local", "moltflow"])
def test_every_page_answers_while_redis_is_down(mode: str, request, dead_redis) -> None:
    if mode == "moltflow":
        request.getfixturevalue("moltflow")
    lead = make_lead(make_group(make_session(), name="Real Estate IL"), name="Dana Levi")
    _, wall = WallLink.issue("Sales floor")
    browser = signed_in(person("mona", MANAGER))

    pages = ["/leads/", "/leads/board/", f"/leads/{lead.id}/", f"/wall/{wall}/", "/live/events"]
    for path in pages:
        assert browser.get(path).status_code == 200, path
    moved = browser.post(
        f"/leads/{lead.id}/status/", {"status": "contacted", "expected_status": "new"}
    )
    assert moved.status_code in (200, 302)
    assert "Dana Levi" in browser.get("/leads/?status=contacted").text
    assert shared_cache.is_unreachable(cache)  # the pages above did meet the outage


@pytest.mark.django_db
def test_sign_in_throttling_holds_while_redis_is_down(dead_redis) -> None:
    User.objects.create_user("rick", password="right")
    for _ in range(5):
        Client().post("/login/", {"username": "rick", "password": "wrong"})

    locked = Client().post("/login/", {"username": "rick", "password": "right"})

    assert "Too many failed sign-ins" in locked.text  # kept in the database, not in Redis
