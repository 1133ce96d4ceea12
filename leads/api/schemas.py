"""Request and response shapes of the mirror API (they are what the OpenAPI document says)."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

from ninja import Field, Schema
from pydantic import StringConstraints

from leads.models import MonitorMode
from leads.pipeline import Status

BULK_MAX = 1000
# PostgreSQL text cannot hold NUL: refuse it at the door (422) rather than fail in the database.
NO_NUL = r"^[^\x00]*$"


class ErrorOut(Schema):
    detail: str


class SourceGroupOut(Schema):
    id: UUID
    name: str


class SourceGroupDetailOut(SourceGroupOut):
    wa_group_id: str


class TriggerOut(Schema):
    matched_keyword: str | None
    message_preview: str
    monitor_mode: str
    detected_at: datetime


class LeadOut(Schema):
    id: UUID
    contact_phone: str | None
    contact_name: str | None
    lead_status: Status
    lead_score: int
    lead_detected_at: datetime
    source_group: SourceGroupOut
    trigger: TriggerOut


class LeadDetailOut(LeadOut):
    source_group: SourceGroupDetailOut
    message_count: int
    session_id: UUID
    updated_at: datetime


class LeadListOut(Schema):
    leads: list[LeadOut]
    total: int
    limit: int
    offset: int


class StatusIn(Schema):
    status: Status


class ReciprocityOut(Schema):
    lead_id: UUID
    has_messaged_first: bool
    last_inbound_at: datetime | None


class BulkStatusIn(Schema):
    lead_ids: list[UUID] = Field(..., min_length=1, max_length=BULK_MAX)
    status: Status


class BulkErrorOut(Schema):
    lead_id: str
    detail: str


class BulkStatusOut(Schema):
    updated: int
    failed: int
    errors: list[BulkErrorOut]


class BulkAddIn(Schema):
    lead_ids: list[UUID] = Field(..., min_length=1, max_length=BULK_MAX)
    custom_group_id: UUID


class BulkAddOut(Schema):
    added: int
    skipped: int


Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=NO_NUL)
]
Keyword = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200, pattern=NO_NUL)]


class SessionIn(Schema):
    name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=NO_NUL)
    ]


class SessionOut(Schema):
    id: UUID
    name: str
    status: str
    phone_number: str | None
    created_at: datetime


class MemberIn(Schema):
    phone: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=NO_NUL)
    ]
    name: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=200, pattern=NO_NUL)]
        | None
    ) = None


class MemberOut(Schema):
    phone: str
    name: str | None


class CustomGroupIn(Schema):
    name: Name
    members: list[MemberIn] = Field(default_factory=list, max_length=10_000)


class CustomGroupOut(Schema):
    id: UUID
    name: str
    member_count: int
    created_at: datetime


class CustomGroupDetailOut(CustomGroupOut):
    members: list[MemberOut]


class CustomGroupListOut(Schema):
    items: list[CustomGroupOut]
    total: int


WaGroupId = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[\w.\-]+@g\.us$", max_length=100)
]


class GroupIn(Schema):
    session_id: UUID
    wa_group_id: WaGroupId
    name: Name
    monitor_mode: MonitorMode = MonitorMode.KEYWORDS
    monitor_keywords: list[Keyword] = Field(default_factory=list, max_length=1000)
    is_active: bool = True


class GroupPatchIn(Schema):
    session_id: UUID | None = None
    wa_group_id: WaGroupId | None = None
    name: Name | None = None
    monitor_mode: MonitorMode | None = None
    monitor_keywords: list[Keyword] | None = Field(default=None, max_length=1000)
    is_active: bool | None = None


class GroupOut(Schema):
    id: UUID
    session_id: UUID
    wa_group_id: str
    name: str
    monitor_mode: str
    monitor_keywords: list[str]
    is_active: bool
    created_at: datetime
    updated_at: datetime


class GroupListOut(Schema):
    items: list[GroupOut]
    total: int
