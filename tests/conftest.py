from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client

from leads.client import install_transport
from leads.roles import MANAGER, REP
from tests.factories import make_api_key
from tests.inprocess import BASE_URL, wsgi_transport
from tests.people import person


@pytest.fixture
def api_key(db):
    """A key with every scope; returns (ApiKey, raw key)."""
    return make_api_key()


@pytest.fixture
def api(api_key):
    """A test client that sends the all-scopes key on every request."""
    return Client(headers={"X-API-Key": api_key[1]})


@pytest.fixture(autouse=True)
def empty_cache():
    """Every test starts and ends with an empty cache: a read cached by one test (MoltFlow
    pages, the rate budget, the wall's snapshot) must not answer the next. With `REDIS_URL`
    set, that empties the Redis database it names."""
    cache.clear()
    yield
    cache.clear()


# The sales team of the owners, follow-ups and outreach tests: two reps and a manager.
@pytest.fixture
def rick() -> User:
    return person("rick", REP, "Rick")


@pytest.fixture
def rita() -> User:
    return person("rita", REP, "Rita")


@pytest.fixture
def mona() -> User:
    return person("mona", MANAGER, "Mona")


@pytest.fixture
def moltflow(settings: Any, db: None) -> Iterator[None]:
    """Pages read the project's own /api/v2 as if it were MoltFlow (in process)."""
    _, raw_key = make_api_key()
    settings.LEADS_SOURCE = "moltflow"
    settings.MOLTFLOW_API_URL = BASE_URL
    settings.MOLTFLOW_API_KEY = raw_key
    cache.clear()
    install_transport(wsgi_transport())
    yield
    install_transport(None)
