"""Totals per (UTC day, group, status), kept by triggers on both databases, filled from the leads."""

from django.db import migrations, models

from leads.totals_sql import DAY_INSTALL, DAY_UNINSTALL

BACKFILL = {
    "postgresql": "INSERT INTO leads_leaddaytotal (day, group_id, status, total) "
    "SELECT (lead_detected_at AT TIME ZONE 'UTC')::date, source_group_id, lead_status, count(*) "
    "FROM leads_lead GROUP BY 1, 2, 3",
    "sqlite": "INSERT INTO leads_leaddaytotal (day, group_id, status, total) "
    "SELECT date(lead_detected_at), source_group_id, lead_status, count(*) "
    "FROM leads_lead GROUP BY 1, 2, 3",
}


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor not in DAY_INSTALL:
        raise RuntimeError("Lead totals need triggers: PostgreSQL or SQLite only.")
    for statement in DAY_INSTALL[vendor]:
        schema_editor.execute(statement)
    schema_editor.execute(BACKFILL[vendor])


def uninstall(apps, schema_editor):
    for statement in DAY_UNINSTALL.get(schema_editor.connection.vendor, ()):
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0026_new_leads_search_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="LeadDayTotal",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField()),
                ("group_id", models.UUIDField()),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("new", "New"),
                            ("contacted", "Contacted"),
                            ("qualified", "Qualified"),
                            ("converted", "Converted"),
                            ("lost", "Lost"),
                        ],
                        max_length=16,
                    ),
                ),
                ("total", models.BigIntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("day", "group_id", "status"), name="lead_day_total_per_group"
                    )
                ],
            },
        ),
        migrations.RunPython(install, uninstall),
    ]
