from django.urls import path

from leads.views import health

app_name = "leads"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
]
