from django.urls import path

from leads.views import (
    activity,
    api_keys,
    board,
    bulk,
    detail,
    exports,
    groups,
    health,
    imports,
    lead_work,
    live,
    login,
    second_look,
    table,
    users,
    wall,
    wall_links,
    webhooks,
)
from leads.views.webhooks_moltflow import moltflow as moltflow_webhook

app_name = "leads"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("", table.home, name="home"),
    path("leads/", table.leads_table, name="table"),
    path("leads/bulk/", bulk.leads_bulk, name="bulk"),
    path("leads/board/", board.leads_board, name="board"),
    path("leads/export/<str:fmt>/", exports.leads_export, name="export"),
    path("leads/second-look/", second_look.second_look_page, name="second-look"),
    path(
        "leads/second-look/<int:item_id>/",
        second_look.second_look_decide,
        name="second-look-decide",
    ),
    path("leads/<uuid:lead_id>/", detail.lead_detail, name="detail"),
    path("leads/<uuid:lead_id>/status/", detail.lead_change_status, name="change-status"),
    path("leads/<uuid:lead_id>/reciprocity/", detail.lead_reciprocity, name="reciprocity"),
    path("leads/<uuid:lead_id>/take/", lead_work.lead_take, name="take"),
    path("leads/<uuid:lead_id>/assign/", lead_work.lead_assign, name="assign"),
    path("leads/<uuid:lead_id>/notes/", lead_work.lead_note, name="note"),
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
    # Team use (issue 7): sign-in, roles, activity, live updates, the wall display.
    path("login/", login.login_page, name="login"),
    path("logout/", login.logout_view, name="logout"),
    path("live/events", live.live_events, name="live-events"),
    path("activity/", activity.activity_page, name="activity"),
    path("settings/users/", users.users_page, name="users"),
    path("settings/users/<int:user_id>/", users.user_update, name="user-update"),
    path("settings/api-keys/", api_keys.api_keys_page, name="api-keys"),
    path("settings/api-keys/<uuid:key_id>/revoke/", api_keys.api_key_revoke, name="api-key-revoke"),
    path("settings/wall/", wall_links.wall_links_page, name="wall-links"),
    path(
        "settings/wall/<int:link_id>/revoke/",
        wall_links.wall_link_revoke,
        name="wall-link-revoke",
    ),
    path("wall/<str:token>/", wall.wall_page, name="wall"),
    path("wall/<str:token>/events", wall.wall_events, name="wall-events"),
    path("wall/<str:token>/snapshot", wall.wall_snapshot, name="wall-snapshot"),
]
