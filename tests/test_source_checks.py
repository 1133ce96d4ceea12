"""The configured source: `get_source()` and the system check that guards its settings."""

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from leads.checks import check_leads_source
from leads.sources import get_source
from leads.sources.local import LocalSource
from leads.sources.moltflow import MoltflowSource


def messages(settings: Any) -> list[str]:
    return [error.msg for error in check_leads_source()]


def test_the_local_source_needs_nothing_else(settings: Any) -> None:
    settings.LEADS_SOURCE = "local"
    settings.MOLTFLOW_API_KEY = ""
    assert messages(settings) == []
    assert isinstance(get_source(), LocalSource)


def test_moltflow_without_a_key_fails_naming_the_setting(settings: Any) -> None:
    settings.LEADS_SOURCE = "moltflow"
    settings.MOLTFLOW_API_KEY = ""
    settings.MOLTFLOW_API_URL = "https://apiv2.waiflow.app/api/v2"
    assert messages(settings) == ["LEADS_SOURCE is 'moltflow' but MOLTFLOW_API_KEY is empty."]


def test_moltflow_without_a_url_fails_naming_the_setting(settings: Any) -> None:
    settings.LEADS_SOURCE = "moltflow"
    settings.MOLTFLOW_API_KEY = "mf_key"
    settings.MOLTFLOW_API_URL = "  "
    assert messages(settings) == ["LEADS_SOURCE is 'moltflow' but MOLTFLOW_API_URL is empty."]


def test_moltflow_with_both_is_configured(settings: Any) -> None:
    settings.LEADS_SOURCE = "moltflow"
    settings.MOLTFLOW_API_KEY = "mf_key"
    settings.MOLTFLOW_API_URL = "https://apiv2.waiflow.app/api/v2"
    assert messages(settings) == []
    source = get_source()
    assert isinstance(source, MoltflowSource)
    assert source.client.base_url == "https://apiv2.waiflow.app/api/v2"


def test_an_unknown_source_fails(settings: Any) -> None:
    settings.LEADS_SOURCE = "moltflwo"
    assert messages(settings) == ["LEADS_SOURCE is 'moltflwo'; it must be one of local, moltflow."]
    with pytest.raises(ImproperlyConfigured):
        get_source()
