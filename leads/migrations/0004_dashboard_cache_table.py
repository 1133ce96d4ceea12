"""Create the cache table (settings.CACHES: `dashboard_cache`) so `migrate` is all a deploy runs.

The cache holds short-lived MoltFlow reads and the rate budget, shared by every app process.
"""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("leads", "0003_seengroup")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
