"""The MoltFlow-compatible API v2 served from the local store, at /api/v2/."""

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Router
from ninja.errors import HttpError, ValidationError
from ninja.parser import Parser
from ninja.renderers import JSONRenderer

from leads.api import accounts, leads
from leads.api.auth import ApiError


class Utf8JSONRenderer(JSONRenderer):
    """Hebrew and Arabic as themselves, not as \\u escapes."""

    json_dumps_params = {"ensure_ascii": False}


# What every view names its request body; ninja's `loc` carries it, the contract's does not.
BODY_PARAMETER = "body"


class BodyNotAnObject(ValueError):
    pass


class JsonObjectParser(Parser):
    """Every request body of this API is a JSON object.

    Without this, a body such as `[]` or `null` reads as an object with no fields, and a
    PATCH whose fields are all optional would answer 200 having changed nothing.
    """

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        data = super().parse_body(request)
        if not isinstance(data, dict):
            raise BodyNotAnObject
        return data


api = NinjaAPI(
    renderer=Utf8JSONRenderer(),
    parser=JsonObjectParser(),
    title="Leads API v2 (MoltFlow-compatible mirror)",
    version="2.0.0",
    description=(
        "The leads part of the MoltFlow API v2, served from this dashboard's own store. "
        "Authenticate with `X-API-Key: mf_…` or `Authorization: Bearer mf_…`."
    ),
    urls_namespace="api",
)
api.add_router("/", leads.router)
api.add_router("/", accounts.router)

# Registered last, so it only answers paths no endpoint has: a JSON 404, like every error here.
not_found = Router()


@not_found.api_operation(
    ["GET", "POST", "PUT", "PATCH", "DELETE"], "/{path:rest}", include_in_schema=False
)
def unknown_path(request: HttpRequest, rest: str) -> HttpResponse:
    raise ApiError(404, f"No such endpoint: {request.method} {request.path}")


api.add_router("/", not_found)


@api.exception_handler(ApiError)
def on_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    response = api.create_response(request, {"detail": exc.detail}, status=exc.status)
    for name, value in exc.headers.items():
        response[name] = value
    return response


@api.exception_handler(RequestDataTooBig)
def on_body_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    # Django would answer with its HTML 400 page; every error of this API is JSON.
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    detail = f"The request body is larger than the {limit} bytes this API accepts."
    return api.create_response(request, {"detail": detail}, status=400)


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    detail = str(exc)
    if isinstance(exc.__cause__, BodyNotAnObject):
        detail = "The request body must be a JSON object."
    elif detail.startswith("Cannot parse request body"):
        detail = "The request body is not valid JSON."
    return api.create_response(request, {"detail": detail}, status=exc.status_code)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """422 with `loc` as MoltFlow writes it: `["body", "status"]`, not ninja's
    `["body", "body", "status"]` (ninja puts the view's parameter name second)."""
    issues = [{**issue, "loc": _contract_loc(issue.get("loc", ()))} for issue in exc.errors]
    return api.create_response(request, {"detail": issues}, status=422)


def _contract_loc(loc: Any) -> list[Any]:
    loc = list(loc)
    if len(loc) >= 2 and loc[0] == "body" and loc[1] == BODY_PARAMETER:
        return [loc[0], *loc[2:]]
    return loc
