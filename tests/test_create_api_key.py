from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from leads.models import ALL_SCOPES, ApiKey, hash_api_key

pytestmark = pytest.mark.django_db


def create(*args: str) -> str:
    out = StringIO()
    call_command("create_api_key", *args, stdout=out)
    return out.getvalue()


def test_it_prints_the_raw_key_alone_on_the_last_line_and_stores_only_its_hash():
    raw_key = create("crm").splitlines()[-1]

    assert raw_key.startswith("mf_") and len(raw_key) == 43
    key = ApiKey.objects.get(name="crm")
    assert key.key_hash == hash_api_key(raw_key)
    assert raw_key not in str(ApiKey.objects.values().get())
    assert key.scopes == list(ALL_SCOPES)


def test_the_key_it_prints_opens_the_api():
    raw_key = create("crm").splitlines()[-1]

    assert Client().get("/api/v2/leads", headers={"X-API-Key": raw_key}).status_code == 200


def test_it_limits_the_key_to_the_scopes_asked_for():
    raw_key = create("reader", "--scopes", "leads:read").splitlines()[-1]

    client = Client(headers={"X-API-Key": raw_key})
    assert client.get("/api/v2/leads").status_code == 200
    assert client.get("/api/v2/groups").status_code == 403


def test_it_refuses_an_unknown_scope():
    with pytest.raises(CommandError, match="Unknown scope"):
        create("crm", "--scopes", "leads:destroy")
    assert not ApiKey.objects.exists()
