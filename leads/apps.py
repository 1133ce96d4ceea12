from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "leads"
    verbose_name = "Leads"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from leads import (
            auto_assign,  # noqa: F401  (connects the new-lead signal for automatic assignment)
            checks,  # noqa: F401  (registers the system checks)
            live,  # noqa: F401  (the sign-in and sign-out signals)
            passwords,  # noqa: F401  (a temporary password is marked in the session at sign-in)
        )
        from leads.totals import settle_sqlite_totals

        post_migrate.connect(settle_sqlite_totals, sender=self)
