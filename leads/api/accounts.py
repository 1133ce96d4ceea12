"""`/api/v2/sessions`, `/api/v2/groups` and `/api/v2/custom-groups` (CONTRACT §1)."""

from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.http import HttpRequest
from ninja import Router, Status

from leads.api.auth import ApiError, KeyAuth, require_room
from leads.api.schemas import (
    ERRORS,
    CustomGroupDetailOut,
    CustomGroupIn,
    CustomGroupListOut,
    CustomGroupOut,
    CustomGroupPatchIn,
    ErrorOut,
    GroupIn,
    GroupListOut,
    GroupOut,
    GroupPatchIn,
    SessionIn,
    SessionOut,
)
from leads.custom_groups import name_taken_message, taken_by
from leads.detection import clean_keywords
from leads.models import CustomGroup, CustomGroupMember, MonitoredGroup, Session
from leads.monitoring import AlreadyMonitored, PlanLimitReached, start_monitoring
from leads.phones import normalise_phone
from leads.sources.errors import NameTaken, NotFound
from leads.sources.local import LocalSource

router = Router()


# --- Sessions ------------------------------------------------------------------------------


@router.get(
    "/sessions",
    response={200: list[SessionOut], **ERRORS},
    auth=KeyAuth("sessions:read"),
    tags=["sessions"],
)
def list_sessions(request: HttpRequest) -> list[Session]:
    return list(Session.objects.order_by("created_at"))


@router.post(
    "/sessions",
    response={201: SessionOut, 400: ErrorOut, **ERRORS},
    auth=KeyAuth("sessions:manage"),
    tags=["sessions"],
)
def create_session(request: HttpRequest, body: SessionIn) -> Status[Session]:
    try:
        with transaction.atomic():
            session = Session.objects.create(name=body.name)
    except IntegrityError:
        raise ApiError(400, f"A session named {body.name!r} already exists.") from None
    return Status(201, session)


# --- Monitored groups ----------------------------------------------------------------------


def _get_group(group_id: UUID) -> MonitoredGroup:
    group = MonitoredGroup.objects.filter(pk=group_id).first()
    if group is None:
        raise ApiError(404, f"Group {group_id} not found.")
    return group


def _require_session(session_id: UUID) -> None:
    if not Session.objects.filter(pk=session_id).exists():
        raise ApiError(404, f"Session {session_id} not found.")


@router.get(
    "/groups", response={200: GroupListOut, **ERRORS}, auth=KeyAuth("groups:read"), tags=["groups"]
)
def list_groups(request: HttpRequest) -> dict[str, Any]:
    groups = list(MonitoredGroup.objects.order_by("name", "id"))
    return {"items": groups, "total": len(groups)}


@router.post(
    "/groups",
    response={201: GroupOut, 400: ErrorOut, 404: ErrorOut, **ERRORS},
    auth=KeyAuth("groups:manage"),
    tags=["groups"],
)
def create_group(request: HttpRequest, body: GroupIn) -> Status[MonitoredGroup]:
    session = Session.objects.filter(pk=body.session_id).first()
    if session is None:
        raise ApiError(404, f"Session {body.session_id} not found.")
    try:
        group = start_monitoring(
            session,
            body.wa_group_id,
            body.name,
            body.monitor_mode,
            body.monitor_keywords,
            is_active=body.is_active,
        )
    except PlanLimitReached as refused:
        raise ApiError(403, str(refused)) from None
    except AlreadyMonitored as refused:
        raise ApiError(400, str(refused)) from None
    return Status(201, group)


@router.get(
    "/groups/{group_id}",
    response={200: GroupOut, 404: ErrorOut, **ERRORS},
    auth=KeyAuth("groups:read"),
    tags=["groups"],
)
def get_group(request: HttpRequest, group_id: UUID) -> MonitoredGroup:
    return _get_group(group_id)


@router.patch(
    "/groups/{group_id}",
    response={200: GroupOut, 400: ErrorOut, 404: ErrorOut, **ERRORS},
    auth=KeyAuth("groups:manage"),
    tags=["groups"],
)
def update_group(request: HttpRequest, group_id: UUID, body: GroupPatchIn) -> MonitoredGroup:
    group = _get_group(group_id)
    changes = body.dict(exclude_unset=True)
    if changes.get("session_id") is not None:
        _require_session(changes["session_id"])
    for field, value in changes.items():
        if field == "monitor_keywords":
            value = clean_keywords(value)
        setattr(group, field, value)
    try:
        with transaction.atomic():
            group.save()
    except IntegrityError:
        raise ApiError(
            400, f"Group {group.wa_group_id} is already monitored on that session."
        ) from None
    return group


# --- Custom groups -------------------------------------------------------------------------


def _custom_group_out(group: CustomGroup, member_count: int) -> dict[str, Any]:
    return {
        "id": group.id,
        "name": group.name,
        "member_count": member_count,
        "created_at": group.created_at,
    }


@router.get(
    "/custom-groups",
    response={200: CustomGroupListOut, **ERRORS},
    auth=KeyAuth("custom-groups:read"),
    tags=["custom-groups"],
)
def list_custom_groups(request: HttpRequest) -> dict[str, Any]:
    groups = CustomGroup.objects.annotate(member_count=Count("members")).order_by("name", "id")
    items = [_custom_group_out(group, group.member_count) for group in groups]
    return {"items": items, "total": len(items)}


@router.post(
    "/custom-groups",
    response={201: CustomGroupOut, **ERRORS},
    auth=KeyAuth("custom-groups:manage"),
    tags=["custom-groups"],
)
def create_custom_group(request: HttpRequest, body: CustomGroupIn) -> Status[dict[str, Any]]:
    require_room(request, "custom_groups", CustomGroup.objects.count(), "custom groups")
    existing = taken_by(body.name, CustomGroup.objects.values_list("id", "name"))
    if existing is not None:
        raise ApiError(400, name_taken_message(existing))
    members: dict[str, str] = {}
    for member in body.members:
        phone = normalise_phone(member.phone) or member.phone
        members.setdefault(phone, member.name or "")
    with transaction.atomic():
        group = CustomGroup.objects.create(name=body.name)
        CustomGroupMember.objects.bulk_create(
            CustomGroupMember(group=group, phone=phone, name=name)
            for phone, name in members.items()
        )
    return Status(201, _custom_group_out(group, len(members)))


@router.get(
    "/custom-groups/{group_id}",
    response={200: CustomGroupDetailOut, 404: ErrorOut, **ERRORS},
    auth=KeyAuth("custom-groups:read"),
    tags=["custom-groups"],
)
def get_custom_group(request: HttpRequest, group_id: UUID) -> dict[str, Any]:
    group = CustomGroup.objects.filter(pk=group_id).first()
    if group is None:
        raise ApiError(404, f"Custom group {group_id} not found.")
    members = [
        {"phone": m.phone, "name": m.name or None} for m in group.members.order_by("added_at", "id")
    ]
    return {**_custom_group_out(group, len(members)), "members": members}


@router.patch(
    "/custom-groups/{group_id}",
    response={200: CustomGroupOut, 404: ErrorOut, **ERRORS},
    auth=KeyAuth("custom-groups:manage"),
    tags=["custom-groups"],
)
def rename_custom_group(
    request: HttpRequest, group_id: UUID, body: CustomGroupPatchIn
) -> dict[str, Any]:
    """Rename; 400 when another custom group has the name (compared casefolded)."""
    try:
        return vars(LocalSource().rename_custom_group(group_id, body.name))
    except NotFound as missing:
        raise ApiError(404, missing.detail) from None
    except NameTaken as taken:
        raise ApiError(400, taken.detail) from None


@router.delete(
    "/custom-groups/{group_id}",
    response={204: None, 404: ErrorOut, **ERRORS},
    auth=KeyAuth("custom-groups:manage"),
    tags=["custom-groups"],
)
def delete_custom_group(request: HttpRequest, group_id: UUID) -> Status[None]:
    """Delete the group and its member list (the leads stay)."""
    try:
        LocalSource().delete_custom_group(group_id)
    except NotFound as missing:
        raise ApiError(404, missing.detail) from None
    return Status(204, None)


@router.delete(
    "/custom-groups/{group_id}/members/{phone}",
    response={204: None, 404: ErrorOut, **ERRORS},
    auth=KeyAuth("custom-groups:manage"),
    tags=["custom-groups"],
)
def remove_custom_group_member(request: HttpRequest, group_id: UUID, phone: str) -> Status[None]:
    """Take one phone (E.164, "+" written `%2B`) off the group; 404 when it is not in it."""
    try:
        LocalSource().remove_custom_group_member(group_id, phone)
    except NotFound as missing:
        raise ApiError(404, missing.detail) from None
    return Status(204, None)
