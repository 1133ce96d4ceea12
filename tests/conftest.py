import pytest
from django.test import Client

from tests.factories import make_api_key


@pytest.fixture
def api_key(db):
    """A key with every scope; returns (ApiKey, raw key)."""
    return make_api_key()


@pytest.fixture
def api(api_key):
    """A test client that sends the all-scopes key on every request."""
    return Client(headers={"X-API-Key": api_key[1]})
