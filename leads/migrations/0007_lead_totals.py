"""Totals per (group, status), kept by triggers on both databases, filled from the leads."""

from django.db import migrations, models

from leads.totals_sql import INSTALL, UNINSTALL

BACKFILL = (
    "INSERT INTO leads_leadtotal (group_id, status, total) "
    "SELECT source_group_id, lead_status, count(*) FROM leads_lead "
    "GROUP BY source_group_id, lead_status"
)


def install(apps, schema_editor):
    statements = INSTALL.get(schema_editor.connection.vendor)
    if statements is None:
        raise RuntimeError("Lead totals need triggers: PostgreSQL or SQLite only.")
    for statement in statements:
        schema_editor.execute(statement)
    schema_editor.execute(BACKFILL)


def uninstall(apps, schema_editor):
    for statement in UNINSTALL.get(schema_editor.connection.vendor, ()):
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("leads", "0006_team_use")]

    operations = [
        migrations.CreateModel(
            name="LeadTotal",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
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
                        fields=("group_id", "status"), name="lead_total_per_group"
                    )
                ]
            },
        ),
        migrations.RunPython(install, uninstall),
    ]
