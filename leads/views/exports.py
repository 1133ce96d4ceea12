"""`/leads/export/<csv|json>/`: exactly what the table shows (same filters, search, sort).

At most `EXPORT_MAX_ROWS` rows. When the result is cut, the response says so in the
`X-Export-Truncated: <rows> of <matching>` header and in the file name
(`leads-first-10000-of-12345.csv`); the body stays a clean CSV / JSON array, because a note
row would break every program that reads the file. The table shows the same note beside the
export links before anyone clicks.
"""

from collections.abc import Iterator

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from leads.exports import EXPORT_MAX_ROWS
from leads.middleware import source_error_page
from leads.roles import MANAGER, role_required
from leads.sources import get_source
from leads.sources.errors import RateLimited, SourceError, Unavailable
from leads.sources.records import EXPORT_FORMATS, ByteChunks
from leads.views.shared import export_refusal, matching_total, read_table_request

# Excel reads a CSV as UTF-8 (Hebrew, Arabic) only when it starts with a byte order mark.
UTF8_BOM = "\ufeff".encode()


def _with_bom(chunks: ByteChunks) -> Iterator[bytes]:
    yield UTF8_BOM
    try:
        yield from chunks
    finally:
        chunks.close()


@role_required(MANAGER)
@require_GET
def leads_export(request: HttpRequest, fmt: str) -> HttpResponse | StreamingHttpResponse:
    """Stream the matching leads as CSV (with BOM, formula-neutralised) or JSON."""
    if fmt not in EXPORT_FORMATS:
        raise Http404(f"No export as {fmt!r}.")
    source = get_source()
    try:
        table_request = read_table_request(request.GET, source)
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
    chunks = _with_bom(export.chunks) if fmt == "csv" else export.chunks
    response = StreamingHttpResponse(chunks, content_type=export.content_type)
    filename = f"leads.{fmt}"
    if matching > EXPORT_MAX_ROWS:
        response["X-Export-Truncated"] = f"{EXPORT_MAX_ROWS} of {matching}"
        filename = f"leads-first-{EXPORT_MAX_ROWS}-of-{matching}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _refused(request: HttpRequest, reason: str) -> HttpResponse:
    return render(request, "leads/refused.html", {"what": "Export", "reason": reason}, status=403)
