"""One rate-limit row per API key, reset in place, carrying when the key was last used.

With a row per key and minute, the first request of every minute also deleted old windows and
stamped the key: three extra statements. Now one upsert counts, resets and stamps.
"""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


def keep_newest_window_per_key(apps, schema_editor):
    usage_model = apps.get_model("leads", "ApiKeyUsage")
    key_model = apps.get_model("leads", "ApiKey")
    for key in key_model.objects.all():
        windows = usage_model.objects.filter(api_key=key).order_by("-window_start")
        newest = windows.first()
        if newest is None:
            continue
        windows.exclude(pk=newest.pk).delete()
        newest.last_used_at = key.last_used_at or newest.window_start
        newest.save(update_fields=["last_used_at"])


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0013_lead_follow_ups"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="apikeyusage",
            name="usage_one_row_per_window",
        ),
        migrations.AddField(
            model_name="apikeyusage",
            name="last_used_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.RunPython(keep_newest_window_per_key, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name="apikey",
            name="last_used_at",
        ),
        migrations.AlterField(
            model_name="apikeyusage",
            name="api_key",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="usage",
                to="leads.apikey",
            ),
        ),
    ]
