"""What several pages read from a request: the leads table's filtered set, who may act on
it, and where to go afterwards.

The table shows the set, bulk actions change it and exports download it: all three parse the
same query string the same way, from here. Views import this module, never each other.
"""

from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings
from django.http import HttpRequest, QueryDict
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme

from leads.assignments import leads_with_notes_matching, owns_leads
from leads.filters import OWNER_MINE, LeadFilter, TableState, lead_query, table_state
from leads.pipeline import Status
from leads.roles import REP, can, user_role
from leads.sources.base import LeadSource
from leads.sources.records import SORT_NEWEST, Capabilities, LeadQuery


@dataclass(frozen=True)
class TableRequest:
    """The table's state from a query string, checked against what the source can do."""

    filterset: LeadFilter
    state: TableState
    query: LeadQuery
    capabilities: Capabilities


def read_table_request(data: QueryDict, source: LeadSource, user: Any = None) -> TableRequest:
    """Parse and validate the query string; sorts the source cannot do fall back to default.

    `user` is who "My leads" means (the person asking).
    """
    capabilities = source.capabilities()
    group_choices = [(str(group.id), group.name) for group in source.list_groups()]
    unassigned = "unassigned" in capabilities.filters
    filterset = LeadFilter(data, group_choices=group_choices, unassigned=unassigned)
    state = table_state(data, filterset)
    # Not None: `lead_query` would read None as "the URL's sort", the one refused here.
    sort = state.sort if capabilities.supports_sort(state.sort) else SORT_NEWEST
    if "min_score" not in capabilities.filters:
        state = replace(state, min_score=None)
    user_id = user.pk if user is not None and user.is_authenticated else None
    query = lead_query(state, sort=sort, user_id=user_id)
    if query.search:  # notes are ours, kept beside either source's leads: found by id
        query = replace(query, noted=tuple(leads_with_notes_matching(query.search)))
    return TableRequest(filterset, state, query, capabilities)


def with_default_owner(request: HttpRequest) -> QueryDict:
    """The query string, with "My leads" when a rep who owns leads has not chosen whose to see.

    A rep's day starts from their own leads; "Everyone's" (`owner=`) is one choice away. A
    rep who owns none yet starts from everyone's, where the leads to take are.
    """
    data: QueryDict = request.GET
    if "owner" not in data and user_role(request.user) == REP and owns_leads(request.user.pk):
        data = data.copy()
        data["owner"] = OWNER_MINE
    return data


def bulk_refusal(request: HttpRequest, capabilities: Capabilities) -> str:
    """Why bulk actions are unavailable to this user on this source, or "" when they are not."""
    if not can(request.user, "bulk"):
        return "bulk actions are for managers."
    if not capabilities.bulk:
        return plan_refusal(capabilities)
    return ""


def export_refusal(request: HttpRequest, capabilities: Capabilities) -> str:
    """Why exports are unavailable to this user on this source, or "" when they are not."""
    if not can(request.user, "export"):
        return "exports are for managers."
    if not capabilities.export:
        return plan_refusal(capabilities)
    return ""


def plan_refusal(capabilities: Capabilities) -> str:
    plan = f"the {capabilities.plan.capitalize()} plan" if capabilities.plan else "this plan"
    return f"this needs the Pro plan or above (the account is on {plan})."


def matching_total(counts: dict[Status, int], status: Status | None) -> int:
    """How many leads match: the counts per status ignore the status filter, so pick it."""
    return counts.get(status, 0) if status else sum(counts.values())


def next_url(request: HttpRequest) -> str:
    """Where to go afterwards: `next` when it is on this site, else the home page."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)
