"""Request and response shapes of the mirror API (they are what the OpenAPI document says)."""

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from ninja import Field, Schema
from pydantic import AfterValidator, StrictBool, StringConstraints, field_validator
from pydantic.json_schema import SkipJsonSchema

from leads.models import MonitorMode
from leads.pipeline import Status

BULK_MAX = 1000
# PostgreSQL text cannot hold NUL: refuse it at the door (422) rather than fail in the database.
NO_NUL = r"^[^\x00]*$"
# No NUL, and at least one character that trimming keeps (Python's whitespace includes \x1c-\x1f).
NOT_BLANK = r"^[^\x00]*[^\s\x00\x1c-\x1f][^\x00]*$"
# Text is checked as sent (so the documented length and pattern are the whole rule), then trimmed.
Trimmed = AfterValidator(str.strip)


class ErrorOut(Schema):
    detail: str


class ValidationIssueOut(Schema):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorOut(Schema):
    detail: list[ValidationIssueOut]


# What an operation may answer instead of its success (CONTRACT §1, Errors), documented on every
# operation alike: `{"detail": "<sentence>"}`, and for a 422 the list of what failed validation.
ERRORS: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    422: ValidationErrorOut,
    429: ErrorOut,
}


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


Name = Annotated[str, StringConstraints(max_length=200, pattern=NOT_BLANK), Trimmed]
Keyword = Annotated[str, StringConstraints(max_length=200, pattern=NO_NUL), Trimmed]


class SessionIn(Schema):
    name: Annotated[str, StringConstraints(max_length=100, pattern=NOT_BLANK), Trimmed]


class SessionOut(Schema):
    id: UUID
    name: str
    status: str
    phone_number: str | None
    created_at: datetime


class MemberIn(Schema):
    phone: Annotated[str, StringConstraints(max_length=100, pattern=NOT_BLANK), Trimmed]
    name: Annotated[str, StringConstraints(max_length=200, pattern=NO_NUL), Trimmed] | None = None


class MemberOut(Schema):
    phone: str
    name: str | None


class CustomGroupIn(Schema):
    name: Name
    members: list[MemberIn] = Field(default_factory=list, max_length=10_000)


class CustomGroupPatchIn(Schema):
    name: Name


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
    # JSON true/false only: pydantic would read "off", "yes", 0 or "t" as booleans.
    is_active: StrictBool = True


class GroupPatchIn(Schema):
    """Every field may be left out, none may be null: null is a wrong type (422), as documented."""

    session_id: UUID | SkipJsonSchema[None] = None
    wa_group_id: WaGroupId | SkipJsonSchema[None] = None
    name: Name | SkipJsonSchema[None] = None
    monitor_mode: MonitorMode | SkipJsonSchema[None] = None
    monitor_keywords: Annotated[list[Keyword], Field(max_length=1000)] | SkipJsonSchema[None] = None
    is_active: StrictBool | SkipJsonSchema[None] = None

    @field_validator("*", mode="before")
    @classmethod
    def not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may be left out, but not null")
        return value


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
