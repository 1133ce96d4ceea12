"""`GET /live/events?after=<id>&seen=<n>`: has anything changed since this screen's token?

Every open table and board asks every two seconds (static/js/live.js), so the answer is one
indexed query after the session check: 204 with no body when the token is the same, else
`{"last", "seen", "server_time"}`. The screen then re-reads its own regions.
"""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from leads.events import current_token
from leads.roles import VIEWER, role_required
from leads.views.shared import token_answer


@require_GET
@never_cache
@role_required(VIEWER)
def live_events(request: HttpRequest) -> HttpResponse:
    """The live token for signed-in screens (401 JSON when the session has ended)."""
    return token_answer(request, current_token())
