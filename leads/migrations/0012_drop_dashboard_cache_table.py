"""Drop the database cache table an earlier deploy made (migration 0004).

The shared cache is Redis (`REDIS_URL`) or local memory now: a database cache cost about
twenty SQL statements per MoltFlow read missed, and counted its rows on every write.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("leads", "0011_second_look")]

    operations = [
        migrations.RunSQL("DROP TABLE IF EXISTS dashboard_cache", migrations.RunSQL.noop),
    ]
