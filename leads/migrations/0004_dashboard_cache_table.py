"""Once created the database cache table; the cache is now Redis or local memory.

Kept (as a no-op) because later migrations depend on it; a later migration drops the table
where an earlier deploy made it.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("leads", "0003_seengroup")]

    operations = []
