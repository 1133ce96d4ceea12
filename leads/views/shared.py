"""What several pages read from a request: the leads table's filtered set, and who may act on it.

The table shows the set, bulk actions change it and exports download it: all three parse the
same query string the same way, from here. Signed-in screens and the wall answer a live poll
the same way too. Views import this module, never each other.
"""

from dataclasses import dataclass, replace

from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.utils import timezone

from leads.events import LiveToken
from leads.filters import LeadFilter, TableState, lead_query, table_state
from leads.pipeline import Status
from leads.roles import can
from leads.sources.base import LeadSource
from leads.sources.records import SORT_NEWEST, Capabilities, LeadQuery


@dataclass(frozen=True)
class TableRequest:
    """The table's state from a query string, checked against what the source can do."""

    filterset: LeadFilter
    state: TableState
    query: LeadQuery
    capabilities: Capabilities


def read_table_request(data: QueryDict, source: LeadSource) -> TableRequest:
    """Parse and validate the query string; sorts the source cannot do fall back to default."""
    capabilities = source.capabilities()
    group_choices = [(str(group.id), group.name) for group in source.list_groups()]
    filterset = LeadFilter(data, group_choices=group_choices)
    state = table_state(data, filterset)
    # Not None: `lead_query` would read None as "the URL's sort", the one refused here.
    sort = state.sort if capabilities.supports_sort(state.sort) else SORT_NEWEST
    if "min_score" not in capabilities.filters:
        state = replace(state, min_score=None)
    return TableRequest(filterset, state, lead_query(state, sort=sort), capabilities)


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


def _int(raw: str | None) -> int | None:
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def token_answer(request: HttpRequest, token: LiveToken) -> HttpResponse:
    """204 when the caller's `after`/`seen` match `token`, else the token as JSON."""
    if _int(request.GET.get("after")) == token.last and _int(request.GET.get("seen")) == token.seen:
        return HttpResponse(status=204)
    return JsonResponse(
        {"last": token.last, "seen": token.seen, "server_time": timezone.now().isoformat()}
    )
