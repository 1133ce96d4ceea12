from django.contrib import admin
from django.urls import include, path

from leads.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v2/", api.urls),
    path("", include("leads.urls")),
]

handler500 = "leads.views.errors.server_error"
handler400 = "leads.views.errors.bad_request"
