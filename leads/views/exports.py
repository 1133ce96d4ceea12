"""`/leads/export/<csv|json>/`: exactly what the table shows (same filters, search, sort).

Named after the filter and the day (`leads-new-price-2026-12-02.csv`). At most
`EXPORT_MAX_ROWS` rows. When the result is cut, the response says so in the
`X-Export-Truncated: <rows> of <matching>` header and in the file name (`...-first-10000-of-
12345.csv`); the body stays a clean CSV / JSON array, because a note row would break every
program that reads the file. The table shows the same note beside the
export links before anyone clicks.
"""

from datetime import date

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from leads.exports import EXPORT_MAX_ROWS, export_file_name, with_bom
from leads.filters import TableState
from leads.middleware import source_error_page
from leads.roles import MANAGER, role_required
from leads.sources import get_source
from leads.sources.errors import RateLimited, SourceError, Unavailable
from leads.sources.records import EXPORT_FORMATS
from leads.views.shared import export_refusal, matching_total, read_table_request


@role_required(MANAGER)
@require_GET
def leads_export(request: HttpRequest, fmt: str) -> HttpResponse | StreamingHttpResponse:
    """Stream the matching leads as CSV (with BOM, formula-neutralised) or JSON."""
    if fmt not in EXPORT_FORMATS:
        raise Http404(f"No export as {fmt!r}.")
    source = get_source()
    try:
        table_request = read_table_request(request.GET, source, request.user)
        refused = export_refusal(request, table_request.capabilities)
        if refused:
            return _refused(request, refused)
        matching = matching_total(
            source.count_by_status(table_request.query), table_request.query.status
        )
        export = source.export(fmt, table_request.query)
    except (Unavailable, RateLimited) as error:
        return source_error_page(request, error)
    except SourceError as error:
        return _refused(request, error.detail)
    chunks = with_bom(export.chunks) if fmt == "csv" else export.chunks
    response = StreamingHttpResponse(chunks, content_type=export.content_type)
    name = export_name(table_request.state)
    if matching > EXPORT_MAX_ROWS:
        response["X-Export-Truncated"] = f"{EXPORT_MAX_ROWS} of {matching}"
        name += f"-first-{EXPORT_MAX_ROWS}-of-{matching}"
    response["Content-Disposition"] = content_disposition_header(True, f"{name}.{fmt}")
    return response


def export_name(state: TableState, today: date | None = None) -> str:
    """`leads-new-price-2026-12-02`: the filters and the day, so a folder of exports reads."""
    parts = ["leads", state.status, state.q]
    if state.detected_from:
        parts.append(f"from-{state.detected_from.isoformat()}")
    if state.detected_to:
        parts.append(f"to-{state.detected_to.isoformat()}")
    return export_file_name(*parts, today=today)


def _refused(request: HttpRequest, reason: str) -> HttpResponse:
    return render(request, "leads/refused.html", {"what": "Export", "reason": reason}, status=403)
