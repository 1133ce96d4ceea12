"""`/healthz`: is the app up and can it reach its database? For load balancers and uptime checks."""

import logging

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

logger = logging.getLogger("leads.health")


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers, else 503 saying only "database unavailable".

    The driver's error names the database's host, port, name and user; anyone may call this
    page, so that detail goes to the log, where the operator looks.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # any driver error means the database is unreachable
        logger.exception("Health check: the database is unavailable")
        return JsonResponse({"status": "error", "database": "database unavailable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})
