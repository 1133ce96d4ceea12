from django.urls import path

from leads.views import bulk, detail, exports, groups, health, imports, table, webhooks
from leads.views.webhooks_moltflow import moltflow as moltflow_webhook

app_name = "leads"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("", table.home, name="home"),
    path("leads/", table.leads_table, name="table"),
    path("leads/bulk/", bulk.leads_bulk, name="bulk"),
    path("leads/export/<str:fmt>/", exports.leads_export, name="export"),
    path("leads/<uuid:lead_id>/", detail.lead_detail, name="detail"),
    path("leads/<uuid:lead_id>/status/", detail.lead_change_status, name="change-status"),
    path("leads/<uuid:lead_id>/reciprocity/", detail.lead_reciprocity, name="reciprocity"),
    path("webhooks/waha", webhooks.waha, name="webhook-waha"),
    path("webhooks/moltflow", moltflow_webhook, name="webhook-moltflow"),
    path("settings/groups/", groups.groups_page, name="groups"),
    path("settings/groups/<uuid:group_id>/", groups.group_update, name="group-update"),
    path(
        "settings/groups/seen/<int:seen_id>/monitor/",
        groups.seen_group_monitor,
        name="seen-group-monitor",
    ),
    path("settings/import/", imports.import_page, name="import"),
]
