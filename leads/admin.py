"""The store in the Django admin. Lead status is read-only here: it moves through the pipeline."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from leads.models import (
    ALL_SCOPES,
    Account,
    ApiKey,
    CustomGroup,
    CustomGroupMember,
    GroupMessage,
    InboundMessage,
    Lead,
    LeadStatusChange,
    MonitoredGroup,
    SeenGroup,
    Session,
    generate_raw_key,
)
from leads.throttle import AdminSignInForm

# A locked sign-in says so and for how long, not "wrong password" (leads/throttle.py).
admin.site.login_form = AdminSignInForm


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["__str__", "plan", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not Account.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ["name", "status", "phone_number", "created_at"]
    search_fields = ["name", "phone_number"]


@admin.register(MonitoredGroup)
class MonitoredGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "wa_group_id", "session", "monitor_mode", "is_active"]
    list_filter = ["monitor_mode", "is_active", "session"]
    search_fields = ["name", "wa_group_id"]


class StatusChangeInline(admin.TabularInline):
    model = LeadStatusChange
    extra = 0
    can_delete = False
    fields = ("changed_at", "from_status", "to_status", "actor_kind", "actor_label", "reason")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = [
        "contact_name",
        "contact_phone",
        "lead_status",
        "source_group",
        "matched_keyword",
        "lead_detected_at",
    ]
    list_filter = ["lead_status", "source_group"]
    search_fields = ["search_text"]
    list_select_related = ["source_group"]
    readonly_fields = ["lead_status", "message_count", "created_at", "updated_at"]
    date_hierarchy = "lead_detected_at"
    show_full_result_count = False
    inlines = [StatusChangeInline]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Lead], search_term: str
    ) -> tuple[QuerySet[Lead], bool]:
        # The same casefolded haystack the API searches, so the admin finds what /api/v2 finds.
        if search_term.strip():
            queryset = queryset.filter(search_text__contains=search_term.strip().casefold())
        return queryset, False

    def save_model(self, request: HttpRequest, obj: Lead, form: Any, change: bool) -> None:
        obj.refresh_search_text()
        super().save_model(request, obj, form, change)


@admin.register(LeadStatusChange)
class LeadStatusChangeAdmin(admin.ModelAdmin):
    list_display = ["lead", "from_status", "to_status", "actor_kind", "actor_label", "changed_at"]
    list_filter = ["actor_kind", "to_status"]
    list_select_related = ["lead"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SeenGroup)
class SeenGroupAdmin(admin.ModelAdmin):
    """Groups that write to a session but are not monitored (start monitoring them at
    /settings/groups/)."""

    list_display = ["wa_group_id", "session", "last_seen_at", "message_count"]
    list_select_related = ["session"]


@admin.register(GroupMessage)
class GroupMessageAdmin(admin.ModelAdmin):
    list_display = ["sender_name", "sender_phone", "group", "sent_at"]
    list_select_related = ["group"]


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = ["contact_phone", "contact_jid", "session", "received_at"]


class MemberInline(admin.TabularInline):
    model = CustomGroupMember
    extra = 0


@admin.register(CustomGroup)
class CustomGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    inlines = [MemberInline]


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=[(scope, scope) for scope in ALL_SCOPES],
        initial=list(ALL_SCOPES),
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = ApiKey
        fields = ["name", "scopes", "expires_at"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = ["name", "prefix", "created_at", "expires_at", "revoked_at", "last_used_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if not change:
            raw_key = generate_raw_key()
            obj.set_raw_key(raw_key)
            messages.warning(
                request,
                f"The new API key is {raw_key} — copy it now; it will not be shown again.",
            )
        super().save_model(request, obj, form, change)

    @admin.action(description="Revoke selected API keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        revoked = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {revoked} key(s).")
