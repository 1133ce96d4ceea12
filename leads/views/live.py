"""`GET /live/events?after=<id>&seen=<n>[&ticket=…]`: has anything changed since this token?

Every open table and board asks every second (static/js/live.js). A poll with a good ticket
is answered by `leads.live_lane` before it gets here; this view answers the rest — the
first poll, and one per ticket lifetime — after the session check, and hands out a fresh
ticket in `X-Live-Ticket`. 204 with no body when the token is the same, else
`{"last", "seen", "server_time"}`; the screen then re-reads its own regions.
"""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from leads.events import current_token
from leads.live_lane import TICKET_HEADER, issue_ticket, token_answer, user_scope
from leads.roles import VIEWER, role_required


@require_GET
@never_cache
@role_required(VIEWER)
def live_events(request: HttpRequest) -> HttpResponse:
    """The live token for signed-in screens (401 JSON when the session has ended)."""
    user_id = request.user.pk
    assert user_id is not None  # role_required lets only signed-in people in
    response = token_answer(request, current_token())
    response[TICKET_HEADER] = issue_ticket(user_scope(user_id), request)
    return response
